#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The herd test: a fleet of real collectd daemons, each running the plugin
and holding jobs, against one supervisor that can take only N job requests
a second and has just come back from an outage.

Why: a plugin that retries well on its own can still hurt when a whole
fleet retries together. After an outage every host holds jobs; if they all
come back at the same instant (the same Retry-After, backoff waits in
step), the supervisor sees a wave many times its capacity, sheds most of
it, and the next wave comes in step again: delivery takes longer and the
supervisor is hammered while it recovers. This measures what the
supervisor sees, so that the retry policy can be judged on figures.

What it does, for each outage kind (--kind, default both):
  503   the supervisor (tests/fake_supervisor with down= and capacity=)
        answers 503 with Retry-After to every job request during the
        outage: a proxy in front of a supervisor that is restarting;
  down  nothing listens during the outage (connection refused); the
        supervisor is started when it ends.
Each of --hosts collectd daemons (one Task, the same small configuration:
logfile, unixsock, notify_theeye) gets --jobs notifications over unixsock
during the outage, each with a unique tag in its message; --outage seconds
later the supervisor comes back with --capacity job requests a second
(the excess answered 503 with Retry-After --retry-after). Measured: job
requests the supervisor sees, accepts and refuses per second, its peak
against its capacity, the time until every job is delivered, jobs lost
(a tag never accepted) and jobs duplicated (a tag accepted twice); and the
daemons' memory, CPU and start time. Prints a table; writes a TSV per
kind, summary.tsv, results.txt and a PNG (gnuplot, bench/herd.gp) into
bench/results/herd-<time>/ of the build directory (--out to change).
--compare DIR overlays an earlier run's figures (before/after a change).

--check is the short variant for `make check`: fewer hosts, a shorter
outage, and assertions (0 lost, no duplicate that the at-least-once
semantics do not allow, every job delivered within a bound, peak accepted
rate <= capacity, peak seen rate after the recovery <= a stated factor of
the capacity); exit status 0, 1 (an assertion failed) or 99 (a hard
error: collectd, the fake supervisor or the plugin is missing).

Everything runs on 127.0.0.1. Every process is started here and stopped
here by its PID; every wait has a deadline. Python 3 standard library
only. Environment: NT_SRCDIR, NT_BUILDDIR, NT_PLUGIN_DIR,
NT_FAKE_SUPERVISOR, NT_COLLECTD, as `make check` exports them.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
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
FAKE_SUPERVISOR = os.environ.get("NT_FAKE_SUPERVISOR") or os.path.join(
    BUILDDIR, "tests", "fake_supervisor")
