#include "launch.hpp"

#include <signal.h>
#include <sys/wait.h>

#include "../ns/ns.hpp"
#include "../runtime/test_stop.hpp"
#include "guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace rdbox {

namespace {
// Tokens are unique per launch in this process, whatever the thread.
std::atomic<std::uint64_t> g_token_counter{0};
constexpr unsigned char kPaint = 0xA5;

struct ThreadUsage {
  long minflt, nvcsw;
};
ThreadUsage own_usage() {
  struct rusage ru {};
  ::getrusage(RUSAGE_THREAD, &ru);
  return {ru.ru_minflt, ru.ru_nvcsw};
}
}  // namespace

std::int64_t now_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

ChildStack::~ChildStack() {
  if (base_) ::munmap(base_, guard_ + usable_);
}

Status ChildStack::ensure(std::size_t usable) {
  if (base_ && usable_ == usable) return ok();
  if (base_) ::munmap(base_, guard_ + usable_);
  base_ = nullptr;
  painted_ = false;
  guard_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* p = ::mmap(nullptr, guard_ + usable, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) return Error::sys("mmap clone stack", errno);
  if (::mprotect(p, guard_, PROT_NONE) != 0) {
    int e = errno;
    ::munmap(p, guard_ + usable);
    return Error::sys("mprotect stack guard", e);
  }
  base_ = p;
  usable_ = usable;
  return ok();
}

void ChildStack::paint() {
  std::memset(static_cast<char*>(base_) + guard_, kPaint, usable_);
  painted_ = true;
}

std::size_t ChildStack::high_water() const {
  // The stack grows down from the top: count the untouched words from the bottom.
  const unsigned char* lo = static_cast<const unsigned char*>(base_) + guard_;
  std::uint64_t pattern;
  std::memset(&pattern, kPaint, sizeof pattern);
  std::size_t untouched = 0;
  while (untouched + 8 <= usable_) {
    std::uint64_t w;
    std::memcpy(&w, lo + untouched, 8);
    if (w != pattern) break;
    untouched += 8;
  }
  while (untouched < usable_ && lo[untouched] == kPaint) ++untouched;
  return usable_ - untouched;
}

// With a private (copy-on-write) address space the stub's write lands in the child's copy
// and rdbox never sees it.
bool token_seen(const Launch& l) { return l.token != 0 && l.token_slot && *l.token_slot == l.token; }

namespace {

// A close-on-exec pipe into two owned ends.
Status make_pipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::sys("pipe", errno);
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return ok();
}

// rdbox pipeline's events channel: a connected pair of SOCK_SEQPACKET sockets (one record
// per message), credentials passed on rdbox's end, which is non-blocking.
Status make_event_socket(Fd& rdbox_end, Fd& child_end) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::sys("socketpair", errno);
  rdbox_end.reset(sv[0]);
  child_end.reset(sv[1]);
  int on = 1;
  if (::setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return Error::sys("SO_PASSCRED", errno);
  // The child's end only sends: shutting its reading half makes a write from rdbox's side
  // fail, so nothing rdbox holds can ever be read by the sandbox through it.
  ::shutdown(sv[0], SHUT_WR);
  ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  return ok();
}

// A workdir check for posix_spawn, whose chdir failure is indistinguishable from an exec
// failure once it comes back from glibc.
Status check_workdir(const char* dir) {
  struct stat st {};
  int err = ::stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : ::access(dir, X_OK) != 0 ? errno : 0;
  if (err) return Error::sys(std::string("workdir \"") + dir + "\"", err);
  return ok();
}

// The child's ends of the pipes rdbox makes for one launch; closed in rdbox once the
// child has its copies.
struct ChildEnds {
  Fd report, sync_read, sync_write, events, life, stage_records;
};

