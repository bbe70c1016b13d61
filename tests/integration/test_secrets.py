# SPDX-License-Identifier: MIT
"""Secrets and tokens never reach a log line or collectd's output; DryRun
logs each job (secret redacted, long bodies cut visibly) and sends and
counts nothing."""

import glob
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

NOTIF_TIME = 1764331200
UNKNOWN_TASK = "bbbbbbbbbbbbbbbbbbbbbbbb"
LOG_LINE_MAX = 1024  # plugin_log's buffer, NUL included
ELLIPSIS = "\u2026"


def new_secret():
    s = secrets.token_hex(32)
    return s if not s.isdigit() else new_secret()


def body_of(task_id, args):
    """The body as the plugin writes it (compact JSON, UTF-8)."""
    return json.dumps({"task": task_id, "task_arguments": args},
                      separators=(",", ":"), ensure_ascii=False)


def default_args(message, host="web1", plugin="p"):
    return ["FAILURE", "%d.000" % NOTIF_TIME, host, plugin, "", "", "",
            message]


def message_part(line):
    """What the plugin passed to plugin_log: the line after the logfile
    plugin's "[time] [severity] " head."""
    return re.sub(r"^\[[^]]*\] \[\w+\] ", "", line)


def csv_values(csv_dir, task, type_instance):
    """(epoch, value) rows the csv plugin wrote for a Task's counter."""
    pattern = os.path.join(csv_dir, "testhost", "notify_theeye-" + task,
                           "derive-%s-*" % type_instance)
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("epoch") or "," not in line:
                    continue
                epoch, value = line.split(",")[:2]
                rows.append((float(epoch), float(value)))
    return rows


def csv_block(csv_dir):
    return ('LoadPlugin csv\n<Plugin csv>\n  DataDir "%s"\n'
            '  StoreRates false\n</Plugin>\n' % csv_dir)


class SecretsTest(IntegrationTest):

    def dry_run_lines(self, c, name, pattern="", n=1, timeout=10):
        """Waits for n DryRun lines of Task name (matching pattern), with
        or without the plugin's prefix (test_dry_run_line_format checks
        it, so the other tests still check their own feature)."""
        rx = re.compile(r'Task "%s": DryRun: POST .*%s'
                        % (re.escape(name), pattern))

        def found():
            lines = [l for l in c.log().splitlines() if rx.search(l)]
            return lines if len(lines) >= n else None
        return wait_for(found, timeout,
                        what="DryRun line(s) of Task %r" % name)

    def assertNoCredential(self, text, *credentials):
        low = text.lower()
        for cred in credentials:
            self.assertNotIn(cred.lower(), low, "a credential leaked")
            # Not even a part of it (any case form).
            for i in range(0, len(cred) - 11):
                self.assertNotIn(cred[i:i + 12].lower(), low,
                                 "part of a credential leaked: %r"
                                 % cred[i:i + 12])


