#!/usr/bin/env bash
# examples/systemd/sipdetect.service and sipdetect@.service pass
# `systemd-analyze verify` without a single warning (an unknown or misspelt
# key is only a warning there), the template as instance sipdetect@lo, with
# ExecStart pointing at the program just built; and their hardening scores
# an exposure of at most 2.5 in `systemd-analyze security`.
#   usage: systemd_units.sh SIPDETECT SCRATCH_DIR
# Exit 77 (skip) without systemd-analyze; in CI (CI=true) that is a failure.
set -euo pipefail
cli=$1
dir=$2
units=$(cd "$(dirname "$0")/../../examples/systemd" && pwd)
if ! command -v systemd-analyze >/dev/null; then
    if [ "${CI:-}" = true ]; then echo "systemd-analyze is missing (required in CI)" >&2; exit 1; fi
    echo "SKIPPED: systemd-analyze is missing (cmake/install-debian-deps.sh --full installs systemd)" >&2
    exit 77
fi
rm -rf "$dir"
mkdir -p "$dir"
for unit in sipdetect.service sipdetect@.service; do
    grep -q '^ExecStart=/usr/local/bin/sipdetect ' "$units/$unit" || { echo "$unit: ExecStart is not /usr/local/bin/sipdetect"; exit 1; }
    sed "s|^ExecStart=/usr/local/bin/sipdetect |ExecStart=$cli |" "$units/$unit" >"$dir/$unit"
done
status=0
for unit in sipdetect.service sipdetect@lo.service; do
    if ! out=$(cd "$dir" && systemd-analyze verify "./$unit" 2>&1) || [ -n "$out" ]; then
        echo "systemd-analyze verify $unit:"
        echo "$out"
        status=1
    fi
    if ! out=$(cd "$dir" && systemd-analyze security --offline=yes --threshold=25 "./$unit" 2>&1); then
        echo "systemd-analyze security $unit: exposure above 2.5:"
        echo "$out" | tail -1
        status=1
    fi
    echo "$unit: $(echo "$out" | tail -1)"
done
exit $status
