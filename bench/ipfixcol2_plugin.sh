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
# The file (at least RECORDS SIP records, default 1,000,000) is made once
# from the shared exports with varied addresses by sipdetect_make_ipfix_export
# (in the plugin's build tree), and kept in
# ${SIPDETECT_BENCH_CACHE:-/tmp/sipdetect-ipfixcol2-bench}.
set -euo pipefail
prefix=${1:?usage: ipfixcol2_plugin.sh TOOLS_PREFIX PLUGIN_SO [RECORDS]}
plugin=${2:?usage: ipfixcol2_plugin.sh TOOLS_PREFIX PLUGIN_SO [RECORDS]}
records=${3:-1000000}
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
# The plugin's build tree also has the export generator (bench/ipfix_listen.sh's).
build=$(cd "$(dirname "$plugin")/../.." && pwd)
generator=$build/bench/sipdetect_make_ipfix_export
[ -x "$generator" ] || { echo "missing $generator (build the sipdetect_make_ipfix_export target)" >&2; exit 1; }
cache=${SIPDETECT_BENCH_CACHE:-/tmp/sipdetect-ipfixcol2-bench}
mkdir -p "$cache"
input=$cache/sip-$records.ipfix
if [ ! -s "$input" ] || [ ! -s "$cache/sip-$records.count" ]; then
    "$generator" "$input.tmp" "$records" "$root"/../shared/data/ipfix/*.ipfix >"$cache/sip-$records.count"
    mv "$input.tmp" "$input"
fi
made=$(cat "$cache/sip-$records.count")
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
  <path>$work/json/</path><prefix>json.</prefix><timeWindow>3600</timeWindow><timeAlignment>no</timeAlignment>
  </file></outputs></params></output>"
ours="<output><name>sipdetect</name><plugin>sipdetect</plugin><params><output>$work/events.jsonl</output></params></output>"

# measure NAME OUTPUT_XML: "WALL CPU", the seconds of the run with the least
# wall time among $runs runs, and the collector's CPU time (user + system) in it.
measure() {
    config "$2" >"$work/$1.xml"
    python3 - "$runs" "$work" "$prefix/bin/ipfixcol2" -c "$work/$1.xml" -p "$plugin" <<'PY'
import os, resource, shutil, subprocess, sys, time
runs, work, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
best = None
for _ in range(runs):
    shutil.rmtree(f"{work}/json", ignore_errors=True)
    os.makedirs(f"{work}/json")
    if os.path.exists(f"{work}/events.jsonl"):
        os.remove(f"{work}/events.jsonl")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"ipfixcol2 failed: {done.stderr.decode(errors='replace')}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if best is None or wall < best[0]:
        best = (wall, cpu)
print(f"{best[0]:.3f} {best[1]:.3f}")
PY
}

dummy_times=$(measure dummy "$dummy")
json_times=$(measure json "$json")
ours_times=$(measure sipdetect "$ours")
events=$(wc -l <"$work/events.jsonl")
python3 - "$made" "$events" $dummy_times $json_times $ours_times <<'PY'
import sys
made, events = int(sys.argv[1]), int(sys.argv[2])
(dw, dc), (jw, jc), (ow, oc) = [(float(sys.argv[i]), float(sys.argv[i + 1])) for i in (3, 5, 7)]
rate = lambda s: made / s / 1e6
print(f"ipfixcol2 reading {made:,} SIP records from one IPFIX file (best wall time of the runs):")
print(f"                        wall clock            CPU time (user + system)")
for name, w, c in (("dummy output", dw, dc), ("json output to a file", jw, jc), ("sipdetect output", ow, oc)):
    print(f"  {name:22s}{rate(w):6.2f} M records/s ({w:6.2f} s)  {rate(c):6.2f} M records/s ({c:6.2f} s)")
print(f"  sipdetect's {events} events are in the run's output file")
for what, ours, other, target in (("dummy", ow, dw, 0.5), ("json", ow, jw, 2.0)):
    ratio = other / ours
    print(f"  sipdetect / {what} rate, wall clock: {ratio:.2f} (target >= {target:.2f}): {'met' if ratio >= target else 'MISSED'}")
for what, ours, other, target in (("dummy", oc, dc, 0.5), ("json", oc, jc, 2.0)):
    print(f"  sipdetect / {what} rate, CPU time:   {other / ours:.2f} (target >= {target:.2f})")
PY
