# SPDX-License-Identifier: MIT
"""How the plugin treats each answer of the supervisor: what is
retried, what is not, what spends an attempt, Retry-After, and ordering.

Every test runs the real collectd with the built plugin against
tests/fake_supervisor; counters are read back through the csv plugin.
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402
import time  # noqa: E402

TASK = "outcomes-task"

# Fast retries so that a test spends seconds, not minutes, on backoff.
FAST = {"RetryInterval": 0.2, "MaxRetryInterval": 1, "MaxAge": 30}


class OutcomeTest(IntegrationTest):

    def start(self, sup_kw=None, url=None, task_opts=None, **globals_):
        """Starts the fake supervisor (unless url is given) and collectd
        with one Task; returns (supervisor or None, collectd)."""
        sup = None
        if url is None:
            sup = self.supervisor(**(sup_kw or {}))
            url = sup.url
        options = dict(FAST)
        options["Customer"] = CUSTOMER
        options.update(globals_)
        block = plugin_block(url, [(TASK, task_opts or task_options())],
                             **options)
        cd = self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))
        return sup, cd

    def assert_each_once(self, sup, messages):
        """Every message became exactly one job."""
        created = {}
        for r in sup.jobs():
            created[message_of(r)] = created.get(message_of(r), 0) + 1
        for m in messages:
            self.assertEqual(created.get(m, 0), 1,
                             "jobs for %r: %s" % (m, created))

    def settle(self, seconds=1.2):
        """Leaves time for several RetryIntervals (0.2 s) to pass before a
        test asserts that nothing more was sent (scaled like every other
        bound of the harness: a slower daemon retries later)."""
        pause(seconds)

    # ---- permanent answers ----

    def test_403_not_retried(self):
        sup, cd = self.start()
        sup.control(status=403, count=1)
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        lines = cd.wait_log(r"403")
        self.settle()
        reqs = sup.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["status"], 403)
        self.assertEqual(sup.jobs(), [])
        err = lines_at(cd, "error", r'Task "%s".*HTTP 403.*fault 403'
                       % re.escape(TASK))
        self.assertTrue(err, "no ERROR line with the Task, the status and "
                        "the message: %s" % lines)
        self.assertNotIn(SECRET, cd.log())
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 0)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-sent"), 0)

    def test_400_not_retried(self):
        # The task wants 20 arguments; the default template sends 8.
        sup, cd = self.start(sup_kw={"tasks": ((TASK_ID, SECRET, 20),)})
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        lines = cd.wait_log(r"400")
        self.settle()
        reqs = sup.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["status"], 400)
        err = lines_at(cd, "error", r'Task "%s".*HTTP 400.*Invalid Task '
                       r'Arguments' % re.escape(TASK))
        self.assertTrue(err, "no ERROR line with the Task, the status and "
                        "the message: %s" % lines)
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 0)

    def test_each_refusal_is_logged(self):
        # Refusals of different kinds in a row are each logged at once; the
        # same one again is rate-limited; once a job got through, the next
        # refusal is news again.
        sup, cd = self.start()

        def refused(status, n):
            sup.control(status=status, count=1)
            cd.putnotif(self.tag())
            sup.wait_requests(n)
            wait_counter(self.dir, TASK, "derive-failed", n - sent[0])
        sent = [0]
        for n, status in enumerate((404, 400, 403, 301), 1):
            refused(status, n)
            cd.wait_log(r"refused the job: HTTP %d" % status)
        refused(301, 5)
        cd.putnotif(self.tag())
        sup.wait_jobs(1)
        sent[0] = 1
        refused(301, 7)
        self.settle()
        for status, lines in ((404, 1), (400, 1), (403, 1), (301, 2)):
            self.assertEqual(len(lines_at(cd, "error", r"refused the job: "
                                          r"HTTP %d" % status)), lines,
                             status)

    # ---- not delivered: retried without spending attempts ----

    def check_not_delivered_run(self, status):
        # MaxAttempts 3 < 8 failures: a plugin that spent attempts on
        # these would give the jobs up.
        sup, cd = self.start(MaxAttempts=3, MaxRetryInterval=0.5)
        sup.control(status=status, count=8)
        messages = [self.tag(i) for i in range(5)]
        for m in messages:
            cd.putnotif(m)
        sup.wait_jobs(5, timeout=20)
        self.settle(0.5)
        reqs = sup.requests()
        self.assertEqual(len([r for r in reqs if r["status"] == status]), 8,
                         [(r["status"], message_of(r)) for r in reqs])
        self.assertEqual(len(sup.jobs()), 5)
        self.assert_each_once(sup, messages)
        self.assertEqual(len(reqs), 13)
        wait_counter(self.dir, TASK, "derive-sent", 5)
        self.assertGreater(csv_latest(self.dir, TASK, "derive-retried"), 0)
        wait_counter(self.dir, TASK, "derive-retried", 8)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-failed"), 0)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-expired"), 0)
        self.assertFalse(lines_at(cd, "error", r"gave up"))

    def test_503_run_loses_nothing(self):
        self.check_not_delivered_run(503)

    def test_502_run_loses_nothing(self):
        self.check_not_delivered_run(502)

    def test_429_run_loses_nothing(self):
        self.check_not_delivered_run(429)

    def test_supervisor_up_late(self):
        port = free_port()
        _, cd = self.start(url="http://127.0.0.1:%d" % port, MaxAttempts=2,
                           MaxRetryInterval=0.5)
        messages = [self.tag(i) for i in range(4)]
        for m in messages:
            cd.putnotif(m)
        # Several refused connections go by before it comes up.
        cd.wait_log(r'Task "%s".*not delivered' % re.escape(TASK))
        time.sleep(1.5)
        sup = self.supervisor(port=port)
        sup.wait_jobs(4, timeout=10)
        self.settle(0.5)
        self.assertEqual(len(sup.requests()), 4)
        self.assert_each_once(sup, messages)
        self.assertEqual([message_of(r) for r in sup.jobs()], messages)
        wait_counter(self.dir, TASK, "derive-sent", 4)
        self.assertGreater(csv_latest(self.dir, TASK, "derive-retried"), 2)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-failed"), 0)

    # ---- maybe delivered: retried, spending attempts ----

    def test_500_stops_at_max_attempts(self):
        sup, cd = self.start(MaxAttempts=3)
        sup.control(status=500, count=-1)
        cd.putnotif(self.tag())
        sup.wait_requests(3)
        cd.wait_log(r"gave up")
        self.settle()
        reqs = sup.requests()
        self.assertEqual(len(reqs), 3, reqs)
        self.assertTrue(all(r["status"] == 500 for r in reqs))
        gave_up = lines_at(cd, "error", r'Task "%s".*gave up.*3 attempts'
                           % re.escape(TASK))
        self.assertEqual(len(gave_up), 1, cd.plugin_lines())
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 2)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-sent"), 0)

    def test_timeout_is_retried(self):
        sup, cd = self.start(Timeout=500)
        sup.control(hang=1)
        m = self.tag()
        t0 = time.monotonic()
        cd.putnotif(m)
        sup.wait_jobs(1, timeout=10)
        elapsed = time.monotonic() - t0
        reqs = sup.requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(reqs[0]["fault"], "hang")
        self.assertEqual(message_of(reqs[0]), m)
        self.assertEqual(message_of(reqs[1]), m)
        self.assertGreaterEqual(elapsed, 0.45, "no timeout happened?")
        self.assertTrue(lines_at(cd, "warning", r'Task "%s".*maybe delivered'
                                 % re.escape(TASK)), cd.plugin_lines())
        wait_counter(self.dir, TASK, "derive-sent", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 1)

    def test_timeout_spends_an_attempt(self):
        # Every request hangs: with MaxAttempts 2 it gives up after two.
        sup, cd = self.start(Timeout=300, MaxAttempts=2)
        sup.control(hang=-1)
        cd.putnotif(self.tag())
        cd.wait_log(r"gave up", timeout=10)
        self.settle(1.0)
        reqs = sup.requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertTrue(all(r["fault"] == "hang" for r in reqs))
        self.assertTrue(lines_at(cd, "error", r'Task "%s".*gave up'
                                 % re.escape(TASK)))
        wait_counter(self.dir, TASK, "derive-failed", 1)

    def test_close_is_retried(self):
        sup, cd = self.start(MaxAttempts=3)
        sup.control(close=2)
        m = self.tag()
        cd.putnotif(m)
        sup.wait_jobs(1, timeout=10)
        self.settle(0.5)
        reqs = sup.requests()
        self.assertEqual([r["fault"] for r in reqs],
                         ["close", "close", "none"], reqs)
        self.assertEqual([message_of(r) for r in reqs], [m] * 3)
        self.assert_each_once(sup, [m])
        wait_counter(self.dir, TASK, "derive-sent", 1)
        self.assertGreaterEqual(csv_latest(self.dir, TASK, "derive-retried"),
                                1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-failed"), 0)

    def test_close_spends_attempts(self):
        # Closed without an answer is "maybe delivered": MaxAttempts holds.
        sup, cd = self.start(MaxAttempts=2)
        sup.control(close=-1)
        cd.putnotif(self.tag())
        cd.wait_log(r"gave up", timeout=10)
        self.settle(1.0)
        reqs = sup.requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(sup.jobs(), [])
        wait_counter(self.dir, TASK, "derive-failed", 1)

    def test_close_on_reused_connection_counts_resend(self):
        # On a kept-alive connection that dies unanswered, libcurl sends
        # the request again by itself: the supervisor saw it twice, so
        # with MaxAttempts 2 that one exchange uses both attempts.
        sup, cd = self.start(MaxAttempts=2)
        m1, m2 = self.tag(1), self.tag(2)
        cd.putnotif(m1)
        sup.wait_jobs(1)
        sup.control(close=-1)
        cd.putnotif(m2)
        cd.wait_log(r"gave up", timeout=10)
        self.settle(1.0)
        reqs = [r for r in sup.requests() if message_of(r) == m2]
        self.assertEqual([r["fault"] for r in reqs], ["close", "close"],
                         reqs)
        self.assertNotEqual(reqs[0]["connection"], reqs[1]["connection"])
        wait_counter(self.dir, TASK, "derive-failed", 1)

    # ---- Retry-After ----

    def test_retry_after(self):
        sup, cd = self.start(RetryInterval=0.1, MaxRetryInterval=1)
        sup.control(status=503, count=1, retry_after="2")
        m1 = self.tag(1)
        cd.putnotif(m1)
        sup.wait_jobs(1, timeout=10)
        reqs = sup.requests()
        self.assertEqual(len(reqs), 2, reqs)
        gap = reqs[1]["time"] - reqs[0]["time"]
        self.assertGreaterEqual(gap, 1.9, "Retry-After: 2 ignored")
        # It replaces the computed wait: 2 s, not stretched.
        self.assertLess(gap, 2.0 + 0.5 * TIME_SCALE,
                        "Retry-After: 2 not honoured as it is")

        sup.control(reset=1)
        sup.control(status=503, count=1)
        m2 = self.tag(2)
        cd.putnotif(m2)
        sup.wait_jobs(2, timeout=10)
        reqs = [r for r in sup.requests() if message_of(r) == m2]
        self.assertEqual(len(reqs), 2, reqs)
        gap2 = reqs[1]["time"] - reqs[0]["time"]
        self.assertLess(gap2, 1.0, "retry without Retry-After too late")
        self.assertLess(gap2, gap)

    def test_retry_after_zero_waits_half_the_retry_interval(self):
        # Retry-After replaces the computed wait, but never below
        # RetryInterval/2: "Retry-After: 0" with RetryInterval 2 waits 1 s
        # each time. The backoff's second wait would be 2-4 s: the second
        # gap tells them apart.
        sup, cd = self.start(RetryInterval=2, MaxRetryInterval=8)
        sup.control(status=503, count=2, retry_after="0")
        m = self.tag()
        cd.putnotif(m)
        sup.wait_jobs(1, timeout=15)
        reqs = sorted(sup.requests(), key=lambda r: r["n"])
        self.assertEqual([(message_of(r), r["status"]) for r in reqs],
                         [(m, 503), (m, 503), (m, 200)])
        for a, b in zip(reqs, reqs[1:]):
            gap = b["time"] - a["time"]
            # Measured at the supervisor: scheduling can only shorten it
            # by a few milliseconds, never by a retry's worth.
            self.assertGreaterEqual(gap, 0.95, "retried %.3f s after "
                                    "Retry-After: 0, below RetryInterval/2"
                                    % gap)
            self.assertLess(gap, 1.0 + 0.5 * TIME_SCALE,
                            "Retry-After: 0 did not replace the computed "
                            "wait")

    def test_retry_waits_are_jittered(self):
        # RetryInterval = MaxRetryInterval = 1: every nominal wait is 1 s,
        # and each real wait is drawn between 0.5 and 1 s. Eight waits all
        # in the top 5 % of that range has a chance of 0.05^8: a sender
        # that does not jitter fails here.
        sup, cd = self.start(RetryInterval=1, MaxRetryInterval=1, MaxAge=60)
        sup.control(status=503, count=8)
        m = self.tag()
        cd.putnotif(m)
        sup.wait_jobs(1, timeout=8 * 1.0 + 5)
        reqs = sorted(sup.requests(), key=lambda r: r["n"])
        self.assertEqual([r["status"] for r in reqs], [503] * 8 + [200])
        self.assertEqual({message_of(r) for r in reqs}, {m})
        gaps = [b["time"] - a["time"] for a, b in zip(reqs, reqs[1:])]
        shown = ", ".join("%.3f" % g for g in gaps)
        # Slack on top: the exchange itself, and a slower daemon.
        for g in gaps:
            self.assertGreaterEqual(g, 0.5 - 0.02, "a wait below half its "
                                    "nominal value: %s" % shown)
            self.assertLessEqual(g, 1.0 + 0.15 * TIME_SCALE,
                                 "a wait above its nominal value: %s"
                                 % shown)
        self.assertFalse(all(g >= 0.95 for g in gaps),
                         "every wait at its nominal value: no jitter (%s)"
                         % shown)

    # ---- 2xx answers ----

    def test_200_terminated_job_is_failed(self):
        sup, cd = self.start()
        body = ('{"id":"0123456789abcdef01234567","lifecycle":"terminated",'
                '"state":"error","secret":"%s"}' % ("ab" * 32))
        sup.control(body_mode="custom", body=body)
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        cd.wait_log(r"rejected")
        self.settle()
        self.assertEqual(len(sup.requests()), 1)
        err = lines_at(cd, "error", r'Task "%s".*rejected'
                       % re.escape(TASK))
        self.assertEqual(len(err), 1, cd.plugin_lines())
        self.assertNotIn("ab" * 32, cd.log(), "the job's secret was logged")
        wait_counter(self.dir, TASK, "derive-failed", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-sent"), 0)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 0)

    def test_200_without_job_is_sent_with_warning(self):
        sup, cd = self.start()
        sup.control(body_mode="custom", body='{"ok":"nojobhere"}')
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        cd.wait_log(r"without a job")
        self.settle()
        self.assertEqual(len(sup.requests()), 1)
        warn = lines_at(cd, "warning", r'Task "%s".*without a job'
                        % re.escape(TASK))
        self.assertEqual(len(warn), 1, cd.plugin_lines())
        self.assertNotIn("nojobhere", cd.log(), "a 2xx body was logged")
        wait_counter(self.dir, TASK, "derive-sent", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-failed"), 0)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 0)

    def test_200_job_is_logged_at_info(self):
        sup, cd = self.start()
        cd.putnotif(self.tag())
        jobs = sup.wait_jobs(1)
        info = cd.wait_log(r'Task "%s".*%s' % (re.escape(TASK),
                                               jobs[0]["job_id"]))
        self.assertTrue(all("[info]" in line for line in info), info)
        self.assertNotIn(SECRET, cd.log())

    # ---- log lines ----

    def test_log_lines_prefixed_once(self):
        # Lines about refused, retried, rejected and job-less answers all
        # start with the plugin's prefix, once.
        sup, cd = self.start()
        sup.control(status=403, count=1)
        cd.putnotif(self.tag(1))
        cd.wait_log(r"403")
        sup.control(status=503, count=1)
        cd.putnotif(self.tag(2))
        sup.wait_jobs(1)
        sup.control(body_mode="custom", body='{"ok":1}')
        cd.putnotif(self.tag(3))
        cd.wait_log(r"without a job")
        sup.control(body_mode="custom",
                    body='{"id":"0123456789abcdef01234567",'
                         '"lifecycle":"terminated","state":"error"}')
        cd.putnotif(self.tag(4))
        cd.wait_log(r"rejected")
        self.assertEqual(cd.misprefixed_lines(), [])

    def test_outage_repeat_line(self):
        # A Task failing for longer than the rate-limiter's first interval
        # (10 s): the first failure is logged, the next ones are counted,
        # and the first one after the interval is logged with that count.
        # Every one of these lines carries the prefix once.
        sup, cd = self.start(RetryInterval=0.5, MaxRetryInterval=0.5,
                             MaxAge=60)
        sup.control(status=503, count=-1)
        m = self.tag()
        cd.putnotif(m)
        first = cd.wait_log(r'Task "%s".*not delivered.*retrying'
                            % re.escape(TASK))
        repeat = cd.wait_log(r"more since the last report\)$", timeout=14)
        sup.control(reset=1)
        sup.wait_jobs(1, timeout=5)
        cd.wait_log(r'Task "%s".*delivers again' % re.escape(TASK))
        self.assertEqual(cd.misprefixed_lines(), [])
        self.assertEqual(len(repeat), 1, repeat)
        self.assertIn("[warning]", repeat[0])
        rx = re.compile(r'\] %sTask "%s": .*\(not delivered\): retrying '
                        r'in [0-9.]+ s \((\d+) more since the last report\)$'
                        % (re.escape(PREFIX), re.escape(TASK)))
        match = rx.search(repeat[0])
        self.assertTrue(match, repeat[0])
        # The count: the 503s between the first line's and the repeat
        # line's, that is those less than 10 s after the first (give or
        # take the one at the boundary, timed by another clock).
        skipped = int(match.group(1))
        times = [r["time"] for r in sorted(sup.requests(),
                                           key=lambda r: r["n"])
                 if r["status"] == 503]
        expected = len([t for t in times[1:] if t - times[0] < 10.0])
        self.assertGreaterEqual(skipped, 10, repeat[0])
        self.assertLessEqual(abs(skipped - expected), 1,
                             "%s, but %d 503s in the first 10 s after the "
                             "first" % (repeat[0], expected))
        self.assertNotIn("more since", first[0])

    # ---- ordering ----

    def test_order_kept_across_retry(self):
        # RetryInterval 1: the first job waits 0.5-1 s for its retry, long
        # enough for the others to be queued behind it.
        sup, cd = self.start(RetryInterval=1, MaxRetryInterval=1)
        sup.control(status=503, count=1)
        messages = [self.tag(i) for i in range(3)]
        for m in messages:
            cd.putnotif(m)
        sup.wait_jobs(3, timeout=10)
        self.settle(0.3)
        reqs = sup.requests()
        self.assertEqual([(message_of(r), r["status"]) for r in reqs],
                         [(messages[0], 503), (messages[0], 200),
                          (messages[1], 200), (messages[2], 200)])


if __name__ == "__main__":
    main()