Status open_channels(const Plan& plan, PlanView& view, Launch& l, ChildEnds& c) {
  if (auto s = make_pipe(l.report, c.report); !s) return s;
  l.token = (static_cast<std::uint64_t>(now_ns()) << 8) ^ (++g_token_counter) ^ 0x5bd1e995ULL;
  if (l.token == 0) l.token = 1;
  l.token_slot = std::make_unique<volatile std::uint64_t>(0);
  view.token_slot = l.token_slot.get();
  view.token = l.token;
  view.report_fd = c.report.get();
  // The stub writes trace records only while the pipe is at most half full: its size, once.
  view.report_pipe_size = plan.trace ? static_cast<int>(::fcntl(c.report.get(), F_GETPIPE_SZ)) : 0;
  if (plan.needs_sync())
    if (auto s = make_pipe(c.sync_read, c.sync_write); !s) return s;
  view.sync_fd = c.sync_read ? c.sync_read.get() : -1;
  view.sync_write_fd = c.sync_write ? c.sync_write.get() : -1;
  if (plan.pipeline) {
    // Sockets, not pipes: each stage's own records carry the sender's pid as rdbox sees it
    // (SO_PASSCRED), and the stages' ends are one message larger than a pipe record. The
    // parent's records (job control, the ends) wake rdbox; the stages' own do not: rdbox
    // reads them when it needs them.
    if (auto s = make_event_socket(l.events, c.events); !s) return s;
    if (auto s = make_event_socket(l.stage_records, c.stage_records); !s) return s;
    view.stage_records_fd = c.stage_records.get();
  } else if (plan.init || plan.pid_fork) {
    if (auto s = make_pipe(l.events, c.events); !s) return s;
    ::fcntl(l.events.get(), F_SETFL, O_NONBLOCK);  // rdbox drains it when the init exits
  }
  view.events_fd = c.events ? c.events.get() : -1;
  if (plan.life_pipe)
    if (auto s = make_pipe(c.life, l.life); !s) return s;
  view.life_fd = c.life ? c.life.get() : -1;
  view.life_write_fd = l.life ? l.life.get() : -1;
  return ok();
}

// The creation primitive itself, timed, with every signal blocked across it: no handler of
// rdbox's (or of a library host's) may run in a child that shares this memory; the stub
// resets dispositions and sets the command's mask itself.
Status call_primitive(const Plan& plan, PlanView& view, ChildStack& stack, Launch& l, Step* failed_step,
                      SpawnGuard* guard) {
  ThreadUsage u0 = own_usage();
  pid_t pid = -1;
  int pidfd = -1, spawn_rc = 0;
  std::size_t exec_item = 0;
  sigset_t all, old_mask;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  l.t_start_ns = now_ns();
  switch (plan.mode) {
    case Mode::fork: pid = spawn_fork(&view); break;
    case Mode::vfork: pid = spawn_vfork(&view); break;
    case Mode::clone: pid = spawn_clone(&view, plan.clone_flags, stack.top(), stack.usable(), &pidfd); break;
    case Mode::spawn: spawn_rc = spawn_posix(plan, &view, &pid, &exec_item, guard); break;
  }
  l.t_spawned_ns = now_ns();
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ThreadUsage u1 = own_usage();
  l.parent_minflt = u1.minflt - u0.minflt;
  // A suspended parent sleeps in the kernel until the child execs: a voluntary context
  // switch during the call. A parent merely preempted by a busy CPU has none.
  l.parent_slept = u1.nvcsw > u0.nvcsw;
  l.has_stub = plan.mode != Mode::spawn;
  if (spawn_rc != 0) {
    std::string shown = plan.display_name + "\"";
    if (exec_item < plan.candidate_store.size() && plan.candidate_store[exec_item] != plan.display_name &&
        spawn_rc == EACCES)
      shown += " (" + plan.candidate_store[exec_item] + ")";
    *failed_step = Step::exec;
    return Error::sys("exec \"" + shown, spawn_rc);
  }
  if (pid < 0) return Error::sys("spawn", -pid);
  l.pid = pid;
  // pidfd_open cannot race here: the child is ours and unreaped, so its pid is not reused.
  if (pidfd < 0) pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) l.pidfd.reset(pidfd);
  return ok();
}

