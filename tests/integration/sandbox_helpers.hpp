// Helpers shared by the sandbox suites (root and rootless runs of the same cases).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "harness.hpp"

#ifndef RDBOX_ROOTFS_DIR
#define RDBOX_ROOTFS_DIR ""
#endif

namespace itest {

inline bool is_root() { return ::geteuid() == 0; }

// The busybox rootfs scripts/make-rootfs.sh builds, or "" when there is none.
inline std::string rootfs() {
  const char* env = ::getenv("RDBOX_ROOTFS");
  std::string dir = env && *env ? env : RDBOX_ROOTFS_DIR;
  return file_exists(dir + "/bin/busybox") ? dir : std::string();
}

// The options an unprivileged run needs for namespaces: a user namespace.
inline std::vector<std::string> with_priv(std::vector<std::string> args) {
  if (!is_root()) args.insert(args.begin() + 1, "--newuser");
  return args;
}

}  // namespace itest

#define REQUIRE_ROOTFS() \
  if (itest::rootfs().empty()) GTEST_SKIP() << "no rootfs: run scripts/make-rootfs.sh (busybox-static)"
