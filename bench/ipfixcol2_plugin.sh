#!/usr/bin/env bash
# The ipfixcol2 output plugin's cost, measured in one run three ways: the
# collector reading one large IPFIX file (its "ipfix" file input) into its
# dummy output (the collector's own cost), into its json output writing to a
# file (what a typical output plugin costs), and into our plugin. Prints the
# records per second of each (best of RUNS runs) and the ratios, against the
# targets: ours >= 50 % of dummy's rate, >= 2x json's.
#
#   bash bench/ipfixcol2_plugin.sh TOOLS_PREFIX PLUGIN_SO [RECORDS]
#
# TOOLS_PREFIX: where ../shared/third_party/build.sh put the tools; PLUGIN_SO:
# libsipdetect-output.so of a Release build (cmake -DCMAKE_BUILD_TYPE=Release
# -DSIPDETECT_BUILD_IPFIXCOL2_PLUGIN=ON -DCMAKE_PREFIX_PATH=TOOLS_PREFIX).
# The file (RECORDS SIP records, default 1,000,000) is made once from the
# shared exports with varied addresses, users and times, and kept in
# ${SIPDETECT_BENCH_CACHE:-/tmp/sipdetect-ipfixcol2-bench}.
set -euo pipefail
prefix=${1:?usage: ipfixcol2_plugin.sh TOOLS_PREFIX PLUGIN_SO [RECORDS]}
plugin=${2:?usage: ipfixcol2_plugin.sh TOOLS_PREFIX PLUGIN_SO [RECORDS]}
records=${3:-1000000}
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SIPDETECT_BENCH_CACHE:-/tmp/sipdetect-ipfixcol2-bench}
mkdir -p "$cache"
input=$cache/sip-$records.ipfix
if [ ! -s "$input" ]; then
    python3 "$root/tests/integration/ipfixcol2/ipfix_tool.py" multiply "$root"/../shared/data/ipfix/*.ipfix \
        --records "$records" "$input.tmp"
    mv "$input.tmp" "$input"
fi
made=$(python3 -c "import sys; sys.path.insert(0, '$root/tests/integration/ipfixcol2'); import ipfix_tool as t; print(len(t.read_records('$input')[1]))")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

config() { # OUTPUT_XML
    cat <<XML
<ipfixcol2>
  <inputPlugins><input><name>file</name><plugin>ipfix</plugin>
    <params><path>$input</path></params></input></inputPlugins>
  <outputPlugins>$1</outputPlugins>
</ipfixcol2>
XML
}
dummy='<output><name>dummy</name><plugin>dummy</plugin><params><delay>0</delay></params></output>'
json="<output><name>json</name><plugin>json</plugin><params><outputs><file><name>file</name>
  <path>$work/json/</path><prefix>json.</prefix><timeWindow>0</timeWindow><timeAlignment>no</timeAlignment>
  </file></outputs></params></output>"
ours="<output><name>sipdetect</name><plugin>sipdetect</plugin><params><output>$work/events.jsonl</output></params></output>"

# rate NAME OUTPUT_XML: the best records per second of $runs runs.
rate() {
    config "$2" >"$work/$1.xml"
    local best=0
    for _ in $(seq "$runs"); do
        rm -rf "$work/json" "$work/events.jsonl"
        mkdir -p "$work/json"
        local start end
        start=$(date +%s.%N)
        timeout 600 "$prefix/bin/ipfixcol2" -c "$work/$1.xml" -p "$plugin" >"$work/$1.log" 2>&1 ||
            { cat "$work/$1.log" >&2; echo "ipfixcol2 with the $1 output failed" >&2; exit 1; }
        end=$(date +%s.%N)
        best=$(python3 -c "print(max($best, $made / ($end - $start)))")
    done
    echo "$best"
}

dummy_rate=$(rate dummy "$dummy")
json_rate=$(rate json "$json")
ours_rate=$(rate sipdetect "$ours")
events=$(wc -l <"$work/events.jsonl")
python3 - "$made" "$dummy_rate" "$json_rate" "$ours_rate" "$events" <<'PY'
import sys
made, dummy, json, ours, events = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5])
print(f"ipfixcol2 reading {made:,} SIP records from one IPFIX file (best of the runs):")
print(f"  dummy output          {dummy / 1e6:6.2f} M records/s")
print(f"  json output to a file {json / 1e6:6.2f} M records/s")
print(f"  sipdetect output      {ours / 1e6:6.2f} M records/s ({events} events)")
print(f"  sipdetect / dummy = {ours / dummy:.2f} (target >= 0.50): {'met' if ours / dummy >= 0.5 else 'MISSED'}")
print(f"  sipdetect / json  = {ours / json:.2f} (target >= 2.00): {'met' if ours / json >= 2 else 'MISSED'}")
PY
