# SPDX-License-Identifier: MIT
"""Concurrency: `Connections` requests in flight at once per supervisor,
jobs leaving in arrival order, and supervisors that never hold each other
up (a hung one, a down one, one whose line waits for a retry).

Every figure comes from what tests/fake_supervisor recorded: when each
request line arrived ("arrived", and its rank "arrival") and when its
answer was handed over ("answered"). A request is in flight at the
supervisor from one to the other, which is never longer than the plugin
has it in flight: a count of overlaps taken there can only understate the
plugin's own, so "at most N" holds for the plugin, and an overlap seen
there really happened.
"""

import collections
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

# Fast retries and a long MaxAge, so that waiting is spent on what is being
# tested, never on backoff or expiry.
FAST = {"Customer": CUSTOMER, "RetryInterval": 0.2, "MaxRetryInterval": 0.5,
        "MaxAge": 60}

HUNG_TIMEOUT_MS = 10000
# A healthy supervisor's jobs must all be in well before the hung one's
# Timeout could have released a sender stuck on it.
HEALTHY_WITHIN = 3.0
# A delay at the healthy supervisor: with several connections, a job can
# then only arrive before one that left a whole answer earlier through a
# real reordering, never through two requests racing on the way (a server
# thread scheduled late).
HEALTHY_DELAY_MS = 100


def message_seq(request, prefix):
    """The sequence number a request carries after prefix, or None."""
    m = message_of(request)
    if m is None or not m.startswith(prefix):
        return None
    return int(m[len(prefix):])


def by_arrival(requests):
    return sorted(requests, key=lambda r: r["arrival"])


