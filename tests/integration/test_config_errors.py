# SPDX-License-Identifier: MIT
"""Bad configuration: `collectd -T -C FILE` refuses each
mistake with exactly one ERROR line of this plugin that names the option
(and the Task inside one), and never shows a secret or a token."""

import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

URL = "http://127.0.0.1:9"  # never contacted: -T only reads and inits


def new_secret():
    s = secrets.token_hex(32)
    return s if not s.isdigit() else new_secret()


def new_token():
    return "tok-" + secrets.token_hex(12)


class ConfigTest(IntegrationTest):

    def setUp(self):
        super().setUp()
        # Fresh credentials per test, so a leak cannot be a coincidence.
        self.secret = new_secret()
        self.token = new_token()

    def task(self, *more, secret=None):
        return ['TaskID "%s"' % TASK_ID,
                'Secret "%s"' % (secret or self.secret)] + list(more)

    def run_config(self, block):
        c = Collectd(self.dir, block)
        rc, output, log = c.test_config()
        return rc, output, log

    def plugin_errors(self, output, log):
        """This plugin's ERROR lines, from the log and from stderr."""
        lines = [l for l in log.splitlines()
                 if PREFIX in l and "[error]" in l.lower()]
        # Before a log plugin exists, collectd prints to stderr, with no
        # severity tag: count every line of ours that is not a
        # warning/info one.
        for l in output.splitlines():
            if PREFIX in l and not re.search(r"\[(warning|notice|info)\]",
                                             l, re.I):
                lines.append(l)
        return lines

    def assertNoLeak(self, text, *values):
        for value in values:
            for form in (value, value.lower(), value.upper()):
                self.assertNotIn(form, text)
            # Not even a part of it.
            for i in range(0, len(value) - 11, 4):
                self.assertNotIn(value[i:i + 12].lower(), text.lower(),
                                 "part of a credential leaked")

    def assertRefused(self, block, *words, leaks=()):
        """rc != 0, one ERROR line of ours naming every word."""
        rc, output, log = self.run_config(block)
        errors = self.plugin_errors(output, log)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertNotEqual(rc, 0, detail)
        self.assertEqual(len(errors), 1, detail)
        for w in words:
            self.assertIn(w, errors[0], detail)
        self.assertNoLeak(output + log, self.secret, self.token, *leaks)
        return errors[0]

    def refused_in_task(self, option_lines, option, name="my-task",
                        leaks=(), **globals_):
        block = plugin_block(URL, [(name, option_lines)], **globals_)
        return self.assertRefused(block, option, '"%s"' % name, leaks=leaks)


class GlobalOptions(ConfigTest):

    def test_unknown_global_option(self):
        block = plugin_block(URL, [("t", self.task())], Bogus="x")
        self.assertRefused(block, "Bogus")

    def test_missing_url(self):
        """No URL anywhere: caught at init, which fails -T too."""
        block = plugin_block(None, [("t1", self.task())])
        self.assertRefused(block, "URL", '"t1"')

    def test_url_with_bad_scheme(self):
        block = plugin_block("ftp://x", [("t", self.task())])
        self.assertRefused(block, "URL")

    def test_url_that_does_not_parse(self):
        block = plugin_block("http://", [("t", self.task())])
        self.assertRefused(block, "URL")

    def test_timeout_zero(self):
        block = plugin_block(URL, [("t", self.task())], Timeout=0)
        self.assertRefused(block, "Timeout")

    def test_timeout_negative(self):
        block = plugin_block(URL, [("t", self.task())], Timeout=-5)
        self.assertRefused(block, "Timeout")

    def test_queue_limit_zero(self):
        block = plugin_block(URL, [("t", self.task())], QueueLimit=0)
        self.assertRefused(block, "QueueLimit")

    def test_max_attempts_zero(self):
        block = plugin_block(URL, [("t", self.task())], MaxAttempts=0)
        self.assertRefused(block, "MaxAttempts")

    def test_no_block_at_all(self):
        """LoadPlugin without a block: init fails with an ERROR."""
        rc, output, log = self.run_config("")
        errors = self.plugin_errors(output, log)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertNotEqual(rc, 0, detail)
        self.assertEqual(len(errors), 1, detail)

    def test_block_without_task(self):
        block = plugin_block(URL, [], Customer=CUSTOMER)
        self.assertRefused(block, "Task")


