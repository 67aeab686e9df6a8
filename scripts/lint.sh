#!/usr/bin/env bash
# Static analysis of the library and the ports: cppcheck, then clang-tidy (.clang-tidy).
# Exits non-zero on any finding. clang-tidy uses the compile commands of the build trees:
#   build/host     src/ and ports/linux/      (configured here if missing)
#   build/aarch64  ports/armv8/, ports/common/ (when that build exists)
#   build/riscv    ports/riscv/, ports/common/ (when that build exists)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBS=$(nproc 2>/dev/null || echo 2)
mapfile -t FILES < <(find src ports -name '*.c' -type f 2>/dev/null | sort)
if [[ ${#FILES[@]} -eq 0 ]]; then
    echo "lint: no C sources under src/ or ports/"
    exit 0
fi
status=0

echo "== cppcheck (${#FILES[@]} files)"
if ! cppcheck --quiet --std=c11 --language=c \
        --enable=warning,performance,portability \
        --error-exitcode=1 --inline-suppr \
        --suppress=missingIncludeSystem \
        -I include -I src \
        "${FILES[@]}"; then
    echo "lint: cppcheck reported findings" >&2
    status=1
fi

echo "== prefetch hints"
# GCC deletes calls to a helper made only of loads and __builtin_prefetch() (it finds no side
# effect); the library's hints go through src/common/prefetch.h, whose instructions stay.
if grep -rn '__builtin_prefetch' src ports --include='*.c' --include='*.h' |
        grep -v '^src/common/prefetch.h:'; then
    echo "lint: use xcv_prefetch_read()/xcv_prefetch_write() (src/common/prefetch.h)" >&2
    status=1
fi

echo "== clang-tidy"
if [[ ! -f build/host/compile_commands.json ]]; then
    cmake --preset host >/dev/null
fi

# Files of one compile database that lie under the given folders (paths relative to the repo).
db_files() {
    local db=$1
    shift
    python3 - "$db" "$PWD" "$@" <<'PY'
import json, os, sys
db, root, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = set()
for entry in json.load(open(db)):
    path = os.path.relpath(os.path.join(entry["directory"], entry["file"]), root)
    if path.endswith(".c") and any(path.startswith(p + "/") for p in prefixes) \
            and path not in seen:
        seen.add(path)
        print(path)
PY
}

# clang rejects a few gcc-only flags of the cross builds (-misa-spec=): clang-tidy reads a copy
# of the compile database without them, in <build>/tidy-db/. Prints that folder.
tidy_db() {
    local builddir=$1
    mkdir -p "$builddir/tidy-db"
    python3 - "$builddir/compile_commands.json" "$builddir/tidy-db/compile_commands.json" <<'PY'
import json, re, sys
db = json.load(open(sys.argv[1]))
for entry in db:
    if "command" in entry:
        entry["command"] = re.sub(r"\s-misa-spec=\S+", "", entry["command"])
    if "arguments" in entry:
        entry["arguments"] = [a for a in entry["arguments"] if not a.startswith("-misa-spec=")]
json.dump(db, open(sys.argv[2], "w"), indent=1)
PY
    echo "$builddir/tidy-db"
}

declare -A LINTED=()
run_tidy() {
    local builddir=$1 extra=$2
    shift 2
    local files
    mapfile -t files < <(db_files "$builddir/compile_commands.json" "$@")
    [[ ${#files[@]} -eq 0 ]] && return 0
    local f
    for f in "${files[@]}"; do LINTED[$f]=1; done
    echo "   ${#files[@]} files from $builddir"
    local args=(-p "$(tidy_db "$builddir")" --quiet)
    [[ -n "$extra" ]] && args+=("--extra-arg=$extra")
    if ! printf '%s\n' "${files[@]}" |
            xargs -P "$JOBS" -n 1 clang-tidy "${args[@]}" 2>/dev/null; then
        status=1
    fi
}

run_tidy build/host "" src ports/linux
if [[ -f build/aarch64/compile_commands.json ]]; then
    run_tidy build/aarch64 --target=aarch64-none-elf ports/armv8 ports/common
fi
if [[ -f build/riscv/compile_commands.json ]]; then
    run_tidy build/riscv --target=riscv64-unknown-elf ports/riscv ports/common
fi
for f in "${FILES[@]}"; do
    if [[ -z "${LINTED[$f]:-}" ]]; then
        echo "lint: warning: $f is in no compile database; clang-tidy skipped it" >&2
    fi
done

if [[ $status -ne 0 ]]; then
    echo "lint: FAILED" >&2
else
    echo "lint: clean"
fi
exit $status
