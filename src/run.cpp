#include "rdbox/run.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spawn/launch.hpp"
#include "supervise.hpp"

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
  auto sup = Supervisor::create(SuperviseOptions{impl->opts.forward_signals, impl->opts.reap_orphans});
  if (!sup) return sup.error();
  impl->supervisor = std::move(sup.value());
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Outcome Session::run(const Plan& plan) {
  Outcome out;
  PlanView view = plan.view();
  Step failed = Step::spawn;
  auto l = launch(plan, view, impl_->stack, &failed);
  if (!l) {
    const Error& e = l.error();
    out.kind = failed == Step::exec ? OutcomeKind::exec_failed
               : failed == Step::spawn ? OutcomeKind::spawn_failed
                                       : OutcomeKind::setup_failed;
    out.step = step_name(failed);
    out.err = e.err;
    out.message = e.what();
    if (failed == Step::spawn && e.err == EAGAIN) out.hint = "the process limit (ulimit -u, pids cgroup) is reached";
    if (failed == Step::spawn && e.err == ENOMEM) out.hint = "out of memory, or --stack-size too large";
    return out;
  }
  impl_->supervisor->wait(l.value(), plan, impl_->stack, out, impl_->opts.on_event);
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
