#!/usr/bin/env bash
# The live IPFIX path against the file path, in one run (bench/README.md "Live IPFIX"):
#  1. sipdetect_make_ipfix_export writes a large export (default 1,000,000+ SIP
#     records) from the shared IPFIX files, with varied addresses;
#  2. `sipdetect FILE` reads it: records/s;
#  3. `sipdetect --ipfix-listen tcp:127.0.0.1:PORT` receives it from ipfixsend2,
#     which sends it over TCP as fast as the listener takes it: records/s from
#     the first byte sent to the last (TCP flow control makes the sender's end
#     the listener's, but for the kernel's socket buffers, a few MB);
# and prints both rates, wall and CPU, and their ratio (target: >= 80 %).
#   usage: bench/ipfix_listen.sh BUILD_DIR [FLOW_TOOLS_PREFIX [RECORDS]]
set -euo pipefail
build=$1; tools=${2:-$build/flow-tools}; wanted=${3:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
data=${SIPDETECT_SHARED_DATA:-$here/../../shared/data}
sipdetect=$build/examples/sipdetect
for f in "$sipdetect" "$build/bench/sipdetect_make_ipfix_export" "$tools/bin/ipfixsend2"; do
    [ -x "$f" ] || { echo "missing $f (build the sipdetect_cli and sipdetect_make_ipfix_export targets; flow tools: ../shared/third_party/build.sh)" >&2; exit 1; }
done
tmp=$(mktemp -d)
listener=
cleanup() {
    [ -n "$listener" ] && kill -KILL "$listener" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

export_file=$tmp/export.ipfix
records=$("$build/bench/sipdetect_make_ipfix_export" "$export_file" "$wanted" "$data"/ipfix/*.ipfix)
echo "export: $records SIP records, $(( $(stat -c %s "$export_file") / 1000000 )) MB"
cat "$export_file" >/dev/null # in the page cache for both runs

cpu_seconds() { # PID: user + system CPU time so far
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

# File path.
TIMEFORMAT='%R %U %S'
times=$( { time "$sipdetect" --no-progress --json "$export_file" >/dev/null 2>"$tmp/file.err"; } 2>&1 )
read -r file_wall file_user file_sys <<<"$times"
file_cpu=$(awk -v u="$file_user" -v s="$file_sys" 'BEGIN { print u + s }')

# Listener path.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$sipdetect" --ipfix-listen "tcp:127.0.0.1:$port" --allow-root --no-progress --json --stats --status-interval 0 \
    >/dev/null 2>"$tmp/listen.err" &
listener=$!
for _ in $(seq 100); do grep -q "live: reading" "$tmp/listen.err" && break; sleep 0.1; done
start=$(date +%s.%N)
"$tools/bin/ipfixsend2" -i "$export_file" -d 127.0.0.1 -p "$port" -t TCP -n 1 >/dev/null
end=$(date +%s.%N)
listen_wall=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
sleep 2 # the last socket buffers and the reorder buffer's second
listen_cpu=$(cpu_seconds "$listener")
kill -TERM "$listener"
wait "$listener" || { echo "the listener failed:" >&2; cat "$tmp/listen.err" >&2; exit 1; }
listener=
got=$(sed -n 's/^input: \([0-9]*\) records.*/\1/p' "$tmp/listen.err")
[ "$got" = "$records" ] || { echo "the listener read $got records of $records" >&2; exit 1; }

file_rate=$(rate "$records" "$file_wall"); listen_rate=$(rate "$records" "$listen_wall")
file_cpu_rate=$(rate "$records" "$file_cpu"); listen_cpu_rate=$(rate "$records" "$listen_cpu")
printf '%-28s %12s %14s\n' "" "records/s" "records/CPU-s"
printf '%-28s %12s %14s\n' "sipdetect FILE" "$file_rate" "$file_cpu_rate"
printf '%-28s %12s %14s\n' "sipdetect --ipfix-listen tcp" "$listen_rate" "$listen_cpu_rate"
awk -v l="$listen_rate" -v f="$file_rate" -v lc="$listen_cpu_rate" -v fc="$file_cpu_rate" \
    'BEGIN { printf "listener / file: %.0f %% (wall), %.0f %% (CPU); target >= 80 %%\n", 100 * l / f, 100 * lc / fc }'