class NoLeaks(SecretsTest):

    def test_no_secret_or_token_in_logs_or_output(self):
        good = new_secret()
        wrong = new_secret()
        other = new_secret()
        token = "tok-" + secrets.token_hex(12)
        bad_token = "tok-" + secrets.token_hex(12)
        s = self.supervisor(tasks=((TASK_ID, good, 0), (TASK_ID2, other, 0)),
                            tokens=(token,))
        args = ['Argument "%{task}"', 'Argument "%{message}"']

        def task(name, *cred):
            return (name, list(cred) + ['Message "%s"' % name] + args)
        block = plugin_block(s.url, [
            task("forbidden", 'TaskID "%s"' % TASK_ID,
                 'Secret "%s"' % good),
            task("ok", 'TaskID "%s"' % TASK_ID,
                 'Secret "%s"' % good.upper()),
            task("wrong-secret", 'TaskID "%s"' % TASK_ID2,
                 'Secret "%s"' % wrong),
            task("unknown-task", 'TaskID "%s"' % UNKNOWN_TASK,
                 'Secret "%s"' % other),
            task("token", 'TaskID "%s"' % TASK_ID,
                 'AccessToken "%s"' % token),
            task("bad-token", 'TaskID "%s"' % TASK_ID,
                 'AccessToken "%s"' % bad_token),
            task("no-customer", 'TaskID "%s"' % TASK_ID2,
                 'Secret "%s"' % wrong, 'Customer "nobody"'),
            task("retry", 'TaskID "%s"' % TASK_ID,
                 'AccessToken "%s"' % token),
            task("refused", 'TaskID "%s"' % TASK_ID,
                 'Secret "%s"' % good,
                 'URL "http://127.0.0.1:%d/"' % free_port()),
            task("echo", 'TaskID "%s"' % TASK_ID,
                 'Secret "%s"' % good),
        ], Customer=CUSTOMER, Timeout=1000, RetryInterval=0.2)
        c = self.collectd(block)
        status, _ = s.control(status=403, count=1)
        self.assertEqual(status, 200)
        names = ["forbidden", "ok", "wrong-secret", "unknown-task", "token",
                 "bad-token", "no-customer"]
        for i, name in enumerate(names):
            c.putnotif(name, host="web1")
            s.wait_requests(i + 1)
        # Maybe delivered, then retried: 500 first, then a job.
        s.control(status=500, count=1)
        c.putnotif("retry", host="web1")
        s.wait_jobs(3)
        # A supervisor that refuses connections (another URL).
        c.putnotif("refused", host="web1")
        c.wait_log(r'Task "refused".*retrying')
        # A 2xx without a job whose body echoes the credentials.
        s.control(status=200, count=1, body=json.dumps(
            {"echo": good, "auth": "Bearer " + token}))
        c.putnotif("echo", host="web1")
        rs = s.wait_requests(len(names) + 3)
        s.control(reset=1)
        self.assertEqual([r["status"] for r in rs],
                         [403, 200, 403, 404, 200, 401, 404, 500, 200, 200])
        # The logs really were exercised: every outcome has its line.
        c.wait_log(r'Task "ok": job \w+ created')
        c.wait_log(r'Task "token": job \w+ created')
        c.wait_log(r'Task "retry": job \w+ created')
        c.wait_log(r'Task "retry".*500')
        c.wait_log(r'Task "echo".*without a job')
        for name, code in [("forbidden", 403), ("wrong-secret", 403),
                           ("unknown-task", 404), ("bad-token", 401),
                           ("no-customer", 404)]:
            c.wait_log(r'Task "%s".*\b%d\b' % (name, code))
        c.stop()
        c.wait_log(r'Task "refused".*dropped')
        text = c.log() + c.output()
        self.assertNoCredential(text, good, wrong, other, token, bad_token)
        # Nothing of a response body reaches collectd's output either:
        # the fake's job answers carry a "secret" of their own.
        out = c.output()
        self.assertNotIn("task_arguments_values", out)
        self.assertNotIn('"secret"', out)
        self.assertNotIn("statusCode", out)

    def test_log_lines_carry_the_prefix_once(self):
        """Every line starts "notify_theeye plugin: ", once."""
        s = self.supervisor()
        block = plugin_block(s.url, [("t1", task_options())],
                             Customer=CUSTOMER)
        c = self.collectd(block)
        s.control(status=403, count=1)
        c.putnotif("x", host="web1")
        c.putnotif("y", host="web1")
        s.wait_jobs(1)
        c.wait_log(r'Task "t1": job \w+ created')
        c.wait_log(r'Task "t1".*403')
        c.stop()
        lines = c.plugin_lines()
        self.assertGreaterEqual(len(lines), 3)
        bad = [l for l in lines if l.count(PREFIX.strip()) != 1 or
               not re.match(r"^\[[^]]*\] \[\w+\] " + re.escape(PREFIX), l)]
        self.assertEqual(bad, [])

    def test_dry_run_logs_no_credential(self):
        sec = new_secret()
        token = "tok-" + secrets.token_hex(12)
        s = self.supervisor()
        block = plugin_block(s.url, [
            ("s", ['TaskID "%s"' % TASK_ID, 'Secret "%s"' % sec.upper(),
                   'Customer "%s"' % CUSTOMER]),
            ("t", ['TaskID "%s"' % TASK_ID, 'AccessToken "%s"' % token]),
        ], DryRun=True)
        c = self.collectd(block)
        c.putnotif("x", host="web1")
        self.dry_run_lines(c, "s")
        self.dry_run_lines(c, "t")
        c.stop()
        self.assertNoCredential(c.log() + c.output(), sec, token)
        self.assertEqual(s.requests(), [])


