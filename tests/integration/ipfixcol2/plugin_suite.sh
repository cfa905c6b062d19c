#!/usr/bin/env bash
# The ipfixcol2 output plugin end to end with CESNET's real tools, on
# 127.0.0.1 only: free ports picked at run time, every process stopped by its
# PID, every wait bounded in time.
#   usage: plugin_suite.sh CASE TOOLS_PREFIX PLUGIN_SO SIPDETECT WORKDIR
# CASE: replay-tcp, replay-udp (every file of ../shared/data/ipfix through
# ipfixsend2; with TCP also three exporters at once and Flowmon's
# elements), live (ipfixprobe exporting the lab captures), restart (a file
# in two halves, the collector stopped with SIGINT between), hostile (mutated
# messages, then a real file), params (plugin listing, refused parameters).
# The collector runs examples/ipfixcol2/startup.xml, the README's file, with
# its ports, output and state paths replaced. SIPDETECT_PLUGIN_PRELOAD, when
# set, is preloaded into ipfixcol2 (the ASan runtime of a sanitized plugin).
# Exit 77 (skip) when ../shared is absent outside CI.
set -euo pipefail
case_name=${1:?usage}; prefix=${2:?usage}; plugin=${3:?usage}; sipdetect=${4:?usage}; work=${5:?usage}
root=$(cd "$(dirname "$0")/../../.." && pwd)
data=$root/../shared/data
tool=$root/tests/integration/ipfixcol2/ipfix_tool.py
startup=$root/examples/ipfixcol2/startup.xml
if [ ! -d "$data/ipfix" ]; then
    if [ "${CI:-}" = true ]; then echo "plugin_suite: $data/ipfix is missing (required in CI)" >&2; exit 1; fi
    echo "SKIPPED: $data/ipfix is absent" >&2
    exit 77
fi
rm -rf "$work"; mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(type=socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); print(port); break
    except OSError: pass'
}

