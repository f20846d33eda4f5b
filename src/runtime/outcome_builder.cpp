#include "outcome_builder.hpp"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>

namespace rdbox {

namespace {
double us_between(std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) / 1000.0; }
}  // namespace

void OutcomeBuilder::launched(pid_t pid, std::int64_t t_start_ns, std::int64_t t_spawned_ns, long minflt,
                              bool suspended) {
  t_start_ = t_start_ns;
  out_.pid = pid;
  out_.parent_suspended = suspended;
  out_.parent_minflt = minflt;
  out_.spawn_us = us_between(t_start_ns, t_spawned_ns);
  out_.kind = OutcomeKind::exited;
  out_.confinement.profile = plan_.confinement;
  out_.confinement.seccomp_profile = plan_.seccomp.empty() ? "" : plan_.seccomp_name;
  if (plan_.pipeline) {
    out_.pipefail = plan_.pipefail;
    out_.stages.resize(plan_.stages.size());
    for (std::size_t k = 0; k < plan_.stages.size(); ++k) out_.stages[k].argv = plan_.stages[k].argv_store;
  }
}

// What the stub read about itself just before the filter and exec.
void OutcomeBuilder::confinement_record(const StubRecord& r) {
  auto& c = out_.confinement;
  auto value = static_cast<std::uint64_t>(r.t_ns);
  c.probed = true;
  switch (r.item) {
    case kCapEffective: c.cap_effective = value; return;
    case kCapPermitted: c.cap_permitted = value; return;
    case kCapInheritable: c.cap_inheritable = value; return;
    case kCapBounding: c.cap_bounding = value; return;
    case kCapAmbient: c.cap_ambient = value; return;
    case kNoNewPrivs: c.no_new_privs = value == 1; return;
    // Read just before the filter is loaded: the step after it either loads it or fails the run.
    case kSeccompMode: c.seccomp_mode = plan_.seccomp.empty() ? static_cast<int>(value) : 2; return;
    default: break;
  }
  if (r.item < kRlimitBase) return;
  std::size_t i = (r.item - kRlimitBase) / 2;
  if (i >= plan_.rlimits.size()) return;
  if (c.rlimits.size() <= i) c.rlimits.resize(i + 1);
  c.rlimits[i].resource = plan_.rlimits[i].resource;
  ((r.item - kRlimitBase) % 2 ? c.rlimits[i].hard : c.rlimits[i].soft) = value;
}

void OutcomeBuilder::stage_started(std::size_t k, pid_t pid, pid_t ns_pid, std::int64_t t_ns) {
  if (k >= out_.stages.size()) return;
  StageOutcome& s = out_.stages[k];
  s.pid = pid;
  if (s.ns_pid < 0) s.ns_pid = ns_pid;
  if (s.start_us < 0) s.start_us = us_between(t_start_, t_ns);
}

void OutcomeBuilder::stage_record(std::size_t k, const StubRecord& r) {
  if (k >= out_.stages.size()) return;
  StageOutcome& s = out_.stages[k];
  if (r.severity == kNsInode || r.severity == kConfinement) {
    record(r);  // every stage is in the same namespaces, with the same confinement
  } else if (r.severity == kExecAt) {
    if (stage_exec_ns_.size() < out_.stages.size()) stage_exec_ns_.resize(out_.stages.size());
    if (!stage_exec_ns_[k]) stage_exec_ns_[k] = r.t_ns;
  } else if (r.severity == kFatal && s.step.empty()) {
    Step step = static_cast<Step>(r.step);
    s.step = step_name(step);
    s.err = r.err;
    std::string what = describe_failure(plan_, step, r.item, r.err);
    if (step == Step::exec && k < plan_.stages.size()) {
      const Plan::Stage& st = plan_.stages[k];
      what = "exec \"" + st.display_name + "\"";
      if (r.err == EACCES && r.item < st.candidate_store.size() && st.candidate_store[r.item] != st.display_name)
        what += " (" + st.candidate_store[r.item] + ")";
    }
    s.message = what + ": " + std::strerror(r.err);
  }
}

void OutcomeBuilder::stage_ended(const StageEndRecord& e) {
  std::size_t k = e.head.item;
  if (k >= out_.stages.size() || out_.stages[k].ended) return;
  StageOutcome& s = out_.stages[k];
  int status = e.head.err;
  s.ended = true;
  s.signaled = WIFSIGNALED(status);
  s.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  s.signal = s.signaled ? WTERMSIG(status) : 0;
  s.core_dumped = s.signaled && WCOREDUMP(status);
  s.ns_pid = static_cast<pid_t>(e.pid);
  s.start_us = us_between(t_start_, e.t_start_ns);
  if (k < stage_exec_ns_.size() && stage_exec_ns_[k]) s.exec_us = us_between(e.t_start_ns, stage_exec_ns_[k]);
  s.total_us = us_between(e.t_start_ns, e.head.t_ns);
  s.usage = ChildUsage{e.utime_us, e.stime_us, static_cast<long>(e.maxrss_kb), static_cast<long>(e.minflt),
                       static_cast<long>(e.majflt), static_cast<long>(e.nvcsw), static_cast<long>(e.nivcsw)};
}

