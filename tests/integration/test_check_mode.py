# SPDX-License-Identifier: MIT
"""`collectd -T` (how an operator checks a configuration) acts on nothing.

collectd -T runs every init callback and every read callback once, then
shuts down, so a threshold breached at that moment raises a real FAILURE
during the check. The plugin must then send no request, take up no spooled
job, create or lock no spool directory, and log each job it would have sent
as DryRun does, prefixed "collectd -T:". An existing SpoolDir is still
checked against the spool's trust rules.

The threshold here is the stock threshold plugin on a value that a tiny
Python read plugin (tests only) dispatches: its read callback dispatches
the value and then waits until the threshold's FAILURE has gone through the
notification callbacks, so the notification surely happens within the
check (collectd stops its write threads right after the reads, and would
otherwise drop the value unchecked now and then).
"""

import os
import re
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

TASK = "check-task"
OTHER = "other-task"
PROBE_PLUGIN = "e1probe"

# Waits at most WAIT seconds for its own FAILURE: collectd's write threads
# check thresholds, the read callback runs in collectd's main thread.
PROBE_MODULE = """\
import threading
import collectd

seen = threading.Event()


def notified(n):
    if n.plugin == "%(plugin)s" and n.severity == collectd.NOTIF_FAILURE:
        seen.set()


def read():
    collectd.Values(plugin="%(plugin)s", type="gauge",
                    values=[5.0]).dispatch()
    seen.wait(%(wait)f)


collectd.register_notification(notified)
collectd.register_read(read)
"""

PROBE_EXTRA = """\
LoadPlugin threshold
<Plugin threshold>
  <Plugin "%(plugin)s">
    <Type "gauge">
      FailureMax 1
    </Type>
  </Plugin>
</Plugin>
LoadPlugin python
<Plugin python>
  ModulePath "%(dir)s"
  Import "%(plugin)s"
</Plugin>"""

# The logfile plugin's line for a notification: proof that the threshold
# fired during the check.
FIRED = "Notification: severity = FAILURE, host = testhost, plugin = %s" \
    % PROBE_PLUGIN


def tree(path):
    """Everything under path: {relative path: (kind, mode, bytes)}; {} when
    path does not exist."""
    out = {}
    if not os.path.lexists(path):
        return out
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            st = os.lstat(full)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    data = f.read()
            out[os.path.relpath(full, path)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), data)
    st = os.lstat(path)
    out["."] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), None)
    return out


