// The launcher seam: one small strategy per creation primitive, behind launch().
// A strategy creates the child and returns its pid; launch() adds what every strategy
// shares: the report pipe, the pidfd, the timing and the "parent suspended" observation.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/plan.hpp"

namespace rdbox {

// The clone stack: mmap'd, a PROT_NONE guard page below it, reused across launches.
class ChildStack {
 public:
  ChildStack() = default;
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  ~ChildStack();
  Status ensure(std::size_t usable);
  void* top() const { return static_cast<char*>(base_) + guard_ + usable_; }
  std::size_t usable() const { return usable_; }
  // Fill with a pattern so the high-water mark can be read back (CLONE_VM children only).
  void paint();
  std::size_t high_water() const;
  bool painted() const { return painted_; }

 private:
  void* base_ = nullptr;
  std::size_t guard_ = 0, usable_ = 0;
  bool painted_ = false;
};

struct Launch {
  pid_t pid = -1;
  Fd pidfd;
  Fd report;  // read end of the report pipe; EOF without a record = exec happened
  Fd events;  // read end of the init/relay's job-control records (--init, fork --newpid)
  Fd stage_records;  // rdbox pipeline: each stage's own records (its pid by the credentials)
  Fd life;    // write end of the life pipe: held until the run ends (PID 1 checks for its hang-up)
  Fd gate;    // write end of the barriers' pipe while the start gate is closed
  std::int64_t t_start_ns = 0, t_spawned_ns = 0;
  bool parent_suspended = false;
  bool has_stub = true;         // false for posix_spawn
  std::vector<StubRecord> early_records;  // read during a handshake, replayed by the supervisor
  long parent_minflt = 0;
  bool parent_slept = false;  // a voluntary context switch during the primitive
  std::uint64_t token = 0;
  // Where the stub writes the token: this launch's own word, so that launches in many
  // threads at once never see each other's (heap: its address survives moving Launch).
  std::unique_ptr<volatile std::uint64_t> token_slot;
  std::int64_t id_maps_ns = 0;  // rdbox writing the child's maps (parent half)
};

// Creates the child. On a primitive failure returns an Error with context "spawn"; for
// posix_spawn, an exec failure comes back as an Error with context "exec" and errno.
// *failed_step says which step an Error belongs to (spawn, workdir, exec). A spawn guard,
// when given, is armed with the child's pidfd as soon as the primitive returns.
class SpawnGuard;
Expected<Launch> launch(const Plan& plan, PlanView& view, ChildStack& stack, Step* failed_step,
                        SpawnGuard* guard = nullptr);

// True when the stub wrote this launch's token into rdbox's memory.
bool token_seen(const Launch& l);

std::int64_t now_ns();

// Strategies (spawn/*.cpp). Each returns the pid, or -errno.
pid_t spawn_fork(const PlanView* view);
pid_t spawn_vfork(const PlanView* view);
pid_t spawn_clone(const PlanView* view, std::uint64_t flags, void* stack_top, std::size_t stack_size, int* pidfd_out);
// posix_spawn: returns 0 and sets *pid, or an errno; `exec_item` is the candidate tried.
int spawn_posix(const Plan& plan, const PlanView* view, pid_t* pid, std::size_t* exec_item, SpawnGuard* guard);

}  // namespace rdbox
