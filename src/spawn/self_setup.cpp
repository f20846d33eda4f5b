#include "self_setup.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../stub.hpp"
#include "../supervise.hpp"

namespace rdbox {

namespace {
bool failed(Outcome& out, const Plan& plan, Step step, int err, std::string what) {
  out.kind = OutcomeKind::setup_failed;
  out.step = step_name(step);
  out.err = err;
  out.message = what + ": " + std::strerror(err);
  out.hint = hint_for(step, err, plan.namespaces != 0);
  return false;
}
}  // namespace

bool setup_in_rdbox(const Plan& plan, const PlanView& view, SpawnGuard* guard, Outcome& out) {
  std::int64_t t = now_ns();
  auto step_done = [&](const char* name) {
    std::int64_t now = now_ns();
    if (plan.trace) out.steps_us.emplace_back(name, static_cast<double>(now - t) / 1000.0);
    t = now;
  };
  std::uint64_t rest = plan.unshare_flags;
  if (rest & CLONE_NEWUSER) {
    if (::unshare(CLONE_NEWUSER) != 0) return failed(out, plan, Step::unshare, errno, "unshare a user namespace");
    if (int e = setup_own_maps(&view)) return failed(out, plan, Step::id_maps, e, "write own uid/gid map");
    rest &= ~std::uint64_t(CLONE_NEWUSER);
    step_done("id_maps");
  }
  if (guard && !guard->start()) guard = nullptr;  // best effort, as in Session::run
  if (rest && ::unshare(static_cast<int>(rest)) != 0)
    return failed(out, plan, Step::unshare, errno, "unshare namespaces");
  if (rest) step_done("unshare");
  if (int e = setup_time_offsets(&view)) return failed(out, plan, Step::time_offsets, e, "write timens_offsets");
  for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
    bool fell_back = false;
    int e = setup_mount_step(plan.mounts[i], &fell_back);
    if (e) {
      const MountStep& m = plan.mounts[i];
      if (m.op == MountOp::mount && m.fstype && std::string(m.fstype) == "devpts") {
        out.warnings.push_back(describe_mount_step(plan, static_cast<unsigned>(i)) + ": " + std::strerror(e));
        continue;
      }
      return failed(out, plan, Step::mounts, e, describe_mount_step(plan, static_cast<unsigned>(i)));
    }
  }
  if (!plan.mounts.empty()) step_done("mounts");
  if (int e = setup_hostname(&view)) return failed(out, plan, Step::hostname, e, "hostname \"" + plan.hostname + "\"");
  if (int e = setup_loopback(&view)) return failed(out, plan, Step::loopback, e, "bring up loopback");
  if (plan.trace) {
    // What the child inherits: rdbox's own namespaces now (the PID and time namespaces
    // are those of rdbox's children).
    static const char* const links[] = {"pid_for_children", "mnt", "uts", "ipc", "net", "user", "cgroup",
                                        "time_for_children"};
    for (std::size_t k = 0; k < 8; ++k) {
      struct stat st {};
      std::string path = std::string("/proc/self/ns/") + links[k];
      if (::stat(path.c_str(), &st) == 0) out.ns_inode[k] = st.st_ino;
    }
    out.ns_probed = true;
  }
  return true;
}

}  // namespace rdbox
