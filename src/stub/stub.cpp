// The exec stub: the code that runs in the child between creation and execve.
//
// RULES (every file in src/stub/). The child may share rdbox's address space (vfork,
// CLONE_VM) and its thread-local storage, may run on a 16 KiB stack, and may be created
// while another thread holds a lock. So here: no allocation, no locks, no exceptions, no
// logging, no glibc wrapper that writes errno (sys::call returns -errno instead), no stack
// buffers beyond a few hundred bytes, no symbol from outside src/stub/ (the build checks
// the objects' undefined symbols). Everything the stub reads was prepared in the Plan.
//
// The stub is an interpreter: it runs the Plan's program, one StepOp after another, and
// every step returns an errno (0 = done); fail() reports {step, item, errno} on the
// close-on-exec report pipe and _exits. EOF on that pipe with no record means execve
// succeeded.
#include "stub.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>

#include "internal.hpp"

namespace rdbox {
namespace stub {

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

// A failure record always fits, and a stub never blocks on a parent that cannot read (vfork).
bool trace_room(const PlanView* v) {
  int queued = 0;
  if (sys::failed(sys::call(SYS_ioctl, v->report_fd, FIONREAD, &queued))) return false;
  return queued + static_cast<long>(sizeof(StubRecord)) <= v->report_pipe_size / 2;
}

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

namespace {

// With CLONE_FILES the fd table is rdbox's own; exec would leave rdbox holding the report
// pipe open and the parent could never see EOF. Take a private copy, then say so.
int step_files(const PlanView* v) {
  long r = sys::call(SYS_unshare, CLONE_FILES);
  if (sys::failed(r)) return err_of(r);
  return err_of(write_record(v->report_fd, Step::files, 0, 0, kReady));
}

int step_join(const PlanView* v, unsigned item) {
  return err_of(sys::call(SYS_setns, v->join_fds[item], v->join_kinds[item]));
}

int step_unshare(const PlanView* v) {
  int e = err_of(sys::call(SYS_unshare, v->unshare_flags));
  if (e) return e;
  // fork mode with maps written by rdbox: the user namespace exists only now; say so.
  if (v->sync_fd >= 0 && (v->unshare_flags & CLONE_NEWUSER))
    if (sys::failed(write_record(v->report_fd, Step::unshare, 0, 0, kReady))) return EPIPE;
  return 0;
}

int step_id_maps(const PlanView* v) {
  // setgroups must be denied before an unprivileged gid_map is accepted.
  static const char deny[] = "deny";
  int e = write_proc_file("/proc/self/setgroups", deny, sizeof deny - 1);
  if (e && e != ENOENT) return e;
  if ((e = write_proc_file("/proc/self/uid_map", v->uid_map, length(v->uid_map)))) return e;
  return write_proc_file("/proc/self/gid_map", v->gid_map, length(v->gid_map));
}

// rdbox says go with one byte (it wrote the maps, or start() was called); EOF means it
// failed or is gone.
int step_barrier(const PlanView* v, unsigned item) {
  char byte = 0;
  long r;
  int fd = v->sync_fd;
  if (item == static_cast<unsigned>(Barrier::start) && v->gate_fd >= 0) {
    // OCI create: say the container is set up (rdbox create exits on it), then wait for
    // `rdbox start`'s byte on the fifo. This process holds the fifo open for writing too,
    // so it never sees EOF: it waits until started or killed.
    if (sys::failed(write_record(v->report_fd, Step::barrier, item, 0, kReady))) return EPIPE;
    fd = v->gate_fd;
    // Signals reach it while it waits, as they would reach the container's process: a
    // created container dies of SIGTERM too (their dispositions are the default now).
    unsigned long empty = 0, all = ~0UL;
    sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8);
    do r = sys::call(SYS_read, fd, &byte, 1);
    while (r == -EINTR);
    sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, 8);
    return r == 1 ? 0 : ECANCELED;
  }
  do r = sys::call(SYS_read, fd, &byte, 1);
  while (r == -EINTR);
  return r == 1 ? 0 : ECANCELED;
}

int step_time_offsets(const PlanView* v) {
  for (const char* line : v->timens_offsets)
    if (line)
      if (int e = write_proc_file("/proc/self/timens_offsets", line, length(line))) return e;
  return 0;
}

int step_hostname(const PlanView* v) { return err_of(sys::call(SYS_sethostname, v->hostname, v->hostname_len)); }

int step_loopback(const PlanView*) {
  long fd = sys::call(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sys::failed(fd)) return err_of(fd);
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

int step_user(const PlanView* v, unsigned item) {
  std::uint32_t uid = item == 1 ? 0 : v->uid, gid = item == 1 ? 0 : v->gid;
  long r = item == 1 ? sys::call(SYS_setgroups, 0, nullptr) : sys::call(SYS_setgroups, v->n_groups, v->groups);
  if (sys::failed(r) && r != -EPERM) return err_of(r);  // EPERM: setgroups is denied here
  if ((r = sys::call(SYS_setresgid, gid, gid, gid)) < 0) return err_of(r);
  return err_of(sys::call(SYS_setresuid, uid, uid, uid));
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

int step_signals(const PlanView* v) {
  // Handlers are reset by execve itself; only SIG_IGN survives it.
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; ++sig)
    if (v->ignored_signals & (1ULL << (sig - 1))) sys::call(SYS_rt_sigaction, sig, &dfl, nullptr, 8);
  return 0;
}

int step_pdeathsig(const PlanView* v) {
  long r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys::failed(r)) return err_of(r);
  // rdbox may have died before the prctl: then nobody would send the signal. PID 1 of a
  // new PID namespace sees its parent as 0 whatever happened: it asks the life pipe,
  // whose only write end is rdbox's, and which hangs up when rdbox is gone.
  if (v->life_fd >= 0) {
    struct pollfd p {v->life_fd, POLLIN, 0};
    r = sys::call(SYS_poll, &p, 1, 0);
    return r != 0 ? ESRCH : 0;  // kept open (close-on-exec) for a later check
  }
  if (sys::call(SYS_getppid) != (v->new_pid ? 0 : v->parent_pid)) return ESRCH;
  return 0;
}

int step_pgrp(const PlanView* v) {
  long r = sys::call(SYS_setpgid, 0, 0);
  if (sys::failed(r)) return err_of(r);
  if (v->take_tty) {
    // SIGTTOU is blocked here, so a background group may take the terminal.
    int pgrp = static_cast<int>(sys::call(SYS_getpid));
    r = sys::call(SYS_ioctl, 0, TIOCSPGRP, &pgrp);
    if (sys::failed(r) && r != -ENOTTY && r != -ENXIO) return err_of(r);
  }
  return 0;
}

int step_session(const PlanView* v) {
  long r = sys::call(SYS_setsid);
  if (sys::failed(r)) return err_of(r);
  if (v->controlling_tty) return err_of(sys::call(SYS_ioctl, 0, TIOCSCTTY, 0));
  return 0;
}

// A pty from the sandbox's own devpts (its /dev/ptmx, after the mounts): the peer, opened
// with TIOCGPTPEER (no path lookup of /dev/pts/N), owned by the command's user, becomes
// 0, 1, 2 and the controlling terminal of this session; the master goes to rdbox as
// SCM_RIGHTS on the console socket and is closed here.
int step_console(const PlanView* v) {
  long master = sys::call(SYS_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (sys::failed(master)) return err_of(master);
  int m = static_cast<int>(master), unlock = 0;
  long r = sys::call(SYS_ioctl, m, TIOCSPTLCK, &unlock);
  long peer = sys::failed(r) ? r : sys::call(SYS_ioctl, m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (sys::failed(peer)) {
    sys::call(SYS_close, m);
    return err_of(peer);
  }
  int p = static_cast<int>(peer);
  r = v->set_user ? sys::call(SYS_fchown, p, v->uid, -1) : 0;
  for (int fd = 0; fd < 3 && !sys::failed(r); ++fd) r = sys::call(SYS_dup3, p, fd, 0);
  if (!sys::failed(r)) r = sys::call(SYS_ioctl, 0, TIOCSCTTY, 0);
  if (!sys::failed(r)) {
    char byte = 'c';
    struct iovec iov {&byte, 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    __builtin_memcpy(CMSG_DATA(c), &m, sizeof m);
    do r = sys::call(SYS_sendmsg, v->console_fd, &msg, MSG_NOSIGNAL);
    while (r == -EINTR);
  }
  sys::call(SYS_close, p);
  sys::call(SYS_close, m);
  sys::call(SYS_close, v->console_fd);
  return sys::failed(r) ? err_of(r) : 0;
}

int step_fds(const PlanView* v) {
  for (std::size_t i = 0; i < v->n_preserved; ++i) {
    long r = sys::call(SYS_fcntl, v->preserved[i], F_SETFD, 0);
    if (sys::failed(r)) return err_of(r);
  }
  long r = sys::call(SYS_close_range, v->keep_below, ~0U, CLOSE_RANGE_CLOEXEC);
  if (!sys::failed(r)) return 0;
  if (r != -EINVAL && r != -ENOSYS) return err_of(r);
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

int step_rlimits(const PlanView* v) {
  for (std::size_t i = 0; i < v->n_rlimits; ++i) {
    struct {
      std::uint64_t cur, max;
    } lim{v->rlimits[i].soft, v->rlimits[i].hard};
    if (long r = sys::call(SYS_prlimit64, 0, v->rlimits[i].resource, &lim, nullptr); sys::failed(r)) return err_of(r);
  }
  return 0;
}

// The filter, last: after it, rdbox's own steps could be refused too.
int step_seccomp(const PlanView* v) {
  struct {
    unsigned short len;
    const void* filter;
  } prog{static_cast<unsigned short>(v->n_seccomp), v->seccomp_filter};
  return err_of(sys::call(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog));
}

// The working directory without magic links (/proc/self/fd/N, /proc/PID/cwd or root): a
// descriptor of rdbox's still open here must never become the command's cwd outside the
// sandbox's root (runc's CVE-2024-21626). Kernels without openat2: a plain chdir.
int step_workdir(const PlanView* v) {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  long fd = sys::call(SYS_openat2, AT_FDCWD, v->workdir, &how, sizeof how);
  if (fd == -ENOSYS) return err_of(sys::call(SYS_chdir, v->workdir));
  if (sys::failed(fd)) return err_of(fd);
  long r = sys::call(SYS_fchdir, fd);
  sys::call(SYS_close, fd);
  return err_of(r);
}

int step_sigmask(const PlanView*) {
  unsigned long empty = 0;
  return err_of(sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8));
}

// execvp semantics: try each candidate; ENOENT-like errors move on, EACCES is
// remembered, ENOEXEC runs the file with /bin/sh, anything else stops the search.
[[noreturn]] void step_exec(const PlanView* v) {
  int err = ENOENT;
  unsigned err_item = 0;
  bool saw_eacces = false;
  // The moment rdbox compares with its own resume time: was it suspended until now?
  // (A pipeline stage's is its exec time in a traced run's report, and only there.)
  if (v->stage < 0 || v->trace) write_record(v->report_fd, Step::exec, 0, 0, kExecAt);
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

// One mount step; a best-effort one that fails, or a fresh /proc that fell back to the
// host's, is a warning record and the run goes on.
int step_mount(const PlanView* v, unsigned item) {
  const MountStep& m = v->mounts[item];
  bool fell_back = false;
  int e = run_mount_step(v, m, &fell_back);
  if (!e && fell_back && trace_room(v)) write_record(v->report_fd, Step::mounts, item, EPERM, kWarning);
  if (e && m.best_effort) {
    if (trace_room(v)) write_record(v->report_fd, Step::mounts, item, e, kWarning);
    return 0;
  }
  return e;
}

int run_step(const PlanView* v, const StepOp& op) {
  switch (op.step) {
    case Step::join: return step_join(v, op.item);
    case Step::barrier: return step_barrier(v, op.item);
    case Step::session: return step_session(v);
    case Step::console: return step_console(v);
    case Step::caps: return step_caps(v, op.item);
    case Step::no_new_privs: return step_no_new_privs(v);
    case Step::rlimits: return step_rlimits(v);
    case Step::seccomp: return step_seccomp(v);
    case Step::unshare: return step_unshare(v);
    case Step::id_maps: return step_id_maps(v);
    case Step::time_offsets: return step_time_offsets(v);
    case Step::pid_fork: return step_pid_fork(v);
    case Step::signals: return step_signals(v);
    case Step::pdeathsig: return step_pdeathsig(v);
    case Step::pgrp: return step_pgrp(v);
    case Step::mounts: return step_mount(v, op.item);
    case Step::hostname: return step_hostname(v);
    case Step::loopback: return step_loopback(v);
    case Step::init: return step_init(v);
    case Step::pipeline: return step_pipeline(v);
    case Step::fds: return step_fds(v);
    case Step::workdir: return step_workdir(v);
    case Step::user: return step_user(v, op.item);
    case Step::probe: op.item == 1 ? probe_confinement(v) : probe_namespaces(v); return 0;
    case Step::keyring: return step_keyring(v);
    case Step::cgroup: return step_cgroup(v);
    case Step::sigmask: return step_sigmask(v);
    default: return EINVAL;
  }
}

}  // namespace
}  // namespace stub

[[noreturn]] void exec_stub(const PlanView* v) {
  if (v->token_slot) *v->token_slot = v->token;  // visible to rdbox only if memory is shared
  if (v->trace && stub::trace_room(v)) stub::write_record(v->report_fd, Step::start, 0, 0, kStepDone);
  if (v->private_files)
    if (int e = stub::step_files(v)) stub::fail(v, Step::files, 0, e);
  // rdbox's ends of the map handshake and of the life pipe, inherited: closed (in our own
  // fd table), so that rdbox dying means EOF or a hang-up for the waits below.
  if (v->sync_write_fd >= 0) sys::call(SYS_close, v->sync_write_fd);
  if (v->life_write_fd >= 0) sys::call(SYS_close, v->life_write_fd);
  for (std::size_t i = 0; i < v->n_program; ++i) {
    const StepOp& op = v->program[i];
    if (int e = stub::run_step(v, op)) stub::fail(v, op.step == Step::pid_fork ? Step::unshare : op.step, op.item, e);
    if (op.traced && v->trace && stub::trace_room(v)) stub::write_record(v->report_fd, op.step, op.item, 0, kStepDone);
  }
  stub::step_exec(v);
}

int exec_stub_entry(void* arg) { exec_stub(static_cast<const PlanView*>(arg)); }

}  // namespace rdbox
