// clone(2) on rdbox's own mmap'd stack, with the flags the Plan chose. CLONE_PIDFD is
// always added, so the child is held by a pidfd from the instant it exists. With a v2
// cgroup for the run, clone3(CLONE_INTO_CGROUP) makes the child there: glibc has no
// wrapper for clone3 with a stack of our own, so a few lines of assembly do what its
// clone() does (the child calls the stub's entry on the new stack and exits with its value).
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>

#include "../stub/stub.hpp"
#include "launch.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

extern "C" long rdbox_clone3(void* args, unsigned long size, int (*fn)(void*), void* arg);

// rdi = args, rsi = size, rdx = fn, rcx = arg. The system call keeps every register but
// rax, rcx and r11, so fn and arg cross it in r8 and r9. The child starts on the stack
// clone3 gave it (16-byte aligned: its top is a page boundary), with no frame to return to.
asm(R"(
  .text
  .globl rdbox_clone3
  .type rdbox_clone3, @function
rdbox_clone3:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
1:
  ret
  .size rdbox_clone3, .-rdbox_clone3
)");

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
  int f = static_cast<int>(flags | CLONE_PIDFD) | SIGCHLD;
  pid_t pid = ::clone(exec_stub_entry, stack_top, f, const_cast<PlanView*>(view), &pidfd);
  if (pid < 0) return -errno;
  *pidfd_out = pidfd;
  return pid;
}

}  // namespace rdbox
