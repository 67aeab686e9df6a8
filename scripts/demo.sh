#!/usr/bin/env bash
# The demo command: install the dependencies, build the host preset, run the loopback example
# (a driver and a device exchanging buffers through virtqueues in one shared window).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEMO_TARGET=${DEMO_TARGET:-xcv_loopback}
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/setup-deps.sh
if [[ ! -f examples/CMakeLists.txt ]]; then
    echo "demo.sh: examples/CMakeLists.txt is missing; nothing to run" >&2
    exit 1
fi
cmake --preset host >/dev/null
cmake --build --preset host -j "$JOBS" --target "$DEMO_TARGET"

exe=build/host/examples/$DEMO_TARGET
if [[ ! -x "$exe" ]]; then
    exe=$(find build/host -type f -name "$DEMO_TARGET" -perm -u+x | head -1)
fi
if [[ -z "$exe" || ! -x "$exe" ]]; then
    echo "demo.sh: built $DEMO_TARGET but cannot find the executable under build/host" >&2
    exit 1
fi
echo "== $exe $*"
exec "$exe" "$@"
