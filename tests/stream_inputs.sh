#!/usr/bin/env bash
# The program's streams end to end:
#  - `cat FILE | sipdetect -` gives the events of `sipdetect FILE`, for the demo
#    capture and captures, exports and logs of ../shared/data (skipped when absent);
#  - `sipdetect --follow LOG` on a Zeek log that is appended, rotated and
#    truncated while read gives the events of the whole log read at once.
#   usage: stream_inputs.sh SIPDETECT SOURCE_DIR
# Every process is stopped by its PID; every wait is bounded.
set -uo pipefail
sipdetect=$1; source_dir=$2
data=${SIPDETECT_SHARED_DATA:-$source_dir/../shared/data}
tmp=$(mktemp -d)
follower=
cleanup() {
    [ -n "$follower" ] && kill -KILL "$follower" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
run() { "$sipdetect" --closed-season 0 --threshold 5 --json --no-progress --status-interval 0 "$@"; }

# 0. What the command line refuses (exit status 2, the option named).
refused() { # EXPECTED-TEXT ARGS...
    local expected=$1; shift
    "$sipdetect" "$@" >/dev/null 2>"$tmp/usage"; local rc=$?
    if [ "$rc" -ne 2 ] || ! grep -qF -- "$expected" "$tmp/usage"; then
        fail "sipdetect $*: exit $rc, expected 2 and \"$expected\""; cat "$tmp/usage" >&2
    fi
}
refused "--ipfix-listen" --ipfix-listen sctp:127.0.0.1:4739
refused "--ipfix-listen" --ipfix-listen udp:localhost:4739
refused "--ipfix-listen" --ipfix-listen tcp:127.0.0.1:70000
refused "--ipfix-template-timeout" --ipfix-listen udp:127.0.0.1:4739 --ipfix-template-timeout 0
refused "standard input (-) cannot be read with other files" - "$source_dir/examples/data/demo.pcap"
refused "cannot be read in one run" --follow /nonexistent/sip.log "$source_dir/examples/data/demo.pcap"

# 1. Standard input.
inputs=("$source_dir/examples/data/demo.pcap")
shared=(initconf-sip-attacks/SIP-Bruteforce-Single-IP.pcap initconf-sip-attacks/SIP-212.32.250.134.pcap
        lab/live-sipvicious-scan.pcap sipnab/b2bua-asterisk.pcapng ipfix/SIP-212.32.250.134.ipfix
        ipfix/live-svmap-horizontal.ipfix ipfixprobe/sip.unirec.csv zeek/wireshark.sip.log)
if [ -d "$data" ]; then
    for f in "${shared[@]}"; do inputs+=("$data/$f"); done
elif [ "${CI:-}" = true ]; then
    fail "missing shared data in CI: $data"
else
    echo "SKIPPED: no shared data at $data: standard input checked on the demo capture only"
fi
for f in "${inputs[@]}"; do
    run "$f" >"$tmp/expected" 2>/dev/null
    timeout 120 bash -c 'cat "$1" | "${@:2}" -' _ "$f" "$sipdetect" --closed-season 0 --threshold 5 --json --no-progress \
        --status-interval 0 >"$tmp/got" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 0 ]; then fail "cat $f | sipdetect -: exit $rc"; cat "$tmp/err" >&2
    elif cmp -s "$tmp/expected" "$tmp/got"; then echo "ok: cat $(basename "$f") | sipdetect - ($(wc -l <"$tmp/got") events)"
    else fail "cat $f | sipdetect -: other events than the file's"; diff "$tmp/expected" "$tmp/got" | head >&2
    fi
done

# 2. A followed Zeek JSON log: a REGISTER scan of 40 users from one source,
#    then a second scanner, written in pieces, with a rotation and a truncation.
line() { # SECOND SOURCE USER
    printf '{"ts":%s.5,"uid":"C%s","id.orig_h":"%s","id.orig_p":5070,"id.resp_h":"192.0.2.10","id.resp_p":5060,"method":"REGISTER","uri":"sip:192.0.2.10","request_from":"<sip:%s@192.0.2.10>","request_to":"<sip:%s@192.0.2.10>","status_code":404,"user_agent":"friendly-scanner"}\n' \
        "$1" "$1" "$2" "$3" "$3"
}
for i in $(seq 0 39); do line $((1700000000 + i)) 198.51.100.7 "u$i"; done >"$tmp/part1"
for i in $(seq 0 39); do line $((1700000100 + i)) 203.0.113.9 "v$i"; done >"$tmp/part2"
for i in $(seq 0 19); do line $((1700000200 + i)) 198.51.100.8 "w$i"; done >"$tmp/part3"
cat "$tmp/part1" "$tmp/part2" "$tmp/part3" >"$tmp/whole.log"
run "$tmp/whole.log" >"$tmp/follow.expected" 2>/dev/null
log=$tmp/zeek/sip.log; mkdir -p "$tmp/zeek"
head -n 25 "$tmp/part1" >"$log"
"$sipdetect" --closed-season 0 --threshold 5 --json --no-progress --status-interval 0 --follow "$log" \
    >"$tmp/follow.got" 2>"$tmp/follow.err" &
follower=$!
sleep 0.5
tail -n +26 "$tmp/part1" | head -c 700 >>"$log"          # a partial last line
sleep 0.3
tail -n +26 "$tmp/part1" | tail -c +701 >>"$log"
sleep 0.3
mv "$log" "$log.1"                                         # rotated: renamed, then recreated
head -n 20 "$tmp/part2" >"$log"
sleep 0.5
tail -n +21 "$tmp/part2" >>"$log"
sleep 0.5
: >"$log"                                                  # truncated, then written from its start
sleep 0.5
cat "$tmp/part3" >>"$log"
sleep 2
kill -TERM "$follower"
for _ in $(seq 200); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
kill -0 "$follower" 2>/dev/null && { kill -KILL "$follower"; fail "--follow ignored SIGTERM"; }
wait "$follower"; rc=$?; follower=
[ "$rc" -eq 0 ] || { fail "--follow exited $rc"; cat "$tmp/follow.err" >&2; }
if [ "$(wc -l <"$tmp/follow.expected")" -lt 4 ]; then
    fail "the whole log gives too few events to compare: $(wc -l <"$tmp/follow.expected")"
elif cmp -s "$tmp/follow.expected" "$tmp/follow.got"; then
    echo "ok: --follow through a partial line, a rotation and a truncation ($(wc -l <"$tmp/follow.got") events)"
else
    fail "--follow: other events than the whole log's"; diff "$tmp/follow.expected" "$tmp/follow.got" | head >&2
fi

[ "$failures" -eq 0 ] && echo "all stream checks passed"
exit $((failures > 0))
