# SPDX-License-Identifier: MIT
"""Remediation safety in the real daemon: Confirm, Budget and TaskBudget
hold matches back and count them; a spent budget is reported once per run
of refusals as the plugin's own notification, which collectd hands to every
notification plugin (the logfile plugin here) and to an escalation Task
that names Plugin "notify_theeye" (whose jobs never report further).
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

ESCALATE_ARGS = ['Argument "%{host}"', 'Argument "%{plugin_instance}"',
                 'Argument "%{type}"', 'Argument "%{type_instance}"',
                 'Argument "%{meta:subject_plugin}"',
                 'Argument "%{meta:episode}"', 'Argument "%{message}"',
                 'Argument "%{episode}"']


class GuardTest(IntegrationTest):

    def start(self, tasks):
        self.sup = self.supervisor()
        return self.collectd(plugin_block(self.sup.url, tasks,
                                          Customer=CUSTOMER),
                             extra=CSV_EXTRA.format(dir=self.dir))



class Budget(GuardTest):

    def test_budget_per_subject_and_escalation(self):
        # Budget 2 per host and 60 s; a flood of 5 from each of 3 hosts:
        # 2 jobs each, 3 refusals each, one budget_exhausted per host. The
        # escalation Task takes one of those (TaskBudget 1): its own
        # refusals report nothing (no loop).
        cd = self.start([
            ("restart", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                     'Budget 2 60', 'Argument "%{host}"',
                                     'Argument "%{episode}"')),
            ("escalate", task_options(TASK_ID2, SECRET2,
                                      'Plugin "notify_theeye"',
                                      'TypeInstance "budget_exhausted"',
                                      'TaskBudget 1 60', *ESCALATE_ARGS)),
        ])
        hosts = ["h1", "h2", "h3"]
        for i in range(5):
            for h in hosts:
                cd.putnotif("svc down %d" % i, host=h, plugin="svc",
                            type="ps_count")
        wait_counter(self.dir, "restart", "derive-over_budget", 9)
        wait_counter(self.dir, "restart", "derive-sent", 6)
        wait_for(lambda: len(own_notifications(cd, "restart")) >= 3, 10,
                 what="three budget_exhausted notifications")
        wait_counter(self.dir, "escalate", "derive-sent", 1)
        wait_counter(self.dir, "escalate", "derive-over_budget", 2)
        pause(0.5)
        restart = self.sup.jobs_of(TASK_ID)
        self.assertEqual(sorted(arguments(r)[0] for r in restart),
                         ["h1", "h1", "h2", "h2", "h3", "h3"])
        events = own_notifications(cd, "restart")
        self.assertEqual(sorted(e[1] for e in events), hosts)
        for severity, host, name, message in events:
            self.assertEqual((severity, name), ("FAILURE", "budget_exhausted"))
            self.assertRegex(message, r"^Task restart already ran 2 times in "
                             r"60 s for %s/svc/ps_count; not run again "
                             r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$" % host)
        # The escalation's job: who, what, and the incident's episode.
        (esc,) = self.sup.jobs_of(TASK_ID2)
        args = arguments(esc)
        host = args[0]
        self.assertIn(host, hosts)
        self.assertEqual(args[1:5], ["restart", "remediation",
                                     "budget_exhausted", "svc"])
        episodes = {arguments(r)[1] for r in restart
                    if arguments(r)[0] == host}
        self.assertEqual({args[5]}, episodes)
        # %{episode} of an escalation is the incident's it reports on.
        self.assertEqual(args[7], args[5])
        self.assertTrue(args[6].startswith("Task restart already ran 2 "))
        # No loop: the escalation's refusals reported nothing.
        self.assertEqual(own_notifications(cd, "escalate"), [])
        self.assertEqual(len(own_notifications(cd, "restart")), 3)

    def test_task_budget_and_the_next_window(self):
        # TaskBudget 3 per 2 s across all hosts: the 4th and 5th are held
        # back, one budget_exhausted names the 4th's host; once the window
        # has passed the Task runs again.
        cd = self.start([
            ("fleet", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                   'TaskBudget 3 2', 'Argument "%{host}"')),
        ])
        for h in ["a", "b", "c", "d", "e"]:
            cd.putnotif("down", host=h, plugin="svc")
        self.sup.wait_jobs(3)
        wait_counter(self.dir, "fleet", "derive-over_budget", 2)
        events = wait_for(lambda: own_notifications(cd, "fleet"), 10,
                          what="the budget_exhausted notification")
        self.assertEqual([(e[1], e[2]) for e in events],
                         [("d", "budget_exhausted")])
        self.assertRegex(events[0][3], r"^Task fleet already ran 3 times in "
                         r"2 s for d/svc; not run again until \S+Z "
                         r"\(TaskBudget: all subjects together\)$")
        pause(2.2)
        cd.putnotif("down", host="f", plugin="svc")
        jobs = self.sup.wait_jobs(4)
        self.assertEqual([arguments(r)[0] for r in jobs], ["a", "b", "c", "f"])
        self.assertEqual(len(own_notifications(cd, "fleet")), 1)


SLOW_NOTIFIER = """\
import collectd, threading

