#!/usr/bin/env bash
# A Linux guest under QEMU (TCG) drives the library's virtio-blk and virtio-net models through
# vhost-user (xcv_vhost_backend):
#   blk: the guest reads a region the host wrote (md5 compared), writes a 32 MiB random pattern
#        with O_DIRECT, reads it back with O_DIRECT; the test compares the pattern's md5, the
#        read-back md5 and the md5 of the backing file's first 32 MiB. Reports dd's MB/s.
#   net: the guest pings 10.0.2.2 (small and full-size frames); the backend's model (with
#        MRG_RXBUF offered) answers ARP and ICMP echo requests.
#
#   guest_blk_net.sh BACKEND WORKDIR CACHEDIR      (exit 77 when a peer is missing)
set -uo pipefail
BACKEND=$1
WORK=$2
CACHE=$3
QEMU=$(command -v qemu-system-x86_64 || true)
BUSYBOX=$(command -v busybox || true)
CPIO=$(command -v cpio || true)
if [[ -z "$QEMU" || -z "$BUSYBOX" || -z "$CPIO" || ! -s "$CACHE/vmlinuz" ]]; then
    echo "SKIP: qemu-system-x86_64, busybox, cpio or the guest kernel is missing" \
         "(run scripts/setup-interop.sh)"
    exit 77
fi
MIB=32 # bytes the guest writes and reads back (MiB)
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover
         net_failover virtio_net virtio_blk)

rm -rf "$WORK"
mkdir -p "$WORK/root"/{bin,dev,proc,sys,tmp,lib}
BPID=""
QPID=""
cleanup() {
    [[ -n "$QPID" ]] && kill "$QPID" 2>/dev/null
    [[ -n "$BPID" ]] && kill "$BPID" 2>/dev/null
    wait 2>/dev/null
}
trap cleanup EXIT

# ---- the initramfs: busybox and an /init that runs the checks ----
cp "$BUSYBOX" "$WORK/root/bin/busybox"
for m in "${MODULES[@]}"; do
    cp "$CACHE/modules/$m.ko" "$WORK/root/lib/"
done
cat >"$WORK/root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${MODULES[*]}; do insmod /lib/\$m.ko; done
echo XCV-BOOTED
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
echo "XCV-VDA-SECTORS \$(cat /sys/block/vda/size)"
echo "XCV-HOSTREGION \$(dd if=/dev/vda bs=1M skip=48 count=4 iflag=direct 2>/dev/null | md5sum)"
# dd with O_DIRECT, timed with /proc/uptime (10 ms resolution): MB/s = MiB moved / seconds.
timed_dd() {
    t0=\$(cut -d' ' -f1 /proc/uptime)
    dd "\$@" bs=1M count=$MIB 2>/dev/null
    t1=\$(cut -d' ' -f1 /proc/uptime)
    awk -v a=\$t0 -v b=\$t1 'BEGIN { d = b - a; if (d <= 0) d = 0.01;
        printf "%d MiB in %.2f s = %.1f MB/s\\n", $MIB, d, $MIB * 1.048576 / d }'
}
dd if=/dev/urandom of=/tmp/pat bs=1M count=$MIB 2>/dev/null
echo "XCV-PATTERN \$(md5sum </tmp/pat)"
echo "XCV-WRITE \$(timed_dd if=/tmp/pat of=/dev/vda oflag=direct conv=fsync)"
echo "XCV-READ \$(timed_dd if=/dev/vda of=/tmp/back iflag=direct)"
echo "XCV-READBACK \$(md5sum </tmp/back)"
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
echo "XCV-PING \$(ping -c 10 -i 0.2 -W 5 10.0.2.2 2>&1 | grep 'packets transmitted')"
echo "XCV-PINGBIG \$(ping -c 5 -i 0.2 -W 5 -s 1472 10.0.2.2 2>&1 | grep 'packets transmitted')"
echo XCV-DONE
poweroff -f
EOF
chmod +x "$WORK/root/init"
(cd "$WORK/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$WORK/initrd.gz") || exit 1

# ---- the disk: sparse 64 MiB, with a host-written region at 32 MiB ----
DISK=$WORK/disk.img
truncate -s 64M "$DISK"
head -c 4M /dev/urandom >"$WORK/hostregion"
dd if="$WORK/hostregion" of="$DISK" bs=1M seek=48 conv=notrunc status=none
HOST_REGION_MD5=$(md5sum <"$WORK/hostregion" | cut -d' ' -f1)

