#!/usr/bin/env bash
# Installs what sipdetect needs on Debian 12, and nothing when everything is
# already there. Run as root.
#
#   cmake/install-debian-deps.sh          the build, tests, examples and benchmarks with g++
#   cmake/install-debian-deps.sh --full   also clang, libFuzzer, the i386 toolchain and
#                                         headless Chromium (tests/run-all.sh --full)
set -euo pipefail

packages=(
    build-essential cmake g++ pkg-config python3
    catch2 libfmt-dev libbenchmark-dev libpcap-dev nlohmann-json3-dev
    wireshark-common # mergecap and editcap: the tests write multi-interface pcapng files with them
)
case ${1:-} in
    "") ;;
    --full) packages+=(clang llvm libclang-rt-14-dev g++-multilib
                       chromium) ;; # chromium: the report's browser tests (tests/integration/report_browser.py)
    *) echo "usage: $0 [--full]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
