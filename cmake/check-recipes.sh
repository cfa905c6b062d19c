#!/usr/bin/env bash
# Checks the vcpkg overlay port (cmake/vcpkg/ports/sipdetect) and the Conan
# recipe (cmake/conan) as far as possible without vcpkg or Conan:
#
#   vcpkg   vcpkg.json is valid JSON with the project's name, version and
#           licence and the two host dependencies; the portfile turns off
#           every SIPDETECT_BUILD_* option of CMakeLists.txt, fixes up the
#           config directory the install really uses, and finds the checkout
#           from its own location; the `usage` snippet's find_package and
#           target_link_libraries lines build and run against the installed
#           package, both as installed and in a vcpkg-style tree
#           (share/sipdetect, with vcpkg_cmake_config_fixup's path corrections).
#   Conan   conanfile.py and test_package/conanfile.py compile (py_compile);
#           the recipe's version is the project's; its export_sources,
#           package, package_id, validate and package_info run against a
#           minimal stand-in for the conan module (the real layout of the
#           package is checked, and the CMake/pkg-config names); test_package's
#           CMakeLists.txt and test_package.cpp build and run against the
#           installed package.
#
#   cmake/check-recipes.sh [--prefix <installed sipdetect>] [<scratch dir>]
#
# Without --prefix, installs the checkout into <scratch>/stage first. Without
# a scratch dir, uses a temporary one. tests/consumers/run.sh calls this.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=""
if [ "${1:-}" = "--prefix" ]; then
    prefix=$(cd "$2" && pwd)
    shift 2
fi
if [ $# -ge 1 ]; then
    mkdir -p "$1"
    scratch=$(cd "$1" && pwd)
    rm -rf "$scratch/recipes-work"
    work="$scratch/recipes-work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
port="$root/cmake/vcpkg/ports/sipdetect"
conan="$root/cmake/conan"
jobs=$(nproc 2>/dev/null || echo 2)

version=$(tr '\n' ' ' <"$root/CMakeLists.txt" |
    sed -nE 's/.*project\([[:space:]]*sipdetect[[:space:]]+VERSION[[:space:]]+([0-9]+\.[0-9]+\.[0-9]+).*/\1/p')
[ -n "$version" ] || { echo "cannot read the project version" >&2; exit 1; }

if [ -z "$prefix" ]; then
    prefix="$work/stage"
    cmake -S "$root" -B "$work/build-install" -DSIPDETECT_BUILD_TESTS=OFF -DSIPDETECT_BUILD_EXAMPLES=OFF \
        -DSIPDETECT_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --install "$work/build-install" --prefix "$prefix" >/dev/null
fi
test -f "$prefix/share/cmake/sipdetect/sipdetectConfig.cmake" || {
    echo "no sipdetect package under $prefix" >&2
    exit 1
}

ok() { echo "ok: $*"; }

# ---- vcpkg ------------------------------------------------------------------

python3 -m json.tool "$port/vcpkg.json" >/dev/null
python3 - "$port/vcpkg.json" "$version" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
want = {"name": "sipdetect", "version": sys.argv[2], "license": "Apache-2.0"}
for k, v in want.items():
    assert m.get(k) == v, f"vcpkg.json: {k} is {m.get(k)!r}, expected {v!r}"
assert m.get("description") and m.get("homepage"), "vcpkg.json: description and homepage are required"
deps = {d["name"]: d for d in m.get("dependencies", []) if isinstance(d, dict)}
for name in ("vcpkg-cmake", "vcpkg-cmake-config"):
    assert deps.get(name, {}).get("host") is True, f"vcpkg.json: {name} must be a host dependency"
EOF
ok "vcpkg.json is valid JSON: sipdetect $version, Apache-2.0, host deps vcpkg-cmake and vcpkg-cmake-config"

while read -r opt; do
    grep -q -- "-D$opt=OFF" "$port/portfile.cmake" || { echo "portfile.cmake does not turn off $opt" >&2; exit 1; }
done < <(sed -nE 's/^[[:space:]]*option\((SIPDETECT_BUILD_[A-Z_]+).*/\1/p' "$root/CMakeLists.txt")
# shellcheck disable=SC2016  # literal text of the portfile
for call in 'set(VCPKG_BUILD_TYPE release)' 'vcpkg_cmake_configure(' 'vcpkg_cmake_install()' \
    'vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/sipdetect)' 'vcpkg_fixup_pkgconfig()' \
    'file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug"' 'vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")'; do
    grep -qF -- "$call" "$port/portfile.cmake" || { echo "portfile.cmake lacks: $call" >&2; exit 1; }
done
# The portfile finds the checkout at ${CURRENT_PORT_DIR}/../../../..
test -f "$port/../../../../include/sipdetect/version.hpp" && test -f "$port/../../../../cmake/sipdetectInstall.cmake"
test -f "$port/usage"
ok "portfile.cmake: BUILD_* options off, config fixup of share/cmake/sipdetect, checkout found from the port"

# A consumer made of the usage snippet's lines.
usage_project() { # <dir>
    mkdir -p "$1"
    cp "$conan/test_package/test_package.cpp" "$1/main.cpp"
    {
        echo "cmake_minimum_required(VERSION 3.14)"
        echo "project(vcpkg_usage LANGUAGES CXX)"
        grep -E '^[[:space:]]*find_package\(' "$port/usage"
        echo "add_executable(main main.cpp)"
        grep -E '^[[:space:]]*target_link_libraries\(' "$port/usage"
    } >"$1/CMakeLists.txt"
    grep -q 'find_package(sipdetect CONFIG REQUIRED)' "$1/CMakeLists.txt"
    grep -q 'target_link_libraries(main PRIVATE sipdetect::sipdetect)' "$1/CMakeLists.txt"
}
build_and_run() { # <source> <build> <prefix> <binary>
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$3" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$2.log" 2>&1 || { cat "$2.log"; return 1; }
    local found
    found=$(sed -n 's/^sipdetect_DIR:PATH=//p' "$2/CMakeCache.txt")
    case "$found/" in
    "$3/"*) ;;
    *) echo "found sipdetect in '$found', not under $3"; return 1 ;;
    esac
    cmake --build "$2" -j "$jobs" >>"$2.log" 2>&1 || { cat "$2.log"; return 1; }
    local out
    out=$("$2/$4")
    grep -q "^sipdetect $version: {\"detector\":\"sipscan\",\"event\":\"start\"" <<<"$out"
}

