# Install rules: the binary, the man pages and completions (cmake/man.cmake), the public
# headers, the static library as librdbox.a, rdbox.pc and a CMake package config
# (find_package(rdbox) gives rdbox::rdbox).
#
# The library is static only: its types (Spec, Plan, Outcome) carry std::string and
# std::vector members and change with every issue, so a shared object would promise an
# ABI rdbox does not keep before 1.0. Its header-only dependencies (spdlog, fmt,
# nlohmann-json) are compiled into it; a program links libcap-ng, libseccomp and the C
# library only.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Components: "runtime" (the rdbox package) and "dev" (rdbox-dev), see cmake/package.cmake.
install(TARGETS rdbox RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES $<TARGET_FILE:rdbox_core> DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RENAME librdbox.a COMPONENT dev)
install(DIRECTORY include/rdbox DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.hpp")

# Release and RelWithDebInfo: build/rdbox is stripped after linking and its debug
# information kept beside it in build/rdbox.debug (gdb finds it through the debuglink).
# `cmake --install --component debug` installs it where gdb looks
# (<prefix>/lib/debug/<prefix>/bin/rdbox.debug).
if(CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$" AND CMAKE_OBJCOPY)
  add_custom_command(TARGET rdbox POST_BUILD
    COMMAND ${CMAKE_OBJCOPY} --only-keep-debug $<TARGET_FILE_NAME:rdbox> $<TARGET_FILE_NAME:rdbox>.debug
    COMMAND ${CMAKE_OBJCOPY} --strip-all --add-gnu-debuglink=$<TARGET_FILE_NAME:rdbox>.debug $<TARGET_FILE_NAME:rdbox>
    WORKING_DIRECTORY $<TARGET_FILE_DIR:rdbox>
    COMMENT "Splitting rdbox's debug information into rdbox.debug"
    VERBATIM)
  # The path is the install-time prefix's, as gdb looks it up: <prefix>/lib/debug/<prefix>/bin.
  install(CODE "file(INSTALL \"$<TARGET_FILE:rdbox>.debug\"
                     DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/debug\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")"
          COMPONENT debug EXCLUDE_FROM_ALL)
  # The archive keeps its symbols; its debug sections are dropped at install.
  if(CMAKE_STRIP)
    install(CODE "execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
                  \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/librdbox.a\")"
            COMPONENT dev)
  endif()
endif()

# pkg-config: the library is static, so what it needs (libcap-ng, libseccomp) is a plain Requires.
set(RDBOX_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
file(RELATIVE_PATH RDBOX_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
set(RDBOX_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/rdbox.pc.in ${CMAKE_BINARY_DIR}/rdbox.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/rdbox.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

set(RDBOX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rdbox)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/rdboxConfig.cmake.in
  ${CMAKE_BINARY_DIR}/rdboxConfig.cmake
  INSTALL_DESTINATION ${RDBOX_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/rdboxConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/rdboxConfig.cmake ${CMAKE_BINARY_DIR}/rdboxConfigVersion.cmake
        DESTINATION ${RDBOX_CMAKE_DIR} COMPONENT dev)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)

if(RDBOX_STATIC)
  message(STATUS "rdbox: the static link warns that libcap-ng's capng_change_id() uses "
                 "initgroups/getpwuid; rdbox never calls it (see README, \"Building\")")
endif()
