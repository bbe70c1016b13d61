# SPDX-License-Identifier: MIT
"""Through a proxy, only the writing of the POST itself counts as the
supervisor seeing the job: a proxy that refuses the tunnel (CONNECT answered
502 or 503) means "not delivered", spends no attempt, and the job waits
until the tunnel opens; a 407 (proxy authentication required) is a
permanent failure, logged as a proxy configuration problem.

A real CONNECT proxy (Python, threads, on 127.0.0.1) runs in front of
tests/fake_supervisor serving HTTPS with a certificate made for the test;
the plugin verifies it (CACert, VerifyPeer and VerifyHost on).
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import http.client  # noqa: E402
import ssl  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

TASK = "proxy-task"

# Fast retries so that a test spends seconds, not minutes, on backoff.
FAST = {"RetryInterval": 0.2, "MaxRetryInterval": 0.5, "MaxAge": 60}

# libcurl reads these from collectd's environment; no_proxy could even
# send the requests around the test's proxy.
PROXY_ENV = ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
             "ALL_PROXY", "no_proxy", "NO_PROXY")


def make_certificate(workdir):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key)
    paths."""
    cert = os.path.join(workdir, "cert.pem")
    key = os.path.join(workdir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
         cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=30 * TIME_SCALE)
    return cert, key


class ConnectProxy:
    """An HTTP proxy that only knows CONNECT, on 127.0.0.1. mode "refuse"
    answers every CONNECT 502 and 503 in turn, "auth" answers 407, "tunnel"
    relays to the target (127.0.0.1 or localhost only), "hangup" answers
    200 and closes the connection at once. Every socket has a
    timeout and every loop checks for stop(), which closes everything and
    joins the threads (bounded)."""

    def __init__(self, mode):
        self.mode = mode
        self.lock = threading.Lock()
        self.connects = []  # (target, status answered)
        self.heads = []  # each CONNECT request's head, as received
        self.stopping = threading.Event()
        self.sockets = set()
        self.threads = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port

    def start(self):
        self.spawn(self.accept_loop)
        return self

    def spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def answered(self, status=None):
        """How many CONNECTs were answered (with status, if given)."""
        with self.lock:
            return len([c for c in self.connects
                        if status is None or c[1] == status])

    def accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return  # closed by stop()
            conn.settimeout(10 * TIME_SCALE)
            with self.lock:
                self.sockets.add(conn)
            self.spawn(self.handle, conn)

    def handle(self, conn):
        upstream = None
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = (head.split(b"\r\n")[0].decode("latin-1")
                              .split(" ") + ["", ""])[:2]
            host = target.rpartition(":")[0]
            with self.lock:
                mode = self.mode
                if method != "CONNECT" or host not in ("127.0.0.1",
                                                       "localhost"):
                    status = 400
                elif mode == "refuse":
                    status = 502 if len(self.connects) % 2 == 0 else 503
                elif mode == "auth":
                    status = 407
                else:
                    status = 200
                self.connects.append((target, status))
                self.heads.append(head.decode("latin-1"))
            if status != 200:
                extra = ('Proxy-Authenticate: Basic realm="test"\r\n'
                         if status == 407 else "")
                conn.sendall(("HTTP/1.1 %d Refused\r\n%sContent-Length: 0"
                              "\r\nConnection: close\r\n\r\n"
                              % (status, extra)).encode())
                return
            upstream = socket.create_connection(
                ("127.0.0.1", int(target.rpartition(":")[2])),
                5 * TIME_SCALE)
            with self.lock:
                self.sockets.add(upstream)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if mode != "hangup":
                self.relay(conn, upstream)
        except OSError:
            pass
        finally:
            for s in (conn, upstream):
                if s is not None:
                    s.close()

    def relay(self, a, b):
        peer = {a: b, b: a}
        while not self.stopping.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.1)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                peer[s].sendall(data)

    def stop(self):
        self.stopping.set()
        self.listener.close()
        with self.lock:
            sockets, threads = list(self.sockets), list(self.threads)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(5)


