#!/bin/sh
# The shared library exports the hrf_ API and nothing else (HRF_API with
# -fvisibility=hidden and src/hamrf.map), and every public header declares
# its functions with HRF_API inside extern "C" guards.
#   sh tests/check_api.sh path/to/libhamrf.so
set -eu
lib=$1
root=$(cd "$(dirname "$0")/.." && pwd)
fail=0
syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
[ -n "$syms" ] || { echo "check_api: no symbols in $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^hrf_' || true)
if [ -n "$bad" ]; then
    echo "check_api: $lib exports symbols outside the hrf_ API:"
    printf '  %s\n' $bad
    fail=1
fi
# A few symbols every binding needs must be there.
for s in hrf_version hrf_last_error hrf_model_load hrf_hnn_fit hrf_hgn_fit hrf_lstsq_solve \
         hrf_meta_json hrf_free hrf_model_type_hnn; do
    printf '%s\n' "$syms" | grep -qx "$s" || { echo "check_api: $s is not exported"; fail=1; }
done
# Private functions must not be.
for s in hrf_hnn_save_meta hrf_model_file_begin hrf_npz_open; do
    if printf '%s\n' "$syms" | grep -qx "$s"; then echo "check_api: private $s is exported"; fail=1; fi
done
for h in "$root"/include/hamrf/*.h; do
    case $h in */export.h) continue ;; esac
    grep -q 'extern "C"' "$h" || { echo "check_api: $h has no extern \"C\" guard"; fail=1; }
    grep -q 'cjson\|cJSON' "$h" && { echo "check_api: $h mentions cJSON"; fail=1; }
done
n=$(printf '%s\n' "$syms" | wc -l)
if [ $fail = 0 ]; then echo "check_api: $n symbols, all hrf_; 1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
