// Instance: one sandbox's resources — the child's pidfd, the report and events pipes, the
// borrowed clone stack, the spawn guard — through create → wait → destroy. The destructor
// releases what is still held in reverse order, on every path: a child not yet reaped is
// killed through its pidfd and reaped, the guard is stopped, the pipes are closed.
#pragma once

#include <memory>

#include "rdbox/error.hpp"
#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"
#include "cgroup.hpp"
#include "spawn/guard.hpp"
#include "spawn/launch.hpp"
#include "supervisor.hpp"

namespace rdbox {

class Instance {
 public:
  // Creates the child; the stub runs its steps and execs the command. On failure the
  // Error's step is in *failed_step (spawn, workdir, id_maps, exec) and nothing is left.
  static Expected<std::unique_ptr<Instance>> create(const Plan& plan, ChildStack& stack, bool guard_spawn,
                                                    Step* failed_step);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Opens the start gate (a Plan with start_gate: the child waits, set up, before exec).
  // A no-op when there is no gate or it is open already.
  Status start();
  // Supervises the run to its end and fills `out` (through an OutcomeBuilder); opens the
  // gate first if start() was not called.
  void wait(Supervisor& supervisor, Outcome& out, const EventSink& sink);
  // Hands the child to another parent (what an OCI `create` does before rdbox exits):
  // this Instance forgets it — it will neither kill nor reap it — and gives back its pid,
  // a pidfd and, with a closed gate, the gate's write end (one byte opens it).
  struct Detached {
    pid_t pid = -1;
    Fd pidfd, gate;
    std::vector<std::string> cgroup_dirs;  // the run's cgroup, now the new owner's to remove
    std::vector<std::string> cgroup_parents;  // parents it made (innermost first): rmdir when empty
    std::vector<StubRecord> early_records;  // read during a handshake, before the pipe
    Fd report;  // the report pipe's read end: the stub's records until exec (OCI create reads kReady)
  };
  Detached detach();
  // Signals the child (by pidfd: never a recycled pid). ESRCH once it has been reaped.
  Status kill(int sig);
  pid_t pid() const { return launch_.pid; }

 private:
  Instance(const Plan& plan, ChildStack& stack) : plan_(plan), stack_(stack) {}

  const Plan& plan_;
  ChildStack& stack_;
  // What the stub reads: a CLONE_VM child reads it from this memory until it execs, so it
  // lives as long as the Instance.
  PlanView view_;
  std::unique_ptr<SpawnGuard> guard_;
  std::unique_ptr<Cgroup> cgroup_;  // after the launch in destruction order: the child is reaped first
  Launch launch_;
};

}  // namespace rdbox
