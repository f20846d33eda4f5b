#include "rdbox/run.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spawn/guard.hpp"
#include "spawn/self_setup.hpp"
#include "spawn/launch.hpp"
#include "supervise.hpp"

extern char** environ;

namespace rdbox {

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

struct Session::Impl {
  SessionOptions opts;
  std::unique_ptr<Supervisor> supervisor;
  ChildStack stack;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Expected<std::unique_ptr<Session>> Session::create(SessionOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(opts);
  auto sup = Supervisor::create(SuperviseOptions{impl->opts.forward_signals, impl->opts.reap_orphans});
  if (!sup) return sup.error();
  impl->supervisor = std::move(sup.value());
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Outcome Session::run(const Plan& plan) {
  Outcome out;
  PlanView view = plan.view();
  Step failed = Step::spawn;
  std::unique_ptr<SpawnGuard> guard;
  bool self_setup = plan.mode == Mode::spawn && (plan.unshare_flags || !plan.mounts.empty());
  if (plan.mode == Mode::spawn && impl_->opts.guard_spawn) {
    guard = std::make_unique<SpawnGuard>();
    if (!self_setup)
      if (auto g = guard->start(); !g) guard.reset();  // best effort: the run goes on unguarded
  }
  out.warnings = plan.warnings;
  if (self_setup && !setup_in_rdbox(plan, view, guard.get(), out)) return out;
  std::int64_t t0 = now_ns();
  auto l = launch(plan, view, impl_->stack, &failed);
  if (l && guard) guard->arm(l->pidfd.get());
  if (!l) out.spawn_us = out.total_us = static_cast<double>(now_ns() - t0) / 1000.0;
  if (!l) {
    const Error& e = l.error();
    out.kind = failed == Step::exec ? OutcomeKind::exec_failed
               : failed == Step::spawn ? OutcomeKind::spawn_failed
                                       : OutcomeKind::setup_failed;
    out.step = step_name(failed);
    out.err = e.err;
    out.message = e.what();
    out.hint = hint_for(failed, e.err, plan.namespaces != 0);
    return out;
  }
  std::function<void()> stop_guard;
  if (guard) stop_guard = [&guard] { guard->stop(); };
  impl_->supervisor->wait(l.value(), plan, impl_->stack, out, impl_->opts.on_event, stop_guard);
  return out;
}

Outcome run(const Spec& spec, SessionOptions opts) {
  Outcome out;
  auto fail = [&](const Error& e) {
    out.kind = OutcomeKind::spawn_failed;
    out.step = "spec";
    out.err = e.err;
    out.message = e.what();
    return out;
  };
  if (auto v = spec.validate(); !v) return fail(v.error());
  auto p = plan(spec, environ);
  if (!p) return fail(p.error());
  auto session = Session::create(std::move(opts));
  if (!session) return fail(session.error());
  return session.value()->run(p.value());
}

}  // namespace rdbox
