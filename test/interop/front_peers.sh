#!/usr/bin/env bash
# The library's vhost-user frontend (driver-role rings, xcv_vhost_front) against real backends:
#   blk: qemu-storage-daemon's vhost-user-blk export over a 64 MiB image: 16 MiB pattern written
#        and read back by the frontend; the image must hold the pattern byte for byte.
#   net: DPDK's net_vhost0 with testpmd in macswap mode: frames sent on the transmit ring come
#        back on the receive ring, each one checked; testpmd's RX and TX totals must match.
# Reports MB/s and packets/s.
#
#   front_peers.sh FRONT WORKDIR      (exit 77 when qemu-storage-daemon or dpdk-testpmd is missing)
set -uo pipefail
FRONT=$1
WORK=$2
QSD=$(command -v qemu-storage-daemon || true)
TESTPMD=$(command -v dpdk-testpmd || true)
if [[ -z "$QSD" || -z "$TESTPMD" ]]; then
    echo "SKIP: qemu-storage-daemon or dpdk-testpmd is missing (run scripts/setup-interop.sh)"
    exit 77
fi
rm -rf "$WORK"
mkdir -p "$WORK"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do
        pkill -KILL -P "$p" 2>/dev/null
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
}
trap cleanup EXIT
fails=0
check() {
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
wait_sock() {
    for _ in $(seq 100); do
        [[ -S "$1" ]] && return 0
        sleep 0.05
    done
    return 1
}
stop() { # PID of a `timeout` wrapper: SIGINT (forwarded), bounded wait, then SIGKILL to both
    kill -INT "$1" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    pkill -KILL -P "$1" 2>/dev/null
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
val() { grep "^$2=" "$1" | cut -d= -f2; }

# ---- blk: qemu-storage-daemon ----
truncate -s 64M "$WORK/disk.img"
EXPORT="type=vhost-user-blk,id=e0,node-name=f,writable=on"
EXPORT+=",addr.type=unix,addr.path=$WORK/blk.sock"
timeout 60 "$QSD" --blockdev driver=file,node-name=f,filename="$WORK/disk.img" \
    --export "$EXPORT" >"$WORK/qsd.log" 2>&1 &
QPID=$!
PIDS+=("$QPID")
wait_sock "$WORK/blk.sock" || echo "qemu-storage-daemon did not start"
timeout 60 "$FRONT" --blk "$WORK/blk.sock" --mib 16 --pattern "$WORK/pattern" >"$WORK/blk.out" 2>&1
brc=$?
stop "$QPID"
echo "blk against qemu-storage-daemon:"
sed 's/^/  /' "$WORK/blk.out"
check "blk: frontend wrote, read back and compared 16 MiB" "[[ $brc -eq 0 ]]"
check "blk: capacity from GET_CONFIG (131072 sectors)" \
    "[[ '$(val "$WORK/blk.out" front_capacity_sectors)' == 131072 ]]"
check "blk: the image holds the pattern" "cmp -s <(head -c 16M '$WORK/disk.img') '$WORK/pattern'"

# ---- net: testpmd with net_vhost0 (the backend), macswap ----
# timeout: a safety net should this script be killed (SIGINT and SIGTERM are forwarded).
timeout -s INT 90 "$TESTPMD" -l 0,1 --main-lcore 0 --no-huge -m 256 --no-pci \
    --file-prefix="xcvfp$$" --vdev "net_vhost0,iface=$WORK/net.sock,queues=1" -- \
    --forward-mode=macswap \
    --stats-period 1 --total-num-mbufs=8192 --auto-start >"$WORK/testpmd.log" 2>&1 &
TPID=$!
PIDS+=("$TPID")
wait_sock "$WORK/net.sock" || echo "testpmd did not create its socket"
PIN0=()
command -v taskset >/dev/null && PIN0=(taskset -c 0)
timeout 60 "${PIN0[@]}" "$FRONT" --net "$WORK/net.sock" --frames 200000 --seconds 20 \
    >"$WORK/net.out" 2>&1
nrc=$?
sleep 0.5
stop "$TPID"
rm -rf "/var/run/dpdk/xcvfp$$" 2>/dev/null
rx=$(grep -A3 'Accumulated forward statistics' "$WORK/testpmd.log" | grep -o 'RX-packets: *[0-9]*' |
     grep -o '[0-9]*$')
tx=$(grep -A3 'Accumulated forward statistics' "$WORK/testpmd.log" | grep -o 'TX-packets: *[0-9]*' |
     grep -o '[0-9]*$')
echo "net against DPDK net_vhost0 (testpmd macswap): testpmd RX ${rx:-?} TX ${tx:-?}"
sed 's/^/  /' "$WORK/net.out"
check "net: every frame came back intact (>= 95%, none bad)" "[[ $nrc -eq 0 ]]"
check "net: testpmd forwarded what it received" "[[ ${rx:-0} -gt 0 && '${rx:-0}' == '${tx:-1}' ]]"
check "net: testpmd saw the frames the frontend sent" \
    "[[ '${rx:-0}' == '$(val "$WORK/net.out" front_sent)' ]]"

if [[ $fails -ne 0 ]]; then
    echo "---- qemu-storage-daemon ----"
    tail -10 "$WORK/qsd.log"
    echo "---- testpmd (tail) ----"
    tail -25 "$WORK/testpmd.log"
    exit 1
fi
echo "PASS"