done = threading.Event()


def notified(n):
    # An email plugin whose server does not answer.
    if n.plugin == "notify_theeye":
        done.wait(%(seconds)d)


collectd.register_notification(notified)
collectd.register_shutdown(done.set)
"""


class SlowNotificationPlugin(GuardTest):

    def test_budget_exhausted_never_holds_deliveries(self):
        # Another notification plugin takes its time over budget_exhausted:
        # the plugin's own notifications wait in a thread of their own, so
        # that jobs are still delivered meanwhile, and a stop is not held.
        with open(os.path.join(self.dir, "slownotify.py"), "w") as f:
            f.write(SLOW_NOTIFIER % {"seconds": 20})
        extra = ('LoadPlugin python\n<Plugin python>\n  ModulePath "%s"\n'
                 '  Import "slownotify"\n</Plugin>\n' % self.dir +
                 CSV_EXTRA.format(dir=self.dir))
        self.sup = self.supervisor()
        cd = self.collectd(plugin_block(self.sup.url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'Budget 1 60', 'Argument "%{host}"'))],
            Customer=CUSTOMER), extra=extra)
        cd.putnotif("down", host="h1", plugin="svc")
        self.sup.wait_jobs(1)
        cd.putnotif("down", host="h1", plugin="svc")  # budget_exhausted
        wait_for(lambda: "type_instance = budget_exhausted" in cd.log(), 10,
                 what="the logfile plugin's line for budget_exhausted")
        pause(0.5)  # the slow plugin, next in line, has it by now
        t0 = time.time()
        cd.putnotif("down", host="h2", plugin="svc")
        jobs = self.sup.wait_jobs(2, timeout=10)
        self.assertEqual(arguments(jobs[1]), ["h2"])
        self.assertLess(time.time() - t0, 10)  # not the 20 s of the plugin
        cd.stop()
        self.assertEqual(lines_at(cd, "error", ""), [])


class Confirm(GuardTest):

    def test_confirm_k_within_seconds_and_okay_resets(self):
        # Confirm 3 60: the third FAILURE of a subject is acted on; an
        # OKAY between starts counting again.
        cd = self.start([
            ("disk", task_options(TASK_ID, SECRET, 'Plugin "df"',
                                  'Confirm 3 60', 'Argument "%{message}"')),
        ])

        def fail(msg, host="h"):
            cd.putnotif(msg, host=host, plugin="df", type="percent")
        fail("1")
        fail("2")
        wait_counter(self.dir, "disk", "derive-unconfirmed", 2)
        self.assertEqual(self.sup.jobs(), [])
        fail("3")
        (job,) = self.sup.wait_jobs(1)
        self.assertEqual(arguments(job), ["3"])
        # Counting again: two, an OKAY, then three more are needed.
        fail("4")
        fail("5")
        cd.putnotif("fine", severity="okay", host="h", plugin="df",
                    type="percent")
        fail("6")
        fail("7")
        wait_counter(self.dir, "disk", "derive-unconfirmed", 6)
        self.assertEqual(len(self.sup.jobs()), 1)
        fail("8")
        jobs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(jobs[1]), ["8"])
        # Another subject counts on its own.
        fail("x", host="other")
        wait_counter(self.dir, "disk", "derive-unconfirmed", 7)


class CancelOnRecovery(GuardTest):

    def test_okay_cancels_the_jobs_waiting_for_a_down_supervisor(self):
        # The supervisor is down: the FAILUREs' jobs wait for their retry.
        # h1 recovers: its job is cancelled and never reaches the
        # supervisor once it is back (for both Tasks that cancel, in one
        # line); h2's still does, and so does h1's for a Task with
        # CancelOnRecovery off.
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        cd = self.collectd(plugin_block(url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'Argument "%{host}"')),
            ("also", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                  'Argument "%{host}"')),
            ("keep", task_options(TASK_ID2, SECRET2, 'Plugin "svc"',
                                  'CancelOnRecovery false',
                                  'Argument "%{host}"')),
        ], Customer=CUSTOMER, RetryInterval=0.5, MaxRetryInterval=1),
            extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", host="h1", plugin="svc")
        cd.putnotif("down", host="h2", plugin="svc")
        cd.wait_log(r"\(not delivered\): retrying in")
        cd.putnotif("up", severity="okay", host="h1", plugin="svc")
        line = cd.wait_log(r'Tasks "fix", "also": h1/svc is OKAY again: '
                           r'cancelled 2 waiting job')
        self.assertEqual(len(line), 1, line)
        self.assertEqual(len([l for l in cd.plugin_lines()
                              if "is OKAY again: cancelled" in l]), 1)
        wait_counter(self.dir, "fix", "derive-cancelled", 1)
        wait_counter(self.dir, "also", "derive-cancelled", 1)
        self.sup = self.supervisor(port=port)
        jobs = self.sup.wait_jobs(4, timeout=10)
        pause(1.5)  # a cancelled job would have had its retry by now
        got = sorted((json.loads(r["body"])["task"], arguments(r)[0])
                     for r in self.sup.jobs())
        self.assertEqual(got, sorted([(TASK_ID, "h2"), (TASK_ID, "h2"),
                                      (TASK_ID2, "h1"), (TASK_ID2, "h2")]))
        self.assertEqual(csv_latest(self.dir, "keep", "derive-cancelled"), 0)
        self.assertEqual(len(jobs), 4)


    def test_okay_cancels_a_job_on_its_way(self):
        # The supervisor hangs on the FAILURE's request; the OKAY comes
        # meanwhile: once the request times out, the job is not retried.
        self.sup = self.supervisor(extra_args=["--control", "hang=1"])
        cd = self.collectd(plugin_block(self.sup.url, [
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'Argument "%{host}"', 'Timeout 1500')),
        ], Customer=CUSTOMER, RetryInterval=0.2, MaxRetryInterval=0.5),
            extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", host="h1", plugin="svc")
        self.sup.wait_requests(1)
        cd.putnotif("up", severity="okay", host="h1", plugin="svc")
        cd.wait_log(r'Task "fix": cancelled a job whose subject is OKAY '
                    r'again', timeout=10)
        wait_counter(self.dir, "fix", "derive-cancelled", 1)
        pause(1)  # a retry would have come by now
        self.assertEqual(len(self.sup.requests()), 1)
        self.assertEqual(self.sup.jobs(), [])
        self.assertEqual(csv_latest(self.dir, "fix", "derive-retried"), 0)


class Pause(GuardTest):

    def count(self, cd, level, pattern):
        return len(lines_at(cd, level, pattern))

    def test_pause_file_created_expired_and_removed(self):
        # A job waits for a supervisor that is down; the PauseFile appears:
        # nothing is queued (paused) nor sent, even once the supervisor is
        # back; it goes: the waiting job leaves. Then a file with a time:
        # the pause ends at that time, with a WARNING, the file still there.
        pause_file = os.path.join(self.dir, "maintenance")
        port = free_port()
        cd = self.collectd(plugin_block(
            "http://127.0.0.1:%d" % port,
            [("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                  'Argument "%{message}"'))],
            Customer=CUSTOMER, PauseFile=pause_file, RetryInterval=0.3,
            MaxRetryInterval=0.5), extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("before", plugin="svc")
        cd.wait_log(r"\(not delivered\): retrying in")
        open(pause_file, "w").close()
        cd.wait_log(r"paused: PauseFile")
        cd.putnotif("during", plugin="svc")
        wait_counter(self.dir, "fix", "derive-paused", 1)
        self.sup = self.supervisor(port=port)
        pause(1.5)  # the retries would have reached it by now
        self.assertEqual(self.sup.requests(), [])
        os.unlink(pause_file)
        cd.wait_log(r"pause over")
        jobs = self.sup.wait_jobs(1)
        self.assertEqual([message_of(r) for r in jobs], ["before"])
        cd.putnotif("after", plugin="svc")
        self.sup.wait_jobs(2)

        with open(pause_file, "w") as f:
            f.write("%.3f\n" % (time.time() + 2.5))
        wait_for(lambda: self.count(cd, "info", "paused: PauseFile") == 2,
                 5, what="the second pause")
        cd.putnotif("held", plugin="svc")
        wait_counter(self.dir, "fix", "derive-paused", 2)
        wait_for(lambda: self.count(cd, "info", "pause over") == 2, 6,
                 what="the end of the pause at its time")
        self.assertEqual(self.count(cd, "warning", "has passed"), 1)
        self.assertTrue(os.path.exists(pause_file))
        cd.putnotif("again", plugin="svc")
        jobs = self.sup.wait_jobs(3)
        self.assertEqual([message_of(r) for r in jobs],
                         ["before", "after", "again"])


    def test_a_task_paused_on_its_own_holds_no_other(self):
        # Two Tasks on one supervisor, one with a PauseFile of its own: its
        # waiting job stays while the other Task's job goes.
        pause_file = os.path.join(self.dir, "maintenance-a")
        port = free_port()
        cd = self.collectd(plugin_block(
            "http://127.0.0.1:%d" % port,
            [("a", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                'PauseFile "%s"' % pause_file,
                                'Argument "a"')),
             ("b", task_options(TASK_ID2, SECRET2, 'Plugin "svc"',
                                'Argument "b"'))],
            Customer=CUSTOMER, RetryInterval=0.3, MaxRetryInterval=0.5),
            extra=CSV_EXTRA.format(dir=self.dir))
        self.assertEqual(len(lines_at(cd, "info", r"2 Task\(s\) for 1 "
                                      r"supervisor\(s\)")), 1)
        cd.putnotif("down", plugin="svc")  # a's job first, then b's
        wait_for(lambda: (csv_latest(self.dir, "b", "derive-retried") or 0)
                 >= 1, 8, what="b's job waiting for a retry")
        open(pause_file, "w").close()
        cd.wait_log(r"paused: PauseFile")
        self.sup = self.supervisor(port=port)
        (job,) = self.sup.wait_jobs(1)
        self.assertEqual(arguments(job), ["b"])
        pause(1)  # a's retry would have come by now
        self.assertEqual(len(self.sup.jobs()), 1)
        os.unlink(pause_file)
        jobs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(jobs[1]), ["a"])


class AcrossRestarts(GuardTest):
    """With SpoolDir the subjects and budgets survive a restart and a
    kill -9: the state is on disk within a second of a change."""

    def block(self, tasks):
        return plugin_block(self.sup.url, tasks, Customer=CUSTOMER,
                            SpoolDir=os.path.join(self.dir, "spool"))

    def again(self, block):
        return self.recollectd(block, extra=CSV_EXTRA.format(dir=self.dir))

    def test_incident_and_budget_survive_kill_9(self):
        self.sup = self.supervisor()
        block = self.block([
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'Budget 1 3600', 'Argument "%{severity}"',
                                 'Argument "%{episode}"')),
            ("recovered", task_options(TASK_ID2, SECRET2, 'Plugin "svc"',
                                       'Severity "OKAY"',
                                       'Argument "%{severity}"',
                                       'Argument "%{episode}"')),
        ])
        cd = self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", host="h", plugin="svc")
        (first,) = self.sup.wait_jobs(1)
        episode = arguments(first)[1]
        self.assertRegex(episode, r"^[0-9a-f]{16}$")
        pause(1.5)  # on disk within a second
        cd.kill()

        cd = self.again(block)
        # The same incident: the budget is spent, and stays spent.
        cd.putnotif("still down", host="h", plugin="svc")
        wait_counter(self.dir, "fix", "derive-over_budget", 1)
        # Its OKAY is no first OKAY: the recovery Task acts, with the
        # episode that began before the restart.
        cd.putnotif("up", severity="okay", host="h", plugin="svc")
        jobs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(jobs[1]), ["OKAY", episode])
        self.assertEqual(csv_latest(self.dir, "recovered",
                                    "derive-ignored_okay"), 0)
        # A subject never seen failing: its OKAY is still a first one.
        cd.putnotif("fine", severity="okay", host="other", plugin="svc")
        wait_counter(self.dir, "recovered", "derive-ignored_okay", 1)

        # A clean stop, the next incident: a new episode, once the budget's
        # hour... is still running: held back, with its new id in the state.
        cd.stop()
        cd = self.again(block)
        cd.putnotif("down again", host="h", plugin="svc")
        wait_counter(self.dir, "fix", "derive-over_budget", 1)
        self.assertEqual(len(self.sup.jobs()), 2)

    def test_okay_after_restart_cancels_a_spooled_job(self):
        # The supervisor is down through a restart: the FAILUREs' jobs are
        # spooled, resumed, and wait for their retry. h1's OKAY after the
        # restart cancels h1's job, which never reaches the supervisor.
        port = free_port()
        block = plugin_block(
            "http://127.0.0.1:%d" % port,
            [("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                  'Argument "%{host}"'))],
            Customer=CUSTOMER, SpoolDir=os.path.join(self.dir, "spool"),
            RetryInterval=0.5, MaxRetryInterval=1)
        cd = self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", host="h1", plugin="svc")
        cd.putnotif("down", host="h2", plugin="svc")
        cd.wait_log(r"\(not delivered\): retrying in")
        cd.stop()

        cd = self.again(block)
        wait_counter(self.dir, "fix", "derive-resumed", 2)
        cd.putnotif("up", severity="okay", host="h1", plugin="svc")
        cd.wait_log(r'Task "fix": h1/svc is OKAY again: cancelled 1 '
                    r'waiting job')
        wait_counter(self.dir, "fix", "derive-cancelled", 1)
        self.sup = self.supervisor(port=port)
        (job,) = self.sup.wait_jobs(1, timeout=10)
        pause(1.5)  # a cancelled job would have had its retry by now
        self.assertEqual([arguments(r) for r in self.sup.jobs()], [["h2"]])
        spool = os.path.join(self.dir, "spool")
        wait_for(lambda: not [n for n in os.listdir(spool)
                              if n.endswith(".job")], 5,
                 what="the spool emptied")

    def test_notification_before_init_waits_for_the_state(self):
        # A notification that reaches the plugin before its init (a Python
        # module's init, loaded before it, sleeps) goes through the guards
        # only once the state of the last run is loaded: the OKAY that ends
        # the incident begun before the restart is no first OKAY.
        self.sup = self.supervisor()
        block = self.block([
            ("fix", task_options(TASK_ID, SECRET, 'Plugin "svc"',
                                 'Argument "%{severity}"',
                                 'Argument "%{episode}"')),
            ("recovered", task_options(TASK_ID2, SECRET2, 'Plugin "svc"',
                                       'Severity "OKAY"',
                                       'Argument "%{severity}"',
                                       'Argument "%{episode}"')),
        ])
        cd = self.collectd(block, extra=CSV_EXTRA.format(dir=self.dir))
        cd.putnotif("down", host="h", plugin="svc")
        (first,) = self.sup.wait_jobs(1)
        cd.stop()

        with open(os.path.join(self.dir, "slowinit.py"), "w") as f:
            f.write("import collectd, time\n"
                    "collectd.register_init(lambda: time.sleep(1.5))\n")
        extra = ('LoadPlugin python\n<Plugin python>\n  ModulePath "%s"\n'
                 '  Import "slowinit"\n</Plugin>\n' % self.dir +
                 CSV_EXTRA.format(dir=self.dir))
        cd = self.recollectd(block, extra=extra, start=False)
        cd.start(wait=False)

        def sent():
            try:
                cd.putnotif("up", severity="okay", host="h", plugin="svc")
                return True
            except OSError:  # not there, or not listening yet
                return False
        wait_for(sent, 10, interval=0.002, what="a PUTNOTIF taken")
        self.assertNotIn("notify_theeye plugin: 2 Task(s)", cd.log(),
                         "too late: the test proves nothing")
        jobs = self.sup.wait_jobs(2, timeout=10)
        self.assertEqual(arguments(jobs[1]),
                         ["OKAY", arguments(first)[1]])
        pause(1.5)  # the counters of that moment are in the csv by now
        self.assertEqual(csv_latest(self.dir, "recovered",
                                    "derive-ignored_okay"), 0)


THRESHOLD_GUARDS = """\
LoadPlugin threshold
<Plugin threshold>
  <Plugin "foo">
    <Type "gauge">
      FailureMax 10
    </Type>
  </Plugin>
  <Plugin "baz">
    <Type "gauge">
      FailureMax 10
      Persist true
    </Type>
  </Plugin>
