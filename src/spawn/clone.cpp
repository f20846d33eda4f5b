// clone(2) on rdbox's own mmap'd stack, with the flags the Plan chose. CLONE_PIDFD is
// always added, so the child is held by a pidfd from the instant it exists.
#include <sched.h>
#include <signal.h>

#include <cerrno>

#include "../stub/stub.hpp"
#include "launch.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace rdbox {

pid_t spawn_clone(const PlanView* view, std::uint64_t flags, void* stack_top, int* pidfd_out) {
  int pidfd = -1;
  int f = static_cast<int>(flags | CLONE_PIDFD) | SIGCHLD;
  pid_t pid = ::clone(exec_stub_entry, stack_top, f, const_cast<PlanView*>(view), &pidfd);
  if (pid < 0) return -errno;
  *pidfd_out = pidfd;
  return pid;
}

}  // namespace rdbox
