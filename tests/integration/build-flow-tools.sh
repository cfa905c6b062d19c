#!/usr/bin/env bash
# Builds CESNET's flow tools (libfds, ipfixcol2 with ipfixsend2 and fdsdump,
# ipfixprobe) from ../shared/third_party into PREFIX, once: build.sh keeps
# what is already built, so a second run costs nothing.
#   usage: build-flow-tools.sh PREFIX
# Exit 77 (the integration tests' skip code) when ../shared/third_party is
# absent outside CI; in CI (CI=true) that is a failure.
set -euo pipefail
prefix=${1:?usage: build-flow-tools.sh PREFIX}
root=$(cd "$(dirname "$0")/../.." && pwd)
third_party=$root/../shared/third_party
if [ ! -x "$third_party/build.sh" ]; then
    if [ "${CI:-}" = true ]; then
        echo "build-flow-tools: $third_party is missing (required in CI)" >&2
        exit 1
    fi
    echo "SKIPPED: $third_party is absent: the flow tools cannot be built" >&2
    exit 77
fi
bash "$third_party/build.sh" "$prefix"
