// The parent side of a run: one event loop over its sources (the stub's report pipe, the
// init's events pipe, the child's pidfd, and — when the caller asks for them — a
// signalfd for forwarded signals and SIGCHLD), each handled by its own small function.
// Only the OutcomeBuilder writes the Outcome.
//
// Library-safe by default: it waits for its own child only (by pidfd, never P_ALL), and
// changes nothing process-wide unless asked. The CLI asks for forwarding, stop reports
// and orphan reaping (rdbox a child subreaper that kills what the command left behind).
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"
#include "spawn/launch.hpp"

namespace rdbox {

struct SuperviseOptions {
  bool forward_signals = false;
  // Reap every child of this process and, when the command ends, kill what it left
  // behind. Right for the CLI; never for a program with children of its own.
  bool reap_orphans = false;
  // Report stops and continues (needs SIGCHLD through a signalfd in this thread).
  bool watch_stops = false;
};

using EventSink = std::function<void(pid_t, const ChildEvent&)>;

class Supervisor {
 public:
  static Expected<std::unique_ptr<Supervisor>> create(SuperviseOptions opts);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs the event loop until the child has exited and its report pipe is closed.
  // `before_sweep` runs once the command has ended, before its leftovers are killed.
  void wait(Launch& launch, const Plan& plan, ChildStack& stack, Outcome& out, const EventSink& sink,
            const std::function<void()>& before_sweep = {});

  const SuperviseOptions& options() const { return opts_; }
  int signal_fd() const { return sfd_.get(); }

 private:
  Supervisor() = default;
  void kill_descendants();

  SuperviseOptions opts_;
  Fd sfd_;
  sigset_t handled_{};
  sigset_t old_mask_{};
  bool chld_reset_ = false;
  int old_subreaper_ = 0;
};

// The signals rdbox forwards to the command: every one, as tini does, but those the
// kernel raises for rdbox's own actions (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS,
// SIGPIPE and SIGXFSZ from its own writes), SIGCHLD (its own children), the two that
// cannot be caught, and glibc's internal 32 and 33. The init and the relay pass the same on.
constexpr bool is_forwarded(int sig) {
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
    case SIGPIPE: case SIGXFSZ: case SIGCHLD: case SIGKILL: case SIGSTOP: case 32: case 33:
      return false;
    default:
      return sig >= 1 && sig <= 64;
  }
}
// The same as a mask: bit (sig - 1).
constexpr std::uint64_t forwarded_mask() {
  std::uint64_t m = 0;
  for (int sig = 1; sig <= 64; ++sig)
    if (is_forwarded(sig)) m |= std::uint64_t{1} << (sig - 1);
  return m;
}

}  // namespace rdbox