</Plugin>
"""


class WithThresholds(GuardTest):
    """The guards with collectd's threshold plugin as the source."""

    def putval(self, cd, plugin, instance, *values):
        # Values 60 s apart in their own time, sent at once: nothing goes
        # missing during the test, and the guards count arrivals anyway.
        for v in values:
            self.t = getattr(self, "t", time.time() - 600) + 1
            putval(cd, "testhost/%s/gauge-%s" % (plugin, instance), v,
                   at=self.t, interval=60)

    def test_confirm_with_persist(self):
        # Persist true: a FAILURE for every value out of range. Confirm 3:
        # every third one is acted on; the threshold's OKAY starts the
        # count again, and the next incident has a new episode.
        self.sup = self.supervisor()
        cd = self.collectd(plugin_block(self.sup.url, [
            ("disk", task_options(TASK_ID, SECRET, 'Plugin "baz"',
                                  'Confirm 3 120', 'Argument "%{severity}"',
                                  'Argument "%{meta:CurrentValue}"',
                                  'Argument "%{episode}"')),
        ], Customer=CUSTOMER), extra=THRESHOLD_GUARDS +
            CSV_EXTRA.format(dir=self.dir))
        self.putval(cd, "baz", "x", 42, 43)
        wait_counter(self.dir, "disk", "derive-unconfirmed", 2)
        self.assertEqual(self.sup.jobs(), [])
        self.putval(cd, "baz", "x", 44)
        (first,) = self.sup.wait_jobs(1)
        self.assertEqual(arguments(first)[:2], ["FAILURE", "44"])
        self.putval(cd, "baz", "x", 45, 5, 46, 47)
        wait_counter(self.dir, "disk", "derive-unconfirmed", 5)
        self.assertEqual(len(self.sup.jobs()), 1)
        self.putval(cd, "baz", "x", 48)
        jobs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(jobs[1])[:2], ["FAILURE", "48"])
        self.assertNotEqual(arguments(jobs[1])[2], arguments(first)[2])

    def test_first_okay_across_kill_9(self):
        # x fails, collectd is killed; the new daemon's threshold plugin
        # sends its start-up OKAY for x, which ends the incident begun
        # before: acted on, with its episode. y never failed: its start-up
        # OKAY is ignored, before and after.
        self.sup = self.supervisor()
        block = plugin_block(self.sup.url, [
            ("remedy", task_options(TASK_ID, SECRET, 'Plugin "foo"',
                                    'Argument "%{severity}"',
                                    'Argument "%{type_instance}"',
                                    'Argument "%{episode}"')),
            ("recovered", task_options(TASK_ID2, SECRET2, 'Plugin "foo"',
                                       'Severity "OKAY"',
                                       'Argument "%{severity}"',
                                       'Argument "%{type_instance}"',
                                       'Argument "%{episode}"')),
        ], Customer=CUSTOMER, SpoolDir=os.path.join(self.dir, "spool"))
        extra = THRESHOLD_GUARDS + CSV_EXTRA.format(dir=self.dir)
        cd = self.collectd(block, extra=extra)
        self.putval(cd, "foo", "y", 5)
        self.putval(cd, "foo", "x", 42)
        (failure,) = self.sup.wait_jobs(1)
        self.assertEqual(arguments(failure)[:2], ["FAILURE", "x"])
        wait_counter(self.dir, "recovered", "derive-ignored_okay", 1)
        pause(1.5)  # on disk within a second
        cd.kill()

        cd = self.recollectd(block, extra=extra)
        self.putval(cd, "foo", "y", 5)
        self.putval(cd, "foo", "x", 5)
        jobs = self.sup.wait_jobs(2)
        self.assertEqual(arguments(jobs[1]), ["OKAY", "x",
                                              arguments(failure)[2]])
        wait_counter(self.dir, "recovered", "derive-ignored_okay", 1)
        pause(0.5)
        self.assertEqual(len(self.sup.jobs()), 2)