def max_in_flight(requests):
    """The most requests that were between arrival and answer at once at the
    supervisor; one never answered stays in flight."""
    events = []
    for r in requests:
        events.append((r["arrived"], 1))
        events.append((r.get("answered", float("inf")), -1))
    # An answer and a request arriving at the same instant do not overlap:
    # ends first.
    events.sort(key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, delta in events:
        now += delta
        most = max(most, now)
    return most


class ConcurrencyTest(IntegrationTest):

    def start(self, tasks, connections=None, **globals_):
        options = dict(FAST)
        options.update(globals_)
        if connections is not None:
            options["Connections"] = connections
        return self.collectd(plugin_block(None, tasks, **options))

    def task(self, url, plugin, task_id=TASK_ID, secret=SECRET, *more):
        """A Task for one supervisor, matching PUTNOTIFs of plugin, whose
        one argument is the message (the sequence number)."""
        return task_options(task_id, secret, 'URL "%s"' % url,
                            'Plugin "%s"' % plugin,
                            'Argument "%{message}"', *more)

    def two_supervisors(self, url_a, url_b, connections, *a_options):
        """Tasks "to-a" (PUTNOTIF plugin=a) and "to-b" (plugin=b)."""
        return self.start([("to-a", self.task(url_a, "a", TASK_ID, SECRET,
                                               *a_options)),
                           ("to-b", self.task(url_b, "b", TASK_ID2,
                                              SECRET2))], connections)

    def prefixes(self):
        tag = self.tag()
        return tag + "/a/", tag + "/b/"

    def interleave(self, cd, pa, pb, n, start=0):
        """a0, b0, a1, b1, ...: each supervisor's jobs queued among the
        other's."""
        for i in range(start, n):
            cd.putnotif(pa + "%02d" % i, plugin="a")
            cd.putnotif(pb + "%02d" % i, plugin="b")

    def assertEachOnce(self, requests, prefix, n):
        seqs = collections.Counter(message_seq(r, prefix) for r in requests)
        self.assertEqual(seqs, collections.Counter(range(n)),
                         "not each of %d jobs exactly once" % n)

    def assertLeftInOrder(self, requests, prefix, connections):
        """Jobs leave in arrival order with at most `connections` in
        flight: once job j leaves, at least one of the jobs i..j-1 (there
        are `connections` or more of them, j >= i + connections) has been
        answered, and job i left no later than that one: a whole exchange
        before job j, so it arrived first. With one connection that is the
        exact order; with more, neighbours closer than that may overtake
        each other on the way."""
        seqs = [message_seq(r, prefix) for r in by_arrival(requests)]
        for p, q in itertools.combinations(range(len(seqs)), 2):
            if seqs[p] >= seqs[q] + connections:
                self.fail("job %d arrived before job %d (Connections %d): "
                          "arrival order %s"
                          % (seqs[p], seqs[q], connections, seqs))

    def wait_jobs_within(self, sup, n, seconds, t0, what):
        """Waits for n jobs at sup and asserts the last one arrived within
        seconds of t0 (wall clock); the wait itself is scaled, the figure
        is not."""
        try:
            jobs = sup.wait_jobs(n, timeout=seconds)
        except AssertionError:
            jobs = None
        if jobs is None:
            self.fail("%s: %d of %d jobs in %.1f s"
                      % (what, len(sup.jobs()), n, seconds * TIME_SCALE))
        last = max(r["arrived"] for r in jobs)
        self.assertLess(last - t0, seconds,
                        "%s: the last job arrived %.2f s after the first "
                        "notification" % (what, last - t0))
        return jobs


class Isolation(ConcurrencyTest):
    """A supervisor that hangs, is down or waits for a retry holds up its
    own jobs only."""

    def hung_beside_healthy(self, connections):
        n, c = 12, connections or 1
        a = self.supervisor("a", extra_args=["--control", "hang=-1"])
        b = self.supervisor("b", extra_args=[
            "--control", "delay_ms=%d" % HEALTHY_DELAY_MS])
        cd = self.two_supervisors(a.url, b.url, connections,
                                  "Timeout %d" % HUNG_TIMEOUT_MS)
        pa, pb = self.prefixes()
        t0 = time.time()
        self.interleave(cd, pa, pb, n)
        jobs = self.wait_jobs_within(b, n, HEALTHY_WITHIN, t0,
                                     "the healthy supervisor beside a hung "
                                     "one")
        self.assertEachOnce(b.requests(), pb, n)
        self.assertLeftInOrder(jobs, pb, c)
        # The scenario really was a hung supervisor: every connection to it
        # holds a request it never answers, the oldest jobs, and no more
        # than that many left.
        wait_for(lambda: len(a.requests()) >= c, 5,
                 what="%d hung requests" % c)
        pause(0.3)
        hung = a.requests()
        self.assertEqual(len(hung), c, [message_of(r) for r in hung])
        self.assertEqual({r["fault"] for r in hung}, {"hang"})
        self.assertEqual({message_seq(r, pa) for r in hung}, set(range(c)))
        self.assertEqual(a.jobs(), [])

    def test_hung_supervisor_does_not_delay_another(self):
        self.hung_beside_healthy(None)

    def test_hung_supervisor_does_not_delay_another_4_connections(self):
        self.hung_beside_healthy(4)

    def down_beside_healthy(self, connections):
        n, c = 12, connections or 1
        port = free_port()
        url_a = "http://127.0.0.1:%d" % port
        b = self.supervisor("b", extra_args=[
            "--control", "delay_ms=%d" % HEALTHY_DELAY_MS])
        cd = self.two_supervisors(url_a, b.url, connections)
        pa, pb = self.prefixes()
        t0 = time.time()
        self.interleave(cd, pa, pb, n)
        jobs = self.wait_jobs_within(b, n, HEALTHY_WITHIN, t0,
                                     "the healthy supervisor beside a down "
                                     "one")
        self.assertEachOnce(b.requests(), pb, n)
        self.assertLeftInOrder(jobs, pb, c)
        # The down one was tried, and its jobs are kept for its return.
        cd.wait_log(r'Task "to-a": .*\(not delivered\): retrying in')
        a = self.supervisor("a", port=port, extra_args=[
            "--control", "delay_ms=%d" % HEALTHY_DELAY_MS])
        jobs = a.wait_jobs(n, timeout=10)
        pause(0.3)
        # A refused connect never reached it: no job twice.
        self.assertEachOnce(a.requests(), pa, n)
        self.assertLeftInOrder(jobs, pa, c)

    def test_down_supervisor_does_not_hold_another(self):
        self.down_beside_healthy(None)

    def test_down_supervisor_does_not_hold_another_4_connections(self):
        self.down_beside_healthy(4)

    def retry_wait_holds_its_own_line(self, connections):
        n, c, retry_after = 8, connections or 1, 2
        # The delay at A keeps its jobs' order a matter of the plugin's
        # choices, not of a race between two requests on the wire.
        a = self.supervisor("a", extra_args=[
            "--control", "status=503&count=1&retry_after=%d&delay_ms=200"
            % retry_after])
        b = self.supervisor("b", extra_args=[
            "--control", "delay_ms=%d" % HEALTHY_DELAY_MS])
        cd = self.two_supervisors(a.url, b.url, connections)
        pa, pb = self.prefixes()
        cd.putnotif(pa + "00", plugin="a")
        first = a.wait_requests(1)[0]
        self.assertEqual(first["status"], 503)
        waiting_until = first["answered"] + retry_after
        # Queued only once the plugin has the 503: while the first job is
        # still in flight, the next ones may rightly leave beside it.
        cd.wait_log(r'Task "to-a": .*503 .*retrying in')
        cd.putnotif(pb + "00", plugin="b")
        self.interleave(cd, pa, pb, n, start=1)
        jobs_b = b.wait_jobs(n, timeout=retry_after + 5)
        self.assertLess(max(r["arrived"] for r in jobs_b), waiting_until,
                        "the other supervisor's jobs waited for this one's "
                        "retry")
        self.assertEachOnce(b.requests(), pb, n)
        self.assertLeftInOrder(jobs_b, pb, c)
        jobs_a = a.wait_jobs(n, timeout=retry_after + 8)
        pause(0.3)
        later = [r for r in a.requests()
                 if r["arrival"] != first["arrival"]]
        early = [(message_of(r), round(r["arrived"] - first["answered"], 3))
                 for r in later if r["arrived"] < waiting_until - 0.1]
        self.assertEqual(early, [], "jobs went to a supervisor whose first "
                         "job was waiting %d s for its retry (Retry-After)"
                         % retry_after)
        self.assertEachOnce(later, pa, n)
        self.assertLeftInOrder(jobs_a, pa, c)

    def test_new_job_after_the_waiting_one_was_dropped(self):
        # QueueLimit 1: A's first job waits for its retry (Retry-After)
        # when B's job pushes it out of the queue. A's line still waits
        # until then, with no job in it; a new job for A must leave once
        # the wait is over, not whenever something else wakes the sender.
        retry_after = 2
        a = self.supervisor("a", extra_args=[
            "--control", "status=503&count=1&retry_after=%d" % retry_after])
        b = self.supervisor("b")
        cd = self.start([("to-a", self.task(a.url, "a")),
                         ("to-b", self.task(b.url, "b", TASK_ID2,
                                            SECRET2))], QueueLimit=1)
        pa, pb = self.prefixes()
        cd.putnotif(pa + "00", plugin="a")
        first = a.wait_requests(1)[0]
        cd.wait_log(r'Task "to-a": .*503 .*retrying in')
        cd.putnotif(pb + "00", plugin="b")
        b.wait_jobs(1, timeout=5)
        cd.wait_log(r'Task "to-a": queue full')
        cd.putnotif(pa + "01", plugin="a")
        jobs = a.wait_jobs(1, timeout=retry_after + 5)
        self.assertEqual([message_of(r) for r in jobs], [pa + "01"])
        self.assertGreaterEqual(jobs[0]["arrived"],
                                first["answered"] + retry_after - 0.1)
        self.assertLess(jobs[0]["arrived"],
                        first["answered"] + retry_after + 2.5,
                        "the new job waited past its line's retry wait")

    def test_retry_wait_holds_only_its_own_line(self):
        self.retry_wait_holds_its_own_line(None)

    def test_retry_wait_holds_only_its_own_line_4_connections(self):
        self.retry_wait_holds_its_own_line(4)


class InFlight(ConcurrencyTest):
    """How many requests are in flight at one supervisor, and in which
    order its jobs leave."""

    DELAY = 0.3  # seconds the supervisor takes to answer each job

    def slow_supervisor(self, subdir=None):
        return self.supervisor(subdir, extra_args=[
            "--control", "delay_ms=%d" % (self.DELAY * 1000)])

    def send(self, cd, prefix, n, plugin="a"):
        for i in range(n):
            cd.putnotif(prefix + "%02d" % i, plugin=plugin)

    def four_connections(self, **options):
        n, c = 16, 4
        sup = self.slow_supervisor()
        cd = self.start([("to-a", self.task(sup.url, "a"))], c, **options)
        prefix = self.tag() + "/"
        self.send(cd, prefix, n)
        jobs = sup.wait_jobs(n, timeout=n * self.DELAY + 5)
        pause(0.3)
        reqs = sup.requests()
        self.assertEachOnce(reqs, prefix, n)
        self.assertEqual({r["status"] for r in reqs}, {200})
        most = max_in_flight(reqs)
        self.assertLessEqual(most, c, "more requests in flight than "
                             "Connections")
        self.assertGreaterEqual(most, 2, "no two requests ever overlapped")
        span = max(r["answered"] for r in reqs) - \
            min(r["arrived"] for r in reqs)
        # One at a time would take n * DELAY; four at a time a quarter.
        self.assertLess(span, n * self.DELAY / 2,
                        "%d jobs of %.1f s each took %.2f s"
                        % (n, self.DELAY, span))
        self.assertLeftInOrder(jobs, prefix, c)

    def test_four_connections(self):
        self.four_connections()

    def test_four_connections_with_spool(self):
        # Each request waits for its job's entry on disk: still in order,
        # still four at a time.
        self.four_connections(SpoolDir=os.path.join(self.dir, "spool"))

    def test_dry_run_jobs_leave_at_once(self):
        # Jobs settled without a request (DryRun) free their line at once:
        # the next one never waits for the network or a timer.
        n = 20
        sup = self.supervisor()
        cd = self.start([("to-a", self.task(sup.url, "a"))], DryRun="true")
        prefix = self.tag() + "/"
        t0 = time.monotonic()
        self.send(cd, prefix, n)
        wait_for(lambda: len(lines_at(cd, "info", "DryRun: POST")) >= n,
                 10, what="%d DryRun lines" % n)
        self.assertLess(time.monotonic() - t0, 3 * TIME_SCALE)
        self.assertEqual(sup.requests(), [])

    def one_connection(self, connections):
        n = 6
        sup = self.slow_supervisor()
        cd = self.start([("to-a", self.task(sup.url, "a"))], connections)
        prefix = self.tag() + "/"
        self.send(cd, prefix, n)
        jobs = sup.wait_jobs(n, timeout=n * self.DELAY + 5)
        pause(0.3)
        reqs = sup.requests()
        self.assertEachOnce(reqs, prefix, n)
        self.assertEqual(max_in_flight(reqs), 1,
                         [(message_of(r), r["arrived"], r["answered"])
                          for r in by_arrival(reqs)])
        self.assertLeftInOrder(jobs, prefix, 1)

    def test_one_connection_by_default(self):
        self.one_connection(None)

    def test_one_connection(self):
        self.one_connection(1)

    def test_each_supervisor_has_its_own_connections(self):
        n, c = 6, 2
        a = self.slow_supervisor("a")
        b = self.slow_supervisor("b")
        cd = self.two_supervisors(a.url, b.url, c)
        pa, pb = self.prefixes()
        self.interleave(cd, pa, pb, n)
        a.wait_jobs(n, timeout=n * self.DELAY + 5)
        b.wait_jobs(n, timeout=n * self.DELAY + 5)
        pause(0.3)
        ra, rb = a.requests(), b.requests()
        self.assertEachOnce(ra, pa, n)
        self.assertEachOnce(rb, pb, n)
        self.assertEqual(max_in_flight(ra), c, "requests in flight at A")
        self.assertEqual(max_in_flight(rb), c, "requests in flight at B")
        # Both on one clock (one machine): Connections each, at once.
        self.assertEqual(max_in_flight(ra + rb), 2 * c,
                         "the two supervisors shared their connections")

    def test_tasks_with_the_same_url_share_its_connections(self):
        # Two Tasks, one supervisor: one line, two connections in all (not
        # two each), and one arrival order across both Tasks.
        n, c = 6, 2
        sup = self.slow_supervisor()
        cd = self.start([("first", self.task(sup.url, "a")),
                         ("second", self.task(sup.url, "b", TASK_ID2,
                                              SECRET2))], c)
        tag = self.tag()
        for i in range(n):
            # Numbered in the order sent, across both Tasks.
            cd.putnotif("%s/%02d" % (tag, 2 * i), plugin="a")
            cd.putnotif("%s/%02d" % (tag, 2 * i + 1), plugin="b")
        jobs = sup.wait_jobs(2 * n, timeout=2 * n * self.DELAY + 5)
        pause(0.3)
        reqs = sup.requests()
        self.assertEachOnce(reqs, tag + "/", 2 * n)
        self.assertEqual({json.loads(r["body"])["task"] for r in reqs},
                         {TASK_ID, TASK_ID2})
        most = max_in_flight(reqs)
        self.assertLessEqual(most, c, "Tasks with the same URL did not "
                             "share its connections")
        self.assertEqual(most, c, "requests in flight")
        self.assertLeftInOrder(jobs, tag + "/", c)


class ConnectionsConfig(IntegrationTest):
    """`Connections`: a whole number from 1, global only."""

    URL = "http://127.0.0.1:9"  # never contacted: -T only reads and inits

    def check(self, block):
        rc, output, log = Collectd(self.dir, block).test_config()
        # Our lines from the log, and from stderr (before a log plugin
        # exists collectd prints there without a severity).
        errors = [l for l in log.splitlines()
                  if PREFIX in l and "[error]" in l.lower()]
        errors += [l for l in output.splitlines()
                   if PREFIX in l and not re.search(
                       r"\[(warning|notice|info)\]", l, re.I)]
        return rc, errors, "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)

    def assertRefused(self, value, *words):
        block = plugin_block(self.URL, [("t", task_options())],
                             Connections=value)
        rc, errors, detail = self.check(block)
        self.assertNotEqual(rc, 0, detail)
        self.assertEqual(len(errors), 1, detail)
        for w in ("Connections",) + words:
            self.assertIn(w, errors[0], detail)

    def test_zero(self):
        self.assertRefused(0)

    def test_negative(self):
        self.assertRefused(-1)

    def test_string(self):
        self.assertRefused("x")

    def test_fraction(self):
        self.assertRefused(1.5)

    def test_in_a_task(self):
        # Per supervisor, not per Task: a Task may not set it.
        block = plugin_block(self.URL, [("t", task_options(
            TASK_ID, SECRET, "Connections 4"))])
        rc, errors, detail = self.check(block)
        self.assertNotEqual(rc, 0, detail)
        self.assertEqual(len(errors), 1, detail)
        self.assertIn("Connections", errors[0], detail)
        self.assertIn('"t"', errors[0], detail)

    def test_accepted(self):
        # Without this, the refusals above would pass for an unknown option.
        for value in (1, 4):
            block = plugin_block(self.URL, [("t", task_options())],
                                 Connections=value)
            rc, errors, detail = self.check(block)
            self.assertEqual(rc, 0, detail)
            self.assertEqual(errors, [], detail)


if __name__ == "__main__":
    main()
