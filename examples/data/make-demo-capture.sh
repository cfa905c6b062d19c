#!/usr/bin/env bash
# make-demo-capture.sh - record examples/data/demo.pcap, a small capture of real
# SIP software talking on loopback (127.0.0.0/8 only), for the sipdetect demo.
#
#   sudo examples/data/make-demo-capture.sh
#
# Environment:
#   SIPDETECT_TRAFFIC_LAB  folder with the lab configs (default: <repo>/../shared/traffic-lab)
#   SIPDETECT_DEMO_WORK    scratch folder for logs and runtime files (default: a new mktemp -d)
#   SIPDETECT_DEMO_OUT     output file (default: <repo>/examples/data/demo.pcap)
#
# Topology (see README.md next to this script):
#   127.0.0.10:5060   kamailio stateful proxy (proxy.cfg), relays everything to .20
#   127.0.0.20:5060   kamailio registrar/PBX (pbx.cfg), unknown numbers go to .40:5062
#   127.0.0.40:5062   SIPp UAS "gateway" (uas_rr.xml)
#   127.0.0.101-150   one kamailio posing as 50 PBXs (many.cfg)
#   127.0.0.31/32/36/37  SIPp phones, 5 users each, register through .10; 2 each call
#   127.0.0.66        svmap OPTIONS scan over 127.0.0.101-127.0.0.130 (30 hosts)
#   127.0.0.1         svwar REGISTER scan of extensions 100-129 at 127.0.0.20
#
# Safety: every packet goes to 127.0.0.0/8. sipvicious is never run with -R, -A
# or --randomscan, and HOME points into the scratch folder while it runs.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB=${SIPDETECT_TRAFFIC_LAB:-$REPO/../shared/traffic-lab}
OUT=${SIPDETECT_DEMO_OUT:-$SCRIPT_DIR/demo.pcap}

if [[ $(id -u) -ne 0 ]]; then
	echo "run as root (tcpdump and binding 127.0.0.x:5060 need it)" >&2
	exit 1
fi
for f in proxy.cfg pbx.cfg many.cfg uas_rr.xml reg_auth.xml uac_users.xml; do
	[[ -r $LAB/$f ]] || { echo "missing $LAB/$f (set SIPDETECT_TRAFFIC_LAB)" >&2; exit 1; }
done