class RefusedMessages(SecretsTest):
    """A 4xx's message is logged (status and the server's message,
    sanitised, cut short), cleared of the credential and of any run of 32
    or more hexadecimal digits before it is cut: a framework or proxy in
    front of the supervisor may echo the request path, secret included.
    A failure here never prints the log: it may hold the secret."""

    def refused(self, message, secret):
        """Sends one job to a supervisor that answers 404 with message in
        the {statusCode, message} form; returns (collectd, its ERROR
        lines about the refusal)."""
        body = json.dumps({"statusCode": 404, "message": message})
        s = self.scripted_supervisor(status=404, body=body)
        block = plugin_block(s.url, [("echo", [
            'TaskID "%s"' % TASK_ID, 'Secret "%s"' % secret])],
            Customer=CUSTOMER, RetryInterval=0.2)
        c = self.collectd(block)
        c.putnotif("x", host="web1")
        s.wait_requests(1)
        # The request did carry the secret in its path: it is echoed.
        self.assertTrue(secret in s.requests()[0]["path"])
        lines = c.wait_log(r'Task "echo".*refused the job: HTTP 404')
        c.stop()
        self.assertEqual(len(s.requests()), 1, "a 404 was retried")
        self.assertEqual(len(lines), 1, "%d ERROR lines" % len(lines))
        self.assertIn("[error]", lines[0])
        return c, lines[0]

    def assertNotLogged(self, c, fragment, what):
        """fragment is in neither the log nor collectd's output."""
        text = (c.log() + c.output()).lower()
        self.assertFalse(fragment.lower() in text, what + " was logged")

    def assertNoHexRun(self, c):
        runs = re.findall(r"[0-9a-fA-F]{32,}", c.log() + c.output())
        self.assertFalse(runs, "%d run(s) of 32+ hex digits logged, of "
                         "lengths %s" % (len(runs), [len(r) for r in runs]))

    def test_echoed_secret_is_masked(self):
        secret = new_secret()
        c, line = self.refused("Cannot POST /job/secret/%s?customer=%s"
                               % (secret, CUSTOMER), secret)
        self.assertTrue("Cannot POST /job/secret/" in line,
                        "the server's message is not in the ERROR line")
        self.assertNotLogged(c, secret, "the secret")
        self.assertNotLogged(c, secret[:16], "the secret's first 16 digits")
        self.assertNoHexRun(c)

    def test_echoed_secret_across_the_cut_is_masked(self):
        # A supervisor behind a long path prefix: the message is cut at
        # about 250 bytes, and the secret begins some 20 bytes before
        # that. Cut first, then redact, and the secret's first digits
        # would be logged.
        secret = new_secret()
        message = ("Cannot POST /%s/job/secret/%s?customer=%s"
                   % ("p" * 205, secret, CUSTOMER))
        self.assertEqual(message.index(secret), 230)
        c, line = self.refused(message, secret)
        self.assertTrue("Cannot POST /ppp" in line,
                        "the server's message is not in the ERROR line")
        self.assertNotLogged(c, secret[:16], "the secret's first 16 digits")
        self.assertNoHexRun(c)

    def test_echoed_foreign_hex_run_is_masked(self):
        # A 64-hex secret that is not the Task's (say a job's own secret
        # in the supervisor's message): no run of 32+ hex digits is
        # logged, whoever's it is.
        secret = new_secret()
        foreign = new_secret()
        c, line = self.refused("job %s: Cannot POST this task" % foreign,
                               secret)
        self.assertTrue("Cannot POST this task" in line,
                        "the server's message is not in the ERROR line")
        self.assertNotLogged(c, foreign[:16], "the foreign secret's first "
                             "16 digits")
        self.assertNoHexRun(c)