usage_project "$work/vcpkg-usage"
build_and_run "$work/vcpkg-usage" "$work/build-vcpkg-usage" "$prefix" main
ok "vcpkg usage snippet builds and runs against the installed package"

# The tree as vcpkg would install it: share/cmake/sipdetect moved to
# share/sipdetect, with the path corrections vcpkg_cmake_config_fixup makes
# (the targets file's _IMPORT_PREFIX goes up two levels from share/sipdetect,
# PACKAGE_PREFIX_DIR is ../../), no share/doc, the licence as copyright.
vcpkg_tree="$work/vcpkg-installed/x64-linux"
mkdir -p "$vcpkg_tree"
cp -a "$prefix/." "$vcpkg_tree/"
mkdir -p "$vcpkg_tree/share/sipdetect"
mv "$vcpkg_tree/share/cmake/sipdetect/"* "$vcpkg_tree/share/sipdetect/"
rm -rf "$vcpkg_tree/share/cmake" "$vcpkg_tree/share/doc"
cp "$port/usage" "$vcpkg_tree/share/sipdetect/usage"
cp "$root/LICENSE" "$vcpkg_tree/share/sipdetect/copyright"
cat >"$work/vcpkg-fixup.cmake" <<'EOF'
file(GLOB files "${DIR}/*.cmake")
foreach(f IN LISTS files)
    file(READ "${f}" contents)
    set(before "${contents}")
    string(REGEX REPLACE
[[get_filename_component\(_IMPORT_PREFIX "\${CMAKE_CURRENT_LIST_FILE}" PATH\)(
get_filename_component\(_IMPORT_PREFIX "\${_IMPORT_PREFIX}" PATH\))*]]
[[get_filename_component(_IMPORT_PREFIX "${CMAKE_CURRENT_LIST_FILE}" PATH)
get_filename_component(_IMPORT_PREFIX "${_IMPORT_PREFIX}" PATH)
get_filename_component(_IMPORT_PREFIX "${_IMPORT_PREFIX}" PATH)]]
        contents "${contents}")
    string(REGEX REPLACE
[[get_filename_component\(PACKAGE_PREFIX_DIR "\${CMAKE_CURRENT_LIST_DIR}/\.\./(\.\./)*" ABSOLUTE\)]]
[[get_filename_component(PACKAGE_PREFIX_DIR "${CMAKE_CURRENT_LIST_DIR}/../../" ABSOLUTE)]]
        contents "${contents}")
    if(NOT contents STREQUAL before)
        message(STATUS "fixed up ${f}")
    endif()
    file(WRITE "${f}" "${contents}")
