#!/usr/bin/env bash
# The benchmark suite in one command: installs what it needs, builds the 'bench' preset
# (RelWithDebInfo, -O2) and Linux's tools/virtio/ringtest from the Debian package
# linux-source-6.1, runs every benchmark interleaved with its peers, and prints one table of
# medians and ratios. Method and results: docs/performance.md.
#
#   bash scripts/bench.sh [--rounds N] [--scale F] [--relax] [--no-install] [--no-peers]
#                         [--no-size] [--no-net] [--net-rounds N]
#
#   --rounds N    interleaved rounds (default 12; each round runs every benchmark once)
#   --scale F     multiply every run length (default 1: about 0.2 s per run)
#   --relax       spin with a pause instruction (ours and ringtest --relax); default: barrier
#   --no-install  do not install packages (fail if something is missing)
#   --no-peers    skip ringtest (no linux-source-6.1 needed)
#   --no-size     skip B5 (the bare-metal library builds)
#   --no-net      skip B4 (virtio-net against DPDK testpmd; needs dpdk-testpmd, package dpdk-dev)
#   --net-rounds N  B4 rounds (default 10; about 15 s each)
#
# Outputs: the table on stdout; the raw per-run figures in build/bench/bench-raw.csv (B0-B3)
# and build/bench/b4-raw.csv (B4).
# ringtest is extracted into build/bench/ringtest/ (only tools/virtio/ringtest) and built there;
# nothing from the package is kept in the source tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)

ROUNDS=12
SCALE=1
RELAX=()
INSTALL=1
PEERS=1
SIZE=1
NET=1
NET_ROUNDS=10
while [[ $# -gt 0 ]]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --relax) RELAX=(--relax); shift ;;
    --no-install) INSTALL=0; shift ;;
    --no-peers) PEERS=0; shift ;;
    --no-size) SIZE=0; shift ;;
    --no-net) NET=0; shift ;;
    --net-rounds) NET_ROUNDS=$2; shift 2 ;;
    *) echo "usage: bash scripts/bench.sh [--rounds N] [--scale F] [--relax] [--no-install]" \
            "[--no-peers] [--no-size] [--no-net] [--net-rounds N]" >&2; exit 2 ;;
    esac
done

if [[ $(nproc) -lt 2 ]]; then
    echo "bench.sh: needs at least 2 CPUs (benchmarks pin to CPU 0 and CPU 1)" >&2
    exit 1
fi

