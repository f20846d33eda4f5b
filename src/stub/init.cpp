// rdbox's init (PID 1 under --init) and the fork-mode relay (outside a new PID namespace,
// like `unshare -f`). Both are the stub itself, which never execs: before anything else
// they drop what they hold of rdbox's — every descriptor but the events pipe, their copy
// of rdbox's command line and environment — and make themselves non-dumpable, so that the
// command cannot reach them through /proc/1/{fd,environ,mem} (their memory belongs to the
// host's user namespace: only CAP_SYS_PTRACE there could).
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "internal.hpp"

namespace rdbox::stub {

void overwrite(unsigned long start, unsigned long end, const char* with) {
  char* p = reinterpret_cast<char*>(start);
  for (unsigned long i = 0; start + i < end; ++i) p[i] = with && *with ? *with++ : 0;
}

// Holds only the events pipe (at fd 3), and nothing of rdbox's memory worth reading.
void shed_rdbox(const PlanView* v) {
  sys::call(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  int events = -1;
  if (v->events_fd >= 0) {
    events = 3;
    if (v->events_fd != 3) sys::call(SYS_dup3, v->events_fd, 3, O_CLOEXEC);
  }
  sys::call(SYS_close_range, events >= 0 ? 4 : 3, ~0U, 0);
  overwrite(v->arg_start, v->arg_end, "rdbox-init");
  overwrite(v->env_start, v->env_end, nullptr);
}

// The command stopped or continued: rdbox watches this process, not the command, so tell
// it (the relay's command leads its own process group, which rdbox needs for job control).
void pass_job_event(long command, int status, bool relay) {
  StubRecord r{static_cast<std::uint32_t>(Step::init), relay ? static_cast<std::uint32_t>(command) : 0u,
               WIFSTOPPED(status) ? WSTOPSIG(status) : 0, WIFSTOPPED(status) ? kJobStop : kJobCont, 0};
  sys::call(SYS_write, 3, &r, sizeof r);
}

[[noreturn]] void exit_like(int status, bool relay) {
  // rdbox reports the command's own status, not this process's: PID 1 cannot die of a
  // signal it sends itself, so an init exits 128+N where the command was killed by N.
  StubRecord r{static_cast<std::uint32_t>(Step::init), 0, status, kCommandEnd, 0};
  sys::call(SYS_write, 3, &r, sizeof r);
  if (relay && WIFSIGNALED(status)) {
    // Die the same way, so rdbox reports the signal (PID 1 could not: an init ignores its
    // own signals; it exits with 128+N instead, as tini does).
    int sig = WTERMSIG(status);
    KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
    sys::call(SYS_rt_sigaction, sig, &dfl, nullptr, 8);
    unsigned long one = 1UL << (sig - 1);
    sys::call(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, nullptr, 8);
    sys::call(SYS_kill, sys::call(SYS_getpid), sig);
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  for (;;) sys::call(SYS_exit_group, code);
}

namespace {

// Reaps every orphan, forwards the signals rdbox forwards to it to the command, and exits
// with the command's status. Its signals are still blocked from rdbox's mask, so it takes
// them synchronously.
[[noreturn]] void run_init(const PlanView* v, long command, bool relay) {
  shed_rdbox(v);  // the report pipe too: EOF now means the command exec'd
  unsigned long wait_set = (1UL << (SIGCHLD - 1)) | v->forwarded_signals;
  sys::call(SYS_rt_sigprocmask, SIG_BLOCK, &wait_set, nullptr, 8);
  for (;;) {
    siginfo_t info;
    long sig = sys::call(SYS_rt_sigtimedwait, &wait_set, &info, nullptr, 8);
    if (sig != SIGCHLD) {
      if (sig > 0) sys::call(SYS_kill, command, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      long pid = sys::call(SYS_wait4, -1, &status, WNOHANG | WUNTRACED | WCONTINUED, nullptr);
      if (pid <= 0) break;
      if (pid != command) continue;
      if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
        if (v->events_fd >= 0) pass_job_event(command, status, relay);
        continue;
      }
      exit_like(status, relay);
    }
  }
}

}  // namespace

int step_init(const PlanView* v) {
  // Non-dumpable before the fork, not after: the command must never find its init (still
  // holding rdbox's descriptors until shed_rdbox runs) reachable through /proc/1. The
  // command's own exec makes it dumpable again.
  sys::call(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  long pid = sys::call(SYS_clone, SIGCHLD, 0, nullptr, nullptr, 0);
  if (sys::failed(pid)) return static_cast<int>(-pid);
  if (pid > 0) run_init(v, pid, false);
  // The command: die with the init, without the race.
  long r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys::failed(r)) return static_cast<int>(-r);
  if (sys::call(SYS_getppid) != 1) return ESRCH;
  return 0;
}

// fork mode with --newpid: unshare(CLONE_NEWPID) moved only this process's future
// children into the new namespace. Fork once more: the new child is PID 1 there and goes
// on with the steps; this process stays outside as a relay (run_init: it forwards the
// signals rdbox forwards and exits with the command's status), as `unshare -f` does.
int step_pid_fork(const PlanView* v) {
  // The relay dies with rdbox (and PID 1 with the relay, set in the pdeathsig step).
  long r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys::failed(r)) return static_cast<int>(-r);
  if (sys::call(SYS_getppid) != v->parent_pid) return ESRCH;
  sys::call(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);  // as in step_init: before the fork
  long pid = sys::call(SYS_clone, SIGCHLD, 0, nullptr, nullptr, 0);
  if (sys::failed(pid)) return static_cast<int>(-pid);
  if (pid > 0) run_init(v, pid, true);
  return 0;  // PID 1 of the new namespace; its parent (the relay) is outside, seen as 0
}

}  // namespace rdbox::stub
