#include "instance.hpp"

#include "test_stop.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace rdbox {

Expected<std::unique_ptr<Instance>> Instance::create(const Plan& plan, ChildStack& stack, bool guard_spawn,
                                                     Step* failed_step) {
  std::unique_ptr<Instance> inst(new Instance(plan, stack));
  if (plan.mode == Mode::spawn && guard_spawn) {
    inst->guard_ = std::make_unique<SpawnGuard>();
    if (!inst->guard_->start()) inst->guard_.reset();  // best effort: the run goes on unguarded
  }
  inst->view_ = plan.view();
  if (plan.cgroup) {
    auto cg = Cgroup::create(*plan.cgroup);
    if (!cg) {
      if (failed_step) *failed_step = Step::cgroup;
      return cg.error();
    }
    inst->cgroup_ = std::move(cg.value());
    // clone mode is born in the v2 cgroup (clone3(CLONE_INTO_CGROUP): no migration, which
    // costs the writer an RCU grace period); the stub joins what is left (v1 hierarchies).
    bool into = plan.mode == Mode::clone && inst->cgroup_->v2_dir_fd() >= 0;
    const auto& fds = into ? inst->cgroup_->v1_procs_fds() : inst->cgroup_->procs_fds();
    inst->view_.clone_into_cgroup = into ? inst->cgroup_->v2_dir_fd() : -1;
    inst->view_.cgroup_fds = fds.data();
    inst->view_.n_cgroup_fds = fds.size();
    test_stop_at("cgroup");
  }
  auto l = launch(plan, inst->view_, stack, failed_step, inst->guard_.get());
  if (!l) return l.error();  // launch() reaps what it made; the guard stops with inst
  inst->launch_ = std::move(l.value());
  // Armed by launch() with the pidfd it returned: moving Launch keeps the descriptor.
  test_stop_at("launched");
  return inst;
}

Status Instance::start() {
  if (!launch_.gate) return ok();
  char one = 1;
  ssize_t n = ::write(launch_.gate.get(), &one, 1);
  launch_.gate.reset();
  if (n != 1) return Error::sys("start", n < 0 ? errno : EPIPE);
  return ok();
}

Instance::Detached Instance::detach() {
  Detached d;
  d.pid = launch_.pid;
  d.pidfd = std::move(launch_.pidfd);
  d.gate = std::move(launch_.gate);
  if (cgroup_) {
    d.cgroup_dirs = cgroup_->release();
    d.cgroup_parents = cgroup_->made_parents();
  }
  d.report = std::move(launch_.report);
  d.early_records = std::move(launch_.early_records);
  launch_.events.reset();
  if (guard_) guard_->disarm();
  return d;
}

void Instance::wait(Supervisor& supervisor, Outcome& out, const EventSink& sink) {
  (void)start();  // a child that is gone already is reported by the supervisor
  std::function<void()> stop_guard;
  if (guard_) stop_guard = [this] { guard_->stop(); };
  supervisor.wait(launch_, plan_, stack_, out, sink, stop_guard);
  if (cgroup_) {
    // Read before anything is killed: the figures are the command's.
    out.cgroup = cgroup_->report();
    out.cgroup->joined_by = view_.clone_into_cgroup >= 0 ? "clone3" : "stub";
    out.cgroup->killed_leftovers = cgroup_->kill_all();
    cgroup_.reset();
  }
}

Status Instance::kill(int sig) {
  if (!launch_.pidfd) return Error::sys("kill", ESRCH);
  if (::syscall(SYS_pidfd_send_signal, launch_.pidfd.get(), sig, nullptr, 0) != 0) return Error::sys("kill", errno);
  return ok();
}

Instance::~Instance() {
  if (launch_.pidfd) {
    // Never waited for (an error or an exception on the way): end it, and reap it.
    ::syscall(SYS_pidfd_send_signal, launch_.pidfd.get(), SIGKILL, nullptr, 0);
    siginfo_t si;
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(launch_.pidfd.get()), &si, WEXITED) < 0 &&
           errno == EINTR) {
    }
  }
  if (guard_) guard_->stop();
  cgroup_.reset();  // kills what is left in it, removes it
  launch_.events.reset();
  launch_.report.reset();
  launch_.pidfd.reset();
}

}  // namespace rdbox
