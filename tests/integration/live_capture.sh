#!/usr/bin/env bash
# Live capture against real SIP software, in a network namespace of its own:
# kamailio as proxy (127.0.0.10) and registrar (127.0.0.20), SIPp calls
# through the proxy, then sipvicious svmap and svwar, with
# `sipdetect -i lo --closed-season 0 --user nobody` capturing on the
# namespace's loopback. Each scan and the new proxy must be printed within
# 5 s of the traffic that made it; the capture must run as nobody without
# capabilities; SIGTERM must save the state and exit 0; a restarted
# sipdetect with that state must know the proxy (no second new_proxy).
#   usage: live_capture.sh SIPDETECT SCRATCH_DIR
# Exit 77 (skip) without root, the tools or ../shared/traffic-lab; in CI
# (CI=true) those are failures.
set -euo pipefail
cli=$1
dir=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
lab=$root/../shared/traffic-lab

skip() {
    if [ "${CI:-}" = true ]; then echo "live capture: $1 (required in CI)" >&2; exit 1; fi
    echo "SKIPPED: $1" >&2
    exit 77
}
[ "$(id -u)" = 0 ] || skip "not root: network namespaces need it"
[ -f "$lab/proxy.cfg" ] || skip "$lab is absent"
for tool in ip kamailio sipp svmap svwar; do
    command -v "$tool" >/dev/null || skip "$tool is missing (cmake/install-debian-deps.sh --full installs it)"
done

ns=sipdetect-live-$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "live capture: $*" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir/run" "$dir/home" "$dir/state"
chown nobody "$dir/state" # the capture saves its state as nobody
export HOME=$dir/home     # sipvicious writes its session files under ~/.sipvicious
ip netns add "$ns"
# In the namespace, for commands in the foreground (a background job must be
# `ip netns exec` itself, so that $! is the process to stop).
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up