class ProxyTest(IntegrationTest):

    def setUp(self):
        super().setUp()
        saved = {k: os.environ.pop(k) for k in PROXY_ENV if k in os.environ}
        self.addCleanup(os.environ.update, saved)
        self.cert, key = make_certificate(self.dir)
        self.sup = Supervisor(self.dir, scheme="https",
                              extra_args=["--tls-cert", self.cert,
                                          "--tls-key", key])
        self.processes.append(self.sup)
        self.sup.start()

    def start(self, mode, **globals_):
        self.proxy = ConnectProxy(mode)
        self.processes.append(self.proxy)
        self.proxy.start()
        options = dict(FAST, Customer=CUSTOMER, Proxy=self.proxy.url,
                       CACert=self.cert, VerifyPeer=True, VerifyHost=True)
        options.update(globals_)
        block = plugin_block(self.sup.url, [(TASK, task_options())],
                             **options)
        return self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))

    def test_job_through_the_tunnel(self):
        cd = self.start("tunnel", MaxAttempts=1)
        message = self.tag()
        cd.putnotif(message)
        jobs = self.sup.wait_jobs(1)
        self.assertEqual([message_of(r) for r in jobs], [message])
        cd.wait_log(r'Task "%s": job \S+ created' % re.escape(TASK))
        target = "127.0.0.1:%d" % self.sup.port
        self.assertEqual(self.proxy.connects, [(target, 200)])
        # The proxy, too, is told who asks.
        self.assertRegex(self.proxy.heads[0],
                         r"\r\nUser-Agent: collectd-notify_theeye/[^\r]+\r\n")
        # The supervisor's own headers stay inside the tunnel.
        self.assertNotIn("application/json", self.proxy.heads[0])
        wait_counter(self.dir, TASK, "derive-sent", 1)

    def control(self, **params):
        """The fake supervisor's /_control, over its TLS."""
        context = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.sup.port,
                                           timeout=5 * TIME_SCALE,
                                           context=context)
        try:
            conn.request("POST", "/_control?" + "&".join(
                "%s=%s" % kv for kv in params.items()))
            self.assertEqual(conn.getresponse().status, 200)
        finally:
            conn.close()

    def test_proxy_answer_on_a_reconnection_is_not_the_supervisors(self):
        # The second job goes out on the kept-alive tunnel, which the
        # supervisor closes without an answer; its next try needs a new
        # tunnel, whose CONNECT the proxy answers 200 before hanging up.
        # That 200 is the proxy's: the job was never answered and must be
        # tried again, not counted sent.
        cd = self.start("tunnel", MaxAttempts=5)
        first, second = self.tag(1), self.tag(2)
        cd.putnotif(first)
        self.sup.wait_jobs(1)
        self.control(close=1)
        self.proxy.set_mode("hangup")
        cd.putnotif(second)
        wait_for(lambda: self.proxy.answered() >= 2, 10,
                 what="the reconnection's CONNECT")
        self.proxy.set_mode("tunnel")
        jobs = self.sup.wait_jobs(2, timeout=15)
        self.assertEqual([message_of(r) for r in jobs], [first, second])
        self.assertFalse(lines_at(cd, "warning", r"without a job"),
                         cd.plugin_lines())
        self.assertTrue(lines_at(cd, "warning", r"maybe delivered"),
                        cd.plugin_lines())

    def test_refused_tunnel_loses_nothing(self):
        # MaxAttempts 1: a plugin that spent an attempt on a refused tunnel
        # would give every job up at its first refusal.
        cd = self.start("refuse", MaxAttempts=1)
        messages = [self.tag(i) for i in range(5)]
        for m in messages:
            cd.putnotif(m)
        # Several refusals, 502 and 503, while all five jobs wait.
        wait_for(lambda: self.proxy.answered() >= 4, 15,
                 what="four refused CONNECTs")
        self.proxy.set_mode("tunnel")
        # Either every job arrives, or the plugin gave some up: no need to
        # wait out the timeout then.
        wait_for(lambda: len(self.sup.jobs()) >= 5 or
                 lines_at(cd, "error", r"gave up"), 20,
                 what="five jobs at the supervisor")
        self.assertFalse(lines_at(cd, "error", r"gave up"),
                         cd.plugin_lines())
        wait_counter(self.dir, TASK, "derive-sent", 5)
        self.assertGreaterEqual(self.proxy.answered(502), 2)
        self.assertGreaterEqual(self.proxy.answered(503), 2)
        created = {}
        for r in self.sup.requests():
            created[message_of(r)] = created.get(message_of(r), 0) + 1
        self.assertEqual(created, {m: 1 for m in messages},
                         "each job exactly once at the supervisor")
        self.assertEqual(len(self.sup.requests()), 5)
        self.assertTrue(lines_at(cd, "warning", r"not delivered"),
                        cd.plugin_lines())
        self.assertEqual(csv_latest(self.dir, TASK, "derive-failed"), 0)
        self.assertGreaterEqual(csv_latest(self.dir, TASK, "derive-retried"),
                                4)

    def test_proxy_authentication_required_is_permanent(self):
        cd = self.start("auth", MaxAttempts=5)
        first, second = self.tag(1), self.tag(2)
        cd.putnotif(first)
        lines = cd.wait_log(r"407")
        cd.putnotif(second)
        # Jobs leave in order: the second job's CONNECT comes after the
        # first job is done with. One CONNECT each: nothing was retried.
        wait_for(lambda: self.proxy.answered() >= 2, 10,
                 what="the second job's CONNECT")
        wait_counter(self.dir, TASK, "derive-failed", 2)
        self.assertEqual(self.proxy.answered(), 2, self.proxy.connects)
        self.assertEqual(self.proxy.answered(407), 2)
        self.assertEqual(csv_latest(self.dir, TASK, "derive-retried"), 0)
        self.assertEqual(self.sup.requests(), [])
        errors = lines_at(cd, "error", r'Task "%s".*proxy.*authentication'
                          r'.*407' % re.escape(TASK))
        self.assertTrue(errors, "no ERROR line naming the proxy: %s" % lines)
        self.assertFalse(lines_at(cd, "error", r"gave up"))


if __name__ == "__main__":
    main()
