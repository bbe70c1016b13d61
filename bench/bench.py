#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: the plugin's performance figures, side by side in one run.

Everything runs on this machine against 127.0.0.1 only: one nginx (the fast
fake TheEye supervisor of bench/nginx*.conf.in), wrk, the real collectd
with the freshly built plugin (10 Task blocks with regex filters and every
guard on, one of which matches), collectd's own exec plugin running bench/notify_curl.sh,
and a listener that accepts connections and never answers (a hung
supervisor). Prints one table (figure, value, ratio, target, met?), the
machine and the run's conditions; writes the figures as TSV and draws a
PNG with gnuplot into bench/results/ of the build directory.

Sizes and bounds come from the environment (bench/README.md lists them).
Every process started here is stopped here, by its PID; every wait is
bounded. Python 3 standard library only.
"""

import datetime
import json
import os
import platform
import pwd
import grp
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from common import LogTail, http, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("NT_SRCDIR") or os.path.dirname(HERE)
BUILDDIR = os.environ.get("NT_BUILDDIR") or os.getcwd()
PLUGIN_DIR = os.environ.get("NT_PLUGIN_DIR") or os.path.join(BUILDDIR,
                                                             ".libs")
COLLECTD = os.environ.get("NT_COLLECTD") or shutil.which(
    "collectd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def env_num(name, default, kind=int):
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        sys.exit("bench: %s=%r is not a number" % (name, value))
    if number <= 0:
        sys.exit("bench: %s must be above 0" % name)
    return number


# Sizes (see bench/README.md). The defaults keep the whole run under about
# ten minutes on 2 cores.
N = env_num("BENCH_N", 20000)                  # notifications per rate run
EXEC_N = env_num("BENCH_EXEC_N", 300)          # NotificationExec+curl
RTT_N = env_num("BENCH_RTT_N", 20000)          # PUTNOTIF samples per case
LAT_N = env_num("BENCH_LAT_N", 3000)           # paced notifications
LAT_RATE = env_num("BENCH_LAT_RATE", 1000.0, float)  # their rate, per s
BACKLOG = env_num("BENCH_BACKLOG", 100000)     # jobs queued in the outage
TASKS = env_num("BENCH_TASKS", 10)             # Task blocks (one matches)
FEEDERS = env_num("BENCH_FEEDERS", 4)          # unixsock connections
WINDOW = env_num("BENCH_WINDOW", 1000)         # jobs in the plugin at most
WRK_SECONDS = env_num("BENCH_WRK_SECONDS", 3)
ROUNDS = env_num("BENCH_ROUNDS", 3)            # wrk and plugin, in turn
PAIR_SECONDS = env_num("BENCH_PAIR_SECONDS", 15.0, float)
FOLLOWS = env_num("BENCH_FOLLOWS", 300)          # jobs followed, held
DELIVER_SECONDS = env_num("BENCH_DELIVER_SECONDS", 60.0, float)
FEED_SECONDS = env_num("BENCH_FEED_SECONDS", 120.0, float)
DRAIN_SECONDS = env_num("BENCH_DRAIN_SECONDS", 120.0, float)
NGINX_WORKERS = os.environ.get("BENCH_NGINX_WORKERS") or "auto"
ONLY = set(filter(None, re.split(r"[ ,]+",
                                 os.environ.get("BENCH_ONLY", ""))))
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
PERF = os.environ.get("BENCH_PERF", "") not in ("", "0")
OUT = os.environ.get("BENCH_OUT") or os.path.join(BUILDDIR, "bench",
                                                   "results")

SCENARIOS = ["wrk", "steady", "conn4", "exec", "rtt", "latency", "pair",
             "follow", "spool", "drain"]
for name in ONLY - set(SCENARIOS):
    sys.exit("bench: BENCH_ONLY: unknown measurement %r (known: %s)"
             % (name, " ".join(SCENARIOS)))

TASK_ID = "5f0c1a2b3c4d5e6f7a8b9c0d"
SECRET = "0123456789abcdef" * 4
JOB_SECRET = "b" * 64
CUSTOMER = "bench"
HOST = "web1"
PLUGIN_MATCH = "app%d" % (TASKS - 1)  # the last Task matches: all are tried
USER_AGENT = "collectd-notify_theeye/1.0.0"
START_TIME = int(time.time())  # every notification's own time= field


def wanted(name):
    return not ONLY or name in ONLY


def message(seq):
    return "svc %07d is down" % seq


def putnotif(seq):
    return ('PUTNOTIF severity=failure time=%d host=%s plugin=%s type=bench '
            'message="%s"\n' % (START_TIME, HOST, PLUGIN_MATCH,
                                message(seq))).encode()


def job_body(seq):
    """The body the plugin sends for notification seq (its default eight
    arguments): wrk and notify_curl.sh send the same bytes."""
    args = ["FAILURE", "%d.000" % START_TIME, HOST, PLUGIN_MATCH, "", "bench",
            "", message(seq)]
    return json.dumps({"task": TASK_ID, "task_arguments": args},
                      separators=(",", ":"))


BODY_LEN = len(job_body(0))


def log(text):
    print(text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_text(args, timeout=10):
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable (%s)" % e


class Failed(Exception):
    """A measurement could not be made; its rows say why."""


# ---- processes ------------------------------------------------------------

class Procs:
    """Every process the bench starts, so that each is stopped by its PID."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.live = []

    def start(self, name, args, stdin=subprocess.DEVNULL, stdout=None):
        out = open(os.path.join(self.workdir, name + ".out"), "ab")
        p = subprocess.Popen(args, stdin=stdin,
                             stdout=stdout if stdout else out,
                             stderr=out, cwd=self.workdir)
        p.bench_name = name
        p.bench_out = out
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p not in self.live:
            return p.returncode
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log("bench: %s (pid %d) did not stop in %d s: killed"
                    % (p.bench_name, p.pid, timeout))
                p.kill()
                p.wait(10)
        self.live.remove(p)
        p.bench_out.close()
        if p.stdin:
            p.stdin.close()
        if p.stdout:
            p.stdout.close()
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p)


class Nginx:
    """One nginx master (and its workers) serving one fake supervisor per
    measurement, each on its own port with its own access log."""

    def __init__(self, bench, name, servers):
        self.bench = bench
        self.name = name
        self.ports = {}
        with open(os.path.join(HERE, "nginx-server.conf.in")) as f:
            server_in = f.read()
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            main_in = f.read()
        blocks = []
        for server, port in servers:
            self.ports[server] = port
            blocks.append(fill(server_in, NAME=server, PORT=str(port)))
        user = ""
        if os.geteuid() == 0:
            user = "user nobody %s;" % nobody_group()
        self.conf = os.path.join(bench.workdir, "nginx-%s.conf" % name)
        with open(self.conf, "w") as f:
            f.write(fill(main_in, NAME=name, SERVERS="".join(blocks),
                         USER=user, WORKERS=NGINX_WORKERS))
        os.makedirs(os.path.join(bench.workdir, "nginx-tmp"), exist_ok=True)
        self.proc = None

    def start(self):
        args = ["nginx", "-p", self.bench.workdir, "-c", self.conf,
                "-e", os.path.join(self.bench.workdir,
                                   "nginx-%s.error.log" % self.name),
                "-g", "daemon off; master_process on;"]
        self.proc = self.bench.procs.start("nginx-" + self.name, args)
        for port in self.ports.values():
            if not wait_until(lambda: connectable(port), 10):
                raise Failed("nginx did not listen on %d (see %s)"
                             % (port, self.conf))
        return self

    def url(self, server):
        return "http://127.0.0.1:%d" % self.ports[server]

    def job_url(self, server):
        return "%s/job/secret/%s?customer=%s" % (self.url(server), SECRET,
                                                  CUSTOMER)

    def log(self, server):
        return AccessLog(os.path.join(self.bench.workdir,
                                      server + ".access.log"))

    def stop(self):
        if self.proc is not None:
            # SIGQUIT: graceful, the buffered access logs are written out.
            self.bench.procs.stop(self.proc, signal.SIGQUIT)
            self.proc = None


