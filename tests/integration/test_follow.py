# SPDX-License-Identifier: MIT
"""FollowJob in the real daemon: each created job is followed through the
fake supervisor's result route (GET /job/ID/secret/S/result?full&timeout=60)
to its end, which is logged, counted and dispatched as the plugin's own
notification (job_succeeded, job_failed) that the logfile plugin and an
escalation Task receive; 303 and 408 mean "ask again", 404 a job gone;
FollowTimeout and FollowLimit end follows; a job's secret is never logged.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

JOB_META_ARGS = ['Argument "%{type_instance}"', 'Argument "%{severity}"',
                 'Argument "%{host}"', 'Argument "%{meta:job_id}"',
                 'Argument "%{meta:state}"', 'Argument "%{meta:lifecycle}"',
                 'Argument "%{meta:subject_plugin}"',
                 'Argument "%{meta:episode}"']


def job_secret(job_id):
    """The secret the fake supervisor gives job job_id (its splitmix64)."""
    boot, no = int(job_id[:8], 16), int(job_id[8:], 16)
    x, out = ((boot << 32) ^ no) & (2**64 - 1), ""
    for _ in range(4):
        x = (x + 0x9e3779b97f4a7c15) & (2**64 - 1)
        z = x
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & (2**64 - 1)
        out += "%016x" % (z ^ (z >> 31))
    return out


class FollowTest(IntegrationTest):

    def start(self, control="", follow=("FollowJob true",), escalate=False,
              **globals_):
        self.sup = self.supervisor(
            extra_args=["--control", control] if control else [])
        tasks = [("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                      'Argument "%{host}"',
                                      'Argument "%{episode}"', *follow))]
        if escalate:
            tasks.append(("told", task_options(
                TASK_ID2, SECRET2, 'Plugin "notify_theeye"',
                'TypeInstance "job_succeeded" "job_failed"',
                'Severity "OKAY" "FAILURE"', 'FollowJob true',
                *JOB_META_ARGS)))
        globals_.setdefault("Customer", CUSTOMER)
        return self.collectd(plugin_block(self.sup.url, tasks, **globals_),
                             extra=CSV_EXTRA.format(dir=self.dir))

    def results(self):
        return [r for r in self.sup.requests() if r.get("fault") == "result"]

    def assertNoJobSecret(self, cd):
        """No job's secret in anything collectd wrote: its log (every
        level), the csv files."""
        secrets = [job_secret(job["job_id"]).encode()
                   for job in self.sup.jobs()]
        self.assertTrue(secrets)
        for root, _, files in os.walk(self.dir):
            for name in files:
                path = os.path.join(root, name)
                if name.startswith("supervisor") or not os.path.isfile(path):
                    continue  # the fake's own record of the route; sockets
                with open(path, "rb") as f:
                    data = f.read()
                for secret in secrets:
                    self.assertNotIn(secret, data, name)


class Ends(FollowTest):

    def test_success_is_reported_to_collectd(self):
        # The job ends well 0.5 s after its creation: an INFO line, the
        # counter, and job_succeeded (OKAY) for the logfile plugin and the
        # escalation Task, with the job's meta; the escalation's own job
        # is not followed.
        cd = self.start("result_after_ms=500", escalate=True)
        cd.putnotif("down", host="web1", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        line = cd.wait_log(r'Task "fix": job %s succeeded: state success, '
                           r'lifecycle finished, [0-9.]+ s after'
                           % job["job_id"])
        self.assertEqual(len(line), 1)
        wait_counter(self.dir, "fix", "derive-job_succeeded", 1)
        self.assertEqual(csv_latest(self.dir, "fix", "derive-job_failed"), 0)
        self.sup.wait_jobs(2)
        (told,) = self.sup.jobs_of(TASK_ID2)
        self.assertEqual(arguments(told), [
            "job_succeeded", "OKAY", "web1", job["job_id"], "success",
            "finished", "svc", arguments(job)[1]])
        events = own_notifications(cd, "fix")
        self.assertEqual([(sev, host, what) for sev, host, what, _ in events],
                         [("OKAY", "web1", "job_succeeded")])
        pause(1)  # the escalation's job would have been followed by now
        self.assertEqual({r["path"].split("/")[2] for r in self.results()},
                         {job["job_id"]})
        self.assertNoJobSecret(cd)

    def test_failure_is_reported_to_collectd(self):
        cd = self.start("result=failure&result_after_ms=200", escalate=True)
        cd.putnotif("down", host="web2", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r'Task "fix": job %s failed: state failure, lifecycle '
                    r'finished' % job["job_id"])
        wait_counter(self.dir, "fix", "derive-job_failed", 1)
        self.sup.wait_jobs(2)
        told = self.sup.jobs_of(TASK_ID2)
        self.assertEqual(arguments(told[0])[:6], [
            "job_failed", "FAILURE", "web2", job["job_id"], "failure",
            "finished"])
        self.assertEqual([e[0] for e in own_notifications(cd, "fix")],
                         ["FAILURE"])
        self.assertNoJobSecret(cd)

    def test_a_long_result_is_read_whole(self):
        # A job with 300 KiB of output before its id: its end is still
        # understood (the answer is read as it arrives, not cut).
        cd = self.start("result=failure&output_kb=300")
        cd.putnotif("down", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r"job %s failed: state failure" % job["job_id"])
        self.assertEqual(len(self.results()), 1)

    def test_ask_again_after_408_and_303(self):
        # The supervisor holds each request 1.1 s, then says "not yet"
        # (408); then with 303 and a Location that is never followed.
        cd = self.start("result_after_ms=3000&hold_ms=1100")
        cd.putnotif("down", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r"job %s succeeded" % job["job_id"])
        statuses = [r["status"] for r in self.results()]
        self.assertGreaterEqual(statuses.count(408), 2, statuses)
        self.assertEqual(statuses[-1], 200)
        self.sup.control(see_other=1)
        cd.putnotif("down", host="h2", plugin="svc")
        job2 = self.sup.wait_jobs(2)[1]
        cd.wait_log(r"job %s succeeded" % job2["job_id"])
        of2 = [r for r in self.results() if job2["job_id"] in r["path"]]
        self.assertGreaterEqual([r["status"] for r in of2].count(303), 2)
        # Every request is the route itself, never the Location's.
        self.assertEqual({r["uri"] for r in of2},
                         {"/job/%s/secret/%s/result?full&timeout=60"
                          % (job2["job_id"], job_secret(job2["job_id"]))})
        self.assertNotIn("counter=", cd.log())
        self.assertNoJobSecret(cd)

    def test_not_yet_without_a_hold_is_no_loop(self):
        # Something between the plugin and the supervisor answers 408 at
        # once: the first few are asked again at once, as any "not yet";
        # then once a second, not in a loop.
        cd = self.start("result_after_ms=%d&hold_ms=1" % (3500 * TIME_SCALE))
        cd.putnotif("down", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r"job %s succeeded" % job["job_id"],
                    timeout=10 * TIME_SCALE)
        results = self.results()
        statuses = [r["status"] for r in results]
        self.assertEqual(statuses[-1], 200)
        self.assertEqual(set(statuses[:-1]), {408}, statuses)
        arrived = [r["arrived"] for r in results]
        self.assertLess(arrived[3] - arrived[0], 0.9 * TIME_SCALE, arrived)
        self.assertLessEqual(len(statuses), 3 + 3.5 * TIME_SCALE + 2,
                             statuses)

    def test_gone_and_timeout(self):
        # A job the supervisor no longer knows (404): abandoned, with a
        # WARNING and no notification. A job that never ends: given up at
        # FollowTimeout.
        cd = self.start("result=gone",
                        follow=("FollowJob true", "FollowTimeout 1.5"),
                        RetryInterval=0.2, MaxRetryInterval=0.2)
        cd.putnotif("down", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r"job %s is gone from the supervisor \(HTTP 404\)"
                    % job["job_id"])
        wait_counter(self.dir, "fix", "derive-follow_abandoned", 1)
        self.sup.control(result="never", hold_ms=300)
        cd.putnotif("down", host="h2", plugin="svc")
        job2 = self.sup.wait_jobs(2)[1]
        cd.wait_log(r"job %s has not finished within FollowTimeout"
                    % job2["job_id"], timeout=10)
        wait_counter(self.dir, "fix", "derive-follow_timeout", 1)
        self.assertEqual(own_notifications(cd, "fix"), [])
        self.assertEqual(csv_latest(self.dir, "fix", "derive-job_succeeded"),
                         0)


class Limits(FollowTest):

    def test_follow_limit_abandons_the_oldest(self):
        cd = self.start("result=never&hold_ms=500", FollowLimit=2)
        for host in ("a", "b", "c"):
            cd.putnotif("down", host=host, plugin="svc")
        jobs = self.sup.wait_jobs(3)
        line = cd.wait_log(r"job %s is no longer followed: FollowLimit \(2\)"
                           % jobs[0]["job_id"])
        self.assertEqual(len(line), 1)
        abandoned = time.time()
        wait_counter(self.dir, "fix", "derive-follow_abandoned", 1)
        pause(2.5)  # b's and c's are asked again meanwhile, a's never
        asked = {r["path"].split("/")[2] for r in self.results()
                 if r["arrived"] > abandoned + 0.1}
        self.assertEqual(asked, {jobs[1]["job_id"], jobs[2]["job_id"]})
        # The abandoned follow's request was cut: more follows, still no
        # delivery waits for a connection slot.
        for host in ("d", "e", "f", "g"):
            cd.putnotif("down", host=host, plugin="svc")
        self.sup.wait_jobs(7)
        wait_counter(self.dir, "fix", "derive-follow_abandoned", 5)
        self.assertEqual(lines_at(cd, "error", ""), [])
        self.assertEqual(csv_latest(self.dir, "fix", "derive-retried"), 0)

    def test_stop_does_not_wait_for_held_results(self):
        # Requests held by the supervisor for a minute end at once at
        # shutdown, uncounted; delivery is not held back by them either.
        cd = self.start("result=never&hold_ms=60000")
        cd.putnotif("down", plugin="svc")
        self.sup.wait_jobs(1)
        wait_for(lambda: self.results() or True, 2)
        for host in ("x", "y", "z"):
            cd.putnotif("down", host=host, plugin="svc")
        self.sup.wait_jobs(4, timeout=5)
        t0 = time.time()
        cd.stop()
        self.assertLess(time.time() - t0, 7)
        self.assertEqual(lines_at(cd, "warning", "shutting down"), [])
        self.assertEqual(lines_at(cd, "error", ""), [])

    def test_off_by_default(self):
        cd = self.start("result_after_ms=0", follow=())
        cd.putnotif("down", plugin="svc")
        self.sup.wait_jobs(1)
        pause(1)
        self.assertEqual(self.results(), [])
        self.assertIsNone(csv_latest(self.dir, "fix", "derive-job_succeeded"))


class Load(FollowTest):

    def test_supervisor_restart_in_the_middle_of_a_follow(self):
        # The supervisor goes away while it holds the result request: the
        # follow backs off, and once it is back (its jobs kept, as TheEye
        # keeps them in its database) the job's end is read.
        port = free_port()
        self.sup = self.supervisor(port=port, extra_args=[
            "--boot", "0000abcd", "--control", "result=never&hold_ms=60000"])
        cd = self.collectd(plugin_block(self.sup.url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'FollowJob true'))],
            Customer=CUSTOMER, RetryInterval=0.2, MaxRetryInterval=0.5),
            extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        pause(0.5)  # the result request is held by now
        self.sup.stop()
        pause(1)  # refused, meanwhile: backing off
        back = self.supervisor("again", port=port, extra_args=[
            "--boot", "0000abcd", "--control", "result_after_ms=0"])
        line = cd.wait_log(r"job %s succeeded" % job["job_id"], timeout=10)
        self.assertEqual(len(line), 1)
        self.assertTrue(any(r.get("fault") == "result" and r["status"] == 200
                            for r in back.requests()))
        wait_counter(self.dir, "fix", "derive-job_succeeded", 1)
        self.assertEqual(csv_latest(self.dir, "fix", "derive-follow_abandoned"),
                         0)

    def test_200_follows_while_jobs_are_delivered(self):
        # 200 jobs followed at once (FollowLimit raised), each result held by
        # the supervisor: 1000 more jobs of another Task are delivered all
        # the same, on their own connection, while every follow is held.
        self.sup = self.supervisor(
            extra_args=["--control", "result=never&hold_ms=60000"])
        cd = self.collectd(plugin_block(self.sup.url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'FollowJob true', 'Argument "%{host}"')),
            ("plain", task_options(TASK_ID2, SECRET2, 'Plugin "other"',
                                   'Argument "%{host}"',
                                   'CancelOnRecovery false'))],
            Customer=CUSTOMER, FollowLimit=300, QueueLimit=5000),
            extra=CSV_EXTRA.format(dir=self.dir))
        def line(plugin, host):
            return ("PUTNOTIF severity=failure time=%d host=%s plugin=%s "
                    "message=down" % (time.time(), host, plugin))
        command_many(cd, [line("svc", "f%d" % i) for i in range(200)])
        self.sup.wait_jobs(200, timeout=30)

        def holding():
            _, body = http_request(self.sup.port, "GET", "/_control/stats")
            return json.loads(body)["holding"]
        wait_for(lambda: holding() == 200, 10, what="200 results held")
        t0 = time.time()
        command_many(cd, [line("other", "p%d" % i) for i in range(1000)])
        self.sup.wait_jobs(1200, timeout=60)
        took = time.time() - t0
        print("1000 jobs delivered in %.2f s beside 200 held follows"
              % took, file=sys.stderr)
        # Every follow is still held: none was answered, none abandoned.
        self.assertEqual(holding(), 200)
        self.assertEqual(self.results(), [])
        self.assertEqual(csv_latest(self.dir, "fix",
                                    "derive-follow_abandoned"), 0)
        conns = {r["connection"] for r in self.sup.jobs_of(TASK_ID2)}
        self.assertLessEqual(len(conns), 2, conns)
        t0 = time.time()
        cd.stop()
        self.assertLess(time.time() - t0, 7)


THRESHOLD = """\
LoadPlugin threshold
<Plugin threshold>
  <Plugin "foo">
    <Type "gauge">
      FailureMax 10
    </Type>
  </Plugin>
