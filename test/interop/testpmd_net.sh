#!/usr/bin/env bash
# DPDK's virtio-user (a real virtio-net driver and vhost-user frontend) against the library's
# virtio-net model served by xcv_vhost_backend:
#   1. flowgen: testpmd generates, the model echoes every frame back (MACs swapped); testpmd's
#      RX and TX totals must be > 0 and close, the backend must have seen only valid frames and
#      exactly the frames testpmd transmitted (minus at most a ring in flight).
#   2. io (same backend process: a reconnection): the backend injects frames into the receive
#      ring, testpmd forwards them back, the backend echoes them again: they loop; the backend
#      must see its own frames come back many times.
#   3. flowgen against a busy-polling backend (--poll), for the figures.
# Reports packets/s.
#
#   testpmd_net.sh BACKEND WORKDIR      (exit 77 when dpdk-testpmd is missing)
set -uo pipefail
BACKEND=$1
WORK=$2
TESTPMD=$(command -v dpdk-testpmd || true)
if [[ -z "$TESTPMD" ]]; then
    echo "SKIP: dpdk-testpmd is missing (run scripts/setup-interop.sh)"
    exit 77
fi
if [[ $(nproc) -lt 2 ]]; then
    echo "SKIP: testpmd's forwarding lcore and the backend need 2 CPUs"
    exit 77
fi
PIN0=()
command -v taskset >/dev/null && PIN0=(taskset -c 0)
rm -rf "$WORK"
mkdir -p "$WORK"
BPID=""
TPID=""
cleanup() {
    [[ -n "$TPID" ]] && kill -INT "$TPID" 2>/dev/null && sleep 1 && pkill -KILL -P "$TPID"
    [[ -n "$BPID" ]] && kill "$BPID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "/var/run/dpdk/xcvtp$$"* 2>/dev/null
}
trap cleanup EXIT

