#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets for a bounded time each, on a copy of their seed
# corpus (the committed one never grows), and fails on any crash, leak,
# timeout, out-of-memory or sanitizer report. `make fuzz` calls it:
#
#   run-fuzz.sh SRCDIR BINDIR OUTDIR SECONDS JOBS TARGET...
#
# SRCDIR holds tests/fuzz/{corpus,dict,crashes}; BINDIR the fuzz_TARGET
# binaries; OUTDIR receives what a failure leaves (the reproducer,
# fuzz_TARGET-crash-..., and the whole log, fuzz_TARGET.log). JOBS targets
# run at once. One summary line per target:
#
#   fuzz_template: 123456 runs in 40 s, 0 crashes (cov 312, ft 1503, ...)

set -u

if [ $# -lt 6 ]; then
  echo "usage: $0 SRCDIR BINDIR OUTDIR SECONDS JOBS TARGET..." >&2
  exit 2
fi
srcdir=$1
bindir=$2
outdir=$3
seconds=$4
jobs=$5
shift 5

case $seconds in
'' | *[!0-9]*)
  echo "FUZZ_SECONDS must be a whole number of seconds" >&2
  exit 2
  ;;
esac
case $jobs in
'' | 0 | *[!0-9]*)
  echo "FUZZ_JOBS must be a positive whole number" >&2
  exit 2
  ;;
esac

fuzzdir=$srcdir/tests/fuzz
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nt-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$outdir" || exit 2

# Leaks are reported (libFuzzer's -detect_leaks too); UBSan stops at the
# first report with a stack.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

# The longest input worth trying, per target.
max_len() {
  case $1 in
  template) echo 4096 ;;    # a template and a notification's fields
  json) echo 8192 ;;        # a task's arguments
  response) echo 16384 ;;   # headers and a body (http.c keeps 64 KiB)
  config) echo 8192 ;;      # a configuration
  spool) echo 16384 ;;      # an entry
  *) echo 4096 ;;
  esac
}

run_one() {
  name=$1
  bin=$bindir/fuzz_$name
  log=$tmp/$name.log
  result=$tmp/$name.result
  corpus=$tmp/corpus-$name
  if [ ! -x "$bin" ]; then
    echo "fuzz_$name: no binary $bin (run make fuzz-build)" >"$result"
    echo 1 >"$tmp/$name.status"
    return
  fi
  mkdir -p "$corpus"
  seeds=0
  for f in "$fuzzdir/corpus/$name"/* "$fuzzdir/crashes/$name"-*; do
    if [ -f "$f" ]; then
      cp "$f" "$corpus/" && seeds=$((seeds + 1))
    fi
  done
  dict=
  if [ -f "$fuzzdir/dict/$name.dict" ]; then
    dict=-dict=$fuzzdir/dict/$name.dict
  fi
  rm -f "$outdir/fuzz_$name.log"
  start=$(date +%s)
  # TMPDIR: what a target creates (fuzz_config's files) goes with $tmp.
  TMPDIR=$tmp "$bin" -max_total_time="$seconds" -max_len="$(max_len "$name")" \
    -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$outdir/fuzz_$name-" ${dict:+"$dict"} "$corpus" \
    >"$log" 2>&1
  rc=$?
  end=$(date +%s)

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -a -E '^#[0-9]+[[:space:]]+DONE ' "$log" | tail -n 1)
  cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  crashes=$(grep -a -c 'Test unit written to' "$log")
  reports=$(grep -a -c -E 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|check failed:' "$log")
  [ -n "$runs" ] || runs=$(echo "$done_line" | sed -n 's/^#\([0-9]*\).*/\1/p')

  status=0
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$reports" -ne 0 ]; then
    status=1
    [ "$crashes" -ne 0 ] || crashes=1
  fi
  if [ "$crashes" -eq 1 ]; then
    what="1 crash"
  else
    what="$crashes crashes"
  fi
  {
    echo "fuzz_$name: ${runs:-0} runs in $((end - start)) s, $what" \
      "(cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} inputs from $seeds seeds)"
    if [ "$status" -ne 0 ]; then
      cp "$log" "$outdir/fuzz_$name.log"
      echo "fuzz_$name: FAILED (exit status $rc); the report:"
      grep -a -v -E '^(#[0-9]+|INFO:|"|###### )' "$log" | tail -n 60 |
        sed 's/^/  | /'
      echo "fuzz_$name: whole log in $outdir/fuzz_$name.log;" \
        "reproduce with: $bin FILE (NT_FUZZ_LOG=1 prints the log lines)"
    fi
  } >"$result"
  echo "$status" >"$tmp/$name.status"
}

# Batches of JOBS targets at once; each target's lines come out together.
failed=0
set -- "$@" ""
while [ -n "$1" ]; do
  batch=
  n=0
  while [ -n "$1" ] && [ "$n" -lt "$jobs" ]; do
    batch="$batch $1"
    n=$((n + 1))
    shift
  done
  for name in $batch; do
    if [ "$jobs" -eq 1 ]; then
      run_one "$name"
    else
      run_one "$name" &
    fi
  done
  wait
  for name in $batch; do
    cat "$tmp/$name.result"
    [ "$(cat "$tmp/$name.status")" -eq 0 ] || failed=$((failed + 1))
  done
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: $failed target(s) failed" >&2
  exit 1
fi
exit 0