# --- tools (idempotent) -------------------------------------------------------
need=()
command -v svmap    >/dev/null || need+=(sipvicious)
command -v kamailio >/dev/null || need+=(kamailio)
command -v sipp     >/dev/null || need+=(sip-tester)
command -v tcpdump  >/dev/null || need+=(tcpdump)
command -v tshark   >/dev/null || need+=(tshark)
if ((${#need[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }
fi

# --- scratch folder, process bookkeeping, cleanup -------------------------------
WORK=${SIPDETECT_DEMO_WORK:-$(mktemp -d /tmp/sipdetect-demo.XXXXXX)}
mkdir -p "$WORK/home" "$WORK/run-a" "$WORK/run-b" "$WORK/run-c"
PIDS=()
TCPDUMP_PID=

cleanup() {
	local rc=$?
	set +e
	if [[ -n $TCPDUMP_PID ]] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
		kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null
	fi
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	((rc == 0)) || echo "failed (rc=$rc); logs in $WORK" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$LAB"/{proxy.cfg,pbx.cfg,many.cfg,uas_rr.xml,reg_auth.xml,uac_users.xml} "$WORK/"
cd "$WORK"

# Phones: address, local port, users. Phones use port 5060 like real ones (with
# SIPp's usual -p 5031, tshark decodes some of their packets as DMP, udp/5031).
# 4 phones x 5 users = 20 distinct From URIs
# register; the first CALLERS users of each phone also make one call (8 calls),
# which keeps the file small (a call is ~20 packets over three hops).
CALLERS=2
PHONES=(
	"127.0.0.31 5060 alice bob carol dave erin"
	"127.0.0.32 5060 frank grace heidi ivan judy"
	"127.0.0.36 5060 u1 u2 u3 u4 u5"
	"127.0.0.37 5060 u6 u7 u8 u9 u10"
)
for p in "${PHONES[@]}"; do
	read -r ip port users <<<"$p"
	last=${ip##*.}
	{ echo SEQUENTIAL; for u in $users; do echo "$u;[authentication username=$u password=secret];"; done; } >"reg$last.csv"
	# the first CALLERS users each call one unregistered number: .10 -> .20 -> gateway .40
	{ echo SEQUENTIAL; n=0; for u in $users; do
		n=$((n + 1)); ((n <= CALLERS)) || break; echo "$u;00420555$last$(printf %02d $n);"
	done; } >"call$last.csv"
done

wait_udp() { # wait until something listens on UDP $1
	for _ in $(seq 100); do
		ss -Hlun "src $1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on udp $1" >&2; return 1
}

# --- servers ----------------------------------------------------------------------
kamailio -f pbx.cfg   -Y "$WORK/run-b" -DD -E >pbx.log   2>&1 & PIDS+=($!)
kamailio -f proxy.cfg -Y "$WORK/run-a" -DD -E >proxy.log 2>&1 & PIDS+=($!)
kamailio -f many.cfg  -Y "$WORK/run-c" -DD -E >many.log  2>&1 & PIDS+=($!)
sipp -sf uas_rr.xml -i 127.0.0.40 -p 5062 -nostdin >uas.log 2>&1 </dev/null & PIDS+=($!)
wait_udp 127.0.0.20:5060
wait_udp 127.0.0.10:5060
wait_udp 127.0.0.130:5060
wait_udp 127.0.0.40:5062

# --- capture ----------------------------------------------------------------------
rm -f demo.pcap
tcpdump -i lo -U -n -s 0 -Z root -w demo.pcap 'udp or icmp' 2>tcpdump.log &
TCPDUMP_PID=$!
for _ in $(seq 100); do grep -q "listening on" tcpdump.log && break; sleep 0.1; done
sleep 1

# 1) phones register through the proxy (401 challenge, then 200), all at once
regpids=()
for p in "${PHONES[@]}"; do
	read -r ip port users <<<"$p"
	n=$(wc -w <<<"$users"); last=${ip##*.}
	sipp 127.0.0.10:5060 -sf reg_auth.xml -inf "reg$last.csv" -i "$ip" -p "$port" \
		-m "$n" -r 5 -nostdin -timeout 20s -timeout_error >"reg$last.log" 2>&1 </dev/null &
	regpids+=($!); PIDS+=($!)
done
for pid in "${regpids[@]}"; do wait "$pid" || { echo "a SIPp registration failed" >&2; exit 1; }; done
sleep 1

# 2) CALLERS users per phone make one short call through the proxy to the gateway
callpids=()
for p in "${PHONES[@]}"; do
	read -r ip port users <<<"$p"
	last=${ip##*.}; n=$(($(wc -l <"call$last.csv") - 1))
	sipp 127.0.0.10:5060 -sf uac_users.xml -inf "call$last.csv" -i "$ip" -p "$port" \
		-m "$n" -l 1 -r 2 -nostdin -timeout 30s -timeout_error >"call$last.log" 2>&1 </dev/null &
	callpids+=($!); PIDS+=($!)
done
for pid in "${callpids[@]}"; do wait "$pid" || { echo "a SIPp call failed" >&2; exit 1; }; done
sleep 1

# 3) horizontal OPTIONS scan from 127.0.0.66 over 30 fake PBXs
# (sipvicious runs as a background job so that the cleanup trap can stop it)
HOME="$WORK/home" svmap -b 127.0.0.66 127.0.0.101-127.0.0.130 >svmap.log 2>&1 </dev/null &
PIDS+=($!); wait $!
sleep 1

# 4) vertical REGISTER scan of 30 extensions at the PBX (svwar sends from 127.0.0.1)
HOME="$WORK/home" svwar -e100-129 127.0.0.20 >svwar.log 2>&1 </dev/null &
PIDS+=($!); wait $!
sleep 2

kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
TCPDUMP_PID=

install -m 0644 demo.pcap "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $WORK"
