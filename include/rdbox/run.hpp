// The library's entry points: rdbox::run(spec) for one run, Session for many.
#pragma once

#include <functional>
#include <memory>

#include "rdbox/error.hpp"
#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// The defaults are right for a library inside a larger program: rdbox waits only for its
// own children (by pidfd), changes no signal disposition or mask of other threads, and
// never reaps the program's other children. Many Sessions may run at once, one per thread.
struct SessionOptions {
  // Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH that reach the
  // calling thread to the command (they are blocked in that thread while it waits).
  bool forward_signals = false;
  // rdbox becomes a child subreaper, reaps every child it gets and, when the command
  // ends, kills what the command left running. Only for a process with no other children
  // (the CLI turns it on).
  bool reap_orphans = false;
  // Report the command's stops and continues (SIGCHLD through a signalfd in the calling
  // thread), and do job control at a terminal.
  bool watch_stops = false;
  // --mode spawn: posix_spawn runs no rdbox code in the child, so PR_SET_PDEATHSIG is
  // held by a small guard process instead, which kills the command if rdbox dies.
  bool guard_spawn = true;
  // Called as the command stops and continues (with watch_stops).
  std::function<void(pid_t, const ChildEvent&)> on_event;
};

// One process's launch machinery: the supervisor (signal mask, signalfd, subreaper) and a
// reusable clone stack. Runs Plans one after another.
class Session {
 public:
  static Expected<std::unique_ptr<Session>> create(SessionOptions opts = {});
  ~Session();
  Outcome run(const Plan& plan);

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// validate → plan → launch → supervise. Bad input comes back as an Outcome of kind
// spawn_failed with step "spec" and the message.
Outcome run(const Spec& spec, SessionOptions opts = {});
// The same from the neutral config (the first of its processes), for front ends other
// than the CLI's options.
Outcome run(const SandboxConfig& config, SessionOptions opts = {});

}  // namespace rdbox
