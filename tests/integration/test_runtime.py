# SPDX-License-Identifier: MIT
"""Runtime behaviour: never blocking collectd, bounded shutdown,
thread safety under a burst, self-metrics through a write plugin, and
notifications during shutdown.

Every test runs the real collectd with the built plugin against
tests/fake_supervisor; counters are read back through the csv plugin.
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

TASK = "runtime-task"


class UnixsockClient:
    """One persistent unixsock connection: several commands on it."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def command(self, line):
        """Sends one line; returns the reply line, or None on EOF."""
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        reply, _, self.buf = self.buf.partition(b"\n")
        return reply.decode(errors="replace")

    def putnotif(self, message):
        return self.command("PUTNOTIF severity=failure time=%d message=%s"
                            % (int(time.time()), pn_quote(message)))

    def close(self):
        self.sock.close()


class RuntimeTest(IntegrationTest):

    def start(self, url, tasks=None, **globals_):
        options = {"Customer": CUSTOMER, "RetryInterval": 0.2,
                   "MaxRetryInterval": 1, "MaxAge": 30}
        options.update(globals_)
        block = plugin_block(url, tasks or [(TASK, task_options())],
                             **options)
        return self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))

    # ---- never block collectd ----

    def test_hung_supervisor_does_not_slow_putnotif(self):
        sup = self.supervisor()
        cd = self.start(sup.url, Timeout=20000)
        sup.control(hang=-1)
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        times = [cd.putnotif(self.tag(i)) for i in range(1, 21)]
        self.assertLess(max(times), 0.5, times)
        # Still stuck: one request, hung; the rest waiting behind it. The
        # queue's length counts the one in flight too.
        self.assertEqual(len(sup.requests()), 1)
        self.assertEqual(sup.jobs(), [])
        wait_counter(self.dir, TASK, "queue_length", 21)

    # ---- shutdown ----

    def test_shutdown_with_hung_request(self):
        sup = self.supervisor()
        tasks = [("alpha", task_options()),
                 ("beta", task_options(TASK_ID2, SECRET2)),
                 ("gamma", task_options(TASK_ID, SECRET,
                                        'Plugin "matches-nothing"'))]
        cd = self.start(sup.url, tasks=tasks, Timeout=2000)
        sup.control(hang=-1)
        for i in range(3):
            cd.putnotif(self.tag(i))
        sup.wait_requests(1)
        elapsed = cd.stop()
        self.assertLess(elapsed, 4.5, "shutdown took too long")
        self.assertEqual(cd.returncode, 0, cd.output())
        log = cd.log()
        self.assertIn("Exiting normally", log)
        left = [line for line in log.splitlines()
                if PREFIX in line and "shutting down with" in line]
        self.assertEqual(len(left), 2, left)
        for task in ("alpha", "beta"):
            mine = [line for line in left if '"%s"' % task in line]
            self.assertEqual(len(mine), 1, left)
            self.assertIn("[warning]", mine[0])
            self.assertIn("shutting down with 3 undelivered job(s)",
                          mine[0])
        self.assertFalse([line for line in left if "gamma" in line])
        self.assertEqual(sup.jobs(), [])

    def test_shutdown_aborts_request_in_flight(self):
        # The Task waits up to 20 s for an answer, but the plugin's
        # Timeout (2 s) bounds the shutdown: the request in flight is
        # aborted at that deadline and counted with the leftovers.
        sup = self.supervisor()
        cd = self.start(sup.url, tasks=[(TASK, task_options(
            TASK_ID, SECRET, "Timeout 20000"))], Timeout=2000)
        sup.control(hang=-1)
        cd.putnotif(self.tag(0))
        sup.wait_requests(1)
        cd.putnotif(self.tag(1))
        elapsed = cd.stop()
        self.assertLess(elapsed, 4.5, "shutdown took too long")
        self.assertEqual(cd.returncode, 0, cd.output())
        left = [line for line in cd.plugin_lines()
                if "shutting down with" in line]
        self.assertEqual(len(left), 1, left)
        self.assertIn('Task "%s": shutting down with 2 undelivered job(s)'
                      % TASK, left[0])
        self.assertEqual(len(sup.requests()), 1)

    def test_shutdown_grace_capped_at_5s(self):
        sup = self.supervisor()
        cd = self.start(sup.url, Timeout=30000)
        sup.control(hang=-1)
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        elapsed = cd.stop()
        self.assertLess(elapsed, 5 + 1 + 1.0, "shutdown not capped at 5 s")
        self.assertEqual(cd.returncode, 0, cd.output())
        left = [line for line in cd.plugin_lines()
                if "shutting down with" in line]
        self.assertEqual(len(left), 1, left)
        self.assertIn("with 1 undelivered job(s)", left[0])

    def test_shutdown_with_empty_queue_is_quick(self):
        sup = self.supervisor()
        cd = self.start(sup.url, Timeout=5000)
        cd.putnotif(self.tag())
        sup.wait_jobs(1)
        cd.wait_log(r"created")
        elapsed = cd.stop()
        self.assertLess(elapsed, 2.0)
        self.assertEqual(cd.returncode, 0, cd.output())
        self.assertIn("Exiting normally", cd.log())
        self.assertFalse([line for line in cd.plugin_lines()
                          if "shutting down with" in line])

    # ---- thread safety ----

    def test_burst_from_parallel_clients(self):
        sup = self.supervisor()
        cd = self.start(sup.url, QueueLimit=1000)
        clients, per_client = 4, 75
        errors = []

        def client(k):
            try:
                c = UnixsockClient(cd.sock)
                try:
                    for i in range(per_client):
                        reply = c.putnotif("burst-%d-%d" % (k, i))
                        if reply is None or not reply.startswith("0 "):
                            errors.append(reply)
                finally:
                    c.close()
            except Exception as e:  # reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(k,))
                   for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])
        total = clients * per_client
        sup.wait_jobs(total, timeout=30)
        pause(0.5)
        counts = {}
        for r in sup.jobs():
            counts[message_of(r)] = counts.get(message_of(r), 0) + 1
        expected = {"burst-%d-%d" % (k, i): 1 for k in range(clients)
                    for i in range(per_client)}
        self.assertEqual(counts, expected)
        self.assertEqual(len(sup.requests()), total)
        wait_counter(self.dir, TASK, "derive-sent", total)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-dropped"), 0)

    # ---- self-metrics ----

    def test_self_metrics_reach_csv(self):
        sup = self.supervisor()
        cd = self.start(sup.url)
        for i in range(3):
            cd.putnotif(self.tag(i))
        sup.wait_jobs(3)
        wait_counter(self.dir, TASK, "derive-sent", 3)
        for name in ("failed", "retried", "dropped", "suppressed",
                     "expired", "ignored_okay"):
            self.assertTrue(csv_rows(self.dir, TASK, "derive-" + name),
                            "no derive-%s values" % name)
            self.assertEqual(csv_latest(self.dir, TASK, "derive-" + name), 0)
        self.assertTrue(csv_rows(self.dir, TASK, "queue_length"))
        wait_counter(self.dir, TASK, "queue_length", 0)

    # ---- notifications during shutdown ----

    def test_notifications_during_shutdown_are_ignored(self):
        # collectd's shutdown runs the shutdown callbacks in the order the
        # plugins were loaded: unixsock's (loaded first here) closes and
        # unlinks the listening socket, then this plugin's starts at once.
        # unixsock's client threads go on, so a client connected before
        # SIGTERM can still PUTNOTIF while this plugin shuts down. The
        # socket file disappearing is thus the moment after which every
        # notification must be ignored.
        #
        # The supervisor answers (slowly: 0.2 s a job) and a backlog of ten
        # jobs keeps the sender delivering for about 2 s into the shutdown
        # (it goes on for up to min(Timeout, 5 s)): a notification accepted
        # then would be queued behind the backlog and reach the supervisor.
        sup = self.supervisor()
        cd = self.start(sup.url, Timeout=5000)
        sup.control(delay_ms=200)
        client = UnixsockClient(cd.sock, timeout=10 * TIME_SCALE)
        backlog = [self.tag(i) for i in range(10)]
        for m in backlog:
            reply = client.putnotif(m)
            self.assertTrue(reply and reply.startswith("0 "), reply)
        sent = []  # (monotonic time before sending, message, reply)
        gone = []  # when the socket file was first seen gone
        stop = threading.Event()

        def hammer():
            # Only once the plugin's shutdown callback has surely started
            # (0.2 s after the socket went away: what separates the two is
            # a few function calls, even under valgrind): every one of
            # these must be ignored, and none can hide behind one that was
            # rightly accepted before. For 0.8 s, well within the backlog's
            # delivery: dispatching while collectd tears its callbacks down
            # at exit is a race of collectd's own.
            while not stop.is_set() and os.path.exists(cd.sock):
                time.sleep(0.005)
            if stop.is_set():
                return
            gone.append(time.monotonic())
            time.sleep(0.2)
            i = 0
            try:
                while not stop.is_set() and \
                        time.monotonic() < gone[0] + 1.0:
                    m = "late-%d-%s" % (i, self._testMethodName)
                    t = time.monotonic()
                    reply = client.putnotif(m)
                    sent.append((t, m, reply))
                    if reply is None:
                        return
                    i += 1
                    time.sleep(0.02)
            except OSError as e:
                sent.append((time.monotonic(), None, repr(e)))
        t = threading.Thread(target=hammer)
        t.start()
        try:
            elapsed = cd.stop()
        finally:
            stop.set()
            t.join(15 * TIME_SCALE)
            client.close()
        self.assertFalse(t.is_alive())
        self.assertEqual(cd.returncode, 0, cd.output())
        # min(Timeout, 5 s) + 1 s, and collectd's own exit.
        self.assertLess(elapsed, 6.5)
        self.assertIn("Exiting normally", cd.log())
        self.assertTrue(gone, "the socket file never went away")
        taken = [(when, m) for when, m, reply in sent
                 if reply and reply.startswith("0 ")]
        late = [m for _, m in taken]
        self.assertGreaterEqual(len(late), 5, "too few PUTNOTIFs went "
                                "through during the shutdown; the test "
                                "proves nothing: %s" % sent[-5:])
        # The sender was still at work after the first of them arrived:
        # it would have been sent, had it been accepted. (The supervisor
        # records wall-clock times.)
        first_wall = time.time() - (time.monotonic() - taken[0][0])
        self.assertTrue([r for r in sup.requests()
                         if message_of(r) in backlog and
                         r["time"] > first_wall + 0.2],
                        "the backlog was delivered before the late "
                        "notifications came: the test proves nothing")
        late_sent = [message_of(r) for r in sup.requests()
                     if message_of(r) in late]
        self.assertEqual(late_sent, [], "notifications that arrived once "
                         "this plugin's shutdown had started were sent")
        # The backlog itself went out normally during the shutdown.
        self.assertEqual(sorted(message_of(r) for r in sup.jobs()
                                if message_of(r) in backlog),
                         sorted(backlog))


if __name__ == "__main__":
    main()
