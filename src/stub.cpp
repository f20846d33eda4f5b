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
#include <linux/sched.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

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

// Trace records are best effort: written only while the pipe is at most half full, so a
// failure record always fits and a stub never blocks on a parent that cannot read (vfork).
bool trace_room(const PlanView* v) {
  int queued = 0;
  if (sys::failed(sys::call(SYS_ioctl, v->report_fd, FIONREAD, &queued))) return false;
  return queued + static_cast<long>(sizeof(StubRecord)) <= v->report_pipe_size / 2;
}

void trace(const PlanView* v, Step step, unsigned item = 0) {
  if (v->trace && trace_room(v)) write_record(v->report_fd, step, item, 0, kStepDone);
}

int err_of(long r) { return sys::failed(r) ? static_cast<int>(-r) : 0; }

std::size_t length(const char* s) {
  std::size_t n = 0;
  while (s[n]) ++n;
  return n;
}

int write_proc_file(const char* path, const char* text, std::size_t len) {
  long fd = sys::call(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (sys::failed(fd)) return static_cast<int>(-fd);
  long r = sys::call(SYS_write, fd, text, len);
  sys::call(SYS_close, fd);
  if (sys::failed(r)) return static_cast<int>(-r);
  return r == static_cast<long>(len) ? 0 : EIO;
}

int step_unshare(const PlanView* v) {
  if (!v->unshare_flags) return 0;
  int e = err_of(sys::call(SYS_unshare, v->unshare_flags));
  if (e) return e;
  // fork mode with maps written by rdbox: the user namespace exists only now; say so.
  if (v->sync_fd >= 0 && (v->unshare_flags & CLONE_NEWUSER))
    if (sys::failed(write_record(v->report_fd, Step::unshare, 0, 0, kReady))) return EPIPE;
  return 0;
}

int step_id_maps(const PlanView* v) {
  if (v->self_maps) {
    // setgroups must be denied before an unprivileged gid_map is accepted.
    static const char deny[] = "deny";
    int e = write_proc_file("/proc/self/setgroups", deny, sizeof deny - 1);
    if (e && e != ENOENT) return e;
    if ((e = write_proc_file("/proc/self/uid_map", v->uid_map, length(v->uid_map)))) return e;
    return write_proc_file("/proc/self/gid_map", v->gid_map, length(v->gid_map));
  }
  if (v->sync_fd >= 0) {
    // rdbox writes the maps now; one byte means done, EOF means it failed.
    char byte = 0;
    long r;
    do r = sys::call(SYS_read, v->sync_fd, &byte, 1);
    while (r == -EINTR);
    sys::call(SYS_close, v->sync_fd);
    if (r != 1) return ECANCELED;
  }
  return 0;
}

int step_time_offsets(const PlanView* v) {
  for (const char* line : v->timens_offsets)
    if (line)
      if (int e = write_proc_file("/proc/self/timens_offsets", line, length(line))) return e;
  return 0;
}

// Keeps the flags a less privileged mount namespace may not clear.
unsigned long locked_flags(const char* path) {
  struct statfs st {};
  if (sys::failed(sys::call(SYS_statfs, path, &st))) return 0;
  return static_cast<unsigned long>(st.f_flags) &
         (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
}

constexpr long kSysMountSetattr = 442;            // mount_setattr(2)
constexpr unsigned long long MOUNT_ATTR_RDONLY_BIT = 0x1;
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

int run_mount_step(const MountStep& m, bool* fell_back) {
  long r = 0;
  switch (m.op) {
    case MountOp::mount:
      r = sys::call(SYS_mount, m.src, m.dst, m.fstype, m.flags, m.data);
      if (sys::failed(r) && m.fallback) {
        *fell_back = true;
        r = sys::call(SYS_mount, m.fallback, m.dst, nullptr, MS_BIND | MS_REC, nullptr);
      }
      return err_of(r);
    case MountOp::remount_ro: {
      // flags AT_RECURSIVE: the whole tree (mount_setattr, Linux 5.12), since a remount
      // covers only the top mount and /sys or a bound tree has submounts (cgroups...).
      // Without it (--read-only root), the mounts rdbox put on top stay as they are.
      struct {
        unsigned long long attr_set, attr_clr, propagation, userns_fd;
      } attr{MOUNT_ATTR_RDONLY_BIT, 0, 0, 0};
      if (m.flags & AT_RECURSIVE) {
        r = sys::call(kSysMountSetattr, AT_FDCWD, m.dst, AT_RECURSIVE, &attr, sizeof attr);
        if (r != -ENOSYS) return err_of(r);
      }
      r = sys::call(SYS_mount, nullptr, m.dst, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(m.dst), nullptr);
      return err_of(r);
    }
    case MountOp::mkdir:
      r = sys::call(SYS_mkdirat, AT_FDCWD, m.dst, 0755);
      return r == -EEXIST ? 0 : err_of(r);
    case MountOp::touch:
      // A bind target: create an empty file, never open one that exists (a FIFO would block,
      // a read-only file would refuse).
      r = sys::call(SYS_mknodat, AT_FDCWD, m.dst, S_IFREG | 0644, 0);
      return r == -EEXIST ? 0 : err_of(r);
    case MountOp::symlink:
      r = sys::call(SYS_symlinkat, m.src, AT_FDCWD, m.dst);
      return r == -EEXIST ? 0 : err_of(r);
    case MountOp::hold_fd: {
      long fd = sys::call(SYS_openat, AT_FDCWD, m.src, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (sys::failed(fd)) return err_of(fd);
      if (fd != static_cast<long>(m.flags)) {
        r = sys::call(SYS_dup3, fd, m.flags, O_CLOEXEC);
        sys::call(SYS_close, fd);
      }
      return err_of(r);
    }
    case MountOp::pivot:
      // pivot_root(".", "."): the old root ends up mounted over the new one; detaching it
      // leaves it unreachable, with no directory needed inside the rootfs.
      if ((r = sys::call(SYS_chdir, m.dst)) < 0) return err_of(r);
      if ((r = sys::call(SYS_pivot_root, ".", ".")) < 0) return err_of(r);
      if ((r = sys::call(SYS_umount2, ".", MNT_DETACH)) < 0) return err_of(r);
      return err_of(sys::call(SYS_chdir, "/"));
  }
  return EINVAL;
}

void step_mounts(const PlanView* v) {
  for (std::size_t i = 0; i < v->n_mounts; ++i) {
    const MountStep& m = v->mounts[i];
    bool fell_back = false;
    int e = run_mount_step(m, &fell_back);
    // A fresh /proc refused (e.g. rootless with an over-mounted host /proc): the host's is
    // bound instead, which shows the host's processes. Say so.
    if (!e && fell_back && trace_room(v)) write_record(v->report_fd, Step::mounts, static_cast<unsigned>(i), EPERM, kWarning);
    if (e) {
      if (m.best_effort) {
        if (trace_room(v)) write_record(v->report_fd, Step::mounts, static_cast<unsigned>(i), e, kWarning);
        continue;
      }
      fail(v, Step::mounts, static_cast<unsigned>(i), e);
    }
    trace(v, Step::mounts, static_cast<unsigned>(i));
  }
}

int step_hostname(const PlanView* v) {
  if (!v->hostname) return 0;
  return err_of(sys::call(SYS_sethostname, v->hostname, v->hostname_len));
}

int step_loopback(const PlanView* v) {
  if (!v->loopback) return 0;
  long fd = sys::call(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sys::failed(fd)) return static_cast<int>(-fd);
  struct ifreq ifr {};
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  long r = sys::call(SYS_ioctl, fd, SIOCGIFFLAGS, &ifr);
  if (!sys::failed(r)) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    r = sys::call(SYS_ioctl, fd, SIOCSIFFLAGS, &ifr);
  }
  sys::call(SYS_close, fd);
  return err_of(r);
}

// rdbox's init, PID 1 of the new PID namespace: reaps every orphan, forwards the signals
// rdbox forwards to it to the command, and exits with the command's status. Its signals
// are still blocked from rdbox's mask, so it takes them synchronously.
[[noreturn]] void run_init(const PlanView* v, long command, bool relay) {
  sys::call(SYS_close, v->report_fd);  // EOF now means the command exec'd
  unsigned long wait_set = (1UL << (SIGCHLD - 1)) | (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)) |
                           (1UL << (SIGHUP - 1)) | (1UL << (SIGQUIT - 1)) | (1UL << (SIGUSR1 - 1)) |
                           (1UL << (SIGUSR2 - 1)) | (1UL << (SIGWINCH - 1));
  sys::call(SYS_rt_sigprocmask, SIG_BLOCK, &wait_set, nullptr, 8);
  for (;;) {
    siginfo_t info;
    long sig = sys::call(SYS_rt_sigtimedwait, &wait_set, &info, nullptr, 8);
    if (sig == SIGCHLD) {
      for (;;) {
        int status = 0;
        long pid = sys::call(SYS_wait4, -1, &status, WNOHANG | WUNTRACED | WCONTINUED, nullptr);
        if (pid <= 0) break;
        if (pid == command && (WIFSTOPPED(status) || WIFCONTINUED(status))) {
          // rdbox watches this process, not the command: tell it, so it reports the stop
          // and does job control (the relay's command leads its own process group).
          StubRecord r{static_cast<std::uint32_t>(Step::init), relay ? static_cast<std::uint32_t>(command) : 0u,
                       WIFSTOPPED(status) ? WSTOPSIG(status) : 0, WIFSTOPPED(status) ? kJobStop : kJobCont, 0};
          if (v->events_fd >= 0) sys::call(SYS_write, v->events_fd, &r, sizeof r);
          continue;
        }
        if (pid != command) continue;
        {
          if (relay && WIFSIGNALED(status)) {
            // Die the same way, so rdbox reports the signal (PID 1 could not: an init
            // ignores its own signals; it exits with 128+N instead, as tini does).
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
      }
    } else if (sig > 0) {
      sys::call(SYS_kill, command, sig);
    }
  }
}

int step_init(const PlanView* v) {
  if (!v->init) return 0;
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
  if (!v->pid_fork) return 0;
  // The relay dies with rdbox (and PID 1 with the relay, set in step_pdeathsig).
  long r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys::failed(r)) return static_cast<int>(-r);
  if (sys::call(SYS_getppid) != v->parent_pid) return ESRCH;
  long pid = sys::call(SYS_clone, SIGCHLD, 0, nullptr, nullptr, 0);
  if (sys::failed(pid)) return static_cast<int>(-pid);
  if (pid > 0) run_init(v, pid, true);
  return 0;  // PID 1 of the new namespace; its parent (the relay) is outside, seen as 0
}

int step_user(const PlanView* v) {
  if (!v->set_user) return 0;
  long r = sys::call(SYS_setgroups, 0, nullptr);
  if (sys::failed(r) && r != -EPERM) return static_cast<int>(-r);  // EPERM: setgroups is denied here
  if ((r = sys::call(SYS_setresgid, v->gid, v->gid, v->gid)) < 0) return err_of(r);
  return err_of(sys::call(SYS_setresuid, v->uid, v->uid, v->uid));
}

void probe_namespaces(const PlanView* v) {
  static const char* const links[] = {"/proc/self/ns/pid", "/proc/self/ns/mnt", "/proc/self/ns/uts",
                                      "/proc/self/ns/ipc",  "/proc/self/ns/net", "/proc/self/ns/user",
                                      "/proc/self/ns/cgroup", "/proc/self/ns/time_for_children"};
  for (unsigned k = 0; k < kNamespaceCount; ++k) {
    if (!trace_room(v)) return;
    struct stat st {};
    long r = sys::call(SYS_newfstatat, AT_FDCWD, links[k], &st, 0);
    StubRecord rec{static_cast<std::uint32_t>(Step::probe), k, sys::failed(r) ? static_cast<int>(-r) : 0, kNsInode,
                   sys::failed(r) ? 0 : static_cast<std::int64_t>(st.st_ino)};
    sys::call(SYS_write, v->report_fd, &rec, sizeof rec);
  }
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
  // rdbox may have died before the prctl: then nobody would send the signal. (PID 1 of a
  // new PID namespace sees its parent, outside it, as 0.)
  if (sys::call(SYS_getppid) != (v->new_pid ? 0 : v->parent_pid)) return ESRCH;
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

// The steps, in their one reviewed order.
[[noreturn]] void exec_stub(const PlanView* v) {
  if (v->token_slot) *v->token_slot = v->token;  // visible to rdbox only if memory is shared
  trace(v, Step::start);
  if (v->private_files)
    if (int e = step_files(v)) fail(v, Step::files, 0, e);
  // rdbox's end of the map handshake, inherited: closed (in our own fd table), so that
  // rdbox dying means EOF for the wait below.
  if (v->sync_write_fd >= 0) sys::call(SYS_close, v->sync_write_fd);
  if (int e = step_unshare(v)) fail(v, Step::unshare, 0, e);
  if (v->unshare_flags) trace(v, Step::unshare);
  if (int e = step_id_maps(v)) fail(v, Step::id_maps, 0, e);
  if (v->self_maps || v->sync_fd >= 0) trace(v, Step::id_maps);
  if (int e = step_time_offsets(v)) fail(v, Step::time_offsets, 0, e);
  if (v->timens_offsets[0]) trace(v, Step::time_offsets);
  if (int e = step_pid_fork(v)) fail(v, Step::unshare, 0, e);
  if (int e = step_signals(v)) fail(v, Step::signals, 0, e);
  if (int e = step_pdeathsig(v)) fail(v, Step::pdeathsig, 0, e);
  if (int e = step_pgrp(v)) fail(v, Step::pgrp, 0, e);
  step_mounts(v);
  if (int e = step_hostname(v)) fail(v, Step::hostname, 0, e);
  if (v->hostname) trace(v, Step::hostname);
  if (int e = step_loopback(v)) fail(v, Step::loopback, 0, e);
  if (v->loopback) trace(v, Step::loopback);
  if (int e = step_init(v)) fail(v, Step::init, 0, e);
  if (int e = step_fds(v)) fail(v, Step::fds, 0, e);
  if (int e = step_workdir(v)) fail(v, Step::workdir, 0, e);
  if (int e = step_user(v)) fail(v, Step::user, 0, e);
  if (v->trace) probe_namespaces(v);
  if (int e = step_sigmask(v)) fail(v, Step::sigmask, 0, e);
  step_exec(v);
}

int exec_stub_entry(void* arg) { exec_stub(static_cast<const PlanView*>(arg)); }

}  // namespace rdbox
