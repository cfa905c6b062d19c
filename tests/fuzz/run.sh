#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#
#   tests/fuzz/run.sh [build dir]        default build dir: build/fuzz
#
# Environment:
#   SIPDETECT_FUZZ_SECONDS   seconds per target (default 60)
#   SIPDETECT_FUZZ_TARGETS   space-separated subset, e.g. "sip_parser record_stream"
#   SIPDETECT_SHARED_DATA    captures and logs to cut run-time seeds from (default ../shared/data)
#
# Seeds: the committed corpus tests/fuzz/corpus/<target>/ plus small cuts of
# the shared data made here at run time (never committed). New corpus
# entries, logs and crash artifacts go to <build dir>/fuzz-work/, never into
# the repository. Prints one summary line per target and a total; exits
# non-zero if any target crashed, naming the artifact to reproduce it:
#   <build dir>/tests/fuzz_<target> <artifact>
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$fuzz_dir/../.." && pwd)
build=${1:-$root/build/fuzz}
seconds=${SIPDETECT_FUZZ_SECONDS:-60}
data=${SIPDETECT_SHARED_DATA:-$root/../shared/data}
all_targets="sip_parser address pcap_reader netmon_reader zeek_tsv_reader zeek_json_reader ipfixprobe_reader ipfix_reader scan_state proxy_state campaign_state record_stream"

mkdir -p "$build"
build=$(cd "$build" && pwd)
work=$build/fuzz-work
mkdir -p "$work"

# --- build ---------------------------------------------------------------
if ! { cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSIPDETECT_FUZZ=ON -DSIPDETECT_BUILD_BENCHMARKS=OFF &&
       cmake --build "$build" --target sipdetect_fuzzers -j "$(nproc)"; } >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    echo "fuzz: build failed (log: $work/build.log; is tests/fuzz/fuzz.cmake included from tests/CMakeLists.txt?)" >&2
    exit 2
fi

binary_of() {
    find "$build" -type f -name "fuzz_$1" -perm -u+x -print -quit
}

