#include "rdbox/run.hpp"

#include "runtime/instance.hpp"
#include "runtime/outcome_builder.hpp"
#include "runtime/supervisor.hpp"

extern char** environ;

namespace rdbox {

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
  SuperviseOptions so{impl->opts.forward_signals, impl->opts.reap_orphans, impl->opts.watch_stops};
  auto sup = Supervisor::create(so);
  if (!sup) return sup.error();
  impl->supervisor = std::move(sup.value());
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Outcome Session::run(const Plan& plan) {
  Outcome out;
  out.warnings = plan.warnings;
  Step failed = Step::spawn;
  std::int64_t t0 = now_ns();
  auto inst = Instance::create(plan, impl_->stack, impl_->opts.guard_spawn, &failed);
  if (!inst) {
    const Error& e = inst.error();
    out.spawn_us = out.total_us = static_cast<double>(now_ns() - t0) / 1000.0;
    out.kind = failed == Step::exec ? OutcomeKind::exec_failed
               : failed == Step::spawn ? OutcomeKind::spawn_failed
                                       : OutcomeKind::setup_failed;
    out.step = step_name(failed);
    out.err = e.err;
    out.message = e.what();
    out.hint = hint_for(failed, e.err, plan.namespaces != 0);
    return out;
  }
  inst.value()->wait(*impl_->supervisor, out, impl_->opts.on_event);
  return out;
}

namespace {
Outcome refused(const Error& e) {
  Outcome out;
  out.kind = OutcomeKind::spawn_failed;
  out.step = "spec";
  out.err = e.err;
  out.message = e.what();
  return out;
}

Outcome run_plan(Expected<Plan> p, SessionOptions opts) {
  if (!p) return refused(p.error());
  auto session = Session::create(std::move(opts));
  if (!session) return refused(session.error());
  return session.value()->run(p.value());
}
}  // namespace

Outcome run(const Spec& spec, SessionOptions opts) {
  if (auto v = spec.validate(); !v) return refused(v.error());
  return run_plan(plan(spec, environ), std::move(opts));
}

Outcome run(const SandboxConfig& config, SessionOptions opts) {
  if (auto v = validate(config); !v) return refused(v.error());
  return run_plan(plan(config, HostFacts::probe(config)), std::move(opts));
}

}  // namespace rdbox