# ---- the backend, then the guest ----
"$BACKEND" --net "$WORK/net.sock" --net-mode icmp --mrg --blk "$WORK/blk.sock" --disk "$DISK" \
    --timeout 110 --once --stats "$WORK/backend.stats" >"$WORK/backend.log" 2>&1 &
BPID=$!
for _ in $(seq 100); do
    [[ -S "$WORK/net.sock" && -S "$WORK/blk.sock" ]] && break
    sleep 0.05
done
t0=$(date +%s.%N)
timeout 100 "$QEMU" -M q35,memory-backend=mem -cpu max -smp 1 -m 512 -nographic -no-reboot \
    -object memory-backend-memfd,id=mem,size=512M,share=on \
    -kernel "$CACHE/vmlinuz" -initrd "$WORK/initrd.gz" \
    -append 'console=ttyS0 quiet panic=-1' \
    -chardev socket,id=c0,path="$WORK/net.sock" -netdev vhost-user,id=n0,chardev=c0 \
    -device virtio-net-pci,netdev=n0,vectors=0 \
    -chardev socket,id=c1,path="$WORK/blk.sock" \
    -device vhost-user-blk-pci,chardev=c1,num-queues=1 \
    >"$WORK/serial.log" 2>"$WORK/qemu.err" &
QPID=$!
wait "$QPID"
qrc=$?
QPID=""
t1=$(date +%s.%N)
# The backend exits by itself once both frontends have gone (--once); bound the wait.
for _ in $(seq 50); do
    kill -0 "$BPID" 2>/dev/null || break
    sleep 0.1
done
kill "$BPID" 2>/dev/null
wait "$BPID" 2>/dev/null
BPID=""

field() { grep -a "^$1 " "$WORK/serial.log" | head -1 | tr -d '\r' | cut -d' ' -f2-; }
stat_of() { grep "^$1=" "$WORK/backend.stats" 2>/dev/null | cut -d= -f2; }
fails=0
check() {
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

pattern=$(field XCV-PATTERN | cut -d' ' -f1)
readback=$(field XCV-READBACK | cut -d' ' -f1)
ondisk=$(head -c ${MIB}M "$DISK" | md5sum | cut -d' ' -f1)
hostregion=$(field XCV-HOSTREGION | cut -d' ' -f1)
echo "qemu exit $qrc, guest run $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s"
echo "guest: sectors $(field XCV-VDA-SECTORS)"
echo "guest: write: $(field XCV-WRITE)"
echo "guest: read:  $(field XCV-READ)"
echo "guest: ping:  $(field XCV-PING)"
echo "guest: ping -s 1472 (full-size frames): $(field XCV-PINGBIG)"
echo "md5: pattern $pattern, read back $readback, backing file $ondisk"
echo "md5: host region $HOST_REGION_MD5, guest read $hostregion"
echo "backend:"
sed 's/^/  /' "$WORK/backend.stats" 2>/dev/null
check "guest booted and finished" "grep -aq XCV-DONE '$WORK/serial.log'"
check "disk size seen by the guest (131072 sectors)" "[[ '$(field XCV-VDA-SECTORS)' == 131072 ]]"
check "guest reads what the host wrote" \
    "[[ -n '$hostregion' && '$hostregion' == '$HOST_REGION_MD5' ]]"
check "pattern read back equals pattern written" "[[ -n '$pattern' && '$pattern' == '$readback' ]]"
check "backing file holds the pattern" "[[ '$pattern' == '$ondisk' ]]"
check "blk requests completed without error" \
    "[[ '$(stat_of blk_requests)' -gt 0 && '$(stat_of blk_ioerr)' == 0 &&
        '$(stat_of blk_errors)' == 0 ]]"
check "ping answered" "field XCV-PING | grep -Eq ' [1-9][0-9]* packets received'"
check "full-size pings answered" "field XCV-PINGBIG | grep -Eq ' [1-9][0-9]* packets received'"
check "backend answered ARP and ICMP" \
    "[[ '$(stat_of net_arp_replies)' -gt 0 && '$(stat_of net_icmp_replies)' -gt 0 &&
        '$(stat_of net_errors)' == 0 ]]"
if [[ $fails -ne 0 ]]; then
    echo "---- serial (tail) ----"
    tail -30 "$WORK/serial.log" | tr -d '\r'
    echo "---- qemu stderr ----"
    tail -20 "$WORK/qemu.err"
    echo "---- backend log ----"
    tail -20 "$WORK/backend.log"
    exit 1
fi
echo "PASS"
