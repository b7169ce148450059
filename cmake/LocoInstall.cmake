# LocoInstall.cmake: what `cmake --install` puts under the prefix. Included last by the top-level
# CMakeLists.txt, once every target exists.
#   lib/libloco.so.1.<minor>.<patch> (+ libloco.so.1, libloco.so)   the C API, shared
#   include/loco/loco.h                                              its header
#   bin/loco, bin/loco-train (when built with LibTorch)              the command-line tools
#   lib/cmake/loco/                find_package(loco) -> imported target loco::loco
#   lib/pkgconfig/loco.pc          pkg-config --cflags --libs loco
# Not installed: the static module libraries (C++ internals with no stable interface).
include(CMakePackageConfigHelpers)

install(TARGETS loco_shared EXPORT loco-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/loco/loco.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/loco)
install(TARGETS loco RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET loco-train)
  install(TARGETS loco-train RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The CMake package (relocatable: the exported file finds its prefix from its own location).
set(_loco_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/loco)
install(EXPORT loco-targets NAMESPACE loco:: FILE loco-targets.cmake DESTINATION ${_loco_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/loco-config.cmake.in
  ${PROJECT_BINARY_DIR}/loco-config.cmake INSTALL_DESTINATION ${_loco_cmake_dir})
# 0.x: a minor release may change the C++ side, never the C ABI; SameMajorVersion for the package.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/loco-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/loco-config.cmake ${PROJECT_BINARY_DIR}/loco-config-version.cmake
  DESTINATION ${_loco_cmake_dir})

# loco.pc is written at install time so that `cmake --install --prefix P` puts P in it (the prefix
# given at configure time may not be the one installed to). libdir and includedir are relative to
# ${prefix} in the file unless they were given as absolute paths.
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(_loco_pc_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(_loco_pc_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
set(_loco_pc ${PROJECT_BINARY_DIR}/loco.pc)
install(CODE "
  set(LOCO_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(LOCO_PC_LIBDIR [[${_loco_pc_LIBDIR}]])
  set(LOCO_PC_INCLUDEDIR [[${_loco_pc_INCLUDEDIR}]])
  set(LOCO_PC_VERSION ${PROJECT_VERSION})
  configure_file(${CMAKE_CURRENT_LIST_DIR}/loco.pc.in ${_loco_pc} @ONLY)
")
install(FILES ${_loco_pc} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
