"""Runtime behaviour (SPEC §3): never blocking collectd, bounded shutdown,
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
        # Still stuck: one request, hung; the rest waiting behind it.
        self.assertEqual(len(sup.requests()), 1)
        self.assertEqual(sup.jobs(), [])
        wait_counter(self.dir, TASK, "queue_length", 20)

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
        time.sleep(0.5)
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
                     "expired"):
            self.assertTrue(csv_rows(self.dir, TASK, "derive-" + name),
                            "no derive-%s values" % name)
            self.assertEqual(csv_latest(self.dir, TASK, "derive-" + name), 0)
        self.assertTrue(csv_rows(self.dir, TASK, "queue_length"))
        wait_counter(self.dir, TASK, "queue_length", 0)

    # ---- notifications during shutdown ----

    def test_notifications_during_shutdown_are_ignored(self):
        # A hung request keeps the plugin's shutdown busy for Timeout
        # (2 s); a unixsock client connected before SIGTERM keeps
        # sending PUTNOTIFs through it, after the plugin's shutdown
        # callback has started.
        sup = self.supervisor()
        cd = self.start(sup.url, Timeout=2000)
        sup.control(hang=-1)
        cd.putnotif(self.tag())
        sup.wait_requests(1)
        client = UnixsockClient(cd.sock, timeout=10)
        replies = []
        stop = threading.Event()

        def hammer():
            i = 0
            try:
                while not stop.is_set():
                    reply = client.putnotif("late-%d" % i)
                    replies.append((time.monotonic(), reply))
                    if reply is None:
                        return
                    i += 1
                    time.sleep(0.02)
            except OSError as e:
                replies.append((time.monotonic(), repr(e)))
        t = threading.Thread(target=hammer)
        t.start()
        try:
            time.sleep(0.2)
            t_term = time.monotonic()
            elapsed = cd.stop()
        finally:
            stop.set()
            t.join(15)
            client.close()
        self.assertFalse(t.is_alive())
        self.assertEqual(cd.returncode, 0, cd.output())
        self.assertLess(elapsed, 4.5)
        self.assertIn("Exiting normally", cd.log())
        late = [r for when, r in replies
                if when > t_term + 0.5 and r and r.startswith("0 ")]
        self.assertTrue(late, "no PUTNOTIF went through during the "
                        "shutdown; the test proves nothing: %s"
                        % replies[-5:])
        # Nothing was delivered (every request hung), and nothing sent
        # after the shutdown began reached the supervisor.
        late_sent = [r for r in sup.requests()
                     if (message_of(r) or "").startswith("late-")]
        self.assertEqual(late_sent, [])


if __name__ == "__main__":
    main()
