# FindIPFIXcol2: the headers of ipfixcol2's plugin API and libfds, for an
# out-of-tree ipfixcol2 plugin. Searched through CMAKE_PREFIX_PATH and the
# usual places, with pkg-config's ipfixcol2.pc and libfds.pc as hints.
#
# Result: IPFIXcol2_FOUND, IPFIXcol2_VERSION (the plugin API's, from
# ipfixcol2/api.h) and the imported target IPFIXcol2::IPFIXcol2 (include
# directories and libfds). The plugin's ipx_* calls are resolved by the
# collector that loads it, so there is no ipfixcol2 library to link.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_IPFIXcol2 QUIET ipfixcol2)
    pkg_check_modules(PC_IPFIXcol2_libfds QUIET libfds)
endif()

find_path(IPFIXcol2_INCLUDE_DIR NAMES ipfixcol2.h HINTS ${PC_IPFIXcol2_INCLUDE_DIRS})
find_path(IPFIXcol2_LIBFDS_INCLUDE_DIR NAMES libfds.h HINTS ${PC_IPFIXcol2_libfds_INCLUDE_DIRS})
find_library(IPFIXcol2_LIBFDS_LIBRARY NAMES fds HINTS ${PC_IPFIXcol2_libfds_LIBRARY_DIRS})

if(IPFIXcol2_INCLUDE_DIR AND EXISTS "${IPFIXcol2_INCLUDE_DIR}/ipfixcol2/api.h")
    file(STRINGS "${IPFIXcol2_INCLUDE_DIR}/ipfixcol2/api.h" version_line
         REGEX "^#define IPX_API_VERSION_STR \"[0-9.]+\"")
    string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" IPFIXcol2_VERSION "${version_line}")
    unset(version_line)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(IPFIXcol2
    REQUIRED_VARS IPFIXcol2_INCLUDE_DIR IPFIXcol2_LIBFDS_INCLUDE_DIR IPFIXcol2_LIBFDS_LIBRARY
    VERSION_VAR IPFIXcol2_VERSION)
mark_as_advanced(IPFIXcol2_INCLUDE_DIR IPFIXcol2_LIBFDS_INCLUDE_DIR IPFIXcol2_LIBFDS_LIBRARY)

if(IPFIXcol2_FOUND AND NOT TARGET IPFIXcol2::IPFIXcol2)
    add_library(IPFIXcol2::IPFIXcol2 UNKNOWN IMPORTED)
    set_target_properties(IPFIXcol2::IPFIXcol2 PROPERTIES
        IMPORTED_LOCATION "${IPFIXcol2_LIBFDS_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${IPFIXcol2_INCLUDE_DIR};${IPFIXcol2_LIBFDS_INCLUDE_DIR}")
endif()
