#!/bin/bash
# Instructions per record, counted by callgrind: the same count on every run
# of one build, whatever else the machine is doing, where timings on a shared
# machine drift by 10-20 % (bench/README.md "Running it"). It
# also counts the conditional branches that callgrind's simple predictor
# mispredicts ("miss/rec"): a model, not this CPU's predictor, but it ranks
# the branches that mixed traffic makes unpredictable.
#
#   bash bench/instructions.sh [path/to/sipdetect_bench [workload...]]
#
# Counts the detectors' feed loop (feed_lanes: both detectors through
# feed_all, polls excluded) and the floor's pass, for each workload at
# SIPDETECT_BENCH_SCALE (default 0.2; at scale 1.0 the mix and the scanners
# took 10.5 minutes together). Needs valgrind (apt-get install -y valgrind).
set -euo pipefail

bench=${1:-/tmp/sipdetect-release/bench/sipdetect_bench}
shift $(($# > 0 ? 1 : 0))
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(background scanners proxies mix)
scale=${SIPDETECT_BENCH_SCALE:-0.2}
if ! command -v valgrind >/dev/null; then
    echo "instructions.sh: valgrind not found (apt-get install -y valgrind)" >&2
    exit 2
fi
if [ ! -x "$bench" ]; then
    echo "instructions.sh: no benchmark binary at $bench (see bench/README.md \"Running it\")" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# count <benchmark> <function pattern>: instructions and mispredicted
# conditional branches inside the pattern's calls, as "Ir Bcm"; the run's log
# is kept in $work/log.
count() {
    local out="$work/callgrind.out"
    SIPDETECT_BENCH_SCALE=$scale valgrind --tool=callgrind --branch-sim=yes --toggle-collect="$2" \
        --callgrind-out-file="$out" \
        "$bench" --benchmark_filter="^$1/manual_time\$" --benchmark_min_time=0.0001 >"$work/log" 2>&1 ||
        { cat "$work/log" >&2; exit 1; }
    if grep -q "ERROR OCCURRED" "$work/log"; then cat "$work/log" >&2; exit 1; fi
    # Event order: Ir Bc Bcm Bi Bim.
    callgrind_annotate --show-percs=no "$out" | awk '/PROGRAM TOTALS/ { gsub(",", ""); print $1, $3 }'
}

printf "scale %s, %s\n" "$scale" "$bench"
printf "%-11s %10s %12s %12s %7s %15s %14s\n" workload records "floor/rec" "both/rec" ratio "floor miss/rec" "both miss/rec"
for w in "${workloads[@]}"; do
    read -r floor floor_miss < <(count "floor/$w" '*floor_pass*')
    records=$(sed -n "s/.*sipdetect_bench_records:.* $w \([0-9]*\).*/\1/p" "$work/log")
    [ -n "$records" ] || { echo "instructions.sh: the run printed no record count for $w" >&2; exit 1; }
    read -r both both_miss < <(count "both/$w" '*feed_lanes*')
    awk -v w="$w" -v n="$records" -v f="$floor" -v b="$both" -v fm="$floor_miss" -v bm="$both_miss" \
        'BEGIN { printf "%-11s %10d %12.1f %12.1f %6.2fx %15.2f %14.2f\n", w, n, f / n, b / n, b / f, fm / n, bm / n }'
done
