// What the stress and fault suites check the host for after their runs: the mount table,
// rdbox's cgroup directories, /tmp, and the test's own children (zombies included).
#pragma once

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../integration/harness.hpp"
#include "../integration/sandbox_helpers.hpp"

namespace stress {

using namespace itest;

// /proc/self/mountinfo, one entry per line, sorted (the host's mount namespace: rdbox's
// runs must leave it as it was).
inline std::vector<std::string> mount_table() {
  auto lines = split_lines(read_text("/proc/self/mountinfo"));
  lines.erase(std::remove(lines.begin(), lines.end(), std::string()), lines.end());
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Lines in `after` and not in `before`, and the reverse, for a failure message.
inline std::string mount_diff(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  std::string out;
  for (const auto& l : after)
    if (!std::binary_search(before.begin(), before.end(), l)) out += "\n  + " + l;
  for (const auto& l : before)
    if (!std::binary_search(after.begin(), after.end(), l)) out += "\n  - " + l;
  return out;
}

// Every cgroup directory rdbox-<pid>-<n>, in every mounted hierarchy, whose <pid> is one of
// `ours` (rdbox processes this test started) and is gone: what a run left behind. (Other
// rdbox runs on the machine, other tests' or other users', are not this test's.)

// Names in a directory (not . and ..).
inline std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d))
      if (std::string n = e->d_name; n != "." && n != "..") out.insert(n);
    ::closedir(d);
  }
  return out;
}

// The children of this process (a subreaper: whatever escaped rdbox lands here), zombies
// included, after waiting up to `timeout` for them to go. The harness reaps the rdbox
// processes it starts; after runs that ended normally anything else is a leftover (rdbox,
// the subreaper of its command's tree, reaps it all).
inline std::vector<std::string> own_children(Ms timeout) {
  std::vector<std::string> out;
  // A zombie is a process that ended (re-parented here, the subreaper, when rdbox was
  // killed): reaped, not a leftover. What still runs after `timeout` is.
  for (pid_t k : reap_and_list_children(timeout)) {
    auto st = proc_stat(k);
    out.push_back(std::to_string(k) + " (" + (st ? std::string(1, st->state) : "?") + ") " + proc_cmdline(k));
  }
  return out;
}

// After rdbox was SIGKILLed what it created is re-parented to this process as it dies:
// those zombies are reaped here. What is still alive after `timeout` is a leftover.
inline std::vector<std::string> live_children(Ms timeout) {
  std::vector<std::string> out;
  for (pid_t k : reap_and_list_children(timeout)) out.push_back(std::to_string(k) + " " + proc_cmdline(k));
  return out;
}

// As root the test moves into a mount namespace of its own (every mount private) before
// its first run: rdbox runs in it, so a mount rdbox leaked would show there, while mounts
// made on the machine meanwhile (other suites, containerd) do not. As uid 65534 rdbox cannot
// mount in the test's namespace at all (it belongs to the initial user namespace), so the
// table is compared as root only. Returns whether the comparison applies.
inline bool own_mount_namespace() {
  static const bool done = [] {
    if (!is_root()) return false;
    if (::unshare(CLONE_NEWNS) != 0) {
      ADD_FAILURE() << "unshare(CLONE_NEWNS): " << std::strerror(errno);
      return false;
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      ADD_FAILURE() << "make / private: " << std::strerror(errno);
      return false;
    }
    return true;
  }();
  return done;
}

// Everything the host should look like after the runs, captured before them.
struct HostSnapshot {
  bool compare_mounts = own_mount_namespace();
  std::vector<std::string> mounts = mount_table();
};

// Records a failure for each thing left behind: a changed mount table, a leftover cgroup
// directory of one of `ours`, anything in `private_dirs` (the runs' TMPDIR and working
// directory), a child of this process. rdbox makes no temporary files (its overlay layers
// live in a tmpfs it mounts detached); /tmp itself is not scanned: on a shared machine other
// programs make rdbox-named entries there at any time.
inline void expect_nothing_left(const HostSnapshot& before, const std::set<pid_t>& ours,
                                const std::vector<std::string>& private_dirs = {}) {
  auto kids = own_children(3s);
  EXPECT_TRUE(kids.empty()) << "processes left (children of the test, a subreaper):\n  " << join(kids, "\n  ");
  if (before.compare_mounts) {
    auto after = mount_table();
    EXPECT_EQ(after, before.mounts) << "the mount table changed:" << mount_diff(before.mounts, after);
  }
  EXPECT_EQ(itest::leftover_cgroups(ours), std::vector<std::string>{}) << "cgroup directories of rdbox runs that are gone";
  for (const auto& d : private_dirs) {
    auto left = entries(d);
    EXPECT_TRUE(left.empty()) << d << " (TMPDIR of the runs) holds: " << join({left.begin(), left.end()}, " ");
  }
}

inline bool can_make_cgroups() {
  return is_root() && run({"run", "--pids", "100", "--", "/bin/true"}).exit_code == 0;
}

}  // namespace stress
