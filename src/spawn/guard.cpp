#include "guard.hpp"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../sys.hpp"
#include "raw_clone.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace rdbox {

namespace {
constexpr int kDeathSignal = SIGUSR1;  // PR_SET_PDEATHSIG
constexpr int kGateSignal = SIGUSR2;   // F_SETSIG: the child broke the gate's lease

// Everything below up to guard_main runs on the guard's small stack in rdbox's memory:
// raw system calls only (see stub.cpp).

// A pidfd of PID if it is the spawn child waiting at the gate: a child of the spawning
// thread with a copy of the gate's file (fork copies the fd table) and a table of its own
// (the other guards of this thread share rdbox's). -1 if not.
RDBOX_NO_SANITIZE int take_if_gated(const SpawnGuard::Shared* s, long self, long pid) {
  if (pid == self) return -1;
  long pidfd = sys::call(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -1;
  bool gated = sys::call(SYS_kcmp, self, pid, KCMP_FILE, s->gate, s->gate) == 0 &&
               sys::call(SYS_kcmp, self, pid, KCMP_FILES, 0, 0) != 0 &&
               // alive now, so the pid was still its own when kcmp looked
               sys::call(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0;
  if (gated) return static_cast<int>(pidfd);
  sys::call(SYS_close, pidfd);
  return -1;
}

// The spawning thread's children, from /proc/PID/task/TID/children ("12 345 "), until
// one is the gated child.
RDBOX_NO_SANITIZE int find_gated_child(SpawnGuard::Shared* s, long self) {
  long fd = sys::call(SYS_openat, AT_FDCWD, s->children, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long pid = 0;
  bool in_number = false;
  int found = -1;
  long n;
  while (found < 0 && (n = sys::call(SYS_read, fd, s->buf, sizeof s->buf)) > 0) {
    for (long i = 0; i < n && found < 0; ++i) {
      char c = s->buf[i];
      if (c >= '0' && c <= '9') {
        pid = pid * 10 + (c - '0');
        in_number = true;
      } else if (in_number) {
        found = take_if_gated(s, self, pid);
        pid = 0;
        in_number = false;
      }
    }
  }
  if (found < 0 && in_number) found = take_if_gated(s, self, pid);
  sys::call(SYS_close, fd);
  return found;
}

// The test hook (test_stop.hpp): rdbox waits inside posix_spawn, in the kernel, where it
// cannot stop itself, so the guard kills it at the point and waits for its death notice.
RDBOX_NO_SANITIZE void test_kill_at(const SpawnGuard::Shared* s, int point) {
  if (s->test_kill_at != point) return;
  sys::call(SYS_kill, s->parent, SIGKILL);
  unsigned long death = 1UL << (kDeathSignal - 1);
  siginfo_t info;
  while (sys::call(SYS_getppid) == s->parent) sys::call(SYS_rt_sigtimedwait, &death, &info, nullptr, 8);
}

RDBOX_NO_SANITIZE int guard_main(void* arg) {
  auto* s = static_cast<SpawnGuard::Shared*>(arg);
  // Every signal blocked from birth (start()), the handlers being copies of rdbox's, for
  // rdbox's stack: only SIGKILL ends the guard; the two it waits for are taken by
  // rt_sigtimedwait. (sigfillset leaves out glibc's two internal signals: block them too.)
  unsigned long all = ~0UL;
  sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, 8);
  unsigned long signals = (1UL << (kDeathSignal - 1)) | (1UL << (kGateSignal - 1));
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, kDeathSignal, 0, 0, 0);
  // A group of its own: a SIGKILL to rdbox's process group leaves the guard to clean up.
  sys::call(SYS_setpgid, 0, 0);
  long self = sys::call(SYS_getpid);
  // Any signal wakes us; only rdbox's death (we are re-parented) ends the loop.
  while (sys::call(SYS_getppid) == s->parent) {
    siginfo_t info;
    long sig = sys::call(SYS_rt_sigtimedwait, &signals, &info, nullptr, 8);
    // The kernel's lease-break notice (si_code POLL_MSG), not a kill(2) from anyone.
    if (sig != kGateSignal || info.si_code != POLL_MSG || info.si_fd != s->gate) continue;
    test_kill_at(s, 1);
    if (s->gate_pidfd < 0) s->gate_pidfd = find_gated_child(s, self);
    test_kill_at(s, 2);
    // Not found (no kcmp, no /proc/.../children): let it go all the same, unguarded
    // until rdbox arms us after posix_spawn returns, as before the gate existed.
    if (sys::call(SYS_getppid) != s->parent) break;
    sys::call(SYS_fcntl, s->gate, F_SETLEASE, F_UNLCK);
    s->leased = false;
  }
  // rdbox is gone: take the command with it, as PR_SET_PDEATHSIG would have. A child not
  // yet through the gate (or not found) finds an empty path to exec: execve fails.
  s->exec_path[0] = '\0';
  if (s->pidfd >= 0) sys::call(SYS_pidfd_send_signal, s->pidfd, SIGKILL, nullptr, 0);
  if (s->gate_pidfd >= 0) sys::call(SYS_pidfd_send_signal, s->gate_pidfd, SIGKILL, nullptr, 0);
  if (s->gate >= 0) sys::call(SYS_fcntl, s->gate, F_SETLEASE, F_UNLCK);
  for (;;) sys::call(SYS_exit_group, 0);
}

// The gate's file: a memfd reopened read-only (a write lease needs the only open file of
// the inode to be its holder's, and the memfd's own read-write file counts as a writer).
// Its opening through /proc/self/fd also shows that the child's will work.
Fd open_gate_file() {
  Fd memfd(::memfd_create("rdbox-spawn-gate", MFD_CLOEXEC));
  if (!memfd) return Fd();
  char path[40];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", memfd.get());
  return Fd(::open(path, O_RDONLY | O_CLOEXEC));
}
}  // namespace

Status SpawnGuard::start() {
  if (auto s = stack_.ensure(16 * 1024); !s) return s;
  shared_ = std::make_unique<Shared>();
  shared_->parent = ::getpid();
  if (const char* point = std::getenv("RDBOX_TEST_STOP_AT"))  // test_stop.hpp
    shared_->test_kill_at = std::strcmp(point, "gate") == 0 ? 1 : std::strcmp(point, "gated") == 0 ? 2 : 0;
  std::snprintf(shared_->children, sizeof shared_->children, "/proc/%d/task/%d/children", ::getpid(), ::gettid());
  gate_ = open_gate_file();  // none: the spawn goes ungated
  if (gate_) slot_.reset(::fcntl(gate_.get(), F_DUPFD_CLOEXEC, 0));
  shared_->gate = gate_ && slot_ ? gate_.get() : -1;
  int pidfd = -1;
  // Born with every signal blocked: the gate's signal can come before the guard has run
  // a single instruction (it did under TSan), and its action is a copy of rdbox's.
  sigset_t all, old_mask;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  // Raw (raw_clone.hpp): under TSan glibc's clone() would run the runtime's fork
  // handling in this CLONE_VM child, on the calling thread's TSan state.
  long pid = rdbox_clone(CLONE_VM | CLONE_FILES | CLONE_PIDFD | SIGCHLD, stack_.top(), &pidfd, guard_main, shared_.get());
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) return Error::sys("spawn guard", static_cast<int>(-pid));
  pid_ = static_cast<pid_t>(pid);
  pidfd_.reset(pidfd);
  return ok();
}

