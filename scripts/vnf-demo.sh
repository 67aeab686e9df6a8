#!/usr/bin/env bash
# The network demo: install the dependencies, build the host preset, then run
#   1. examples/vnf/xcv_vnf in event and poll mode: a V2X filter VNF in the driver compartment
#      between two virtio-net devices; the device compartment generates V2X-like UDP traffic on
#      one device and checks every frame the VNF forwards on the other (blacklisted stations
#      and expired TTLs dropped, TTL and hop counter rewritten). Prints packets/s in, out and
#      dropped.
#   2. examples/vnf/xcv_net_bench: virtio-net packets/s between two processes, 64-byte and
#      1500-byte frames, both directions, both modes (figures only).
#
#   bash scripts/vnf-demo.sh                  # about 15 s
#   bash scripts/vnf-demo.sh --seconds 5      # extra arguments go to every xcv_vnf run
#   VNF_TAP=1 bash scripts/vnf-demo.sh        # also a run through TAP interfaces (root, tun)
#   VNF_MODES=poll VNF_BENCH=0 bash scripts/vnf-demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VNF_MODES=${VNF_MODES:-"event poll"}
VNF_BENCH=${VNF_BENCH:-1}
VNF_TAP=${VNF_TAP:-0}
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/setup-deps.sh
cmake --preset host >/dev/null
cmake --build --preset host -j "$JOBS" --target xcv_vnf xcv_net_bench

vnf=build/host/examples/xcv_vnf
bench=build/host/examples/xcv_net_bench
for exe in "$vnf" "$bench"; do
    if [[ ! -x "$exe" ]]; then
        echo "vnf-demo.sh: cannot find $exe" >&2
        exit 1
    fi
done

status=0
for mode in $VNF_MODES; do
    echo
    echo "== $vnf --mode $mode $*"
    timeout --kill-after=5 120 "$vnf" --mode "$mode" "$@" || status=1
done
if [[ "$VNF_TAP" == 1 ]]; then
    if [[ -c /dev/net/tun && $EUID -eq 0 ]]; then
        echo
        echo "== $vnf --mode event --tap $*"
        timeout --kill-after=5 120 "$vnf" --mode event --tap "$@" || status=1
    else
        echo "vnf-demo.sh: --tap needs /dev/net/tun and root (CAP_NET_ADMIN); skipped" >&2
    fi
fi
if [[ "$VNF_BENCH" == 1 ]]; then
    echo
    echo "== $bench --seconds 0.5"
    timeout --kill-after=5 120 "$bench" --seconds 0.5 || status=1
fi
exit "$status"
