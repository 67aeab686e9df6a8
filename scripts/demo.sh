#!/usr/bin/env bash
# The demo command: install the dependencies, build the host preset, then run the two-process
# demo (examples/demo/xcv_demo.c) in both modes: a device compartment and a driver compartment,
# two processes that share only a memory window and eventfd doorbells (Linux port).
#
#   bash scripts/demo.sh                    # event mode, then poll mode (about 10 s in all)
#   bash scripts/demo.sh --seconds 5        # extra arguments go to every xcv_demo run
#   DEMO_MODES=poll bash scripts/demo.sh    # one mode only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEMO_MODES=${DEMO_MODES:-"event poll"}
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/setup-deps.sh
if [[ ! -f examples/CMakeLists.txt ]]; then
    echo "demo.sh: examples/CMakeLists.txt is missing; nothing to run" >&2
    exit 1
fi
cmake --preset host >/dev/null
cmake --build --preset host -j "$JOBS" --target xcv_demo

exe=build/host/examples/xcv_demo
if [[ ! -x "$exe" ]]; then
    echo "demo.sh: built xcv_demo but cannot find $exe" >&2
    exit 1
fi

status=0
for mode in $DEMO_MODES; do
    echo
    echo "== $exe --mode $mode $*"
    # Bounded: a stuck run is killed (the demo itself gives up on a silent peer after 3 s).
    timeout --kill-after=5 60 "$exe" --mode "$mode" "$@" || status=1
done
exit "$status"
