# SPDX-License-Identifier: MIT
"""The on-disk spool: SpoolDir and SpoolLimit.

Every test runs the real collectd with the built plugin against
tests/fake_supervisor (or a port where nothing listens yet), kills or
stops it, starts it again on the same directory and configuration, and
checks what the supervisor received, what is left in the spool directory,
the log and the self-metrics (read back through the csv plugin).
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402

TASK = "spool-task"
TASK2 = "other-task"
MAGIC = b"notify_theeye spool 2\n"  # 1.0's format: still resumed
MAGIC3 = b"notify_theeye spool 3\n"  # what the plugin writes


def parse_entry(data):
    """The header of a spool entry the plugin wrote as a dict (seq,
    arrival, attempts, task, taskid, episode, body), or None when it does
    not look like one."""
    if not data.startswith(MAGIC3):
        return None
    fields = {}
    rest = data[len(MAGIC3):]
    for key in ("seq", "arrival", "attempts", "task", "taskid", "episode",
                "body"):
        line, sep, rest = rest.partition(b"\n")
        k, _, v = line.partition(b" ")
        if not sep or k.decode(errors="replace") != key:
            return None
        fields[key] = v.decode(errors="replace")
    try:
        n = int(fields["body"])
    except ValueError:
        return None
    fields["body"] = rest[:n].decode(errors="replace")
    return fields


def make_entry(seq, arrival, task, body, attempts=0, task_id=TASK_ID):
    """A spool entry as the plugin writes it (the CRC-32 is zlib's)."""
    data = (MAGIC + b"seq %d\narrival %.6f\nattempts %d\ntask %s\n"
            b"taskid %s\nbody %d\n" % (seq, arrival, attempts, task.encode(),
                                       task_id.encode(), len(body)) +
            body + b"\n")
    return data + b"crc32 %08x\n" % zlib.crc32(data)


class SpoolTest(IntegrationTest):

    # ---- helpers ----

    @property
    def spool(self):
        return os.path.join(self.dir, "spool")

    def block(self, url, tasks=None, spool=True, **globals_):
        # Timeout 1000: a stop takes about 1 s (the shutdown grace) even
        # while the supervisor is down.
        options = {"Customer": CUSTOMER, "RetryInterval": 0.2,
                   "MaxRetryInterval": 0.5, "MaxAge": 60, "Timeout": 1000}
        if spool:
            options["SpoolDir"] = self.spool
        options.update(globals_)
        return plugin_block(url, tasks or [(TASK, task_options())],
                            **options)

    def start(self, block, **kw):
        """Starts collectd on the test's directory (the same configuration
        file each time, rewritten from block)."""
        return self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir),
                             **kw)

    def restart(self, block, **kw):
        return self.recollectd(block, extra=CSV_EXTRA.format(dir=self.dir),
                               **kw)

    def down_url(self):
        """A supervisor URL where nothing listens (yet)."""
        port = free_port()
        return port, "http://127.0.0.1:%d" % port

    def entries(self):
        """The spool's entry files (names), in name order."""
        if not os.path.isdir(self.spool):
            return []
        return sorted(n for n in os.listdir(self.spool)
                      if n.endswith(".job") and not n.startswith("."))

    def read_entries(self):
        """[(name, parsed header)] of every entry on disk now (an entry
        removed meanwhile is skipped)."""
        out = []
        for name in self.entries():
            try:
                with open(os.path.join(self.spool, name), "rb") as f:
                    out.append((name, parse_entry(f.read())))
            except FileNotFoundError:
                pass
        return out

    def entry_messages(self):
        """The %{message} of every entry on disk, in entry order."""
        out = []
        for _, e in self.read_entries():
            self.assertIsNotNone(e, "an entry does not parse")
            out.append(json.loads(e["body"])["task_arguments"][-1])
        return out

    def wait_entries(self, n, timeout=3):
        try:
            wait_for(lambda: len(self.entries()) == n, timeout,
                     interval=0.01, what="%d entries in the spool" % n)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, self.entries()))

    def wait_empty(self, timeout=3):
        self.wait_entries(0, timeout)

    def grep(self, lines, level, pattern):
        rx = re.compile(pattern)
        return [line for line in lines
                if "[%s]" % level in line and rx.search(line)]

    def messages(self, sup):
        return [message_of(r) for r in sup.requests()]

    def plugin_counter(self, name):
        """The latest value of a plugin-wide self-metric (no plugin
        instance), e.g. derive-spool_corrupt; None before the first."""
        pattern = os.path.join(self.dir, "csv", "testhost", "notify_theeye",
                               name + "-[0-9]*")
        rows = []
        for path in sorted(glob.glob(pattern)):
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if line.endswith("\n") and len(parts) == 2 and \
                            parts[0] != "epoch":
                        rows.append(float(parts[1]))
        return rows[-1] if rows else None

    def pending(self, cd, n, offset=0):
        """Sends n notifications with the supervisor down and waits for
        their entries; returns their messages."""
        before = len(self.entries())
        tags = []
        for i in range(n):
            tags.append(self.tag(offset + i))
            cd.putnotif(tags[-1])
        self.wait_entries(before + n)
        return tags

    # ---- on disk, fast ----

    def test_every_job_on_disk_within_100ms(self):
        _, url = self.down_url()
        cd = self.start(self.block(url))
        delays = []
        tags = []
        for i in range(10):
            tags.append(self.tag(i))
            cd.putnotif(tags[-1])
            t0 = time.monotonic()
            while len(self.entries()) < i + 1 and \
                    time.monotonic() - t0 < 2:
                time.sleep(0.002)
            delays.append(time.monotonic() - t0)
        self.assertEqual(len(self.entries()), 10)
        self.assertLess(max(delays), 0.1,
                        "entries took %s s" % ["%.3f" % d for d in delays])
        # Each entry is its own job, whole, for this Task, in order.
        self.assertEqual(self.entry_messages(), tags)
        for _, e in self.read_entries():
            self.assertEqual(e["task"], TASK)
            # Refused, so none spent; the one the next request may spend is
            # already counted (MaxAttempts is 5): one write per job.
            self.assertEqual(e["attempts"], "1")
        wait_counter(self.dir, TASK, "derive-spooled", 10)
        wait_counter(self.dir, TASK, "queue_length", 10)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-resumed"), 0)

    # ---- kill -9, SIGTERM ----

    def test_kill9_then_resume_in_order_before_new(self):
        port, url = self.down_url()
        block = self.block(url)
        cd = self.start(block)
        tags = self.pending(cd, 5)
        cd.kill()
        self.assertEqual(cd.returncode, -9)
        self.assertEqual(self.entry_messages(), tags)

        cd2 = self.restart(block)
        new = self.tag(99)
        cd2.putnotif(new)
        sup = self.supervisor(port=port)
        sup.wait_jobs(6)
        wait_counter(self.dir, TASK, "derive-sent", 6)
        # Exactly once each, in arrival order, the old ones first.
        self.assertEqual(self.messages(sup), tags + [new])
        wait_counter(self.dir, TASK, "derive-resumed", 5)
        lines = cd2.plugin_lines()
        resumed = self.grep(lines, "info", r'Task "%s": resumed 5 spooled '
                            r'job\(s\)' % TASK)
        self.assertEqual(len(resumed), 1, lines)
        self.wait_empty()
        time.sleep(0.5)
        self.assertEqual(len(sup.requests()), 6, "a job was sent twice")

    def test_sigterm_keeps_pending_jobs(self):
        port, url = self.down_url()
        block = self.block(url)
        cd = self.start(block)
        tags = self.pending(cd, 3)
        cd.stop()
        self.assertEqual(cd.returncode, 0, cd.output())
        left = [line for line in cd.plugin_lines()
                if "shutting down with" in line]
        self.assertEqual(len(left), 1, left)
        self.assertIn("[info]", left[0])
        self.assertIn('Task "%s"' % TASK, left[0])
        self.assertIn("3 undelivered job(s): kept in SpoolDir", left[0])
        self.assertFalse(self.grep(cd.plugin_lines(), "warning",
                                   "dropped"))
        self.assertEqual(self.entry_messages(), tags)

        sup = self.supervisor(port=port)
        self.restart(block)
        sup.wait_jobs(3)
        wait_counter(self.dir, TASK, "derive-sent", 3)
        self.assertEqual(self.messages(sup), tags)
        wait_counter(self.dir, TASK, "derive-resumed", 3)
        self.wait_empty()

    def test_sigterm_without_spool_drops(self):
        port, url = self.down_url()
        block = self.block(url, spool=False)
        cd = self.start(block)
        tags = [self.tag(i) for i in range(3)]
        for t in tags:
            cd.putnotif(t)
        wait_counter(self.dir, TASK, "queue_length", 3)
        # Without SpoolDir there is no spool figure at all.
        self.assertIsNone(csv_latest(self.dir, TASK, "derive-spooled"))
        cd.stop()
        left = [line for line in cd.plugin_lines()
                if "shutting down with" in line]
        self.assertEqual(len(left), 1, left)
        self.assertIn("[warning]", left[0])
        self.assertIn('Task "%s"' % TASK, left[0])
        self.assertIn("3 undelivered job(s): dropped", left[0])
        self.assertFalse(os.path.exists(self.spool))
        # (The dropped counter changes after collectd stopped its read
        # threads: only the log can show it.)

        sup = self.supervisor(port=port)
        cd2 = self.restart(block)
        marker = self.tag(9)
        cd2.putnotif(marker)
        sup.wait_jobs(1)
        time.sleep(0.3)
        self.assertEqual(self.messages(sup), [marker])
        self.assertFalse([l for l in cd2.plugin_lines()
                          if "resumed" in l])

    # ---- entries leave the spool ----

    def test_delivered_job_leaves_spool(self):
        sup = self.supervisor()
        cd = self.start(self.block(sup.url))
        # Slow answers: the entry is surely written while in flight.
        sup.control(delay_ms=400)
        tag = self.tag()
        cd.putnotif(tag)
        self.wait_entries(1, timeout=0.3)
        self.assertEqual(self.entry_messages(), [tag])
        sup.wait_jobs(1)
        self.wait_empty(timeout=2)
        wait_counter(self.dir, TASK, "derive-sent", 1)
        wait_counter(self.dir, TASK, "derive-spooled", 1)
        # Fast answers: whether or not the entry was written, none stays.
        sup.control(delay_ms=0)
        for i in range(5):
            cd.putnotif(self.tag(i + 1))
        sup.wait_jobs(6)
        wait_counter(self.dir, TASK, "derive-sent", 6)
        self.wait_empty(timeout=2)
        # The remediation state stays, no entry.
        self.assertEqual(os.listdir(self.spool), ["state"])

    def test_given_up_job_leaves_spool(self):
        sup = self.supervisor()
        cd = self.start(self.block(sup.url))
        sup.control(status=403, count=-1, delay_ms=300)
        cd.putnotif(self.tag())
        self.wait_entries(1, timeout=0.3)
        sup.wait_requests(1)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.wait_empty(timeout=2)
        self.assertEqual(len(sup.requests()), 1)
        self.assertTrue(lines_at(cd, "error", r'Task "%s".*HTTP 403' % TASK))

    # ---- MaxAge, MaxAttempts across a restart ----

    def test_sigterm_keeps_attempt_of_aborted_request(self):
        # A request still in flight at shutdown is aborted (Timeout 1000
        # bounds the shutdown; the Task itself waits 20 s): the supervisor
        # saw it, so the entry kept says 1 attempt, and with MaxAttempts 2
        # only 1 more request follows the restart.
        sup = self.supervisor()
        tasks = [(TASK, task_options(TASK_ID, SECRET, "Timeout 20000"))]
        block = self.block(sup.url, tasks=tasks, MaxAttempts=2)
        cd = self.start(block)
        sup.control(hang=-1)
        tag = self.tag()
        cd.putnotif(tag)
        sup.wait_requests(1)
        self.wait_entries(1)
        cd.stop()
        self.assertTrue(lines_at(cd, "info", r'Task "%s": shutting down '
                                 r'with 1 undelivered job\(s\): kept' % TASK))
        self.assertEqual(self.attempts_on_disk(), 1)
        sup.control(hang=0, status=500, count=-1)
        cd2 = self.restart(block)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.assertTrue(lines_at(cd2, "error", r'Task "%s": gave up on a job '
                                 r'after 2 attempts' % TASK))
        self.assertEqual(self.messages(sup), [tag] * 2)
        self.wait_empty()

    def test_max_age_across_restart(self):
        port, url = self.down_url()
        block = self.block(url, MaxAge=3)
        cd = self.start(block)
        tags = self.pending(cd, 1)
        t0 = time.monotonic()  # the job arrived before
        wait_counter(self.dir, TASK, "derive-spooled", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-expired"), 0)
        cd.stop()
        self.assertEqual(len(self.entries()), 1)
        # Past MaxAge while collectd is down.
        time.sleep(max(0, 3.2 - (time.monotonic() - t0)))
        sup = self.supervisor(port=port)
        cd2 = self.restart(block)
        wait_counter(self.dir, TASK, "derive-expired", 1)
        lines = cd2.plugin_lines()
        summary = self.grep(lines, "info", r'Task "%s": resumed 0 spooled '
                            r'job\(s\); 1 expired' % TASK)
        self.assertEqual(len(summary), 1, lines)
        self.wait_empty()
        self.assertEqual(csv_latest(self.dir, TASK, "derive-resumed"), 0)
        # A fresh job goes; the old one never does.
        marker = self.tag(9)
        cd2.putnotif(marker)
        sup.wait_jobs(1)
        time.sleep(0.3)
        self.assertEqual(self.messages(sup), [marker])
        self.assertNotIn(tags[0], self.messages(sup))

    def attempts_on_disk(self):
        got = self.read_entries()
        return int(got[0][1]["attempts"]) if len(got) == 1 and got[0][1] \
            else None

    def test_max_attempts_across_kill9(self):
        # Spent attempts are written to the entry: after 2 answers of 500
        # are on disk, a kill -9 and a restart leave room for only 1 more.
        # (While a job waits, its entry also counts the attempt its next
        # request may spend, unless that is its last: 2 here.)
        sup = self.supervisor()
        block = self.block(sup.url, MaxAttempts=3, RetryInterval=0.3)
        cd = self.start(block)
        sup.control(status=500, count=-1)
        tag = self.tag()
        cd.putnotif(tag)
        wait_for(lambda: len(sup.requests()) == 2 and
                 self.attempts_on_disk() == 2, 5,
                 what="2 requests, attempts 2 in the entry")
        cd.kill()
        self.assertEqual(len(sup.requests()), 2)
        cd2 = self.restart(block)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        lines = cd2.plugin_lines()
        self.assertTrue(self.grep(lines, "error", r'Task "%s": gave up on a '
                                  r'job after 3 attempts' % TASK), lines)
        self.assertEqual(self.messages(sup), [tag] * 3)
        self.wait_empty()

    def test_max_attempts_counts_request_in_flight_at_kill9(self):
        # The supervisor saw a 2nd request and collectd died before its
        # answer: that attempt is spent too (MaxAttempts: every time the
        # request was written counts). MaxAttempts 3 leaves 1 more.
        sup = self.supervisor()
        block = self.block(sup.url, MaxAttempts=3, RetryInterval=0.3,
                           Timeout=5000)
        cd = self.start(block)
        sup.control(status=500, count=1)
        tag = self.tag()
        cd.putnotif(tag)
        sup.wait_requests(1)
        sup.control(hang=1)
        sup.wait_requests(2)
        cd.kill()
        sup.control(status=500, count=-1, hang=0)
        cd2 = self.restart(block)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        lines = cd2.plugin_lines()
        self.assertTrue(self.grep(lines, "error", r"gave up"), lines)
        self.assertLessEqual(
            len(sup.requests()), 3,
            "the supervisor saw the job %d times with MaxAttempts 3"
            % len(sup.requests()))

    # ---- what the spool holds ----

    def test_no_secret_or_token_on_disk(self):
        _, url = self.down_url()
        secret_file = os.path.join(self.dir, "secret")
        with open(secret_file, "w") as f:
            f.write(SECRET2 + "\n")
        os.chmod(secret_file, 0o600)
        tasks = [(TASK, task_options()),
                 (TASK2, ['TaskID "%s"' % TASK_ID2,
                          'SecretFile "%s"' % secret_file]),
                 ("token-task", ['TaskID "%s"' % TASK_ID,
                                 'AccessToken "%s"' % TOKEN])]
        cd = self.start(self.block(url, tasks=tasks))
        cd.putnotif(self.tag())
        self.wait_entries(3)
        cd.stop()  # rewritten at shutdown too
        names = set()
        for root, _, files in os.walk(self.spool):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for needle in (SECRET, SECRET2, TOKEN):
                    self.assertNotIn(needle.encode(), data, name)
                    self.assertNotIn(needle.upper().encode(), data, name)
                if name != "state":  # the remediation state: no entry
                    names.add(parse_entry(data)["task"])
        self.assertEqual(names, {TASK, TASK2, "token-task"})

    def test_resumed_job_with_every_attempt_spent_is_not_sent(self):
        # The entry says 3 attempts (the last written just before a request
        # that collectd died in): with MaxAttempts 3 it must not go out
        # again; a fresh entry beside it still does.
        os.makedirs(self.spool, mode=0o700)
        now = time.time()
        spent = b'{"task":"%s","task_arguments":["spent"]}' % TASK_ID.encode()
        fresh = b'{"task":"%s","task_arguments":["fresh"]}' % TASK_ID.encode()
        for seq, body, attempts in ((1, spent, 3), (2, fresh, 1)):
            with open(os.path.join(self.spool, "%020d.job" % seq), "wb") as f:
                f.write(make_entry(seq, now, TASK, body, attempts))
        sup = self.supervisor()
        cd = self.start(self.block(sup.url, MaxAttempts=3))
        sup.wait_jobs(1)
        self.wait_empty()
        reqs = sup.requests()
        self.assertEqual([json.loads(r["body"])["task_arguments"]
                          for r in reqs], [["fresh"]])
        gave_up = self.grep(cd.plugin_lines(), "error",
                            "gave up on a resumed job")
        self.assertEqual(len(gave_up), 1, cd.plugin_lines())
        self.assertIn('"%s"' % TASK, gave_up[0])
        wait_counter(self.dir, TASK, "derive-failed", 1)

    def test_entry_of_removed_task_dropped(self):
        port, url = self.down_url()
        tasks = [(TASK, task_options()),
                 (TASK2, task_options(TASK_ID2, SECRET2))]
        cd = self.start(self.block(url, tasks=tasks))
        tag = self.tag()
        cd.putnotif(tag)
        self.wait_entries(2)
        cd.kill()
        sup = self.supervisor(port=port)
        cd2 = self.restart(self.block(url))  # TASK2 is gone
        sup.wait_jobs(1)
        self.wait_empty()
        time.sleep(0.3)
        reqs = sup.requests()
        self.assertEqual(len(reqs), 1)
        self.assertIn(TASK_ID, reqs[0]["body"])
        self.assertNotIn(TASK_ID2, json.dumps(reqs))
        lines = cd2.plugin_lines()
        gone = [line for line in lines if TASK2 in line]
        self.assertEqual(len(gone), 1, lines)
        self.assertIn("[warning]", gone[0])
        self.assertIn('"%s"' % TASK2, gone[0])
        self.assertIn("no longer configured", gone[0])

    def test_corrupt_entries_moved_aside(self):
        port, url = self.down_url()
        block = self.block(url)
        cd = self.start(block)
        tags = self.pending(cd, 2)
        cd.stop()
        first = self.entries()[0]
        with open(os.path.join(self.spool, first), "rb") as f:
            data = f.read()
        seq = int(first[:-4])
        # A torn copy of a real entry (it would be sent first), garbage
        # between the real ones' names, and garbage sorting last.
        torn = "%020d.job" % (seq - 1)
        with open(os.path.join(self.spool, torn), "wb") as f:
            f.write(data[:len(data) // 2])
        with open(os.path.join(self.spool, "%020d.job" % (seq - 2)),
                  "wb") as f:
            f.write(b"\x00garbage\n")
        with open(os.path.join(self.spool, "zz-garbage.job"), "wb") as f:
            f.write(MAGIC + b"seq 1\n")
        sup = self.supervisor(port=port)
        cd2 = self.restart(block)
        sup.wait_jobs(2)
        wait_counter(self.dir, TASK, "derive-sent", 2)
        self.assertEqual(self.messages(sup), tags)
        bad = ["%020d.job" % (seq - 2), torn, "zz-garbage.job"]
        corrupt = os.path.join(self.spool, "corrupt")
        self.assertEqual(sorted(os.listdir(corrupt)), sorted(bad))
        self.wait_empty()
        lines = cd2.plugin_lines()
        for name in bad:
            mine = [line for line in lines if name in line]
            self.assertEqual(len(mine), 1, lines)
            self.assertIn("[error]", mine[0])
        # One plugin-wide figure (plugin instance empty: a corrupt entry
        # may name no Task), not one per Task.
        wait_for(lambda: self.plugin_counter("derive-spool_corrupt") == 3,
                 5, what="derive-spool_corrupt 3 (latest %r)"
                 % self.plugin_counter("derive-spool_corrupt"))
        self.assertIsNone(csv_latest(self.dir, TASK, "derive-spool_corrupt"))
        time.sleep(0.3)
        self.assertEqual(len(sup.requests()), 2)

    def test_spool_limit(self):
        _, url = self.down_url()
        # No retry during the test: the first job's lane waits 10 s.
        cd = self.start(self.block(url, SpoolLimit=3, RetryInterval=20,
                                   MaxRetryInterval=20))
        tags = [self.tag(0)]
        cd.putnotif(tags[0])
        cd.wait_log(r"retrying in")
        for i in range(1, 6):
            tags.append(self.tag(i))
            cd.putnotif(tags[-1])
        wait_counter(self.dir, TASK, "derive-dropped", 3)
        self.wait_entries(3)
        time.sleep(0.2)
        self.assertEqual(self.entry_messages(), tags[3:])
        self.assertTrue(lines_at(cd, "warning", r'Task "%s": queue full'
                                 % TASK))
        wait_counter(self.dir, TASK, "queue_length", 3)

    def test_unwritable_dir_keeps_jobs_in_memory(self):
        port, url = self.down_url()
        cd = self.start(self.block(url))
        # The directory goes away under the running plugin, a file in its
        # place (tests run as root: a mode would not stop root).
        self.assertEqual(os.listdir(self.spool), [])
        os.rmdir(self.spool)
        with open(self.spool, "w") as f:
            f.write("not a directory\n")
        tags = [self.tag(i) for i in range(3)]
        for t in tags:
            cd.putnotif(t)
        cd.wait_log(r"spool: cannot write an entry")
        cd.wait_log(r"spool: cannot write the remediation state")
        wait_counter(self.dir, TASK, "queue_length", 3)
        time.sleep(0.3)
        errors = lines_at(cd, "error", r"spool: cannot write an entry")
        self.assertEqual(len(errors), 1, "not rate-limited: %s" % errors)
        errors = lines_at(cd, "error", r"spool: cannot write the remediation")
        self.assertEqual(len(errors), 1, "not rate-limited: %s" % errors)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-spooled"), 0)
        # Still in memory: delivered once the supervisor is back.
        sup = self.supervisor(port=port)
        sup.wait_jobs(3)
        wait_counter(self.dir, TASK, "derive-sent", 3)
        self.assertEqual(self.messages(sup), tags)

    def test_config_check_sends_nothing(self):
        # "collectd -T" (how an operator checks a configuration, perhaps
        # while the daemon runs on the same SpoolDir) must neither send
        # spooled jobs nor remove their entries.
        port, url = self.down_url()
        block = self.block(url)
        cd = self.start(block)
        tags = self.pending(cd, 2)
        cd.kill()
        sup = self.supervisor(port=port)
        rc, out, _ = cd.test_config()
        self.assertEqual(rc, 0, out)
        time.sleep(0.5)
        self.assertEqual(self.messages(sup), [],
                         "collectd -T sent spooled jobs")
        self.assertEqual(self.entry_messages(), tags)
        # The daemon itself delivers them, once.
        self.restart(block)
        sup.wait_jobs(2)
        time.sleep(0.3)
        self.assertEqual(self.messages(sup), tags)

    def test_resumed_jobs_go_before_one_arriving_at_start(self):
        # A notification that arrives before the spool was read at
        # start-up (unixsock takes it before this plugin's init: a Python
        # module's init callback, loaded in between, sleeps) must still go
        # after every resumed job. Many entries, the first one big, make
        # the read take a while; a slow supervisor keeps the first request
        # in flight while the rest is queued.
        os.mkdir(self.spool, 0o700)
        now = time.time()
        base = int((now - 5) * 1e6)
        for i in range(2000):
            # The first one is big (checked at 900 kB: slow to read back).
            args = ["x" * 900000] if i == 0 else []
            body = json.dumps({"task": TASK_ID, "task_arguments":
                               args + ["old-%d" % i]}).encode()
            with open(os.path.join(self.spool, "%020d.job" % (base + i)),
                      "wb") as f:
                f.write(make_entry(base + i, now - 5, TASK, body))
        with open(os.path.join(self.dir, "slowinit.py"), "w") as f:
            f.write("import collectd, time\n"
                    "collectd.register_init(lambda: time.sleep(1))\n")
        extra = ('LoadPlugin python\n<Plugin python>\n  ModulePath "%s"\n'
                 '  Import "slowinit"\n</Plugin>' % self.dir)
        sup = self.supervisor()
        sup.control(delay_ms=500)
        cd = self.collectd(self.block(sup.url, QueueLimit=5000),
                           extra=extra, start=False)
        cd.start(wait=False)

        def sent():
            try:
                cd.putnotif("new")
                return True
            except OSError:  # not there, or not listening yet
                return False
        wait_for(sent, 10, interval=0.002, what="a PUTNOTIF taken")
        self.assertNotIn("Initialization complete", cd.log(),
                         "too late: the test proves nothing")
        sup.wait_requests(2)
        self.assertEqual(self.messages(sup)[:2], ["old-0", "old-1"])

    def test_modes(self):
        _, url = self.down_url()
        old = os.umask(0)  # collectd inherits it: modes must not depend on it
        try:
            cd = self.start(self.block(url))
        finally:
            os.umask(old)
        self.pending(cd, 2)
        st = os.stat(self.spool)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        for name in self.entries():
            st = os.lstat(os.path.join(self.spool, name))
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, name)


if __name__ == "__main__":
    main()
