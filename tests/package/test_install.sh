#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install DESTDIR=DIR` puts exactly what collectd and man need into
# DIR: the plugin as a real shared object (collectd refuses a symbolic
# link, and has no use for libtool's .la) that exports module_register,
# and the manual; `make uninstall` takes both away again.
set -eu
build=${NT_BUILDDIR:?NT_BUILDDIR: the build directory}
dest=$(mktemp -d /tmp/nt-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT INT TERM
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Without the parent make's jobserver: this make only copies files.
MAKEFLAGS= make -s -C "$build" install DESTDIR="$dest" >"$dest/make.log" 2>&1 ||
  fail "make install: $(cat "$dest/make.log")"
files=$(cd "$dest" && find . -type f -o -type l | grep -v '^./make.log$' | sort)
so=$(echo "$files" | grep '/notify_theeye\.so$' || true)
man=$(echo "$files" | grep '/man5/collectd-notify_theeye\.5$' || true)
[ -n "$so" ] || fail "no notify_theeye.so installed: $files"
[ -n "$man" ] || fail "no man5/collectd-notify_theeye.5 installed: $files"
[ "$(echo "$files" | wc -l)" -eq 2 ] || fail "more than the plugin and its manual: $files"
[ -f "$dest/$so" ] && [ ! -L "$dest/$so" ] || fail "$so is not a regular file"
nm -D --defined-only "$dest/$so" | grep -q ' T module_register$' ||
  fail "$so does not export module_register"
MAKEFLAGS= make -s -C "$build" uninstall DESTDIR="$dest" >"$dest/make.log" 2>&1 ||
  fail "make uninstall: $(cat "$dest/make.log")"
left=$(cd "$dest" && find . -type f -o -type l | grep -v '^./make.log$' || true)
[ -z "$left" ] || fail "left after make uninstall: $left"
echo "make install: $so and $man; make uninstall removes both"
