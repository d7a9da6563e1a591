#!/bin/sh
# The threaded paths under ThreadSanitizer (`make tsan`, part of `make test`;
# docs/reliability.md, "Sanitizers"): the C tests that fit (the OpenMP Gram,
# feature and gradient loops), evaluate models, compute Lennard-Jones forces
# with cell lists and fit and evaluate the graph network, each with 2 OpenMP
# threads, in a clang build configured with -DHAMRF_SANITIZE=thread.
#   sh tests/tsan_run.sh BUILD [JOBS]
# OpenMP: clang links LLVM's libomp, and OMP_TOOL_LIBRARIES loads its TSan
# tool Archer (libomp-14-dev), which tells TSan about OpenMP's barriers,
# reductions and locks. libomp and OpenBLAS are not instrumented: TSan cannot
# see their internal synchronisation (atomics), only their calls to functions
# it intercepts (pthread_mutex_*, memset), which makes false races inside them;
# ignore_noninstrumented_modules=1 leaves those calls out, so what is checked is
# every memory access of hamrf's own code. A self-test first shows that this
# setup reports a planted race in an OpenMP loop and passes the clean one
# (tests/tsan_selftest.c). gcc's libgomp has no TSan support: with it the clean
# self-test reports races (docs/reliability.md).
set -eu
build=${1:?usage: sh tests/tsan_run.sh BUILD [JOBS]}
jobs=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
tests="test_hnn test_odenet test_models test_hgn test_hgn_fit test_particles_systems \
test_baseline test_gd_hgn test_correction test_threads test_particles_md"
archer=/usr/lib/llvm-14/lib/libarcher.so
[ -f "$archer" ] || { echo "tsan: $archer is missing (apt-get install libomp-14-dev)"; exit 1; }
export OMP_TOOL_LIBRARIES=$archer
export TSAN_OPTIONS="exitcode=99 halt_on_error=1 history_size=4 ignore_noninstrumented_modules=1 \
suppressions=$root/tests/tsan.supp"

# The self-test: the clean program passes, the planted race is reported (99).
for v in clean racy; do
    def=""
    [ $v = racy ] && def=-DRACY
    clang -O1 -g -fsanitize=thread -fopenmp $def "$root/tests/tsan_selftest.c" \
        -o "$build/tsan_selftest_$v"
done
if ! "$build/tsan_selftest_clean" >"$build/tsan_selftest.log" 2>&1; then
    echo "tsan: the clean OpenMP self-test reports a race (false positive):"
    cat "$build/tsan_selftest.log"
    exit 1
fi
rc=0
"$build/tsan_selftest_racy" >"$build/tsan_selftest.log" 2>&1 || rc=$?
if [ $rc -ne 99 ]; then
    echo "tsan: the planted race of the self-test was not reported (exit $rc)"
    exit 1
fi
echo "tsan: self-test: planted race reported, clean OpenMP loop silent"

# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $tests
cd "$build"
ctest --output-on-failure -j "$jobs" -R "^($(echo $tests | tr ' ' '|'))\$"
