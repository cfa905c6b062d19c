#!/usr/bin/env bash
# `sipdetect --state FILE` killed at any moment leaves FILE holding either the
# old state or the new one, never a mix. Kills land at 60 moments spread over
# a whole run, most of them near the end where the state is written.
# Usage: kill_during_save.sh SIPDETECT_BINARY INPUT SCRATCH_DIR
set -euo pipefail
cli=$1
input=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"

# The old state: one full run.
"$cli" --no-progress --state "$dir/old.state" "$input" >/dev/null
# The new state: a full second run on top of it (deterministic).
cp "$dir/old.state" "$dir/new.state"
start=$(date +%s%N)
"$cli" --no-progress --state "$dir/new.state" "$input" >/dev/null
run_ns=$(($(date +%s%N) - start))
cmp -s "$dir/old.state" "$dir/new.state" && { echo "old and new states are equal: the test would prove nothing"; exit 1; }

old_seen=0
new_seen=0
for i in $(seq 1 60); do
    cp "$dir/old.state" "$dir/s.state"
    rm -f "$dir"/s.state.tmp.*
    # Moments from 10 % to 130 % of a run, denser past 70 %.
    if [ "$i" -le 20 ]; then pct=$((10 + i * 3)); else pct=$((70 + (i - 20) * 3 / 2)); fi
    delay=$(awk -v ns="$run_ns" -v p="$pct" 'BEGIN { printf "%.4f", ns * p / 100 / 1e9 }')
    (timeout -s KILL "$delay" "$cli" --no-progress --state "$dir/s.state" "$input" >/dev/null) 2>/dev/null || true
    if cmp -s "$dir/s.state" "$dir/old.state"; then
        old_seen=$((old_seen + 1))
    elif cmp -s "$dir/s.state" "$dir/new.state"; then
        new_seen=$((new_seen + 1))
    else
        echo "kill after ${delay}s left a state that is neither the old nor the new one"
        exit 1
    fi
done
echo "kill during save: 60 kills, $old_seen left the old state, $new_seen the new one, 0 mixed"
[ "$old_seen" -gt 0 ] && [ "$new_seen" -gt 0 ] || { echo "the kills did not straddle the save; the test proved nothing"; exit 1; }
