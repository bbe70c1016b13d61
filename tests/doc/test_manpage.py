# SPDX-License-Identifier: MIT
"""The manual page collectd-notify_theeye(5) must not drift from README.md
and from the code.

The man page (doc/collectd-notify_theeye.pod) restates README's
configuration reference, so each time an option, a placeholder, a counter,
a guard or one of the plugin's own notifications is added, renamed or
removed, README, plugin/config.c and the POD must change together. This
test compares them: the option names of README's tables, the option names
plugin/config.c accepts (global block and Task block apart) and the
`=item B<Name>` entries of the POD's option sections must be the same sets;
every placeholder of README's table, every counter of README's
"Self-metrics" chapter and of plugin/stats.c must be in the POD; the guards
must come in README's order. It also renders the page (pod2man, then
`man --warnings`) and runs podchecker: a page that renders with warnings,
or a POD with errors or warnings, fails.

Standard library only. NT_SRCDIR is the source tree (default: two levels
up from this file), NT_BUILDDIR the build tree: when it holds the generated
doc/collectd-notify_theeye.5, that page is checked too.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("NT_SRCDIR") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
BUILDDIR = os.environ.get("NT_BUILDDIR") or ""

POD = os.path.join("doc", "collectd-notify_theeye.pod")
MAN = os.path.join("doc", "collectd-notify_theeye.5")
README = "README.md"
CONFIG_C = os.path.join("plugin", "config.c")
STATS_C = os.path.join("plugin", "stats.c")

GLOBAL_SECTION = "GLOBAL OPTIONS"
TASK_SECTION = "TASK OPTIONS"
PACKAGES = "Debian packages: perl (pod2man, podchecker), man-db (man)"


def read(relpath):
    with open(os.path.join(SRCDIR, relpath), encoding="utf-8") as f:
        return f.read()


def fmt(names):
    return ", ".join(sorted(names)) or "(none)"


# --- README.md -------------------------------------------------------------

def md_section(text, heading_re):
    """The body of the first Markdown section whose heading matches, up to
    the next heading of the same or a higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m and re.search(heading_re, m.group(2)):
            level = len(m.group(1))
            body = []
            for more in lines[i + 1:]:
                h = re.match(r"^(#{1,6})\s", more)
                if h and len(h.group(1)) <= level:
                    break
                body.append(more)
            return "\n".join(body)
    raise AssertionError("README.md: no section whose heading matches %r"
                         % heading_re)


def md_table_first_cells(section):
    """First cells of the rows of the section's tables, header and
    separator rows left out."""
    cells = []
    in_table = False
    for line in section.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cell = line.strip().strip("|").split("|")[0].strip()
        if not in_table:  # the header row
            in_table = True
            continue
        if re.fullmatch(r":?-+:?", cell):
            continue
        cells.append(cell)
    return cells


def backticked(text):
    return re.findall(r"`([^`]+)`", text)


OPTION_NAME = re.compile(r"[A-Z][A-Za-z]*")


def readme_options(section):
    names = set()
    for cell in md_table_first_cells(section):
        names.update(t for t in backticked(cell) if OPTION_NAME.fullmatch(t))
    return names


def readme_global_section(readme):
    return md_section(readme, r"^Plugin block \(global\)")


def readme_global_options(readme):
    return readme_options(readme_global_section(readme))


def readme_task_options(readme):
    """The Task table's names, and the global options README says a Task
    may override ("A Task may override `URL`, ... and `PauseFile`")."""
    names = readme_options(md_section(readme, r"<Task\b"))
    m = re.search(r"A Task may override(.*?)nothing else",
                  readme_global_section(readme), re.S)
    if m is None:
        raise AssertionError("README: the sentence \"A Task may override "
                             "... nothing else\" above the global options' "
                             "table is gone; the Task options it names "
                             "cannot be checked")
    names.update(t for t in backticked(m.group(1))
                 if OPTION_NAME.fullmatch(t))
    return names


def readme_placeholders(readme):
    section = md_section(readme, r"^Argument templates")
    found = []
    for cell in md_table_first_cells(section):
        found += [t for t in backticked(cell) if re.fullmatch(r"%\{.+\}", t)]
    return found


def readme_counters(readme):
    """Type instances of the Self-metrics table: derive-sent, ...,
    queue_length (the last part of each identifier)."""
    section = md_section(readme, r"^Self-metrics")
    found = []
    for cell in md_table_first_cells(section):
        for t in backticked(cell):
            last = t.rsplit("/", 1)[-1]
            if re.fullmatch(r"[a-z][a-z_-]*", last):
                found.append(last)
    return found


def readme_guards(readme):
    """The numbered list of README's "Remediation safety": the option that
    opens each item, in order."""
    section = md_section(readme, r"^Remediation safety")
    return re.findall(r"^\d+\.\s+`([A-Za-z]+)", section, re.M)


