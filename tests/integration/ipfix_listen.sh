#!/usr/bin/env bash
# sipdetect --ipfix-listen against real exporters, on 127.0.0.1 only:
#  - CESNET's ipfixsend2 replaying every ../shared/data/ipfix file,
#  - two ipfixsend2 at once, each replaying another file into one listener,
#  - the real ipfixprobe exporting captures of ../shared/data live,
# each must give the events of `sipdetect` reading the same IPFIX file(s).
#   usage: ipfix_listen.sh SIPDETECT FLOW_TOOLS_PREFIX tcp|udp
# Every process is stopped by its PID; every wait is bounded.
set -uo pipefail
sipdetect=$1; tools=$2; transport=$3
here=$(cd "$(dirname "$0")" && pwd)
data=${SIPDETECT_SHARED_DATA:-$here/../../../shared/data}
if [ ! -d "$data/ipfix" ]; then
    if [ "${CI:-}" = true ]; then echo "missing shared data in CI: $data/ipfix" >&2; exit 1; fi
    echo "SKIPPED: no shared data at $data/ipfix"; exit 77
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

free_port() { # a port free now on 127.0.0.1 for the transport
    python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$transport"
}
send_type=$([ "$transport" = udp ] && echo UDP || echo TCP)

# Records a file run reads: the count the listener must reach.
records_in() { "$sipdetect" --stats --no-progress "$@" 2>&1 >/dev/null | sed -n 's/^input: \([0-9]*\) records.*/\1/p'; }

listener=; out=; err=
start_listener() { # NAME: a listener on a free port, ready when it says it reads
    out=$tmp/$1.events; err=$tmp/$1.err; port=$(free_port)
    "$sipdetect" --ipfix-listen "$transport:127.0.0.1:$port" --allow-root --closed-season 0 --json --no-progress \
        --status-interval 1 >"$out" 2>"$err" &
    listener=$!; pids+=("$listener")
    for _ in $(seq 100); do grep -q "live: reading" "$err" && return 0; kill -0 "$listener" 2>/dev/null || break; sleep 0.1; done
    fail "$1: the listener did not start"; cat "$err" >&2; return 1
}
wait_records() { # N: until the status line counts N records (at most 120 s)
    for _ in $(seq 1200); do
        got=$(sed -n 's/.* \([0-9]*\) records in all.*/\1/p' "$err" | tail -1)
        [ "${got:-0}" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "the listener counted ${got:-0} records of $1"; return 1
}
stop_listener() { # SIGTERM, then at most 20 s to exit 0
    kill -TERM "$listener"
    for _ in $(seq 200); do kill -0 "$listener" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$listener" 2>/dev/null; then kill -KILL "$listener"; fail "the listener ignored SIGTERM"; fi
    wait "$listener"; local rc=$?
    [ "$rc" -eq 0 ] || { fail "the listener exited $rc"; cat "$err" >&2; }
}
same_events() { # NAME FILE...: the listener's events are those of the file run
    local name=$1; shift
    "$sipdetect" --closed-season 0 --json --no-progress "$@" >"$tmp/$name.expected" 2>/dev/null
    if cmp -s "$tmp/$name.expected" "$out"; then
        echo "ok: $name ($(wc -l <"$out") events)"
    else
        fail "$name: events differ from the file run"; diff "$tmp/$name.expected" "$out" | head -20 >&2
    fi
}
# UDP has no flow control: paced so that the loopback socket buffer never overflows.
pace=(); [ "$transport" = udp ] && pace=(-S 5000)

# 1. ipfixsend2 replaying every shared IPFIX file.
for f in "$data"/ipfix/*.ipfix; do
    name=send-$(basename "$f" .ipfix)
    start_listener "$name" || continue
    n=$(records_in "$f")
    timeout 120 "$tools/bin/ipfixsend2" -i "$f" -d 127.0.0.1 -p "$port" -t "$send_type" -n 1 "${pace[@]}" >/dev/null \
        || fail "$name: ipfixsend2 failed"
    wait_records "$n"
    stop_listener
    same_events "$name" "$f"
done

# 2. Two exporters at once into one listener, each its own session.
a=$data/ipfix/SIP-Bruteforce-Single-IP.ipfix; b=$data/ipfix/live-sipvicious-scan.ipfix
if start_listener two-exporters; then
    n=$(records_in "$a" "$b")
    timeout 120 "$tools/bin/ipfixsend2" -i "$a" -d 127.0.0.1 -p "$port" -t "$send_type" -n 1 "${pace[@]}" >/dev/null &
    sender_a=$!; pids+=("$sender_a")
    timeout 120 "$tools/bin/ipfixsend2" -i "$b" -d 127.0.0.1 -p "$port" -t "$send_type" -n 1 "${pace[@]}" >/dev/null &
    sender_b=$!; pids+=("$sender_b")
    wait "$sender_a" || fail "two exporters: ipfixsend2 of $a failed"
    wait "$sender_b" || fail "two exporters: ipfixsend2 of $b failed"
    wait_records "$n"
    stop_listener
    same_events two-exporters "$a" "$b"
fi

# 3. The real ipfixprobe exporting captures live.
for capture in initconf-sip-attacks/SIP-Bruteforce-Single-IP.pcap lab/live-svmap-horizontal.pcap \
               lab/live-proxy-kamailio.pcap ipfixprobe/sip.pcap; do
    name=probe-$(basename "$capture" .pcap)
    exported=$data/ipfix/$(basename "$capture" .pcap).ipfix
    start_listener "$name" || continue
    n=$(records_in "$exported")
    udp_flag=; [ "$transport" = udp ] && udp_flag=";u"
    timeout 120 "$tools/bin/ipfixprobe" -i "pcap;file=$data/$capture" -p sip \
        -o "ipfix;h=127.0.0.1;p=$port;I=1$udp_flag" >"$tmp/$name.probe" 2>&1 || { fail "$name: ipfixprobe failed"; cat "$tmp/$name.probe" >&2; }
    wait_records "$n"
    stop_listener
    same_events "$name" "$exported"
done

[ "$failures" -eq 0 ] && echo "all ipfix-listen ($transport) checks passed"
exit $((failures > 0))
