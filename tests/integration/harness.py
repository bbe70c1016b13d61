# SPDX-License-Identifier: MIT
"""Integration test harness: the real collectd daemon with the freshly built
plugin, fed real notifications (unixsock PUTNOTIF, the threshold plugin),
sending to tests/fake_supervisor on 127.0.0.1.

Every process is started here and stopped here, by its PID. Every wait is
bounded in time.
"""

import glob
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SRCDIR = os.environ.get("NT_SRCDIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("NT_BUILDDIR", SRCDIR)
PLUGIN_DIR = os.environ.get("NT_PLUGIN_DIR", os.path.join(BUILDDIR, ".libs"))
FAKE_SUPERVISOR = os.environ.get(
    "NT_FAKE_SUPERVISOR", os.path.join(BUILDDIR, "tests", "fake_supervisor"))
COLLECTD = os.environ.get("NT_COLLECTD") or shutil.which(
    "collectd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

TASK_ID = "5f0c1a2b3c4d5e6f7a8b9c0d"
SECRET = "0123456789abcdef" * 4
TASK_ID2 = "aaaaaaaaaaaaaaaaaaaaaaa1"
SECRET2 = "fedcba9876543210" * 4
TOKEN = "tok-3f2a1b0c9d8e7f6a5b4c"
CUSTOMER = "acme"
PREFIX = "notify_theeye plugin: "

# `make check-valgrind` (tests/sanitize.am) sets NT_VALGRIND=1: every
# collectd (start() and test_config()) then runs under valgrind memcheck, and
# stop() / test_config() fail the test on any memcheck error or definite leak
# in valgrind's log. NT_TIME_SCALE (default 1, or 10 under valgrind)
# multiplies the harness's own bounds on waiting (wait_for, start, stop,
# unixsock replies) so that a slower daemon gets there in time; it never
# changes a figure a test asserts.
VALGRIND = os.environ.get("NT_VALGRIND", "") not in ("", "0")
TIME_SCALE = float(os.environ.get("NT_TIME_SCALE") or (10 if VALGRIND else 1))
VALGRIND_SUPP = os.path.join(SRCDIR, "tests", "valgrind.supp")
VALGRIND_ERROR_EXIT = 97
# Tests not to run in such a mode ("Class.test_name ..."): make
# check-valgrind names there the few whose figures are timing (they are
# reported as skipped, never weakened).
SKIP_TESTS = os.environ.get("NT_SKIP_TESTS", "").split()


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate until it returns a true value; fails after timeout
    (times TIME_SCALE)."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def pause(seconds):
    """Sleeps seconds times TIME_SCALE: the time left for something that
    must not happen (a retry, a request after expiry) to show up before a
    test asserts that it did not."""
    time.sleep(seconds * TIME_SCALE)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Supervisor:
    """tests/fake_supervisor: records every request, faults on demand."""

    def __init__(self, workdir, tasks=((TASK_ID, SECRET, 0),
                                       (TASK_ID2, SECRET2, 0)),
                 customers=(CUSTOMER,), tokens=(TOKEN,), port=0,
                 extra_args=(), scheme="http"):
        """extra_args: more command-line arguments for fake_supervisor
        (--control QUERY, --tls-cert FILE, ...); scheme: "https" with
        --tls-cert and --tls-key."""
        self.workdir = workdir
        self.tasks = tasks
        self.customers = customers
        self.tokens = tokens
        self.port = port
        self.extra_args = list(extra_args)
        self.scheme = scheme
        self.log_path = os.path.join(workdir, "supervisor.jsonl")
        self.proc = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def start(self):
        port_file = os.path.join(self.workdir, "supervisor.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [FAKE_SUPERVISOR, "--port", str(self.port), "--port-file",
                port_file, "--log", self.log_path, "--quiet"]
        for task_id, secret, nargs in self.tasks:
            args += ["--task", "%s:%s:%d" % (task_id, secret, nargs)]
        for c in self.customers:
            args += ["--customer", c]
        for t in self.tokens:
            args += ["--token", t]
        args += self.extra_args
        self.out = open(os.path.join(self.workdir, "supervisor.out"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.out,
                                     stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("fake_supervisor exited with %s"
                                     % self.proc.returncode)
            return os.path.exists(port_file)
        wait_for(ready, 10, what="fake_supervisor to listen")
        with open(port_file) as f:
            self.port = int(f.read().strip())
        return self

    def stop(self):
        """Stops it (SIGTERM, then SIGKILL); the port can be reused."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.out.close()

    def control(self, **params):
        """Sets faults: status=503, count=3, retry_after=..., hang=1, ..."""
        query = "&".join("%s=%s" % (k, quote(str(v)))
                         for k, v in params.items())
        return http_request(self.port, "POST", "/_control?" + query)

    def requests(self):
        """Every request received so far, as recorded (dicts)."""
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, "rb") as f:
            lines = f.read().split(b"\n")
        # The last piece is a line still being written (or empty). A
        # complete line that does not parse is an error, unless it is the
        # last complete one and the writer's buffer was caught mid-flush.
        lines = lines[:-1]
        out = []
        for i, line in enumerate(lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                if i != len(lines) - 1:
                    raise
        return out

    def jobs(self):
        """Requests that created a job."""
        return [r for r in self.requests() if r.get("job_id")]

    def jobs_of(self, task_id):
        """Requests that created a job of the TheEye task task_id."""
        return [r for r in self.jobs()
                if json.loads(r["body"])["task"] == task_id]

    def wait_requests(self, n, timeout=10):
        return wait_for(lambda: len(self.requests()) >= n and self.requests(),
                        timeout, what="%d requests at the supervisor" % n)

    def wait_jobs(self, n, timeout=10):
        return wait_for(lambda: len(self.jobs()) >= n and self.jobs(),
                        timeout, what="%d jobs at the supervisor" % n)


class ScriptedSupervisor:
    """A minimal HTTP/1.1 server on 127.0.0.1, in this process, that answers
    every POST with one fixed status, body and headers: for answers that
    tests/fake_supervisor does not give (an error status whose body is any
    text, as a proxy or a framework in front of the supervisor writes
    them). Records each request as {"time", "path", "body"}."""

    def __init__(self, status=404, body="", headers=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = dict(headers or {})
        self.lock = threading.Lock()
        self.recorded = []
        self.server = None
        self.thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                with outer.lock:
                    outer.recorded.append({
                        "time": time.time(), "path": self.path,
                        "body": body.decode(errors="replace")})
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                for k, v in outer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass  # nothing on the test's output

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()
        return self

    def stop(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.server = None

    def requests(self):
        with self.lock:
            return list(self.recorded)

    def wait_requests(self, n, timeout=10):
        return wait_for(lambda: len(self.requests()) >= n and
                        self.requests(), timeout,
                        what="%d requests at the scripted supervisor" % n)


def quote(s):
    safe = "-._~"
    return "".join(c if c.isalnum() or c in safe else
                   "".join("%%%02X" % b for b in c.encode()) for c in s)


def http_request(port, method, target, timeout=5):
    """A minimal HTTP/1.0 request to 127.0.0.1 (no proxies involved)."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                   "Content-Length: 0\r\n\r\n" % (method, target)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, body


CONF_TEMPLATE = """\
Hostname "{hostname}"
FQDNLookup false
Interval {interval}
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel {loglevel}
  File "{dir}/collectd.log"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
{extra}
"""

PLUGIN_TEMPLATE = """\
PluginDir "{plugin_dir}"
LoadPlugin notify_theeye
{block}
"""


def plugin_block(url, tasks, **globals_):
    """A <Plugin notify_theeye> block. tasks: list of (name, [option lines]);
    globals_: option name -> value (strings are quoted)."""
    lines = ["<Plugin notify_theeye>"]
    if url is not None:
        lines.append('  URL "%s"' % url)
    for key, value in globals_.items():
        lines.append("  %s %s" % (key, fmt_value(value)))
    for name, options in tasks:
        lines.append('  <Task "%s">' % name)
        lines += ["    " + o for o in options]
        lines.append("  </Task>")
    lines.append("</Plugin>")
    return "\n".join(lines)


def fmt_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"%s"' % value


def task_options(task_id=TASK_ID, secret=SECRET, *more):
    return ['TaskID "%s"' % task_id, 'Secret "%s"' % secret] + list(more)


class Collectd:
    """The real daemon, in the foreground, in its own directory."""

    def __init__(self, workdir, block, extra="", interval=1,
                 hostname="testhost", loglevel="info"):
        """block: the <Plugin notify_theeye> block, or None for a collectd
        without the plugin (a fleet's host that only forwards)."""
        self.workdir = workdir
        self.conf = os.path.join(workdir, "collectd.conf")
        self.log_path = os.path.join(workdir, "collectd.log")
        self.sock = os.path.join(workdir, "sock")
        with open(self.conf, "w") as f:
            f.write(CONF_TEMPLATE.format(
                hostname=hostname, interval=interval, dir=workdir,
                loglevel=loglevel, extra=extra))
            if block is not None:
                f.write(PLUGIN_TEMPLATE.format(plugin_dir=PLUGIN_DIR,
                                               block=block))
        self.proc = None
        self.returncode = None  # the exit status, once stopped or killed

    def argv(self, *args):
        """The command line running collectd with args, under valgrind
        when NT_VALGRIND is set (its log: valgrind.PID.log in workdir)."""
        if not VALGRIND:
            return [COLLECTD] + list(args)
        # --num-callers: deep enough to reach collectd's own frames, which
        # tests/valgrind.supp anchors on.
        return ["valgrind", "--tool=memcheck", "--leak-check=full",
                "--errors-for-leak-kinds=definite", "--num-callers=30",
                "--error-exitcode=%d" % VALGRIND_ERROR_EXIT,
                "--log-file=" + os.path.join(self.workdir,
                                             "valgrind.%p.log"),
                "--suppressions=" + VALGRIND_SUPP,
                COLLECTD] + list(args)

    def check_valgrind(self, pid):
        """Under valgrind: fails on any error or definite leak that its log
        (of the process pid) reports, with the log's records."""
        if not VALGRIND:
            return
        path = os.path.join(self.workdir, "valgrind.%d.log" % pid)
        text = ""
        if os.path.exists(path):
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace")
        errors = [int(n.replace(",", "")) for n in
                  re.findall(r"ERROR SUMMARY: ([\d,]+) errors", text)]
        lost = [int(n.replace(",", "")) for n in
                re.findall(r"definitely lost: ([\d,]+) bytes", text)]
        if errors and errors[-1] == 0 and not any(lost):
            return
        # The records without valgrind's preamble (the lines up to the
        # command line) and without the "==PID== " prefixes.
        lines = [re.sub(r"^==\d+== ?", "", l) for l in text.splitlines()]
        start = next((i + 1 for i, l in enumerate(lines)
                      if l.startswith("Parent PID:")), 0)
        excerpt = "\n".join(lines[start:][-400:])
        if not errors:
            excerpt = "(no ERROR SUMMARY: valgrind did not finish)\n" + \
                excerpt
        raise AssertionError("valgrind found %s error(s), %s bytes definitely "
                             "lost; see %s:\n%s"
                             % (errors[-1] if errors else "?", sum(lost),
                                path, excerpt))

    def test_config(self, timeout=30):
        """collectd -T -C: (exit status, stdout+stderr, log)."""
        p = subprocess.Popen(self.argv("-T", "-C", self.conf),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=timeout * TIME_SCALE)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise
        self.check_valgrind(p.pid)
        return p.returncode, out.decode(errors="replace"), self.log()

    def start(self, wait=True):
        self.returncode = None
        self.out = open(os.path.join(self.workdir, "collectd.out"), "ab")
        self.proc = subprocess.Popen(self.argv("-f", "-C", self.conf),
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT)
        if wait:
            def ready():
                if self.proc.poll() is not None:
                    raise AssertionError("collectd exited with %s: %s"
                                         % (self.proc.returncode,
                                            self.output()))
                return os.path.exists(self.sock) and \
                    "Initialization complete" in self.log() and \
                    self.listening()
            wait_for(ready, 15, what="collectd to start")
        return self

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the seconds it took to exit. The exit
        status is kept in self.returncode. Under valgrind, then checks its
        log."""
        if self.proc is None:
            return 0.0
        timeout *= TIME_SCALE
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("collectd did not exit within %d s"
                                     % timeout)
        elapsed = time.monotonic() - t0
        self.returncode = self.proc.returncode
        pid = self.proc.pid
        self.proc = None
        self.out.close()
        self.check_valgrind(pid)
        return elapsed

    def kill(self):
        """SIGKILL (when still running) and wait; the exit status is kept
        in self.returncode."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.returncode = self.proc.returncode
        self.proc = None
        self.out.close()

    def listening(self):
        """Whether unixsock accepts connections: its thread binds the
        socket file before it listens, and may do so after collectd logs
        "Initialization complete"."""
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.sock)
            except OSError:
                return False
        return True

    def command(self, line, timeout=10):
        """One unixsock command, str or bytes (bytes are sent as they are,
        without any encoding); returns (reply line, seconds taken)."""
        if isinstance(line, str):
            line = line.encode()
        t0 = time.monotonic()
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout * TIME_SCALE)
            s.connect(self.sock)
            s.sendall(line + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace").strip(), time.monotonic() - t0

    def putnotif(self, message="test notification", severity="failure",
                 time_=None, meta=None, **fields):
        """PUTNOTIF with the given fields (host, plugin, plugin_instance,
        type, type_instance); meta: dict of string meta entries."""
        if time_ is None:
            time_ = int(time.time())
        parts = ["PUTNOTIF", "severity=" + severity, "time=%s" % time_]
        for key in ("host", "plugin", "plugin_instance", "type",
                    "type_instance"):
            if key in fields:
                parts.append("%s=%s" % (key, pn_quote(fields.pop(key))))
        if fields:
            raise TypeError("unknown fields %r" % fields)
        for k, v in (meta or {}).items():
            parts.append("s:%s=%s" % (k, pn_quote(v)))
        parts.append("message=" + pn_quote(message))
        reply, elapsed = self.command(" ".join(parts))
        if not reply.startswith("0 "):
            raise AssertionError("PUTNOTIF failed: %s" % reply)
        return elapsed

    def log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def plugin_lines(self):
        """The log lines written by this plugin."""
        return [l for l in self.log().splitlines() if PREFIX in l]

    def misprefixed_lines(self):
        """The plugin's log lines that do not carry its prefix exactly
        once, right after collectd's timestamp and level."""
        rx = re.compile(r"^\[[^]]*\] \[[a-z]+\] " + re.escape(PREFIX))
        return [line for line in self.plugin_lines()
                if not rx.match(line) or line.count(PREFIX) != 1]

    def wait_log(self, pattern, timeout=10):
        rx = re.compile(pattern)
        return wait_for(lambda: [l for l in self.plugin_lines()
                                 if rx.search(l)],
                        timeout, what="a log line matching %r" % pattern)

    def output(self):
        path = os.path.join(self.workdir, "collectd.out")
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")


def shipped_configuration(name, workdir, url, listen_port):
    """conf/NAME as shipped, with only what a user changes (secret files,
    paths: into workdir) and what keeps a test on 127.0.0.1 (the URLs, the
    network plugin's Listen) replaced; this plugin loads from the build,
    every other one from collectd's directory. Secret files hold SECRET;
    the fleet's password file has "fleet: fleet-password"."""
    with open(os.path.join(SRCDIR, "conf", name)) as f:
        text = f.read()
    secrets = os.path.join(workdir, "theeye")
    os.makedirs(secrets, 0o700, exist_ok=True)
    for path in set(re.findall(r'/etc/collectd/theeye/[^"]+\.secret', text)):
        own = os.path.join(secrets, os.path.basename(path))
        with open(os.open(own, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(SECRET + "\n")
        text = text.replace(path, own)
    passwd = os.path.join(workdir, "fleet.passwd")
    with open(os.open(passwd, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("fleet: fleet-password\n")
    text = text.replace("/etc/collectd/fleet.passwd", passwd)
    for old, new in (
            ("https://supervisor.theeye.io", url),
            ("https://supervisor.eu.example.com", url),
            ("/var/lib/collectd/notify_theeye-spool",
             os.path.join(workdir, "spool")),
            ("/run/collectd-maintenance", os.path.join(workdir, "maintenance")),
            ('"0.0.0.0" "25826"', '"127.0.0.1" "%d"' % listen_port)):
        text = text.replace(old, new)
    left = [l for l in text.splitlines()
            if "/etc/collectd" in l and not l.lstrip().startswith("#")]
    if left:
        raise AssertionError("conf/%s: paths left to replace: %s"
                             % (name, left))
    return text.replace("LoadPlugin notify_theeye\n",
                        'PluginDir "%s"\nLoadPlugin notify_theeye\n'
                        'PluginDir "/usr/lib/collectd"\n' % PLUGIN_DIR)


def putval(cd, identifier, value, at="N", interval=1):
    """One value through unixsock PUTVAL, as a read plugin would dispatch
    it (the threshold plugin judges it): identifier host/plugin/type, at
    "N" (now) or an epoch."""
    if not isinstance(at, str):
        at = "%.3f" % at
    reply, _ = cd.command("PUTVAL %s interval=%s %s:%s"
                          % (identifier, interval, at, value))
    if not reply.startswith("0 "):
        raise AssertionError("PUTVAL %s: %s" % (identifier, reply))


def own_notifications(cd, task):
    """The plugin's own notifications about Task task, as collectd's
    logfile plugin wrote them: (severity, host, event, message) tuples."""
    rx = re.compile(r"Notification: severity = (\w+), host = ([^,]*), "
                    r"plugin = notify_theeye, plugin_instance = %s, "
                    r"type = remediation, type_instance = (\w+), "
                    r"message = (.*)$" % re.escape(task))
    return [m.groups() for m in map(rx.search, cd.log().splitlines()) if m]


def pn_quote(value):
    """A PUTNOTIF value: double-quoted when it holds spaces or quotes."""
    value = str(value)
    if value and not re.search(r'[\s"\\]', value):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def command_many(cd, lines):
    """Sends unixsock commands one after the other over one connection,
    reading each reply; fails on any reply but success."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10 * TIME_SCALE)
        s.connect(cd.sock)
        f = s.makefile("rwb")
        for line in lines:
            f.write(line.encode() + b"\n")
            f.flush()
            reply = f.readline()
            if not reply.startswith(b"0 "):
                raise AssertionError("%r: %r" % (line, reply))


def lines_at(cd, level, pattern):
    """The plugin's log lines at a collectd log level matching pattern."""
    rx = re.compile(pattern)
    return [line for line in cd.plugin_lines()
            if "[%s]" % level in line and rx.search(line)]


def arguments(request):
    """The task arguments of a request."""
    return json.loads(request["body"])["task_arguments"]


def message_of(request):
    """The last task argument (%{message} by default) of a request."""
    try:
        return json.loads(request["body"])["task_arguments"][-1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


# The plugin's self-metrics, read back through the csv plugin: pass
# CSV_EXTRA.format(dir=workdir) as Collectd's extra.
CSV_EXTRA = """\
LoadPlugin csv
<Plugin csv>
  DataDir "{dir}/csv"
  StoreRates false
</Plugin>"""


def csv_pattern(workdir, task, name):
    return os.path.join(
        workdir, "csv", "testhost", "notify_theeye-" + task,
        name + "-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")


def csv_rows(workdir, task, name):
    """(epoch, value) rows the csv plugin wrote for one self-metric of a
    Task; name is e.g. "derive-sent" or "queue_length"."""
    return csv_file_rows(sorted(glob.glob(csv_pattern(workdir, task, name))))


def csv_file_rows(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    continue  # being written
                parts = line.strip().split(",")
                if len(parts) != 2 or parts[0] == "epoch":
                    continue
                try:
                    rows.append((float(parts[0]), float(parts[1])))
                except ValueError:
                    pass
    return rows


def csv_newest_read(workdir, task):
    """The time of the plugin's newest read that the csv plugin began to
    write for a Task (one read gives all its figures one time)."""
    newest = None
    for path in glob.glob(csv_pattern(workdir, task, "*")):
        rows = csv_file_rows([path])
        if rows and (newest is None or rows[-1][0] > newest):
            newest = rows[-1][0]
    return newest


def csv_latest(workdir, task, name, settle=3):
    """The value of a self-metric in the newest read, or None if it has
    none. The csv plugin writes a read's figures one after another, so a
    figure may lag the others of its read for a moment: wait for it (for
    at most settle seconds) rather than give the value of an older read or
    none at all."""
    newest = csv_newest_read(workdir, task)
    deadline = time.monotonic() + settle * TIME_SCALE
    while True:
        rows = csv_rows(workdir, task, name)
        if newest is None or (rows and rows[-1][0] >= newest) or \
                time.monotonic() > deadline:
            return rows[-1][1] if rows else None
        time.sleep(0.05)


def wait_counter(workdir, task, name, expected, timeout=8):
    """Waits until the latest value of a self-metric equals expected."""
    seen = []

    def check():
        value = csv_latest(workdir, task, name)
        seen.append(value)
        return value == expected
    try:
        wait_for(check, timeout, interval=0.1,
                 what="%s of Task %s to be %s" % (name, task, expected))
    except AssertionError:
        raise AssertionError("%s of Task %s: expected %s, latest value %r"
                             % (name, task, expected, seen[-1]))


class IntegrationTest(unittest.TestCase):
    """Gives each test a directory, and stops what it started."""

    def setUp(self):
        if "%s.%s" % (type(self).__name__, self._testMethodName) in \
                SKIP_TESTS:
            self.skipTest("in NT_SKIP_TESTS")
        self.dir = tempfile.mkdtemp(prefix="nt-")
        self.processes = []

    def tearDown(self):
        # Under valgrind a collectd still running is stopped, not killed, so
        # that its log is checked too: a problem there fails the test. Every
        # process is stopped whatever happens to the others, and whatever
        # went wrong while stopping one (valgrind's verdict, a process that
        # would not exit, any unexpected exception) fails the test: nothing
        # is swallowed.
        problems = []
        for p in reversed(self.processes):
            try:
                if isinstance(p, Collectd) and not VALGRIND:
                    p.kill()
                else:
                    p.stop()
            except Exception as e:  # reported below, once all are stopped
                problems.append("stopping %s: %s: %s"
                                % (type(p).__name__, type(e).__name__, e))
        if getattr(self, "_outcome", None) and not self._failed() and \
                not problems:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept %s for inspection" % self.dir)
        if problems:
            raise AssertionError("\n".join(problems))

    def _failed(self):
        result = self._outcome.result
        errors = getattr(result, "errors", []) + getattr(result, "failures",
                                                         [])
        return any(test is self for test, _ in errors)

    def supervisor(self, subdir=None, **kw):
        """Starts a fake supervisor in the test's directory, or in its
        subdirectory subdir (created), for a second one beside it."""
        workdir = self.dir
        if subdir is not None:
            workdir = os.path.join(self.dir, subdir)
            os.makedirs(workdir, exist_ok=True)
        s = Supervisor(workdir, **kw)
        self.processes.append(s)
        return s.start()

    def scripted_supervisor(self, **kw):
        """Starts a ScriptedSupervisor (stopped in tearDown)."""
        s = ScriptedSupervisor(**kw)
        self.processes.append(s)
        return s.start()

    def collectd(self, block, start=True, subdir=None, **kw):
        """Starts collectd in the test's directory, or in its subdirectory
        subdir (created), for a second daemon beside it."""
        workdir = self.dir
        if subdir is not None:
            workdir = os.path.join(self.dir, subdir)
            os.makedirs(workdir, exist_ok=True)
        c = Collectd(workdir, block, **kw)
        self.processes.append(c)
        if start:
            c.start()
        return c

    def recollectd(self, block, **kw):
        """collectd again on the same directory, once the previous one was
        stopped or killed. The previous run's log and csv files are moved
        aside first: Collectd.start() waits for "Initialization complete"
        in the log and for the socket, which a previous run (killed: its
        socket stays) would otherwise satisfy at once, and the figures read
        back are the new run's only."""
        self.runs = getattr(self, "runs", 0) + 1
        for name in ("collectd.log", "csv"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                os.rename(path, "%s.%d" % (path, self.runs))
        sock = os.path.join(self.dir, "sock")
        if os.path.exists(sock):
            os.unlink(sock)
        return self.collectd(block, **kw)

    def tag(self, i=0):
        """A message no other test (or run) sends: the test's name, i and
        the time."""
        return "%s-%d-%d" % (self._testMethodName, i, time.time_ns())


def main():
    unittest.main(verbosity=2)