void OutcomeBuilder::add_step(const std::string& name, double us) {
  for (auto& s : out_.steps_us)
    if (s.first == name) {
      s.second += us;
      return;
    }
  out_.steps_us.emplace_back(name, us);
}

void OutcomeBuilder::step_record(const StubRecord& r) {
  Step step = static_cast<Step>(r.step);
  if (step == Step::start) {
    add_step("create", us_between(t_start_, r.t_ns));
  } else if (prev_step_t_) {
    std::string name = step == Step::mounts && r.item < plan_.mounts.size() ? kMountGroups[plan_.mounts[r.item].group]
                       : step == Step::barrier && r.item == static_cast<unsigned>(Barrier::id_maps) ? "id_maps"
                                                                                                    : step_name(step);
    add_step(name, us_between(prev_step_t_, r.t_ns));
  }
  prev_step_t_ = r.t_ns;
}

void OutcomeBuilder::failure_record(const StubRecord& r) {
  if (failed_) return;
  if (!exec_at_) exec_at_ = r.t_ns;
  failed_ = true;
  Step step = static_cast<Step>(r.step);
  out_.step = step_name(step);
  out_.err = r.err;
  out_.kind = step == Step::exec ? OutcomeKind::exec_failed : OutcomeKind::setup_failed;
  out_.message = describe_failure(plan_, step, r.item, r.err) + ": " + std::strerror(r.err);
  out_.hint = hint_for(step, r.err, plan_.namespaces != 0);
}

void OutcomeBuilder::record(const StubRecord& r) {
  switch (r.severity) {
    case kStepDone: step_record(r); return;
    case kNsInode:
      out_.ns_probed = true;
      if (r.item < kNamespaceCount) out_.ns_inode[r.item] = static_cast<std::uint64_t>(r.t_ns);
      return;
    case kWarning:
      out_.warnings.push_back(describe_failure(plan_, static_cast<Step>(r.step), r.item, r.err) + ": " +
                              std::strerror(r.err));
      return;
    case kExecAt:
      if (!exec_at_) exec_at_ = r.t_ns;
      if (prev_step_t_) {
        add_step("stub", us_between(prev_step_t_, r.t_ns));
        prev_step_t_ = r.t_ns;
      }
      return;
    case kFatal: failure_record(r); return;
    case kConfinement: confinement_record(r); return;
    default: return;
  }
}

void OutcomeBuilder::report_closed(std::int64_t now, bool token_seen, bool slept, std::int64_t t_spawned_ns) {
  out_.exec_us = us_between(t_start_, now);
  if (plan_.trace && exec_at_ && !failed_) add_step("exec", us_between(exec_at_, now));
  out_.exec_seen = !failed_;
  out_.shared_memory = token_seen;
  // rdbox was suspended when it slept in the primitive and resumed only after the stub
  // reached execve (or failed). Either alone can be fooled: a preempted fork parent also
  // resumes late, and a sleep can have other causes.
  out_.parent_suspended = slept && exec_at_ != 0 && exec_at_ <= t_spawned_ns;
}

void OutcomeBuilder::exec_without_stub() {
  out_.exec_us = out_.spawn_us;
  out_.exec_seen = true;
}

bool OutcomeBuilder::event(const ChildEvent& ev) {
  if (have_last_ && last_.kind == ev.kind && last_.signal == ev.signal) return false;
  have_last_ = true;
  last_ = ev;
  out_.events.push_back(ev);
  return true;
}

void OutcomeBuilder::exited(const siginfo_t& si, const struct rusage& ru) {
  if (done_) return;
  done_ = true;
  bool ran = !failed_;
  bool by_signal = si.si_code != CLD_EXITED;
  int value = si.si_status;
  bool core = si.si_code == CLD_DUMPED;
  // The init exits with the code the command's status implies (128+N for a signal); a
  // relay dies of the same signal. A status that does not match was not the init's.
  bool matches = have_command_status_ &&
                 (WIFSIGNALED(command_status_)
                      ? (by_signal ? value == WTERMSIG(command_status_) : value == 128 + WTERMSIG(command_status_))
                      : (!by_signal && WIFEXITED(command_status_) && value == WEXITSTATUS(command_status_)));
  if (matches && ran) {
    by_signal = WIFSIGNALED(command_status_);
    value = by_signal ? WTERMSIG(command_status_) : WEXITSTATUS(command_status_);
    core = by_signal && WCOREDUMP(command_status_);
  }
  if (!by_signal) {
    if (ran) out_.kind = OutcomeKind::exited;
    out_.code = value;
  } else {
    if (ran) out_.kind = OutcomeKind::signaled;
    out_.signal = value;
    out_.core_dumped = core;
  }
  if (ran && timed_out_) out_.kind = OutcomeKind::timeout;
  ChildUsage& u = out_.usage;
  u.utime_us = ru.ru_utime.tv_sec * 1'000'000LL + ru.ru_utime.tv_usec;
  u.stime_us = ru.ru_stime.tv_sec * 1'000'000LL + ru.ru_stime.tv_usec;
  u.maxrss_kb = ru.ru_maxrss;
  u.minflt = ru.ru_minflt;
  u.majflt = ru.ru_majflt;
  u.nvcsw = ru.ru_nvcsw;
  u.nivcsw = ru.ru_nivcsw;
}

