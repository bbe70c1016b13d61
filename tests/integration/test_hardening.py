# SPDX-License-Identifier: MIT
"""Secrets at the edges and small hardening fixes.

- A supervisor (or a proxy in front of it) that echoes the request path in
  its error message must not leak the secret into the log, not even the
  part of it left before the point where the message is cut short; nor
  may any other long hexadecimal run (a job's own secret) reach the log.
- A URL holding a user name or password is a configuration error that
  never repeats the password.
- Plain http:// to anything but a loopback address, VerifyPeer false and
  VerifyHost false each earn one WARNING per Task at init.
- DryRun keeps its visible cut marker however long the URL is.
- queue_length counts the job in flight.
- SpoolLimit below QueueLimit is said at init.

Every request goes to 127.0.0.1 only: the non-loopback addresses
(192.0.2.10, TEST-NET-1) appear only in configurations that are checked
with `collectd -T` and DryRun, which send nothing.
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import http.server  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402

LOG_LINE_MAX = 1024  # plugin_log's buffer, NUL included
HEX_RUN = re.compile(r"[0-9A-Fa-f]{32,}")
# A documentation address (TEST-NET-1): never contacted by these tests.
FAR = "192.0.2.10"


def new_secret():
    """A random 64-hex secret whose first 8 digits hold a letter, so that
    its prefix cannot be mistaken for a number in the log."""
    while True:
        s = secrets.token_hex(32)
        if not s[:8].isdigit():
            return s


def message_part(line):
    """What the plugin passed to plugin_log: the line after the logfile
    plugin's "[time] [severity] " head."""
    return re.sub(r"^\[[^]]*\] \[\w+\] ", "", line)


