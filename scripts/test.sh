#!/usr/bin/env bash
# The test command: installs the dependencies, then builds and checks everything.
#
#   bash scripts/test.sh              every step below
#   bash scripts/test.sh host lint    only the named steps (dependencies are always checked)
#
# Steps: host (Debug build + ctest, without bench/soak), asan (ASan+UBSan build + ctest, without
# stress/bench/soak), fuzz (clang + libFuzzer, ctest -L fuzz; only when test/fuzz exists),
# aarch64 and riscv (bare-metal library builds + a freestanding symbol check), docs (Doxygen,
# warnings are errors), lint (cppcheck + clang-tidy), format (clang-format check), install
# (cmake --install + an outside CMake project + a pkg-config build), interop (vhost-user against
# DPDK testpmd and a Linux guest under QEMU: installs the peers with scripts/setup-interop.sh,
# builds build/interop with XCV_INTEROP_TESTS=ON, runs ctest -L interop within 10 minutes).
# Every step runs even if an earlier one failed; the summary at the end lists them all and the
# exit status is non-zero if any failed. Logs: build/test-logs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)
LOGDIR=$ROOT/build/test-logs
ALL_STEPS=(host asan fuzz aarch64 riscv docs lint format install interop)

if [[ $# -gt 0 ]]; then
    STEPS=("$@")
    for s in "${STEPS[@]}"; do
        if [[ ! " ${ALL_STEPS[*]} " =~ " $s " ]]; then
            echo "test.sh: unknown step '$s' (steps: ${ALL_STEPS[*]})" >&2
            exit 2
        fi
    done
else
    STEPS=("${ALL_STEPS[@]}")
fi

bash scripts/setup-deps.sh
mkdir -p "$LOGDIR"

# ---- steps ------------------------------------------------------------------------------------
configure_build() {
    local preset=$1
    cmake --preset "$preset" >"$LOGDIR/configure-$preset.log" 2>&1 ||
        { cat "$LOGDIR/configure-$preset.log"; return 1; }
    cmake --build --preset "$preset" -j "$JOBS"
}

run_ctest() {
    local preset=$1
    shift
    ctest --preset "$preset" -j "$JOBS" "$@" 2>&1 | tee "$LOGDIR/ctest-$preset.log"
}

step_host() {
    configure_build host
    run_ctest host
}

step_asan() {
    configure_build asan
    run_ctest asan
}

step_fuzz() {
    if [[ ! -f test/fuzz/CMakeLists.txt ]]; then
        echo "no test/fuzz/CMakeLists.txt: nothing to fuzz"
        return 0
    fi
    configure_build fuzz
    run_ctest fuzz
}

# The core must stay freestanding: besides compiler runtime helpers (__*), the only external
# symbols it may use are memcpy, memset, memmove and memcmp.
check_freestanding() {
    local lib=$1 nm=$2
    local undef bad
    # Undefined in some member and defined in none: what the archive needs from outside.
    undef=$(comm -23 <("$nm" -u "$lib" | awk '$1 == "U" { print $2 }' | sort -u) \
                     <("$nm" --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u))
    bad=$(grep -Ev '^(memcpy|memset|memmove|memcmp|__.*)$' <<<"$undef" | grep -v '^$' || true)
    if [[ -n "$bad" ]]; then
        echo "$lib uses symbols a freestanding core must not:" $bad >&2
        return 1
    fi
    echo "$lib: freestanding; external symbols:" ${undef:-none}
}

step_aarch64() {
    configure_build aarch64
    check_freestanding build/aarch64/libxcvirtio.a aarch64-linux-gnu-nm
    aarch64-linux-gnu-size -t build/aarch64/libxcvirtio.a | tail -1
    # The two-compartment images under qemu-system-aarch64 (label qemu-armv8).
    ctest --test-dir build/aarch64 -L qemu-armv8 -j "$JOBS" --output-on-failure 2>&1 |
        tee "$LOGDIR/ctest-aarch64.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]]
}

step_riscv() {
    configure_build riscv
    check_freestanding build/riscv/libxcvirtio.a riscv64-unknown-elf-nm
    riscv64-unknown-elf-size -t build/riscv/libxcvirtio.a | tail -1
    # The two-compartment images under qemu-system-riscv64, M-mode and S-mode (label qemu-riscv).
    ctest --test-dir build/riscv -L qemu-riscv -j "$JOBS" --output-on-failure 2>&1 |
        tee "$LOGDIR/ctest-riscv.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]]
}

step_docs() {
    [[ -f build/host/build.ninja ]] || cmake --preset host >/dev/null
    cmake --build --preset host --target docs
    echo "HTML: build/host/docs/html/index.html"
}

step_lint() {
    bash scripts/lint.sh
}

step_format() {
    bash scripts/check-format.sh
}

step_install() {
    local work=$ROOT/build/install-check
    rm -rf "$work"
    [[ -f build/host/build.ninja ]] || cmake --preset host >/dev/null
    cmake --build --preset host -j "$JOBS" --target xcvirtio
    cmake --install build/host --prefix "$work/prefix" >/dev/null
    echo "-- CMake package (find_package(xcvirtio CONFIG))"
    cmake -S test/install-consumer -B "$work/consumer" -G Ninja \
        -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    cmake --build "$work/consumer"
    "$work/consumer/xcv_consumer"
    echo "-- pkg-config"
    local pcdir
    pcdir=$(dirname "$(find "$work/prefix" -name xcvirtio.pc | head -1)")
    local flags
    flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs xcvirtio)
    echo "pkg-config --cflags --libs xcvirtio: $flags"
    # shellcheck disable=SC2086  # flags are words
    cc -std=c11 -Wall -Wextra -Werror test/install-consumer/main.c $flags -o "$work/pc_consumer"
    "$work/pc_consumer"
}

step_interop() {
    bash scripts/setup-interop.sh "$ROOT/build/interop-cache"
    cmake -S . -B build/interop -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXCV_BUILD_TESTS=ON \
        -DXCV_BUILD_EXAMPLES=OFF -DXCV_BUILD_DOCS=OFF -DXCV_INTEROP_TESTS=ON \
        -DXCV_INTEROP_CACHE="$ROOT/build/interop-cache" >"$LOGDIR/configure-interop.log" 2>&1 ||
        { cat "$LOGDIR/configure-interop.log"; return 1; }
    cmake --build build/interop -j "$JOBS"
    timeout 600 ctest --test-dir build/interop -L interop --verbose 2>&1 |
        tee "$LOGDIR/ctest-interop.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]]
}

# ---- runner -----------------------------------------------------------------------------------
declare -a R_NAME=() R_STATUS=() R_TIME=()
overall=0
t_start=$SECONDS
for s in "${STEPS[@]}"; do
    echo
    echo "==================== $s ===================="
    t0=$SECONDS
    rm -f "$LOGDIR/ctest-$s.log"
    set +e
    ( set -e; "step_$s" ) 2>&1 | tee "$LOGDIR/step-$s.log"
    rc=${PIPESTATUS[0]}
    set -e
    R_NAME+=("$s")
    R_TIME+=($((SECONDS - t0)))
    if [[ $rc -eq 0 ]]; then
        R_STATUS+=("ok")
    else
        R_STATUS+=("FAILED (exit $rc)")
        overall=1
    fi
done

echo
echo "==================== summary ===================="
for i in "${!R_NAME[@]}"; do
    printf '  %-8s %-18s %4ss\n' "${R_NAME[$i]}" "${R_STATUS[$i]}" "${R_TIME[$i]}"
done
echo "  total time: $((SECONDS - t_start))s; logs in build/test-logs/"
for s in "${STEPS[@]}"; do
    log=$LOGDIR/ctest-$s.log
    [[ " host asan fuzz interop " =~ " $s " && -f $log ]] || continue
    echo
    echo "-- ctest $s:"
    grep -E 'tests passed|tests failed|The following tests|^[[:space:]]+[0-9]+ - |No tests were found' \
        "$log" || echo "   (no ctest summary: see $log)"
done
if [[ $overall -ne 0 ]]; then
    echo
    echo "test.sh: FAILED"
else
    echo
    echo "test.sh: all steps passed"
fi
exit $overall
