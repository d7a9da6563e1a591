#!/bin/sh
# The threaded paths under ThreadSanitizer (`make tsan`; docs/reliability.md,
# "Sanitizers"): the C tests that fit (OpenMP Gram and feature loops), evaluate
# models, compute Lennard-Jones forces and fit and evaluate the graph network,
# each with 2 OpenMP threads, in a clang build with -fsanitize=thread.
#   sh tests/tsan_run.sh BUILD
# OpenMP: the build links LLVM's libomp, and OMP_TOOL_LIBRARIES loads its TSan
# tool Archer (libomp-14-dev), which reports OpenMP's barriers, tasks and
# reductions to TSan; without it every parallel region shows false races.
# OpenBLAS is not instrumented: its own threads' memory accesses are invisible
# to TSan, so the BLAS calls are checked only at their boundaries.
set -eu
build=${1:?usage: sh tests/tsan_run.sh BUILD}
root=$(cd "$(dirname "$0")/.." && pwd)
archer=/usr/lib/llvm-14/lib/libarcher.so
[ -f "$archer" ] || { echo "tsan: $archer is missing (apt-get install libomp-14-dev)"; exit 1; }
export OMP_TOOL_LIBRARIES=$archer
export TSAN_OPTIONS="exitcode=99 halt_on_error=1 history_size=4 suppressions=$root/tests/tsan.supp"
cd "$build"
ctest --output-on-failure -j 2 -R \
    '^(test_hnn|test_odenet|test_models|test_hgn|test_hgn_fit|test_particles_systems|test_baseline|test_gd_hgn|test_correction)$'
