# SPDX-License-Identifier: MIT
"""The plugin's bounds: MaxAge, QueueLimit, Cooldown, and the
queue_length gauge.

Every test runs the real collectd with the built plugin against
tests/fake_supervisor (or against a port where nothing listens yet);
counters are read back through the csv plugin.
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402
import time  # noqa: E402

TASK = "limits-task"


class LimitsTest(IntegrationTest):

    def start(self, url, task_opts=None, **globals_):
        options = {"Customer": CUSTOMER, "RetryInterval": 0.2,
                   "MaxRetryInterval": 0.5, "MaxAge": 30}
        options.update(globals_)
        block = plugin_block(url, [(TASK, task_opts or task_options())],
                             **options)
        return self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))

    def down_url(self):
        """A supervisor URL where nothing listens (yet)."""
        port = free_port()
        return port, "http://127.0.0.1:%d" % port

    # ---- MaxAge ----

    def test_max_age_supervisor_down(self):
        port, url = self.down_url()
        cd = self.start(url, MaxAge=2)
        m = self.tag()
        cd.putnotif(m)
        # Due 2 s after arrival; retries are at most 0.5 s apart.
        lines = cd.wait_log(r"expired", timeout=3.5)
        self.assertTrue(lines_at(cd, "error", r'Task "%s".*expired'
                                 % re.escape(TASK)), lines)
        sup = self.supervisor(port=port)
        pause(1.5)
        self.assertEqual(sup.requests(), [],
                         "the expired job was sent")
        wait_counter(self.dir, TASK, "derive-expired", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-sent"), 0)
        # The line works again for a fresh job, and only that one goes.
        m2 = self.tag(2)
        cd.putnotif(m2)
        sup.wait_jobs(1)
        pause(0.5)
        self.assertEqual([message_of(r) for r in sup.requests()], [m2])

    def test_max_age_with_503s(self):
        sup = self.supervisor()
        cd = self.start(sup.url, MaxAge=2)
        sup.control(status=503, count=-1)
        t_sent = time.time()
        cd.putnotif(self.tag())
        cd.wait_log(r"expired", timeout=3.5)
        count = len(sup.requests())
        sup.control(reset=1)
        pause(1.5)
        reqs = sup.requests()
        self.assertGreater(len(reqs), 1, reqs)
        self.assertEqual(len(reqs), count, "a request after expiry")
        for r in reqs:
            self.assertLess(r["time"], t_sent + 2.0 + 0.2,
                            "a request past MaxAge")
        self.assertEqual(sup.jobs(), [])
        wait_counter(self.dir, TASK, "derive-expired", 1)
        self.assertTrue(lines_at(cd, "error", r'Task "%s".*expired'
                                 % re.escape(TASK)), cd.plugin_lines())

    def test_max_age_counts_from_arrival(self):
        # A notification whose own time is an hour old is fresh for the
        # plugin: MaxAge runs from its arrival.
        sup = self.supervisor()
        cd = self.start(sup.url, MaxAge=2)
        m = self.tag()
        cd.putnotif(m, time_=int(time.time()) - 3600)
        sup.wait_jobs(1)
        self.assertEqual([message_of(r) for r in sup.jobs()], [m])
        wait_counter(self.dir, TASK, "derive-sent", 1)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-expired"), 0)

    # ---- QueueLimit ----

    def test_queue_limit_supervisor_down(self):
        # RetryInterval 2: after the first refusal the job at the head
        # waits 1-2 s for its retry, so all ten are waiting, none in flight.
        port, url = self.down_url()
        cd = self.start(url, QueueLimit=3, RetryInterval=2,
                        MaxRetryInterval=2)
        messages = [self.tag(i) for i in range(10)]
        cd.putnotif(messages[0])
        cd.wait_log(r"not delivered", timeout=5)
        for m in messages[1:]:
            cd.putnotif(m)
        warn = cd.wait_log(r"queue full")
        self.assertTrue(lines_at(cd, "warning", r'Task "%s".*queue full'
                                 % re.escape(TASK)), warn)
        wait_counter(self.dir, TASK, "derive-dropped", 7)
        wait_counter(self.dir, TASK, "queue_length", 3)
        sup = self.supervisor(port=port)
        sup.wait_jobs(3, timeout=10)
        pause(1.0)
        self.assertEqual([message_of(r) for r in sup.requests()],
                         messages[7:], "not the newest three, in order")
        wait_counter(self.dir, TASK, "derive-sent", 3)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-dropped"), 7)
        wait_counter(self.dir, TASK, "queue_length", 0)

    def test_queue_limit_supervisor_hung(self):
        # The first job hangs in flight: it is not waiting, so the other
        # nine compete for the three places.
        sup = self.supervisor()
        cd = self.start(sup.url, QueueLimit=3, Timeout=20000)
        sup.control(hang=-1)
        messages = [self.tag(i) for i in range(10)]
        cd.putnotif(messages[0])
        sup.wait_requests(1)
        for m in messages[1:]:
            cd.putnotif(m)
        warn = cd.wait_log(r"queue full")
        self.assertTrue(lines_at(cd, "warning", r'Task "%s".*queue full'
                                 % re.escape(TASK)), warn)
        wait_counter(self.dir, TASK, "derive-dropped", 6)
        # Three waiting, and the one in flight.
        wait_counter(self.dir, TASK, "queue_length", 4)
        self.assertEqual(len(sup.requests()), 1)
        sup.control(hang=0)  # the hung request is closed, unanswered
        sup.wait_jobs(4, timeout=10)
        pause(0.5)
        self.assertEqual([message_of(r) for r in sup.jobs()],
                         [messages[0]] + messages[7:])
        wait_counter(self.dir, TASK, "derive-sent", 4)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-dropped"), 6)

    def test_log_lines_prefixed_once(self):
        # The queue-full and expiry lines start with the plugin's prefix,
        # once.
        port, url = self.down_url()
        cd = self.start(url, QueueLimit=1, MaxAge=1)
        cd.putnotif(self.tag(1))
        cd.putnotif(self.tag(2))
        cd.putnotif(self.tag(3))
        cd.wait_log(r"queue full")
        cd.wait_log(r"expired", timeout=5)
        self.assertEqual(cd.misprefixed_lines(), [])

    # ---- Cooldown ----

    def test_cooldown(self):
        # The window, and the margins around it, grow with the harness's
        # time scale: under valgrind a PUTNOTIF takes longer, and m[2] must
        # still arrive inside the window, m[5] after it.
        window = 2 * TIME_SCALE
        sup = self.supervisor()
        cd = self.start(sup.url, task_opts=task_options(
            TASK_ID, SECRET, 'Severity "FAILURE"', 'Severity "WARNING"',
            "Cooldown %g" % window))
        ident = {"host": "web1", "plugin": "processes",
                 "plugin_instance": "nginx", "type": "ps_count"}
        m = [self.tag(i) for i in range(6)]
        t0 = time.monotonic()  # m[0]'s window opens after this
        cd.putnotif(m[0], **ident)
        t1 = time.monotonic()  # ... and before this
        cd.putnotif(m[1], **ident)  # same identity at once: suppressed
        time.sleep(window / 2)
        cd.putnotif(m[2], **ident)  # still within the window: suppressed
        # Else the machine is too slow for m[2] to prove anything.
        self.assertLess(time.monotonic(), t0 + window,
                        "m[2] arrived after the window")
        cd.putnotif(m[3], severity="warning", **ident)  # other severity
        other = dict(ident, plugin_instance="apache")
        cd.putnotif(m[4], **other)  # other identity
        wait_counter(self.dir, TASK, "derive-suppressed", 2)
        # Past the window of m[0]; had m[1] or m[2] extended it, this one
        # would be suppressed too.
        time.sleep(max(0.0, t1 + window + 0.3 * TIME_SCALE -
                       time.monotonic()))
        cd.putnotif(m[5], **ident)
        sup.wait_jobs(4, timeout=10)
        pause(0.5)
        self.assertEqual([message_of(r) for r in sup.jobs()],
                         [m[0], m[3], m[4], m[5]])
        wait_counter(self.dir, TASK, "derive-suppressed", 2)
        wait_counter(self.dir, TASK, "derive-sent", 4)

    def test_cooldown_one_suppressed(self):
        sup = self.supervisor()
        cd = self.start(sup.url, task_opts=task_options(
            TASK_ID, SECRET, "Cooldown 2"))
        m = [self.tag(i) for i in range(2)]
        cd.putnotif(m[0], host="h", plugin="p", type="t")
        cd.putnotif(m[1], host="h", plugin="p", type="t")
        sup.wait_jobs(1)
        wait_counter(self.dir, TASK, "derive-suppressed", 1)
        pause(0.5)
        self.assertEqual([message_of(r) for r in sup.requests()], [m[0]])

    # ---- queue_length ----

    def test_queue_length_while_down(self):
        port, url = self.down_url()
        cd = self.start(url)
        messages = [self.tag(i) for i in range(4)]
        for m in messages:
            cd.putnotif(m)
        wait_counter(self.dir, TASK, "queue_length", 4)
        sup = self.supervisor(port=port)
        sup.wait_jobs(4, timeout=10)
        wait_counter(self.dir, TASK, "queue_length", 0)
        self.assertEqual([message_of(r) for r in sup.jobs()], messages)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-dropped"), 0)


if __name__ == "__main__":
    main()