COLLECTD = os.environ.get("NT_COLLECTD") or shutil.which(
    "collectd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

TASK_ID = "5f0c1a2b3c4d5e6f7a8b9c0d"
SECRET = "0123456789abcdef" * 4
PREFIX = "notify_theeye plugin: "
HARD_ERROR = 99
CLK_TCK = os.sysconf("SC_CLK_TCK")

CONF = """\
Hostname "{host}"
FQDNLookup false
Interval 60
ReadThreads 1
WriteThreads 1
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/collectd.log"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
PluginDir "{plugin_dir}"
LoadPlugin notify_theeye
<Plugin notify_theeye>
  URL "{url}"
  Connections {connections}
  Timeout {timeout_ms}
  RetryInterval {retry_interval}
  MaxRetryInterval {max_retry_interval}
  MaxAttempts {max_attempts}
  MaxAge {max_age}
  <Task "herd">
    TaskID "{task_id}"
    Secret "{secret}"
  </Task>
</Plugin>
"""

# The short variant's sizes and bounds (--check): 60 hosts against a
# supervisor of 30 job requests a second keep the fleet-to-capacity ratio
# of the full run (200 against 100) within a factor of 1.5, and the whole
# run (start, two outages, delivery, stop) under 90 s on 2 cores.
CHECK = dict(hosts=60, jobs=4, capacity=30, retry_after="3-6", outage=6,
             deliver_factor=3.0, seen_factor=2.5, run_deadline=85.0)
FULL = dict(hosts=200, jobs=5, capacity=100, retry_after="5-10", outage=20,
            deliver_factor=None, seen_factor=None, run_deadline=900.0)


def log(text=""):
    print(text, flush=True)


class Skip(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="The herd test: many collectd daemons running the "
        "plugin against one supervisor of limited capacity, after an "
        "outage.")
    p.add_argument("--check", action="store_true",
                   help="the short variant for make check, with assertions")
    p.add_argument("--kind", action="append", choices=("503", "down"),
                   help="outage kind (repeatable; default: 503 and down)")
    p.add_argument("--hosts", type=int, help="collectd daemons")
    p.add_argument("--jobs", type=int, help="notifications per daemon")
    p.add_argument("--capacity", type=int,
                   help="job requests the supervisor takes per second")
    p.add_argument("--retry-after",
                   help="Retry-After (s) of the supervisor's 503s: S, or "
                   "A-B for a whole number drawn from A to B per answer")
    p.add_argument("--outage", type=float,
                   help="seconds the outage lasts after the notifications")
    p.add_argument("--retry-interval", type=float, default=1)
    p.add_argument("--max-retry-interval", type=float, default=60)
    p.add_argument("--max-attempts", type=int, default=5)
    p.add_argument("--max-age", type=float, default=600)
    p.add_argument("--timeout-ms", type=int, default=5000)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--deliver-factor", type=float,
                   help="assert: every job delivered within this many "
                   "times the least time the capacity allows (jobs / "
                   "capacity), from the recovery")
    p.add_argument("--seen-factor", type=float,
                   help="assert: peak job requests seen per second after "
                   "the recovery <= this times the capacity")
    p.add_argument("--run-deadline", type=float,
                   help="the whole run's bound, seconds")
    p.add_argument("--label", default="",
                   help="a name for this run in the table and the plot")
    p.add_argument("--compare", metavar="DIR",
                   help="an earlier run's output directory, overlaid")
    p.add_argument("--out", metavar="DIR", help="output directory")
    p.add_argument("--keep", action="store_true",
                   help="keep the daemons' directories")
    a = p.parse_args(argv)
    defaults = CHECK if a.check else FULL
    for key, value in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    a.kinds = a.kind or ["503", "down"]
    for name in ("hosts", "jobs", "capacity", "connections", "max_attempts",
                 "timeout_ms"):
        if getattr(a, name) <= 0:
            p.error("--%s must be above 0" % name.replace("_", "-"))
    spread = re.match(r"^(\d+)(?:-(\d+))?$", str(a.retry_after))
    if (not spread or (spread.group(2) is not None and
                       int(spread.group(2)) < int(spread.group(1))) or
            a.outage < 0):
        p.error("--retry-after takes S or A-B (whole seconds); --outage "
                "must not be negative")
    a.retry_after = str(a.retry_after)
    return a


# ---- processes ------------------------------------------------------------

