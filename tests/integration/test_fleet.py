# SPDX-License-Identifier: MIT
"""A fleet: hosts that forward to a central collectd with the network plugin,
and only the central one runs the plugin, as conf/recipes/central.conf
sets it up (one place for the secrets).

Three real daemons on 127.0.0.1: web1 and web2 evaluate their own nginx
threshold (as conf/recipes/service-down.conf does) and send their values and
notifications, encrypted, to the central daemon, which runs the central
recipe as shipped (only paths, the URL and the port replaced). What is
proven: the job names the host the notification came from; the sender's
notification meta does not cross the network; the guards work per host on
the central daemon; a host without the fleet's password triggers nothing.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

RECIPE_TASK = "fleet-restart-nginx"

CLIENT_EXTRA = """\
LoadPlugin network
<Plugin network>
  <Server "127.0.0.1" "{port}">
    SecurityLevel Encrypt
    Username "fleet"
    Password "{password}"
  </Server>
</Plugin>
LoadPlugin threshold
<Plugin threshold>
  <Plugin "processes">
    Instance "nginx"
    <Type "ps_count">
      DataSource "processes"
      FailureMin 1
      Persist true
    </Type>
  </Plugin>
</Plugin>
"""

# Beside the recipe's Task, on the central daemon: what a received
# notification still carries.
PROBE_TASK = """\
<Plugin notify_theeye>
  <Task "probe">
    TaskID "%s"
    Secret "%s"
    Host "/^web[0-9]+$/"
    Argument "%%{host}"
    Argument "[%%{meta:CurrentValue}]"
    Argument "%%{plugin}/%%{plugin_instance}/%%{type}"
    Argument "%%{severity}"
  </Task>
</Plugin>
"""


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fleet(IntegrationTest):

    def setUp(self):
        super().setUp()
        self.sup = self.supervisor()
        self.port = free_udp_port()
        workdir = os.path.join(self.dir, "central")
        os.makedirs(workdir)
        recipe = shipped_configuration("recipes/central.conf", workdir,
                                       self.sup.url, self.port)
        self.central = self.collectd(
            None, subdir="central",
            extra=recipe + PROBE_TASK % (TASK_ID2, SECRET2) +
            CSV_EXTRA.format(dir=self.dir))
        self.t = time.time()

    def client(self, host, password="fleet-password"):
        return self.collectd(None, subdir=host, hostname=host,
                             extra=CLIENT_EXTRA.format(port=self.port,
                                                       password=password))

    def nginx_count(self, cd, host, count):
        """One value of the nginx process count, as the processes plugin of
        that host would dispatch it; its threshold judges it there."""
        self.t += 1
        putval(cd, host + "/processes-nginx/ps_count", "%d:0" % count,
               at=self.t, interval=10)

    def jobs_of(self, task_id):
        return [arguments(r) for r in self.sup.jobs_of(task_id)]

    def test_a_hosts_threshold_runs_the_task_for_that_host(self):
        web1 = self.client("web1")
        self.nginx_count(web1, "web1", 0)
        self.sup.wait_jobs(2)
        (job,) = self.jobs_of(TASK_ID)
        self.assertEqual(job[:2], ["web1", "nginx"])
        self.assertRegex(job[2], r"^Host web1, plugin processes \(instance "
                         r"nginx\) type ps_count.*below the failure "
                         r"threshold of 1\.0")
        # Everything but the meta crossed the network: the message still
        # says the value.
        (probe,) = self.jobs_of(TASK_ID2)
        self.assertEqual(probe, ["web1", "[]", "processes/nginx/ps_count",
                                 "FAILURE"])
        self.assertRegex(job[2], r"currently 0\.0")

    def test_guards_work_per_host_on_the_central_daemon(self):
        # The recipe's Cooldown 300: web1's repeated FAILUREs (Persist) run
        # the task once; web2's first one still runs it, for web2.
        web1 = self.client("web1")
        web2 = self.client("web2")
        for _ in range(3):
            self.nginx_count(web1, "web1", 0)
        wait_counter(self.dir, RECIPE_TASK, "derive-suppressed", 2)
        self.nginx_count(web2, "web2", 0)
        wait_for(lambda: len(self.jobs_of(TASK_ID)) == 2 and
                 len(self.jobs_of(TASK_ID2)) == 4, 10,
                 what="a job for web2, and every probe")
        pause(1)  # nothing more comes
        self.assertEqual(sorted(j[0] for j in self.jobs_of(TASK_ID)),
                         ["web1", "web2"])
        self.assertEqual(len(self.jobs_of(TASK_ID2)), 4)

    def test_a_host_without_the_fleets_password_triggers_nothing(self):
        intruder = self.client("web3", password="not-the-password")
        web1 = self.client("web1")
        self.nginx_count(intruder, "web3", 0)
        self.nginx_count(web1, "web1", 0)
        self.sup.wait_jobs(2)
        pause(1)
        self.assertEqual([j[0] for j in self.jobs_of(TASK_ID)], ["web1"])
        self.assertEqual([j[0] for j in self.jobs_of(TASK_ID2)], ["web1"])
        # The central daemon says why web3's packets were dropped.
        self.assertRegex(self.central.log(), r"\[error\] network plugin: "
                         r"(Checksum mismatch|Decrypting .* failed)")


if __name__ == "__main__":
    main()
