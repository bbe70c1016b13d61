# SPDX-License-Identifier: MIT
"""Fault-injection suite: the real collectd with the plugin, through each
fault the spool and the sender must survive, with figures.

Each test starts a fake supervisor and collectd (two Tasks, "alpha" and
"beta", taking alternate notifications through a Message filter), applies
one fault, sends N notifications with unique messages, ends the fault and
then sends a sentinel notification. Jobs go out in arrival order per
supervisor and a job waiting for its retry holds the later ones back, so
once the sentinel's job has reached the supervisor every notification
before it has been settled: delivered, or given up. Every wait is bounded.

Each test prints one line to stdout, then the failed count on the next:

  <fault>: N notifications, D delivered, L lost, U duplicated
    (F counted failed by the plugin)

delivered: distinct messages for which the supervisor created a job;
duplicated: job creations beyond the first for the same message; lost:
N - delivered; failed: what the plugin itself counted failed (given up
after MaxAttempts, or rejected by the supervisor), from its self-metrics.
A loss is allowed only where the outcome rules allow it: a maybe-delivered job
whose MaxAttempts were spent (the supervisor saw it MaxAttempts times),
and jobs pending when collectd stops or is killed without a SpoolDir.
Anything else lost fails the test, as does a job seen more than
MaxAttempts times (answers 429, 502 and 503 spend no attempt). A summary
table follows the last test.
"""

import email.utils
import glob
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness as h  # noqa: E402

N = 20
MAX_ATTEMPTS = 5
TASKS = ("alpha", "beta")
# Answers that mean "not delivered": they spend no attempt.
NOT_DELIVERED = (429, 502, 503)
RESULTS = []  # one row per fault, for the summary table


def count(records, pred):
    return sum(1 for r in records if pred(r))


def is_2xx(record):
    return 200 <= record.get("status", 0) < 300


