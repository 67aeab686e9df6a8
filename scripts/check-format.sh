#!/usr/bin/env bash
# Check that every C file follows .clang-format (no file is modified).
# Covers *.c and *.h under include/ src/ ports/ examples/ test/ (never build trees).
# To fix a file: clang-format -i <file>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
dirs=()
for d in include src ports examples test; do
    [[ -d "$d" ]] && dirs+=("$d")
done
mapfile -t FILES < <(find "${dirs[@]}" \( -name build -o -name 'build-*' \) -prune -o \
                          -type f \( -name '*.c' -o -name '*.h' \) -print | sort)
if [[ ${#FILES[@]} -eq 0 ]]; then
    echo "check-format: no C files"
    exit 0
fi

bad=()
for f in "${FILES[@]}"; do
    if ! "$CLANG_FORMAT" --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done

if [[ ${#bad[@]} -ne 0 ]]; then
    echo "check-format: ${#bad[@]} of ${#FILES[@]} files need clang-format:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "check-format: see the changes with: clang-format <file> | diff <file> -" >&2
    exit 1
fi
echo "check-format: all ${#FILES[@]} files are formatted"
