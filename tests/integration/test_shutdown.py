# SPDX-License-Identifier: MIT
"""collectd's shutdown never hangs on the plugin.

The sender goes on for up to min(Timeout, 5 s), then aborts the request in
flight, and the plugin's shutdown callback returns within that plus 1 s,
whatever is going on: a supervisor that never answers, thousands of jobs
being written to the spool, a spool of 50 000 entries being read. What is
left is logged, one line per Task, and the figures add up: a job kept in
the SpoolDir is delivered after the restart, none is lost or duplicated in
the directory.

Each test measures SIGTERM -> exit with Collectd.stop(), and allows
COLLECTD_WORK on top of the plugin's own bound for collectd's own shutdown
(its read and write threads, the other plugins). Under valgrind that part
is scaled by the harness's TIME_SCALE; the plugin's own bound is not.
"""

import os
import re
import socket
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

COLLECTD_WORK = 1.5 * TIME_SCALE
SHUTDOWN_MARGIN = 1.0  # the plugin's shutdown: its grace plus this
GRACE_MAX = 5.0

LEFT_RX = re.compile(r'Task "([^"]+)": shutting down with (\d+) undelivered '
                     r'job\(s\): (kept in SpoolDir for the next start|'
                     r'dropped)$')


def bound(timeout_ms):
    """Seconds from SIGTERM to collectd's exit, at most."""
    return min(timeout_ms / 1000.0, GRACE_MAX) + SHUTDOWN_MARGIN + \
        COLLECTD_WORK


def make_entry(seq, arrival, task, task_id, body, attempts=0):
    """A spool entry (version 2) as the plugin writes it: the CRC-32 is
    zlib's, of every byte before the "crc32 " line."""
    data = (b"notify_theeye spool 2\nseq %d\narrival %.6f\nattempts %d\n"
            b"task %s\ntaskid %s\nbody %d\n"
            % (seq, arrival, attempts, task.encode(), task_id.encode(),
               len(body)) + body + b"\n")
    return data + b"crc32 %08x\n" % zlib.crc32(data)


def entry_body(data):
    """The body of a spool entry, whatever its version: the header is
    "key value" lines up to "body LENGTH"; None when it does not parse."""
    if not data.startswith(b"notify_theeye spool "):
        return None
    rest = data.partition(b"\n")[2]
    while rest:
        line, sep, rest = rest.partition(b"\n")
        if not sep:
            return None
        key, _, value = line.partition(b" ")
        if key == b"body":
            try:
                n = int(value)
            except ValueError:
                return None
            return rest[:n] if len(rest) > n else None
    return None


def entry_fields(data):
    """Every "key value" line of a spool entry's header but attempts (which
    the plugin may rewrite) and episode (which a rewrite of a 1.0 entry
    adds, as none), and its body: what identifies the job."""
    head, sep, _ = data.partition(b"\nbody ")
    lines = [l for l in head.split(b"\n")[1:]
             if not l.startswith(b"attempts ") and
             l != b"episode 0000000000000000"]
    return lines, entry_body(data)


def putnotif_line(message, plugin, time_=None):
    return "PUTNOTIF severity=failure time=%d plugin=%s message=%s" % (
        time_ or int(time.time()), pn_quote(plugin), pn_quote(message))


