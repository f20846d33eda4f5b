// posix_spawn runs no rdbox code in the child, so PR_SET_PDEATHSIG cannot be set there.
// SpawnGuard stands in for it: a tiny helper thread-like process (CLONE_VM|CLONE_FILES,
// raw system calls only) that holds PR_SET_PDEATHSIG itself and, when rdbox dies, kills
// the guarded child through a pidfd of it.
//
// The gate closes the window while rdbox waits inside posix_spawn (the child's pid is
// known only once it has exec'd): the spawn child's first file action opens a file the
// guard holds a write lease on, so the open blocks and the guard is signalled. The guard
// finds the child (a child of the spawning thread holding the gate's file: kcmp), takes a
// pidfd of it, and only then lets it go by dropping the lease. Should rdbox die first,
// the guard empties the path the child is about to exec and lets it go: its execve fails.
// docs/reliability.md, "The spawn-mode gap".
#pragma once

#include <limits.h>
#include <sys/types.h>

#include <memory>

#include "rdbox/error.hpp"
#include "launch.hpp"

namespace rdbox {

class SpawnGuard {
 public:
  SpawnGuard() = default;
  SpawnGuard(const SpawnGuard&) = delete;
  SpawnGuard& operator=(const SpawnGuard&) = delete;
  ~SpawnGuard() { stop(); }
  void stop();  // kills and reaps the guard (a no-op when it is gone already)

  Status start();  // on the thread that will call posix_spawn
  void arm(int pidfd);
  void disarm();

  // Around one posix_spawn call: gate_path() copies PATH where the guard can empty it,
  // takes the lease and returns what to exec (PATH itself when there is no gate);
  // gate_fd() is the descriptor the child's first file action opens (-1: none); after()
  // drops a lease no child broke and forgets a child that failed to exec.
  const char* gate_path(const char* path);
  int gate_fd() const { return shared_ && shared_->gate >= 0 ? shared_->gate : -1; }
  int gate_slot() const { return slot_.get(); }  // the descriptor the child opens it as
  void after(int spawn_rc);

  // What the guard reads, in memory it shares with rdbox: one per guard (thread-safe).
  struct Shared {
    volatile int pidfd = -1;       // rdbox's pidfd of the spawned child, once armed
    volatile int gate_pidfd = -1;  // the guard's, taken while the child waits at the gate
    int gate = -1;                 // the leased file (read-only memfd, close-on-exec)
    volatile bool leased = false;  // rdbox took the lease; the guard clears it on letting go
    pid_t parent = 0;
    int test_kill_at = 0;    // 1 "gate", 2 "gated" (test_stop.hpp)
    char children[64] = {};  // /proc/PID/task/TID/children of the spawning thread
    char exec_path[PATH_MAX] = {};
    char buf[4096] = {};  // the guard's read buffer (its stack is small)
  };

 private:
  std::unique_ptr<Shared> shared_;
  ChildStack stack_;
  pid_t pid_ = -1;
  Fd pidfd_;
  Fd gate_, slot_;

  void forget_gated_child();
};

}  // namespace rdbox