class FaultTest(h.IntegrationTest):

    def setUp(self):
        super().setUp()
        self.spool_dir = os.path.join(self.dir, "spool")
        self.fault = self._testMethodName
        self.row = None
        self.problems = []  # found on the way; reported with the figures

    def tearDown(self):
        if self.row is None:  # it never got as far as its figures
            RESULTS.append((self.fault, None, None, None, None, None,
                            "ERROR (see above)"))
        super().tearDown()

    # ---- set-up ----

    def block(self, url, spool=False, timeout=2000):
        options = dict(Customer=h.CUSTOMER, Timeout=timeout,
                       RetryInterval=0.2, MaxRetryInterval=1, MaxAge=120,
                       QueueLimit=100, MaxAttempts=MAX_ATTEMPTS)
        if spool:
            options["SpoolDir"] = self.spool_dir
        tasks = [
            ("alpha", h.task_options(h.TASK_ID, h.SECRET,
                                     'Message "/^alpha-/"')),
            ("beta", h.task_options(h.TASK_ID2, h.SECRET2,
                                    'Message "/^beta-/"')),
        ]
        return h.plugin_block(url, tasks, **options)

    def start(self, fault, spool=False, timeout=2000, sup=None):
        """A supervisor (started unless given) and collectd sending to it."""
        self.fault = fault
        if sup is None:
            sup = self.supervisor()
        cd = self.collectd(self.block(sup.url, spool, timeout),
                           extra=h.CSV_EXTRA.format(dir=self.dir))
        return sup, cd

    def check(self, ok, problem):
        """A check whose failure is reported with the figures."""
        if not ok:
            self.problems.append(problem)
        return ok

    # ---- traffic ----

    def send(self, cd, n=N, first=0):
        """n notifications with unique messages, alternating Tasks."""
        msgs = []
        for i in range(first, first + n):
            msg = "%s-%s-%d-%d" % (TASKS[i % 2], self.fault, i,
                                   time.time_ns())
            elapsed = cd.putnotif(msg, plugin="faults",
                                  type_instance=str(i))
            # A fault never slows collectd's threads down.
            self.assertLess(elapsed, 1.0, "PUTNOTIF took %.2f s" % elapsed)
            msgs.append(msg)
        return msgs

    def settle(self, cd, sup, timeout):
        """Sends the sentinel and waits for its job; False on timeout."""
        msg = "alpha-sentinel-%d" % time.time_ns()
        cd.putnotif(msg, plugin="faults")
        try:
            h.wait_for(lambda: any(h.message_of(r) == msg
                                   for r in sup.jobs()),
                       timeout, interval=0.1, what="the sentinel's job")
            return True
        except AssertionError:
            return False

    def failed_count(self):
        total = 0
        for task in TASKS:
            value = h.csv_latest(self.dir, task, "derive-failed")
            if value is None:
                return None
            total += value
        return int(total)

    def wait_failed(self, expected, timeout=5):
        """The plugin's failed counter, once it equals expected (or the
        latest value after the timeout)."""
        try:
            h.wait_for(lambda: self.failed_count() == expected, timeout,
                       interval=0.1, what="failed = %d" % expected)
        except AssertionError:
            pass
        return self.failed_count()

    # ---- figures ----

    def report(self, sup, msgs, settled, lost_allowed=False, dups=0,
               rejected=False):
        """Prints the fault's line, records its row and fails on any
        problem: a loss the contract forbids, a job seen more than
        MaxAttempts times, duplicates other than expected (dups=None:
        any), a failed counter that does not match what the supervisor
        saw. rejected: every 2xx rejects the job, the sentinel's too."""
        problems = self.problems
        seen = {m: [] for m in msgs}
        for r in sup.requests():
            m = h.message_of(r)
            if m in seen:
                seen[m].append(r)
        jobs = {m: count(rs, lambda r: r.get("job_id")) for m, rs in
                seen.items()}
        attempts = {m: count(rs, lambda r: r["status"] not in NOT_DELIVERED)
                    for m, rs in seen.items()}
        delivered = sum(1 for m in msgs if jobs[m])
        duplicated = sum(jobs[m] - 1 for m in msgs if jobs[m])
        lost = len(msgs) - delivered
        # Given up (failed): the last answer the supervisor gave was no
        # 2xx; rejected: a 2xx the plugin must count failed.
        expected_failed = sum(1 for m in msgs if seen[m] and (
            not is_2xx(seen[m][-1]) or rejected))
        # The counter includes the sentinel, failed too when rejected.
        failed = self.wait_failed(expected_failed + rejected)
        if failed is not None:
            failed -= rejected
        line = ("%s: %d notifications, %d delivered, %d lost, "
                "%d duplicated"
                % (self.fault, len(msgs), delivered, lost, duplicated))
        # On a line of its own in the log, where unittest's "... ok" lines
        # (on stderr) go too; the failed count follows on the next line.
        print("\n" + line, flush=True)
        print("  (%s counted failed by the plugin)"
              % ("?" if failed is None else failed), flush=True)

        if not settled:
            problems.append("the sentinel's job never reached the "
                            "supervisor: jobs still pending")
        forbidden = [m for m in msgs if not jobs[m] and not lost_allowed
                     and attempts[m] < MAX_ATTEMPTS]
        if forbidden:
            problems.append(
                "%d lost that the contract keeps (not given up after "
                "MaxAttempts): %s" % (len(forbidden), ", ".join(
                    "%s (seen %d times, %d attempts)"
                    % (m, len(seen[m]), attempts[m]) for m in forbidden)))
        over = ["%s: %d" % (m, attempts[m]) for m in msgs
                if attempts[m] > MAX_ATTEMPTS]
        if over:
            problems.append("seen more than MaxAttempts (%d) times: %s"
                            % (MAX_ATTEMPTS, ", ".join(over)))
        if dups is not None and duplicated != dups:
            problems.append("expected %d duplicates, got %d"
                            % (dups, duplicated))
        if failed != expected_failed:
            problems.append("the plugin counted %s failed; the supervisor's "
                            "log implies %d" % (failed, expected_failed))
        verdict = "ok" if not problems else "FAIL"
        if not problems and lost and lost_allowed:
            verdict = "ok (loss allowed: no SpoolDir)"
        elif not problems and lost:
            verdict = "ok (given up after MaxAttempts)"
        self.row = (self.fault, len(msgs), delivered, lost, duplicated,
                    failed, verdict)
        RESULTS.append(self.row)
        if problems:
            self.fail("%s\n  %s\n  plugin log:\n    %s" % (
                line, "\n  ".join(problems),
                "\n    ".join(self.last_collectd().plugin_lines()[-30:])))
        return seen

    def last_collectd(self):
        return [p for p in self.processes if isinstance(p, h.Collectd)][-1]

    def warning_lines(self, cd, pattern):
        return h.lines_at(cd, "warning", pattern)

    # ---- the supervisor unavailable ----

    def test_01_down_then_back(self):
        sup, cd = self.start("down-then-back")
        sup.stop()
        msgs = self.send(cd)
        cd.wait_log(r"\(not delivered\): retrying", 5)
        time.sleep(1.0)  # down for a while, then back on the same port
        sup.start()
        settled = self.settle(cd, sup, 20)
        self.report(sup, msgs, settled)

    def test_02_refused(self):
        # Nothing has ever listened on the port.
        sup = h.Supervisor(self.dir, port=h.free_port())
        self.processes.append(sup)
        sup, cd = self.start("refused", sup=sup)
        msgs = self.send(cd)
        cd.wait_log(r"\(not delivered\): retrying", 5)
        time.sleep(1.0)
        sup.start()
        settled = self.settle(cd, sup, 20)
        self.report(sup, msgs, settled)

    def test_03_hang(self):
        # The supervisor creates the job, then never answers: maybe
        # delivered. One hang more than MaxAttempts: the first job is seen
        # exactly MaxAttempts times and given up, the second once more.
        sup, cd = self.start("hang", timeout=500)
        sup.control(hang=MAX_ATTEMPTS + 1, after_job=1)
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        sup.control(reset=1)  # releases the hung requests
        seen = self.report(sup, msgs, settled, dups=MAX_ATTEMPTS)
        self.assertEqual(len(seen[msgs[0]]), MAX_ATTEMPTS)
        self.assertTrue(h.lines_at(cd, "error", r"gave up on a job after "
                                   r"%d attempts" % MAX_ATTEMPTS))

    def test_04_slow(self):
        # Each answer takes 1 s; Timeout is above it: no retry, no dup.
        sup, cd = self.start("slow", timeout=3000)
        sup.control(delay_ms=1000)
        msgs = self.send(cd, n=6)
        settled = self.settle(cd, sup, 30)
        seen = self.report(sup, msgs, settled)
        self.assertEqual([len(seen[m]) for m in msgs], [1] * len(msgs))

    # ---- error statuses, N times each ----

    def status_fault(self, status):
        sup, cd = self.start("http-%d" % status)
        sup.control(status=status, count=N)
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 60)
        seen = self.report(sup, msgs, settled)
        lost = [m for m in msgs if not any(r.get("job_id")
                                           for r in seen[m])]
        if status in NOT_DELIVERED:
            # Retried without spending attempts: the first job took them
            # all.
            self.assertEqual(len(seen[msgs[0]]), N + 1)
        else:
            # Maybe delivered: each job at the head takes MaxAttempts of
            # them and is given up.
            self.assertEqual(len(lost), N // MAX_ATTEMPTS)
            self.assertEqual([len(seen[m]) for m in lost],
                             [MAX_ATTEMPTS] * len(lost))

    def test_05_http_500(self):
        self.status_fault(500)

    def test_06_http_502(self):
        self.status_fault(502)

    def test_07_http_503(self):
        self.status_fault(503)

    def test_08_http_504(self):
        self.status_fault(504)

    def gaps_after_429(self, sup):
        """(time of each 429, time of the request after it)."""
        reqs = sorted(sup.requests(), key=lambda r: r["n"])
        return [(a["time"], b["time"]) for a, b in zip(reqs, reqs[1:])
                if a["status"] == 429]

    def test_09_429_retry_after_seconds(self):
        sup, cd = self.start("429-seconds")
        sup.control(status=429, count=3, retry_after="1")
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        self.report(sup, msgs, settled)
        gaps = self.gaps_after_429(sup)
        self.assertEqual(len(gaps), 3)
        for t429, tnext in gaps:
            self.assertGreaterEqual(tnext - t429, 0.95,
                                    "Retry-After: 1 not honoured")

    def test_10_429_retry_after_date(self):
        sup, cd = self.start("429-date")
        when = int(time.time() + 3)  # 2 to 3 s ahead
        sup.control(status=429, count=2,
                    retry_after=email.utils.formatdate(when, usegmt=True))
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        self.report(sup, msgs, settled)
        gaps = self.gaps_after_429(sup)
        self.assertEqual(len(gaps), 2)
        t429, tnext = gaps[0]
        self.assertLess(t429, when - 1, "the first 429 came too late to "
                        "tell a date from a short backoff")
        # The date has a 1 s resolution; the plugin waits until it.
        self.assertGreaterEqual(tnext, when - 0.05,
                                "Retry-After date not honoured: retried "
                                "%.2f s before it" % (when - tnext))

    # ---- the answer lost after the request was read ----

    def test_11_closed_after_request(self):
        # The supervisor created the job, then closed without answering:
        # maybe delivered, retried (each one a duplicate).
        sup, cd = self.start("closed")
        sup.control(close=3, after_job=1)
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        self.report(sup, msgs, settled, dups=3)

    def test_12_reset_after_request(self):
        # The same with a TCP RST (fake_supervisor rst=K).
        sup, cd = self.start("reset")
        sup.control(rst=3, after_job=1)
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        self.report(sup, msgs, settled, dups=3)

    # ---- odd 200 bodies: sent, never retried ----

    def body_fault(self, fault, job_found, **control):
        """A 2xx whose body is odd. job_found: the plugin reads the job in
        it (sent, its id logged at INFO, no WARNING); otherwise
        it finds none (sent, with the rate-limited WARNING, no id)."""
        sup, cd = self.start(fault)
        sup.control(**control)
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        seen = self.report(sup, msgs, settled)
        self.assertEqual([len(seen[m]) for m in msgs], [1] * len(msgs),
                         "a 2xx must never be retried")
        warned = self.warning_lines(cd, r"without a job in the answer")
        created = h.lines_at(cd, "info", r"job \S+ created")
        ids = [seen[m][0]["job_id"] for m in msgs]
        if job_found:
            self.assertEqual(warned, [], "a job in the answer was missed")
            for task, job_id in zip(TASKS * N, ids):
                self.assertEqual(len([line for line in created if
                                      'Task "%s": job %s created'
                                      % (task, job_id) in line]), 1,
                                 "job %s of Task %s not logged at INFO"
                                 % (job_id, task))
        else:
            self.assertTrue(warned, "no WARNING for a 2xx without a job")
            # Rate-limited: the first of each Task, not one per job.
            self.assertLessEqual(len(warned), len(TASKS), warned)
            self.assertEqual(created, [], "a job id was logged")
        for task in TASKS:  # every one counted sent, the sentinel too
            h.wait_counter(self.dir, task, "derive-sent",
                           N // len(TASKS) + (task == "alpha"))
        # Nothing of a 2xx body reaches the log or collectd's output.
        text = cd.log() + cd.output()
        self.assertNotIn('"secret"', text)
        self.assertNotIn("task_arguments_values", text)

    def test_13_garbage_body(self):
        self.body_fault("garbage-body", False, body_mode="custom",
                        body="<html>oops</html>\x01{\"id\":")

    def test_14_huge_body(self):
        # The job's JSON with 5 MiB of padding at its end: the plugin reads
        # an answer up to 64 KiB (bounded memory) and discards the rest, so
        # what it holds is no complete JSON: no job found.
        self.body_fault("huge-body", False, body_mode="huge")

    def test_15_gzip_body(self):
        # The job's JSON with Content-Encoding: gzip. HTTP lets a server
        # encode an answer when the request did not say which encodings it
        # accepts; it still is the job (its lifecycle may say the job was
        # rejected at once): the plugin decodes it and finds the job.
        self.body_fault("gzip-body", True, body_mode="gzip")

    def test_16_empty_body(self):
        self.body_fault("empty-body", False, body_mode="empty")

    def test_17_lifecycle_terminated(self):
        # The supervisor built the job but rejected it: failed, never
        # retried ("delivered" counts the job the supervisor created).
        sup, cd = self.start("terminated")
        sup.control(body_mode="custom", body='{"id":"%s","task_id":"%s",'
                    '"state":"error","lifecycle":"terminated"}'
                    % ("ab" * 12, h.TASK_ID))
        msgs = self.send(cd)
        settled = self.settle(cd, sup, 30)
        seen = self.report(sup, msgs, settled, rejected=True)
        self.assertEqual([len(seen[m]) for m in msgs], [1] * len(msgs))
        self.assertTrue(h.lines_at(cd, "error", r"rejected"))

    # ---- collectd stopped or killed with jobs pending ----

    def entries(self):
        return sorted(glob.glob(os.path.join(self.spool_dir, "*.job")))

    def restart(self, cd):
        """Starts collectd again on the same configuration, with a fresh
        log (the old one is kept as collectd.log.1)."""
        os.replace(cd.log_path, cd.log_path + ".1")
        if os.path.exists(cd.sock):  # left behind by kill -9
            os.unlink(cd.sock)
        cd.start()

    def stop_or_kill(self, fault, spool, kill):
        sup, cd = self.start(fault, spool=spool, timeout=1000)
        sup.stop()
        msgs = self.send(cd)
        # Every pending job is on disk within 100 ms: 0.5 s is plenty.
        deadline = time.monotonic() + 0.5
        while spool and len(self.entries()) < N and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(max(0.0, deadline - time.monotonic()))
        if spool:
            self.check(len(self.entries()) == N,
                       "0.5 s after the last notification %d of %d jobs "
                       "were in the spool" % (len(self.entries()), N))
        if kill:
            cd.kill()
        else:
            took = cd.stop()
            # min(Timeout, 5 s) + 1 s, and collectd's own exit.
            self.check(took < 4.0, "SIGTERM took %.1f s" % took)
            kept = h.lines_at(cd, "info", r"kept in SpoolDir")
            dropped = h.lines_at(cd, "warning", r"undelivered job\(s\): "
                                 r"dropped")
            self.check((len(kept), len(dropped)) == (
                (len(TASKS), 0) if spool else (0, len(TASKS))),
                "shutdown lines: kept %r, dropped %r" % (kept, dropped))
        if spool:
            self.check(len(self.entries()) == N,
                       "%d of %d entries left in the spool after the exit"
                       % (len(self.entries()), N))
        sup.start()
        self.restart(cd)
        settled = self.settle(cd, sup, 30)
        if spool:
            self.check(h.lines_at(cd, "info", r"resumed %d spooled"
                                  % (N // len(TASKS))),
                       "no line \"resumed %d spooled job(s)\""
                       % (N // len(TASKS)))
            # A delivered job leaves the spool.
            try:
                h.wait_for(lambda: not self.entries(), 5,
                           what="the spool to empty")
            except AssertionError:
                self.problems.append("%d entries still in the spool after "
                                     "delivery" % len(self.entries()))
        self.report(sup, msgs, settled, lost_allowed=not spool,
                    dups=0 if spool else None)

    def test_18_sigterm_without_spool(self):
        self.stop_or_kill("sigterm-no-spool", spool=False, kill=False)

    def test_19_sigterm_with_spool(self):
        self.stop_or_kill("sigterm-spool", spool=True, kill=False)

    def test_20_sigkill_without_spool(self):
        self.stop_or_kill("sigkill-no-spool", spool=False, kill=True)

    def test_21_sigkill_with_spool(self):
        self.stop_or_kill("sigkill-spool", spool=True, kill=True)

    def test_22_spool_unwritable(self):
        # Root ignores permissions, so the directory is removed and a
        # regular file put in its place: the plugin holds the directory
        # open, and the kernel refuses new entries in a deleted one.
        sup, cd = self.start("spool-unwritable", spool=True)
        sup.stop()
        msgs = self.send(cd, n=N // 2)
        h.wait_for(lambda: len(self.entries()) == N // 2, 2,
                   what="the first jobs in the spool")
        shutil.rmtree(self.spool_dir)
        with open(self.spool_dir, "w") as f:
            f.write("not a directory\n")
        msgs += self.send(cd, n=N - N // 2, first=N // 2)
        try:
            h.wait_for(lambda: h.lines_at(cd, "error",
                                          r"spool: cannot write"),
                       5, what="the ERROR spool: cannot write")
        except AssertionError:
            self.problems.append("no ERROR \"spool: cannot write\"")
        time.sleep(0.5)
        sup.start()
        settled = self.settle(cd, sup, 30)
        errors = h.lines_at(cd, "error", r"spool: cannot write")
        # Rate-limited: one line for the whole outage, not one per job.
        self.check(len(errors) <= 2, "%d ERROR lines \"spool: cannot "
                   "write\": not rate-limited" % len(errors))
        self.report(sup, msgs, settled)


def tearDownModule():
    head = ("fault", "N", "delivered", "lost", "dup", "failed", "verdict")
    rows = [head] + [tuple("-" if v is None else str(v) for v in row)
                     for row in RESULTS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    print("\nFault-injection summary (MaxAttempts %d):" % MAX_ATTEMPTS)
    for row in rows:
        cells = [c.ljust(w) if i == 0 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  " + "  ".join(cells) + "  " + row[-1])
    sys.stdout.flush()


if __name__ == "__main__":
    h.main()
