#!/bin/sh
# SPDX-License-Identifier: MIT
# From the unpacked source, as root on Debian 12: installs what the build
# and the tests need, builds, then runs the demo or the whole test suite.
#
#   sh bootstrap.sh demo    # a real collectd fires a threshold at a fake TheEye
#   sh bootstrap.sh check   # every test: make check (unit, integration, fault
#                           # suite), then memcheck, ASan/UBSan, fuzzing and
#                           # the Debian package in a fresh Debian 12 chroot
#   sh bootstrap.sh bench   # the benchmark: make bench (nginx, wrk, gnuplot)
#   sh bootstrap.sh         # build only
set -eu
cd "$(dirname "$0")"
what=${1:-build}
case "$what" in
demo | check | build | bench) ;;
*)
  echo "usage: sh bootstrap.sh [demo|check|build|bench]" >&2
  exit 2
  ;;
esac

packages="build-essential autoconf automake libtool pkg-config
  collectd-core collectd-dev libcurl4-openssl-dev libyajl-dev
  libmicrohttpd-dev libcmocka-dev python3 socat ca-certificates perl man-db
  valgrind clang libclang-rt-14-dev
  libpython3.11 dpkg-dev debhelper debootstrap"
if [ "$what" = bench ]; then
  packages="$packages nginx-light wrk gnuplot-nox curl"
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing build and test packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
else
  echo "== not root (or no apt-get): assuming these are installed: $packages"
fi

echo "== building"
./autogen.sh >/dev/null 2>&1 || ./autogen.sh
./configure --enable-werror >/dev/null
make -j2

case "$what" in
demo) make demo ;;
bench) make bench ;;
check)
  status=0
  make -j2 check VERBOSE=1 || status=$?
  pass=$(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null || true)
  fail=$(sed -n 's/^# FAIL: *//p' test-suite.log 2>/dev/null || true)
  [ -f test-suite.log ] || { pass=0; fail=1; }
  echo "== fault-injection figures (tests/faults/test_faults.log)"
  grep -E '^[a-z0-9-]+: [0-9]+ notifications, ' tests/faults/test_faults.log ||
    true
  # Each further suite is one more test: it passes or fails as a whole.
  for suite in check-valgrind check-asan fuzz check-deb; do
    echo "== make $suite"
    if make "$suite"; then
      pass=$((${pass:-0} + 1))
    else
      fail=$((${fail:-0} + 1))
      status=1
      echo "== make $suite FAILED"
    fi
  done
  echo "${pass:-0} passed, ${fail:-0} failed"
  exit "$status"
  ;;
esac
