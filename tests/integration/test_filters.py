# SPDX-License-Identifier: MIT
"""Which Tasks a notification triggers (severity and field filters), and
what it sends (default and templated arguments, odd bytes, threshold meta).

"No job" is proved without sleeping: jobs to one supervisor go out in
arrival order, so once a later "sentinel" job has arrived, any job the
earlier notifications made has arrived before it.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

NOTIF_TIME = 1764331200
ARGS = ['Argument "%{task}"', 'Argument "%{severity}"',
        'Argument "%{message}"']
SENTINEL = ("sentinel", task_options(TASK_ID, SECRET, *ARGS) +
            ['Message "sentinel"'])


class FilterTest(IntegrationTest):

    def start(self, tasks, **kw):
        self.sup = self.supervisor()
        self.cd = self.collectd(plugin_block(self.sup.url, tasks,
                                             Customer=CUSTOMER), **kw)
        return self.cd

    def jobs_until_sentinel(self):
        """Sends the sentinel, waits for it; every job before it."""
        self.cd.putnotif("sentinel", host="h", meta={"id": "sentinel"})

        def done():
            rs = self.sup.jobs()
            return rs if rs and arguments(rs[-1])[0] == "sentinel" else None
        rs = wait_for(done, 10, what="the sentinel job")
        self.assertEqual(sum(arguments(r)[0] == "sentinel" for r in rs), 1)
        self.assertEqual(len(self.sup.requests()), len(rs),
                         "requests that made no job: %r"
                         % [r for r in self.sup.requests()
                            if not r.get("job_id")])
        # Unfiltered Tasks match the sentinel too: leave those jobs out.
        return [tuple(arguments(r)) for r in rs[:-1]
                if "sentinel" not in arguments(r)]


class Severity(FilterTest):

    def test_default_is_failure_only(self):
        self.start([("t", task_options(TASK_ID, SECRET, *ARGS)), SENTINEL])
        self.cd.putnotif("w", severity="warning", host="h")
        self.cd.putnotif("o", severity="okay", host="h")
        self.cd.putnotif("f", severity="failure", host="h")
        got = self.jobs_until_sentinel()
        self.assertEqual(got, [("t", "FAILURE", "f")])

    def test_warning_and_okay(self):
        self.start([("t", task_options(TASK_ID, SECRET, *ARGS) +
                     ['Severity "warning" "OKAY"',
                      # The OKAY would cancel the WARNING's job if it had
                      # not left yet: this test is about filters.
                      'CancelOnRecovery false']), SENTINEL])
        self.cd.putnotif("w", severity="warning", host="h")
        self.cd.putnotif("o", severity="okay", host="h")
        self.cd.putnotif("f", severity="failure", host="h")
        got = self.jobs_until_sentinel()
        self.assertEqual(got, [("t", "WARNING", "w"), ("t", "OKAY", "o")])

    def test_repeated_severity_accumulates(self):
        self.start([("t", task_options(TASK_ID, SECRET, *ARGS) +
                     ['Severity "Warning"', 'Severity "failure"',
                      'CancelOnRecovery false']),
                    SENTINEL])
        self.cd.putnotif("w", severity="warning", host="h")
        self.cd.putnotif("o", severity="okay", host="h")
        self.cd.putnotif("f", severity="failure", host="h")
        got = self.jobs_until_sentinel()
        self.assertEqual(got, [("t", "WARNING", "w"), ("t", "FAILURE", "f")])


FIELDS = [("Host", "host"), ("Plugin", "plugin"),
          ("PluginInstance", "plugin_instance"), ("Type", "type"),
          ("TypeInstance", "type_instance"), ("Message", "message")]


class Fields(FilterTest):

    def test_each_field_exact_and_regex(self):
        """Every field filters, exactly or by an unanchored regex."""
        tasks = []
        for option, _ in FIELDS:
            tasks.append(("exact-" + option, task_options(
                TASK_ID, SECRET, 'Argument "%{task}"',
                'Argument "%{meta:id}"', '%s "nginx"' % option)))
            tasks.append(("re-" + option, task_options(
                TASK_ID, SECRET, 'Argument "%{task}"',
                'Argument "%{meta:id}"', '%s "/ngin/"' % option)))
        tasks.append(SENTINEL)
        self.start(tasks)
        expected = []
        for option, field in FIELDS:
            for value in ("nginx", "xnginxy", "ngixn"):
                values = {f: "zzz" for _, f in FIELDS}
                values[field] = value
                nid = "%s=%s" % (option, value)
                message = values.pop("message")
                self.cd.putnotif(message, meta={"id": nid}, **values)
                if value == "nginx":
                    expected.append(("exact-" + option, nid))
                if "ngin" in value:
                    expected.append(("re-" + option, nid))
        got = self.jobs_until_sentinel()
        self.assertEqual(sorted(got), sorted(expected))
        # Tasks that match one notification all queue before the next.
        self.assertEqual([g[1] for g in got],
                         [e[1] for e in expected])

    def test_several_values_any_match(self):
        self.start([("t", task_options(
            TASK_ID, SECRET, *ARGS) + ['Plugin "a" "/^b/"', 'Plugin "c"']),
            SENTINEL])
        for plugin in ("a", "bx", "c", "d", "xb", "aa", "A"):
            self.cd.putnotif(plugin, host="h", plugin=plugin)
        got = self.jobs_until_sentinel()
        self.assertEqual([g[2] for g in got], ["a", "bx", "c"])

    def test_several_fields_all_match(self):
        self.start([("t", task_options(
            TASK_ID, SECRET, *ARGS) + ['Plugin "p"', 'TypeInstance "ti"',
                                       'Host "/^web/"']), SENTINEL])
        cases = [("all", "web1", "p", "ti"), ("no-ti", "web1", "p", "tx"),
                 ("no-plugin", "web1", "q", "ti"),
                 ("no-host", "db1", "p", "ti"), ("none", "db", "q", "tx")]
        for message, host, plugin, ti in cases:
            self.cd.putnotif(message, host=host, plugin=plugin,
                             type_instance=ti)
        got = self.jobs_until_sentinel()
        self.assertEqual(got, [("t", "FAILURE", "all")])

    def test_several_tasks(self):
        """Each matching Task gets its own job; the others none."""
        self.start([
            ("nginx", ['TaskID "%s"' % TASK_ID, 'Secret "%s"' % SECRET,
                       'PluginInstance "nginx"'] + ARGS),
            ("processes", ['TaskID "%s"' % TASK_ID2,
                           'Secret "%s"' % SECRET2,
                           'Plugin "processes"'] + ARGS),
            ("mysql", ['TaskID "%s"' % TASK_ID, 'Secret "%s"' % SECRET,
                       'PluginInstance "mysql"'] + ARGS),
            SENTINEL])
        self.cd.putnotif("down", host="h", plugin="processes",
                         plugin_instance="nginx")
        self.cd.putnotif("sentinel", host="h")
        rs = self.sup.wait_jobs(3)
        by_task = {arguments(r)[0]: r for r in rs}
        self.assertEqual(sorted(by_task), ["nginx", "processes",
                                           "sentinel"])
        self.assertEqual(len(rs), 3)
        self.assertEqual(json.loads(by_task["nginx"]["body"])["task"],
                         TASK_ID)
        self.assertEqual(json.loads(by_task["processes"]["body"])["task"],
                         TASK_ID2)
        self.assertIn(SECRET2, by_task["processes"]["uri"])
        self.assertIn(SECRET, by_task["nginx"]["uri"])

    def test_empty_host_is_collectds_own(self):
        """An empty host becomes collectd's Hostname before filtering and
        rendering."""
        self.start([("t", task_options(
            TASK_ID, SECRET, 'Host "testhost"', 'Argument "%{host}"',
            'Argument "%{message}"')),
            ("other", task_options(TASK_ID, SECRET, 'Host ""',
                                   'Argument "%{host}"',
                                   'Argument "%{message}"'))])
        self.cd.putnotif("no host")
        r = self.sup.wait_jobs(1)[0]
        self.assertEqual(arguments(r), ["testhost", "no host"])
        self.cd.putnotif("web1 host", host="web1")
        self.cd.putnotif("testhost", host="testhost")
        rs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(rs[1]), ["testhost", "testhost"])
        self.assertEqual(len(self.sup.requests()), 2)


class Arguments(FilterTest):

    def test_default_eight_arguments(self):
        self.start([("t", task_options())])
        self.cd.putnotif("nginx is down", time_=NOTIF_TIME, host="web1",
                         plugin="processes", plugin_instance="nginx",
                         type="ps_count", type_instance="processes")
        r = self.sup.wait_jobs(1)[0]
        self.assertEqual(arguments(r), [
            "FAILURE", "1764331200.000", "web1", "processes", "nginx",
            "ps_count", "processes", "nginx is down"])
        # Unset fields are empty strings, still eight of them.
        self.cd.putnotif("bare", severity="warning", time_=NOTIF_TIME)
        self.cd.putnotif("bare", time_="1764331200.25")
        r = self.sup.wait_jobs(2)[1]
        self.assertEqual(arguments(r), [
            "FAILURE", "1764331200.250", "testhost", "", "", "", "",
            "bare"])

    def test_time_milliseconds(self):
        self.start([("t", task_options(TASK_ID, SECRET,
                                       'Argument "%{time}"'))])
        for t in ("1764331200.123", "1764331200.5", "1764331200.999",
                  "1764331200.001"):
            self.cd.putnotif("t", time_=t)
        rs = self.sup.wait_jobs(4)
        self.assertEqual([arguments(r)[0] for r in rs],
                         ["1764331200.123", "1764331200.500",
                          "1764331200.999", "1764331200.001"])

    def test_templates(self):
        templates = [
            "literal text", "100%%", "disk at 90%", "%", "%%{host}",
            "%{task}", "%{meta:runbook}", "%{meta:absent}",
            "[%{severity}] %{host}/%{plugin}-%{plugin_instance}/"
            "%{type}-%{type_instance}: %{message} (%{task}, "
            "%{meta:runbook})",
            "%{time}", "a%b", "50%%%{message}%",
        ]
        self.start([("the-task", task_options(
            TASK_ID, SECRET, *['Argument "%s"' % t for t in templates]))])
        self.cd.putnotif("it broke", time_=NOTIF_TIME, host="web1",
                         plugin="processes", plugin_instance="nginx",
                         type="ps_count", type_instance="processes",
                         meta={"runbook": "https://wiki/x?a=1&b=2"})
        r = self.sup.wait_jobs(1)[0]
        self.assertEqual(arguments(r), [
            "literal text", "100%", "disk at 90%", "%", "%{host}",
            "the-task", "https://wiki/x?a=1&b=2", "",
            "[FAILURE] web1/processes-nginx/ps_count-processes: it broke "
            "(the-task, https://wiki/x?a=1&b=2)",
            "1764331200.000", "a%b", "50%it broke%",
        ])

    def test_absent_meta_is_empty(self):
        self.start([("t", task_options(TASK_ID, SECRET,
                                       'Argument "<%{meta:runbook}>"'))])
        self.cd.putnotif("no meta")
        self.cd.putnotif("other meta", meta={"notrunbook": "x"})
        self.cd.putnotif("empty meta", meta={"runbook": ""})
        rs = self.sup.wait_jobs(3)
        self.assertEqual([arguments(r) for r in rs], [["<>"]] * 3)


class Bytes(FilterTest):

    def test_nasty_characters(self):
        self.start([("t", task_options(TASK_ID, SECRET,
                                       'Argument "%{message}"',
                                       'Argument "%{meta:m}"',
                                       'Argument "%{plugin_instance}"'))])
        message = 'say "hi" \\ back\\slash {"json":[1]} é € 𝄞 </script>'
        meta = '\\"quoted\\" and {braces}'
        self.cd.putnotif(message, plugin_instance='a"b\\c', meta={"m": meta})
        r = self.sup.wait_jobs(1)[0]
        self.assertTrue(r["body_valid_json"])
        raw = bytes.fromhex(r["body_hex"])
        self.assertEqual(json.loads(raw.decode("utf-8")), {
            "task": TASK_ID, "task_arguments": [message, meta, 'a"b\\c']})
        # Non-ASCII characters travel as UTF-8 (or as \u escapes).
        self.assertTrue("é".encode() in raw or b"\\u00e9" in raw.lower())

    def test_invalid_utf8_becomes_replacement_character(self):
        self.start([("t", task_options(TASK_ID, SECRET,
                                       'Argument "%{message}"',
                                       'Argument "%{plugin_instance}"'))])
        lines = [
            (b'bad \xff byte', "bad \ufffd byte"),
            (b'lone \x80 continuation', "lone \ufffd continuation"),
            (b'cut \xe2\x82 short', None),
            (b'overlong \xc0\xaf slash', None),
            (b'surrogate \xed\xa0\x80 half', None),
            (b'tail \xf0\x9f\x98', None),
            (b'\xfe\xfe\xfe', None),
        ]
        for message, _ in lines:
            reply, _ = self.cd.command(
                b"PUTNOTIF severity=failure time=%d "
                b"plugin_instance=pi\xff message=\"%s\""
                % (NOTIF_TIME, message))
            self.assertTrue(reply.startswith("0 "), reply)
        rs = self.sup.wait_jobs(len(lines))
        self.assertEqual(len(rs), len(lines))
        for (sent, expected), r in zip(lines, rs):
            self.assertTrue(r["body_valid_json"], r["body_hex"])
            raw = bytes.fromhex(r["body_hex"])
            text = raw.decode("utf-8")  # strict: fails on any bad byte
            args = json.loads(text)["task_arguments"]
            self.assertEqual(args[1], "pi\ufffd")
            self.assertIn("\ufffd", args[0], sent)
            ascii_parts = [p.decode() for p in
                           re.split(rb"[\x80-\xff]+", sent) if p]
            for part in ascii_parts:
                self.assertIn(part, args[0])
            if expected is not None:
                self.assertEqual(args[0], expected)
            self.assertEqual(r["status"], 200)

    def test_control_characters(self):
        """Control bytes are escaped in JSON, not lost or passed raw."""
        self.start([("t", task_options(TASK_ID, SECRET,
                                       'Argument "%{message}"'))])
        message = b"tab\there \x01 ctl \x1f \x7f end"
        reply, _ = self.cd.command(b'PUTNOTIF severity=failure time=%d '
                                   b'message="%s"' % (NOTIF_TIME, message))
        self.assertTrue(reply.startswith("0 "), reply)
        r = self.sup.wait_jobs(1)[0]
        self.assertTrue(r["body_valid_json"])
        raw = bytes.fromhex(r["body_hex"])
        self.assertFalse(re.search(rb"[\x00-\x1f]", raw), raw)
        self.assertEqual(json.loads(raw.decode())["task_arguments"],
                         [message.decode()])

    def test_maximum_lengths(self):
        """Fields at collectd's maximum lengths arrive whole."""
        self.start([("t", task_options())])
        long63 = "h" * 63
        message = "m" * 255
        self.cd.putnotif(message, time_=NOTIF_TIME, host=long63,
                         plugin="p" * 63, plugin_instance="i" * 63,
                         type="t" * 63, type_instance="j" * 63)
        r = self.sup.wait_jobs(1)[0]
        self.assertEqual(arguments(r), [
            "FAILURE", "1764331200.000", long63, "p" * 63, "i" * 63,
            "t" * 63, "j" * 63, message])


