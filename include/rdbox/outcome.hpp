// Outcome: what happened to one run. Set once by the supervisor; formatted only by Report.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace rdbox {

enum class OutcomeKind {
  exited,        // the command ran and exited
  signaled,      // the command ran and was killed by a signal
  setup_failed,  // a stub step before execve failed (exit 125)
  exec_failed,   // execve failed (126 found but not executable, 127 not found)
  spawn_failed,  // the creation primitive itself failed (exit 125)
  timeout,       // the time limit ended the sandbox (exit 124, as timeout(1)); code or signal say how
};
const char* to_string(OutcomeKind k);

struct ChildEvent {
  enum Kind { stopped, continued } kind;
  int signal = 0;
};

struct ChildUsage {
  std::int64_t utime_us = 0, stime_us = 0;
  long maxrss_kb = 0, minflt = 0, majflt = 0, nvcsw = 0, nivcsw = 0;
};

// What the command held, read by the stub from inside just before the filter and exec
// (traced runs, i.e. the JSON report).
struct ConfinementReport {
  std::string profile;         // "container", "privileged", "host": which defaults applied
  bool probed = false;         // the values below were read inside
  std::uint64_t cap_effective = 0, cap_permitted = 0, cap_inheritable = 0, cap_bounding = 0, cap_ambient = 0;
  bool no_new_privs = false;
  int seccomp_mode = 0;        // 0 none, 2 filter
  std::string seccomp_profile; // "default", a file name; empty: none
  struct Limit {
    int resource = 0;
    std::uint64_t soft = 0, hard = 0;
  };
  std::vector<Limit> rlimits;  // the ones rdbox set, as read back
};

// The run's cgroup, read after the command ended.
struct CgroupReport {
  std::string path;                                   // relative to each hierarchy's root
  std::vector<std::pair<std::string, int>> versions;  // controller → 1 or 2
  std::optional<std::int64_t> memory_peak_bytes;
  bool oom_killed = false;
  std::optional<std::int64_t> pids_peak;
  bool pids_limit_hit = false;
  int killed_leftovers = 0;                           // processes still in it at the end, killed
  std::string joined_by;                              // "clone3" (CLONE_INTO_CGROUP, v2) or "stub" (cgroup.procs)
};

// One stage of rdbox pipeline, as the stages' parent and the stage itself reported it.
struct StageOutcome {
  std::vector<std::string> argv;
  pid_t pid = -1;        // as rdbox sees it (-1: unknown)
  pid_t ns_pid = -1;     // as the stages' parent saw it: 2, 3, ... inside a new PID namespace
  bool ended = false;    // the parent reaped it and said how it ended
  bool signaled = false;
  int code = 0, signal = 0;
  bool core_dumped = false;
  std::string step;      // a step of this stage that failed (its exec, its --user...)
  int err = 0;
  std::string message;   // "exec \"nosuch\": No such file or directory"
  // start: microseconds from the run's start to the stage's fork; exec (until its execve)
  // and total (until it was reaped) from that fork; -1 when not known.
  double start_us = -1, exec_us = -1, total_us = -1;
  ChildUsage usage;
  int exit_code() const { return signaled ? 128 + signal : code; }
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::spawn_failed;
  pid_t pid = -1;
  int code = 0;    // exit status when exited
  int signal = 0;  // when signaled
  bool core_dumped = false;

  // When setup, exec or spawn failed.
  std::string step;
  int err = 0;
  std::string message;  // one line, "exec \"/x\": No such file or directory"
  std::string hint;     // what to check, when rdbox knows

  // Observed, never derived from flags.
  std::optional<bool> shared_memory;  // nullopt: not observable (posix_spawn runs no rdbox code)
  bool parent_suspended = false;
  std::optional<std::size_t> stack_used;  // bytes of the clone stack the stub touched (CLONE_VM)

  // Microseconds from just before the primitive was called.
  double spawn_us = 0, exec_us = 0, total_us = 0;
  bool exec_seen = false;
  ChildUsage usage;
  long parent_minflt = 0;  // rdbox's own minor faults during the spawn call
  std::vector<ChildEvent> events;

  // Traced runs (JSON report): where the stub's time went, in order, and the namespace
  // inodes the child read from its own /proc/self/ns (0 = unreadable).
  std::vector<std::pair<std::string, double>> steps_us;
  bool ns_probed = false;
  std::uint64_t ns_inode[8] = {};
  std::vector<std::string> warnings;

  double timeout_s = 0;  // the limit, when kind is timeout
  ConfinementReport confinement;
  std::optional<CgroupReport> cgroup;

  // rdbox pipeline: one entry per stage, in order (empty for one command). The outcome
  // itself is then the pipeline's: the last stage's status, or with pipefail the last
  // non-zero one's.
  std::vector<StageOutcome> stages;
  bool pipefail = false;

  // What rdbox exits with: the code, 128+signal, 124, 125/126/127.
  int exit_code() const;
  // The command ran (exited, was killed, or timed out), as opposed to never starting.
  bool ran() const { return kind == OutcomeKind::exited || kind == OutcomeKind::signaled || kind == OutcomeKind::timeout; }
};

// "SIGTERM" for 15; "SIG34"-style for realtime signals.
std::string signal_name(int sig);

}  // namespace rdbox
