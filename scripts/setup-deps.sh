#!/usr/bin/env bash
# Install everything the build, the tests and the demo need (Debian 12).
# Idempotent: when every package is already installed it only checks, and returns at once.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libcmocka-dev libfdt-dev device-tree-compiler
    doxygen cppcheck clang clang-tidy clang-format libclang-rt-14-dev
    gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu
    gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf
    qemu-system-arm qemu-system-misc linux-source-6.1
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

echo "setup-deps: installing ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
    exit 1
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "setup-deps: not root and no sudo; install by hand: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
