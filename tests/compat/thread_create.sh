#!/bin/sh
# SPDX-License-Identifier: MIT
# The collectd version probe, end to end (run by `make check`).
#
# plugin_thread_create takes a pthread_attr_t before the thread function in
# collectd 5.9 and 5.10 and not from 5.11 on; configure finds out which
# form the headers declare and passes NT_THREAD_CREATE_ATTR=1 or 0 in
# COLLECTD_CPPFLAGS. A plugin calling the wrong form compiles with only a
# warning and fails in the daemon, so this test checks the whole chain:
#
#  1. the build under test: configure's answer matches what its plugin.h
#     declares (read independently from the header text);
#  2. a stand-in for the other version's headers (a copy of those headers
#     with only plugin_thread_create's declaration rewritten to the other
#     form): configure prints the other answer and defines the other value;
#  3. the plugin built against the stand-in (with the build's own flags and
#     -Werror=incompatible-pointer-types: the mismatched call is an error,
#     not a warning) is loaded into
#     tests/host/nt_host built against the same headers, which exports
#     plugin_thread_create in that form: init succeeds and every job
#     reaches tests/fake_supervisor (run-host.sh);
#  4. the same host and fake for the build under test's own plugin;
#  5. the test can fail: the 5.11+ plugin loaded into the 5.9-form host
#     must fail init with the host naming the attribute mismatch.
#
# Environment (Makefile.am's AM_TESTS_ENVIRONMENT): NT_SRCDIR, NT_BUILDDIR,
# NT_PLUGIN_DIR, NT_FAKE_SUPERVISOR. Every wait is bounded (configure and
# make finish; run-host.sh and nt_host bound theirs). The temporary
# directory is removed at the end, pass or fail. About 30 s on 2 cores.
set -u

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "thread_create: $*"; }

for v in NT_SRCDIR NT_BUILDDIR NT_PLUGIN_DIR NT_FAKE_SUPERVISOR; do
  eval "val=\${$v:-}"
  [ -n "$val" ] || fail "$v is not set (run through make check)"
done
src=$NT_SRCDIR
build=$NT_BUILDDIR
[ -f "$build/Makefile" ] || fail "no Makefile in $build"
[ -x "$NT_FAKE_SUPERVISOR" ] || fail "no fake supervisor at $NT_FAKE_SUPERVISOR"
[ -f "$NT_PLUGIN_DIR/notify_theeye.so" ] ||
  fail "no plugin at $NT_PLUGIN_DIR/notify_theeye.so"

# A make variable of a configured build directory, as configure wrote it.
mkvar() {
  sed -n "s/^$2 = //p" "$1/Makefile" | head -n 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nt-compat.XXXXXX") ||
  fail "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM
# The nested configure and make are this script's own, not make check's.
unset MAKEFLAGS MFLAGS MAKELEVEL

# Prints a log's tail on failure.
show() {
  echo "---- $1 (last 40 lines)" >&2
  tail -n 40 "$1" >&2
  echo "----" >&2
}

# -- 1. The build under test ------------------------------------------------
cppflags=$(mkvar "$build" COLLECTD_CPPFLAGS)
case "$cppflags" in
*-DNT_THREAD_CREATE_ATTR=0*) main_attr=0 ;;
*-DNT_THREAD_CREATE_ATTR=1*) main_attr=1 ;;
*) fail "COLLECTD_CPPFLAGS in $build/Makefile defines no" \
  "NT_THREAD_CREATE_ATTR: '$cppflags'" ;;
esac
collectd_dir=$(mkvar "$build" COLLECTD_DIR)
# plugin.h is in the -I directory ending in /daemon (core/daemon of
# collectd-dev's layout, src/daemon of a collectd source tree).
daemon_dir=$(echo "$cppflags" | sed -n 's|^.*-I\([^ ]*/daemon\) .*$|\1|p')
plugin_h=$daemon_dir/plugin.h
[ -n "$collectd_dir" ] && [ -f "$plugin_h" ] ||
  fail "cannot find collectd's plugin.h from COLLECTD_DIR='$collectd_dir'" \
    "and COLLECTD_CPPFLAGS='$cppflags'"
