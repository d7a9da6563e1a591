#!/bin/sh
# Installs the Debian packages hamrf needs that this machine lacks.
# Idempotent and quiet: a no-op when everything is present; runs `apt-get update`
# at most once, and only when something is missing. See docs/architecture.md.
# `bootstrap.sh --bench` also installs what only the benchmarks use (PyTorch, the peer
# of bench/bench_adam_step.py, bench_hgn_step.py and bench_neurips_hgnn.py); `make test`
# and `make run` never need it. `make test` also builds with clang (the sanitizer build
# and the libFuzzer targets, docs/reliability.md): clang, libclang-rt-14-dev (the
# sanitizer and libFuzzer runtimes; only recommended by clang, so named here) and
# libomp-14-dev (LLVM's OpenMP, which clang's -fopenmp needs; its Archer tool lets
# ThreadSanitizer see OpenMP's synchronisation in `make tsan`).
set -eu

PACKAGES="build-essential cmake pkg-config libopenblas-dev liblapacke-dev libzip-dev \
libcjson-dev libcmocka-dev python3-numpy python3-pytest python3-matplotlib clang-format lammps \
libopenmpi-dev openmpi-bin clang libclang-rt-14-dev libomp-14-dev"
if [ "${1:-}" = "--bench" ]; then
    PACKAGES="$PACKAGES python3-torch"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "bootstrap: installing missing Debian packages:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "bootstrap: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "bootstrap: installing$missing failed (see the apt-get output above)" >&2
    exit 1
fi
rm -f "$log"
