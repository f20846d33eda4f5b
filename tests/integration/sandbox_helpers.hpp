// Helpers shared by the sandbox suites (root and rootless runs of the same cases).
#pragma once

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

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

// Every rdbox-<pid>-<n> cgroup directory, in every hierarchy, left by one of the rdbox
// processes `ours` that is gone: a leak (other tests run at the same time).
inline std::vector<std::string> leftover_cgroups(const std::set<pid_t>& ours) {
  std::vector<std::string> out, roots;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line))
    if (line.find(" - cgroup") != std::string::npos) {
      std::istringstream in(line);
      std::string f[5];
      for (auto& x : f) in >> x;
      roots.push_back(f[4]);
    }
  for (const auto& m : roots) {
    std::vector<std::string> stack{m};
    for (int budget = 0; !stack.empty() && budget < 5000; ++budget) {
      std::string dir = stack.back();
      stack.pop_back();
      DIR* d = ::opendir(dir.c_str());
      if (!d) continue;
      while (struct dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        std::string sub = dir + "/" + e->d_name;
        long pid = 0;
        if (std::sscanf(e->d_name, "rdbox-%ld-", &pid) == 1) {
          if (ours.count(static_cast<pid_t>(pid)) && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            out.push_back(sub);
        } else {
          stack.push_back(sub);
        }
      }
      ::closedir(d);
    }
  }
  return out;
}

}  // namespace itest

#define REQUIRE_ROOTFS() \
  if (itest::rootfs().empty()) GTEST_SKIP() << "no rootfs: run scripts/make-rootfs.sh (busybox-static)"
