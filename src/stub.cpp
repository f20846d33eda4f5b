// The exec stub: the code that runs in the child between creation and execve.
//
// RULES (this file only). The child may share rdbox's address space (vfork, CLONE_VM) and
// its thread-local storage, may run on a 16 KiB stack, and may be created while another
// thread holds a lock. So here: no allocation, no locks, no exceptions, no logging, no
// glibc wrapper that writes errno (sys::call returns -errno instead), no stack buffers
// beyond a few hundred bytes. Everything the stub reads was prepared in the Plan by the
// parent. Every step returns an errno (0 = done); fail() reports {step, item, errno} on
// the close-on-exec report pipe and _exits. EOF on that pipe with no record means execve
// succeeded.
#include "stub.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <ctime>

#include "sys.hpp"

namespace rdbox {
namespace {

struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

std::int64_t monotonic_ns() {
  struct {
    long sec, nsec;
  } ts{};
  sys::call(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return ts.sec * 1'000'000'000LL + ts.nsec;
}

long write_record(int fd, Step step, unsigned item, int err, std::uint32_t severity) {
  StubRecord r{static_cast<std::uint32_t>(step), item, err, severity, monotonic_ns()};
  long n;
  do n = sys::call(SYS_write, fd, &r, sizeof r);
  while (n == -EINTR);
  return n;
}

[[noreturn]] void fail(const PlanView* v, Step step, unsigned item, int err) {
  write_record(v->report_fd, step, item, err, kFatal);
  int code = 125;
  if (step == Step::exec) code = err == ENOENT || err == ENOTDIR ? 127 : 126;
  for (;;) sys::call(SYS_exit_group, code);
}

int step_files(const PlanView* v) {
  // With CLONE_FILES the fd table is rdbox's own; exec would leave rdbox holding the
  // report pipe open and the parent could never see EOF. Take a private copy, then say so.
  long r = sys::call(SYS_unshare, CLONE_FILES);
  if (sys::failed(r)) return static_cast<int>(-r);
  r = write_record(v->report_fd, Step::files, 0, 0, kReady);
  return sys::failed(r) ? static_cast<int>(-r) : 0;
}

int step_signals(const PlanView* v) {
  // Handlers are reset by execve itself; only SIG_IGN survives it.
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; ++sig)
    if (v->ignored_signals & (1ULL << (sig - 1))) sys::call(SYS_rt_sigaction, sig, &dfl, nullptr, 8);
  return 0;
}

int step_pdeathsig(const PlanView* v) {
  long r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys::failed(r)) return static_cast<int>(-r);
  // rdbox may have died before the prctl: then nobody would send the signal.
  if (sys::call(SYS_getppid) != v->parent_pid) return ESRCH;
  return 0;
}

int step_pgrp(const PlanView* v) {
  if (!v->new_pgrp) return 0;
  long r = sys::call(SYS_setpgid, 0, 0);
  if (sys::failed(r)) return static_cast<int>(-r);
  if (v->take_tty) {
    // SIGTTOU is blocked here, so a background group may take the terminal.
    int pgrp = static_cast<int>(sys::call(SYS_getpid));
    r = sys::call(SYS_ioctl, 0, TIOCSPGRP, &pgrp);
    if (sys::failed(r) && r != -ENOTTY && r != -ENXIO) return static_cast<int>(-r);
  }
  return 0;
}

int step_fds(const PlanView* v) {
  for (std::size_t i = 0; i < v->n_preserved; ++i) {
    long r = sys::call(SYS_fcntl, v->preserved[i], F_SETFD, 0);
    if (sys::failed(r)) return static_cast<int>(-r);
  }
  long r = sys::call(SYS_close_range, v->keep_below, ~0U, CLOSE_RANGE_CLOEXEC);
  if (!sys::failed(r)) return 0;
  if (r != -EINVAL && r != -ENOSYS) return static_cast<int>(-r);
  // Kernels before 5.11: walk the descriptors rdbox could have.
  long max_fd = 1024;
  struct {
    unsigned long cur, max;
  } lim{};
  if (!sys::failed(sys::call(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &lim))) max_fd = static_cast<long>(lim.cur);
  if (max_fd > 65536) max_fd = 65536;
  for (long fd = v->keep_below; fd < max_fd; ++fd) sys::call(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  return 0;
}

int step_workdir(const PlanView* v) {
  if (!v->workdir) return 0;
  long r = sys::call(SYS_chdir, v->workdir);
  return sys::failed(r) ? static_cast<int>(-r) : 0;
}

int step_sigmask(const PlanView*) {
  unsigned long empty = 0;
  long r = sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8);
  return sys::failed(r) ? static_cast<int>(-r) : 0;
}

// execvp semantics: try each candidate; ENOENT-like errors move on, EACCES is
// remembered, ENOEXEC runs the file with /bin/sh, anything else stops the search.
[[noreturn]] void step_exec(const PlanView* v) {
  int err = ENOENT;
  unsigned err_item = 0;
  bool saw_eacces = false;
  // The moment rdbox compares with its own resume time: was it suspended until now?
  write_record(v->report_fd, Step::exec, 0, 0, kExecAt);
  for (std::size_t i = 0; i < v->n_candidates; ++i) {
    const char* path = v->candidates[i];
    long r = sys::call(SYS_execve, path, v->argv, v->envp);
    int e = static_cast<int>(-r);
    if (e == ENOEXEC) {
      v->sh_argv[1] = path;  // the Plan reserved this slot for the stub
      r = sys::call(SYS_execve, v->sh_argv[0], v->sh_argv, v->envp);
      e = static_cast<int>(-r);
    }
    if (e == EACCES) {
      if (!saw_eacces) err_item = static_cast<unsigned>(i);
      saw_eacces = true;
      continue;
    }
    if (e == ENOENT || e == ENOTDIR || e == ESTALE || e == ENODEV || e == ETIMEDOUT) {
      if (!saw_eacces) err_item = static_cast<unsigned>(i);
      continue;
    }
    fail(v, Step::exec, static_cast<unsigned>(i), e);
  }
  fail(v, Step::exec, err_item, saw_eacces ? EACCES : err);
}

}  // namespace

[[noreturn]] void exec_stub(const PlanView* v) {
  if (v->token_slot) *v->token_slot = v->token;  // visible to rdbox only if memory is shared
  if (v->private_files)
    if (int e = step_files(v)) fail(v, Step::files, 0, e);
  if (int e = step_signals(v)) fail(v, Step::signals, 0, e);
  if (int e = step_pdeathsig(v)) fail(v, Step::pdeathsig, 0, e);
  if (int e = step_pgrp(v)) fail(v, Step::pgrp, 0, e);
  if (int e = step_fds(v)) fail(v, Step::fds, 0, e);
  if (int e = step_workdir(v)) fail(v, Step::workdir, 0, e);
  if (int e = step_sigmask(v)) fail(v, Step::sigmask, 0, e);
  step_exec(v);
}

int exec_stub_entry(void* arg) { exec_stub(static_cast<const PlanView*>(arg)); }

}  // namespace rdbox
