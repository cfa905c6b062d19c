#!/usr/bin/env bash
# Makes the lab captures of "scanners are not proxies" (issue 24, section 2):
#   svmap-ipv6-options.pcap       svmap -6 OPTIONS from fd00:5ec::66 over 30 targets
#                                 fd00:5ec::101-130, each answering 200. svmap's
#                                 IPv6 From is sip:100@[target]: one distinct From
#                                 URI per target. Captured on the scanner's side.
#   sipp-from-follows-target.pcap a SIPp OPTIONS probe whose From is the target's
#                                 (options_probe.xml): from 127.0.0.77 over 30 hosts
#                                 127.0.0.101-130 (From host follows the target),
#                                 and from 127.0.0.78 over 30 users 200-229 at
#                                 127.0.0.101 (From user follows the called user).
#                                 Every probe is answered 200.
# Expectation: scans by fd00:5ec::66, 127.0.0.77 and 127.0.0.78, no proxy.
#
# Needs root, sipvicious, kamailio, sip-tester (sipp) and tcpdump. All traffic
# stays inside network namespaces this script creates and deletes.
# Usage: tests/data/lab/make-scanner-not-proxy.sh [OUTPUT_DIR]   (default: this folder)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "${1:-$here}" && pwd)
run=$(mktemp -d)
scan_ns=sd-lab-scan-$$ target_ns=sd-lab-targets-$$ v4_ns=sd-lab-v4-$$
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "$scan_ns" "$target_ns" "$v4_ns"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$run"
}
trap cleanup EXIT

# kamailio answering OPTIONS 200 on every address given, in namespace $1.
start_targets() {
    local ns=$1 name=$2; shift 2
    local cfg="$run/$name.cfg"
    {
        sed -n '1,/^#LISTEN/p' "$here/targets.cfg" | sed '$d'
        for a in "$@"; do echo "listen=udp:$a:5060"; done
        sed -n '/^#LISTEN/,$p' "$here/targets.cfg" | sed '1d'
    } > "$cfg"
    mkdir -p "$run/$name.run"
    ip netns exec "$ns" kamailio -f "$cfg" -Y "$run/$name.run" -DD -E > "$run/$name.log" 2>&1 &
    pids+=($!)
}

# tcpdump in namespace $1 on interface $2 into $3; waits until it listens.
start_capture() {
    ip netns exec "$1" tcpdump -i "$2" -U -n -s 0 -w "$3" 'udp or icmp or icmp6' > "$run/tcpdump-$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do grep -q listening "$run/tcpdump-$1.log" && return; sleep 0.1; done
    echo "tcpdump did not start" >&2; exit 1
}

stop_last_capture() {
    local pid=${pids[-1]}
    sleep 1
    kill -INT "$pid"; wait "$pid" || true
    unset 'pids[-1]'
}

export HOME="$run" # sipvicious writes its sessions under ~/.sipvicious

# --- IPv6: svmap in one namespace, 30 targets in the other, a veth pair between.
ip netns add "$scan_ns"; ip netns add "$target_ns"
ip link add sdv6s netns "$scan_ns" type veth peer name sdv6t netns "$target_ns"
ip -n "$scan_ns" addr add fd00:5ec::66/64 dev sdv6s nodad
v6_targets=()
for i in $(seq 101 130); do
    ip -n "$target_ns" addr add "fd00:5ec::$i/64" dev sdv6t nodad
    v6_targets+=("fd00:5ec::$i")
done
for ns in "$scan_ns" "$target_ns"; do ip -n "$ns" link set lo up; done
ip -n "$scan_ns" link set sdv6s up; ip -n "$target_ns" link set sdv6t up
v6_listen=(); for a in "${v6_targets[@]}"; do v6_listen+=("[$a]"); done
start_targets "$target_ns" v6 "${v6_listen[@]}"
sleep 2
start_capture "$scan_ns" sdv6s "$run/v6.pcap"
# -x: svmap 0.3.3 writes its own IPv6 address into Via unbracketed, which
# receivers refuse; given bracketed it is valid.
timeout 60 ip netns exec "$scan_ns" svmap -6 -b fd00:5ec::66 -x '[fd00:5ec::66]' "${v6_targets[@]}" > "$run/svmap.log" 2>&1
stop_last_capture
cp "$run/v6.pcap" "$out/svmap-ipv6-options.pcap"

# --- IPv4: SIPp probes on the loopback of a namespace of its own.
ip netns add "$v4_ns"; ip -n "$v4_ns" link set lo up
v4_targets=(); for i in $(seq 101 130); do v4_targets+=("127.0.0.$i"); done
start_targets "$v4_ns" v4 "${v4_targets[@]}"
sleep 2
start_capture "$v4_ns" lo "$run/v4.pcap"
probe() { # source port target user
    timeout 10 ip netns exec "$v4_ns" sipp "$3:5060" -sf "$here/options_probe.xml" -s "$4" -i "$1" -p "$2" \
        -m 1 -nostdin -timeout 5s -timeout_error > /dev/null 2>&1
}
for t in "${v4_targets[@]}"; do probe 127.0.0.77 5077 "$t" 100; done
for u in $(seq 200 229); do probe 127.0.0.78 5078 127.0.0.101 "$u"; done
stop_last_capture
cp "$run/v4.pcap" "$out/sipp-from-follows-target.pcap"
ls -l "$out/svmap-ipv6-options.pcap" "$out/sipp-from-follows-target.pcap"
