# Packaging tests, included from tests/CMakeLists.txt after sipdetect_test() is defined:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/packaging.cmake)
#
#  - test_fmt:  <sipdetect/fmt.hpp> (only when {fmt} is found)
#  - test_json: sipdetect::to_json read back with nlohmann::json
#  - "packaging: ..." runs tests/consumers/run.sh: installs sipdetect into a
#    staging prefix and builds and runs consumers through find_package,
#    add_subdirectory, FetchContent and pkg-config, checks version requests,
#    and builds the vcpkg usage and Conan test_package code (cmake/check-recipes.sh).
#
# A missing optional dependency skips its test with a warning; in CI
# (CI=true) it is an error, so a test cannot silently disappear there. A
# package left out on purpose with -DCMAKE_DISABLE_FIND_PACKAGE_<name>=ON (the
# -m32 build of tests/run-all.sh --full: no i386 {fmt}) is said so and allowed.

# _sipdetect_packaging_missing(<what> [<package name>])
function(_sipdetect_packaging_missing what)
    if(ARGC GREATER 1 AND CMAKE_DISABLE_FIND_PACKAGE_${ARGV1})
        message(STATUS "sipdetect tests: ${what} left out (CMAKE_DISABLE_FIND_PACKAGE_${ARGV1}); its tests are not built")
        return()
    endif()
    if("$ENV{CI}" STREQUAL "true")
        message(FATAL_ERROR "sipdetect tests: ${what} not found; it is required in CI (cmake/install-debian-deps.sh)")
    endif()
    message(WARNING "sipdetect tests: ${what} not found; its tests are skipped")
endfunction()

find_package(fmt 9 QUIET CONFIG)
if(fmt_FOUND)
    sipdetect_test(test_fmt ${CMAKE_CURRENT_LIST_DIR}/test_fmt.cpp)
    target_link_libraries(test_fmt PRIVATE fmt::fmt)
else()
    _sipdetect_packaging_missing("{fmt} 9 or later (libfmt-dev)" fmt)
endif()

find_package(nlohmann_json 3.2 QUIET CONFIG)
if(nlohmann_json_FOUND)
    sipdetect_test(test_json ${CMAKE_CURRENT_LIST_DIR}/test_json.cpp)
    target_link_libraries(test_json PRIVATE nlohmann_json::nlohmann_json)
else()
    _sipdetect_packaging_missing("nlohmann_json 3 (nlohmann-json3-dev)")
endif()

find_program(SIPDETECT_BASH bash)
if(SIPDETECT_BASH)
    # The consumers are built with the suite's compiler, but never with its
    # sanitizer or warning flags: they stand for someone else's project.
    add_test(NAME "packaging: install, find_package, add_subdirectory, FetchContent, pkg-config, vcpkg and Conan consumers"
        COMMAND ${CMAKE_COMMAND} -E env
            CXX=${CMAKE_CXX_COMPILER}
            ${SIPDETECT_BASH} ${CMAKE_CURRENT_LIST_DIR}/consumers/run.sh
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/consumers)
    set_tests_properties(
        "packaging: install, find_package, add_subdirectory, FetchContent, pkg-config, vcpkg and Conan consumers"
        PROPERTIES
            LABELS packaging
            # The longest test: a high cost makes ctest -j start it first on a fresh build.
            COST 10000
            TIMEOUT 900
            FAIL_REGULAR_EXPRESSION "consumers: [0-9]+ passed, [1-9][0-9]* failed")
else()
    _sipdetect_packaging_missing("bash")
endif()