# The requested targets, or every target that was built (netmon_reader only
# exists when the readers include it).
if [[ -n "${SIPDETECT_FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<< "$SIPDETECT_FUZZ_TARGETS"
    for t in "${targets[@]}"; do
        [[ -n "$(binary_of "$t")" ]] || { echo "fuzz: no binary fuzz_$t under $build" >&2; exit 2; }
    done
else
    targets=()
    for t in $all_targets; do
        [[ -n "$(binary_of "$t")" ]] && targets+=("$t")
    done
fi

# --- run-time seeds: small cuts of the shared data, in scratch -------------
seeds=$work/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{sip_parser,pcap_reader,netmon_reader,zeek_tsv_reader,zeek_json_reader,ipfixprobe_reader}
if [[ -d "$data" ]]; then
    n=0
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        base=$(basename "$f")
        out=$seeds/pcap_reader/$n-$base
        magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
        if command -v editcap >/dev/null 2>&1; then
            # The first 40 packets, as pcapng when the file is one, else as pcap; and as NetMon 2.x.
            format=pcap
            [[ $magic == 0a0d0d0a ]] && format=pcapng
            editcap -F "$format" -r "$f" "$out" 1-40 >/dev/null 2>&1 || head -c 16384 "$f" >"$out"
            editcap -F netmon2 -r "$f" "$seeds/netmon_reader/$n-$base" 1-40 >/dev/null 2>&1 ||
                rm -f "$seeds/netmon_reader/$n-$base"
        else
            head -c 16384 "$f" >"$out"
        fi
        [[ $magic == 474d4255 ]] && head -c 65536 "$f" >"$seeds/netmon_reader/$n-head-$base"
        # SIP payloads for the parser: the first 20 of each capture.
        if command -v tshark >/dev/null 2>&1 && command -v xxd >/dev/null 2>&1; then
            k=0
            while IFS= read -r hex; do
                hex=${hex//[[:space:],]/}
                [[ -n "$hex" ]] || continue
                k=$((k + 1))
                printf '%s' "$hex" | xxd -r -p >"$seeds/sip_parser/$n-$k"
            done < <(tshark -r "$f" -Y 'sip && !icmp' -T fields -e udp.payload -e tcp.payload 2>/dev/null | head -n 20)
        fi
    done < <(find "$data" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)

    while IFS= read -r -d '' f; do
        base=$(basename "$f")
        head -c 16384 "$f" >"$seeds/zeek_tsv_reader/$base"
        # The same log as JSON lines, when python3 is at hand.
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$f" >"$seeds/zeek_json_reader/$base.json" <<'PY' || true
import json, sys
fields, sep, unset = [], "\t", "-"
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("#fields"):
        fields = line.split(sep)[1:]
    elif line.startswith("#unset_field"):
        unset = line.split(sep)[1]
    elif line and not line.startswith("#") and fields:
        values = line.split(sep)
        obj = {k: v for k, v in zip(fields, values) if v != unset}
        for k in ("id.orig_p", "id.resp_p", "status_code"):
            if obj.get(k, "").isdigit():
                obj[k] = int(obj[k])
        print(json.dumps(obj))
PY
        fi
    done < <(find "$data" -type f -name '*.log' -print0 | sort -z)

    while IFS= read -r -d '' f; do
        base=$(basename "$f")
        # A few records and the template line (the last line).
        { head -n 12 "$f"; tail -n 1 "$f"; } >"$seeds/ipfixprobe_reader/$base"
        head -c 16384 "$f" >"$seeds/ipfixprobe_reader/head-$base"
    done < <(find "$data" -type f -name '*.csv' -print0 | sort -z)
fi

# --- fuzz ------------------------------------------------------------------
max_len_of() {
    case $1 in
        pcap_reader | netmon_reader | ipfix_reader) echo 65536 ;;
        zeek_tsv_reader | zeek_json_reader | ipfixprobe_reader) echo 16384 ;;
        record_stream | scan_state | proxy_state) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

total_seconds=0
total_crashes=0
artifacts=()
for t in "${targets[@]}"; do
    bin=$(binary_of "$t")
    dir=$work/$t
    mkdir -p "$dir/corpus" "$dir/artifacts"
    rm -f "$dir/artifacts"/*
    seed_dirs=("$fuzz_dir/corpus/$t")
    [[ -d "$fuzz_dir/regressions/$t" ]] && seed_dirs+=("$fuzz_dir/regressions/$t")
    [[ -d "$seeds/$t" ]] && seed_dirs+=("$seeds/$t")
    dict=()
    [[ -f "$fuzz_dir/dict/$t.dict" ]] && dict=("-dict=$fuzz_dir/dict/$t.dict")
    start=$(date +%s)
    rc=0
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len_of "$t")" \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" \
        "$dir/corpus" "${seed_dirs[@]}" >"$dir/fuzz.log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$dir/fuzz.log" | tail -n 1)
    if [[ -z "$runs" ]]; then
        runs=$(grep -oE '^#[0-9]+' "$dir/fuzz.log" | tail -n 1 | tr -d '#' || true)
        runs=${runs:-0}
    else
        reported=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/fuzz.log" | tail -n 1)
        elapsed=${reported:-$elapsed}
    fi
    crashes=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [[ $rc -ne 0 && $crashes -eq 0 ]]; then crashes=1; fi
    while IFS= read -r a; do artifacts+=("$t: $bin $a"); done < <(find "$dir/artifacts" -type f | sort)
    [[ $rc -ne 0 ]] && artifacts+=("$t: log $dir/fuzz.log")
    echo "fuzz: $t $elapsed s, $runs inputs, $crashes crashes"
    total_seconds=$((total_seconds + elapsed))
    total_crashes=$((total_crashes + crashes))
done

for a in "${artifacts[@]}"; do echo "fuzz: artifact $a"; done
# CI keeps only this output: show each failure's report, and its input when
# it is small enough to paste back (base64 -d > input) and replay.
for t in "${targets[@]}"; do
    dir=$work/$t
    while IFS= read -r a; do
        echo "fuzz: --- $t: $(basename "$a") ---"
        grep -E -A 30 'fuzz invariant failed|==[0-9]+== ?ERROR|runtime error' "$dir/fuzz.log" | head -n 60 || true
        if [[ $(stat -c %s "$a") -le 16384 ]]; then
            echo "fuzz: input, base64:"
            base64 -w 76 "$a"
        fi
    done < <(find "$dir/artifacts" -type f | sort)
done
echo "fuzz: ${#targets[@]} targets, $total_seconds s, $total_crashes crashes"
[[ $total_crashes -eq 0 ]]