endforeach()
EOF
fixed=$(cmake -DDIR="$vcpkg_tree/share/sipdetect" -P "$work/vcpkg-fixup.cmake")
if ! grep -q "sipdetectTargets.cmake" <<<"$fixed" || ! grep -q "sipdetectConfig.cmake" <<<"$fixed"; then
    echo "the vcpkg path corrections no longer match the installed CMake files:"
    echo "$fixed"
    exit 1
fi
usage_project "$work/vcpkg-usage-tree"
build_and_run "$work/vcpkg-usage-tree" "$work/build-vcpkg-usage-tree" "$vcpkg_tree" main
PKG_CONFIG_PATH="$vcpkg_tree/share/pkgconfig" pkg-config --cflags sipdetect | grep -q -- "-I$vcpkg_tree/"
ok "vcpkg usage snippet builds and runs in a vcpkg-style tree (share/sipdetect); pkg-config resolves there too"

# ---- Conan ------------------------------------------------------------------

export PYTHONPYCACHEPREFIX="$work/pycache" # keep __pycache__ out of the checkout
python3 -m py_compile "$conan/conanfile.py"
python3 -m py_compile "$conan/test_package/conanfile.py"
ok "conanfile.py and test_package/conanfile.py compile"

# A minimal stand-in for the parts of the conan module the recipes import.
stub="$work/conan-stub"
mkdir -p "$stub/conan/tools/build" "$stub/conan/tools/files" "$stub/conan/tools/layout" \
    "$stub/conan/tools/scm" "$stub/conan/tools/cmake"
cat >"$stub/conan/__init__.py" <<'EOF'
class ConanFile:
    pass
EOF
cat >"$stub/conan/errors.py" <<'EOF'
class ConanInvalidConfiguration(Exception):
    pass
EOF
touch "$stub/conan/tools/__init__.py"
cat >"$stub/conan/tools/build/__init__.py" <<'EOF'
from conan.errors import ConanInvalidConfiguration
calls = []
def check_min_cppstd(conanfile, cppstd, gnu_extensions=False):
    calls.append(("check_min_cppstd", int(cppstd)))
    current = str(conanfile.settings.compiler.cppstd).replace("gnu", "")
    if int(current) < int(cppstd):
        raise ConanInvalidConfiguration(f"Current cppstd ({current}) is lower than the required C++ standard ({cppstd}).")
def can_run(conanfile):
    return True
EOF
cat >"$stub/conan/tools/files/__init__.py" <<'EOF'
import fnmatch, os, shutil
def copy(conanfile, pattern, src, dst, keep_path=True, excludes=None):
    copied = []
    for base, _, files in os.walk(src):
        for name in files:
            rel = os.path.relpath(os.path.join(base, name), src)
            if fnmatch.fnmatch(rel, pattern):
                target = os.path.join(dst, rel if keep_path else name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(os.path.join(base, name), target)
                copied.append(target)
    return copied
EOF
cat >"$stub/conan/tools/layout/__init__.py" <<'EOF'
def basic_layout(conanfile, src_folder=".", build_folder=None):
    conanfile.layout_src_folder = src_folder
EOF
cat >"$stub/conan/tools/scm/__init__.py" <<'EOF'
class Version:
    def __init__(self, v):
        self.parts = tuple(int(p) for p in str(v).split("."))
    def __lt__(self, other):
        other = other if isinstance(other, Version) else Version(other)
        return self.parts < other.parts
EOF
cat >"$stub/conan/tools/cmake/__init__.py" <<'EOF'
class CMake:
    def __init__(self, conanfile): pass
    def configure(self): pass
    def build(self): pass
def cmake_layout(conanfile, *args, **kwargs): pass
EOF
PYTHONPATH="$stub" python3 - "$conan" "$root" "$version" "$work/conan-run" <<'EOF'
import importlib.util, os, sys, types
recipe_dir, root, version, run = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("recipe", os.path.join(recipe_dir, "conanfile.py"))
recipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipe)
from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
import conan.tools.build as build_tools

