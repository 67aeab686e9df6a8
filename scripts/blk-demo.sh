#!/usr/bin/env bash
# The block-device demo: install the dependencies, build the host preset, then run
# examples/blk/xcv_blk_demo.c in both modes. A device process serves a 64 MiB sparse temporary
# file as virtio-blk; a driver process writes a pattern over the whole disk (sequential 64 KiB
# and random 4 KiB requests, 32 in flight), flushes, discards and zeroes a few ranges, reads
# everything back, checks every byte, and prints IOPS and MB/s per phase.
#
#   bash scripts/blk-demo.sh                      # event mode, then poll mode (a few seconds)
#   bash scripts/blk-demo.sh --disk-mb 256        # extra arguments go to every run
#   BLK_DEMO_MODES=poll bash scripts/blk-demo.sh  # one mode only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BLK_DEMO_MODES=${BLK_DEMO_MODES:-"event poll"}
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/setup-deps.sh
cmake --preset host >/dev/null
cmake --build --preset host -j "$JOBS" --target xcv_blk_demo

exe=build/host/examples/xcv_blk_demo
if [[ ! -x "$exe" ]]; then
    echo "blk-demo.sh: built xcv_blk_demo but cannot find $exe" >&2
    exit 1
fi

status=0
for mode in $BLK_DEMO_MODES; do
    echo
    echo "== $exe --mode $mode $*"
    # Bounded: a stuck run is killed (the demo itself gives up after 5 s without progress).
    timeout --kill-after=5 120 "$exe" --mode "$mode" "$@" || status=1
done
exit "$status"