class CheckModeTest(IntegrationTest):

    @property
    def spool(self):
        return os.path.join(self.dir, "spool")

    def entry_names(self):
        return sorted(n for n in os.listdir(self.spool) if n.endswith(".job"))

    def probe_extra(self, workdir=None):
        """The threshold and its Python feeder, written into workdir."""
        workdir = workdir or self.dir
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, PROBE_PLUGIN + ".py"), "w") as f:
            f.write(PROBE_MODULE % {"plugin": PROBE_PLUGIN,
                                    "wait": 5.0 * TIME_SCALE})
        return PROBE_EXTRA % {"plugin": PROBE_PLUGIN, "dir": workdir}

    def block(self, url, **globals_):
        """A Task that matches the probe's FAILURE, and one that does not."""
        options = {"Customer": CUSTOMER, "Timeout": 1000,
                   "RetryInterval": 0.2, "MaxRetryInterval": 0.5}
        options.update(globals_)
        return plugin_block(url, [
            (TASK, task_options(TASK_ID, SECRET,
                                'Plugin "%s"' % PROBE_PLUGIN)),
            (OTHER, task_options(TASK_ID2, SECRET2, 'Plugin "nothing"')),
        ], **options)

    def check(self, block, extra=None, workdir=None):
        """collectd -T -C on block (with the firing threshold unless extra
        is given): (exit status, output, Collectd)."""
        workdir = workdir or self.dir
        os.makedirs(workdir, exist_ok=True)
        cd = Collectd(workdir, block,
                      extra=self.probe_extra(workdir) if extra is None
                      else extra)
        rc, out, _ = cd.test_config()
        return rc, out, cd

    def assertFired(self, cd):
        self.assertIn(FIRED, cd.log(),
                      "the threshold did not fire during the check: the "
                      "test proves nothing\n" + cd.log())

    def assertNoSecret(self, cd, out):
        for text in (cd.log(), out):
            self.assertNotIn(SECRET, text.lower())
            self.assertNotIn(SECRET2, text.lower())

    def assertNothingSent(self, sup):
        # (The messages only: a request's path holds the secret.)
        self.assertEqual([message_of(r) for r in sup.requests()], [],
                         "collectd -T sent these to the supervisor")

    def dry_run_lines(self, cd, task):
        rx = re.compile(r'collectd -T: Task "%s": DryRun: POST '
                        % re.escape(task))
        return [line for line in cd.plugin_lines() if rx.search(line)]

    def assertDryRunLine(self, cd, sup_url):
        """Exactly one line for the matching Task, as DryRun writes it with
        "collectd -T: " after the plugin's prefix, at INFO; none for the
        Task that does not match."""
        lines = self.dry_run_lines(cd, TASK)
        self.assertEqual(len(lines), 1, cd.plugin_lines())
        head = (PREFIX + 'collectd -T: Task "%s": DryRun: POST '
                '%s/job/secret/<secret>?customer=%s '
                % (TASK, sup_url, CUSTOMER))
        m = re.match(r"^\[[^]]*\] \[info\] " + re.escape(head) + "(.*)$",
                     lines[0])
        self.assertIsNotNone(m, lines[0])
        body = json.loads(m.group(1))
        self.assertEqual(body["task"], TASK_ID)
        args = body["task_arguments"]
        self.assertEqual(args[0], "FAILURE")
        self.assertEqual(args[2:4], ["testhost", PROBE_PLUGIN])
        self.assertIn("above the failure threshold", args[-1])
        self.assertEqual(self.dry_run_lines(cd, OTHER), [])
        # Nothing reached a supervisor, so nothing was created.
        self.assertEqual([l for l in cd.plugin_lines()
                          if re.search(r"job \S+ created", l)], [])

    # ---- the bug as found: a breached threshold during the check ----

    def test_threshold_during_check_sends_nothing(self):
        sup = self.supervisor()
        rc, out, cd = self.check(self.block(sup.url))
        self.assertFired(cd)
        self.assertEqual(rc, 0, out + cd.log())
        # collectd has exited: whatever it sent is recorded by now.
        self.assertNothingSent(sup)
        self.assertDryRunLine(cd, sup.url)
        self.assertNoSecret(cd, out)
        self.assertEqual(cd.misprefixed_lines(), [])
        self.assertEqual(lines_at(cd, "error", ""), [])

    # ---- the spool: neither created, nor read, nor written, nor locked ----

    def test_missing_spool_dir_is_not_created(self):
        sup = self.supervisor()
        rc, out, cd = self.check(self.block(sup.url, SpoolDir=self.spool))
        self.assertFired(cd)
        self.assertEqual(rc, 0, out + cd.log())
        self.assertFalse(os.path.lexists(self.spool),
                         "collectd -T created the SpoolDir: %r"
                         % tree(self.spool))
        self.assertNothingSent(sup)
        # The job it would have sent is logged, not spooled.
        self.assertDryRunLine(cd, sup.url)

    def test_spooled_entries_untouched(self):
        # Entries as a real run leaves them: collectd with the supervisor
        # down, three notifications, then stopped (they are kept).
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        block = self.block(url, SpoolDir=self.spool)
        run = self.collectd(block, extra="", start=False)
        run.start()
        tags = [self.tag(i) for i in range(3)]
        for t in tags:
            run.putnotif(t, plugin=PROBE_PLUGIN)
        wait_for(lambda: len(self.entry_names()) == 3, 5,
                 what="3 entries in the spool")
        run.stop()
        before = tree(self.spool)
        self.assertEqual(len([n for n in before if n.endswith(".job")]), 3,
                         before.keys())

        # The supervisor is up now: the check must still send nothing,
        # neither the spooled jobs nor the threshold's.
        sup = self.supervisor(port=port)
        rc, out, cd = self.check(block, workdir=os.path.join(self.dir, "T"))
        self.assertFired(cd)
        self.assertEqual(rc, 0, out + cd.log())
        self.assertNothingSent(sup)
        after = tree(self.spool)
        self.assertEqual(sorted(after), sorted(before),
                         "collectd -T changed the SpoolDir's files")
        for name in before:
            self.assertEqual(after[name], before[name],
                             "collectd -T changed %s" % name)
        self.assertDryRunLine(cd, url)

    def test_check_beside_running_daemon(self):
        # The daemon holds the SpoolDir (and its lock) with jobs pending;
        # an operator checks a copy of its configuration meanwhile.
        url = "http://127.0.0.1:%d" % free_port()
        block = self.block(url, SpoolDir=self.spool)
        run = self.collectd(block)
        for i in range(2):
            run.putnotif(self.tag(i), plugin=PROBE_PLUGIN)
        wait_for(lambda: len(self.entry_names()) == 2, 5,
                 what="2 entries in the spool")
        # (Only the entries' names: the daemon itself, retrying, may
        # rewrite an entry meanwhile.)
        before = self.entry_names()

        rc, out, cd = self.check(block, extra="",
                                 workdir=os.path.join(self.dir, "T"))
        self.assertEqual(rc, 0, out + cd.log())
        self.assertEqual(lines_at(cd, "error", ""), [])
        self.assertEqual(self.entry_names(), before,
                         "collectd -T changed the running daemon's spool")
        # The daemon goes on as before: still running, still spooling.
        self.assertIsNone(run.proc.poll(), run.output())
        run.putnotif(self.tag(2), plugin=PROBE_PLUGIN)
        wait_for(lambda: len(self.entry_names()) == 3, 5,
                 what="a 3rd entry in the spool")

    # ---- an existing SpoolDir is still checked ----

    def test_spool_dir_open_to_group_fails_check(self):
        os.mkdir(self.spool)
        os.chmod(self.spool, 0o750)  # whatever the umask
        sup = self.supervisor()
        rc, out, cd = self.check(self.block(sup.url, SpoolDir=self.spool),
                                 extra="")
        self.assertNotEqual(rc, 0, "collectd -T accepted a SpoolDir with "
                            "mode 0750\n" + cd.log())
        errors = lines_at(cd, "error", r'option "SpoolDir"')
        self.assertTrue(errors, cd.plugin_lines())
        # Checked, not repaired: the check acts on nothing.
        self.assertEqual(stat.S_IMODE(os.lstat(self.spool).st_mode), 0o750)
        self.assertEqual(os.listdir(self.spool), [])
        self.assertNothingSent(sup)