THRESHOLD = """\
LoadPlugin threshold
<Plugin threshold>
  <Plugin "foo">
    <Type "gauge">
      FailureMax 10
    </Type>
  </Plugin>
  <Plugin "bar">
    <Type "gauge">
      WarningMin 0.25
      FailureMax 1000000000000000
    </Type>
  </Plugin>
</Plugin>
"""


class Threshold(FilterTest):

    def test_threshold_failure_meta(self):
        """A real threshold FAILURE: its meta reaches the arguments; the
        start-up OKAY does not trigger a FAILURE-only Task (and triggers an
        OKAY Task only with IgnoreFirstOkay off)."""
        meta_args = ['Argument "%{task}"', 'Argument "%{severity}"',
                     'Argument "%{type_instance}"',
                     'Argument "%{meta:CurrentValue}"',
                     'Argument "%{meta:FailureMax}"',
                     'Argument "%{meta:WarningMax}"',
                     'Argument "%{meta:DataSource}"']
        self.start([
            ("failure", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                     *meta_args)),
            ("okay", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                  'Severity "OKAY"', 'IgnoreFirstOkay false',
                                  *meta_args)),
        ], extra=THRESHOLD)
        # Within range first: the threshold's start-up OKAY.
        putval(self.cd, "testhost/foo/gauge-y", 5)
        r = self.sup.wait_jobs(1, timeout=15)[0]
        self.assertEqual(arguments(r)[:3], ["okay", "OKAY", "y"])
        putval(self.cd, "testhost/foo/gauge-x", 42)

        def failure_job():
            return [r for r in self.sup.jobs()
                    if arguments(r)[0] == "failure"]
        rs = wait_for(failure_job, 15, what="the threshold FAILURE job")
        self.assertEqual(arguments(rs[0]), [
            "failure", "FAILURE", "x", "42", "10", "", "value"])
        # Everything before it: only the OKAY of gauge-y, for "okay".
        before = [arguments(r)[:3] for r in self.sup.jobs()
                  if r["n"] < rs[0]["n"]]
        self.assertEqual(before, [["okay", "OKAY", "y"]])
        self.assertFalse([l for l in self.cd.plugin_lines()
                          if "[error]" in l or "[warning]" in l])

    def test_start_up_okay_is_not_a_recovery(self):
        """collectd's threshold plugin sends an OKAY for a value it sees in
        range for the first time: not acted on (IgnoreFirstOkay is on by
        default). The OKAY after a real FAILURE is, with the FAILURE's
        episode id, which the next incident does not share."""
        args = ['Argument "%{task}"', 'Argument "%{severity}"',
                'Argument "%{type_instance}"', 'Argument "%{episode}"']
        self.start([
            # Only x: y, fed once, soon goes missing (a FAILURE too).
            ("remedy", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                    'TypeInstance "x"', *args)),
            ("recovered", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                       'Severity "OKAY"', *args)),
        ], extra=THRESHOLD + CSV_EXTRA.format(dir=self.dir))

        def foo(instance, value):
            putval(self.cd, "testhost/foo/gauge-" + instance, value)

        foo("y", 5)  # in range at first sight: the start-up OKAY
        wait_counter(self.dir, "recovered", "derive-ignored_okay", 1,
                     timeout=15)
        self.assertEqual(self.sup.jobs(), [])
        foo("x", 42)  # FailureMax 10
        failure = self.sup.wait_jobs(1, timeout=15)[0]
        self.assertEqual(arguments(failure)[:3], ["remedy", "FAILURE", "x"])
        episode = arguments(failure)[3]
        self.assertRegex(episode, r"^[0-9a-f]{16}$")
        time.sleep(1.1)  # one value per interval
        foo("x", 5)
        okay = self.sup.wait_jobs(2, timeout=15)[1]
        self.assertEqual(arguments(okay), ["recovered", "OKAY", "x", episode])
        time.sleep(1.1)
        foo("x", 43)
        again = self.sup.wait_jobs(3, timeout=15)[2]
        self.assertEqual(arguments(again)[:3], ["remedy", "FAILURE", "x"])
        self.assertRegex(arguments(again)[3], r"^[0-9a-f]{16}$")
        self.assertNotEqual(arguments(again)[3], episode)
        self.assertEqual(csv_latest(self.dir, "recovered",
                                    "derive-ignored_okay"), 1)

    def test_threshold_double_formats(self):
        """Doubles of the threshold meta: shortest form, plain decimal in
        [1e-4, 1e16), an exponent outside it; NaN empty."""
        self.start([("t", task_options(
            TASK_ID, SECRET, 'Plugin "bar"', 'Severity "FAILURE" "WARNING"',
            'Argument "%{type_instance}"', 'Argument "%{severity}"',
            'Argument "%{meta:CurrentValue}"',
            'Argument "%{meta:WarningMin}"',
            'Argument "%{meta:FailureMax}"',
            'Argument "%{meta:FailureMin}"'))], extra=THRESHOLD)
        for instance, value in (("a", "1e21"), ("b", "0.125"),
                                ("c", "0.00001")):
            putval(self.cd, "testhost/bar/gauge-" + instance, value)
        rs = self.sup.wait_jobs(3, timeout=15)
        first = {}
        for r in rs:  # the first job of each metric, in any order
            first.setdefault(arguments(r)[0], arguments(r))
        got = [first.get(i) for i in "abc"]
        limits = ["0.25", "1000000000000000", ""]
        self.assertEqual(got, [
            ["a", "FAILURE", "1e+21"] + limits,
            ["b", "WARNING", "0.125"] + limits,
            ["c", "WARNING", "1e-05"] + limits,
        ])


if __name__ == "__main__":
    main()