class DryRun(SecretsTest):

    def test_dry_run_sends_nothing_and_logs_each_job(self):
        s = self.supervisor()
        block = plugin_block(s.url, [
            ("route-customer", ['TaskID "%s"' % TASK_ID,
                                'Secret "%s"' % SECRET,
                                'Customer "%s"' % CUSTOMER,
                                'Plugin "p"']),
            ("route-task", ['TaskID "%s"' % TASK_ID2,
                            'Secret "%s"' % SECRET2, 'Plugin "p"']),
            ("route-token", ['TaskID "%s"' % TASK_ID,
                             'AccessToken "%s"' % TOKEN,
                             'Customer "%s"' % CUSTOMER, 'Plugin "p"']),
        ], DryRun=True)
        c = self.collectd(block)
        # Filters still apply: this one matches no Task.
        c.putnotif("ignored", time_=NOTIF_TIME, host="web1", plugin="q")
        c.putnotif("it broke", time_=NOTIF_TIME, host="web1", plugin="p")
        expected = {
            "route-customer": (
                "%s/job/secret/<secret>?customer=%s" % (s.url, CUSTOMER),
                body_of(TASK_ID, default_args("it broke"))),
            "route-task": (
                "%s/task/%s/secret/<secret>/job" % (s.url, TASK_ID2),
                body_of(TASK_ID2, default_args("it broke"))),
            "route-token": (
                "%s/job?customer=%s" % (s.url, CUSTOMER),
                body_of(TASK_ID, default_args("it broke"))),
        }
        for name in expected:
            self.dry_run_lines(c, name)
        self.assertEqual(s.requests(), [])
        c.stop()
        self.assertEqual(s.requests(), [])
        for name, (url, body) in expected.items():
            mine = self.dry_run_lines(c, name, timeout=0)
            self.assertEqual(len(mine), 1, mine)
            line = mine[0]
            self.assertIn("[info]", line)
            self.assertIn(url, line)
            self.assertTrue(line.endswith(body), (line, body))
            self.assertNotIn("cut:", line)
        text = c.log() + c.output()
        self.assertNotIn(SECRET, text)
        self.assertNotIn(SECRET2, text)
        self.assertNotIn(TOKEN, text)
        self.assertEqual([l for l in c.log().splitlines()
                          if "DryRun" in l and "ignored" in l], [])

    def test_dry_run_line_format(self):
        """One INFO line per job, with the plugin's prefix."""
        s = self.supervisor()
        block = plugin_block(s.url, [("fmt", task_options())],
                             DryRun=True, Customer=CUSTOMER)
        c = self.collectd(block)
        c.putnotif("one", host="web1")
        c.putnotif("two", host="web1")
        lines = self.dry_run_lines(c, "fmt", n=2)
        self.assertEqual(len(lines), 2, lines)
        for line in lines:
            self.assertRegex(line, r"^\[[^]]*\] \[info\] " + re.escape(
                PREFIX + 'Task "fmt": DryRun: POST %s/job/secret/<secret>'
                '?customer=%s {' % (s.url, CUSTOMER)))
        self.assertEqual(s.requests(), [])

    def test_long_body_is_cut_visibly(self):
        s = self.supervisor()
        message = ("abcdefghij" * 25)[:250]
        meta = "\u00e9" * 110 + "\u20ac" * 10  # 250 bytes of UTF-8
        block = plugin_block(s.url, [
            ("cut-ascii", task_options(
                TASK_ID, SECRET, *['Argument "%{message}"'] * 5)),
            ("cut-utf8", task_options(
                TASK_ID, SECRET, *['Argument "%{meta:long}"'] * 5)),
            ("whole", task_options(TASK_ID, SECRET)),
        ], DryRun=True, Customer=CUSTOMER)
        c = self.collectd(block)
        c.putnotif(message, time_=NOTIF_TIME, host="web1", plugin="p",
                   meta={"long": meta})
        bodies = {
            "cut-ascii": body_of(TASK_ID, [message] * 5),
            "cut-utf8": body_of(TASK_ID, [meta] * 5),
            "whole": body_of(TASK_ID, default_args(message)),
        }
        for name in bodies:
            self.dry_run_lines(c, name)
        for name in ("cut-ascii", "cut-utf8"):
            body = bodies[name]
            n = len(body.encode())
            self.assertGreater(n, LOG_LINE_MAX)
            line = self.dry_run_lines(c, name, timeout=0)[0]
            tail = "%s (cut: %d bytes in all)" % (ELLIPSIS, n)
            self.assertTrue(line.endswith(tail), (line, tail))
            url = "%s/job/secret/<secret>?customer=%s " % (s.url, CUSTOMER)
            self.assertIn(url, line)
            shown = line[line.index(url) + len(url):-len(tail)]
            self.assertGreater(len(shown.encode()), 500)
            self.assertTrue(body.startswith(shown), shown)
            self.assertNotIn("\ufffd", line)  # cut on a character boundary
            self.assertLess(len(message_part(line).encode()), LOG_LINE_MAX)
        whole = self.dry_run_lines(c, "whole", timeout=0)[0]
        self.assertTrue(whole.endswith(bodies["whole"]), whole)
        self.assertNotIn("cut:", whole)
        self.assertEqual(s.requests(), [])


    def test_dry_run_cooldown_still_applies(self):
        s = self.supervisor()
        block = plugin_block(s.url, [("cool", task_options(
            TASK_ID, SECRET, "Cooldown 60", 'Argument "%{message}"'))],
            DryRun=True, Customer=CUSTOMER)
        c = self.collectd(block)
        c.putnotif("first", host="web1", plugin="p", type_instance="a")
        c.putnotif("again", host="web1", plugin="p", type_instance="a")
        c.putnotif("other", host="web1", plugin="p", type_instance="b")
        self.dry_run_lines(c, "cool", "other")
        lines = self.dry_run_lines(c, "cool", timeout=0)
        self.assertEqual(len(lines), 2, lines)
        self.assertIn('"first"', lines[0])
        self.assertIn('"other"', lines[1])
        self.assertEqual(s.requests(), [])


