#!/bin/bash
# Makes the SIPCAMPAIGN test captures with real SIP software in a network
# namespace of our own (nothing leaves it), from the traffic lab's configs:
#   campaign-horizontal.pcap  34 sources 127.0.1.1-34, svmap OPTIONS, 1 to 3
#                             probes each, 4 s apart, over the 50 fake PBXs
#                             127.0.0.101-150 (kamailio many.cfg)
#   campaign-vertical.pcap    32 sources 127.0.2.1-32, SIPp REGISTER probes
#                             (User-Agent pplsip), 1 to 3 each, 4 s apart, over
#                             extensions 100-159 at the registrar 127.0.0.20
#                             (kamailio pbx.cfg: 401 for 100-109, 404 else)
#   campaign-legit.pcap.gz    36 SIPp phones 127.0.3.1-36 of one User-Agent
#                             registering (digest) and calling through the proxy
#                             127.0.0.10 to the registrar and a SIPp gateway,
#                             and an OPTIONS monitor 127.0.3.200 polling three trunks
#                             (550 KB of SIP as a capture: committed gzipped)
# Usage: make-campaign-captures.sh [OUTDIR]   (root; sipvicious, kamailio,
# sip-tester and tcpdump installed; LAB=../shared/traffic-lab by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath "${1:-$here}")
lab=$(realpath "${LAB:-$here/../../../../shared/traffic-lab}")
ns=sipcampaign-lab-$$
run=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$run"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
inns() { ip netns exec "$ns" "$@"; }
# Background jobs call ip directly, not through a function: `ip netns exec`
# execs the command, so that $! is the process itself, to stop by its PID.
export HOME="$run" # sipvicious keeps its sessions under ~/.sipvicious

start() { # a background server in the namespace; its PID is kept for cleanup
    ip netns exec "$ns" "$@" > "$run/server-${#pids[@]}.log" 2>&1 &
    pids+=("$!")
}
start kamailio -f "$lab/many.cfg" -Y "$run/c" -DD -E
start kamailio -f "$lab/pbx.cfg" -Y "$run/b" -D -E
start kamailio -f "$lab/proxy.cfg" -Y "$run/a" -D -E
start sipp -sf "$lab/uas_rr.xml" -i 127.0.0.40 -p 5062 -nostdin
sleep 2

capture() { # capture NAME: tcpdump into OUTDIR/NAME until stop_capture
    ip netns exec "$ns" tcpdump -i lo -U -n -s 0 -w "$out/$1" 'udp' > "$run/tcpdump.log" 2>&1 &
    capture_pid=$!
    sleep 1
}
stop_capture() {
    sleep 2
    kill "$capture_pid"
    wait "$capture_pid" 2>/dev/null || true
}

# Probes are dealt out in turn over the targets, so that together they cover all of them.
probe=0
capture campaign-horizontal.pcap
for i in $(seq 1 34); do
    hosts=()
    for j in $(seq 0 $((i % 3))); do
        hosts+=("127.0.0.$((101 + probe % 50))")
        probe=$((probe + 1))
    done
    inns timeout 20 svmap -b "127.0.1.$i" "${hosts[@]}" > /dev/null 2>&1 || true
    sleep 4
done
stop_capture

probe=0
capture campaign-vertical.pcap
for i in $(seq 1 32); do
    csv="$run/probe-$i.csv"
    echo SEQUENTIAL > "$csv"
    n=$((1 + i % 3))
    for j in $(seq 1 "$n"); do
        echo "$((100 + probe % 60));" >> "$csv"
        probe=$((probe + 1))
    done
    inns timeout 20 sipp 127.0.0.20:5060 -sf "$here/campaign_register_probe.xml" -inf "$csv" -i "127.0.2.$i" \
        -p 5070 -m "$n" -r 10 -nostdin -timeout 10s > /dev/null 2>&1 || true
    sleep 4
done
stop_capture

capture campaign-legit.pcap
port=5080
for trunk in 127.0.0.10:5060 127.0.0.20:5060 127.0.0.40:5062; do
    port=$((port + 1))
    ip netns exec "$ns" timeout 40 sipp "$trunk" -sf "$here/campaign_options_monitor.xml" -i 127.0.3.200 -p "$port" -m 15 -r 1 -rp 2000 \
        -nostdin -timeout 35s > /dev/null 2>&1 &
    pids+=("$!")
done
for i in $(seq 1 36); do
    printf 'SEQUENTIAL\nu%d;[authentication username=u%d password=secret];\n' "$i" "$i" > "$run/reg-$i.csv"
    printf 'SEQUENTIAL\nu%d;00420555%04d;\n' "$i" "$i" > "$run/call-$i.csv"
done
for i in $(seq 1 36); do
    inns timeout 20 sipp 127.0.0.10:5060 -sf "$lab/reg_auth.xml" -inf "$run/reg-$i.csv" -i "127.0.3.$i" -p 5070 -m 1 \
        -nostdin -timeout 15s -timeout_error > /dev/null 2>&1 || true
done
for i in $(seq 1 36); do
    ip netns exec "$ns" timeout 30 sipp 127.0.0.10:5060 -sf "$lab/uac_users.xml" -inf "$run/call-$i.csv" -i "127.0.3.$i" -p 5070 -m 1 \
        -nostdin -timeout 25s -timeout_error > /dev/null 2>&1 &
    pids+=("$!")
    sleep 0.5
done
sleep 35
stop_capture
gzip -9 -n -f "$out/campaign-legit.pcap"
ls -l "$out"/campaign-*