void OutcomeBuilder::finish(std::int64_t now) { out_.total_us = us_between(t_start_, now); }

namespace {
// A step's path as the user knows it: inside the sandbox ("/dev/null"), or the host's.
std::string shown(const Plan& plan, const MountStep& m) {
  if (!m.dst) return "?";
  if (m.layer < 0 || static_cast<std::size_t>(m.layer) >= plan.layer_paths.size()) return m.dst;
  std::string base = plan.layer_paths[static_cast<std::size_t>(m.layer)];
  if (m.dst[0] == '.' && !m.dst[1]) return base;
  return (base == "/" ? "" : base) + "/" + m.dst;
}
std::string joined(const Plan& plan, const MountStep& m) {
  std::string dir = shown(plan, m);
  return (dir == "/" ? "" : dir) + "/" + (m.name ? m.name : "?");
}
}  // namespace

std::string describe_mount_step(const Plan& plan, unsigned item) {
  if (item >= plan.mounts.size()) return std::string("mount step");
  const MountStep& m = plan.mounts[item];
  std::string dst = "\"" + shown(plan, m) + "\"";
  switch (m.op) {
    case MountOp::propagate: return "make \"/\" private";
    case MountOp::root: return "bind the rootfs \"" + std::string(m.src) + "\" as the new root";
    case MountOp::overlay_root: return "mount overlay on the rootfs \"" + std::string(m.src) + "\"";
    case MountOp::mount:
      if (!m.fstype) return "bind \"" + std::string(m.src ? m.src : "?") + "\" on " + dst;
      return "mount " + std::string(m.fstype) + " on " + dst;
    case MountOp::readonly: return "make " + dst + " read-only";
    case MountOp::mkdir: return "mkdir \"" + joined(plan, m) + "\"";
    case MountOp::mknod: return "create \"" + joined(plan, m) + "\"";
    case MountOp::symlink: return "symlink \"" + joined(plan, m) + "\"";
    case MountOp::device: return "make the device node \"" + joined(plan, m) + "\"";
    case MountOp::pivot: return "pivot_root to the rootfs";
    case MountOp::mask: return "mask " + dst;
    case MountOp::readonly_path: return "make " + dst + " read-only";
  }
  return std::string("mount step");
}

std::string describe_failure(const Plan& plan, Step step, unsigned item, int err) {
  switch (step) {
    case Step::exec: {
      std::string what = "exec \"" + plan.display_name + "\"";
      if (err == EACCES && item < plan.candidate_store.size() && plan.candidate_store[item] != plan.display_name)
        what += " (" + plan.candidate_store[item] + ")";
      return what;
    }
    case Step::workdir: return "workdir \"" + plan.workdir + "\"";
    case Step::mounts: return describe_mount_step(plan, item);
    case Step::hostname: return "hostname \"" + plan.hostname + "\"";
    case Step::loopback: return "bring up loopback";
    case Step::id_maps: return "write own uid/gid map";
    case Step::barrier: return item == static_cast<unsigned>(Barrier::id_maps) ? "wait for uid/gid maps" : "wait for start";
    case Step::unshare: return "unshare namespaces";
    case Step::join:
      for (const auto& n : kNamespaces)
        if (item < plan.join_kinds.size() && n.flag == plan.join_kinds[item])
          return "join the " + std::string(n.name) + " namespace (setns)";
      return "join a namespace (setns)";
    case Step::time_offsets: return "write timens_offsets";
    case Step::pipeline: return "start stage " + std::to_string(item + 1) + " of the pipeline";
    case Step::user: return "--user " + std::to_string(plan.uid) + ":" + std::to_string(plan.gid);
    case Step::console: return "a terminal from the container's /dev/ptmx (is devpts mounted at /dev/pts?)";
    default: return std::string("setup step ") + step_name(step);
  }
}

// (step, errno) -> what to check, after bubblewrap's raw_clone failure branch.
std::string hint_for(Step step, int err, bool namespaces) {
  if (step == Step::spawn) {
    if (err == EAGAIN) return "the process limit (ulimit -u, the pids cgroup) is reached";
    if (err == ENOMEM) return "out of memory, or --stack-size too large";
    if (namespaces && err == EPERM)
      return "the kernel refused a new namespace: unprivileged user namespaces may be off (see rdbox doctor)";
    if (namespaces && (err == ENOSPC || err == EUSERS))
      return "a namespace limit in /proc/sys/user/max_*_namespaces is reached (see rdbox doctor)";
    if (namespaces && err == EINVAL) return "this kernel lacks a namespace kind you asked for (see rdbox doctor)";
  }
  if ((step == Step::mounts || step == Step::id_maps || step == Step::unshare) && (err == EPERM || err == EACCES))
    return "the host may forbid this without privilege (see rdbox doctor)";
  return {};
}

}  // namespace rdbox
