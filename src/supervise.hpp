// The parent side of a run: signal forwarding, reaping (rdbox is a child subreaper), stop
// and continue reports, and the collection of the Outcome.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>

#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"
#include "spawn/launch.hpp"

namespace rdbox {

struct SuperviseOptions {
  bool forward_signals = true;
  // Reap every child of rdbox and, when the command ends, kill what it left behind.
  // Right for the CLI; a library caller with children of its own turns it off.
  bool reap_orphans = true;
};

using EventSink = std::function<void(pid_t, const ChildEvent&)>;

class Supervisor {
 public:
  // Blocks the signals it handles (restored by the destructor), opens a signalfd, makes
  // rdbox a child subreaper and SIGCHLD's disposition the default.
  static Expected<std::unique_ptr<Supervisor>> create(SuperviseOptions opts);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Waits until the child has exited and its report pipe is closed; fills `out`.
  // `before_sweep` runs once the command has ended, before its leftovers are killed.
  void wait(Launch& launch, const Plan& plan, ChildStack& stack, Outcome& out, const EventSink& sink,
            const std::function<void()>& before_sweep = {});

 private:
  Supervisor() = default;
  void kill_descendants();

  SuperviseOptions opts_;
  Fd sfd_;
  sigset_t old_mask_{};
  struct sigaction old_chld_ {};
  int old_subreaper_ = 0;
};

// "bind \"/x\" on \"/r/y\"", "pivot_root to \"/r\"", ... for mount step `item` of the Plan.
std::string describe_mount_step(const Plan& plan, unsigned item);

// What a failed stub step was doing, from the Plan's own strings: "exec \"x\"",
// "mount overlay on \"/r/merged\"", "hostname \"h\""... (the message is this + strerror).
std::string describe_failure(const Plan& plan, Step step, unsigned item, int err);

// What to check after a failed step, or "" (run.cpp).
std::string hint_for(Step step, int err, bool namespaces);

// The signals rdbox forwards to the command.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

}  // namespace rdbox
