# SPDX-License-Identifier: MIT
"""The spool directory's trust rules and faults: what SpoolDir may be,
who may share it, and what the plugin does with entries it cannot trust
or a directory it cannot write.

- An existing SpoolDir that is a symbolic link, is open to group or
  others, or belongs to another user makes init fail (and `collectd -T`
  with it), with an ERROR naming the option and the reason; the plugin
  then sends nothing. A missing one is created with mode 0700.
- Two collectd daemons on one SpoolDir: the second one's plugin does not
  start; the first one goes on.
- A FIFO named like an entry neither blocks the start nor the entries
  beside it: it is moved into corrupt/.
- An entry whose Task now has another TaskID is never sent with the
  Task's current credential: it is removed, with one WARNING.
- A spool that cannot be written at run time degrades to memory: jobs
  are still delivered, one rate-limited ERROR, spool_errors counted.

Every test runs the real collectd with the built plugin against
tests/fake_supervisor on 127.0.0.1.
"""

import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

import re  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402

TASK = "trust-task"
# An unprivileged user and group (Debian's nobody/nogroup).
NOBODY = 65534
MAGIC = b"notify_theeye spool 2\n"


def make_entry(seq, arrival, task, task_id, body, attempts=0):
    """A spool entry (version 2) as the plugin writes it: a header of
    "key value" lines, the body, and zlib's CRC-32 of all that."""
    data = (MAGIC + b"seq %d\narrival %.6f\nattempts %d\ntask %s\n"
            b"taskid %s\nbody %d\n" % (seq, arrival, attempts, task.encode(),
                                       task_id.encode(), len(body)) +
            body + b"\n")
    return data + b"crc32 %08x\n" % zlib.crc32(data)


def job_body(task_id, *args):
    return json.dumps({"task": task_id, "task_arguments": list(args)},
                      separators=(",", ":")).encode()


def write_entry(spool, seq, data):
    path = os.path.join(spool, "%020d.job" % seq)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def entry_names(spool):
    if not os.path.isdir(spool):
        return []
    return sorted(n for n in os.listdir(spool) if n.endswith(".job"))


class UnprivilegedCollectd(Collectd):
    """collectd run as nobody:nogroup (setpriv), so that directory
    permissions apply to it (root ignores them). Its plugin is a copy in
    plugin_dir, so that the build tree need not be readable by nobody."""

    def __init__(self, workdir, block, plugin_dir, **kw):
        super().__init__(workdir, block, **kw)
        with open(self.conf) as f:
            text = f.read()
        text = text.replace('PluginDir "%s"' % PLUGIN_DIR,
                            'PluginDir "%s"' % plugin_dir)
        with open(self.conf, "w") as f:
            f.write(text)
        self.supp = os.path.join(plugin_dir, "valgrind.supp")

    def argv(self, *args):
        argv = super().argv(*args)
        if VALGRIND:
            argv = [a.replace(VALGRIND_SUPP, self.supp) for a in argv]
        return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                "--clear-groups"] + argv