def fill(template, **values):
    values.setdefault("WORKDIR", BENCH.workdir)
    values.setdefault("SECRET", SECRET)
    values.setdefault("TASK_ID", TASK_ID)
    values.setdefault("JOB_SECRET", JOB_SECRET)
    for key, value in values.items():
        template = template.replace("@%s@" % key, value)
    left = re.findall(r"@[A-Z_]+@", template)
    if left:
        raise Failed("template field(s) left unfilled: %s" % " ".join(left))
    return template


def nobody_group():
    for g in ("nogroup", "nobody"):
        try:
            grp.getgrnam(g)
            return g
        except KeyError:
            pass
    return str(pwd.getpwnam("nobody").pw_gid)


def connectable(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class AccessLog:
    """An nginx access log (format "bench"): the times of the 200 answers,
    read incrementally."""

    def __init__(self, path):
        # Only what is logged from now on: a server may serve several runs.
        self.tail = LogTail(path, from_end=True)
        self.times = []
        self.other = 0

    def poll(self):
        for line in self.tail.new_lines():
            fields = line.split()
            if len(fields) >= 2 and fields[1] == b"200":
                self.times.append(float(fields[0]))
            else:
                self.other += 1
        return len(self.times)

    def wait(self, n, timeout):
        """Waits until n answers were logged or timeout passed."""
        wait_until(lambda: self.poll() >= n, timeout, 0.1)
        return len(self.times)


HUNG_LISTENER = r"""
import selectors, socket, sys, time
# A supervisor that accepts connections, reads the requests and never
# answers. Exits when its stdin closes (the bench is gone) or after an hour.
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1024)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
sel.register(sys.stdin, selectors.EVENT_READ)
print(srv.getsockname()[1], flush=True)
deadline = time.monotonic() + 3600
while time.monotonic() < deadline:
    for key, _ in sel.select(5):
        if key.fileobj is srv:
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
        elif key.fileobj is sys.stdin:
            if not sys.stdin.buffer.read1(4096):
                sys.exit(0)
        else:
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
"""


LATENCY_SUPERVISOR = r"""
import re, selectors, socket, sys, time
# A fake supervisor that records, for each job, the notification's number
# (from the message in the body) and when the whole request had arrived
# (CLOCK_MONOTONIC, ns: the same clock as the bench's in another process),
# then answers at once like nginx does. Exits when its stdin closes or
# after an hour.
JOB = (b'{"id":"%024x","task_id":"5f0c1a2b3c4d5e6f7a8b9c0d","name":"bench '
       b'task","state":"in_progress","lifecycle":"ready"}')
out = open(sys.argv[1], "w", buffering=1)
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
sel.register(sys.stdin, selectors.EVENT_READ)
print(srv.getsockname()[1], flush=True)
bufs = {}
jobs = 0
deadline = time.monotonic() + 3600
while time.monotonic() < deadline:
    for key, _ in sel.select(5):
        f = key.fileobj
        if f is srv:
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.setblocking(False)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            bufs[c] = b""
            sel.register(c, selectors.EVENT_READ)
            continue
        if f is sys.stdin:
            if not sys.stdin.buffer.read1(4096):
                sys.exit(0)
            continue
        try:
            data = f.recv(65536)
        except OSError:
            data = b""
        if not data:
            sel.unregister(f)
            f.close()
            del bufs[f]
            continue
        buf = bufs[f] + data
        while True:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not sep:
                break
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            length = int(m.group(1)) if m else 0
            if len(rest) < length:
                break
            now = time.monotonic_ns()
            body, buf = rest[:length], rest[length:]
            seq = re.search(rb"svc (\d+) is down", body)
            out.write("%s %d\n" % (seq.group(1).decode() if seq else "-",
                                    now))
            jobs += 1
            answer = JOB % jobs
            f.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                      b"\r\nContent-Length: %d\r\n\r\n" % len(answer) +
                      answer)
        bufs[f] = buf
"""


class Helper:
    """A helper process (a Python script given as text) that prints its
    port on its first line and exits when its stdin closes."""

    def __init__(self, bench, name, script, *args):
        self.bench = bench
        self.proc = bench.procs.start(
            name, [sys.executable, "-c", script] + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(10)
        sel.close()
        if not ready:
            raise Failed("%s did not start" % name)
        self.port = int(self.proc.stdout.readline())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.bench.procs.stop(self.proc)


class HungSupervisor(Helper):
    def __init__(self, bench):
        super().__init__(bench, "hung", HUNG_LISTENER)


# ---- collectd ---------------------------------------------------------------

# Every guard on, each costing what it costs, none holding a job back: a
# budget of 100 jobs per nanosecond is never spent. (Cooldown is left out:
# it suppresses any notification of an identity whose window opened later,
# and two of collectd's threads can dispatch notifications of one identity
# with their times out of order, so no window is short enough.)
GUARDS = ('    Confirm 1 60\n'
          '    Budget 100 0.000000001\n    TaskBudget 100 0.000000001\n')


def task_blocks(matching, options=""):
    """TASKS Task blocks with regex filters: len(matching) of them (URLs)
    match the bench's notifications, the others do not."""
    out = []
    others = TASKS - len(matching)
    for i in range(TASKS):
        if i < others:
            url, plugin = None, "/^app%d$/" % i
            name = "task-%d" % i
        else:
            url, plugin = matching[i - others], "/^%s$/" % PLUGIN_MATCH
            name = "task-%d-match" % i
        out.append('  <Task "%s">\n' % name)
        out.append('    TaskID "%s"\n    Secret "%s"\n' % (TASK_ID, SECRET))
        if url:
            out.append('    URL "%s"\n' % url)
        out.append('    Host "/^web[0-9]+$/"\n    Plugin "%s"\n'
                   '    Message "/ is down$/"\n' % plugin)
        out.append(GUARDS)
        out.append("  </Task>\n")
    return "".join(out)


def plugin_config(matching, options=""):
    """The plugin's block: jobs never dropped by the queue's bound during a
    run, nor aged out."""
    return ('PluginDir "%s"\nLoadPlugin notify_theeye\n'
            '<Plugin notify_theeye>\n  URL "%s"\n  Customer "%s"\n'
            '  QueueLimit %d\n  MaxAge 36000\n'
            '  PauseFile "/nonexistent/notify_theeye-bench-pause"\n%s%s'
            '</Plugin>\n'
            % (PLUGIN_DIR, matching[0], CUSTOMER, max(BACKLOG, N, RTT_N * 2),
               options, task_blocks(matching)))


class Collectd:
    """A real collectd (foreground) with unixsock and the given plugins. No
    logfile plugin: it is a notification plugin itself (it writes every
    notification to its file); collectd's log goes to stderr, into
    NAME.out."""

    def __init__(self, bench, name, body=""):
        self.bench = bench
        self.name = name
        self.sock_path = os.path.join(bench.workdir, name + ".sock")
        self.conf = os.path.join(bench.workdir, name + ".conf")
        self.out_path = os.path.join(bench.workdir, name + ".out")
        with open(self.conf, "w") as f:
            # Interval: the plugin's self-metrics (with no write plugin,
            # three lines of complaint per value) once, at start only.
            f.write('Hostname "bench-host"\nFQDNLookup false\n'
                    'Interval 3600\n'
                    'BaseDir "%s"\nPIDFile "%s/%s.pid"\n'
                    'PluginDir "/usr/lib/collectd"\n'
                    'TypesDB "/usr/share/collectd/types.db"\n'
                    'LoadPlugin unixsock\n<Plugin unixsock>\n'
                    '  SocketFile "%s"\n  SocketGroup "%s"\n'
                    '  SocketPerms "0600"\n  DeleteSocket true\n'
                    '</Plugin>\n%s'
                    % (bench.workdir, bench.workdir, name, self.sock_path,
                       grp.getgrgid(os.getegid()).gr_name, body))
        self.proc = None

    def check(self):
        """collectd -T: true if this configuration is accepted."""
        p = subprocess.run([COLLECTD, "-T", "-C", self.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return p.returncode == 0, p.stdout.decode(errors="replace")

    def start(self):
        self.proc = self.bench.procs.start(
            self.name, [COLLECTD, "-f", "-C", self.conf])

        def up():
            if self.proc.poll() is not None:
                raise Failed("collectd %s exited at start: %s"
                             % (self.name, self.tail()))
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.sock_path)
                return True
            except OSError:
                return False
        if not wait_until(up, 15):
            raise Failed("collectd %s did not open its socket" % self.name)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise Failed("no VmRSS for collectd")

    def tail(self, lines=5):
        try:
            with open(self.out_path, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def grep(self, pattern):
        with open(self.out_path, errors="replace") as f:
            return [line for line in f if re.search(pattern, line)]

    def socks(self, n):
        return [Sock(self.sock_path) for _ in range(n)]

    def stop(self):
        if self.proc is not None:
            self.bench.procs.stop(self.proc, timeout=30)
            self.proc = None


class Sock:
    """One unixsock connection: pipelined commands, one reply line each."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def replies(self, n):
        """The next n reply lines; the first that is not a success is
        returned as the error."""
        while self.buf.count(b"\n") < n:
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise Failed("collectd closed the unixsock connection")
            self.buf += chunk
        cut = -1
        for _ in range(n):
            cut = self.buf.index(b"\n", cut + 1)
        lines, self.buf = self.buf[:cut + 1], self.buf[cut + 1:]
        if lines.count(b"0 Success") == n:
            return None
        for line in lines.split(b"\n"):
            if line and not line.startswith(b"0 "):
                return line.decode(errors="replace")
        return None

    def rtt_ns(self, line):
        t0 = time.perf_counter_ns()
        self.s.sendall(line)
        while b"\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise Failed("collectd closed the unixsock connection")
            self.buf += chunk
        t1 = time.perf_counter_ns()
        reply, _, self.buf = self.buf.partition(b"\n")
        if not reply.startswith(b"0 "):
            raise Failed("PUTNOTIF answered %r" % reply)
        return t1 - t0

    def close(self):
        self.s.close()


def feed(socks, count, first=0, batch=50, timeout=FEED_SECONDS,
         alog=None, window=None):
    """Sends count PUTNOTIF over socks, pipelined in batches; returns (sent,
    seconds). Bounded by timeout. With alog and window: never more than
    window notifications ahead of the jobs alog has seen, so that the
    plugin's queue stays short (steady delivery, not a backlog)."""
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + timeout
    while sent < count and time.monotonic() < deadline:
        room = count - sent
        if window is not None:
            room = min(room, window - (sent - alog.poll()))
            if room < min(batch, count - sent):
                time.sleep(0.001)
                continue
        pending = []
        for s in socks:
            k = min(batch, room)
            if k <= 0:
                break
            room -= k
            s.send(b"".join(putnotif(first + sent + i) for i in range(k)))
            pending.append((s, k))
            sent += k
        for s, k in pending:
            err = s.replies(k)
            if err:
                raise Failed("PUTNOTIF answered: %s" % err)
    return sent, time.monotonic() - t0


# ---- the bench ------------------------------------------------------------

class Bench:
    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="notify_theeye-bench.")
        # NotificationExec runs as nobody: it must reach the script.
        os.chmod(self.workdir, 0o755)
        self.procs = Procs(self.workdir)
        self.r = {}       # figures
        self.notes = {}   # why a figure is missing
        self.cond = []    # conditions worth printing
        self.nginx = None
        self.errors = 0   # measurements that could not be made

    # -- helpers --

    def fail(self, keys, why):
        self.errors += 1
        for k in keys:
            self.notes[k] = why
        log("  !! %s" % why)

    def rate_run(self, name, server, options="", n=N, matching=None,
                 seconds=DELIVER_SECONDS, window=WINDOW, prime=None):
        """Feeds n notifications to a fresh collectd as fast as the plugin
        delivers them (at most WINDOW ahead); returns (jobs/s at the
        supervisor, notifications/s accepted, jobs received, notifications
        sent). The rate runs from the first PUTNOTIF to the last job
        received, or to the end of the run (bounded by seconds) when not
        every job arrived."""
        alog = self.nginx.log(server)
        cd = Collectd(self, name, plugin_config(
            matching or [self.nginx.url(server)], options)).start()
        perf = self.perf_start(cd, name)
        try:
            if prime is not None:
                prime(cd)
            socks = cd.socks(FEEDERS)
            cpu0 = thread_cpu(cd.proc.pid)
            t0 = time.time()
            sent, feed_s = feed(socks, n, alog=alog, window=window,
                                timeout=seconds)
            got = alog.wait(n, max(0.0, seconds - (time.time() - t0)))
            cpu = {k: v - cpu0.get(k, 0)
                   for k, v in thread_cpu(cd.proc.pid).items()}
            if got >= n:
                rate = n / (alog.times[n - 1] - t0)
            else:
                rate = got / (time.time() - t0)
            for s in socks:
                s.close()
            if not cd.alive():
                raise Failed("collectd %s died: %s" % (name, cd.tail()))
            log("  %s: %d notifications in %.2f s; %d of %d jobs received, "
                "%.0f jobs/s" % (name, sent, feed_s, got, n, rate))
            if got:
                per_thread = ", ".join(
                    "%s %.1f µs" % (k, v * 1e6 / got) for k, v in
                    sorted(cpu.items(), key=lambda kv: -kv[1]) if v > 0)
                self.cond.append("%s: collectd's CPU per job received, by "
                                 "thread: %s" % (name, per_thread))
            return rate, sent / feed_s, got, sent
        finally:
            self.perf_stop(perf)
            cd.stop()

    def perf_start(self, cd, name):
        if not PERF or not shutil.which("perf"):
            return None
        data = os.path.join(self.workdir, "perf-%s.data" % name)
        p = self.procs.start("perf-" + name, [
            "perf", "record", "-F", "999", "-p", str(cd.proc.pid),
            "-o", data])
        time.sleep(0.5)
        return (p, data, name)

    def perf_stop(self, perf):
        if perf is None:
            return
        p, data, name = perf
        self.procs.stop(p, signal.SIGINT)
        report = os.path.join(self.out_dir, "perf-%s.txt" % name)
        with open(report, "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio",
                            "--sort", "comm,dso,symbol",
                            "--percent-limit", "0.5"],
                           stdout=f, stderr=subprocess.DEVNULL, timeout=120)
        log("  perf profile: %s" % report)

    # -- measurements --

    def wrk_script(self):
        script = os.path.join(self.workdir, "post.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.body = %s\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.headers["Accept"] = "application/json"\n'
                    'wrk.headers["User-Agent"] = "%s"\n'
                    'wrk.headers["Accept-Encoding"] = "deflate, gzip"\n'
                    % (json.dumps(job_body(0)), USER_AGENT))
        return script

    def wrk(self, c, script):
        """wrk's ceiling at c connections: the same nginx, the same body
        and headers; one thread, like the plugin's one sender thread."""
        server = "wrk%d" % c
        out = run_text(["wrk", "-t1", "-c%d" % c, "-d%ds" % WRK_SECONDS,
                        "-s", script, self.nginx.job_url(server)],
                       timeout=WRK_SECONDS + 30)
        m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
        if not m:
            raise Failed("wrk -c%d: %s" % (c, out[-200:]))
        if re.search(r"Non-2xx or 3xx responses", out):
            raise Failed("wrk -c%d got answers other than 200" % c)
        rate = float(m.group(1))
        log("  wrk -t1 -c%d -d%ds: %.0f requests/s" % (c, WRK_SECONDS, rate))
        return rate

    def m_rates(self):
        """wrk and the plugin in turn, ROUNDS times: the machine's drift
        (these machines are shared; on a VM, where the scheduler puts two
        processes that ping-pong changes the rate severalfold) hits both
        alike; the medians are compared."""
        runs = {}
        script = self.wrk_script()
        for i in range(ROUNDS):
            todo = []
            if wanted("wrk"):
                todo.append(("wrk_c1", lambda: self.wrk(1, script)))
            if wanted("steady"):
                todo.append(("steady", lambda: self.rate_run(
                    "steady-%d" % (i + 1), "steady")))
            if wanted("wrk"):
                todo.append(("wrk_c4", lambda: self.wrk(4, script)))
            if wanted("conn4"):
                todo.append(("conn4", lambda: self.rate_run(
                    "conn4-%d" % (i + 1), "conn4",
                    options="  Connections 4\n")))
            for key, run in todo:
                value = run()
                if isinstance(value, tuple):
                    rate, _, got, _ = value
                    if got < N:
                        self.cond.append("%s: only %d of %d jobs within "
                                         "%.0f s" % (key, got, N,
                                                     DELIVER_SECONDS))
                    value = rate
                runs.setdefault(key, []).append(value)
        if wanted("steady"):
            # The same notifications all at once: a backlog of N from the
            # start, as a burst of alerts makes it.
            rate, _, got, _ = self.rate_run("burst", "burst", window=None)
            self.r["burst"] = rate
            self.cond.append("burst: %d notifications sent at once (%d of "
                             "the jobs received)" % (N, got))
        for key, values in runs.items():
            self.r[key] = statistics.median(values)
            self.cond.append("%s: median of %s" % (key, ", ".join(
                "%.0f" % v for v in values)))

    def m_exec(self):
        """collectd's exec plugin, NotificationExec running curl."""
        script = os.path.join(self.workdir, "notify_curl.sh")
        shutil.copyfile(os.path.join(HERE, "notify_curl.sh"), script)
        os.chmod(script, 0o755)
        user = "nobody:%s" % nobody_group() if os.geteuid() == 0 else \
            pwd.getpwuid(os.geteuid()).pw_name
        alog = self.nginx.log("exec")
        cd = Collectd(self, "exec", 'LoadPlugin exec\n<Plugin exec>\n'
                      '  NotificationExec "%s" "%s" "%s" "%s" "%s" "%s"\n'
                      '</Plugin>\n' % (user, script, self.nginx.url("exec"),
                                       TASK_ID, SECRET, CUSTOMER)).start()
        try:
            socks = cd.socks(FEEDERS)
            t0 = time.time()
            sent, feed_s = feed(socks, EXEC_N)
            got = alog.wait(sent, DELIVER_SECONDS)
            for s in socks:
                s.close()
            if got == 0:
                raise Failed("NotificationExec delivered nothing: %s"
                             % cd.tail())
            end = alog.times[sent - 1] if got >= sent else time.time()
            self.r["exec"] = got / (end - t0)
            log("  NotificationExec+curl: %d notifications in %.2f s; %d of "
                "%d jobs received, %.1f jobs/s"
                % (sent, feed_s, got, sent, self.r["exec"]))
            if got < sent:
                self.cond.append("exec: only %d of %d jobs within %.0f s"
                                 % (got, sent, DELIVER_SECONDS))
        finally:
            cd.stop()

    def m_rtt(self):
        """PUTNOTIF round trips, three collectd side by side, sampled in
        turn so that the machine's drift hits each case alike."""
        hung = HungSupervisor(self)
        cases = [
            ("none", Collectd(self, "rtt-none")),
            ("healthy", Collectd(self, "rtt-healthy", plugin_config(
                [self.nginx.url("rtt")]))),
            ("hung", Collectd(self, "rtt-hung", plugin_config([hung.url]))),
        ]
        try:
            for _, cd in cases:
                cd.start()
            pinned = pin_rtt([cd for _, cd in cases])
            perfs = [self.perf_start(cd, cd.name) for _, cd in cases[1:]]
            socks = [(k, cd.socks(1)[0]) for k, cd in cases]
            samples = {k: [] for k, _ in cases}
            warm = min(500, RTT_N)
            line = putnotif(0)
            deadline = time.monotonic() + FEED_SECONDS
            for i in range(warm + RTT_N):
                if time.monotonic() > deadline:
                    self.cond.append("rtt: stopped after %d samples (%.0f s)"
                                     % (i, FEED_SECONDS))
                    break
                for k, s in socks:
                    ns = s.rtt_ns(line)
                    if i >= warm:
                        samples[k].append(ns)
            for p in perfs:
                self.perf_stop(p)
            if pinned:
                os.sched_setaffinity(0, pinned)
                self.cond.append(
                    "rtt: the client and collectd's threads on CPU 0, the "
                    "plugin's sender thread on CPU 1 (on a VM, a wake-up "
                    "across CPUs costs tens of µs at random)")
            for k, s in socks:
                s.close()
                q = quantiles(samples[k])
                self.r["rtt_%s_p50" % k] = q[0]
                self.r["rtt_%s_p99" % k] = q[1]
                log("  PUTNOTIF round trip, %s: median %.1f µs, p99 %.1f µs "
                    "(%d samples)" % (k, q[0], q[1], len(samples[k])))
            # The spread of the added time over five consecutive blocks of
            # samples: how far the machine's noise moves these figures.
            blocks = 5
            size = len(samples["none"]) // blocks
            for k in ("healthy", "hung"):
                if size < 100:
                    break
                added = [[a - b for a, b in zip(
                    quantiles(samples[k][j * size:(j + 1) * size]),
                    quantiles(samples["none"][j * size:(j + 1) * size]))]
                    for j in range(blocks)]
                self.cond.append(
                    "rtt %s: added median in %d blocks of %d samples: %s "
                    "µs; added p99: %s µs" % (
                        k, blocks, size,
                        " ".join("%+.1f" % x[0] for x in added),
                        " ".join("%+.0f" % x[1] for x in added)))
            for k, cd in cases:
                if not cd.alive():
                    raise Failed("collectd rtt-%s died" % k)
            hung_jobs = len(cases[2][1].grep(r"notify_theeye plugin: .*"
                                             r"job .* created"))
            if hung_jobs:
                raise Failed("the hung supervisor created jobs?")
        finally:
            for _, cd in cases:
                cd.stop()
            hung.stop()

    def m_latency(self):
        """Notification to job received, paced at LAT_RATE per second, to a
        fake supervisor that timestamps each job to the microsecond (nginx
        logs milliseconds only) and answers at once."""
        arrivals = os.path.join(self.workdir, "latency.arrivals")
        sup = Helper(self, "latency-supervisor", LATENCY_SUPERVISOR,
                     arrivals)
        cd = None
        try:
            cd = Collectd(self, "latency", plugin_config([sup.url])).start()
            s = cd.socks(1)[0]
            sent_at = []
            t0 = time.perf_counter()
            for i in range(LAT_N):
                delay = t0 + i / LAT_RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                sent_at.append(time.monotonic_ns())
                s.rtt_ns(putnotif(i))
            achieved = LAT_N / (time.perf_counter() - t0)
            s.close()

            def arrived():
                with open(arrivals) as f:
                    return [line.split() for line in f if line.endswith("\n")]
            got = wait_until(lambda: len(arrived()) >= LAT_N and arrived(),
                             30) or arrived()
            at = {}
            for seq, ns in got:
                if seq != "-":
                    at.setdefault(int(seq), int(ns))
            if len(at) < LAT_N:
                raise Failed("latency: %d of %d jobs received"
                             % (len(at), LAT_N))
            lat = [(at[i] - sent_at[i]) / 1e6 for i in range(LAT_N)]
            q = quantiles(lat)
            self.r["lat_p50"], self.r["lat_p99"] = q
            self.cond.append("latency: %d notifications paced at %.0f/s "
                             "(achieved %.0f/s), one connection, to a Python "
                             "fake supervisor that timestamps each job "
                             "(microseconds) and answers at once"
                             % (LAT_N, LAT_RATE, achieved))
            log("  notification -> job: p50 %.3f ms, p99 %.3f ms, max %.2f ms"
                % (q[0], q[1], max(lat)))
        finally:
            if cd is not None:
                cd.stop()
            sup.stop()

    def m_pair(self):
        """One supervisor hung, one healthy: the healthy one's rate."""
        hung = HungSupervisor(self)
        try:
            rate, _, got, sent = self.rate_run(
                "pair", "pair", n=N, seconds=PAIR_SECONDS,
                matching=[hung.url, self.nginx.url("pair")])
            self.r["pair"] = rate
            self.cond.append("pair: %d notifications, each one job for a "
                             "hung supervisor (Timeout 5000 ms, plugin "
                             "defaults) and one for a healthy one: %d of the "
                             "healthy one's jobs within %.0f s"
                             % (sent, got, PAIR_SECONDS))
        finally:
            hung.stop()

    def m_follow(self):
        """FOLLOWS jobs of another Task followed, each result request held
        by the (fake) supervisor that created them: the delivery rate of
        the matching Tasks meanwhile, on the same sender thread and multi
        handle."""
        fake = os.path.join(BUILDDIR, "tests", "fake_supervisor")
        if not os.access(fake, os.X_OK):
            raise Failed("no %s: make check builds it" % fake)
        port_file = os.path.join(self.workdir, "follow.port")
        proc = self.procs.start("fake-supervisor", [
            fake, "--port", "0", "--port-file", port_file, "--quiet",
            "--log", os.path.join(self.workdir, "follow.jsonl"),
            "--task", "%s:%s" % (TASK_ID, SECRET), "--customer", CUSTOMER,
            "--control", "result=never&hold_ms=60000"])
        if not wait_until(lambda: os.path.exists(port_file) and
                          os.path.getsize(port_file) > 0, 10):
            raise Failed("the fake supervisor did not start")
        with open(port_file) as f:
            port = int(f.read())

        def holding():
            return json.loads(http(port, "/_control/stats")[1])["holding"]

        def prime(cd):
            (sock,) = cd.socks(1)
            sock.send(b"".join(
                b'PUTNOTIF severity=failure time=%d host=%s plugin=followed '
                b'message="followed %d is down"\n'
                % (START_TIME, HOST.encode(), i) for i in range(FOLLOWS)))
            err = sock.replies(FOLLOWS)
            sock.close()
            if err:
                raise Failed("PUTNOTIF answered: %s" % err)
            if not wait_until(lambda: holding() >= FOLLOWS, 30):
                raise Failed("only %d of %d follows held" % (holding(),
                                                             FOLLOWS))
        followed = ('  FollowLimit %d\n  <Task "followed">\n'
                    '    URL "http://127.0.0.1:%d"\n    TaskID "%s"\n'
                    '    Secret "%s"\n    Plugin "followed"\n'
                    '    FollowJob true\n  </Task>\n'
                    % (FOLLOWS + 100, port, TASK_ID, SECRET))
        try:
            rate, _, got, sent = self.rate_run(
                "follow", "follow", options=followed, prime=prime)
            self.r["follow"] = rate
            self.cond.append("follow: %d jobs of another Task followed, each "
                             "result request held by the supervisor that "
                             "created them (tests/fake_supervisor), while "
                             "%d notifications were delivered: %d jobs "
                             "received" % (FOLLOWS, sent, got))
        finally:
            self.procs.stop(proc)

    def m_spool(self):
        spool = os.path.join(self.workdir, "spool")
        rate, _, got, sent = self.rate_run(
            "spool", "spool", options='  SpoolDir "%s"\n  SpoolLimit %d\n'
            % (spool, max(N, 10000)))
        self.r["spool"] = rate
        fs = run_text(["df", "-PT", self.workdir]).splitlines()[-1].split()
        self.cond.append("spool: SpoolDir on %s (%s)" % (fs[0], fs[1])
                         if len(fs) > 1 else "spool: SpoolDir in /tmp")

    def m_drain(self):
        """An outage: BACKLOG jobs queue while nothing listens on the
        supervisor's port (RSS before and after), then a second nginx
        comes up there and the backlog drains."""
        port = free_port()
        cd = Collectd(self, "drain", plugin_config(
            ["http://127.0.0.1:%d" % port],
            "  RetryInterval 0.2\n  MaxRetryInterval 1\n")).start()
        up = None
        try:
            socks = cd.socks(FEEDERS)
            feed(socks, 1)
            time.sleep(1.5)  # the first refused attempts: all set up
            rss0 = cd.rss_kib()
            sent, feed_s = feed(socks, BACKLOG - 1, first=1)
            sent += 1
            time.sleep(0.5)
            rss1 = cd.rss_kib()
            dropped = cd.grep(r"notify_theeye plugin: .*(queue full|dropped)")
            if dropped:
                raise Failed("jobs were dropped during the outage: %s"
                             % dropped[0].strip())
            self.r["rss_empty"] = rss0 / 1024.0
            self.r["rss_full"] = rss1 / 1024.0
            self.r["rss_per_job"] = (rss1 - rss0) * 1024.0 / max(1, sent - 1)
            self.r["backlog_feed"] = sent / feed_s
            log("  outage: %d jobs queued in %.1f s (%.0f notifications/s); "
                "RSS %.1f MiB -> %.1f MiB: %.0f bytes per job (body %d)"
                % (sent, feed_s, sent / feed_s, rss0 / 1024, rss1 / 1024,
                   self.r["rss_per_job"], BODY_LEN))
            if sent < BACKLOG:
                self.cond.append("drain: only %d of %d jobs queued within "
                                 "%.0f s" % (sent, BACKLOG, FEED_SECONDS))
            for s in socks:
                s.close()
            up = Nginx(self, "drain", [("drain", port)])
            alog = up.log("drain")
            up.start()
            got = alog.wait(sent, DRAIN_SECONDS)
            if got == 0:
                raise Failed("nothing drained in %.0f s" % DRAIN_SECONDS)
            if got >= sent:
                span = alog.times[sent - 1] - alog.times[0]
            else:
                span = time.time() - alog.times[0]
            self.r["drain"] = got / span if span > 0 else float("nan")
            log("  drain: %d of %d jobs in %.1f s: %.0f jobs/s"
                % (got, sent, span, self.r["drain"]))
            self.cond.append("drain: %d jobs queued during the outage (no "
                             "listener), then nginx up: %d delivered in %.1f "
                             "s (bounded at %.0f s)"
                             % (sent, got, span, DRAIN_SECONDS))
        finally:
            cd.stop()
            if up is not None:
                up.stop()

    # -- the run --

    def machine(self):
        model = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        curl = run_text(["curl-config", "--version"])
        gov = "?"
        try:
            with open("/sys/devices/system/cpu/cpu0/cpufreq/"
                      "scaling_governor") as f:
                gov = f.read().strip()
        except OSError:
            gov = "n/a"
        collectd_v = run_text([COLLECTD, "-h"]).splitlines()
        collectd_v = next((l for l in collectd_v if l.startswith("collectd ")),
                          "?").split(",")[0]
        return [
            ("nproc", str(os.cpu_count())),
            ("CPU", model),
            ("governor", gov),
            ("kernel", platform.release()),
            ("collectd", collectd_v),
            ("libcurl", curl),
            ("nginx", run_text(["nginx", "-v"]).replace("nginx version: ",
                                                        "")),
            ("wrk", run_text(["wrk", "-v"]).splitlines()[0].split(" [")[0]),
            ("python", platform.python_version()),
            ("source", source_revision()),
        ]

    def run(self):
        started = time.monotonic()
        self.stamp = datetime.datetime.now(datetime.timezone.utc)
        self.out_dir = os.path.join(OUT, self.stamp.strftime("%Y%m%dT%H%M%SZ"))
        os.makedirs(self.out_dir, exist_ok=True)
        machine = self.machine()
        idle0 = cpu_idle(1.0)
        load0 = loadavg()
        all0, _, steal0 = cpu_times()
        log("== notify_theeye bench, %s, work directory %s"
            % (self.stamp.strftime("%Y-%m-%d %H:%M:%S UTC"), self.workdir))
        for k, v in machine:
            log("   %-9s %s" % (k, v))
        log("   before: CPU idle %.0f%% over 1 s, load average %s"
            % (idle0, load0))
        servers = ["wrk1", "wrk4", "steady", "burst", "conn4", "exec", "rtt",
                   "latency", "pair", "follow", "spool"]
        self.nginx = Nginx(self, "main", [(s, free_port()) for s in servers])
        self.nginx.start()
        steps = [("wrk,steady,conn4", self.m_rates,
                  ["wrk_c1", "wrk_c4", "steady", "conn4"]),
                 ("exec", self.m_exec, ["exec"]),
                 ("rtt", self.m_rtt, ["rtt_none_p50", "rtt_healthy_p50",
                                      "rtt_hung_p50"]),
                 ("latency", self.m_latency, ["lat_p50", "lat_p99"]),
                 ("pair", self.m_pair, ["pair"]),
                 ("follow", self.m_follow, ["follow"]),
                 ("spool", self.m_spool, ["spool"]),
                 ("drain", self.m_drain, ["drain", "rss_per_job"])]
        for name, step, keys in steps:
            if not any(wanted(n) for n in name.split(",")):
                for k in keys:
                    self.notes.setdefault(k, "not run (BENCH_ONLY)")
                continue
            log("-- %s" % name)
            t = time.monotonic()
            try:
                step()
            except (Failed, OSError, subprocess.SubprocessError) as e:
                self.fail(keys, "%s: %s" % (name, e))
            log("   (%.1f s)" % (time.monotonic() - t))
        self.nginx.stop()
        elapsed = time.monotonic() - started
        all1, _, steal1 = cpu_times()
        steal = 100.0 * (steal1 - steal0) / max(1, all1 - all0)
        conditions = [
            "started %s, took %.0f s" % (
                self.stamp.strftime("%Y-%m-%d %H:%M:%S UTC"), elapsed),
            "CPU idle before %.0f%%; load average before %s, after %s; "
            "CPU time stolen by the hypervisor during the run %.1f%%"
            % (idle0, load0, loadavg(), steal),
            "%d Task blocks with regex filters (Host, Plugin, Message), the "
            "last one matches; the guards on in each (PauseFile, "
            "IgnoreFirstOkay, Confirm, Budget, TaskBudget, CancelOnRecovery), "
            "none holding a job back; body %d bytes; "
            "collectd without logfile (log to stderr)" % (TASKS, BODY_LEN),
            "rates: %d notifications over %d unixsock connections, "
            "pipelined, at most %d ahead of the jobs nginx logged (the "
            "queue stays short), timed from the first PUTNOTIF to the last "
            "job; wrk -t1 for %d s; %d rounds of wrk and the plugin in "
            "turn; nginx %s worker(s)"
            % (N, FEEDERS, WINDOW, WRK_SECONDS, ROUNDS, NGINX_WORKERS),
            "NotificationExec+curl: %d notifications" % EXEC_N,
            "PUTNOTIF round trips: %d per case, in turn, one connection "
            "each, Python client (its own overhead is in every case alike)"
            % RTT_N,
        ] + self.cond
        rows = self.rows()
        self.report(machine, conditions, rows)

    # -- the table --

    def rows(self):
        r, notes = self.r, self.notes
        rows = []

        def row(key, figure, value, unit, ratio=None, ratio_text=None,
                target=None, met=None, note=None):
            rows.append(dict(key=key, figure=figure, value=value, unit=unit,
                             ratio=ratio, ratio_text=ratio_text,
                             target=target, met=met, note=note))

        def missing(key):
            return notes.get(key, "not measured")

        def rate_row(key, figure, base_key, base_name, want):
            if key not in r:
                row(key, figure, None, "jobs/s", target="≥ %.2g× %s"
                    % (want, base_name), note=missing(key))
                return
            if base_key not in r:
                row(key, figure, r[key], "jobs/s", target="≥ %.2g× %s"
                    % (want, base_name), note="no %s figure" % base_name)
                return
            ratio = r[key] / r[base_key]
            row(key, figure, r[key], "jobs/s", ratio,
                "%.2f× %s" % (ratio, base_name),
                "≥ %.2g× %s" % (want, base_name), ratio >= want)

        for c in (1, 4):
            k = "wrk_c%d" % c
            row(k, "wrk -c%d (ceiling)" % c, r.get(k), "req/s",
                note=None if k in r else missing(k))
        rate_row("steady", "plugin, Connections 1", "wrk_c1", "wrk -c1",
                 0.8)
        if "burst" in r and "wrk_c1" in r:
            ratio = r["burst"] / r["wrk_c1"]
            row("burst", "plugin, Connections 1, %d at once" % N, r["burst"],
                "jobs/s", ratio, "%.2f× wrk -c1" % ratio)
        rate_row("conn4", "plugin, Connections 4", "wrk_c4", "wrk -c4", 0.8)
        row("exec", "NotificationExec+curl", r.get("exec"), "jobs/s",
            note=None if "exec" in r else missing("exec"))
        if "steady" in r and "exec" in r:
            # NotificationExec runs its curls side by side: the plugin is
            # compared at its best, and at one connection.
            best = "conn4" if r.get("conn4", 0) > r["steady"] else "steady"
            ratio = r[best] / r["exec"]
            row("vs_exec", "plugin vs NotificationExec+curl", ratio, "×",
                ratio, "%.0f× (Connections %d; %.0f× at 1)"
                % (ratio, 4 if best == "conn4" else 1,
                   r["steady"] / r["exec"]), "≥ 100×", ratio >= 100)
        else:
            row("vs_exec", "plugin vs NotificationExec+curl", None, "×",
                target="≥ 100×", note=missing("steady" if "steady" not in r
                                              else "exec"))
        for q, qn in (("p50", "median"), ("p99", "p99")):
            k = "rtt_none_%s" % q
            row(k, "PUTNOTIF round trip %s, no notification plugin" % qn,
                r.get(k), "µs", note=None if k in r else
                missing("rtt_none_p50"))
        for case in ("healthy", "hung"):
            for q, qn, want in (("p50", "median", 2.0), ("p99", "p99", 20.0)):
                k = "rtt_%s_%s" % (case, q)
                base = "rtt_none_%s" % q
                target = "≤ +%g µs" % want
                if case == "healthy" and q == "p99":
                    target = None  # the p99 is bounded for a hung one only
                if k not in r or base not in r:
                    row(k, "PUTNOTIF round trip %s, %s supervisor"
                        % (qn, case), r.get(k), "µs", target=target,
                        note=missing("rtt_%s_p50" % case))
                    continue
                added = r[k] - r[base]
                row(k, "PUTNOTIF round trip %s, %s supervisor" % (qn, case),
                    r[k], "µs", added, "%+.1f µs added" % added, target,
                    None if target is None else added <= want)
        for q, want in (("p50", 1.0), ("p99", 5.0)):
            k = "lat_%s" % q
            row(k, "notification → job %s at %g/s" % (q, LAT_RATE),
                r.get(k), "ms", target="≤ %g ms" % want,
                met=(r[k] <= want) if k in r else None,
                note=None if k in r else missing(k))
        rate_row("drain", "drain of a %d-job backlog" % BACKLOG, "steady",
                 "steady", 0.8)
        rate_row("pair", "healthy supervisor next to a hung one", "steady",
                 "alone", 0.9)
        rate_row("follow", "with %d jobs followed, held" % FOLLOWS, "steady",
                 "without", 0.9)
        rate_row("spool", "with SpoolDir", "steady", "without", 0.5)
        if "rss_per_job" in r:
            row("rss_empty", "collectd RSS, queue empty", r["rss_empty"],
                "MiB")
            row("rss_full", "collectd RSS, %d jobs queued" % BACKLOG,
                r["rss_full"], "MiB")
            beyond = r["rss_per_job"] - BODY_LEN
            row("rss_per_job", "memory per queued job beyond its %d-byte "
                "body" % BODY_LEN, beyond, "bytes", beyond,
                "%.0f B/job in all" % r["rss_per_job"], "≤ 1024 B",
                beyond <= 1024)
        else:
            row("rss_per_job", "memory per queued job beyond its body", None,
                "bytes", target="≤ 1024 B", note=missing("rss_per_job"))
        return rows

    def report(self, machine, conditions, rows):
        def fmt(v):
            if v is None:
                return ""
            if abs(v) >= 100:
                return "%.0f" % v
            if abs(v) >= 10:
                return "%.1f" % v
            return "%.2f" % v
        table = [("figure", "value", "ratio", "target", "met?")]
        for x in rows:
            value = (fmt(x["value"]) + " " + x["unit"]) \
                if x["value"] is not None else x["note"] or "—"
            met = "" if x["met"] is None else ("yes" if x["met"] else "NO")
            if x["value"] is None and x["target"]:
                met = "—"
            table.append((x["figure"], value, x["ratio_text"] or "",
                          x["target"] or "", met))
        widths = [max(len(t[i]) for t in table) for i in range(5)]
        widths[1] = min(widths[1], 48)
        lines = []
        for i, t in enumerate(table):
            lines.append("  ".join(c.ljust(w) for c, w in zip(t, widths))
                         .rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        text = ["== machine"] + ["   %-9s %s" % kv for kv in machine] + \
            ["== conditions"] + ["   " + c for c in conditions] + \
            ["== results"] + lines
        log("")
        log("\n".join(text))
        with open(os.path.join(self.out_dir, "results.txt"), "w") as f:
            f.write("\n".join(text) + "\n")
        tsv = os.path.join(self.out_dir, "results.tsv")
        with open(tsv, "w") as f:
            f.write("# " + "; ".join("%s %s" % kv for kv in machine) + "\n")
            for c in conditions:
                f.write("# %s\n" % c)
            f.write("key\tfigure\tvalue\tunit\tratio\ttarget\tmet\tnote\n")
            for x in rows:
                f.write("\t".join([
                    x["key"], x["figure"],
                    "" if x["value"] is None else "%.6g" % x["value"],
                    x["unit"],
                    "" if x["ratio"] is None else "%.6g" % x["ratio"],
                    x["target"] or "",
                    "" if x["met"] is None else ("yes" if x["met"] else "no"),
                    x["note"] or ""]) + "\n")
        self.plot(rows)
        log("== written: %s (results.tsv, results.txt, results.png)"
            % self.out_dir)
        latest = os.path.join(OUT, "latest")
        try:
            if os.path.islink(latest):
                os.unlink(latest)
            os.symlink(os.path.basename(self.out_dir), latest)
        except OSError:
            pass

    def plot(self, rows):
        """Two panels: the delivery rates (log scale), and each target as
        measured / required (1 = just met, above = better)."""
        by = {x["key"]: x for x in rows}
        rates = os.path.join(self.out_dir, "rates.dat")
        with open(rates, "w") as f:
            for key, label in (("wrk_c1", "wrk -c1"), ("wrk_c4", "wrk -c4"),
                               ("steady", "plugin C1"),
                               ("burst", "C1, burst"),
                               ("conn4", "plugin C4"),
                               ("drain", "drain"), ("pair", "next to hung"),
                               ("follow", "follows held"),
                               ("spool", "SpoolDir"),
                               ("exec", "Exec+curl")):
                v = by.get(key, {}).get("value")
                f.write('"%s"\t%s\n' % (label, "%.6g" % v if v else "NaN"))
        targets = os.path.join(self.out_dir, "targets.dat")
        with open(targets, "w") as f:
            for x in rows:
                if x["target"] is None:
                    continue
                score = self.score(x)
                if score is None:
                    continue
                color = 0x2CA02C if x["met"] else 0xD62728
                label = SHORT.get(x["key"], x["key"])
                f.write('"%s"\t%.6g\t%d\n' % (label, score, color))
        png = os.path.join(self.out_dir, "results.png")
        title = "notify\\_theeye bench, %s, %s CPUs" % (
            self.stamp.strftime("%Y-%m-%d"), os.cpu_count())
        if not shutil.which("gnuplot"):
            log("== gnuplot not found: no plot")
            return
        out = run_text(["gnuplot", "-e", "rates='%s'; targets='%s'; "
                        "out='%s'; heading='%s'" % (rates, targets, png,
                                                    title),
                        os.path.join(HERE, "plot.gp")], timeout=60)
        if out:
            log("gnuplot: %s" % out)

    @staticmethod
    def score(x):
        """measured / required, so that above 1 is met for every kind of
        target."""
        m = re.match(r"([≥≤]) \+?([0-9.]+)", x["target"])
        if not m or x["ratio"] is None and x["value"] is None:
            return None
        want = float(m.group(2))
        if x["key"].startswith("rtt_"):
            added = x["ratio"]
            return want / max(added, want / 100.0)
        if x["key"] == "rss_per_job":
            return want / max(x["value"], want / 100.0)
        if m.group(1) == "≤":
            return want / max(x["value"], want / 100.0)
        if x["ratio"] is None:
            return None
        return x["ratio"] / want


# Labels of the targets' panel of the plot.
SHORT = {"steady": "C1 vs wrk -c1", "conn4": "C4 vs wrk -c4",
         "vs_exec": "vs Exec+curl", "rtt_healthy_p50": "RTT healthy p50",
         "rtt_hung_p50": "RTT hung p50", "rtt_hung_p99": "RTT hung p99",
         "lat_p50": "latency p50", "lat_p99": "latency p99",
         "drain": "drain", "pair": "next to hung", "spool": "SpoolDir",
         "follow": "follows held",
         "rss_per_job": "memory/job"}


def quantiles(values):
    """(median, 99th percentile); in µs for nanosecond samples."""
    if not values:
        raise Failed("no samples")
    s = sorted(values)
    med = statistics.median(s)
    p99 = s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]
    if isinstance(s[0], int):
        return med / 1000.0, p99 / 1000.0
    return med, p99


def pin_rtt(collectds):
    """The round trips' client and collectd's threads on one CPU, so that
    each round trip is a switch between two threads of one CPU (across
    CPUs, a VM's wake-up costs tens of µs, at random); the plugin's own
    threads on another, as they would run beside collectd's. Returns the
    client's former CPU set (None: not pinned)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or os.environ.get("BENCH_RTT_PIN", "1") == "0":
        return None
    main, other = cpus[0], cpus[1]
    for cd in collectds:
        for tid in os.listdir("/proc/%d/task" % cd.proc.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (cd.proc.pid, tid)) as f:
                    name = f.read().strip()
                os.sched_setaffinity(int(tid), {other} if name in (
                    "notify_theeye", "theeye_spool") else {main})
            except OSError:
                pass
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {main})
    return before


def thread_cpu(pid):
    """CPU seconds (user + system) used so far by each of a process's
    threads, summed by thread name."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) \
            / tick
    return out


def source_revision():
    """The source tree's commit, and whether it has uncommitted changes
    (the plugin measured is the one built from it)."""
    head = run_text(["git", "-C", SRCDIR, "rev-parse", "--short", "HEAD"])
    if not re.fullmatch(r"[0-9a-f]{4,40}", head):
        return "not a git checkout"
    dirty = run_text(["git", "-C", SRCDIR, "status", "--porcelain",
                      "--untracked-files=no"])
    return head + (" with uncommitted changes" if dirty else "")


def cpu_times():
    """(all, idle + iowait, steal) jiffies of the whole machine so far."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4], fields[7]


def cpu_idle(seconds):
    t0, i0, _ = cpu_times()
    time.sleep(seconds)
    t1, i1, _ = cpu_times()
    return 100.0 * (i1 - i0) / max(1, t1 - t0)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def preflight():
    missing = [t for t in ("nginx", "wrk", "gnuplot", "curl")
               if not shutil.which(t)]
    if COLLECTD is None or not os.path.exists(COLLECTD):
        missing.append("collectd")
    if not os.path.exists(os.path.join(PLUGIN_DIR, "notify_theeye.so")):
        sys.exit("bench: %s/notify_theeye.so is missing: run make first"
                 % PLUGIN_DIR)
    if missing:
        sys.exit("bench: missing: %s (as root: sh bootstrap.sh bench, or "
                 "apt-get install nginx-light wrk gnuplot-nox curl)"
                 % " ".join(missing))


BENCH = None


def main():
    global BENCH
    preflight()
    BENCH = Bench()
    # A stop by SIGTERM or SIGHUP still stops every process started.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit("bench: stopped by a signal"))
    try:
        BENCH.run()
        # Unmet targets are figures, not failures; a measurement that
        # could not be made is.
        status = 1 if BENCH.errors else 0
    finally:
        BENCH.procs.stop_all()
        if KEEP:
            log("== work directory kept: %s" % BENCH.workdir)
        else:
            shutil.rmtree(BENCH.workdir, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
