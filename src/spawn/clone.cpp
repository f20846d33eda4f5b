// clone(2) on rdbox's own mmap'd stack, with the flags the Plan chose. CLONE_PIDFD is
// always added, so the child is held by a pidfd from the instant it exists. With a v2
// cgroup for the run, clone3(CLONE_INTO_CGROUP) makes the child there. Both are raw
// system calls (raw_clone.hpp: glibc's clone() is what a sanitizer runtime interposes).
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>

#include "../stub/stub.hpp"
#include "launch.hpp"
#include "raw_clone.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace rdbox {

pid_t spawn_clone(const PlanView* view, std::uint64_t flags, void* stack_top, std::size_t stack_size,
                  int* pidfd_out) {
  int pidfd = -1;
  if (view->clone_into_cgroup >= 0) {
    struct clone_args args {};
    args.flags = flags | CLONE_PIDFD | CLONE_INTO_CGROUP;
    args.pidfd = reinterpret_cast<std::uintptr_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uintptr_t>(stack_top) - stack_size;
    args.stack_size = stack_size;
    args.cgroup = static_cast<std::uint64_t>(view->clone_into_cgroup);
    long pid = rdbox_clone3(&args, sizeof args, exec_stub_entry, const_cast<PlanView*>(view));
    if (pid < 0) return static_cast<pid_t>(pid);
    *pidfd_out = pidfd;
    return static_cast<pid_t>(pid);
  }
  unsigned long f = static_cast<unsigned long>(flags | CLONE_PIDFD) | SIGCHLD;
  long pid = rdbox_clone(f, stack_top, &pidfd, exec_stub_entry, const_cast<PlanView*>(view));
  if (pid < 0) return static_cast<pid_t>(pid);
  *pidfd_out = pidfd;
  return static_cast<pid_t>(pid);
}

}  // namespace rdbox
