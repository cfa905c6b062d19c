#!/usr/bin/env bash
# Builds and runs projects that consume sipdetect the ways the README shows.
#
#   tests/consumers/run.sh <sipdetect source dir> <scratch dir>
#
# Installs sipdetect into <scratch>/stage (a prefix other than the configured
# one, so the installed files must be relocatable), then, one line each:
#   find_package        CMake package from the staged prefix (+ fmt.hpp with {fmt})
#   add_subdirectory    the source tree vendored; installs nothing of sipdetect's
#   FetchContent        the README's FetchContent snippet, source dir overridden
#   pkg-config          a plain compiler command line, and pkg_check_modules
#   version requests    same-major lower and equal versions accepted; 99.0,
#                       the next major and newer minors and patches refused
#   recipes             cmake/check-recipes.sh: vcpkg port and Conan recipe
#   relocated           the staged tree moved elsewhere still works
# Every CMake and pkg-config consumer also compiles lax_code.cpp, code that
# warns under sipdetect's warning flags: its build must print no warning and
# its compile commands must carry none of sipdetect's flags, -Werror or
# sanitizers (these stay on sipdetect's own targets).
# and ends with "consumers: N passed, M failed"; exits non-zero on any failure.
# After the install, the consumers but relocated run in parallel (nproc at a
# time); their lines are printed in the order above.
# The compiler is $CXX when set. Logs are in <scratch>/logs.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 <sipdetect source dir> <scratch dir>" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
mkdir -p "$2"
scratch=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

# The scratch dir is wiped: refuse anything that is not empty or ours.
marker="$scratch/.sipdetect-consumers-scratch"
if [ -n "$(ls -A "$scratch")" ] && [ ! -e "$marker" ]; then
    echo "$0: $scratch is not empty and was not made by this script; refusing to wipe it" >&2
    exit 2
fi
case "$src/" in "$scratch/"*) echo "$0: the scratch dir contains the source dir" >&2; exit 2 ;; esac
find "$scratch" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
touch "$marker"
mkdir -p "$scratch/logs"

jobs=$(nproc 2>/dev/null || echo 2)
cxx=${CXX:-c++}
export CXX=$cxx
# Only the staged prefix may provide sipdetect: no user package registry.
common_cmake=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

version=$(tr '\n' ' ' <"$src/CMakeLists.txt" |
    sed -nE 's/.*project\([[:space:]]*sipdetect[[:space:]]+VERSION[[:space:]]+([0-9]+\.[0-9]+\.[0-9]+).*/\1/p')
if [ -z "$version" ]; then
    echo "$0: cannot read the project version from $src/CMakeLists.txt" >&2
    exit 2
fi
IFS=. read -r major minor patch <<<"$version"

stage="$scratch/stage"
passed=0
failed=0

# consumer <name> <function>: starts the function in the background, in a
# subshell with errexit, its output in logs/<name>.log and its exit status in
# logs/<name>.status; at most $jobs at a time (each mostly builds one file).
started=()
consumer() {
    local name=$1 fn=$2
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    (
        set +e
        (set -euo pipefail; "$fn") >"$scratch/logs/$name.log" 2>&1
        echo $? >"$scratch/logs/$name.status"
    ) &
    started+=("$name")
}

# report: waits for the started consumers and prints one line each, in order.
report() {
    wait
    local name log rc
    for name in "${started[@]}"; do
        log="$scratch/logs/$name.log"
        rc=$(cat "$scratch/logs/$name.status")
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
            printf 'PASS  %-18s %s\n' "$name" "$(tail -n 1 "$log")"
        else
            failed=$((failed + 1))
            printf 'FAIL  %-18s (exit %d; log %s)\n' "$name" "$rc" "$log"
            tail -n 25 "$log" | sed 's/^/      | /'
        fi
    done
    started=()
}

# sipdetect's warning flags, -Werror and sanitizers belong to its own
# targets only; none may reach a consumer's compile command.
project_flags='(^|[[:space:]"])-(Werror|Wall|Wextra|Wpedantic|Wconversion|Wsign-conversion|Wshadow|Wold-style-cast|Wdouble-promotion|fsanitize=[^[:space:]"]*)([[:space:]"]|$)'

# no_project_flags <what> <compile commands or flags> <compiler output>
no_project_flags() {
    if grep -Eq "$project_flags" <<<"$2"; then
        echo "sipdetect's own flags reached the consumer ($1):"
        grep -Eo "$project_flags" <<<"$2" | sort -u
        exit 1
    fi
    if grep -q 'warning:' <<<"$3"; then
        echo "the consumer's own code warned ($1): sipdetect's warning flags reached it"
        grep 'warning:' <<<"$3"
        exit 1
    fi
}

