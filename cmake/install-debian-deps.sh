#!/usr/bin/env bash
# Installs what sipdetect's build, tests, examples and benchmarks need on
# Debian 12, and nothing when everything is already there. Run as root.
set -euo pipefail

packages=(
    build-essential cmake g++ clang llvm libclang-rt-14-dev pkg-config python3
    catch2 libfmt-dev libbenchmark-dev libpcap-dev nlohmann-json3-dev
    wireshark-common # mergecap and editcap: the tests write multi-interface pcapng files with them
)

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