def readme_events(readme):
    """(type instance, severity) of the plugin's own notifications."""
    section = md_section(readme, r"^The plugin's own notifications")
    events = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (line.startswith("|") and len(cells) > 1
                and re.fullmatch(r"`[a-z_]+`", cells[0])
                and re.fullmatch(r"FAILURE|WARNING|OKAY", cells[1])):
            events.append((cells[0].strip("`"), cells[1]))
    return events


# --- plugin/*.c ------------------------------------------------------------

def strip_c_comments(src):
    """The source without its comments; string and character literals
    kept as they are."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def top_level_blocks(src):
    """(header, body) of every brace block at file level: functions and
    initialisers. Braces inside literals do not count."""
    blocks = []
    depth, start, header_from = 0, None, 0
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                blocks.append((src[header_from:start], src[start:i + 1]))
                header_from = i + 1
        elif c == ";" and depth == 0:
            header_from = i + 1
        i += 1
    return blocks


def option_names_in(body, src):
    """Option names a function compares its key with: string literals in
    strcasecmp(key, "Name"), and the names of a table it loops over,
    strcasecmp(key, table[i].option)."""
    names = set(re.findall(
        r'\bstr(?:n)?casecmp\s*\(\s*[\w.>-]+\s*,\s*"([^"]+)"', body))
    for table in set(re.findall(
            r'\bstr(?:n)?casecmp\s*\(\s*[\w.>-]+\s*,\s*(\w+)\s*\[\s*\w+\s*\]'
            r'\s*\.\s*\w+\s*\)', body)):
        m = re.search(r"\b%s\s*\[\s*\w*\s*\]\s*=\s*\{" % re.escape(table),
                      src)
        if m is None:
            raise AssertionError("plugin/config.c: table %s not found"
                                 % table)
        depth, i = 0, m.end() - 1
        while True:
            if src[i] == "{":
                depth += 1
            elif src[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        names.update(re.findall(r'\{\s*"([^"]+)"', src[m.end():i]))
    return names


def config_c_options():
    """(global options, Task options) plugin/config.c accepts. The two
    parsers are the functions that report an unknown option, one for the
    Plugin block, one for a Task block."""
    src = strip_c_comments(read(CONFIG_C))
    found = {}
    for header, body in top_level_blocks(src):
        if not re.search(r"\)\s*$", header):
            continue  # not a function
        if "unknown option in <Plugin" in body:
            found["global"] = option_names_in(body, src)
        elif "unknown option in a <Task>" in body:
            found["task"] = option_names_in(body, src)
    for which in ("global", "task"):
        if not found.get(which):
            raise AssertionError(
                "plugin/config.c: cannot find the parser of the %s options "
                "(the function that reports \"unknown option in ...\")"
                % which)
    if "Task" not in found["global"]:
        raise AssertionError("plugin/config.c: the global parser does not "
                             "take <Task> blocks any more?")
    found["global"].discard("Task")  # the block, documented on its own
    return found["global"], found["task"]


def stats_c_names():
    src = strip_c_comments(read(STATS_C))
    m = re.search(r"\bnt_stat_names\s*\[[^\]]*\]\s*=\s*\{(.*?)\};", src,
                  re.S)
    if m is None:
        raise AssertionError("plugin/stats.c: nt_stat_names not found")
    return re.findall(r'"([^"]+)"', m.group(1))


# --- the POD -----------------------------------------------------------------

def pod_sections(pod):
    """{=head1 title: its text}"""
    sections = {}
    parts = re.split(r"^=head1[ \t]+(.*)$", pod, flags=re.M)
    for title, body in zip(parts[1::2], parts[2::2]):
        sections[title.strip()] = body
    return sections


def pod_section(pod, title):
    sections = pod_sections(pod)
    if title not in sections:
        raise AssertionError("%s: no =head1 %s" % (POD, title))
    return sections[title]


def pod_items(section):
    """Option names of the section's `=item B<Name> ...` lines, in order."""
    return re.findall(r"^=item[ \t]+B<([A-Za-z]+)>", section, re.M)


class ManPageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.readme = read(README)
        cls.pod = read(POD)

    # --- options -------------------------------------------------------------

    def assert_same(self, documented, expected, what, where):
        missing = expected - documented
        extra = documented - expected
        self.assertFalse(
            missing or extra,
            "%s: the POD's %s and %s differ.\n  missing from the POD: %s\n"
            "  in the POD only: %s" % (POD, what, where, fmt(missing),
                                       fmt(extra)))

    def pod_options(self, title):
        items = pod_items(pod_section(self.pod, title))
        dups = {n for n in items if items.count(n) > 1}
        self.assertFalse(dups, "%s: =head1 %s documents twice: %s"
                         % (POD, title, fmt(dups)))
        return set(items)

    def test_readme_global_options(self):
        readme = readme_global_options(self.readme)
        self.assertGreater(len(readme), 10, "README's global table not found")
        self.assert_same(self.pod_options(GLOBAL_SECTION), readme,
                         GLOBAL_SECTION,
                         "README's table of the Plugin block (global)")

    def test_readme_task_options(self):
        readme = readme_task_options(self.readme)
        self.assertGreater(len(readme), 10, "README's Task table not found")
        self.assert_same(self.pod_options(TASK_SECTION), readme,
                         TASK_SECTION,
                         "README's table of the <Task> block (with the "
                         "options README says a Task may override)")

    def test_readme_all_options(self):
        readme = (readme_global_options(self.readme)
                  | readme_task_options(self.readme))
        pod = (self.pod_options(GLOBAL_SECTION)
               | self.pod_options(TASK_SECTION))
        self.assert_same(pod, readme, "options", "README's option tables")

    def test_config_c_global_options(self):
        global_options, _ = config_c_options()
        self.assert_same(self.pod_options(GLOBAL_SECTION), global_options,
                         GLOBAL_SECTION,
                         "the global options plugin/config.c accepts")

    def test_config_c_task_options(self):
        _, task_options = config_c_options()
        self.assert_same(self.pod_options(TASK_SECTION), task_options,
                         TASK_SECTION,
                         "the Task options plugin/config.c accepts")

    # --- placeholders, counters, guards, events ------------------------------

    def test_placeholders(self):
        placeholders = readme_placeholders(self.readme)
        self.assertGreaterEqual(len(placeholders), 10,
                                "README's placeholder table not found")
        section = pod_section(self.pod, "ARGUMENT TEMPLATES")
        items = set(re.findall(r"^=item[ \t]+C<(%\{[^>]*\})>", section, re.M))
        self.assert_same(items, set(placeholders),
                         "placeholders (=item C<%{...}> of ARGUMENT "
                         "TEMPLATES)", "README's placeholder table")

    def test_counters_of_readme(self):
        counters = readme_counters(self.readme)
        self.assertGreaterEqual(len(counters), 20,
                                "README's Self-metrics table not found")
        section = pod_section(self.pod, "SELF-METRICS")
        missing = [c for c in counters if "C<%s>" % c not in section]
        self.assertFalse(missing, "%s: SELF-METRICS lacks README's counters:"
                         " %s" % (POD, fmt(missing)))

    def test_counters_of_stats_c(self):
        names = stats_c_names()
        self.assertGreaterEqual(len(names), 10)
        section = pod_section(self.pod, "SELF-METRICS")
        missing = [n for n in names if "C<derive-%s>" % n not in section]
        self.assertFalse(missing, "%s: SELF-METRICS lacks counters of "
                         "plugin/stats.c's nt_stat_names: %s"
                         % (POD, fmt(missing)))
        # And no counter the plugin no longer has.
        extra = sorted(set(re.findall(r"C<derive-(\w+)>", section)) -
                       set(names) - {"spool_corrupt"})
        self.assertFalse(extra, "%s: SELF-METRICS documents counters "
                         "plugin/stats.c does not have: %s"
                         % (POD, fmt(extra)))

    def test_guards_in_readme_order(self):
        readme = readme_guards(self.readme)
        self.assertGreaterEqual(len(readme), 5,
                                "README's list of guards not found")
        section = pod_section(self.pod, "REMEDIATION SAFETY")
        pod = re.findall(r"^=item[ \t]+\d+\.\s*\n\s*\nB<([A-Za-z]+)>",
                         section, re.M)
        self.assertEqual(pod, readme, "%s: the guards of REMEDIATION SAFETY "
                         "are not README's, in README's order" % POD)

    def test_own_notifications(self):
        events = readme_events(self.readme)
        self.assertGreaterEqual(len(events), 5,
                                "README's table of the plugin's own "
                                "notifications not found")
        section = pod_section(self.pod, "THE PLUGIN'S OWN NOTIFICATIONS")
        for needle in ("C<notify_theeye>", "C<remediation>"):
            self.assertIn(needle, section)
        missing = ["%s (%s)" % e for e in events
                   if not re.search(r"^=item[ \t]+C<%s>, severity %s$"
                                    % e, section, re.M)]
        self.assertFalse(missing, "%s: THE PLUGIN'S OWN NOTIFICATIONS lacks "
                         "an =item for: %s" % (POD, fmt(missing)))

    def test_structure(self):
        self.assertTrue(
            self.pod.startswith("=for comment SPDX-License-Identifier: MIT"),
            "%s must start with its licence line" % POD)
        titles = list(pod_sections(self.pod))
        for title in ("NAME", "SYNOPSIS", "DESCRIPTION", GLOBAL_SECTION,
                      TASK_SECTION, "ARGUMENT TEMPLATES", "REQUESTS",
                      "OUTCOMES", "REMEDIATION SAFETY", "CLOSING THE LOOP",
                      "THE PLUGIN'S OWN NOTIFICATIONS", "SELF-METRICS",
                      "SPOOL", "FILES", "EXAMPLES", "SEE ALSO", "AUTHOR",
                      "COPYRIGHT AND LICENSE"):
            self.assertIn(title, titles, "%s: no =head1 %s" % (POD, title))
        synopsis = pod_section(self.pod, "SYNOPSIS")
        for needle in ("LoadPlugin notify_theeye", "<Plugin notify_theeye>",
                       "<Task ", "TaskID"):
            self.assertIn(needle, synopsis)
        see_also = pod_section(self.pod, "SEE ALSO")
        for page in ("collectd(1)", "collectd.conf(5)",
                     "collectd-threshold(5)", "collectd-unixsock(5)"):
            self.assertIn("L<%s>" % page, see_also)
        self.assertIn("MIT", pod_section(self.pod, "COPYRIGHT AND LICENSE"))

    # --- rendering -----------------------------------------------------------

    def tool(self, name):
        path = shutil.which(name)
        if path is None:
            self.fail("%s not found: install the %s" % (name, PACKAGES))
        return path

    def release(self):
        m = re.search(r"AC_INIT\(\[[^\]]*\],\s*\[([^\]]+)\]",
                      read("configure.ac"))
        return m.group(1) if m else "unknown"

    def render(self, page):
        """`man --warnings -l page`: (its stderr, its text)."""
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80",
                   MAN_DISABLE_SECCOMP="1", MANPAGER="cat", PAGER="cat")
        env.pop("MANOPT", None)
        r = subprocess.run([self.tool("man"), "--warnings", "-l", page],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=120)
        text = re.sub(r".\x08", "", r.stdout.decode("utf-8", "replace"))
        self.assertEqual(r.returncode, 0, "man -l %s failed: %s"
                         % (page, r.stderr.decode("utf-8", "replace")))
        return r.stderr.decode("utf-8", "replace"), text

    def check_page(self, page):
        stderr, text = self.render(page)
        self.assertEqual(stderr, "", "man --warnings -l %s warns:\n%s"
                         % (page, stderr))
        # groff does not warn about a verbatim line that overflows.
        wide = [line for line in text.splitlines() if len(line) > 80]
        self.assertFalse(wide, "man -l %s: lines wider than MANWIDTH=80 "
                         "(a verbatim paragraph too wide?):\n%s"
                         % (page, "\n".join(wide)))
        for needle in ("COLLECTD-NOTIFY_THEEYE(5)", "NAME",
                       "collectd-notify_theeye - ", "SYNOPSIS",
                       "LoadPlugin notify_theeye", "GLOBAL OPTIONS",
                       "TASK OPTIONS", "TaskID ID", "QueueLimit Number",
                       "%{meta:NAME}", "budget_exhausted", "derive-sent",
                       "SEE ALSO", "collectd.conf(5)", "collectd-unixsock(5)",
                       "MIT"):
            self.assertIn(needle, text, "man -l %s: %r not in the page"
                          % (page, needle))

    def test_pod2man_and_man(self):
        pod2man = self.tool("pod2man")
        with tempfile.TemporaryDirectory() as tmp:
            page = os.path.join(tmp, "collectd-notify_theeye.5")
            with open(page, "wb") as out:
                r = subprocess.run(
                    [pod2man, "--section=5", "--center=collectd",
                     "--release=" + self.release(),
                     "--name=COLLECTD-NOTIFY_THEEYE", "--errors=stderr",
                     os.path.join(SRCDIR, POD)],
                    stdout=out, stderr=subprocess.PIPE, timeout=120)
            stderr = r.stderr.decode("utf-8", "replace")
            self.assertEqual((r.returncode, stderr), (0, ""),
                             "pod2man failed or warned:\n" + stderr)
            self.check_page(page)

    def test_built_page(self):
        page = os.path.join(BUILDDIR, MAN) if BUILDDIR else ""
        if not page or not os.path.exists(page):
            self.skipTest("no %s in NT_BUILDDIR" % MAN)
        self.check_page(page)

    def test_podchecker(self):
        r = subprocess.run(
            [self.tool("podchecker"), "-warnings", "-warnings",
             os.path.join(SRCDIR, POD)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=120)
        output = r.stdout.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, "podchecker:\n" + output)
        self.assertNotRegex(output, r"\*\*\* (ERROR|WARNING)",
                            "podchecker:\n" + output)
        self.assertIn("pod syntax OK", output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