# cmake_build <source> <build> [cmake args...]: configure and build quietly,
# then check the consumer's compile commands and compiler output (lax_code.cpp).
cmake_build() {
    local source=$1 build=$2 output commands
    shift 2
    cmake -S "$source" -B "$build" "${common_cmake[@]}" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$@"
    output=$(cmake --build "$build" -j "$jobs" 2>&1) || { echo "$output"; exit 1; }
    echo "$output"
    commands=$(grep '"command"' "$build/compile_commands.json")
    grep -q 'lax_code\.cpp' <<<"$commands"
    no_project_flags "compile commands in $build" "$commands" "$output"
    echo "the consumer's $(wc -l <<<"$commands") compile commands carry none of sipdetect's flags; no warnings"
}

# run_consumer <binary>: runs it and checks that it reported a scan.
run_consumer() {
    local out
    out=$("$1")
    echo "$out"
    grep -q '^{"detector":"sipscan","event":"start","id":1,"source":"147.32.77.113"' <<<"$out"
    grep -q "^sipdetect $version, namespace sipdetect::v${major}_${minor}, consumed through " <<<"$out"
}

built() { find "$1" -type f -name "$2" -perm -u+x -print -quit; }

# ---------------------------------------------------------------------------

install_stage() {
    # Configured for one prefix, installed into another: nothing may depend
    # on the configure-time prefix.
    cmake -S "$src" -B "$scratch/build-install" "${common_cmake[@]}" \
        -DCMAKE_INSTALL_PREFIX="$scratch/configured-prefix-never-used" \
        -DSIPDETECT_BUILD_TESTS=OFF -DSIPDETECT_BUILD_EXAMPLES=OFF -DSIPDETECT_BUILD_BENCHMARKS=OFF
    cmake --build "$scratch/build-install"
    cmake --install "$scratch/build-install" --prefix "$stage"
    local f
    for f in include/sipdetect/sipdetect.hpp include/sipdetect/fmt.hpp include/sipdetect/detail/hash.hpp \
        share/cmake/sipdetect/sipdetectConfig.cmake share/cmake/sipdetect/sipdetectConfigVersion.cmake \
        share/cmake/sipdetect/sipdetectTargets.cmake share/pkgconfig/sipdetect.pc share/doc/sipdetect/LICENSE; do
        test -f "$stage/$f" || { echo "not installed: $f"; exit 1; }
    done
    if grep -rq "configured-prefix-never-used" "$stage"; then
        echo "the configure-time prefix leaked into installed files:"
        grep -rl "configured-prefix-never-used" "$stage"
        exit 1
    fi
    grep -q "set(PACKAGE_VERSION \"$version\")" "$stage/share/cmake/sipdetect/sipdetectConfigVersion.cmake"
    echo "installed sipdetect $version into $stage"
}

find_package_consumer() {
    cmake_build "$here/find_package" "$scratch/build-find_package" \
        -DCMAKE_PREFIX_PATH="$stage" -DEXPECTED_PREFIX="$stage" -DEXPECTED_VERSION="$version"
    run_consumer "$(built "$scratch/build-find_package" app)"
}

add_subdirectory_consumer() {
    local b="$scratch/build-add_subdirectory"
    cmake_build "$here/add_subdirectory" "$b" \
        -DSIPDETECT_SOURCE_DIR="$src" -DEXPECTED_VERSION="$version"
    cmake --install "$b" --prefix "$scratch/add_subdirectory-install"
    if [ -e "$scratch/add_subdirectory-install/include/sipdetect" ] ||
        [ -e "$scratch/add_subdirectory-install/share/cmake/sipdetect" ]; then
        echo "installing the consumer installed sipdetect's files too"
        exit 1
    fi
    run_consumer "$(built "$b" consumer)"
}

fetchcontent_consumer() {
    local b="$scratch/build-fetchcontent"
    cmake_build "$here/fetchcontent" "$b" \
        -DFETCHCONTENT_SOURCE_DIR_SIPDETECT="$src" -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
        -DEXPECTED_VERSION="$version"
    run_consumer "$(built "$b" app)"
}

pkg_config_command_line() {
    export PKG_CONFIG_PATH="$stage/share/pkgconfig"
    test "$(pkg-config --modversion sipdetect)" = "$version"
    pkg-config --exists "sipdetect >= $major.$minor"
    if pkg-config --exists "sipdetect >= 99.0"; then
        echo "pkg-config accepted sipdetect >= 99.0"
        exit 1
    fi
    local cflags
    cflags=$(pkg-config --cflags sipdetect)
    echo "cflags: $cflags"
    test -z "$(pkg-config --libs sipdetect | tr -d ' ')"
    mkdir -p "$scratch/build-pkg-config-cli"
    local output
    # shellcheck disable=SC2086  # the flags are words
    output=$("$cxx" -std=c++20 $cflags -DSIPDETECT_EXPECTED_VERSION="\"$version\"" \
        -DCONSUMER_KIND='"pkg-config on a compiler command line"' \
        "$here/consumer.cpp" "$here/lax_code.cpp" -o "$scratch/build-pkg-config-cli/consumer" 2>&1) ||
        { echo "$output"; exit 1; }
    echo "$output"
    no_project_flags "pkg-config --cflags" "$cflags" "$output"
    run_consumer "$scratch/build-pkg-config-cli/consumer"
}

