#!/bin/sh
# Every C source and header is formatted as the checked-in .clang-format says
# (`make format` applies it). Lists the files that are not, with the first
# differing lines, and fails.
#   sh tests/check_format.sh [ROOT]
set -eu
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
command -v clang-format >/dev/null 2>&1 || {
    echo "check_format: clang-format is missing (scripts/bootstrap.sh installs it)"
    exit 1
}
files=$(ls include/hamrf.h include/hamrf/*.h src/*/*.c src/*/*.h cli/*.c cli/*.h tests/*.c tests/*.h \
    tests/*.cpp tests/fuzz/*.c tests/fuzz/*.h bench/*.c 2>/dev/null)
bad=0
n=0
for f in $files; do
    n=$((n + 1))
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
        echo "check_format: $f is not formatted (make format):"
        clang-format --style=file "$f" | diff "$f" - | head -8 || true
        bad=$((bad + 1))
    fi
done
if [ $bad -gt 0 ]; then
    echo "check_format: $bad of $n files need 'make format'"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "check_format: $n files formatted; 1 passed, 0 failed"