# ---- packages -------------------------------------------------------------------------------
missing_pkgs() {
    local p st
    for p in "$@"; do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [[ $st == installed ]] || echo "$p"
    done
}
if [[ $INSTALL -eq 1 ]]; then
    bash scripts/setup-deps.sh # compilers, cmocka, cross toolchains (B5)
    want=(build-essential xz-utils)
    [[ $PEERS -eq 1 ]] && want+=(linux-source-6.1)
    [[ $NET -eq 1 ]] && want+=(dpdk dpdk-dev)
    mapfile -t miss < <(missing_pkgs "${want[@]}")
    if [[ ${#miss[@]} -gt 0 ]]; then
        SUDO=()
        [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
        echo "bench.sh: installing ${miss[*]}"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${miss[@]}" >/dev/null ||
            { "${SUDO[@]}" apt-get update -q >/dev/null &&
              "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                  --no-install-recommends "${miss[@]}" >/dev/null; }
    fi
fi

# ---- our build --------------------------------------------------------------------------------
echo "bench.sh: building the 'bench' preset (RelWithDebInfo)"
LOG=$(mktemp)
cmake --preset bench >"$LOG" 2>&1 || { cat "$LOG"; rm -f "$LOG"; exit 1; }
mv "$LOG" build/bench/configure.log
TARGETS=(xcv_bench)
[[ $NET -eq 1 ]] && TARGETS+=(xcv_net_bench)
cmake --build --preset bench -j "$JOBS" --target "${TARGETS[@]}" >build/bench/build.log 2>&1 ||
    { tail -40 build/bench/build.log; exit 1; }
BENCH=build/bench/test/bench/xcv_bench

# ---- the peer: Linux tools/virtio/ringtest, from the package, built here --------------------
PEER_ARGS=()
if [[ $PEERS -eq 1 ]]; then
    SRC_TAR=/usr/src/linux-source-6.1.tar.xz
    RT_ROOT=build/bench/ringtest
    RT_DIR=$RT_ROOT/linux-source-6.1/tools/virtio/ringtest
    RT_BINS=(virtio_ring_0_9 virtio_ring_inorder ring)
    if [[ ! -f $SRC_TAR ]]; then
        echo "bench.sh: $SRC_TAR not found (package linux-source-6.1); use --no-peers" >&2
        exit 1
    fi
    if [[ ! -f $RT_DIR/main.c ]]; then
        echo "bench.sh: extracting tools/virtio/ringtest from $SRC_TAR"
        rm -rf "$RT_ROOT"
        mkdir -p "$RT_ROOT"
        tar -xJf "$SRC_TAR" -C "$RT_ROOT" --wildcards 'linux-source-6.1/tools/virtio/ringtest/*'
    fi
    # Its own Makefile and flags (-O2 -flto -fwhole-program); ptr_ring and noring are not
    # needed (ptr_ring.c also wants kernel headers outside the folder).
    make -C "$RT_DIR" -s "${RT_BINS[@]}" >build/bench/ringtest-build.log 2>&1 ||
        { cat build/bench/ringtest-build.log; exit 1; }
    PEER_ARGS=(--ringtest "$ROOT/$RT_DIR")
fi

# ---- B5: code size of the freestanding library (-Os), from the bare-metal presets ----------
ROWS=()
size_row() {
    local preset=$1 tool=$2 label=$3 all vring
    cmake --preset "$preset" >"build/bench/configure-$preset.log" 2>&1 || return 1
    cmake --build --preset "$preset" -j "$JOBS" --target xcvirtio \
        >"build/bench/build-$preset.log" 2>&1 || return 1
    local lib=build/$preset/libxcvirtio.a
    # text, data, bss of the whole archive, and of the split virtqueue alone.
    all=$("$tool" -t "$lib" | tail -1 | awk '{ printf "%s/%s/%s", $1, $2, $3 }')
    vring=$("$tool" "$lib" | awk '$6 ~ /^(driver|device|layout)\.c\.o/ { t += $1; d += $2; b += $3 }
                                  END { printf "%d/%d/%d", t, d, b }')
    ROWS+=("$(printf '%-3s %-54s %-12s %3s %11s %11s' "B5" \
        "libxcvirtio.a $label -Os, text/data/bss bytes" "-" "-" "$all" "-")")
    ROWS+=("$(printf '%-3s %-54s %-12s %3s %11s %11s' "" \
        "  of which split virtqueue (driver+device+layout)" "-" "-" "$vring" "-")")
}
if [[ $SIZE -eq 1 ]]; then
    echo "bench.sh: building the bare-metal libraries for B5"
    size_row aarch64 aarch64-linux-gnu-size "aarch64" ||
        echo "bench.sh: aarch64 build failed (see build/bench/build-aarch64.log)" >&2
    size_row riscv riscv64-unknown-elf-size "rv64imac" ||
        echo "bench.sh: riscv build failed (see build/bench/build-riscv.log)" >&2
fi
# ---- B4: virtio-net between two processes vs DPDK testpmd virtio-user <-> vhost-user --------
# Ours: xcv_net_bench in busy-poll mode (driver and device processes, 64-byte frames; driver ->
# device is the driver transmitting into a counting sink, device -> driver a source delivering
# into the driver's receive buffers). Peer: two testpmd processes, virtio-user (the driver role)
# and net_vhost0 (the device role), txonly into rxonly, each forwarding thread on its own CPU;
# its figure is the median of the receiver's per-second Rx-pps after the first. Rounds alternate
# the order; a probe (cache-line round trip) runs between every two runs.
b4_testpmd() { # $1: tx (virtio-user transmits) or rx (vhost transmits); prints packets/s
    local dir=$1 sock=$B4_WORK/b4.sock vh_mode vu_mode recv
    if [[ $dir == tx ]]; then vh_mode=rxonly; vu_mode=txonly; recv=vh; else
        vh_mode=txonly; vu_mode=rxonly; recv=vu; fi
    rm -f "$sock"
    timeout -s INT 20 "$TESTPMD" -l 0,1 --main-lcore 0 --no-huge -m 256 --no-pci \
        --file-prefix="xcvb4vh$$" --vdev "net_vhost0,iface=$sock,queues=1" -- \
        --forward-mode="$vh_mode" --stats-period 1 --total-num-mbufs=8192 --auto-start \
        </dev/null >"$B4_WORK/vh.log" 2>&1 &
    local vh=$!
    for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
    timeout -s INT 5 "$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 256 --no-pci \
        --file-prefix="xcvb4vu$$" --vdev "net_virtio_user0,path=$sock,queue_size=256" -- \
        --forward-mode="$vu_mode" --stats-period 1 --total-num-mbufs=8192 --txd=256 \
        --rxd=256 --auto-start </dev/null >"$B4_WORK/vu.log" 2>&1 || true
    kill -INT "$vh" 2>/dev/null || true
    wait "$vh" 2>/dev/null || true
    grep -a 'Rx-pps:' "$B4_WORK/$recv.log" | awk '$2 > 0 { v[n++] = $2 }
        END { if (n == 0) { print 0; exit }
              s = (n > 1) ? 1 : 0; m = n - s
              for (i = s; i < n; i++)
                  for (j = i + 1; j < n; j++)
                      if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
              print (m % 2) ? v[s + int(m / 2)] : (v[s + m / 2 - 1] + v[s + m / 2]) / 2 }'
}
b4_ours() { # prints "tx_pps rx_pps" (64-byte frames, busy-poll)
    timeout 60 "$NETBENCH" --mode poll --seconds 0.3 2>/dev/null | awk '
        /driver -> device +64-byte/ { tx = $(NF-3) } /device -> driver +64-byte/ { rx = $(NF-3) }
        END { printf "%s %s\n", tx + 0, rx + 0 }'
}
if [[ $NET -eq 1 ]]; then
    TESTPMD=$(command -v dpdk-testpmd || true)
    NETBENCH=build/bench/examples/xcv_net_bench
    if [[ -z $TESTPMD || ! -x $NETBENCH ]]; then
        echo "bench.sh: B4 skipped (dpdk-testpmd or xcv_net_bench missing)" >&2
    else
        echo "bench.sh: B4, $NET_ROUNDS rounds of ours and testpmd (about $((NET_ROUNDS * 15)) s)"
        B4_WORK=$(mktemp -d)
        B4_RAW=build/bench/b4-raw.csv
        # pos_*: the run's place in its round (0..2); run k lies between probe k and probe k+1.
        {
            printf 'round,probe0,probe1,probe2,probe3,'
            printf 'ours_tx_pps,ours_rx_pps,peer_tx_pps,peer_rx_pps,pos_ours,pos_tx,pos_rx\n'
        } >"$B4_RAW"
        for ((r = 0; r < NET_ROUNDS; r++)); do
            p=("$("$BENCH" --probe)")
            if ((r % 2 == 0)); then
                read -r otx orx < <(b4_ours); p+=("$("$BENCH" --probe)")
                ptx=$(b4_testpmd tx); p+=("$("$BENCH" --probe)")
                prx=$(b4_testpmd rx); p+=("$("$BENCH" --probe)")
                pos="0,1,2"
            else
                prx=$(b4_testpmd rx); p+=("$("$BENCH" --probe)")
                ptx=$(b4_testpmd tx); p+=("$("$BENCH" --probe)")
                read -r otx orx < <(b4_ours); p+=("$("$BENCH" --probe)")
                pos="2,1,0"
            fi
            echo "$r,${p[0]},${p[1]},${p[2]},${p[3]},$otx,$orx,$ptx,$prx,$pos" >>"$B4_RAW"
        done
        rm -rf "$B4_WORK"
        # Paired per round when all four probes fall in one bucket (as xcv_bench does).
        mapfile -t B4_ROWS < <(python3 - "$B4_RAW" <<'PY'
import csv, statistics, sys
def bucket(p):
    return 0 if p < 60 else 1 if p < 200 else 2
names = ["near", "mid", "far"]
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
def fmt(pps):
    return "%.2f Mpps" % (pps / 1e6)
for key, what in (("tx", "virtio-net 64 B, driver -> device / testpmd vu->vhost"),
                  ("rx", "virtio-net 64 B, device -> driver / testpmd vhost->vu")):
    groups = {}
    for r in rows:
        p = [float(r["probe%d" % i]) for i in range(4)]
        o, q = float(r["ours_%s_pps" % key]), float(r["peer_%s_pps" % key])
        a, c = int(r["pos_ours"]), int(r["pos_" + key])
        p = p[min(a, c):max(a, c) + 2]  # the probes around both runs and between them
        if o <= 0 or q <= 0 or len({bucket(x) for x in p}) != 1:
            continue
        b = bucket(p[0])
        groups.setdefault(b, []).append((o, q, q / o, statistics.mean(p)))
    allp = [x for g in groups.values() for x in g]
    if not allp:
        print("%-3s %-54s %-12s %3d %11s %11s %7s" % ("B4", what, "(unstable)", 0, "-", "-", "-"))
        continue
    first = True
    for b, pairs in [(-1, allp)] + sorted(groups.items()):
        if not pairs:
            continue
        place = "all" if b < 0 else "%s~%.0fns" % (
            names[b], statistics.median([x[3] for x in pairs]))
        print("%-3s %-54s %-12s %3d %11s %11s %6.2fx" % (
            "B4" if first else "", what if first else "", place, len(pairs),
            fmt(statistics.median([x[0] for x in pairs])),
            fmt(statistics.median([x[1] for x in pairs])),
            statistics.median([x[2] for x in pairs])))
        first = False
PY
)
        ROWS=("${B4_ROWS[@]}" "${ROWS[@]}")
    fi
fi
ROW_ARGS=()
for r in "${ROWS[@]}"; do ROW_ARGS+=(--row "$r"); done

# ---- run ---------------------------------------------------------------------------------------
echo "bench.sh: running $ROUNDS interleaved rounds (about $((ROUNDS * 5)) s)"
echo "command: $BENCH --rounds $ROUNDS --scale $SCALE ${RELAX[*]} ${PEER_ARGS[*]}" \
     "--raw build/bench/bench-raw.csv"
"$BENCH" --rounds "$ROUNDS" --scale "$SCALE" "${RELAX[@]}" "${PEER_ARGS[@]}" \
    --raw build/bench/bench-raw.csv "${ROW_ARGS[@]}"
