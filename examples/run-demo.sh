#!/usr/bin/env bash
# The demo: installs what is missing, builds the sipdetect program, and runs
# it on the bundled capture (examples/data/demo.pcap, made by
# examples/data/make-demo-capture.sh with sipvicious, kamailio and SIPp on
# loopback), printing the events and writing the HTML report
# (build/demo/report-demo.html). ClosedSeason is 0 so the proxy is reported
# at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/cmake/install-debian-deps.sh"

build=${SIPDETECT_BUILD_ROOT:-"$root/build"}/demo
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DSIPDETECT_BUILD_TESTS=OFF -DSIPDETECT_BUILD_BENCHMARKS=OFF -DSIPDETECT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target sipdetect_cli -j "$(nproc)"
echo
report=$build/report-demo.html
echo "\$ sipdetect --closed-season 0 --report $report examples/data/demo.pcap"
"$build/examples/sipdetect" --closed-season 0 --report "$report" "$root/examples/data/demo.pcap"
echo
echo "The report (open it in a browser): $report"