class TaskOptions(ConfigTest):

    def test_unknown_task_option(self):
        self.refused_in_task(self.task('Bogus "x"'), "Bogus")

    def test_global_only_option_in_task(self):
        self.refused_in_task(self.task("VerifyPeer false"), "VerifyPeer")

    def test_queue_limit_in_task(self):
        self.refused_in_task(self.task("QueueLimit 5"), "QueueLimit")

    def test_missing_task_id(self):
        self.refused_in_task(['Secret "%s"' % self.secret], "TaskID")

    def test_missing_secret(self):
        self.refused_in_task(['TaskID "%s"' % TASK_ID], "Secret")

    def test_task_id_too_short(self):
        self.refused_in_task(['TaskID "%s"' % TASK_ID[:23],
                              'Secret "%s"' % self.secret], "TaskID")

    def test_task_id_not_hex(self):
        self.refused_in_task(['TaskID "%s"' % ("g" + TASK_ID[1:]),
                              'Secret "%s"' % self.secret], "TaskID")

    def test_secret_63_characters(self):
        bad = self.secret[:63]
        self.refused_in_task(['TaskID "%s"' % TASK_ID, 'Secret "%s"' % bad],
                             "Secret", leaks=(bad,))

    def test_secret_65_characters(self):
        bad = self.secret + "a"
        self.refused_in_task(['TaskID "%s"' % TASK_ID, 'Secret "%s"' % bad],
                             "Secret", leaks=(bad,))

    def test_secret_not_hex(self):
        bad = self.secret[:40] + "z" + self.secret[41:]
        self.refused_in_task(['TaskID "%s"' % TASK_ID, 'Secret "%s"' % bad],
                             "Secret", leaks=(bad,))

    def test_secret_and_access_token(self):
        self.refused_in_task(
            self.task('AccessToken "%s"' % self.token), "AccessToken")

    def test_access_token_and_secret(self):
        self.refused_in_task(
            ['TaskID "%s"' % TASK_ID, 'AccessToken "%s"' % self.token,
             'Secret "%s"' % self.secret], "Secret")

    def test_secret_and_secret_file(self):
        path = os.path.join(self.dir, "s.secret")
        with open(path, "w") as f:
            f.write(self.secret + "\n")
        os.chmod(path, 0o600)
        line = self.refused_in_task(
            self.task('SecretFile "%s"' % path), "SecretFile")
        self.assertIn("Secret", line)

    def test_unreadable_secret_file(self):
        path = os.path.join(self.dir, "does-not-exist.secret")
        self.refused_in_task(['TaskID "%s"' % TASK_ID,
                              'SecretFile "%s"' % path], "SecretFile")

    def test_malformed_secret_in_file(self):
        path = os.path.join(self.dir, "short.secret")
        bad = self.secret[:63]
        with open(path, "w") as f:
            f.write(bad + "\n")
        os.chmod(path, 0o600)
        self.refused_in_task(['TaskID "%s"' % TASK_ID,
                              'SecretFile "%s"' % path], "SecretFile",
                             leaks=(bad,))

    def test_unreadable_access_token_file(self):
        path = os.path.join(self.dir, "nope.token")
        self.refused_in_task(['TaskID "%s"' % TASK_ID,
                              'AccessTokenFile "%s"' % path],
                             "AccessTokenFile")

    def test_bad_severity(self):
        self.refused_in_task(self.task('Severity "FAILURE" "CRITICAL"'),
                             "Severity")

    def test_invalid_regex(self):
        self.refused_in_task(self.task('Plugin "/a(b/"'), "Plugin")

    def test_invalid_regex_in_message(self):
        self.refused_in_task(self.task('Message "/[z-a]/"'), "Message")

    def test_unknown_placeholder(self):
        self.refused_in_task(self.task('Argument "%{hostname}"'),
                             "Argument")

    def test_empty_placeholder(self):
        self.refused_in_task(self.task('Argument "x %{} y"'), "Argument")

    def test_empty_meta_name(self):
        self.refused_in_task(self.task('Argument "%{meta:}"'), "Argument")

    def test_unterminated_placeholder(self):
        self.refused_in_task(self.task('Argument "%{host"'), "Argument")

    def test_task_timeout_zero(self):
        self.refused_in_task(self.task("Timeout 0"), "Timeout")

    def test_task_url_bad_scheme(self):
        self.refused_in_task(self.task('URL "ftp://x"'), "URL")