// Handshakes before rdbox lets go of the pipe: CLONE_FILES (the child shares this fd table
// until its first step takes a private copy) and, in fork mode, the user namespace that
// exists only once the stub has unshared it. True when the child failed on the way.
bool await_handshakes(const Plan& plan, const PlanView& view, Launch& l) {
  bool want_files = view.private_files;
  bool want_userns = plan.parent_maps && (plan.unshare_flags & CLONE_NEWUSER);
  while (want_files || want_userns) {
    // Wait for the record or the child's end, never for a child that is gone.
    struct pollfd pf[2] = {{l.report.get(), POLLIN, 0}, {l.pidfd.get(), POLLIN, 0}};
    int np = l.pidfd ? 2 : 1;
    if (::poll(pf, static_cast<nfds_t>(np), -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (!(pf[0].revents & (POLLIN | POLLHUP))) {
      if (np == 2 && pf[1].revents) return false;  // exited without a word: the supervisor reports it
      continue;
    }
    StubRecord r{};
    ssize_t n;
    do n = ::read(l.report.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof r)) return false;
    if (r.severity == kReady) {
      if (r.step == static_cast<std::uint32_t>(Step::files)) want_files = false;
      if (r.step == static_cast<std::uint32_t>(Step::unshare)) want_userns = false;
      continue;
    }
    l.early_records.push_back(r);
    if (r.severity == kFatal) return true;
  }
  return false;
}

// The parent's half of the map barrier: write the maps, then one byte says go. On failure
// the stub sees EOF and stops; it is taken down and reaped here.
Status release_maps(const Plan& plan, Launch& l, ChildEnds& c, bool child_failed) {
  std::int64_t t0 = now_ns();
  Status maps = child_failed ? Status(ok()) : write_id_maps(plan, l.pid);
  l.id_maps_ns = now_ns() - t0;
  if (maps) test_stop_at("maps");
  if (!maps) {
    c.sync_write.reset();
    if (l.pidfd) ::syscall(SYS_pidfd_send_signal, l.pidfd.get(), SIGKILL, nullptr, 0);
    int status;
    while (::waitpid(l.pid, &status, 0) < 0 && errno == EINTR) {
    }
    l.pidfd.reset();
    return maps;
  }
  char one = 1;
  if (::write(c.sync_write.get(), &one, 1) != 1) {
  }  // a child gone already is reported by the supervisor
  return ok();
}

}  // namespace

Expected<Launch> launch(const Plan& plan, PlanView& view, ChildStack& stack, Step* failed_step,
                        SpawnGuard* guard) {
  Launch l;
  ChildEnds ends;
  *failed_step = Step::spawn;
  if (auto s = open_channels(plan, view, l, ends); !s) return s.error();
  if (plan.mode == Mode::clone) {
    if (auto s = stack.ensure(plan.stack_size); !s) return s.error();
    if ((plan.clone_flags & CLONE_VM) && !stack.painted()) stack.paint();
  }
  if (plan.mode == Mode::spawn && view.workdir) {
    if (auto s = check_workdir(view.workdir); !s) {
      *failed_step = Step::workdir;
      return s.error();
    }
  }
  if (auto s = call_primitive(plan, view, stack, l, failed_step, guard); !s) return s.error();
  if (guard && l.pidfd) guard->arm(l.pidfd.get());  // until here, the gate's pidfd: docs/reliability.md
  test_stop_at("spawned");
  bool child_failed = await_handshakes(plan, view, l);
  if (plan.parent_maps) {
    if (auto s = release_maps(plan, l, ends, child_failed); !s) {
      *failed_step = Step::id_maps;
      return s.error();
    }
  }
  if (plan.start_gate) l.gate = std::move(ends.sync_write);  // released by Instance::start()
  ends = ChildEnds{};  // the child has its copies
  if (!l.has_stub) {
    // posix_spawn runs no rdbox code in the child: did rdbox resume after the child's exec?
    // The child's copy of the write end is gone exactly then.
    struct pollfd p {l.report.get(), POLLIN, 0};
    l.parent_suspended = l.parent_slept && ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
  }
  return l;
}

}  // namespace rdbox
