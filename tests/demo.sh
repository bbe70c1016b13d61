#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo: a real collectd with the plugin and a threshold that fires,
# against the fake supervisor on 127.0.0.1, for a few seconds.
# Run from the build directory (make demo). DEMO_PLUGIN_DIR (default: the
# build's .libs) and DEMO_SUPERVISOR (default: the build's
# tests/fake_supervisor) let tests/package/test-deb.sh run it against an
# installed plugin.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(pwd)
seconds=${DEMO_SECONDS:-6}
plugindir=${DEMO_PLUGIN_DIR:-$build/.libs}
supervisor=${DEMO_SUPERVISOR:-$build/tests/fake_supervisor}
collectd=$(command -v collectd || echo /usr/sbin/collectd)
work=$(mktemp -d /tmp/notify_theeye-demo.XXXXXX)
sup_pid= cd_pid=
finish() {
  [ -n "$cd_pid" ] && kill "$cd_pid" 2>/dev/null && wait "$cd_pid" 2>/dev/null
  [ -n "$sup_pid" ] && kill "$sup_pid" 2>/dev/null && wait "$sup_pid" 2>/dev/null
  rm -rf "$work"
}
trap finish EXIT INT TERM

"$supervisor" --port 0 --port-file "$work/port" \
  --log "$work/requests.jsonl" --print-jobs --customer demo \
  --task 5f0c1a2b3c4d5e6f7a8b9c0d:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:4 &
sup_pid=$!
i=0
while [ ! -s "$work/port" ]; do
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "fake supervisor did not start" >&2; exit 1; }
  sleep 0.1
done
port=$(cat "$work/port")

sed -e "s|@WORKDIR@|$work|g" -e "s|@PORT@|$port|g" \
  -e "s|@PLUGINDIR@|$plugindir|g" "$top/conf/demo.conf" >"$work/collectd.conf"
echo "== fake TheEye supervisor on http://127.0.0.1:$port; collectd runs for $seconds s"
"$collectd" -f -C "$work/collectd.conf" >"$work/collectd.out" 2>&1 &
cd_pid=$!
sleep "$seconds"
kill "$cd_pid"
wait "$cd_pid" || true
cd_pid=
echo "== what the plugin logged:"
grep 'notify_theeye plugin:' "$work/collectd.log" || true
jobs=$(grep -c '"job_id"' "$work/requests.jsonl" 2>/dev/null || true)
echo "== the supervisor created ${jobs:-0} job(s)"
[ "${jobs:-0}" -gt 0 ]
