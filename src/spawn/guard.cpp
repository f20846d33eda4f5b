#include "guard.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "../sys.hpp"

namespace rdbox {

namespace {
volatile int g_guarded_pidfd = -1;  // rdbox's pidfd of the spawned child, shared memory
pid_t g_guard_parent = 0;

// Runs on its own stack in rdbox's memory: raw system calls only (see stub.cpp).
int guard_main(void*) {
  unsigned long usr1 = 1UL << (SIGUSR1 - 1);
  sys::call(SYS_rt_sigprocmask, SIG_BLOCK, &usr1, nullptr, 8);
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
  if (sys::call(SYS_getppid) == g_guard_parent) {
    siginfo_t info;
    while (sys::call(SYS_rt_sigtimedwait, &usr1, &info, nullptr, 8) != SIGUSR1) {
    }
  }
  // rdbox is gone: take the command with it, as PR_SET_PDEATHSIG would have.
  int fd = g_guarded_pidfd;
  if (fd >= 0) sys::call(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  for (;;) sys::call(SYS_exit_group, 0);
}
}  // namespace

Status SpawnGuard::start() {
  if (auto s = stack_.ensure(16 * 1024); !s) return s;
  g_guard_parent = ::getpid();
  g_guarded_pidfd = -1;
  pid_t pid = ::clone(guard_main, stack_.top(), CLONE_VM | CLONE_FILES | SIGCHLD, nullptr);
  if (pid < 0) return Error::sys("spawn guard", errno);
  pid_ = pid;
  return ok();
}

void SpawnGuard::arm(int pidfd) { g_guarded_pidfd = pidfd; }
void SpawnGuard::disarm() { g_guarded_pidfd = -1; }

void SpawnGuard::stop() {
  if (pid_ <= 0) return;
  disarm();
  // Still our unreaped child (or reaped already by the supervisor's sweep: then ECHILD).
  if (::kill(pid_, SIGKILL) == 0 || errno != ESRCH) {
    while (::waitpid(pid_, nullptr, __WALL) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

}  // namespace rdbox
