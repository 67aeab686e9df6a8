#!/usr/bin/env bash
# Install what the vhost-user interoperability tests (ctest label 'interop') need, Debian 12:
#
#   dpdk, dpdk-dev          dpdk-testpmd with net_virtio_user (frontend) and net_vhost (backend)
#   qemu-system-x86         a Linux guest under TCG with vhost-user net and blk
#   qemu-system-common      qemu-storage-daemon (vhost-user-blk export)
#   qemu-utils
#   busybox-static, cpio    the guest's initramfs
#   the cloud kernel        fetched with apt-get download and unpacked with dpkg-deb -x (no
#                           install hooks): its vmlinuz and the virtio modules
#
#   bash scripts/setup-interop.sh [DIR]     DIR defaults to build/interop-cache
#
# Idempotent: when everything is there it only checks. Afterwards DIR holds vmlinuz and
# modules/*.ko (flat), which the tests find through the CMake cache variable XCV_INTEROP_CACHE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR=${1:-$PWD/build/interop-cache}

PACKAGES=(dpdk dpdk-dev qemu-system-x86 qemu-system-common qemu-utils busybox-static cpio)
# Guest modules, in load order (there is no modules.dep in the package).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover
         net_failover virtio_net virtio_blk)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        SUDO=(false)
    fi
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup-interop: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup-interop: all ${#PACKAGES[@]} packages are installed"
fi

have_kernel() {
    [[ -s "$DIR/vmlinuz" ]] || return 1
    for m in "${MODULES[@]}"; do
        [[ -s "$DIR/modules/$m.ko" ]] || return 1
    done
}

if have_kernel; then
    echo "setup-interop: guest kernel and modules in $DIR"
    exit 0
fi

# The cloud flavour's versioned package name changes with updates: ask the meta package.
resolve() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve)
if [[ -z "$pkg" ]]; then
    "${SUDO[@]}" apt-get update -q >/dev/null
    pkg=$(resolve)
fi
if [[ -z "$pkg" ]]; then
    echo "setup-interop: cannot resolve linux-image-cloud-amd64 (run apt-get update?)" >&2
    exit 1
fi
echo "setup-interop: fetching $pkg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/dl"
# apt-get download drops privileges to _apt: let that user write the download folder.
if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
    chmod 755 "$work"
    chown _apt "$work/dl"
fi
(cd "$work/dl" && apt-get download -q "$pkg" >/dev/null)
deb=$(find "$work/dl" -name '*.deb' | head -1)
dpkg-deb -x "$deb" "$work/root"
mkdir -p "$DIR/modules"
cp "$(find "$work/root/boot" -name 'vmlinuz-*' | head -1)" "$DIR/vmlinuz"
for m in "${MODULES[@]}"; do
    f=$(find "$work/root/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
    if [[ -z "$f" ]]; then
        echo "setup-interop: module $m not found in $pkg" >&2
        exit 1
    fi
    case "$f" in
    *.xz) xz -dc "$f" >"$DIR/modules/$m.ko" ;;
    *) cp "$f" "$DIR/modules/$m.ko" ;;
    esac
done
echo "$pkg" >"$DIR/kernel-package"
echo "setup-interop: $pkg unpacked into $DIR"