# Waits (at most $2 seconds) until file $1 has a line matching regex $3; prints the seconds waited.
wait_for_line() {
    local file=$1 limit=$2 pattern=$3 start now
    start=$(date +%s%N)
    while :; do
        if grep -qE "$pattern" "$file" 2>/dev/null; then
            now=$(date +%s%N)
            awk -v ns=$((now - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
            return 0
        fi
        now=$(date +%s%N)
        [ $((now - start)) -lt $((limit * 1000000000)) ] || return 1
        sleep 0.1
    done
}

start_sipdetect() { # $1: name of the run, then more options
    ip netns exec "$ns" "$cli" -i lo --closed-season 0 --user nobody --state "$dir/state/sipdetect.state" --json --stats \
        --learned-proxies --status-interval 1 "${@:2}" >"$dir/$1.jsonl" 2>"$dir/$1.err" &
    sipdetect_pid=$!
    pids+=("$sipdetect_pid")
    wait_for_line "$dir/$1.err" 10 "live: reading lo" >/dev/null || fail "$1: sipdetect did not start: $(cat "$dir/$1.err")"
}

stop_sipdetect() { # $1: name of the run, $2: the signal (default TERM); it must end with status 0 within 10 s
    kill -"${2:-TERM}" "$sipdetect_pid"
    local status=0
    timeout 10 tail --pid="$sipdetect_pid" -f /dev/null || fail "$1: sipdetect did not stop within 10 s of SIGTERM"
    wait "$sipdetect_pid" || status=$?
    [ "$status" = 0 ] || fail "$1: sipdetect exited with $status after SIGTERM: $(cat "$dir/$1.err")"
}

calls_through_proxy() { # twelve users call through the proxy, twice each
    {
        echo SEQUENTIAL
        for u in alice bob carol dave erin frank grace heidi ivan judy u1 u2; do echo "$u;00420555900$((RANDOM % 90 + 10));"; done
    } >"$dir/calls.csv"
    (cd "$dir/run" && timeout 60 ip netns exec "$ns" sipp 127.0.0.10:5060 -sf "$lab/uac_users.xml" -inf "$dir/calls.csv" \
        -i 127.0.0.31 -p 5031 -m 24 -l 4 -r 6 -nostdin -timeout 50s -timeout_error >"$dir/sipp-calls.log" 2>&1) ||
        fail "the SIPp calls through the proxy failed: $(tail -5 "$dir/sipp-calls.log")"
}

# As systemd starts it (a user that is not root, no new privileges, CAP_NET_RAW as an ambient
# capability): the capture opens, not in promiscuous mode, then no
# capability is left. --promiscuous turns it on. Root without --user or
# --allow-root is refused.
ip netns exec "$ns" setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups --no-new-privs --inh-caps +net_raw \
    --ambient-caps +net_raw "$cli" -i lo --status-interval 0 >/dev/null 2>"$dir/caps.err" &
caps_pid=$!
pids+=("$caps_pid")
wait_for_line "$dir/caps.err" 10 "live: reading lo" >/dev/null || fail "with CAP_NET_RAW only: $(cat "$dir/caps.err")"
for set in CapPrm CapEff CapAmb CapInh; do
    grep -qE "^$set:\s+0+$" "/proc/$caps_pid/status" || fail "capabilities left: $(grep "^$set" "/proc/$caps_pid/status")"
done
ip -n "$ns" -d link show lo | grep -q "promiscuity 0" || fail "the capture put lo in promiscuous mode"
kill -TERM "$caps_pid"
wait "$caps_pid" || fail "the capture with CAP_NET_RAW exited with $? after SIGTERM"
ip netns exec "$ns" "$cli" -i lo --promiscuous --allow-root --status-interval 0 >/dev/null 2>"$dir/promisc.err" &
promisc_pid=$!
pids+=("$promisc_pid")
wait_for_line "$dir/promisc.err" 10 "live: reading lo" >/dev/null || fail "--promiscuous: $(cat "$dir/promisc.err")"
ip -n "$ns" -d link show lo | grep -q "promiscuity 1" || fail "--promiscuous left lo out of promiscuous mode"
kill -TERM "$promisc_pid"
wait "$promisc_pid" || fail "the capture with --promiscuous exited with $? after SIGTERM"
refused=0
inns "$cli" -i lo 2>"$dir/root.err" || refused=$?
[ "$refused" = 2 ] && grep -q "refusing to read live input as root" "$dir/root.err" ||
    fail "live capture as root without --user was not refused (status $refused): $(cat "$dir/root.err")"

# The SIP network: registrar, proxy, and a SIPp gateway behind the registrar.
ip netns exec "$ns" kamailio -f "$lab/pbx.cfg" -Y "$dir/run/pbx" -D -E >"$dir/pbx.log" 2>&1 &
pids+=($!)
ip netns exec "$ns" kamailio -f "$lab/proxy.cfg" -Y "$dir/run/proxy" -D -E >"$dir/proxy.log" 2>&1 &
pids+=($!)
(cd "$dir/run" && exec ip netns exec "$ns" sipp -sf "$lab/uas_rr.xml" -i 127.0.0.40 -p 5062 -nostdin >"$dir/uas.log" 2>&1) &
pids+=($!)
sleep 2

start_sipdetect first
status=$(cat "/proc/$sipdetect_pid/status")
nobody_uid=$(id -u nobody)
grep -qE "^Uid:\s+$nobody_uid\s+$nobody_uid\s+$nobody_uid\s+$nobody_uid$" <<<"$status" ||
    fail "the capture does not run as nobody: $(grep Uid <<<"$status")"
for set in CapPrm CapEff CapAmb; do
    grep -qE "^$set:\s+0+$" <<<"$status" || fail "capabilities left: $(grep "^$set" <<<"$status")"
done

# A proxy's verdict waits answer_grace (32 s) after its tenth From URI, and
# no traffic comes after the calls: the event is due in record time that only
# the wall clock advances. It must be printed within 5 s of its detected_at.
calls_through_proxy
wait_for_line "$dir/first.jsonl" 60 '"event":"new_proxy".*"source":"127\.0\.0\.10"' >/dev/null ||
    fail "no new_proxy for 127.0.0.10 within 60 s of the calls"
printed=$(date +%s.%N)
event=$(grep -m1 -E '"event":"new_proxy".*"source":"127\.0\.0\.10"' "$dir/first.jsonl")
field() { date -d "$(sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/" <<<"$event")" +%s.%N; }
# After its detected_at (record time, which the idle wall clock advanced), and
# after the latest moment it can have been due: its last record plus answer_grace.
after_detected=$(awk -v p="$printed" -v d="$(field detected_at)" 'BEGIN { printf "%.2f", p - d }')
after_due=$(awk -v p="$printed" -v l="$(field last_seen)" 'BEGIN { printf "%.2f", p - (l + 32) }')
awk -v a="$after_detected" -v b="$after_due" 'BEGIN { exit !(a <= 5 && b <= 5) }' ||
    fail "new_proxy printed ${after_detected} s after its detected_at, ${after_due} s after last_seen + 32 s"
echo "new_proxy 127.0.0.10 (no traffic since the calls): printed ${after_detected} s after its detected_at," \
    "${after_due} s after its last record + answer_grace"

timeout 60 ip netns exec "$ns" svmap -b 127.0.0.66 127.0.0.1-127.0.0.30 >"$dir/svmap.log" 2>&1 || fail "svmap failed: $(cat "$dir/svmap.log")"
t=$(wait_for_line "$dir/first.jsonl" 5 '"detector":"sipscan","event":"start".*"source":"127\.0\.0\.66","submethod":"options","kind":"horizontal"') ||
    fail "no horizontal OPTIONS scan from 127.0.0.66 within 5 s of svmap"
echo "svmap scan start: ${t} s after svmap ended"

timeout 60 ip netns exec "$ns" svwar -e100-199 127.0.0.20 >"$dir/svwar.log" 2>&1 || fail "svwar failed: $(cat "$dir/svwar.log")"
t=$(wait_for_line "$dir/first.jsonl" 5 '"detector":"sipscan","event":"start".*"source":"127\.0\.0\.1","submethod":"register","kind":"vertical"') ||
    fail "no vertical REGISTER scan from 127.0.0.1 within 5 s of svwar"
echo "svwar scan start: ${t} s after svwar ended"

grep -qE '^sipdetect: status: .*records/s' "$dir/first.err" || fail "no status line"
stop_sipdetect first
[ -s "$dir/state/sipdetect.state" ] || fail "SIGTERM did not save the state"
grep -qE '"source":"127\.0\.0\.10"' <(grep -E '^\{' "$dir/first.err") || fail "--learned-proxies does not list 127.0.0.10"

# The restart knows the proxy: the same calls again make no new_proxy.
# (It would say so after answer_grace: wait past it.)
start_sipdetect second
calls_through_proxy
sleep 40
stop_sipdetect second
grep -q '"new_proxy"' "$dir/second.jsonl" && fail "the restarted sipdetect reported a proxy again: $(cat "$dir/second.jsonl")"
grep -qE '^input: [1-9][0-9]* records' "$dir/second.err" || fail "the restarted sipdetect analysed nothing: $(cat "$dir/second.err")"
grep -qE '"source":"127\.0\.0\.10"' <(grep -E '^\{' "$dir/second.err") || fail "the restarted sipdetect does not know 127.0.0.10"

# Checkpoints while running; SIGHUP does not stop the run; a kill -9 leaves
# the last checkpoint, which the next run loads; SIGINT stops like SIGTERM.
start_sipdetect third --checkpoint 1 --report "$dir/state/third.html"
kill -HUP "$sipdetect_pid"
sleep 1
kill -0 "$sipdetect_pid" || fail "SIGHUP ended the run: $(cat "$dir/third.err")"
before=$(sha256sum <"$dir/state/sipdetect.state")
timeout 60 ip netns exec "$ns" svmap -b 127.0.0.67 127.0.0.1-127.0.0.30 >"$dir/svmap2.log" 2>&1 || fail "svmap failed: $(cat "$dir/svmap2.log")"
wait_for_line "$dir/third.jsonl" 5 '"event":"start".*"source":"127\.0\.0\.67"' >/dev/null || fail "no scan after SIGHUP"
sleep 3
after=$(sha256sum <"$dir/state/sipdetect.state")
[ "$before" != "$after" ] || fail "--checkpoint 1 saved no state while running"
# --report is rewritten at each checkpoint: the scan is on the page before the run ends.
grep -q '127\.0\.0\.67' "$dir/state/third.html" || fail "--report was not rewritten at a checkpoint with the new scan"
kill -KILL "$sipdetect_pid"
wait "$sipdetect_pid" 2>/dev/null || true
start_sipdetect fourth
stop_sipdetect fourth INT
# Any line naming the state file but the one saying it was saved at exit is a load error.
grep "sipdetect.state" "$dir/fourth.err" | grep -qv ': saved; ' &&
    fail "the checkpoint left by kill -9 did not load: $(cat "$dir/fourth.err")"
grep -qE '"source":"127\.0\.0\.10"' <(grep -E '^\{' "$dir/fourth.err") || fail "after kill -9 the proxy is forgotten"
echo "live capture: proxy and scans reported live; after SIGTERM and restart the proxy is known, no second new_proxy;" \
    "checkpoints (state and --report) while running survive kill -9; SIGHUP keeps the run; SIGINT saves and exits 0"
