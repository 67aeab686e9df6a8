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
#   --net-rounds N  B4 rounds (default 4; about 60 s each: tx, rx and a forwarding loop with
#                 64- and 1500-byte frames, testpmd with split and with packed virtqueues)
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
NET_ROUNDS=4
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
    local preset=$1 tool=$2 label=$3 all split packed
    cmake --preset "$preset" >"build/bench/configure-$preset.log" 2>&1 || return 1
    cmake --build --preset "$preset" -j "$JOBS" --target xcvirtio \
        >"build/bench/build-$preset.log" 2>&1 || return 1
    local lib=build/$preset/libxcvirtio.a
    # text, data, bss of the whole archive, of the split virtqueue and of the packed one.
    all=$("$tool" -t "$lib" | tail -1 | awk '{ printf "%s/%s/%s", $1, $2, $3 }')
    split=$("$tool" "$lib" | awk '$6 ~ /^(driver|device|layout)\.c\.o/ { t += $1; d += $2; b += $3 }
                                  END { printf "%d/%d/%d", t, d, b }')
    packed=$("$tool" "$lib" | awk '$6 ~ /^packed_(driver|device)\.c\.o/ { t += $1; d += $2; b += $3 }
                                   END { printf "%d/%d/%d", t, d, b }')
    ROWS+=("$(printf '%-3s %-54s %-12s %3s %11s %11s' "B5" \
        "libxcvirtio.a $label -Os, text/data/bss bytes" "-" "-" "$all" "-")")
    ROWS+=("$(printf '%-3s %-54s %-12s %3s %11s %11s' "" \
        "  of which split virtqueue (driver+device+layout)" "-" "-" "$split" "-")")
    ROWS+=("$(printf '%-3s %-54s %-12s %3s %11s %11s' "" \
        "  of which packed virtqueue (driver+device)" "-" "-" "$packed" "-")")
}
if [[ $SIZE -eq 1 ]]; then
    echo "bench.sh: building the bare-metal libraries for B5"
    size_row aarch64 aarch64-linux-gnu-size "aarch64" ||
        echo "bench.sh: aarch64 build failed (see build/bench/build-aarch64.log)" >&2
    size_row riscv riscv64-unknown-elf-size "rv64imac" ||
        echo "bench.sh: riscv build failed (see build/bench/build-riscv.log)" >&2
fi
# ---- B4: virtio-net between two processes vs DPDK testpmd virtio-user <-> vhost-user --------
# Three tests, each with 64- and 1500-byte frames: tx (driver -> device: the driver transmits
# into a counting sink), rx (device -> driver: a source delivers into the driver's receive
# buffers) and loop (a forwarding loop: a burst circulates between driver and device).
# Ours: xcv_net_bench in busy-poll mode (driver and device processes), once with split and
# once with packed rings (--ring); each run gives all six figures. Split is compared with
# testpmd split, packed with testpmd packed, and each side's faster ring with the other's (the
# target row). Peer: two testpmd processes, net_virtio_user0 (the driver role; split or packed
# virtqueue) and net_vhost0 (the device role), each forwarding thread on its own CPU, frames of
# --txpkts bytes: tx is virtio-user txonly into vhost rxonly, rx vhost txonly into virtio-user
# rxonly, loop both sides io with virtio-user starting by --tx-first. Its figure is the
# receiver's Rx-pps (virtio-user's in the loop), the median of the per-second figures.
# Features: testpmd's virtio-user negotiates IN_ORDER (its default), INDIRECT_DESC and MRG_RXBUF
# and takes its in-order paths on split rings; ours negotiates EVENT_IDX, and IN_ORDER on split
# rings (xcv_net_bench's default; our packed rings are not in-order).
# Bursts: each side at its best of 32, 64 and 128 frames measured on the reference machine:
# testpmd --burst=64 (128 is slower for it), ours 128 frames per send and device run for tx, 32
# elsewhere (xcv_net_bench's defaults).
# A round runs ours, six testpmd configurations, ours, the other six, ours (configurations in
# order in even rounds, in reverse in odd ones), a probe (cache-line round trip) between every
# two runs; each testpmd run is paired with the run of ours nearest to it.
B4_SECONDS=3.5 # life of the virtio-user testpmd: 1.2 s to start, then 2 or 3 per-second figures
b4_testpmd() { # $1: tx, rx or loop; $2: split or packed; $3: frame bytes; prints packets/s
    local test=$1 packed=0 size=$3 sock=$B4_WORK/b4.sock vh_mode vu_mode recv skip=0 first=()
    [[ $2 == packed ]] && packed=1
    # vhost counts from before virtio-user connects, so its first non-zero second is partial
    # and dropped; virtio-user's first report is 0 and the next covers a full second.
    case $test in
    tx) vh_mode=rxonly; vu_mode=txonly; recv=vh; skip=1 ;;
    rx) vh_mode=txonly; vu_mode=rxonly; recv=vu ;;
    *) vh_mode=io; vu_mode=io; recv=vu; first=(--tx-first) ;;
    esac
    rm -f "$sock"
    timeout -s INT 20 "$TESTPMD" -l 0,1 --main-lcore 0 --no-huge -m 256 --no-pci \
        --file-prefix="xcvb4vh$$" --vdev "net_vhost0,iface=$sock,queues=1" -- \
        --forward-mode="$vh_mode" --stats-period 1 --total-num-mbufs=8192 --txpkts="$size" \
        --burst=64 --auto-start </dev/null >"$B4_WORK/vh.log" 2>&1 &
    local vh=$!
    for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
    # -m 128: vhost maps all of virtio-user's memory at connection; 256 MB adds 0.7 s. Both
    # end by HUP: testpmd's INT handler closes its port first, up to 1 s for nothing (the
    # figures are written by then).
    timeout -s HUP "$B4_SECONDS" "$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 128 --no-pci \
        --file-prefix="xcvb4vu$$" \
        --vdev "net_virtio_user0,path=$sock,queue_size=256,packed_vq=$packed" -- \
        --forward-mode="$vu_mode" --stats-period 1 --total-num-mbufs=8192 --txd=256 \
        --rxd=256 --txpkts="$size" --burst=64 "${first[@]}" --auto-start \
        </dev/null >"$B4_WORK/vu.log" 2>&1 || true
    kill -HUP "$vh" 2>/dev/null || true
    wait "$vh" 2>/dev/null || true
    grep -a 'Rx-pps:' "$B4_WORK/$recv.log" | awk -v skip="$skip" '$2 > 0 { v[n++] = $2 }
        END { if (n == 0) { print 0; exit }
              s = (n > skip) ? skip : 0; m = n - s
              for (i = s; i < n; i++)
                  for (j = i + 1; j < n; j++)
                      if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
              x = (m % 2) ? v[s + int(m / 2)] : (v[s + m / 2 - 1] + v[s + m / 2]) / 2
              printf "%.0f\n", x }'
}
b4_ours_ring() { # $1: split or packed; prints packets/s: tx 64, tx 1500, rx 64, rx 1500,
    # loop 64, loop 1500 (busy-poll)
    timeout 60 "$NETBENCH" --mode poll --seconds 0.3 --ring "$1" 2>/dev/null | awk '
        /-byte frames/ { t = /driver -> device/ ? "tx" : /device -> driver/ ? "rx" : "loop"
                         v[t ":" ($(NF-5) + 0)] = $(NF-3) }
        END { printf "%s %s %s %s %s %s\n", v["tx:64"] + 0, v["tx:1500"] + 0, v["rx:64"] + 0,
                     v["rx:1500"] + 0, v["loop:64"] + 0, v["loop:1500"] + 0 }'
}
b4_ours() { # the six figures with split rings, then the six with packed rings
    echo "$(b4_ours_ring split) $(b4_ours_ring packed)"
}
if [[ $NET -eq 1 ]]; then
    TESTPMD=$(command -v dpdk-testpmd || true)
    NETBENCH=build/bench/examples/xcv_net_bench
    if [[ -z $TESTPMD || ! -x $NETBENCH ]]; then
        echo "bench.sh: B4 skipped (dpdk-testpmd or xcv_net_bench missing)" >&2
    else
        echo "bench.sh: B4, $NET_ROUNDS rounds of ours and testpmd, 3 tests x 2 frame sizes x" \
             "split/packed (about $((NET_ROUNDS * 60)) s)"
        B4_WORK=$(mktemp -d)
        B4_RAW=build/bench/b4-raw.csv
        B4_CONFS=() # "test bytes virtqueue", in a round's forward order
        for t in tx rx loop; do
            for s in 64 1500; do B4_CONFS+=("$t $s split" "$t $s packed"); done
        done
        # One row per testpmd run: round; test (tx, rx, loop); size (frame bytes); virtqueue
        # (split, packed); pos_peer, pos_ours: the places in the round (0..14) of the testpmd run
        # and of the run of ours paired with it (ours runs at 0, 7 and 14); peer_pps: testpmd's
        # packets/s, ours_pps and ours_packed_pps: ours with split and with packed rings (0: no
        # figure); probes: the probes (ns, ';'-separated) from the one before the earlier run to
        # the one after the later run (run k lies between probe k and probe k+1).
        echo 'round,test,size,virtqueue,pos_peer,pos_ours,peer_pps,ours_pps,ours_packed_pps,probes' \
            >"$B4_RAW"
        for ((r = 0; r < NET_ROUNDS; r++)); do
            order=("${B4_CONFS[@]}")
            if ((r % 2 == 1)); then
                order=()
                for ((i = ${#B4_CONFS[@]} - 1; i >= 0; i--)); do order+=("${B4_CONFS[i]}"); done
            fi
            p=("$("$BENCH" --probe)")
            ours=("$(b4_ours)"); p+=("$("$BENCH" --probe)")
            peer=()
            for ((i = 0; i < ${#order[@]}; i++)); do
                read -r t s v <<<"${order[i]}"
                peer+=("$(b4_testpmd "$t" "$v" "$s")"); p+=("$("$BENCH" --probe)")
                if [[ ${peer[i]} == 0 ]]; then
                    echo "bench.sh: B4 testpmd $t $s B $v gave no figure (logs:" \
                         "build/bench/b4-failed-vh.log, build/bench/b4-failed-vu.log)" >&2
                    cp "$B4_WORK/vh.log" build/bench/b4-failed-vh.log
                    cp "$B4_WORK/vu.log" build/bench/b4-failed-vu.log
                fi
                if ((i == 5 || i == 11)); then
                    ours+=("$(b4_ours)"); p+=("$("$BENCH" --probe)")
                fi
            done
            for ((i = 0; i < ${#order[@]}; i++)); do
                read -r t s v <<<"${order[i]}"
                pp=$((i < 6 ? i + 1 : i + 2))
                k=$(((pp + 3) / 7)) # the nearest run of ours
                po=$((k * 7))
                read -r -a o <<<"${ours[k]}"
                case $t:$s in
                tx:64) x=0 ;; tx:1500) x=1 ;; rx:64) x=2 ;; rx:1500) x=3 ;; loop:64) x=4 ;;
                *) x=5 ;;
                esac
                op=${o[x]}
                opk=${o[x + 6]}
                lo=$((pp < po ? pp : po))
                hi=$((pp > po ? pp : po))
                pr=$(IFS=';'; echo "${p[*]:lo:hi - lo + 2}")
                echo "$r,$t,$s,$v,$pp,$po,${peer[i]},$op,$opk,$pr" >>"$B4_RAW"
            done
        done
        rm -rf "$B4_WORK"
        # Paired when all the probes around and between the two runs fall in one bucket (as
        # xcv_bench does); ratio: median of the paired peer/ours packets/s (below 1: ours is
        # faster). DPDK's best path: per round the faster of split and packed. One --row with
        # all the lines (xcv_bench keeps at most 24 rows).
        B4_TABLE=$(python3 - "$B4_RAW" <<'PY'
import csv, statistics, sys
def bucket(p):
    return 0 if p < 60 else 1 if p < 200 else 2
names = ["near", "mid", "far"]
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
def fmt(pps):
    return "%.2f Mpps" % (pps / 1e6)
def pair(r, key):  # (ours, peer, probes) if both have a figure and the probes share a bucket
    o, q = float(r[key]), float(r["peer_pps"])
    p = [float(x) for x in r["probes"].split(";")]
    if o <= 0 or q <= 0 or len({bucket(x) for x in p}) != 1:
        return None
    return o, q, p
def best_pair(rs, rp):  # ours' best ring against testpmd's best, from a round's two runs
    a, b = pair(rs, "ours_pps"), pair(rp, "ours_packed_pps")
    if a is None or b is None:
        return None
    p = a[2] + b[2]
    if len({bucket(x) for x in p}) != 1:
        return None
    return max(a[0], b[0]), max(a[1], b[1]), p
def report(what, pairs, target, size):  # target: the highest peer/ours allowed, 0: none
    groups = {}
    for o, q, p in (x for x in pairs if x is not None):
        groups.setdefault(bucket(p[0]), []).append((o, q, q / o, statistics.mean(p)))
    allp = [x for g in groups.values() for x in g]
    if not allp:
        print("%-3s %-54s %-12s %3d %11s %11s %7s" % ("B4", what, "(unstable)", 0, "-", "-", "-"))
        return
    first = True
    for b, pairs in [(-1, allp)] + sorted(groups.items()):
        place = "all" if b < 0 else "%s~%.0fns" % (
            names[b], statistics.median([x[3] for x in pairs]))
        ratio = statistics.median([x[2] for x in pairs])
        line = "%-3s %-54s %-12s %3d %11s %11s %6.2fx" % (
            "B4" if first else "", what if first else "", place, len(pairs),
            fmt(statistics.median([x[0] for x in pairs])),
            fmt(statistics.median([x[1] for x in pairs])), ratio)
        if target > 0:
            line += "  <=%.2fx %s" % (target, "met" if ratio <= target else "MISSED")
        if b < 0:  # frame bits per second, with the 'all' line
            gbps = [statistics.median([x[i] for x in pairs]) * size * 8 / 1e9 for i in (0, 1)]
            line += "  (%.1f / %.1f Gbit/s)" % (gbps[0], gbps[1])
        print(line)
        first = False
for test in ("tx", "rx", "loop"):
    for size in ("64", "1500"):
        sel = [r for r in rows if r["test"] == test and r["size"] == size]
        for vq, key in (("split", "ours_pps"), ("packed", "ours_packed_pps")):
            report("virtio-net %s B, %s, %s: ours / testpmd" % (size, test, vq),
                   [pair(r, key) for r in sel if r["virtqueue"] == vq], 0, int(size))
        best = []
        for rnd in sorted({r["round"] for r in sel}):
            rs = [r for r in sel if r["round"] == rnd and r["virtqueue"] == "split"]
            rp = [r for r in sel if r["round"] == rnd and r["virtqueue"] == "packed"]
            if rs and rp:
                best.append(best_pair(rs[0], rp[0]))
        # Target: ours at least 1.2x DPDK's best path in packets/s (each side's faster ring).
        report("virtio-net %s B, %s, best rings: ours / DPDK" % (size, test), best, 1 / 1.2,
               int(size))
PY
)
        ROWS=("$B4_TABLE" "${ROWS[@]}")
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
