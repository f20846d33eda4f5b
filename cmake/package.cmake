# Debian packages through CPack: `cpack -G DEB` in the build directory makes
#   rdbox_<version>_<arch>.deb      the binary, man pages, completions (runtime)
#   rdbox-dev_<version>_<arch>.deb  headers, librdbox.a, rdbox.pc, the CMake config (dev)
set(CPACK_PACKAGE_NAME rdbox)
set(CPACK_PACKAGE_VENDOR "rdbox")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "process launcher, namespace sandbox and spawn-primitive comparer")
set(CPACK_PACKAGE_DESCRIPTION
    "rdbox launches a command with the Linux process-creation primitive you pick (fork, vfork, clone with chosen CLONE_* flags, posix_spawn), optionally inside new namespaces and a private root filesystem, and reports what happened.")
set(CPACK_PACKAGE_CONTACT "rdbox developers <rdbox@localhost>")
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME rdbox)
if(RDBOX_STATIC)
  # Statically linked: nothing to load at run time.
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "")
else()
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libc6 (>= 2.34), libcap-ng0, libseccomp2, libstdc++6, libgcc-s1")
endif()
# newuidmap/newgidmap: multi-range id maps for unprivileged users; a busybox rootfs for
# --rootfs examples.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "uidmap")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "busybox-static")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME rdbox-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libcap-ng-dev, libseccomp-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION "rdbox's C++20 library (static), headers, rdbox.pc and CMake package config")

include(CPack)