class Episodes(GuardTest):

    def test_episode_across_a_retry_two_tasks_and_the_next_incident(self):
        # The supervisor refuses the first two requests (503): the retried
        # job keeps its episode, which both Tasks' jobs share; after the
        # OKAY the next incident has a new one.
        self.sup = self.supervisor()
        cd = self.collectd(plugin_block(self.sup.url, [
            (name, task_options(tid, secret, 'Plugin "svc"',
                                'Argument "%{task}"', 'Argument "%{episode}"'))
            for name, tid, secret in (("a", TASK_ID, SECRET),
                                      ("b", TASK_ID2, SECRET2))],
            Customer=CUSTOMER, RetryInterval=0.2, MaxRetryInterval=0.2),
            extra=CSV_EXTRA.format(dir=self.dir))
        self.sup.control(status=503, count=2)
        cd.putnotif("down", host="h", plugin="svc")
        jobs = self.sup.wait_jobs(2, timeout=10)
        self.assertEqual(sorted(arguments(r)[0] for r in jobs), ["a", "b"])
        episodes = {arguments(r)[1] for r in self.sup.requests()}
        self.assertEqual(len(episodes), 1, episodes)
        self.assertEqual(len(self.sup.requests()), 4)
        (episode,) = episodes
        self.assertRegex(episode, r"^[0-9a-f]{16}$")
        cd.putnotif("still down", host="h", plugin="svc")
        jobs = self.sup.wait_jobs(4)
        self.assertEqual({arguments(r)[1] for r in jobs}, {episode})
        cd.putnotif("up", severity="okay", host="h", plugin="svc")
        cd.putnotif("down again", host="h", plugin="svc")
        jobs = self.sup.wait_jobs(6)
        later = {arguments(r)[1] for r in jobs[4:]}
        self.assertEqual(len(later), 1, later)
        self.assertNotEqual(later, {episode})
        # Another subject's incident at the same moment: its own episode.
        cd.putnotif("down", host="h2", plugin="svc")
        jobs = self.sup.wait_jobs(8)
        self.assertEqual(len({arguments(r)[1] for r in jobs[6:]}), 1)
        self.assertNotIn(arguments(jobs[6])[1], later | {episode})


if __name__ == "__main__":
    main()