class SpoolTrustTest(IntegrationTest):

    def block(self, url, spool, tasks=None, **globals_):
        options = {"Customer": CUSTOMER, "RetryInterval": 0.2,
                   "MaxRetryInterval": 0.5, "MaxAge": 60, "Timeout": 1000,
                   "SpoolDir": spool}
        options.update(globals_)
        return plugin_block(url, tasks or [(TASK, task_options())],
                            **options)

    def sub_collectd(self, name, block, **kw):
        """A collectd in its own subdirectory (its own configuration, log
        and socket), not started."""
        workdir = os.path.join(self.dir, name)
        os.makedirs(workdir, exist_ok=True)
        cd = Collectd(workdir, block, **kw)
        self.processes.append(cd)
        return cd

    def wait_gone(self, spool, timeout=5):
        try:
            wait_for(lambda: entry_names(spool) == [], timeout,
                     what="an empty spool")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, entry_names(spool)))

    def assertSendsNothing(self, cd, sup, before):
        """A notification to cd reaches no supervisor (its plugin did not
        start): waits long enough for a healthy plugin to have sent it."""
        tag = self.tag(len(before))
        cd.putnotif(tag)
        time.sleep(1.0 * TIME_SCALE)
        sent = [message_of(r) for r in sup.requests()]
        self.assertNotIn(tag, sent, "a plugin whose init failed sent a job")
        self.assertEqual(len(sent), len(before))

    # ---- what an existing SpoolDir must be ----

    def test_untrusted_spool_dir_fails_init(self):
        sup = self.supervisor()

        def symlink(path):
            real = path + ".real"
            os.mkdir(real, 0o700)
            os.chmod(real, 0o700)
            os.symlink(real, path)
            return real

        def mode(bits):
            def make(path):
                os.mkdir(path, 0o700)
                os.chmod(path, bits)
                return path
            return make

        def foreign(path):
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)
            os.chown(path, NOBODY, NOBODY)
            return path

        cases = [("symlink", symlink, "symbolic link"),
                 ("mode-0750", mode(0o750), "open to group or others"),
                 ("mode-0701", mode(0o701), "open to group or others"),
                 ("foreign-owner", foreign, "owned by uid")]
        for name, make, reason in cases:
            with self.subTest(name):
                spool = os.path.join(self.dir, name + "-spool")
                real = make(spool)
                before = os.lstat(spool)
                cd = self.sub_collectd(name, self.block(sup.url, spool))
                rc, out, log = cd.test_config()
                self.assertNotEqual(rc, 0, "collectd -T accepted it: %s"
                                    % out)
                rx = r'option "SpoolDir".*%s' % re.escape(reason)
                self.assertEqual(len(lines_at(cd, "error", rx)), 1,
                                 cd.plugin_lines())
                os.rename(cd.log_path, cd.log_path + ".T")
                cd.start()
                errors = lines_at(cd, "error", rx)
                self.assertEqual(len(errors), 1, cd.plugin_lines())
                self.assertSendsNothing(cd, sup, sup.requests())
                cd.stop()
                # Left as it was, and nothing written into it.
                after = os.lstat(spool)
                self.assertEqual((after.st_mode, after.st_uid),
                                 (before.st_mode, before.st_uid))
                self.assertEqual(os.listdir(real), [])

    def test_missing_spool_dir_is_created_0700(self):
        spool = os.path.join(self.dir, "spool")
        url = "http://127.0.0.1:%d" % free_port()  # down: jobs stay
        cd = self.collectd(self.block(url, spool), start=False)
        # A configuration check neither creates nor changes it.
        rc, out, _ = cd.test_config()
        self.assertEqual(rc, 0, out)
        self.assertFalse(os.path.lexists(spool), "collectd -T created it")
        os.rename(cd.log_path, cd.log_path + ".T")
        old = os.umask(0)  # collectd inherits it: modes must not depend on it
        try:
            cd.start()
        finally:
            os.umask(old)
        st = os.lstat(spool)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        self.assertEqual(st.st_uid, os.geteuid())
        cd.putnotif(self.tag())
        wait_for(lambda: entry_names(spool), 3, what="an entry")
        for name in entry_names(spool):
            st = os.lstat(os.path.join(spool, name))
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, name)

    # ---- one SpoolDir, one collectd ----

    def test_second_collectd_on_the_same_spool_dir(self):
        sup = self.supervisor()
        spool = os.path.join(self.dir, "spool")
        first = self.sub_collectd("first", self.block(sup.url, spool))
        first.start()
        tag = self.tag(0)
        first.putnotif(tag)
        sup.wait_jobs(1)

        second = self.sub_collectd("second", self.block(sup.url, spool))
        second.start()
        errors = lines_at(second, "error",
                          r"SpoolDir.*in use by another collectd")
        self.assertEqual(len(errors), 1, second.plugin_lines())
        self.assertFalse(lines_at(first, "error", r"SpoolDir"),
                         first.plugin_lines())
        # The second one's plugin takes nothing; the first delivers on.
        self.assertSendsNothing(second, sup, sup.requests())
        tags = [tag]
        for i in range(1, 4):
            tags.append(self.tag(i))
            first.putnotif(tags[-1])
        sup.wait_jobs(4)
        time.sleep(0.3 * TIME_SCALE)
        self.assertEqual([message_of(r) for r in sup.requests()], tags)
        self.wait_gone(spool)

    # ---- entries that cannot be trusted ----

    def test_fifo_named_like_an_entry(self):
        spool = os.path.join(self.dir, "spool")
        os.mkdir(spool, 0o700)
        os.chmod(spool, 0o700)
        now = time.time()
        write_entry(spool, 41, make_entry(41, now - 2, TASK, TASK_ID,
                                          job_body(TASK_ID, "before-fifo")))
        fifo = "%020d.job" % 42
        os.mkfifo(os.path.join(spool, fifo), 0o600)
        write_entry(spool, 43, make_entry(43, now - 1, TASK, TASK_ID,
                                          job_body(TASK_ID, "after-fifo")))
        sup = self.supervisor()
        # start() waits the normal bound for "Initialization complete".
        cd = self.collectd(self.block(sup.url, spool))
        sup.wait_jobs(2)
        self.assertEqual([message_of(r) for r in sup.requests()],
                         ["before-fifo", "after-fifo"])
        corrupt = os.path.join(spool, "corrupt")
        wait_for(lambda: os.path.lexists(os.path.join(corrupt, fifo)), 3,
                 what="the FIFO in corrupt/")
        self.assertTrue(stat.S_ISFIFO(
            os.lstat(os.path.join(corrupt, fifo)).st_mode))
        self.wait_gone(spool)
        line = ('spool: entry "%s" is unreadable (not a regular file): '
                'moved into corrupt/, never sent' % fifo)
        self.assertEqual(len(lines_at(cd, "error", re.escape(line))), 1,
                         cd.plugin_lines())

    def test_entry_of_a_task_whose_task_id_changed(self):
        # The plugin spools a job for the Task while it has one TaskID;
        # collectd is killed; the Task is then configured with another
        # TaskID (another task in TheEye, another credential). That entry
        # must not go out with the new credential; an entry written for
        # the current TaskID beside it does.
        spool = os.path.join(self.dir, "spool")
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        old = self.tag(0)
        cd = self.sub_collectd("old", self.block(
            url, spool, tasks=[(TASK, task_options(TASK_ID2, SECRET2))]))
        cd.start()
        cd.putnotif(old)
        wait_for(lambda: len(entry_names(spool)) == 1, 3,
                 what="the job's entry")
        cd.kill()
        seq = int(entry_names(spool)[0][:-4])
        write_entry(spool, seq + 1, make_entry(
            seq + 1, time.time(), TASK, TASK_ID,
            job_body(TASK_ID, "current-task-id")))

        sup = self.supervisor(port=port)
        cd2 = self.sub_collectd("new", self.block(url, spool))
        cd2.start()
        sup.wait_jobs(1)
        self.wait_gone(spool)
        time.sleep(0.5 * TIME_SCALE)
        reqs = sup.requests()
        self.assertEqual([message_of(r) for r in reqs], ["current-task-id"])
        self.assertNotIn(TASK_ID2, json.dumps(reqs))
        warned = [l for l in cd2.plugin_lines()
                  if "[warning]" in l and ('"%s"' % TASK) in l and
                  "TaskID" in l]
        self.assertEqual(len(warned), 1, cd2.plugin_lines())
        self.assertFalse(os.path.isdir(os.path.join(spool, "corrupt")) and
                         os.listdir(os.path.join(spool, "corrupt")),
                         "a valid entry was taken for a corrupt one")

    # ---- a spool that cannot be written ----

    def test_unwritable_spool_keeps_delivering_from_memory(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to run collectd as another user")
        if shutil.which("setpriv") is None:
            self.skipTest("needs setpriv (util-linux)")
        # collectd runs as nobody in the test's directory: everything it
        # reads or writes there is nobody's, and nobody must reach it.
        parent = os.path.dirname(self.dir)
        while True:
            self.assertTrue(os.stat(parent).st_mode & stat.S_IXOTH,
                            "%s is closed to other users: set TMPDIR to a "
                            "directory they can reach (e.g. /tmp)" % parent)
            if parent == os.path.dirname(parent):
                break
            parent = os.path.dirname(parent)
        os.chown(self.dir, NOBODY, NOBODY)
        plugin_dir = os.path.join(self.dir, "plugin")
        os.mkdir(plugin_dir, 0o755)
        shutil.copy(os.path.join(PLUGIN_DIR, "notify_theeye.so"), plugin_dir)
        if VALGRIND:
            shutil.copy(VALGRIND_SUPP, plugin_dir)
        spool = os.path.join(self.dir, "spool")
        sup = self.supervisor()
        cd = UnprivilegedCollectd(
            self.dir, self.block(sup.url, spool), plugin_dir,
            extra=CSV_EXTRA.format(dir=self.dir))
        self.processes.append(cd)
        cd.start()
        self.assertEqual(os.stat(spool).st_uid, NOBODY)
        tags = [self.tag(0)]
        cd.putnotif(tags[0])
        sup.wait_jobs(1)
        self.wait_gone(spool)
        # From now on every file the plugin creates there fails (EACCES).
        os.chmod(spool, 0o500)
        # Slow answers: each job is still waiting or in flight when the
        # plugin tries to write its entry.
        sup.control(delay_ms=200)
        for i in range(1, 9):
            tags.append(self.tag(i))
            cd.putnotif(tags[-1])
        sup.wait_jobs(len(tags), timeout=15)
        self.assertEqual([message_of(r) for r in sup.jobs()], tags)
        wait_counter(self.dir, TASK, "derive-sent", len(tags))
        errors = lines_at(cd, "error", r"spool: cannot write")
        self.assertGreaterEqual(len(errors), 1, cd.plugin_lines())
        self.assertLessEqual(len(errors), 2,
                             "not rate-limited: %s" % errors)
        seen = []

        def counted():
            seen.append(csv_latest(self.dir, TASK, "derive-spool_errors"))
            return (seen[-1] or 0) > 0
        try:
            wait_for(counted, 5, what="derive-spool_errors above 0")
        except AssertionError as e:
            raise AssertionError("%s (latest %r)" % (e, seen[-1]))
        self.assertEqual(entry_names(spool), [])
        # Not once "writing again" while every write failed.
        self.assertEqual([l for l in cd.plugin_lines()
                          if "writing again" in l], [], cd.plugin_lines())
        # Writable again: the next job is on disk while in flight.
        os.chmod(spool, 0o700)
        sup.control(delay_ms=500)
        tags.append(self.tag(9))
        cd.putnotif(tags[-1])
        wait_for(lambda: entry_names(spool), 1, interval=0.01,
                 what="the entry of a job in flight")
        sup.wait_jobs(len(tags))
        self.wait_gone(spool)
        self.assertEqual([message_of(r) for r in sup.jobs()], tags)


if __name__ == "__main__":
    main()
