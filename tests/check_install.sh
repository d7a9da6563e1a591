#!/bin/sh
# `make install` works: install the build into a temporary prefix, then use all
# four things installed from another directory: the tool, the headers and
# library through pkg-config (a C program built and run), and the Python package
# (/usr/bin/python3 imports it and fits a model).
#   sh tests/check_install.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_install: $*"; echo "0 passed, 1 failed"; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "cmake --install failed"; }
p=$tmp/prefix
lib=$(ls -d "$p"/lib*/libhamrf.so "$p"/lib/*/libhamrf.so 2>/dev/null | head -1)
[ -n "$lib" ] || fail "no libhamrf.so under $p"
libdir=$(dirname "$lib")
[ -x "$p/bin/hamrf" ] || fail "no bin/hamrf"
[ -f "$p/include/hamrf.h" ] && [ -f "$p/include/hamrf/version.h" ] || fail "headers missing"
cd "$tmp"
"$p/bin/hamrf" --version | grep -q '^hamrf ' || fail "the installed tool does not run"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs hamrf) || fail "pkg-config does not know hamrf"
cat >"$tmp/use.c" <<'CEOF'
#include <hamrf.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    const hrf_model_type *t = NULL;
    if (hrf_model_type_find("hnn", &t) != HRF_OK || strcmp(hrf_version(), HRF_VERSION_STRING))
        return 1;
    printf("%s %s\n", hrf_version(), t->name);
    return 0;
}
CEOF
# shellcheck disable=SC2086
cc -std=c11 -o "$tmp/use" "$tmp/use.c" $flags || fail "a C program does not build with pkg-config's flags"
LD_LIBRARY_PATH="$libdir" "$tmp/use" | grep -q ' hnn$' || fail "the C program does not run"
pydir=$(ls -d "$p"/lib/python3*/dist-packages 2>/dev/null | head -1)
[ -f "$pydir/hamrf/__init__.py" ] || fail "no Python package under $p/lib/python3*/dist-packages"
env -u HAMRF_LIB PYTHONPATH="$pydir" /usr/bin/python3 -c "
import hamrf, os
assert os.path.realpath(hamrf._lib.lib_path).startswith(os.path.realpath('$p')), hamrf._lib.lib_path
# width 200 on 2000 spring points: test gradient error 3.9e-6 measured; 1e-4 leaves
# margin, a broken install (wrong library, wrong layout) fails at import or gives O(1)
m = hamrf.HNN(width=200).fit(hamrf.systems.generate('spring', n=2000))
print(hamrf.version(), m.errors(hamrf.systems.generate('spring', n=500, seed=2))['rel_l2_grad'] < 1e-4)
" | grep -q ' True$' || fail "the installed Python package does not import or fit"
echo "check_install: tool, pkg-config + C program, Python package from $p; 1 passed, 0 failed"
