# sipdetect: header-only, so a release-only build that installs headers,
# the CMake package and the pkg-config file.
#
#   vcpkg install sipdetect --overlay-ports=<sipdetect checkout>/cmake/vcpkg/ports
#
# Source: while the port sits in a sipdetect checkout (this overlay), it
# builds that checkout (SOURCE_PATH is the checkout root, found from the
# port's own directory). vcpkg hashes the port files, not those sources, into
# the package ABI: after changing the sources, `vcpkg remove sipdetect` (or
# install with --no-binarycaching) so vcpkg does not reuse the old package.
# Copied into a registry, away from a checkout, the port downloads the tag
# v${VERSION} instead; fill in SHA512 when publishing (vcpkg prints the right
# value when it is wrong).
set(VCPKG_BUILD_TYPE release)

get_filename_component(SIPDETECT_CHECKOUT "${CURRENT_PORT_DIR}/../../../.." ABSOLUTE)
if(EXISTS "${SIPDETECT_CHECKOUT}/include/sipdetect/version.hpp"
   AND EXISTS "${SIPDETECT_CHECKOUT}/cmake/sipdetectInstall.cmake")
    set(SOURCE_PATH "${SIPDETECT_CHECKOUT}")
else()
    vcpkg_from_github(
        OUT_SOURCE_PATH SOURCE_PATH
        REPO sipdetect/sipdetect
        REF "v${VERSION}"
        SHA512 0
        HEAD_REF main
    )
endif()

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DSIPDETECT_BUILD_TESTS=OFF
        -DSIPDETECT_BUILD_EXAMPLES=OFF
        -DSIPDETECT_BUILD_BENCHMARKS=OFF
        -DSIPDETECT_INSTALL=ON
)
vcpkg_cmake_install()
# share/cmake/sipdetect -> share/sipdetect, paths in the config files adjusted.
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/sipdetect)
vcpkg_fixup_pkgconfig()

# Nothing is built, so there is no debug tree; the licence goes to copyright.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/share/doc")

file(INSTALL "${CURRENT_PORT_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
