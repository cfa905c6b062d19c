#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then builds
# and runs every test with g++, with clang, and with g++ under ASan+UBSan,
# warnings as errors; then runs each libFuzzer target for a bounded time
# (SIPDETECT_FUZZ_SECONDS, default 60) and prints a summary line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/cmake/install-debian-deps.sh"

jobs=$(nproc)
build_root=${SIPDETECT_BUILD_ROOT:-"$root/build/ci"}

run_suite() {
    local name=$1
    shift
    echo "=== $name ==="
    cmake -S "$root" -B "$build_root/$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$build_root/$name" -j "$jobs"
    (cd "$build_root/$name" && ctest --output-on-failure -j "$jobs")
}

run_suite gcc -DCMAKE_CXX_COMPILER=g++
run_suite clang -DCMAKE_CXX_COMPILER=clang++
# Under the sanitizers the spoofed flood is 1 M records instead of 10 M, to stay well inside CI's time.
SIPDETECT_FLOOD_RECORDS=1000000 \
    run_suite sanitizers -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DSIPDETECT_SANITIZE=address,undefined
echo "=== fuzzing ==="
bash "$root/tests/fuzz/run.sh" "$build_root/fuzz"
echo "all suites passed"
