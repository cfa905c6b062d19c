#!/usr/bin/env bash
# The test suite: installs what is missing, builds and runs the tests,
# warnings as errors, and ends with one summary line.
#
#   bash tests/run-all.sh          quick (the README's command)
#   bash tests/run-all.sh --full   the complete matrix (what .ci/run runs)
#
# Quick: the two builds that catch most.
#   gcc-release   g++ -O3 (Release), every target: the library's tests, the
#                 readers and the program end to end, the packaging consumers,
#                 the header and compile-fail checks, the benchmarks' tiny run,
#                 and a replay of every committed fuzz corpus (ctest).
#   sanitizers    g++ Debug under ASan+UBSan, benchmarks off: the same tests,
#                 the corpora replayed under the sanitizers, but not the
#                 packaging consumers (ctest label "packaging"), which are
#                 built without sanitizers and so are the gcc-release run again.
# --full adds the rest of CI's matrix:
#   clang-relwithdebinfo   clang++ -O2 -g, every target and test
#   gcc-m32                g++ -m32 (i386), the library's tests only: no
#                          i386 {fmt}, libpcap or Google Benchmark in an amd64
#                          install, so no examples, benchmarks or test_fmt
#   fuzzing                each libFuzzer target for SIPDETECT_FUZZ_SECONDS
#                          (default 60) with clang (tests/fuzz/run.sh)
#   integration            (in the gcc-release and sanitizer builds) the
#                          suites labelled "integration": CESNET's flow tools
#                          built from ../shared/third_party, live traffic in
#                          network namespaces, a headless browser; they need root
#
# Environment: SIPDETECT_BUILD_ROOT (default build/ci), the build folders'
# parent; SIPDETECT_JOBS (default nproc), parallel compile and test jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

mode=quick
case ${1:-} in
    "") ;;
    --full) mode=full ;;
    *) echo "usage: $0 [--full]" >&2; exit 2 ;;
esac

if [ $mode = full ]; then
    "$root/cmake/install-debian-deps.sh" --full
else
    "$root/cmake/install-debian-deps.sh"
fi

jobs=${SIPDETECT_JOBS:-$(nproc)}
build_root=${SIPDETECT_BUILD_ROOT:-"$root/build/ci"}
timings=()

# timed <name> <command...>: runs it, records its duration for the summary.
timed() {
    local name=$1 start
    shift
    echo "=== $name ==="
    start=$(date +%s)
    "$@"
    timings+=("$name $(($(date +%s) - start)) s")
}

# suite <name> <ctest arguments> <cmake arguments...>: configure, build, test.
suite() {
    local name=$1 ctest_args=$2 dir=$build_root/$1
    shift 2
    cmake -S "$root" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    # shellcheck disable=SC2086  # the arguments are words
    (cd "$dir" && ctest --output-on-failure -j "$jobs" $ctest_args)
}

sanitized_suite() {
    # Under the sanitizers the spoofed flood is 1 M records instead of 10 M.
    SIPDETECT_FLOOD_RECORDS=1000000 suite sanitizers "-LE packaging" \
        -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DSIPDETECT_SANITIZE=address,undefined \
        -DSIPDETECT_BUILD_BENCHMARKS=OFF "$@"
}

# --full adds the integration suites to the first two builds; the flow tools
# they need are built once, into the gcc-release build tree, and shared.
integration=()
if [ $mode = full ]; then
    flow_tools=$build_root/gcc-release/flow-tools
    integration=(-DSIPDETECT_INTEGRATION_TESTS=ON "-DSIPDETECT_FLOW_TOOLS_PREFIX=$flow_tools")
    # The ipfixcol2 plugin builds against the flow tools' headers and libfds,
    # so they are built before configuring (77: ../shared absent, the fixture skips).
    tools_status=0
    bash "$root/tests/integration/build-flow-tools.sh" "$flow_tools" || tools_status=$?
    case $tools_status in
        0) integration+=(-DSIPDETECT_BUILD_IPFIXCOL2_PLUGIN=ON "-DCMAKE_PREFIX_PATH=$flow_tools") ;;
        77) ;;
        *) exit "$tools_status" ;;
    esac
fi

run_quick() {
    timed gcc-release suite gcc-release "" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release "${integration[@]}"
    timed sanitizers sanitized_suite "${integration[@]}"
}

run_full() {
    run_quick
    timed clang-relwithdebinfo suite clang-relwithdebinfo "" \
        -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
    # The consumers would be 64-bit builds of gcc-release's: left out. The
    # flood is 1 M records, as under the sanitizers: 10 M take minutes on i386.
    SIPDETECT_FLOOD_RECORDS=1000000 timed gcc-m32 suite gcc-m32 "-LE packaging" \
        -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-m32 \
        -DSIPDETECT_BUILD_EXAMPLES=OFF -DSIPDETECT_BUILD_BENCHMARKS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON
    timed fuzzing bash "$root/tests/fuzz/run.sh" "$build_root/fuzz"
}

left_out="the integration suites (flow tools, network namespaces, browser), the clang build, the -m32 build and a minute of fuzzing per target"
if [ $mode = full ]; then
    run_full
else
    run_quick
fi
echo "=== summary ($mode) ==="
printf '%s\n' "${timings[@]}"
if [ $mode = quick ]; then
    echo "left out of the quick run (bash tests/run-all.sh --full runs them): $left_out"
fi
echo "all suites passed"
