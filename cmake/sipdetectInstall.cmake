# Installation of the header-only package: headers, CMake config, pkg-config, licence.
#
#   <prefix>/include/sipdetect/*.hpp
#   <prefix>/share/cmake/sipdetect/sipdetect{Config,ConfigVersion,Targets}.cmake
#   <prefix>/share/pkgconfig/sipdetect.pc
#   <prefix>/share/doc/sipdetect/LICENSE, README.md
#
# Everything is architecture-independent, hence share/ rather than lib/. The
# installed tree is relocatable: the CMake files and the .pc file find the
# prefix from their own location, so `cmake --install <build> --prefix <dir>`,
# DESTDIR staging and moving the tree afterwards all work.

# A project that vendors sipdetect through add_subdirectory or FetchContent
# does not install sipdetect's files along with its own unless it asks to.
option(SIPDETECT_INSTALL "Generate sipdetect's install rules" ${PROJECT_IS_TOP_LEVEL})
if(NOT SIPDETECT_INSTALL)
    return()
endif()

include(CMakePackageConfigHelpers)

install(TARGETS sipdetect EXPORT sipdetectTargets)
install(DIRECTORY include/sipdetect DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN "*.hpp")

set(SIPDETECT_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/sipdetect)
install(EXPORT sipdetectTargets NAMESPACE sipdetect:: DESTINATION ${SIPDETECT_CMAKE_DIR})
configure_package_config_file(cmake/sipdetectConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/sipdetectConfig.cmake
    INSTALL_DESTINATION ${SIPDETECT_CMAKE_DIR})
# Header-only: the version file must not refuse 32-bit consumers.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sipdetectConfigVersion.cmake
    COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/sipdetectConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/sipdetectConfigVersion.cmake
    DESTINATION ${SIPDETECT_CMAKE_DIR})

# pkg-config: the prefix is found relative to the .pc file (${pcfiledir}), so
# the file does not carry the configure-time CMAKE_INSTALL_PREFIX, which
# `cmake --install --prefix` and relocation would make wrong. Absolute
# install directories are kept as given.
set(SIPDETECT_PC_DIR ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(IS_ABSOLUTE "${SIPDETECT_PC_DIR}")
    set(SIPDETECT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
    file(RELATIVE_PATH SIPDETECT_PC_UP "/prefix/${SIPDETECT_PC_DIR}" "/prefix")
    string(REGEX REPLACE "/$" "" SIPDETECT_PC_UP "${SIPDETECT_PC_UP}")
    set(SIPDETECT_PC_PREFIX "\${pcfiledir}/${SIPDETECT_PC_UP}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(SIPDETECT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
    set(SIPDETECT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/sipdetect.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sipdetect.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sipdetect.pc DESTINATION ${SIPDETECT_PC_DIR})

install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sipdetect)