fails=0
check() {
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

start_backend() { # name, extra args...
    local name=$1
    shift
    rm -f "$WORK/$name.sock"
    # testpmd forwards on CPU 1 (its lcore 1); the backend gets CPU 0, shared with testpmd's
    # mostly idle main lcore.
    "${PIN0[@]}" "$BACKEND" --net "$WORK/$name.sock" --timeout 100 --stats "$WORK/$name.stats" "$@" \
        >"$WORK/$name.backend.log" 2>&1 &
    BPID=$!
    for _ in $(seq 100); do
        [[ -S "$WORK/$name.sock" ]] && return 0
        sleep 0.05
    done
    echo "backend did not start"
    return 1
}

stop_backend() {
    kill "$BPID" 2>/dev/null
    wait "$BPID" 2>/dev/null
    BPID=""
}

# run_testpmd NAME SOCK MODE SECONDS: testpmd for SECONDS, stopped with SIGINT for its totals.
run_testpmd() {
    local name=$1 sock=$2 mode=$3 secs=$4
    # timeout: a safety net should this script be killed (SIGINT and SIGTERM are forwarded).
    timeout -s INT 60 "$TESTPMD" -l 0,1 --main-lcore 0 --no-huge -m 256 --no-pci \
        --file-prefix="xcvtp$$$name" \
        --vdev "net_virtio_user0,path=$sock,queue_size=256" --log-level=user1,info -- \
        --forward-mode="$mode" --stats-period 1 --total-num-mbufs=8192 --txd=256 --rxd=256 \
        --auto-start >"$WORK/$name.testpmd.log" 2>&1 &
    TPID=$!
    local t0
    t0=$(date +%s.%N)
    sleep "$secs"
    kill -INT "$TPID" 2>/dev/null
    for _ in $(seq 100); do
        kill -0 "$TPID" 2>/dev/null || break
        sleep 0.1
    done
    pkill -KILL -P "$TPID" 2>/dev/null # testpmd under its `timeout` wrapper
    kill -KILL "$TPID" 2>/dev/null
    wait "$TPID" 2>/dev/null
    TPID=""
    echo "$(date +%s.%N) - $t0" | bc >"$WORK/$name.secs"
}

total() { # NAME RX|TX: the accumulated total of testpmd
    grep -A3 'Accumulated forward statistics' "$WORK/$1.testpmd.log" |
        grep -o "$2-packets: *[0-9]*" | head -1 | grep -o '[0-9]*$'
}
last_pps() { # NAME: the last periodic Rx-pps figure before the stop
    grep -o 'Rx-pps: *[0-9]*' "$WORK/$1.testpmd.log" | tail -1 | grep -o '[0-9]*$'
}
stat_of() { grep "^$2=" "$WORK/$1.stats" 2>/dev/null | cut -d= -f2; }

report() { # NAME
    local rx tx secs
    rx=$(total "$1" RX)
    tx=$(total "$1" TX)
    secs=$(cat "$WORK/$1.secs")
    echo "  testpmd: TX-packets ${tx:-?} RX-packets ${rx:-?} in ${secs}s;" \
         "last Rx-pps $(last_pps "$1"); mean RX $(echo "${rx:-0} / $secs" | bc) pps"
}

# ---- 1 and 2: event-driven backend, two testpmd runs (the second is a reconnection) ----
start_backend ev --inject 64 || exit 1
run_testpmd flowgen "$WORK/ev.sock" flowgen 8
sleep 0.5
run_testpmd loop "$WORK/ev.sock" io 5
sleep 0.5
stop_backend

echo "flowgen against the echoing model (event-driven backend):"
report flowgen
echo "io loop of injected frames (second connection to the same backend):"
report loop
echo "backend:"
sed 's/^/  /' "$WORK/ev.stats"

rx=$(total flowgen RX)
tx=$(total flowgen TX)
check "flowgen: testpmd transmitted and received" "[[ ${tx:-0} -gt 0 && ${rx:-0} -gt 0 ]]"
gap=$(( ${tx:-0} - ${rx:-0} ))
check "flowgen: RX within 1% (+ one ring) of TX" \
    "[[ $gap -ge 0 && $gap -le $(( ${tx:-0} / 100 + 512 )) ]]"
# The model saw every frame of flowgen plus the looping frames of the second run.
lrx=$(total loop RX)
ltx=$(total loop TX)
check "io loop: injected frames came back many times" \
    "[[ '$(stat_of ev net_loop_seen)' -gt 640 && ${lrx:-0} -gt 640 && ${ltx:-0} -gt 640 ]]"
check "backend: every frame valid, no drop by the model" \
    "[[ '$(stat_of ev net_tx_invalid)' == 0 && '$(stat_of ev net_tx_dropped)' == 0 ]]"
check "backend: saw what testpmd sent (within one ring)" \
    "[[ \$(( ${tx:-0} + ${ltx:-0} - $(stat_of ev net_tx_valid) )) -ge 0 &&
        \$(( ${tx:-0} + ${ltx:-0} - $(stat_of ev net_tx_valid) )) -le 512 ]]"
check "backend: two connections, no protocol error" \
    "[[ '$(stat_of ev net_connections)' == 2 && '$(stat_of ev net_errors)' == 0 ]]"

# ---- 3: busy-polling backend ----
start_backend poll --poll || exit 1
run_testpmd pollgen "$WORK/poll.sock" flowgen 6
sleep 0.5
stop_backend
echo "flowgen against the echoing model (busy-polling backend):"
report pollgen
echo "  backend: $(grep -E '^net_(tx_valid|echoed|tx_pps|kicks)=' "$WORK/poll.stats" | tr '\n' ' ')"
prx=$(total pollgen RX)
check "poll: testpmd received echoed frames" \
    "[[ ${prx:-0} -gt 0 && '$(stat_of poll net_errors)' == 0 ]]"

if [[ $fails -ne 0 ]]; then
    for n in flowgen loop pollgen; do
        echo "---- $n testpmd log (tail) ----"
        tail -25 "$WORK/$n.testpmd.log" 2>/dev/null
    done
    echo "---- backend logs ----"
    cat "$WORK"/*.backend.log
    exit 1
fi
echo "PASS"