class Procs:
    """Every process started here, so that each is stopped by its PID."""

    def __init__(self):
        self.live = []

    def start(self, args, out_path, cwd=None):
        out = open(out_path, "ab")
        try:
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=cwd)
        except OSError:
            out.close()
            raise
        p.herd_out = out
        self.live.append(p)
        return p

    def signal(self, p, sig):
        if p in self.live and p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass

    def reap(self, p, deadline):
        """Waits for p until deadline (monotonic), then kills it."""
        if p not in self.live:
            return p.returncode
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log("herd: pid %d did not stop in time: killed" % p.pid)
            p.kill()
            p.wait(10)
        self.live.remove(p)
        p.herd_out.close()
        return p.returncode

    def stop(self, p, timeout=15):
        self.signal(p, signal.SIGTERM)
        return self.reap(p, time.monotonic() + timeout)

    def stop_all(self):
        for p in list(self.live):
            self.signal(p, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in list(self.live):
            self.reap(p, deadline)


class PortHold:
    """The supervisor's port on 127.0.0.1, kept bound (never listening)
    while no supervisor has it: connections to it are refused, as from a
    supervisor that is down, and the kernel hands it to no other socket (a
    test beside this one, or a daemon's own connection as its source port)
    meanwhile."""

    def __init__(self):
        self.sock = None
        self.port = None
        self.hold()

    def hold(self):
        if self.sock is None:
            self.sock = socket.socket()
            # The supervisor just gone leaves its connections in TIME_WAIT.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", self.port or 0))
            self.port = self.sock.getsockname()[1]

    def release(self):
        """Just before a supervisor binds it."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def proc_cpu(pid):
    """User + system CPU seconds of pid so far (0 once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_memory(pid):
    """(RSS, PSS) of pid in KiB; PSS shares the libraries out fairly."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def proc_threads(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return 0


# ---- the supervisor -------------------------------------------------------

class Supervisor:
    """tests/fake_supervisor with capacity= and down=, on a fixed port."""

    def __init__(self, procs, workdir, port_hold, name, capacity, retry_after,
                 down):
        self.procs = procs
        self.workdir = workdir
        self.port_hold = port_hold
        self.port = port_hold.port
        self.log_path = os.path.join(workdir, name + ".supervisor.jsonl")
        self.out_path = os.path.join(workdir, name + ".supervisor.out")
        self.capacity = capacity
        self.retry_after = retry_after
        self.down = down
        self.proc = None
        self.tail = LogTail(self.log_path)
        self.requests = []
        self.returncode = None

    def start(self, deadline):
        port_file = os.path.join(self.workdir, "supervisor.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [FAKE_SUPERVISOR, "--port", str(self.port), "--port-file",
                port_file, "--log", self.log_path, "--quiet",
                "--task", "%s:%s" % (TASK_ID, SECRET),
                "--capacity", str(self.capacity),
                "--retry-after", str(self.retry_after)]
        if self.down:
            args += ["--control", "down=86400"]
        self.port_hold.release()
        self.proc = self.procs.start(args, self.out_path)
        if not wait_until(lambda: os.path.exists(port_file) or
                          self.proc.poll() is not None,
                          max(1, deadline - time.monotonic())) or \
                self.proc.poll() is not None:
            raise RuntimeError("fake_supervisor did not start (see %s)"
                               % self.out_path)
        self.cpu0 = proc_cpu(self.proc.pid)

    def control(self, query):
        status, body = http(self.port, "/_control?" + query)
        if status != 200:
            raise RuntimeError("/_control?%s: %d %s" % (query, status, body))

    def stats(self):
        status, body = http(self.port, "/_control/stats")
        return json.loads(body) if status == 200 else None

    def cpu(self):
        return proc_cpu(self.proc.pid) - self.cpu0 if self.proc else 0.0

    def stop(self):
        if self.proc is not None:
            self.returncode = self.procs.stop(self.proc)
            self.proc = None
            self.port_hold.hold()

    def poll(self):
        """Reads the log lines written since the last call."""
        for line in self.tail.new_lines():
            self.requests.append(json.loads(line))
        return self.requests


# ---- the fleet ------------------------------------------------------------

class Host:
    def __init__(self, index, workdir):
        self.index = index
        self.name = "h%03d" % index
        self.dir = os.path.join(workdir, self.name)
        self.sock = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "collectd.log")
        self.proc = None
        self.log_pos = 0

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def ready(self):
        return os.path.exists(self.sock) and \
            "Initialization complete" in self.log_text()

    def putnotif(self, lines, timeout=10):
        """Sends the PUTNOTIF lines on one connection; returns when every
        reply came (each once the plugin queued the job)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.sock)
            s.sendall("".join(lines).encode())
            data = b""
            while data.count(b"\n") < len(lines):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        replies = data.decode(errors="replace").splitlines()
        bad = [r for r in replies if not r.startswith("0 ")]
        if len(replies) != len(lines) or bad:
            raise RuntimeError("%s: PUTNOTIF replies %r" % (self.name,
                                                            replies))


class Fleet:
    def __init__(self, procs, workdir, args, url):
        self.procs = procs
        self.args = args
        self.hosts = [Host(i, workdir) for i in range(args.hosts)]
        for h in self.hosts:
            os.makedirs(h.dir)
            with open(os.path.join(h.dir, "collectd.conf"), "w") as f:
                f.write(CONF.format(
                    host=h.name, dir=h.dir, plugin_dir=PLUGIN_DIR, url=url,
                    connections=args.connections,
                    timeout_ms=args.timeout_ms,
                    retry_interval=args.retry_interval,
                    max_retry_interval=args.max_retry_interval,
                    max_attempts=args.max_attempts, max_age=args.max_age,
                    task_id=TASK_ID, secret=SECRET))

    def start(self, deadline):
        t0 = time.monotonic()
        for h in self.hosts:
            h.proc = self.procs.start(
                [COLLECTD, "-f", "-C", os.path.join(h.dir, "collectd.conf")],
                os.path.join(h.dir, "collectd.out"), cwd=h.dir)
        waiting = list(self.hosts)
        while waiting and time.monotonic() < deadline:
            dead = [h for h in waiting if h.proc.poll() is not None]
            if dead:
                raise RuntimeError("collectd %s exited with %s (see %s)"
                                   % (dead[0].name, dead[0].proc.returncode,
                                      dead[0].dir))
            waiting = [h for h in waiting if not h.ready()]
            time.sleep(0.05)
        if waiting:
            raise RuntimeError("%d collectd daemons not ready in time"
                               % len(waiting))
        self.cpu0 = self.cpu()
        return time.monotonic() - t0

    def cpu(self):
        return sum(proc_cpu(h.proc.pid) for h in self.hosts
                   if h.proc is not None)

    def memory(self):
        """(total RSS, total PSS, median RSS, threads) in KiB."""
        mem = [proc_memory(h.proc.pid) for h in self.hosts]
        return (sum(m[0] for m in mem), sum(m[1] for m in mem),
                statistics.median(m[0] for m in mem),
                sum(proc_threads(h.proc.pid) for h in self.hosts))

    def feed(self, kind, jobs):
        """jobs notifications to every host at once; returns {tag: time
        the plugin had queued it}."""
        now = int(time.time())

        def one(h):
            tags = [tag(kind, h.index, j) for j in range(jobs)]
            h.putnotif(['PUTNOTIF severity=failure time=%d host=%s '
                        'plugin=herd type=herd type_instance=j%d '
                        'message="%s"\n' % (now, h.name, j, t)
                        for j, t in enumerate(tags)])
            done = time.time()
            return {t: done for t in tags}

        fed = {}
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            for result in pool.map(one, self.hosts):
                fed.update(result)
        return fed

    def plugin_lines(self, h):
        """The plugin's log lines since the last call."""
        text = h.log_text()
        new = text[h.log_pos:]
        h.log_pos = len(text)
        return [l for l in new.splitlines() if PREFIX in l]

    def stop(self):
        for h in self.hosts:
            self.procs.signal(h.proc, signal.SIGTERM)
        deadline = time.monotonic() + 20
        codes = [self.procs.reap(h.proc, deadline) for h in self.hosts]
        for h in self.hosts:
            h.proc = None
        return codes


def tag(kind, host, job):
    return "herd-%s-h%03d-j%d" % (kind, host, job)


TAG_RX = re.compile(r"herd-(503|down)-h(\d{3})-j(\d+)")


# ---- one scenario ---------------------------------------------------------

def scenario(kind, args, procs, workdir, fleet, port_hold, run_deadline):
    """One outage of the given kind; returns its figures."""
    a = args
    n_jobs = a.hosts * a.jobs
    sup = Supervisor(procs, workdir, port_hold, kind, a.capacity,
                     a.retry_after, down=(kind == "503"))
    fig = {"kind": kind}
    if kind == "503":
        sup.start(run_deadline)
    for h in fleet.hosts:
        fleet.plugin_lines(h)  # what earlier scenarios logged is theirs
    cpu0, wall0 = fleet.cpu(), time.monotonic()

    t_feed = time.time()
    fed = fleet.feed(kind, a.jobs)
    t_fed = time.time()
    fig["feed_s"] = t_fed - t_feed
    # The outage goes on: every daemon's jobs wait, its head retried.
    time.sleep(max(0.0, min(t_fed + a.outage - time.time(),
                            run_deadline - time.monotonic())))
    fig["memory"] = fleet.memory()

    t_rec = time.time()
    if kind == "503":
        sup.control("down=0")
    else:
        sup.start(run_deadline)
    fig["t_rec"] = t_rec
    fig["outage_s"] = t_rec - t_fed

    # Until every tag was accepted, or the deadline.
    deliver_deadline = min(run_deadline - 12, time.monotonic() + a.max_age)
    accepted, seen = set(), 0
    while time.monotonic() < deliver_deadline:
        requests = sup.poll()
        for r in requests[seen:]:
            m = TAG_RX.search(r.get("body", ""))
            if m and r.get("job_id") and 200 <= r["status"] < 300:
                accepted.add(m.group(0))
        seen = len(requests)
        if len(accepted) >= n_jobs:
            break
        time.sleep(0.2)
    # A little longer: a duplicate would show up now, or at the stop.
    time.sleep(min(1.0, max(0.0, run_deadline - 12 - time.monotonic())))
    fig["cpu_collectd_s"] = fleet.cpu() - cpu0
    fig["cpu_supervisor_s"] = sup.cpu()
    fig["wall_s"] = time.monotonic() - wall0
    stats = sup.stats()
    sup.poll()
    fig["plugin"] = plugin_figures(fleet)
    sup.stop()
    fig["supervisor_rc"] = sup.returncode
    sup.poll()
    analyse(fig, sup.requests, stats, fed, a, kind)
    return fig


def plugin_figures(fleet):
    """What the plugins logged in this scenario: jobs created, expired,
    given up, dropped."""
    counts = {"created": 0, "expired": 0, "gave_up": 0, "dropped": 0,
              "maybe": 0}
    for h in fleet.hosts:
        for line in fleet.plugin_lines(h):
            if re.search(r"job \S+ created", line):
                counts["created"] += 1
            elif "expired" in line:
                counts["expired"] += 1
            elif "gave up" in line:
                counts["gave_up"] += 1
            elif "dropped" in line:
                counts["dropped"] += 1
            if "maybe delivered" in line:
                counts["maybe"] += 1
    return counts


def analyse(fig, requests, stats, fed, a, kind):
    t_rec = fig["t_rec"]
    jobs = [r for r in requests if r.get("method") == "POST" and
            TAG_RX.search(r.get("body", "")) and
            TAG_RX.search(r["body"]).group(1) == kind]
    acc = {}
    for r in jobs:
        if r.get("job_id") and 200 <= r["status"] < 300:
            acc.setdefault(TAG_RX.search(r["body"]).group(0), []).append(r)
    fig["jobs"] = len(fed)
    fig["requests"] = len(jobs)
    fig["delivered"] = len(acc)
    fig["lost"] = len(set(fed) - set(acc))
    fig["duplicated"] = sum(len(v) - 1 for v in acc.values())
    # At-least-once allows a second job only when the answer to a request
    # that created one was lost: no answer recorded, or one that came
    # after the plugin's Timeout had given up on it.
    slow = a.timeout_ms / 1000.0 - 0.05
    fig["dup_allowed"] = sum(
        min(len(v) - 1, sum(1 for r in v[:-1] if not r.get("answered") or
                            r["answered"] - r["arrived"] >= slow))
        for v in acc.values())
    firsts = sorted(min(r["arrived"] for r in v) for v in acc.values())
    fig["deliver_s"] = firsts[-1] - t_rec if firsts else float("nan")
    fig["half_s"] = firsts[len(firsts) // 2] - t_rec if firsts else \
        float("nan")
    waits = sorted(min(r["arrived"] for r in acc[t]) - fed[t] for t in acc
                   if t in fed)
    fig["latency_max_s"] = waits[-1] if waits else float("nan")

    # Per wall-clock second, as the supervisor counts its capacity.
    after = [r for r in jobs if r["arrived"] >= t_rec]
    before = [r for r in jobs if r["arrived"] < t_rec]
    sec = {}
    for r in jobs:
        s = int(r["arrived"])
        row = sec.setdefault(s, [0, 0, 0, 0])
        if r["arrived"] >= t_rec:
            row[3] += 1
        row[0] += 1
        if r.get("job_id") and 200 <= r["status"] < 300:
            row[1] += 1
        if r.get("fault") in ("capacity", "down"):
            row[2] += 1
    # Every second from the first request to the last, idle ones too.
    fig["series"] = [(s, sec.get(s, [0, 0, 0, 0]))
                     for s in range(min(sec), max(sec) + 1)] if sec else []
    fig["peak_seen"] = max((row[3] for _, row in sec.items()), default=0)
    fig["peak_accepted"] = max((row[1] for _, row in sec.items()), default=0)
    # The same from the supervisor's own counts (by second of arrival).
    if stats and "seconds" in stats:
        s = stats["seconds"]
        fig["stats_peak_accepted"] = max(s["accepted"], default=0)
        fig["stats_match"] = (sum(s["seen"]) == len(
            [r for r in requests if r.get("method") == "POST"]))
    else:
        fig["stats_peak_accepted"] = None
        fig["stats_match"] = False
    # Finer grain: the sharpest 100 ms after the recovery, as a rate.
    tenth = {}
    for r in after:
        k = int((r["arrived"] - t_rec) * 10)
        tenth[k] = tenth.get(k, 0) + 1
    fig["peak_100ms"] = 10 * max(tenth.values(), default=0)
    fig["refused_after"] = sum(1 for r in after if r.get("fault") ==
                               "capacity")
    fig["requests_outage"] = len(before)
    fig["outage_rate"] = len(before) / fig["outage_s"] if before and \
        fig["outage_s"] > 0 else 0.0
    fig["requests_per_job"] = len(jobs) / max(1, len(fed))
    fig["after_per_job"] = len(after) / max(1, len(fed))
    # Seconds after the recovery in which no job was accepted while jobs
    # still waited (waves that leave the supervisor idle between them).
    if firsts:
        last = int(firsts[-1])
        fig["idle_s"] = sum(1 for s in range(int(t_rec) + 1, last)
                            if sec.get(s, [0, 0, 0, 0])[1] == 0)
    else:
        fig["idle_s"] = 0
    fig["minimum_s"] = len(fed) / a.capacity


# ---- output ---------------------------------------------------------------

def write_series(path, fig, capacity):
    t_rec = fig["t_rec"]
    done = 0
    with open(path, "w") as f:
        f.write("# t\tseen\taccepted\trefused\tseen_after\tdelivered_pct"
                "\tcapacity\n")
        for s, row in fig["series"]:
            done += row[1]
            f.write("%.3f\t%d\t%d\t%d\t%d\t%.2f\t%d\n"
                    % (s + 0.5 - t_rec, row[0], row[1], row[2], row[3],
                       100.0 * min(done, fig["jobs"]) / max(1, fig["jobs"]),
                       capacity))


def rows_for(fig, a):
    mem = fig["memory"]
    return [
        ("daemons x jobs", "%d x %d = %d jobs" % (a.hosts, a.jobs,
                                                   fig["jobs"])),
        ("outage (s)", "%.1f" % fig["outage_s"]),
        ("job requests in the outage", "%d (%.1f/s)"
         % (fig["requests_outage"], fig["outage_rate"])
         if fig["kind"] == "503" else "- (nothing listens)"),
        ("capacity (job requests/s)", "%d" % a.capacity),
        ("peak seen/s after recovery", "%d (%.2fx capacity)"
         % (fig["peak_seen"], fig["peak_seen"] / a.capacity)),
        ("peak over 100 ms, as /s", "%d (%.1fx)"
         % (fig["peak_100ms"], fig["peak_100ms"] / a.capacity)),
        ("peak accepted/s", "%d" % fig["peak_accepted"]),
        ("refused after recovery", "%d" % fig["refused_after"]),
        ("requests per job (after rec.)", "%.2f (%.2f)"
         % (fig["requests_per_job"], fig["after_per_job"])),
        ("half delivered after (s)", "%.1f" % fig["half_s"]),
        ("all delivered after (s)", "%.1f (at best %.1f)"
         % (fig["deliver_s"], fig["minimum_s"])),
        ("seconds with no job accepted", "%d" % fig["idle_s"]),
        ("longest notification -> job (s)", "%.1f" % fig["latency_max_s"]),
        ("lost", "%d" % fig["lost"]),
        ("duplicated (allowed)", "%d (%d)" % (fig["duplicated"],
                                              fig["dup_allowed"])),
        ("plugin: created/expired/gave up", "%d/%d/%d"
         % (fig["plugin"]["created"], fig["plugin"]["expired"],
            fig["plugin"]["gave_up"])),
        ("collectd RSS sum / PSS sum", "%.0f / %.0f MiB"
         % (mem[0] / 1024, mem[1] / 1024)),
        ("collectd RSS median, threads", "%.1f MiB, %d threads"
         % (mem[2] / 1024, mem[3])),
        ("CPU: collectd / supervisor", "%.2f / %.2f s in %.0f s"
         % (fig["cpu_collectd_s"], fig["cpu_supervisor_s"], fig["wall_s"])),
    ]


def checks_for(fig, a):
    """(what, passed) for --check."""
    out = [
        ("0 jobs lost", fig["lost"] == 0),
        ("no duplicate beyond the lost answers (%d allowed)"
         % fig["dup_allowed"], fig["duplicated"] <= fig["dup_allowed"]),
        ("every job delivered within %.0f s of the recovery, %g x the "
         "%.0f s the capacity needs (%.1f s)"
         % (a.deliver_factor * fig["minimum_s"], a.deliver_factor,
            fig["minimum_s"], fig["deliver_s"]),
         fig["deliver_s"] <= a.deliver_factor * fig["minimum_s"]),
        ("peak accepted/s %d <= capacity %d (the fake's own check)"
         % (fig["peak_accepted"], a.capacity),
         fig["peak_accepted"] <= a.capacity and
         (fig["stats_peak_accepted"] or 0) <= a.capacity),
        ("peak seen/s after recovery %d <= %.1f x capacity (%.0f)"
         % (fig["peak_seen"], a.seen_factor, a.seen_factor * a.capacity),
         fig["peak_seen"] <= a.seen_factor * a.capacity),
        ("the supervisor's per-second counts match its log (the fake's "
         "own check)",
         fig["stats_match"]),
        ("every plugin logged its jobs created (%d of %d)"
         % (fig["plugin"]["created"], fig["jobs"]),
         fig["plugin"]["created"] >= fig["jobs"]),
        ("the fake supervisor exited cleanly (status %s)"
         % fig["supervisor_rc"], fig["supervisor_rc"] == 0),
    ]
    return out


def plot(out_dir, kind, fig, a, compare):
    if not shutil.which("gnuplot"):
        log("herd: gnuplot not found: no plot")
        return None
    series = os.path.join(out_dir, "%s.series.tsv" % kind)
    png = os.path.join(out_dir, "%s.png" % kind)
    other = ""
    if compare:
        path = os.path.join(compare, "%s.series.tsv" % kind)
        other = path if os.path.exists(path) else ""
    # gnuplot's enhanced text: an underscore would make a subscript.
    def text(x):
        return x.replace("_", "\\_").replace("'", "")

    heading = ("herd: %d collectd x %d jobs, outage %s (%.0f s), capacity "
               "%d/s, Retry-After %s s%s" % (
                   a.hosts, a.jobs, "503" if kind == "503" else
                   "connection refused", fig["outage_s"], a.capacity,
                   a.retry_after, (" - " + a.label) if a.label else ""))
    label = a.label or "this run"
    clabel = ""
    if other:
        clabel = os.path.basename(os.path.normpath(compare))
        try:
            with open(os.path.join(compare, "summary.tsv")) as f:
                for line in f:
                    fields = line.rstrip("\n").split("\t")
                    if fields[:2] == ["all", "label"] and fields[2]:
                        clabel = fields[2]
        except OSError:
            pass
    try:
        p = subprocess.run(
            ["gnuplot", "-e", "series='%s'; compare='%s'; out='%s'; "
             "heading='%s'; label='%s'; clabel='%s'; cap=%d"
             % (series, other, png, text(heading), text(label),
                text(clabel), a.capacity),
             os.path.join(HERE, "herd.gp")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.stdout.strip():
            log("gnuplot: %s" % p.stdout.decode(errors="replace").strip())
    except (OSError, subprocess.TimeoutExpired) as e:
        log("herd: gnuplot failed: %s" % e)
        return None
    return png


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, %s, Python %s" % (cpu, os.cpu_count(),
                                           platform.release(),
                                           platform.python_version())


# ---- main -----------------------------------------------------------------

def main(argv):
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    a = parse_args(argv)
    t_start = time.monotonic()
    run_deadline = t_start + a.run_deadline
    for what, path in (("collectd", COLLECTD),
                       ("fake supervisor", FAKE_SUPERVISOR),
                       ("plugin", os.path.join(PLUGIN_DIR,
                                               "notify_theeye.so"))):
        if not path or not os.path.exists(path):
            # In make check a missing part is a broken build or machine:
            # an error, never a skip that would pass.
            log("herd: %s not found (%s)" % (what, path))
            return HARD_ERROR if a.check else 2
    stamp = datetime.datetime.now()
    out_dir = a.out or os.path.join(
        BUILDDIR, "bench", "results",
        "herd-check" if a.check else stamp.strftime("herd-%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="herd-", dir="/tmp")
    procs = Procs()
    fleet = None
    port_hold = PortHold()
    url = "http://127.0.0.1:%d" % port_hold.port
    figs = []
    failed = False
    lines = []

    def say(text=""):
        log(text)
        lines.append(text)

    say("herd: %s%s; %s" % ("--check, " if a.check else "",
                            stamp.strftime("%Y-%m-%d %H:%M:%S"), machine()))
    say("herd: plugin %s; RetryInterval %g, MaxRetryInterval %g, "
        "MaxAttempts %d, MaxAge %g, Timeout %d ms, Connections %d"
        % (os.path.join(PLUGIN_DIR, "notify_theeye.so"), a.retry_interval,
           a.max_retry_interval, a.max_attempts, a.max_age, a.timeout_ms,
           a.connections))
    try:
        fleet = Fleet(procs, workdir, a, url)
        started = fleet.start(min(run_deadline, time.monotonic() + 120))
        mem = fleet.memory()
        say("herd: %d collectd daemons ready in %.1f s: RSS %.0f MiB in "
            "all (PSS %.0f MiB, median RSS %.1f MiB), %d threads; load "
            "average %s" % (a.hosts, started, mem[0] / 1024, mem[1] / 1024,
                            mem[2] / 1024, mem[3], loadavg()))
        for kind in a.kinds:
            if time.monotonic() > run_deadline - 20:
                say("herd: no time left for the %s outage" % kind)
                failed = True
                break
            say("herd: outage %s: %d notifications, %.0f s outage, then "
                "capacity %d/s" % (kind, a.hosts * a.jobs, a.outage,
                                   a.capacity))
            fig = scenario(kind, a, procs, workdir, fleet, port_hold,
                           run_deadline)
            figs.append(fig)
            write_series(os.path.join(out_dir, "%s.series.tsv" % kind), fig,
                         a.capacity)
        codes = fleet.stop()
        bad = [c for c in codes if c != 0]
        if bad:
            say("herd: %d collectd daemons exited with a failure" % len(bad))
            failed = True
    except (RuntimeError, OSError, ValueError) as e:
        say("herd: FAILED: %s" % e)
        failed = True
    finally:
        procs.stop_all()
    # Leftovers at the stop: jobs the plugins still held.
    left = 0
    for h in fleet.hosts if fleet is not None else []:
        left += len(re.findall(r"shutting down with \d+ undelivered",
                               h.log_text()))

    say()
    say("%-34s %s" % ("figure", "  ".join("%-26s" % ("outage " + f["kind"])
                                          for f in figs)))
    if figs:
        table = [rows_for(f, a) for f in figs]
        for i, (name, _) in enumerate(table[0]):
            say("%-34s %s" % (name, "  ".join("%-26s" % t[i][1]
                                              for t in table)))
    say("%-34s %d" % ("daemons with jobs left at the stop", left))
    with open(os.path.join(out_dir, "summary.tsv"), "w") as f:
        f.write("kind\tfigure\tvalue\n")
        f.write("all\tlabel\t%s\n" % a.label.replace("\t", " "))
        for fig in figs:
            for key in ("jobs", "outage_s", "requests_outage", "peak_seen",
                        "peak_100ms", "peak_accepted", "refused_after",
                        "requests_per_job", "half_s", "deliver_s",
                        "minimum_s", "idle_s", "latency_max_s", "lost",
                        "duplicated", "dup_allowed", "cpu_collectd_s",
                        "cpu_supervisor_s", "wall_s"):
                f.write("%s\t%s\t%s\n" % (fig["kind"], key, fig[key]))
            f.write("%s\tcapacity\t%d\n" % (fig["kind"], a.capacity))
    for fig in figs if not a.check else []:  # the check's figures suffice
        png = plot(out_dir, fig["kind"], fig, a, a.compare)
        if png:
            say("herd: plot %s" % png)
    if a.check:
        say()
        for fig in figs:
            for what, ok in checks_for(fig, a):
                say("%s  outage %s: %s" % ("ok  " if ok else "FAIL",
                                           fig["kind"], what))
                failed |= not ok
        if left:
            say("FAIL  jobs left undelivered at the stop")
            failed = True
        if len(figs) < len(a.kinds):
            failed = True
    say("herd: %s in %.0f s; results in %s" % (
        "FAILED" if failed else "done", time.monotonic() - t_start, out_dir))
    with open(os.path.join(out_dir, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if a.keep or failed:
        log("herd: the daemons' directories are in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def stop_on_signal(signum, frame):
    """SIGTERM or SIGHUP (a CI timeout, a kill): unwind through main's
    finally, which stops every daemon and the supervisor."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
