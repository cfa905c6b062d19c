#!/usr/bin/env bash
# Installs what sipdetect needs on Debian 12, and nothing when everything is
# already there. Run as root.
#
#   cmake/install-debian-deps.sh          the build, tests, examples and benchmarks with g++
#   cmake/install-debian-deps.sh --full   also clang, libFuzzer and the i386 toolchain, and
#                                         what the integration suites run (tests/run-all.sh --full)
#   cmake/install-debian-deps.sh --lab    the traffic lab that regenerates our captures
#                                         (tests/data/lab/make-*.sh); no test needs it
set -euo pipefail

packages=(
    build-essential cmake g++ pkg-config python3
    catch2 libfmt-dev libbenchmark-dev libpcap-dev nlohmann-json3-dev
    wireshark-common # mergecap and editcap: the tests write multi-interface pcapng files with them
)
case ${1:-} in
    "") ;;
    --full)
        packages+=(clang llvm libclang-rt-14-dev g++-multilib)
        # The live capture suite's SIP network and scanners, systemd-analyze for the units, and
        # ss (iproute2), with which the ipfixcol2 plugin tests wait for the collector's ports.
        packages+=(kamailio sip-tester sipvicious iproute2 systemd)
        packages+=(chromium) # the report's browser tests (tests/integration/report_browser.py)
        ;;
    --lab) packages+=(sipvicious kamailio sip-tester tcpdump iproute2) ;;
    *) echo "usage: $0 [--full | --lab]" >&2; exit 2 ;;
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
