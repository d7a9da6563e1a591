#!/bin/sh
# Runs the libFuzzer targets of tests/fuzz one after the other (`make fuzz`,
# and briefly `make test`; docs/reliability.md, "Fuzzing"):
#   sh tests/fuzz/run.sh BUILD SECONDS TARGET...
# For each target: every file of tests/fuzz/corpus/TARGET (seeds and crash
# regressions) is replayed, then the target fuzzes for SECONDS, starting from
# that corpus and BUILD/corpus/TARGET (where new inputs are kept; the checked-in
# corpus is left alone). A crash leaves BUILD/crash-TARGET-<hash> and fails;
# add it to tests/fuzz/corpus/TARGET with the fix, as a regression
# (regress-* there).
# Sanitizer reports end a target with status 99 (ASAN_OPTIONS below).
set -eu
build=${1:?usage: sh tests/fuzz/run.sh BUILD SECONDS TARGET...}
seconds=${2:?usage: sh tests/fuzz/run.sh BUILD SECONDS TARGET...}
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
export ASAN_OPTIONS=exitcode=99:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=exitcode=99:print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# An input of a few kilobytes has no business allocating a gigabyte at once
# or running for seconds: both are reported as failures (out-of-memory,
# timeout), as a crash is.
limits="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024"
fail=0
for t in "$@"; do
    bin=$build/tests/fuzz/$t
    seeds=$root/tests/fuzz/corpus/$t
    [ -x "$bin" ] || { echo "fuzz: $bin is missing (make asan-build)"; exit 1; }
    mkdir -p "$build/corpus/$t"
    log=$build/fuzz-$t.log
    # Replay: each file once, no mutation.
    if ! "$bin" -runs=0 $limits "$seeds" >"$log" 2>&1; then
        echo "fuzz: $t FAILED replaying $seeds:"
        tail -40 "$log"
        fail=1
        continue
    fi
    if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 $limits \
        -artifact_prefix="$build/crash-$t-" "$build/corpus/$t" "$seeds" >"$log" 2>&1; then
        echo "fuzz: $t FAILED (log $log):"
        tail -40 "$log"
        fail=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    units=$(ls "$build/corpus/$t" "$seeds" | wc -l)
    echo "fuzz: $t: $runs executions in ${seconds} s, no crash; corpus $units files"
done
[ $fail -eq 0 ] && echo "fuzz: $# targets; $# passed, 0 failed" || exit 1
