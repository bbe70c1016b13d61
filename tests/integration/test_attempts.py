# SPDX-License-Identifier: MIT
"""MaxAttempts is a hard bound on how many times the supervisor may see one
job, whatever libcurl does on its own: every time the request was written
counts, and libcurl's silent resend on a fresh connection (after a
kept-alive one died without an answer) is never allowed.

Both paths run the real collectd against tests/fake_supervisor, and count
what the supervisor really received (its recorded requests).
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402

TASK = "attempts-task"

# Fast retries so that a test spends seconds, not minutes, on backoff.
FAST = {"RetryInterval": 0.2, "MaxRetryInterval": 0.5, "MaxAge": 60}


class AttemptsTest(IntegrationTest):

    def start(self, sup, max_attempts, **options):
        block = plugin_block(sup.url, [(TASK, task_options())],
                             Customer=CUSTOMER, MaxAttempts=max_attempts,
                             **dict(FAST, **options))
        return self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))

    def seen(self, sup, message):
        """The requests carrying message that the supervisor received."""
        return [r for r in sup.requests() if message_of(r) == message]

    def seen_times(self, sup, message, times):
        """The requests carrying message, which must be `times` (the job's
        MaxAttempts, all spent)."""
        seen = self.seen(sup, message)
        self.assertEqual(len(seen), times,
                         "the supervisor saw the job %d times with "
                         "MaxAttempts %d: %s"
                         % (len(seen), times, [(r["fault"], r["status"],
                                                r["connection"])
                                               for r in seen]))
        return seen

    def warm_up(self, sup, cd):
        """One job answered normally, so that the plugin holds a keep-alive
        connection; returns the supervisor's number for that connection."""
        cd.putnotif(self.tag(0))
        cd.wait_log(r"job \S+ created")
        return sup.jobs()[-1]["connection"]

    def wait_job_for(self, sup, message, timeout=15):
        """Waits until message became a job. Jobs leave in arrival order,
        so once a later job arrived, an earlier one is done with: its count
        of requests is final."""
        return wait_for(lambda: [r for r in sup.jobs()
                                 if message_of(r) == message],
                        timeout, what="a job for %r" % message)

    def test_no_silent_resend_on_the_last_attempt(self):
        # MaxAttempts 1: the request written on the reused connection is
        # the only attempt. libcurl would resend it at once on a fresh
        # connection when that connection closes without an answer, and
        # the supervisor would see the job twice.
        sup = self.supervisor()
        cd = self.start(sup, 1)
        conn = self.warm_up(sup, cd)
        sup.control(close=1)
        victim, after = self.tag(1), self.tag(2)
        cd.putnotif(victim)
        cd.putnotif(after)
        self.wait_job_for(sup, after)
        seen = self.seen_times(sup, victim, 1)
        # The scenario really was the one of a dead keep-alive connection.
        self.assertEqual(seen[0]["connection"], conn)
        self.assertEqual(seen[0]["fault"], "close")
        gave_up = lines_at(cd, "error", r'Task "%s": gave up on a job after '
                           r'1 attempts' % re.escape(TASK))
        self.assertTrue(gave_up, cd.plugin_lines())
        # The empty reply says why nothing was resent.
        self.assertTrue(re.search(r"MaxAttempts", gave_up[0]), gave_up)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        wait_counter(self.dir, TASK, "derive-sent", 2)

    def test_no_resend_on_another_kept_alive_connection(self):
        # MaxAttempts 1, Connections 2: two kept-alive connections. When
        # the one that carries the request closes without an answer,
        # libcurl would resend it on the other, idle one, opening no new
        # connection: the supervisor would see the job twice.
        sup = self.supervisor()
        cd = self.start(sup, 1, Connections=2)
        sup.control(delay_ms=300)
        first = [self.tag(0), self.tag(1)]
        for tag in first:
            cd.putnotif(tag)
        for tag in first:
            self.wait_job_for(sup, tag)
        conns = {r["connection"] for r in sup.jobs()}
        self.assertEqual(len(conns), 2, "the warm-up opened %s" % conns)
        sup.control(delay_ms=0, close=1)
        victim, after = self.tag(2), self.tag(3)
        cd.putnotif(victim)
        cd.wait_log(r"gave up on a job after 1 attempts")
        cd.putnotif(after)
        self.wait_job_for(sup, after)
        seen = self.seen_times(sup, victim, 1)
        self.assertIn(seen[0]["connection"], conns)
        self.assertEqual(seen[0]["fault"], "close")
        wait_counter(self.dir, TASK, "derive-failed", 1)
        wait_counter(self.dir, TASK, "derive-sent", 3)

    def test_write_before_a_refused_reconnect_counts(self):
        # MaxAttempts 2. First exchange: the request is written on the
        # reused connection, which closes without an answer while the
        # supervisor stops listening, so libcurl's resend meets a refused
        # connect: that write is an attempt. The supervisor comes back on
        # the same port and closes once more without an answer: the second
        # attempt, the last. A plugin that did not count the first write
        # would send a third time.
        sup = self.supervisor()
        cd = self.start(sup, 2)
        conn = self.warm_up(sup, cd)
        sup.control(close=1, refuse=1)
        victim, after = self.tag(1), self.tag(2)
        cd.putnotif(victim)
        wait_for(lambda: self.seen(sup, victim), 10,
                 what="the first request of the job")
        # The exchange ended (a refused reconnect): the plugin schedules a
        # retry.
        cd.wait_log(r"retrying in")
        with self.assertRaises(OSError):
            http_request(sup.port, "GET", "/_control/stats", timeout=2)
        port = sup.port
        sup.stop()
        sup2 = Supervisor(self.dir, port=port,
                              extra_args=["--control", "close=1"])
        self.processes.append(sup2)
        sup2.start()
        cd.putnotif(after)
        self.wait_job_for(sup2, after)
        seen = self.seen_times(sup2, victim, 2)
        self.assertEqual(seen[0]["connection"], conn)
        self.assertEqual([r["fault"] for r in seen], ["close", "close"])
        gave_up = lines_at(cd, "error", r'Task "%s": gave up on a job after '
                           r'2 attempts' % re.escape(TASK))
        self.assertTrue(gave_up, cd.plugin_lines())
        wait_counter(self.dir, TASK, "derive-failed", 1)
        wait_counter(self.dir, TASK, "derive-sent", 2)


if __name__ == "__main__":
    main()
