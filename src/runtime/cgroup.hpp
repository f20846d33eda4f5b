// One cgroup per run: made before the child exists, joined by the stub as its first step
// (through cgroup.procs descriptors opened here), and on every path emptied (what is left
// is killed: cgroup.kill on v2, SIGKILL by pid on v1) and removed.
//
// Each controller lives where the host has it: on the unified (v2) hierarchy when that
// hierarchy offers it, else on its own v1 hierarchy (hybrid hosts). The run's cgroup is a
// directory in each hierarchy it needs, plus one on v2 (when mounted) for tracking and
// cgroup.kill, all under rdbox's own cgroup there (or --cgroup-parent below it).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdbox/config.hpp"
#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/outcome.hpp"

namespace rdbox {

// A cgroup hierarchy this process can see.
struct CgroupHierarchy {
  int version = 2;                       // 1 or 2
  std::string mount;                     // where it is mounted: /sys/fs/cgroup, /sys/fs/cgroup/memory
  std::string own;                       // this process's cgroup in it ("/" or "/user.slice/...")
  std::vector<std::string> controllers;  // v1: from the mount options; v2: the root's cgroup.controllers
};

// The hierarchies from /proc/self/mountinfo and /proc/self/cgroup.
std::vector<CgroupHierarchy> cgroup_hierarchies();

// Where each controller is usable: "v2", "v1", or nullopt; for doctor and the report.
struct ControllerPlace {
  std::string controller;
  int version = 0;  // 0: unavailable
  std::string path; // the cgroup a run would be made in (rdbox's own, in that hierarchy)
  bool writable = false;
};
std::vector<ControllerPlace> cgroup_controllers();

// The freezer of a cgroup made with CgroupConfig::freezer, given its directories: v1's
// freezer.state where one of them has it, else v2's cgroup.freeze. freeze() waits until
// the kernel says FROZEN / "frozen 1" (bounded: 5 s, then thawed again and an error).
enum class FreezerState { none, thawed, frozen };
FreezerState cgroup_freezer_state(const std::vector<std::string>& dirs);
Status cgroup_freeze(const std::vector<std::string>& dirs, bool freeze);
// The processes in any of these directories (each listed once, in order).
std::vector<pid_t> cgroup_procs(const std::vector<std::string>& dirs);

// Writes the limits `c` sets for `controllers` (v1 names) into one directory of a
// hierarchy of `version`; an error names the config's field and the kernel's answer.
Status write_cgroup_limits(const std::string& dir, const std::vector<std::string>& controllers, int version,
                           const CgroupConfig& c);
// rdbox update: the limits `c` sets, written into a container's existing directories
// (those Cgroup::release() returned), each controller where it lives.
Status cgroup_update(const std::vector<std::string>& dirs, const CgroupConfig& c);

class Cgroup {
 public:
  // Creates the run's cgroup (every directory, every limit written) or nothing at all.
  static Expected<std::unique_ptr<Cgroup>> create(const CgroupConfig& config);
  ~Cgroup();  // kills what is left and removes the directories (unless released)
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  // cgroup.procs of each directory, opened O_WRONLY: the stub writes "0" to join.
  const std::vector<int>& procs_fds() const { return procs_fd_numbers_; }
  // The v2 directory, for clone3(CLONE_INTO_CGROUP) (-1 without one), and the cgroup.procs
  // of every other directory (what the stub still joins when clone3 made the child there).
  int v2_dir_fd() const { return v2_dir_fd_.get(); }
  const std::vector<int>& v1_procs_fds() const { return v1_procs_fd_numbers_; }
  // The run's figures (peak memory, OOM kills, peak pids, pids limit hit), read now.
  CgroupReport report() const;
  // Kills every process still in the cgroup; returns how many there were.
  int kill_all();
  // Keeps the directories (an OCI container outlives this process); the caller owns them.
  std::vector<std::string> release();
  // The parents of an exact path (OCI cgroupsPath "/default/ID") this run made, innermost
  // first, for the new owner to remove when empty (after release()).
  const std::vector<std::string>& made_parents() const { return made_parents_; }
  const std::string& display_path() const { return display_; }

 private:
  Cgroup() = default;
  struct Dir {
    CgroupHierarchy h;
    std::string path;  // absolute directory
    std::vector<std::string> controllers;  // the ones limited here
  };
  Status make(const CgroupConfig& config);
  Status make_dir(const CgroupHierarchy& h, const std::vector<std::string>& controllers,
                  const std::vector<std::string>& enable, const CgroupConfig& config, const std::string& name);
  Status write_limits(const CgroupConfig& config);
  void remove();

  std::vector<Dir> dirs_;
  std::vector<Fd> procs_fds_;
  std::vector<int> procs_fd_numbers_, v1_procs_fd_numbers_;
  Fd v2_dir_fd_;
  std::vector<std::string> made_parents_;  // innermost first
  std::string display_;  // the cgroup's path relative to each hierarchy's root
  bool released_ = false;
};

}  // namespace rdbox