class EchoSupervisor:
    """A supervisor behind a path prefix whose error answers echo the
    request path, the way a web framework's default 404 does ("Cannot POST
    /path?query"), in three forms chosen by the first path segment:
    json-* (a {statusCode, message} object), str-* (a JSON string),
    html-* (Express's HTML error page). Paths starting hex404-* or hex500-*
    get an error whose message holds a job's own 64-hex secret (and a
    48-digit upper-case hex run). Listens on 127.0.0.1 only, in a thread
    of the test; records the paths it was asked for."""

    def __init__(self, job_secret):
        self.paths = []
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > 0:
                    self.rfile.read(length)
                with owner.lock:
                    owner.paths.append(self.path)
                status, ctype, body = owner.answer(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass  # it would print the paths, secrets included

        self.job_secret = job_secret
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def answer(self, path):
        first = path.lstrip("/").split("/", 1)[0]
        said = "Cannot POST " + path
        if first.startswith("hex404"):
            return 404, "application/json", json.dumps({
                "statusCode": 404,
                "message": "job %s (secret %s, digest %s) not found"
                % ("0" * 8, self.job_secret, "ABCDEF0123" * 4 + "ABCDEF01")})
        if first.startswith("hex500"):
            return 500, "application/json", json.dumps({
                "statusCode": 500,
                "message": "job secret %s: agent failed" % self.job_secret})
        if first.startswith("str-"):
            return 404, "application/json", json.dumps(said)
        if first.startswith("html-"):
            return 404, "text/html; charset=utf-8", (
                '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset='
                '"utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>%s'
                '</pre>\n</body>\n</html>\n' % said)
        return 404, "application/json", json.dumps(
            {"statusCode": 404, "message": said})

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class HardeningTest(IntegrationTest):

    def echo_supervisor(self, job_secret=None):
        s = EchoSupervisor(job_secret or new_secret())
        self.addCleanup(s.stop)
        return s

    def sub_collectd(self, name, block, **kw):
        """A collectd in its own subdirectory (several configurations in
        one test), not started."""
        workdir = os.path.join(self.dir, name)
        os.makedirs(workdir, exist_ok=True)
        cd = Collectd(workdir, block, **kw)
        self.processes.append(cd)
        return cd

    def assertNoSecretPart(self, text, secret, where):
        """No part of secret (the whole, its first 8 digits, any 12 in a
        row; any case) in text. On failure, says which lines without
        printing them: they hold the secret."""
        parts = {secret[:8].lower()}
        parts.update(secret[i:i + 12].lower()
                     for i in range(0, len(secret) - 11))
        bad = [i + 1 for i, line in enumerate(text.lower().splitlines())
               if any(p in line for p in parts)]
        self.assertEqual(bad, [], "part of a secret in %s, line(s) %s "
                         "(not shown: they hold it)" % (where, bad))

    def warnings_naming(self, log, task):
        return [l for l in log.splitlines() if PREFIX in l and
                "[warning]" in l and ('Task "%s"' % task) in l]

    # ---- a server's message is redacted before it is cut ----

    def test_echoed_path_never_leaks_a_secret_across_the_cut(self):
        secret = new_secret()
        sup = self.echo_supervisor()
        # The secret starts about 25 bytes after the prefix path's start in
        # "Cannot POST /PREFIX/job/secret/SECRET?customer=acme", and about
        # 105 bytes later in the HTML page; the message part of the ERROR
        # line is cut near 200-250 bytes. These lengths put the secret
        # across the cut for any cut point in that range, in every form.
        lengths = (60, 90, 130, 150, 170, 190, 210, 230)
        tasks = []
        for form in ("json", "str", "html"):
            for n in lengths:
                segment = ("%s-" % form + "p" * n)[:n]
                tasks.append(("%s-%d" % (form, n), [
                    'TaskID "%s"' % TASK_ID, 'Secret "%s"' % secret,
                    'URL "%s/%s"' % (sup.url, segment)]))
        block = plugin_block(sup.url, tasks, Customer=CUSTOMER,
                             MaxAttempts=1)
        cd = self.collectd(block)
        cd.putnotif(self.tag())
        for name, _ in tasks:
            cd.wait_log(r'Task "%s": .*refused the job: HTTP 404'
                        % re.escape(name))
        # The scenario is real: each path held the secret, and the server
        # said so back.
        self.assertEqual(len(sup.paths), len(tasks), sup.paths)
        for path in sup.paths:
            self.assertIn("/job/secret/%s?customer=%s" % (secret, CUSTOMER),
                          path)
        refused = lines_at(cd, "error", r"refused the job: HTTP 404")
        self.assertEqual(len(refused), len(tasks))
        self.assertTrue(all("Cannot POST /" in l for l in refused),
                        "the server's message is not in the log")
        self.assertNoSecretPart(cd.log(), secret, "log")
        self.assertNoSecretPart(cd.output(), secret, "collectd's output")

    def test_long_hex_runs_in_a_server_message_never_logged(self):
        job_secret = new_secret()
        sup = self.echo_supervisor(job_secret)
        tasks = [("hex404", task_options(
                      TASK_ID, SECRET, 'URL "%s/hex404"' % sup.url)),
                 ("hex404-bearer", [
                     'TaskID "%s"' % TASK_ID, 'AccessToken "%s"' % TOKEN,
                     'URL "%s/hex404b"' % sup.url]),
                 ("hex500", task_options(
                     TASK_ID, SECRET, 'URL "%s/hex500"' % sup.url))]
        block = plugin_block(sup.url, tasks, Customer=CUSTOMER,
                             MaxAttempts=1, RetryInterval=0.2)
        cd = self.collectd(block)
        cd.putnotif(self.tag())
        cd.wait_log(r'Task "hex404": .*HTTP 404')
        cd.wait_log(r'Task "hex404-bearer": .*HTTP 404')
        cd.wait_log(r'Task "hex500": .*HTTP 500')
        self.assertEqual(len(sup.paths), 3, sup.paths)
        self.assertNoSecretPart(cd.log(), job_secret, "log")
        self.assertNoSecretPart(cd.output(), job_secret, "collectd's output")
        runs = [i + 1 for i, l in enumerate(cd.log().splitlines())
                if HEX_RUN.search(l)]
        self.assertEqual(runs, [], "a run of 32+ hex digits in the log, "
                         "line(s) %s (not shown: a secret)" % runs)
        self.assertIsNone(HEX_RUN.search(cd.output()),
                          "a run of 32+ hex digits in collectd's output")
        # The rest of the message is still there for the operator.
        self.assertTrue(lines_at(cd, "error", r'Task "hex404": .*not found'))

    # ---- URL with credentials ----

    def test_url_with_user_or_password_is_refused(self):
        good = "http://127.0.0.1:%d" % free_port()
        cases = {
            "global": plugin_block("https://user:pa55word@127.0.0.1:1",
                                   [("t", task_options())]),
            "task": plugin_block(good, [("t", task_options(
                TASK_ID, SECRET,
                'URL "https://user:pa55word@127.0.0.1:1"'))]),
            "user-only": plugin_block("https://pa55word@127.0.0.1:1",
                                      [("t", task_options())]),
        }
        for name, block in cases.items():
            with self.subTest(name):
                cd = self.sub_collectd(name, block)
                rc, out, log = cd.test_config()
                # First, so that no message below can show the password.
                self.assertFalse("pa55word" in log,
                                 "the URL's password is in the log")
                self.assertFalse("pa55word" in out,
                                 "the URL's password is in the output")
                self.assertNotEqual(rc, 0, out)
                errors = lines_at(cd, "error", r'option "URL"')
                self.assertEqual(len(errors), 1, cd.plugin_lines())
                if name == "task":
                    self.assertIn('Task "t"', errors[0])

    # ---- warnings at init: plain http://, verification off ----

    def test_plain_http_to_non_loopback_warns_once_per_task(self):
        token_tasks = [("far-token", ['TaskID "%s"' % TASK_ID2,
                                      'AccessToken "%s"' % TOKEN])]
        far = ["far-global"]
        tasks = [("far-global", task_options()),
                 ("far-own", task_options(
                     TASK_ID, SECRET, 'URL "http://%s:8080/api"' % FAR))]
        tasks += token_tasks
        far += ["far-own", "far-token"]
        near = {"lo-127": "http://127.0.0.1:9",
                "lo-127-other": "http://127.3.2.1:9/api",
                "lo-name": "http://localhost:9",
                "lo-v6": "http://[::1]:9",
                "tls-far": "https://%s" % FAR}
        for name, url in near.items():
            tasks.append((name, task_options(TASK_ID, SECRET,
                                             'URL "%s"' % url)))
        block = plugin_block("http://%s" % FAR, tasks, Customer=CUSTOMER,
                             DryRun=True)
        cd = self.collectd(block, start=False)
        rc, out, log = cd.test_config()
        self.assertFalse(TOKEN in log + out, "the token was logged")
        self.assertFalse(SECRET in log + out, "the secret was logged")
        self.assertEqual(rc, 0, out)
        for name in far:
            warned = self.warnings_naming(log, name)
            self.assertEqual(len(warned), 1, (name, cd.plugin_lines()))
            self.assertIn("http://", message_part(warned[0]))
        for name in near:
            self.assertEqual(self.warnings_naming(log, name), [],
                             (name, cd.plugin_lines()))

    def test_verification_off_warns_once_per_task(self):
        tasks = [("tls-a", task_options()),
                 ("tls-b", task_options(
                     TASK_ID2, SECRET2, 'URL "https://127.0.0.1:9/api"'))]
        for option in ("VerifyPeer", "VerifyHost"):
            with self.subTest(option):
                block = plugin_block("https://127.0.0.1:8", tasks,
                                     Customer=CUSTOMER, DryRun=True,
                                     **{option: False})
                cd = self.sub_collectd(option, block)
                rc, out, log = cd.test_config()
                self.assertEqual(rc, 0, out)
                for name, _ in tasks:
                    warned = self.warnings_naming(log, name)
                    self.assertEqual(len(warned), 1,
                                     (name, cd.plugin_lines()))
                    self.assertIn(option, warned[0])
        # Left on (the default), nothing is said.
        block = plugin_block("https://127.0.0.1:8", tasks, Customer=CUSTOMER,
                             DryRun=True)
        cd = self.sub_collectd("default", block)
        rc, out, log = cd.test_config()
        self.assertEqual(rc, 0, out)
        for name, _ in tasks:
            self.assertEqual(self.warnings_naming(log, name), [])

    # ---- DryRun with a very long URL ----

    def test_dry_run_keeps_its_cut_marker_with_a_long_url(self):
        sup = self.supervisor()
        # 250 bytes (collectd keeps 255 of a notification's message): never
        # fits beside such a URL.
        message = ("m" * 9 + "-") * 25
        body = json.dumps({"task": TASK_ID, "task_arguments": [message]},
                          separators=(",", ":"))
        tail = "(cut: %d bytes in all)" % len(body.encode())
        # Where the DryRun line's head (prefix, Task, URL) reaches the end
        # of plugin_log's 1023 bytes, minus the room the cut marker needs:
        # every head length around that point, and a ~1000-byte path.
        fixed = len(PREFIX + 'Task "u0000": DryRun: POST ' + sup.url + "/" +
                    "/job/secret/<secret>?customer=%s " % CUSTOMER)
        edge = LOG_LINE_MAX - 1 - len(" " + tail) - 3
        lengths = sorted(set(range(edge - fixed - 24, edge - fixed + 34)) |
                         {1000})
        tasks = [("u%04d" % n, task_options(
            TASK_ID, SECRET, 'Argument "%{message}"',
            'URL "%s/%s"' % (sup.url, "p" * n))) for n in lengths]
        block = plugin_block(sup.url, tasks, Customer=CUSTOMER, DryRun=True)
        cd = self.collectd(block)
        cd.putnotif(message)
        for name, _ in tasks:
            cd.wait_log(r'Task "%s": DryRun: POST ' % name)
        for name, _ in tasks:
            lines = [l for l in cd.plugin_lines()
                     if 'Task "%s": DryRun: POST ' % name in l]
            self.assertEqual(len(lines), 1, name)
            part = message_part(lines[0])
            self.assertLessEqual(len(part.encode()), LOG_LINE_MAX - 1)
            self.assertTrue(part.startswith(PREFIX), part)
            self.assertTrue(part.endswith(tail),
                            "Task %s: the line does not end with %r: ...%s"
                            % (name, tail, part[-80:]))
            self.assertFalse(SECRET in part, "Task %s: the secret" % name)
        self.assertEqual(sup.requests(), [])

    # ---- queue_length counts the job in flight ----

    def test_queue_length_includes_the_job_in_flight(self):
        sup = self.supervisor()
        block = plugin_block(sup.url, [("inflight", task_options(
            TASK_ID, SECRET, "Timeout 20000"))], Customer=CUSTOMER,
            RetryInterval=0.2, MaxRetryInterval=0.5)
        cd = self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))
        wait_counter(self.dir, "inflight", "queue_length", 0)
        sup.control(hang=-1)
        tag = self.tag()
        cd.putnotif(tag)
        sup.wait_requests(1)
        # The request hangs: the job is neither waiting nor done.
        wait_counter(self.dir, "inflight", "queue_length", 1)
        # Released without an answer, retried, created: nothing left.
        sup.control(hang=0)
        sup.wait_jobs(1)
        wait_counter(self.dir, "inflight", "derive-sent", 1)
        wait_counter(self.dir, "inflight", "queue_length", 0)
        self.assertEqual(message_of(sup.jobs()[0]), tag)

    # ---- SpoolLimit lowers QueueLimit: said at init ----

    def test_spool_limit_below_queue_limit_is_said(self):
        url = "http://127.0.0.1:%d" % free_port()
        cases = {"lowered": (100, 1000, 1), "not-lowered": (100, 50, 0)}
        for name, (spool_limit, queue_limit, expected) in cases.items():
            with self.subTest(name):
                workdir = os.path.join(self.dir, name)
                block = plugin_block(url, [("t", task_options())],
                                     Customer=CUSTOMER,
                                     SpoolDir=os.path.join(workdir, "spool"),
                                     SpoolLimit=spool_limit,
                                     QueueLimit=queue_limit)
                cd = self.sub_collectd(name, block)
                cd.start()
                said = lines_at(cd, "warning", r"QueueLimit.*SpoolLimit|"
                                r"SpoolLimit.*QueueLimit")
                self.assertEqual(len(said), expected, cd.plugin_lines())
                cd.stop()


if __name__ == "__main__":
    main()
