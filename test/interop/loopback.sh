#!/usr/bin/env bash
# The library on both ends of vhost-user, no external peer: xcv_vhost_front (driver-role rings)
# against xcv_vhost_backend (the blk and net device models). blk: 8 MiB written, read back and
# compared; net: 50000 frames echoed by the model and checked by the frontend.
#
#   loopback.sh BACKEND FRONT WORKDIR
set -uo pipefail
BACKEND=$1
FRONT=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
BPID=""
cleanup() {
    [[ -n "$BPID" ]] && kill "$BPID" 2>/dev/null
    wait 2>/dev/null
}
trap cleanup EXIT
"$BACKEND" --blk "$WORK/blk.sock" --mem 16 --net "$WORK/net.sock" --timeout 50 \
    --stats "$WORK/backend.stats" >"$WORK/backend.log" 2>&1 &
BPID=$!
for _ in $(seq 100); do
    [[ -S "$WORK/blk.sock" && -S "$WORK/net.sock" ]] && break
    sleep 0.05
done
timeout 30 "$FRONT" --blk "$WORK/blk.sock" --mib 8
brc=$?
timeout 30 "$FRONT" --net "$WORK/net.sock" --frames 50000 --seconds 20
nrc=$?
kill "$BPID" 2>/dev/null
wait "$BPID" 2>/dev/null
BPID=""
grep -E '_(connections|errors|requests|ioerr|tx_valid|tx_invalid|echoed)=' "$WORK/backend.stats"
if [[ $brc -ne 0 || $nrc -ne 0 ]] || ! grep -q '^blk_errors=0$' "$WORK/backend.stats" ||
   ! grep -q '^net_errors=0$' "$WORK/backend.stats"; then
    echo "FAIL (blk $brc, net $nrc)"
    cat "$WORK/backend.log"
    exit 1
fi
echo "PASS"