class TaskNames(ConfigTest):

    def test_duplicate_task_name(self):
        block = plugin_block(URL, [("twice", self.task()),
                                   ("twice", self.task())])
        self.assertRefused(block, "Task", "twice")

    def test_duplicate_task_name_across_blocks(self):
        block = (plugin_block(URL, [("twice", self.task())]) + "\n" +
                 plugin_block(None, [("twice", self.task())]))
        self.assertRefused(block, "Task", "twice")

    def test_task_name_with_slash(self):
        block = plugin_block(URL, [("a/b", self.task())])
        self.assertRefused(block, "Task")

    def test_empty_task_name(self):
        block = plugin_block(URL, [("", self.task())])
        self.assertRefused(block, "Task")

    def test_task_name_too_long(self):
        block = plugin_block(URL, [("n" * 128, self.task())])
        self.assertRefused(block, "Task")


class GoodConfig(ConfigTest):

    def test_valid_configuration(self):
        path = os.path.join(self.dir, "t2.secret")
        with open(path, "w") as f:
            f.write(self.secret + "\n")
        os.chmod(path, 0o600)
        block = plugin_block(URL, [
            ("t1", self.task('Severity "failure" "Warning"',
                             'Plugin "processes" "/^ngin/"',
                             'Argument "%{host} at 90% %%"',
                             'Argument "%{meta:runbook}"', "Cooldown 0.5",
                             'URL "https://example.invalid/"',
                             'Customer "other"', "Timeout 2000",
                             "ConnectTimeout 500")),
            ("t2", ['TaskID "%s"' % TASK_ID2, 'SecretFile "%s"' % path]),
            ("t3", ['TaskID "%s"' % TASK_ID.upper(),
                    'AccessToken "%s"' % self.token]),
            ("n" * 127, self.task()),
        ], Customer=CUSTOMER, Timeout=3000, QueueLimit=10, MaxAttempts=3,
            RetryInterval=0.5, MaxRetryInterval=10, MaxAge=60)
        rc, output, log = self.run_config(block)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertEqual(rc, 0, detail)
        self.assertEqual(self.plugin_errors(output, log), [], detail)
        self.assertNotIn("[error]", log.lower(), detail)
        self.assertNoLeak(output + log, self.secret, self.token)

    def test_option_keys_are_case_insensitive(self):
        block = ('<Plugin notify_theeye>\n  url "%s"\n  CUSTOMER "acme"\n'
                 '  <task "t">\n    taskid "%s"\n    SECRET "%s"\n'
                 '    severity "okay"\n  </task>\n</Plugin>'
                 % (URL, TASK_ID, self.secret))
        rc, output, log = self.run_config(block)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertEqual(rc, 0, detail)
        self.assertEqual(self.plugin_errors(output, log), [], detail)

    def test_secret_file_readable_by_others(self):
        path = os.path.join(self.dir, "open.secret")
        with open(path, "w") as f:
            f.write(self.secret + "\n")
        os.chmod(path, 0o644)
        block = plugin_block(URL, [("t", ['TaskID "%s"' % TASK_ID,
                                          'SecretFile "%s"' % path])])
        rc, output, log = self.run_config(block)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertEqual(rc, 0, detail)
        self.assertEqual(self.plugin_errors(output, log), [], detail)
        warnings = [l for l in (log + output).splitlines()
                    if PREFIX in l and path in l]
        self.assertEqual(len(warnings), 1, detail)
        self.assertIn("[warning]", warnings[0].lower(), detail)
        self.assertNoLeak(output + log, self.secret)

    def test_token_file_readable_by_group(self):
        path = os.path.join(self.dir, "group.token")
        with open(path, "w") as f:
            f.write(self.token + "\n")
        os.chmod(path, 0o640)
        block = plugin_block(URL, [("t", ['TaskID "%s"' % TASK_ID,
                                          'AccessTokenFile "%s"' % path])])
        rc, output, log = self.run_config(block)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertEqual(rc, 0, detail)
        warnings = [l for l in (log + output).splitlines()
                    if PREFIX in l and path in l]
        self.assertEqual(len(warnings), 1, detail)
        self.assertNoLeak(output + log, self.token)

    def test_same_secret_option_twice_keeps_last(self):
        other = new_secret()
        block = plugin_block(URL, [("t", self.task(
            'Secret "%s"' % other))])
        rc, output, log = self.run_config(block)
        detail = "rc %d\noutput:\n%s\nlog:\n%s" % (rc, output, log)
        self.assertEqual(rc, 0, detail)
        self.assertEqual(self.plugin_errors(output, log), [], detail)


if __name__ == "__main__":
    main()
