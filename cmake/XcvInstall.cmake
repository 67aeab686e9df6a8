# install(): headers, libxcvirtio.a, the CMake package (xcvirtio::xcvirtio) and xcvirtio.pc.
#
#   <prefix>/include/xcvirtio/*.h
#   <prefix>/<libdir>/libxcvirtio.a
#   <prefix>/<libdir>/cmake/xcvirtio/xcvirtio{Config,ConfigVersion,Targets}.cmake
#   <prefix>/<libdir>/pkgconfig/xcvirtio.pc
#
# Both the package and the .pc file are relocatable: they locate the prefix from their own path,
# so `cmake --install <build> --prefix <anywhere>` works.

include(CMakePackageConfigHelpers)

set(XCV_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/xcvirtio"
    CACHE STRING "Where to install the CMake package files (relative to the prefix)")
set(XCV_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where to install xcvirtio.pc (relative to the prefix)")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/xcvirtio"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT xcvirtio_development
        FILES_MATCHING PATTERN "*.h")

install(TARGETS xcvirtio
        EXPORT xcvirtioTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT xcvirtio_development
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(EXPORT xcvirtioTargets
        NAMESPACE xcvirtio::
        FILE xcvirtioTargets.cmake
        DESTINATION "${XCV_INSTALL_CMAKEDIR}"
        COMPONENT xcvirtio_development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/xcvirtioConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/xcvirtioConfig.cmake"
  INSTALL_DESTINATION "${XCV_INSTALL_CMAKEDIR}")
# 0.x: minor versions may break the API.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/xcvirtioConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/xcvirtioConfig.cmake"
              "${PROJECT_BINARY_DIR}/xcvirtioConfigVersion.cmake"
        DESTINATION "${XCV_INSTALL_CMAKEDIR}"
        COMPONENT xcvirtio_development)

# pkg-config: prefix relative to the .pc file's own directory.
if(IS_ABSOLUTE "${XCV_INSTALL_PKGCONFIGDIR}")
  set(XCV_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _xcv_pc_up "/__prefix__/${XCV_INSTALL_PKGCONFIGDIR}" "/__prefix__")
  string(REGEX REPLACE "/$" "" _xcv_pc_up "${_xcv_pc_up}")
  set(XCV_PC_PREFIX "\${pcfiledir}/${_xcv_pc_up}")
endif()
foreach(_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(XCV_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(XCV_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
configure_file("${PROJECT_SOURCE_DIR}/cmake/xcvirtio.pc.in" "${PROJECT_BINARY_DIR}/xcvirtio.pc"
               @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/xcvirtio.pc"
        DESTINATION "${XCV_INSTALL_PKGCONFIGDIR}"
        COMPONENT xcvirtio_development)
