#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs tests/host/nt_host (the stand-in for collectd) with the plugin .so
# against a fresh tests/fake_supervisor, for `make check-asan`.
#
#   sh run-host.sh FAKE_SUPERVISOR NT_HOST PLUGIN_SO WORKDIR [nt_host options]
#
# Starts the fake supervisor on 127.0.0.1, port 0 (it writes the port it got
# to WORKDIR/supervisor.port), runs the host against it with the fake's
# request log, then stops the fake by its PID. Exits with the host's status
# (non-zero on any mismatch or sanitizer report), 2 on a set-up error.
# Every wait is bounded. ASAN_OPTIONS / UBSAN_OPTIONS come from the caller.
set -u
if [ $# -lt 4 ]; then
  echo "usage: $0 FAKE_SUPERVISOR NT_HOST PLUGIN_SO WORKDIR [options]" >&2
  exit 2
fi
fake=$1
host=$2
plugin=$3
dir=$4
shift 4

# The tasks nt_host.c configures (TaskID:secret:inputs), and its token.
task1=5f0c1a2b3c4d5e6f7a8b9c0d:\
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:0
task2=aaaaaaaaaaaaaaaaaaaaaaa1:\
1111111111111111111111111111111111111111111111111111111111111111:0
task3=bbbbbbbbbbbbbbbbbbbbbbb2:\
fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210:0

rm -rf "$dir"
mkdir -p "$dir" || exit 2
pid=
stop_fake() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
  fi
}
trap 'stop_fake' EXIT
trap 'exit 2' HUP INT TERM

"$fake" --port 0 --port-file "$dir/supervisor.port" \
  --log "$dir/supervisor.jsonl" --quiet \
  --task "$task1" --task "$task2" --task "$task3" \
  --customer acme --token tok-3f2a1b0c9d8e7f6a5b4c \
  >"$dir/supervisor.out" 2>&1 &
pid=$!

i=0
# fake_supervisor writes the port file aside and renames it: never half.
while [ ! -s "$dir/supervisor.port" ]; do
  if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 100 ]; then
    echo "run-host.sh: the fake supervisor did not start:" >&2
    cat "$dir/supervisor.out" >&2
    exit 2
  fi
  sleep 0.1
  i=$((i + 1))
done
port=$(cat "$dir/supervisor.port")

status=0
"$host" --plugin "$plugin" --url "http://127.0.0.1:$port" \
  --log "$dir/supervisor.jsonl" "$@" || status=$?
stop_fake
if [ $status -ne 0 ]; then
  echo "run-host.sh: nt_host failed (exit $status); kept $dir" >&2
fi
exit $status