classes = [c for c in vars(recipe).values() if isinstance(c, type) and issubclass(c, ConanFile) and c is not ConanFile]
assert len(classes) == 1, classes
R = classes[0]
assert R.name == "sipdetect" and R.version == version, (R.name, R.version, version)
assert R.package_type == "header-library"
assert R.no_copy_source is True
assert R.license == "Apache-2.0"

class Compiler:
    def __init__(self, name, version, cppstd):
        self.name, self.version, self.cppstd = name, version, cppstd
    def __str__(self):
        return self.name

class Settings:
    def __init__(self, compiler, cversion, cppstd):
        self.compiler = Compiler(compiler, cversion, cppstd)
    def get_safe(self, name):
        return getattr(self.compiler, name.split(".")[-1], None)

def make(compiler="gcc", cversion="12", cppstd="20"):
    r = R()
    r.settings = Settings(compiler, cversion, cppstd)
    r.ref = f"sipdetect/{version}"
    return r

# export_sources: the checkout's headers and licence, found from the recipe folder.
r = make()
r.recipe_folder = recipe_dir
r.export_sources_folder = os.path.join(run, "export_source")
r.export_sources()
headers = sorted(os.path.relpath(os.path.join(b, f), os.path.join(root, "include"))
                 for b, _, fs in os.walk(os.path.join(root, "include")) for f in fs if f.endswith(".hpp"))
exported = sorted(os.path.relpath(os.path.join(b, f), os.path.join(r.export_sources_folder, "include"))
                  for b, _, fs in os.walk(os.path.join(r.export_sources_folder, "include")) for f in fs)
assert exported == headers, (exported, headers)
assert os.path.isfile(os.path.join(r.export_sources_folder, "LICENSE"))

# package: include/ and licenses/ only.
r.layout()
r.source_folder = r.export_sources_folder
r.package_folder = os.path.join(run, "package")
r.package()
packaged = sorted(os.path.relpath(os.path.join(b, f), r.package_folder)
                  for b, _, fs in os.walk(r.package_folder) for f in fs)
assert packaged == sorted(["licenses/LICENSE"] + ["include/" + h for h in headers]), packaged

# package_id: one package for every configuration.
cleared = []
r.info = types.SimpleNamespace(clear=lambda: cleared.append(True))
r.package_id()
assert cleared == [True]

# validate: C++20 or later, and the tested compilers' versions.
make().validate()
make(cppstd="gnu23").validate()
assert ("check_min_cppstd", 20) in build_tools.calls
for bad in (make(cppstd="17"), make(cppstd="gnu17"), make(cversion="11"), make("clang", "13", "20")):
    try:
        bad.validate()
    except ConanInvalidConfiguration:
        continue
    raise AssertionError("validate() accepted an unsupported configuration")

# package_info: the names consumers use.
class CppInfo:
    def __init__(self):
        self.props, self.bindirs, self.libdirs = {}, None, None
    def set_property(self, k, v):
        self.props[k] = v
r.cpp_info = CppInfo()
r.package_info()
assert r.cpp_info.bindirs == [] and r.cpp_info.libdirs == []
assert r.cpp_info.props == {"cmake_file_name": "sipdetect", "cmake_target_name": "sipdetect::sipdetect",
                            "pkg_config_name": "sipdetect"}, r.cpp_info.props

# test_package recipe shape.
spec = importlib.util.spec_from_file_location("tp", os.path.join(recipe_dir, "test_package", "conanfile.py"))
tp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tp)
T = [c for c in vars(tp).values() if isinstance(c, type) and issubclass(c, ConanFile) and c is not ConanFile][0]
assert {"CMakeDeps", "CMakeToolchain"} <= set(T.generators), T.generators
assert T.test_type == "explicit"
for m in ("requirements", "layout", "build", "test"):
    assert callable(getattr(T, m, None)), m
EOF
ok "conanfile.py: version $version, export_sources/package layout, package_id, validate (C++20), package_info names"

build_and_run "$conan/test_package" "$work/build-conan-test_package" "$prefix" test_package
ok "Conan test_package (CMakeLists.txt + test_package.cpp) builds and runs against the installed package"
echo "recipes: vcpkg port and Conan recipe checked"