# config PORT OUT STATE|- PARAM=VALUE...: startup.xml with the port, output and state replaced, params set.
config() {
    local port=$1 out=$2 state=$3 file
    shift 3
    file=$work/startup-$RANDOM.xml
    sed -e "s#<localPort>4739</localPort>#<localPort>$port</localPort>#" \
        -e "s#<output>/var/log/sipdetect/events.jsonl</output>#<output>$out</output>#" "$startup" >"$file"
    if [ "$state" = - ]; then sed -i '/<state>/d' "$file"; else sed -i "s#<state>/var/lib/sipdetect/state</state>#<state>$state</state>#" "$file"; fi
    for kv in "$@"; do
        local k=${kv%%=*} v=${kv#*=}
        if grep -q "<$k>" "$file"; then sed -i "s#<$k>[^<]*</$k>#<$k>$v</$k>#" "$file"
        else sed -i "s#<format>json</format>#<format>json</format><$k>$v</$k>#" "$file"; fi
    done
    grep -q "<localPort>$port</localPort>" "$file" && grep -q "<output>$out</output>" "$file" || fail "startup.xml no longer has the lines the tests replace"
    echo "$file"
}

collector_pid=
start_collector() { # CONFIG LOG PORT
    LD_PRELOAD=${SIPDETECT_PLUGIN_PRELOAD:-} "$prefix/bin/ipfixcol2" -c "$1" -p "$plugin" -vv >"$2" 2>&1 &
    collector_pid=$!
    pids+=("$collector_pid")
    for _ in $(seq 100); do
        if ss -lnt | grep -q "127.0.0.1:$3 " && ss -lnu | grep -q "127.0.0.1:$3 "; then return; fi
        kill -0 "$collector_pid" 2>/dev/null || { cat "$2" >&2; fail "ipfixcol2 did not start"; }
        sleep 0.1
    done
    cat "$2" >&2; fail "ipfixcol2 does not listen on port $3"
}

# Stops the collector with SIGINT once the data has settled; it must exit cleanly in 60 s.
stop_collector() { # LOG
    sleep 2
    kill -INT "$collector_pid"
    for _ in $(seq 600); do
        kill -0 "$collector_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$collector_pid" 2>/dev/null && fail "ipfixcol2 still runs 60 s after SIGINT"
    local status=0
    wait "$collector_pid" || status=$?
    grep -q "data records:" "$1" || { cat "$1" >&2; fail "the plugin wrote no summary at shutdown (status $status)"; }
    [ "$status" -eq 0 ] || { cat "$1" >&2; fail "ipfixcol2 exited with status $status"; }
}

send() { # FILE PORT TCP|UDP
    local limit=()
    [ "$3" = UDP ] && limit=(-S 2000) # loopback UDP drops what a burst overflows
    timeout 120 "$prefix/bin/ipfixsend2" -i "$1" -d 127.0.0.1 -p "$2" -t "$3" -n 1 "${limit[@]}" >/dev/null
}

# The data records sipdetect reads in an IPFIX file, SIP or not.
data_records() {
    "$sipdetect" --stats "$1" 2>&1 >/dev/null |
        sed -n 's/^input: \([0-9]*\) records.*, \([0-9]*\) records or lines without a SIP message$/\1 \2/p' |
        { read -r sip other; echo $((sip + other)); }
}

capture_of() { # NAME.ipfix -> its capture
    local name
    name=$(basename "$1" .ipfix)
    find "$data" -name "$name.pcap" -not -path '*/ipfix/*' | head -1
}

# expect_events INPUT OUT WHAT: OUT (the plugin's events) is what sipdetect --json reports for INPUT.
expect_events() {
    touch "$2"
    "$sipdetect" --json --closed-season 0 "$1" >"$2.expected"
    same_events "$2.expected" "$2" "$3"
}

same_events() { # EXPECTED ACTUAL WHAT
    if ! cmp -s "$1" "$2"; then
        diff <(cut -c1-300 "$1") <(cut -c1-300 "$2") | head -20 >&2
        fail "$3: the events differ"
    fi
}

replay() { # TCP|UDP
    local proto=$1 checked=0
    for f in "$data"/ipfix/*.ipfix; do
        local name port out log cfg records
        name=$(basename "$f" .ipfix); port=$(free_port)
        out=$work/$name.$proto.jsonl; log=$work/$name.$proto.log
        cfg=$(config "$port" "$out" - closedSeason=0)
        start_collector "$cfg" "$log" "$port"
        send "$f" "$port" "$proto"
        stop_collector "$log"
        expect_events "$f" "$out" "$name over $proto vs sipdetect --json on the IPFIX file"
        records=$(data_records "$f")
        grep -q "INFO: .*: $records data records:" "$log" || { grep 'data records' "$log" >&2; fail "$name over $proto: not $records data records"; }
        local capture
        capture=$(capture_of "$f")
        [ -n "$capture" ] || fail "no capture for $name"
        "$sipdetect" --json --closed-season 0 "$capture" >"$out.capture"
        same_events "$out.capture" "$out" "$name over $proto vs sipdetect --json on its capture"
        echo "$name over $proto: $(wc -l <"$out") events, $records data records, as sipdetect on the file and the capture"
        checked=$((checked + 1))
    done
    [ "$checked" -ge 9 ] || fail "only $checked files replayed"
}

# Three exporters at once (two over TCP, one over UDP, each its own
# observation domain) into one pair of detectors: the events of sipdetect
# reading the three files as one stream.
several_exporters() {
    local port out log a b files=("$data/ipfix/live-sipvicious-scan.ipfix" "$data/ipfix/SIP-212.32.250.134.ipfix"
                                  "$data/ipfix/live-proxy-kamailio.ipfix")
    port=$(free_port); out=$work/several.jsonl; log=$work/several.log
    start_collector "$(config "$port" "$out" - closedSeason=0)" "$log" "$port"
    timeout 120 "$prefix/bin/ipfixsend2" -i "${files[0]}" -d 127.0.0.1 -p "$port" -t TCP -n 1 -O 1 >/dev/null & a=$!
    timeout 120 "$prefix/bin/ipfixsend2" -i "${files[1]}" -d 127.0.0.1 -p "$port" -t TCP -n 1 -O 2 >/dev/null & b=$!
    timeout 120 "$prefix/bin/ipfixsend2" -i "${files[2]}" -d 127.0.0.1 -p "$port" -t UDP -n 1 -O 3 -S 2000 >/dev/null
    wait "$a" "$b"
    stop_collector "$log"
    touch "$out"
    "$sipdetect" --json --closed-season 0 "${files[@]}" >"$out.expected"
    same_events "$out.expected" "$out" "three exporters at once vs sipdetect --json on the three files"
    echo "three exporters at once: $(wc -l <"$out") events, as sipdetect on the three files"
}

# Flowmon's SIP elements: the requests of an export written with them give
# the events sipdetect reports for the same requests with ipfixprobe's; the
# responses, without a Request-URI, are skipped and counted.
flowmon_records() {
    local port out log counts
    port=$(free_port); out=$work/flowmon.jsonl; log=$work/flowmon.log
    counts=$(python3 "$tool" flowmon "$data/ipfix/live-svmap-horizontal.ipfix" "$work/flowmon.ipfix" "$work/ipfixprobe.ipfix")
    start_collector "$(config "$port" "$out" - closedSeason=0)" "$log" "$port"
    send "$work/flowmon.ipfix" "$port" TCP
    stop_collector "$log"
    expect_events "$work/ipfixprobe.ipfix" "$out" "Flowmon's elements vs ipfixprobe's for the same requests"
    [ -s "$out" ] || fail "no events from the Flowmon records: the check tests nothing"
    local responses=${counts#* requests, }
    responses=${responses%% responses}
    grep -q "; skipped: .* $responses Flowmon records without a Request-URI" "$log" ||
        { grep 'data records:' "$log" >&2; fail "the $responses Flowmon responses were not counted as skipped"; }
    echo "Flowmon records ($counts): $(wc -l <"$out") events, as sipdetect on the same requests from ipfixprobe"
}

live() {
    local checked=0
    for capture in "$data"/lab/*.pcap; do
        local name port out log cfg
        name=$(basename "$capture" .pcap); port=$(free_port)
        out=$work/$name.live.jsonl; log=$work/$name.live.log
        cfg=$(config "$port" "$out" - closedSeason=0)
        start_collector "$cfg" "$log" "$port"
        timeout 300 "$prefix/bin/ipfixprobe" -i "pcap;file=$capture" -p sip -o "ipfix;h=127.0.0.1;p=$port;I=1" \
            >"$work/$name.probe.log" 2>&1 || { cat "$work/$name.probe.log" >&2; fail "ipfixprobe on $name"; }
        stop_collector "$log"
        expect_events "$capture" "$out" "ipfixprobe exporting $name vs sipdetect --json on the capture"
        echo "$name exported live by ipfixprobe: $(wc -l <"$out") events, as sipdetect on the capture"
        checked=$((checked + 1))
    done
    [ "$checked" -ge 4 ] || fail "only $checked lab captures"
    grep -q sipproxy "$work/live-proxy-kamailio.live.jsonl" || fail "no proxy found in the kamailio capture"
    grep -q sipscan "$work/live-sipvicious-scan.live.jsonl" || fail "no scan found in the sipvicious capture"
}

# run_half WHO FILE STATE OUT PARAMS...: one half through the plugin or the program, with the state file.
run_half() {
    local who=$1 file=$2 state=$3 out=$4
    shift 4
    if [ "$who" = plugin ]; then
        local port log cfg
        port=$(free_port); log=$work/$(basename "$file").log
        cfg=$(config "$port" "$out" "$state" "$@")
        local fresh=false
        [ -e "$state" ] || fresh=true
        start_collector "$cfg" "$log" "$port"
        send "$file" "$port" TCP
        if $fresh && [[ " $* " == *" checkpointInterval=1 "* ]]; then
            # A checkpoint is saved while the collector runs, before any SIGINT.
            for _ in $(seq 100); do [ -s "$state" ] && break; sleep 0.1; done
            [ -s "$state" ] || fail "no checkpoint of the state within 10 s (checkpointInterval 1)"
            "$sipdetect" --state "$state" "$data/ipfix/sip.ipfix" >/dev/null 2>&1 || fail "the checkpoint does not load"
        fi
        stop_collector "$log"
        [ -s "$state" ] || fail "no state saved at SIGINT"
    else
        local args=()
        for kv in "$@"; do if [ "${kv%%=*}" = closedSeason ]; then args+=(--closed-season "${kv#*=}"); fi; done
        "$sipdetect" --json --state "$state" "${args[@]}" "$file" >>"$out"
    fi
}

restart_case() { # NAME FILE FIRST SECOND SPLIT_SECONDS|'' PARAMS...
    local name=$1 file=$2 first=$3 second=$4 at=$5
    shift 5
    local dir=$work/$name
    mkdir -p "$dir"
    python3 "$tool" split "$file" "$dir/half1.ipfix" "$dir/half2.ipfix" "$dir/whole.ipfix" $at >"$dir/times"
    local args=()
    for kv in "$@"; do if [ "${kv%%=*}" = closedSeason ]; then args+=(--closed-season "${kv#*=}"); fi; done
    "$sipdetect" --json --state "$dir/one-run.state" "${args[@]}" "$dir/whole.ipfix" >"$dir/expected.jsonl"
    : >"$dir/events.jsonl"
    run_half "$first" "$dir/half1.ipfix" "$dir/state" "$dir/events.jsonl" "$@"
    run_half "$second" "$dir/half2.ipfix" "$dir/state" "$dir/events.jsonl" "$@"
    [ -s "$dir/expected.jsonl" ] || fail "$name: the uninterrupted run reports nothing: the case tests nothing"
    same_events "$dir/expected.jsonl" "$dir/events.jsonl" "$name: $first, restart, $second vs one uninterrupted run"
    echo "$name ($first, then $second): $(wc -l <"$dir/events.jsonl") events, as one uninterrupted run"
}

restart() {
    # The kamailio capture split 5 s in, its ClosedSeason (8.6 s) running across the split:
    # one proxy is learned silently before the season ends, one reported after.
    restart_case proxy-season "$data/ipfix/live-proxy-kamailio.ipfix" plugin plugin 5 closedSeason=0.0001 checkpointInterval=1
    grep -q '"source":"127.0.0.20"' "$work/proxy-season/events.jsonl" || fail "proxy-season: the proxy after the season is missing"
    grep -q '"source":"127.0.0.10"' "$work/proxy-season/events.jsonl" && fail "proxy-season: a proxy learned in the season was reported"
    # Scans active across the split, the state passed between the plugin and the program both ways.
    restart_case scans-plugin-then-program "$data/ipfix/SIP-212.32.250.134.ipfix" plugin program ''
    restart_case scans-program-then-plugin "$data/ipfix/SIP-212.32.250.134.ipfix" program plugin ''
    restart_case scans-plugin-then-plugin "$data/ipfix/SIP-Bruteforce-Single-IP.ipfix" plugin plugin ''
}

hostile() {
    local port out log cfg real=$data/ipfix/live-sipvicious-scan.ipfix
    # Structured defects, whose SIP records (if any are accepted) precede the
    # real file: its events must be those sipdetect reports for it alone.
    port=$(free_port); out=$work/structured.jsonl; log=$work/structured.log
    cfg=$(config "$port" "$out" "$work/structured.state" closedSeason=0)
    start_collector "$cfg" "$log" "$port"
    timeout 120 python3 "$tool" hostile structured "$real" 127.0.0.1 "$port"
    kill -0 "$collector_pid" 2>/dev/null || { cat "$log" >&2; fail "ipfixcol2 died on the structured hostile messages"; }
    sleep 1.5 # the hostile records are released (idle) before the real ones come
    send "$real" "$port" TCP
    stop_collector "$log"
    touch "$out"
    "$sipdetect" --json --closed-season 0 --state "$work/expected.state" "$real" >"$work/structured.expected.jsonl"
    same_events "$work/structured.expected.jsonl" "$out" "a real file after the structured hostile messages"
    grep 'data records:' "$log" | grep -q ' [1-9][0-9]* with a field of a wrong size' ||
        { grep 'data records:' "$log" >&2; fail "the records with fields of a wrong size were not counted"; }
    "$sipdetect" --json --state "$work/structured.state" "$data/ipfix/sip.ipfix" >/dev/null ||
        fail "the state saved after the structured hostile messages does not load in sipdetect --state"
    echo "structured hostile messages: $(grep -o '[0-9]* data records:.*' "$log" | head -1)"
    # Every shared file's messages with bytes changed or cut short: whatever
    # they decode to, the collector goes on, exits cleanly and saves a state
    # that sipdetect --state loads (its loader checks every field).
    port=$(free_port); out=$work/flipped.jsonl; log=$work/flipped.log
    cfg=$(config "$port" "$out" "$work/flipped.state")
    start_collector "$cfg" "$log" "$port"
    for f in "$data"/ipfix/*.ipfix; do
        timeout 120 python3 "$tool" hostile flipped "$f" 127.0.0.1 "$port" >/dev/null
        kill -0 "$collector_pid" 2>/dev/null || { cat "$log" >&2; fail "ipfixcol2 died on flipped messages of $f"; }
    done
    send "$real" "$port" TCP
    stop_collector "$log"
    "$sipdetect" --json --state "$work/flipped.state" "$data/ipfix/sip.ipfix" >/dev/null ||
        fail "the state saved after the flipped messages does not load in sipdetect --state"
    echo "flipped messages of $(ls "$data"/ipfix/*.ipfix | wc -l) files: $(grep -o '[0-9]* data records:.*' "$log" | head -1)"
}

params() {
    # format text: the lines of sipdetect's default output.
    local text_port text_out text_log real=$data/ipfix/live-sipvicious-scan.ipfix
    text_port=$(free_port); text_out=$work/text.txt; text_log=$work/text.log
    start_collector "$(config "$text_port" "$text_out" - closedSeason=0 format=text)" "$text_log" "$text_port"
    send "$real" "$text_port" TCP
    stop_collector "$text_log"
    "$sipdetect" --closed-season 0 "$real" >"$work/text.expected"
    [ -s "$work/text.expected" ] || fail "sipdetect reports nothing for $real: the text check tests nothing"
    same_events "$work/text.expected" "$text_out" "format text vs sipdetect's text output"
    echo "format text: $(wc -l <"$text_out") lines, as sipdetect's text output"
    LD_PRELOAD=${SIPDETECT_PLUGIN_PRELOAD:-} "$prefix/bin/ipfixcol2" -L -p "$plugin" >"$work/list.txt" 2>&1 || true
    grep -q 'sipdetect' "$work/list.txt" || { cat "$work/list.txt" >&2; fail "ipfixcol2 -L does not list sipdetect"; }
    local port
    port=$(free_port)
    for bad in "threshold=abc|threshold" "submethods=register,bogus|submethods" "scanFilter=10.0.0.0/33|scanFilter" \
               "maxTracked=0|maxTracked" "closedSeason=-1|closedSeason" "timeToDeath=x|timeToDeath" \
               "proxyFilterMode=both|proxyFilterMode" "format=xml|format" "checkpointInterval=5s|checkpointInterval" \
               "reorderWindow=99999999|reorderWindow" "proxyMinUris=0|proxyMinUris" "unknownParam=1|unknownParam"; do
        local kv=${bad%%|*} name=${bad#*|} cfg log status=0
        cfg=$(config "$port" "$work/never.jsonl" - "$kv"); log=$work/bad-$name.log
        LD_PRELOAD=${SIPDETECT_PLUGIN_PRELOAD:-} timeout 30 "$prefix/bin/ipfixcol2" -c "$cfg" -p "$plugin" >"$log" 2>&1 || status=$?
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$log" >&2; fail "$kv: ipfixcol2 did not refuse it (status $status)"; }
        grep -i 'sipdetect\|SIP scanners' "$log" | grep -q "$name" || { cat "$log" >&2; fail "$kv: the message does not name $name"; }
        echo "refused $kv: $(grep -m1 "$name" "$log")"
    done
}

case $case_name in
    replay-tcp) replay TCP; several_exporters; flowmon_records ;;
    flowmon) flowmon_records ;;
    replay-udp) replay UDP ;;
    live) live ;;
    restart) restart ;;
    hostile) hostile ;;
    params) params ;;
    *) fail "unknown case $case_name" ;;
esac
echo "PASSED: $case_name"
