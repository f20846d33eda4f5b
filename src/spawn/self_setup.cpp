#include "self_setup.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "../stub.hpp"
#include "../supervise.hpp"

namespace rdbox {

namespace {
bool failed(Outcome& out, const Plan& plan, Step step, int err, unsigned item = 0) {
  out.kind = OutcomeKind::setup_failed;
  out.step = step_name(step);
  out.err = err;
  out.message = describe_failure(plan, step, item, err) + ": " + std::strerror(err);
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
    if (::unshare(CLONE_NEWUSER) != 0) return failed(out, plan, Step::unshare, errno);
    if (int e = setup_own_maps(&view)) return failed(out, plan, Step::id_maps, e);
    rest &= ~std::uint64_t(CLONE_NEWUSER);
    step_done("id_maps");
  }
  if (guard && !guard->start()) guard = nullptr;  // best effort, as in Session::run
  if (rest && ::unshare(static_cast<int>(rest)) != 0)
    return failed(out, plan, Step::unshare, errno);
  if (rest) step_done("unshare");
  if (int e = setup_time_offsets(&view)) return failed(out, plan, Step::time_offsets, e);
  for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
    bool fell_back = false;
    int e = setup_mount_step(plan.mounts[i], &fell_back);
    if (e) {
      const MountStep& m = plan.mounts[i];
      if (m.best_effort) {
        out.warnings.push_back(describe_mount_step(plan, static_cast<unsigned>(i)) + ": " + std::strerror(e));
        continue;
      }
      return failed(out, plan, Step::mounts, e, static_cast<unsigned>(i));
    }
  }
  if (!plan.mounts.empty()) step_done("mounts");
  if (int e = setup_hostname(&view)) return failed(out, plan, Step::hostname, e);
  if (int e = setup_loopback(&view)) return failed(out, plan, Step::loopback, e);
  if (plan.trace) {
    // What the child inherits: rdbox's own namespaces now.
    auto ino = namespace_inodes(/*for_children=*/true);
    std::copy(ino.begin(), ino.end(), out.ns_inode);
    out.ns_probed = true;
  }
  return true;
}

}  // namespace rdbox
