// posix_spawn runs no rdbox code in the child, so PR_SET_PDEATHSIG cannot be set there.
// SpawnGuard stands in for it: a tiny helper thread-like process (CLONE_VM|CLONE_FILES,
// raw system calls only) that holds PR_SET_PDEATHSIG itself and, when rdbox dies, kills
// the guarded child through rdbox's own pidfd. Armed from the moment posix_spawn returns.
#pragma once

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

  Status start();
  void arm(int pidfd);
  void disarm();

  // What the guard reads, in memory it shares with rdbox: one per guard (thread-safe).
  struct Shared {
    volatile int pidfd = -1;  // rdbox's pidfd of the spawned child
    pid_t parent = 0;
  };

 private:
  std::unique_ptr<Shared> shared_;
  ChildStack stack_;
  pid_t pid_ = -1;
  Fd pidfd_;
};

}  // namespace rdbox