pkg_config_cmake() {
    PKG_CONFIG_PATH="$stage/share/pkgconfig" \
        cmake_build "$here/pkg_config" "$scratch/build-pkg_config" -DEXPECTED_VERSION="$version"
    run_consumer "$(built "$scratch/build-pkg_config" consumer)"
}

# request_version <request> accepted|refused|required-refused
request_version() {
    local request=$1 expect=$2 b out rc
    b="$scratch/build-version/$(echo "$request" | tr -c 'A-Za-z0-9.\n' '_')-$expect"
    local args=(-S "$here/version_request" -B "$b" -DCMAKE_PREFIX_PATH="$stage"
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "-DREQUEST=$request")
    [ "$expect" = required-refused ] && args+=(-DREQUIRED_MODE=ON)
    set +e
    out=$(cmake "${args[@]}" 2>&1)
    rc=$?
    set -e
    case $expect in
    accepted)
        [ $rc -eq 0 ] && grep -q "sipdetect-version-request: found $version in $stage/" <<<"$out" ;;
    refused)
        [ $rc -eq 0 ] && grep -q "sipdetect-version-request: not found" <<<"$out" ;;
    required-refused)
        [ $rc -ne 0 ] && grep -q "compatible with requested version" <<<"$out" &&
            grep -q "sipdetectConfig.cmake, version: $version" <<<"$out" ;;
    esac || {
        echo "find_package(sipdetect $request CONFIG): expected $expect, cmake exited $rc:"
        echo "$out"
        return 1
    }
    echo "find_package(sipdetect ${request//;/ } CONFIG): $expect"
}

version_requests() {
    local next_major=$((major + 1)) next_minor=$((minor + 1)) next_patch=$((patch + 1))
    request_version "$major.0" accepted
    request_version "$major.$minor" accepted
    request_version "$version" accepted
    request_version "$version;EXACT" accepted
    request_version "$major.0...<$next_major.0" accepted
    request_version "99.0" refused
    request_version "99.0" required-refused
    request_version "$next_major.0" refused
    request_version "$major.$next_minor" refused
    request_version "$major.$minor.$next_patch" refused
    if [ "$major" -gt 0 ]; then request_version "$((major - 1)).0" refused; fi
    echo "version requests: same-major lower and equal accepted, 99.0 and newer refused"
}

recipes() {
    bash "$src/cmake/check-recipes.sh" --prefix "$stage" "$scratch/recipes"
}

relocated() {
    # Last: moves the staged tree away, so nothing can still point into it.
    local moved="$scratch/relocated/some/other/prefix"
    mkdir -p "$(dirname "$moved")"
    mv "$stage" "$moved"
    cmake_build "$here/find_package" "$scratch/build-relocated" \
        -DCMAKE_PREFIX_PATH="$moved" -DEXPECTED_PREFIX="$moved" -DEXPECTED_VERSION="$version"
    run_consumer "$(built "$scratch/build-relocated" app)"
    local includedir
    includedir=$(PKG_CONFIG_PATH="$moved/share/pkgconfig" pkg-config --variable=includedir sipdetect)
    test -f "$includedir/sipdetect/version.hpp"
    local cflags
    cflags=$(PKG_CONFIG_PATH="$moved/share/pkgconfig" pkg-config --cflags sipdetect)
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++20 $cflags \
        -DSIPDETECT_EXPECTED_VERSION="\"$version\"" -DCONSUMER_KIND='"pkg-config, relocated"' \
        "$here/consumer.cpp" -o "$scratch/build-relocated/consumer-pkg-config"
    run_consumer "$scratch/build-relocated/consumer-pkg-config"
    echo "relocated prefix works for CMake and pkg-config (includedir $includedir)"
}

# ---------------------------------------------------------------------------

echo "sipdetect $version consumers, compiler $cxx, scratch $scratch"
set +e # the subshell sets errexit again; in an `if` it would not apply
(set -euo pipefail; install_stage) >"$scratch/logs/install.log" 2>&1
install_rc=$?
set -e
if [ $install_rc -ne 0 ]; then
    echo "install into a staging prefix failed (log $scratch/logs/install.log):"
    tail -n 25 "$scratch/logs/install.log" | sed 's/^/      | /'
    echo "consumers: 0 passed, 1 failed"
    exit 1
fi
echo "installed into $stage"
consumer find_package find_package_consumer
consumer add_subdirectory add_subdirectory_consumer
consumer FetchContent fetchcontent_consumer
consumer pkg-config-cli pkg_config_command_line
consumer pkg_check_modules pkg_config_cmake
consumer version-requests version_requests
consumer recipes recipes
report
# Last and alone: it moves the staged tree away from under the others.
consumer relocated relocated
report

echo "consumers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
