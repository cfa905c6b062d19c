#!/usr/bin/env bash
# Makes examples/report-demo.png, the README's picture of the report: the
# report of the bundled demo capture, as the demo writes it, photographed by
# headless Chromium with no network (tests/integration/report_browser.py, the
# script of the browser tests). Needs root (unshare -n) and chromium
# (cmake/install-debian-deps.sh --full); builds the program like the demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIPDETECT_BUILD_ROOT:-"$root/build"}/demo
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DSIPDETECT_BUILD_TESTS=OFF -DSIPDETECT_BUILD_BENCHMARKS=OFF -DSIPDETECT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target sipdetect_cli -j "$(nproc)"
cd "$root" # the page names its input as given: examples/data/demo.pcap
python3 tests/integration/report_browser.py screenshot "$build/examples/sipdetect" \
    examples/report-demo.png examples/data/demo.pcap --closed-season 0