class ShutdownTest(IntegrationTest):

    @property
    def spool(self):
        return os.path.join(self.dir, "spool")

    def entry_names(self):
        if not os.path.isdir(self.spool):
            return []
        return sorted(n for n in os.listdir(self.spool)
                      if n.endswith(".job") and not n.startswith("."))

    def corrupt(self):
        path = os.path.join(self.spool, "corrupt")
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def leftovers(self, cd):
        """{(Task, "kept" or "dropped"): count} from the shutdown lines, and
        the lines; fails on a Task or kind logged twice."""
        out = {}
        lines = []
        for line in cd.plugin_lines():
            m = LEFT_RX.search(line)
            if not m:
                continue
            lines.append(line)
            kind = "dropped" if m.group(3) == "dropped" else "kept"
            key = (m.group(1), kind)
            self.assertNotIn(key, out, "logged twice: %s" % lines)
            out[key] = int(m.group(2))
            level = "warning" if kind == "dropped" else "info"
            self.assertIn("[%s]" % level, line)
        return out, lines

    def assertStoppedWithin(self, cd, limit):
        elapsed = cd.stop(timeout=limit + 20)
        self.assertLessEqual(elapsed, limit,
                             "collectd took %.2f s to exit, bound %.2f s"
                             % (elapsed, limit))
        self.assertEqual(cd.returncode, 0, cd.output())
        self.assertEqual([l for l in cd.plugin_lines()
                          if "did not stop in time" in l], [])
        return elapsed

    def job_count(self, sup):
        """Jobs the supervisor created (its log, read cheaply)."""
        if not os.path.exists(sup.log_path):
            return 0
        with open(sup.log_path, "rb") as f:
            return sum(1 for line in f
                       if line.endswith(b"\n") and b'"job_id"' in line)

    # ---- a hung supervisor, a backlog of thousands being spooled ----

    def test_hung_supervisor_backlog_with_spool(self):
        per_task = 1500
        tasks = {"backlog-a": "pa", "backlog-b": "pb"}
        sup = self.supervisor()
        sup.control(hang=-1)
        block = plugin_block(sup.url, [
            (name, task_options(TASK_ID, SECRET, 'Plugin "%s"' % plugin))
            for name, plugin in sorted(tasks.items())],
            Customer=CUSTOMER, SpoolDir=self.spool, QueueLimit=20000,
            SpoolLimit=20000, Timeout=2000)
        cd = self.collectd(block)
        lines = []
        for i in range(per_task):
            for name, plugin in sorted(tasks.items()):
                lines.append(putnotif_line("%s-%d" % (name, i), plugin))
        command_many(cd, lines)
        # A request is in flight, hung, and the spool is being written.
        sup.wait_requests(1)
        self.assertEqual(self.job_count(sup), 0)

        self.assertStoppedWithin(cd, bound(2000))
        left, left_lines = self.leftovers(cd)
        for name in tasks:
            self.assertEqual(
                left.get((name, "kept"), 0) + left.get((name, "dropped"), 0),
                per_task, left_lines)
        kept = sum(n for (_, kind), n in left.items() if kind == "kept")
        # What the log says was kept is what is on disk, and is whole.
        names = self.entry_names()
        self.assertEqual(len(names), kept, left_lines)
        self.assertEqual(self.corrupt(), [])
        on_disk = set()
        for name in names:
            with open(os.path.join(self.spool, name), "rb") as f:
                body = entry_body(f.read())
            self.assertIsNotNone(body, name)
            on_disk.add(json.loads(body)["task_arguments"][-1])
        self.assertEqual(len(on_disk), kept, "two entries for one job")

        # Restarted against a healthy supervisor: every kept job delivered.
        sup.control(reset=1)
        os.rename(cd.log_path, cd.log_path + ".1")
        if os.path.exists(cd.sock):
            os.unlink(cd.sock)
        cd2 = self.collectd(block)
        wait_for(lambda: self.job_count(sup) >= kept, 60, interval=0.5,
                 what="%d kept jobs delivered" % kept)
        wait_for(lambda: self.entry_names() == [], 10,
                 what="an empty spool")
        delivered = [message_of(r) for r in sup.jobs()]
        self.assertEqual(sorted(delivered), sorted(on_disk))
        self.assertStoppedWithin(cd2, bound(2000))
        self.assertEqual(self.leftovers(cd2)[0], {})

    # ---- a large spool being read at start-up ----

    def test_sigterm_while_reading_large_spool(self):
        n = 50000
        task = "big"
        os.mkdir(self.spool, 0o700)
        now = time.time()
        base = int((now - 5) * 1e6)
        written = {}
        for i in range(n):
            body = json.dumps({"task": TASK_ID, "task_arguments":
                               ["old-%d" % i]},
                              separators=(",", ":")).encode()
            name = "%020d.job" % (base + i)
            data = make_entry(base + i, now - 5, task, TASK_ID, body)
            fd = os.open(os.path.join(self.spool, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            written[name] = entry_fields(data)
        # The supervisor is down: nothing is delivered, nothing spent.
        block = plugin_block(
            "http://127.0.0.1:%d" % free_port(), [(task, task_options())],
            Customer=CUSTOMER, SpoolDir=self.spool, QueueLimit=100000,
            SpoolLimit=100000, Timeout=1000)
        cd = self.collectd(block, start=False)
        cd.start(wait=False)
        wait_for(lambda: cd.proc.poll() is None and
                 "Initialization complete" in cd.log(), 15, interval=0.005,
                 what="collectd to start")
        self.assertStoppedWithin(cd, bound(1000))
        # None lost, none damaged, none moved aside.
        corrupt = self.corrupt()
        self.assertEqual(len(corrupt), 0,
                         "%d in corrupt/, such as %s"
                         % (len(corrupt), corrupt[:3]))
        names = self.entry_names()
        self.assertEqual(len(names), n)
        self.assertEqual(set(names), set(written), "other entries")
        for name in names:
            with open(os.path.join(self.spool, name), "rb") as f:
                self.assertEqual(entry_fields(f.read()), written[name],
                                 name)

    # ---- without SpoolDir ----

    def hung_without_spool(self, timeout_ms):
        task = "hung"
        sup = self.supervisor()
        sup.control(hang=-1)
        block = plugin_block(sup.url, [(task, task_options())],
                             Customer=CUSTOMER, Timeout=timeout_ms)
        cd = self.collectd(block)
        for i in range(5):
            cd.putnotif(self.tag(i))
        sup.wait_requests(1)  # one in flight, four waiting
        self.assertStoppedWithin(cd, bound(timeout_ms))
        left, lines = self.leftovers(cd)
        self.assertEqual(left, {(task, "dropped"): 5}, lines)
        self.assertEqual(self.job_count(sup), 0)

    def test_hung_supervisor_without_spool(self):
        self.hung_without_spool(2000)

    def test_grace_capped_at_5s(self):
        # A Timeout of a minute does not make shutdown wait for it.
        self.hung_without_spool(60000)


if __name__ == "__main__":
    main()