case "$plugin_h" in
"$collectd_dir"/*) plugin_h_rel=${plugin_h#"$collectd_dir"/} ;;
*) fail "$plugin_h is not under COLLECTD_DIR $collectd_dir" ;;
esac
decl=$(awk '/int plugin_thread_create\(/,/;/' "$plugin_h")
[ -n "$decl" ] || fail "no plugin_thread_create declaration in $plugin_h"
case "$decl" in
*pthread_attr_t*) header_attr=1 ;;
*) header_attr=0 ;;
esac
[ "$main_attr" = "$header_attr" ] ||
  fail "configure says NT_THREAD_CREATE_ATTR=$main_attr for $plugin_h," \
    "which declares: $decl"
note "ok: the build under test has NT_THREAD_CREATE_ATTR=$main_attr," \
  "as $plugin_h declares"

# -- 2. The stand-in for the other version ----------------------------------
if [ "$main_attr" = 0 ]; then
  other_attr=1
  other_answer=yes
  other_decl='int plugin_thread_create(pthread_t *thread, const pthread_attr_t *attr,
                         void *(*start_routine)(void *), void *arg,
                         char const *name);'
else
  other_attr=0
  other_answer=no
  other_decl='int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name);'
fi
# Every header of COLLECTD_DIR, under the same base name: Debian's
# collectd.h includes "collectd/core/config.h", found through -IDIR/..
headers=$tmp/headers/$(basename "$collectd_dir")
mkdir -p "$headers" && (cd "$collectd_dir" && find . -name '*.h' -print |
  tar -cf - -T -) | (cd "$headers" && tar -xf -) ||
  fail "cannot copy the headers of $collectd_dir"
# Exactly one declaration rewritten, or the test would prove nothing.
NT_DECL=$other_decl perl -0pi -e \
  '$n = s/int plugin_thread_create\([^;]*\);/$ENV{NT_DECL}/g;
   die "plugin_thread_create declared $n times, expected once\n"
     unless $n == 1;' "$headers/$plugin_h_rel" ||
  fail "could not rewrite plugin_thread_create in the stand-in's plugin.h"
grep -q 'pthread_attr_t \*attr' "$headers/$plugin_h_rel"
[ $? -eq $((1 - other_attr)) ] ||
  fail "the stand-in's plugin.h does not declare the other form"

# configure refuses to run beside an in-tree configured source directory:
# it gets a copy of the source files it needs, timestamps kept so that
# make sees no reason to run the autotools again.
s=$tmp/src
mkdir -p "$s/tests/fuzz" "$s/tests/host" || fail "mkdir $s"
for f in configure configure.ac Makefile.am Makefile.in aclocal.m4 m4 \
  build-aux plugin; do
  cp -pR "$src/$f" "$s/" || fail "cannot copy $src/$f"
done
for f in tests/sanitize.am tests/fuzz/fuzz.am; do
  if [ -f "$src/$f" ]; then cp -p "$src/$f" "$s/$f" || fail "copy $f"; fi
done
# Generated files of an in-tree build must not leak into the copy.
rm -rf "$s/build-aux/nt_build.h" "$s/build-aux/stamp-h1" \
  "$s/plugin/.libs" "$s/plugin/.deps" "$s"/plugin/*.lo "$s"/plugin/*.o \
  "$s"/plugin/.dirstamp

# The build under test's compiler and flags; whatever they are, the wrong
# form of the call (an incompatible function pointer) is an error.
cc=$(mkvar "$build" CC)
cflags="$(mkvar "$build" CFLAGS) -Werror=incompatible-pointer-types"
werror=
case " $(mkvar "$build" WARN_CFLAGS) " in
*" -Werror "*) werror=--enable-werror ;;
esac
b=$tmp/build
mkdir -p "$b" || fail "mkdir $b"
note "configure --with-collectd=<stand-in> (NT_THREAD_CREATE_ATTR=$other_attr)"
(cd "$b" && "$s/configure" --with-collectd="$headers" $werror \
  CC="$cc" CFLAGS="$cflags" >configure.out 2>&1) || {
  show "$b/configure.out"
  fail "configure against the stand-in headers failed"
}
line=$(grep '^checking whether plugin_thread_create takes a pthread_attr_t\.\.\. ' \
  "$b/configure.out")
case "$line" in
*"... $other_answer"*) ;;
*) show "$b/configure.out"
  fail "configure's answer for the stand-in: '$line', expected" \
    "'$other_answer'" ;;
esac
case "$(mkvar "$b" COLLECTD_CPPFLAGS)" in
*-DNT_THREAD_CREATE_ATTR=$other_attr*) ;;
*) fail "the stand-in build's COLLECTD_CPPFLAGS lack" \
  "-DNT_THREAD_CREATE_ATTR=$other_attr" ;;
esac
note "ok: $line"

# -- 3. Plugin and host for the stand-in ------------------------------------
note "building the plugin against the stand-in"
make -C "$b" -j2 notify_theeye.la >"$b/make.out" 2>&1 || {
  show "$b/make.out"
  fail "the plugin does not build against headers declaring the" \
    "NT_THREAD_CREATE_ATTR=$other_attr form of plugin_thread_create"
}
other_so=$b/.libs/notify_theeye.so
[ -f "$other_so" ] || fail "no $other_so after make"

# nt_host, built with a build directory's flags: it exports the
# plugin_thread_create that directory's headers declare.
build_host() {
  (cd "$1" && $cc -std=gnu11 -Wall -Wextra -Werror \
    $(mkvar "$1" COLLECTD_CPPFLAGS) $(mkvar "$1" YAJL_CFLAGS) -rdynamic \
    -o "$2" "$src/tests/host/nt_host.c" $(mkvar "$1" YAJL_LIBS) \
    -ldl -lpthread -lm) >"$2.out" 2>&1 || {
    show "$2.out"
    fail "nt_host does not build with the flags of $1"
  }
}
build_host "$b" "$tmp/nt_host_other"
build_host "$build" "$tmp/nt_host_main"

# run-host.sh: the fake supervisor, then nt_host against it (a few
# notifications from two threads; the host checks every job and metric).
run_host() {
  sh "$src/tests/host/run-host.sh" "$NT_FAKE_SUPERVISOR" "$1" "$2" "$3" \
    --threads 2 --per-thread 10 --timeout 30 >"$3.out" 2>&1
}
run_host "$tmp/nt_host_other" "$other_so" "$tmp/host-other" || {
  show "$tmp/host-other.out"
  fail "the plugin built for NT_THREAD_CREATE_ATTR=$other_attr did not" \
    "deliver through a host exporting that form"
}
note "ok: NT_THREAD_CREATE_ATTR=$other_attr plugin in a host of that form:" \
  "$(tail -n 1 "$tmp/host-other.out")"

# -- 4. The build under test's own plugin -----------------------------------
run_host "$tmp/nt_host_main" "$NT_PLUGIN_DIR/notify_theeye.so" \
  "$tmp/host-main" || {
  show "$tmp/host-main.out"
  fail "the plugin under test did not deliver through a host of its form"
}
note "ok: NT_THREAD_CREATE_ATTR=$main_attr plugin in a host of that form:" \
  "$(tail -n 1 "$tmp/host-main.out")"

# -- 5. The mismatch is caught ------------------------------------------------
# Only the 5.9-form host can refuse the other call without undefined
# behaviour (it sees the thread function where the attribute belongs).
if [ "$other_attr" = 1 ]; then
  if run_host "$tmp/nt_host_other" "$NT_PLUGIN_DIR/notify_theeye.so" \
    "$tmp/host-cross"; then
    show "$tmp/host-cross.out"
    fail "a plugin built for collectd 5.11+ worked in a 5.9-form host:" \
      "this test could not tell the two forms apart"
  fi
  grep -q 'non-NULL pthread_attr_t' "$tmp/host-cross.out" &&
    grep -q 'init failed' "$tmp/host-cross.out" || {
    show "$tmp/host-cross.out"
    fail "the 5.11+ plugin in the 5.9-form host failed, but not at" \
      "plugin_thread_create"
  }
  note "ok: the 5.11+ plugin in the 5.9-form host fails init, as in a" \
    "real collectd 5.9"
fi
note "passed"
exit 0
