#include "guard.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "../sys.hpp"
#include "raw_clone.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace rdbox {

namespace {
// Runs on its own stack in rdbox's memory: raw system calls only (see stub.cpp).
RDBOX_NO_SANITIZE int guard_main(void* arg) {
  auto* shared = static_cast<SpawnGuard::Shared*>(arg);
  unsigned long usr1 = 1UL << (SIGUSR1 - 1);
  sys::call(SYS_rt_sigprocmask, SIG_BLOCK, &usr1, nullptr, 8);
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
  // Any SIGUSR1 wakes us; only rdbox's death (we are re-parented) counts.
  while (sys::call(SYS_getppid) == shared->parent) {
    siginfo_t info;
    sys::call(SYS_rt_sigtimedwait, &usr1, &info, nullptr, 8);
  }
  // rdbox is gone: take the command with it, as PR_SET_PDEATHSIG would have.
  int fd = shared->pidfd;
  if (fd >= 0) sys::call(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  for (;;) sys::call(SYS_exit_group, 0);
}
}  // namespace

Status SpawnGuard::start() {
  if (auto s = stack_.ensure(16 * 1024); !s) return s;
  shared_ = std::make_unique<Shared>();
  shared_->parent = ::getpid();
  int pidfd = -1;
  // Raw (raw_clone.hpp): under TSan glibc's clone() would run the runtime's fork
  // handling in this CLONE_VM child, on the calling thread's TSan state.
  long pid = rdbox_clone(CLONE_VM | CLONE_FILES | CLONE_PIDFD | SIGCHLD, stack_.top(), &pidfd, guard_main, shared_.get());
  if (pid < 0) return Error::sys("spawn guard", static_cast<int>(-pid));
  pid_ = static_cast<pid_t>(pid);
  pidfd_.reset(pidfd);
  return ok();
}

void SpawnGuard::arm(int pidfd) {
  if (shared_) shared_->pidfd = pidfd;
}
void SpawnGuard::disarm() {
  if (shared_) shared_->pidfd = -1;
}

void SpawnGuard::stop() {
  if (pid_ <= 0) return;
  disarm();
  // By pidfd: if someone else reaped it already, its pid could be another process's now.
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  siginfo_t si;
  while (::waitid(static_cast<idtype_t>(3 /* P_PIDFD */), static_cast<id_t>(pidfd_.get()), &si, WEXITED | __WALL) < 0 &&
         errno == EINTR) {
  }
  pidfd_.reset();
  pid_ = -1;
}

}  // namespace rdbox