</Plugin>
"""


class Verify(FollowTest):

    def test_resolved_and_unresolved_after_created_jobs(self):
        # Without FollowJob the window opens at the job's creation. Any
        # OKAY for the subject resolves it, whatever the Task's Severity.
        cd = self.start(follow=("Verify %g" % (1.5 * TIME_SCALE),))
        cd.putnotif("down", host="h1", plugin="svc")
        (job,) = self.sup.wait_jobs(1)
        cd.wait_log(r"job %s created" % job["job_id"])  # the window opens
        cd.putnotif("up", severity="okay", host="h1", plugin="svc")
        wait_counter(self.dir, "fix", "derive-resolved", 1)
        wait_for(lambda: own_notifications(cd, "fix"), 5, what="resolved")
        (sev, host, what, message) = own_notifications(cd, "fix")[0]
        self.assertEqual((sev, host, what), ("OKAY", "h1", "resolved"))
        self.assertIn("h1/svc is OKAY again", message)
        self.assertIn("after job %s of Task fix" % job["job_id"], message)
        cd.putnotif("down again", host="h1", plugin="svc")
        job2 = self.sup.wait_jobs(2)[1]
        wait_counter(self.dir, "fix", "derive-unresolved", 1,
                     timeout=10 * TIME_SCALE)
        (sev, host, what, message) = own_notifications(cd, "fix")[1]
        self.assertEqual((sev, host, what), ("FAILURE", "h1", "unresolved"))
        self.assertIn("h1/svc still not OKAY %g s after job %s of Task fix"
                      % (1.5 * TIME_SCALE, job2["job_id"]), message)
        self.assertEqual(csv_latest(self.dir, "fix", "derive-resolved"), 1)

    def test_with_a_real_threshold_after_the_followed_job(self):
        # FollowJob and Verify: the window opens once the job succeeded.
        # x comes back in range (the threshold's OKAY): resolved; y stays
        # out of range: unresolved.
        self.sup = self.supervisor(
            extra_args=["--control", "result_after_ms=300"])
        cd = self.collectd(plugin_block(self.sup.url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                 'FollowJob true',
                                 'Verify %g' % (2 * TIME_SCALE),
                                 'Argument "%{type_instance}"'))],
            Customer=CUSTOMER),
            extra=THRESHOLD + CSV_EXTRA.format(dir=self.dir))
        t = [time.time() - 600]

        def putval_at(instance, value):
            t[0] += 1
            putval(cd, "testhost/foo/gauge-" + instance, value, at=t[0],
                   interval=60)
        putval_at("x", 42)
        putval_at("y", 43)
        self.sup.wait_jobs(2)
        wait_counter(self.dir, "fix", "derive-job_succeeded", 2)
        putval_at("x", 5)
        wait_counter(self.dir, "fix", "derive-resolved", 1)
        wait_counter(self.dir, "fix", "derive-unresolved", 1,
                     timeout=10 * TIME_SCALE)
        got = sorted((what, host) for _, host, what, _ in
                     own_notifications(cd, "fix") if what.endswith("resolved"))
        self.assertEqual(got, [("resolved", "testhost"),
                               ("unresolved", "testhost")])
        msgs = [m for _, _, what, m in own_notifications(cd, "fix")
                if what == "unresolved"]
        self.assertIn("testhost/foo/gauge-y still not OKAY %g s after job"
                      % (2 * TIME_SCALE), msgs[0])

    def test_okay_while_the_job_ran(self):
        # h1's OKAY comes while its job runs: resolved as the window opens.
        # h2's OKAY comes too, then h2 fails again (a new incident, a new
        # job) before the first job ends: the window waits for the next
        # OKAY, which never comes.
        cd = self.start("result_after_ms=%d" % (1500 * TIME_SCALE),
                        follow=("FollowJob true",
                                "Verify %g" % (1.5 * TIME_SCALE),
                                "CancelOnRecovery false"))
        cd.putnotif("down", host="h1", plugin="svc")
        cd.putnotif("down", host="h2", plugin="svc")
        self.sup.wait_jobs(2)
        cd.putnotif("up", severity="okay", host="h1", plugin="svc")
        cd.putnotif("up", severity="okay", host="h2", plugin="svc")
        cd.putnotif("down again", host="h2", plugin="svc")
        self.sup.wait_jobs(3)
        wait_counter(self.dir, "fix", "derive-job_succeeded", 3,
                     timeout=10 * TIME_SCALE)
        wait_counter(self.dir, "fix", "derive-unresolved", 1,
                     timeout=10 * TIME_SCALE)
        verdicts = sorted((what, host) for _, host, what, _ in
                          own_notifications(cd, "fix")
                          if what.endswith("resolved"))
        self.assertEqual(verdicts, [("resolved", "h1"), ("unresolved", "h2")])
        self.assertEqual(csv_latest(self.dir, "fix", "derive-resolved"), 1)


if __name__ == "__main__":
    main()