const char* SpawnGuard::gate_path(const char* path) {
  if (gate_fd() < 0) return path;
  forget_gated_child();
  std::size_t n = std::strlen(path);
  if (n >= sizeof shared_->exec_path) return path;  // execve refuses it (ENAMETOOLONG)
  std::memcpy(shared_->exec_path, path, n + 1);
  // The lease is owned by the file and signals whoever F_SETOWN_EX names: the guard,
  // with F_SETSIG's signal (an unlock resets both). If it cannot be taken, the child
  // passes the gate unhindered.
  if (::fcntl(gate_.get(), F_SETLEASE, F_WRLCK) == 0) {
    struct f_owner_ex owner {F_OWNER_PID, pid_};
    shared_->leased = true;
    if (::fcntl(gate_.get(), F_SETOWN_EX, &owner) != 0 || ::fcntl(gate_.get(), F_SETSIG, kGateSignal) != 0) {
      ::fcntl(gate_.get(), F_SETLEASE, F_UNLCK);
      shared_->leased = false;
    }
  }
  return shared_->exec_path;
}

void SpawnGuard::after(int spawn_rc) {
  if (gate_fd() < 0) return;
  // Still held only when no child reached the gate (it died before): the guard let go.
  if (shared_->leased) ::fcntl(gate_.get(), F_SETLEASE, F_UNLCK);
  shared_->leased = false;
  if (spawn_rc != 0) forget_gated_child();
}

void SpawnGuard::forget_gated_child() {
  int fd = shared_->gate_pidfd;
  shared_->gate_pidfd = -1;
  if (fd >= 0) ::close(fd);
}

void SpawnGuard::arm(int pidfd) {
  if (!shared_) return;
  shared_->pidfd = pidfd;
  forget_gated_child();  // rdbox's own pidfd guards it from here
}
void SpawnGuard::disarm() {
  if (!shared_) return;
  shared_->pidfd = -1;
  forget_gated_child();
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