class DryRunCounters(SecretsTest):

    def run_counters(self, dry_run):
        s = self.supervisor()
        csv_dir = os.path.join(self.dir, "csv")
        block = plugin_block(s.url, [("t1", task_options())],
                             DryRun=dry_run, Customer=CUSTOMER)
        c = self.collectd(block, extra=csv_block(csv_dir))
        c.putnotif("x", host="web1")
        if dry_run:
            self.dry_run_lines(c, "t1")
        else:
            s.wait_jobs(1)
            c.wait_log(r'Task "t1": job \w+ created')
        after = time.time()

        def rows_after(type_instance):
            rows = [r for r in csv_values(csv_dir, "t1", type_instance)
                    if r[0] > after]
            return rows or None
        values = {}
        for ti in ("sent", "failed", "dropped", "expired"):
            values[ti] = wait_for(lambda: rows_after(ti), 10,
                                  what="csv rows of %s" % ti)[-1][1]
        return s, values

    def test_dry_run_counts_neither_sent_nor_failed(self):
        s, values = self.run_counters(True)
        self.assertEqual(values, {"sent": 0, "failed": 0, "dropped": 0,
                                  "expired": 0})
        self.assertEqual(s.requests(), [])

    def test_without_dry_run_the_job_counts_sent(self):
        """The control: the same run without DryRun counts one sent."""
        s, values = self.run_counters(False)
        self.assertEqual(values, {"sent": 1, "failed": 0, "dropped": 0,
                                  "expired": 0})


if __name__ == "__main__":
    main()