class ShippedConfigurations(IntegrationTest):
    """The example configuration and every recipe pass collectd -T as
    shipped, with only what a user changes (secret files, paths) and what
    keeps a test on 127.0.0.1 (URLs, the network plugin's Listen) replaced."""

    def check_file(self, name):
        workdir = os.path.join(self.dir, name.replace("/", "-"))
        os.makedirs(workdir)
        text = shipped_configuration(name, workdir,
                                     "http://127.0.0.1:%d" % free_port(),
                                     free_port())
        tasks = len(re.findall(r"^\s*<Task ", text, re.M))
        cd = Collectd(workdir, "")
        with open(cd.conf, "w") as f:
            f.write('Hostname "testhost"\nFQDNLookup false\n'
                    'BaseDir "%s"\nPIDFile "%s/collectd.pid"\n'
                    'PluginDir "/usr/lib/collectd"\n'
                    'TypesDB "/usr/share/collectd/types.db"\n'
                    'LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n'
                    '  File "%s"\n  PrintSeverity true\n</Plugin>\n'
                    % (workdir, workdir, cd.log_path) + text)
        rc, out, _ = cd.test_config()
        self.assertEqual(rc, 0, out + cd.log())
        self.assertEqual(lines_at(cd, "error", ""), [], cd.log())
        self.assertEqual(lines_at(cd, "warning", ""), [], cd.log())
        self.assertEqual(len(lines_at(cd, "info", r"%d Task\(s\) for "
                                      % tasks)), 1, cd.log())
        self.assertNoSecret(cd, out)

    def assertNoSecret(self, cd, out):
        for text in (cd.log(), out):
            self.assertNotIn(SECRET, text.lower())

    def test_example_configuration(self):
        self.check_file("notify_theeye.conf")

    def test_recipes(self):
        names = sorted(os.listdir(os.path.join(SRCDIR, "conf", "recipes")))
        self.assertTrue(names)
        for name in names:
            with self.subTest(recipe=name):
                self.check_file("recipes/" + name)


if __name__ == "__main__":
    main()
