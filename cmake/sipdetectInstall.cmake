# Installation of the header-only package: headers, CMake config, pkg-config, licence.
include(CMakePackageConfigHelpers)

install(TARGETS sipdetect EXPORT sipdetectTargets)
install(DIRECTORY include/sipdetect DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

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

configure_file(cmake/sipdetect.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sipdetect.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sipdetect.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sipdetect)
