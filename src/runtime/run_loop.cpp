// Supervisor::wait: one poll loop over the run's sources; each source has its handler.
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "outcome_builder.hpp"
#include "supervisor.hpp"
#include "test_stop.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace rdbox {

namespace {

// waitid(2) as the kernel has it: with the child's rusage.
int waitid_ru(idtype_t type, id_t id, siginfo_t* si, int options, struct rusage* ru) {
  std::memset(si, 0, sizeof *si);
  long r;
  do r = ::syscall(SYS_waitid, type, id, si, options, ru);
  while (r < 0 && errno == EINTR);
  return static_cast<int>(r);
}

class RunLoop {
 public:
  RunLoop(const Supervisor& sup, Launch& l, const Plan& plan, ChildStack& stack, Outcome& out, const EventSink& sink)
      : sup_(sup), l_(l), plan_(plan), stack_(stack), out_(out), b_(plan, out), sink_(sink), job_pgid_(l.pid) {}
  void run();

 private:
  enum Source { kSignals, kEvents, kPidfd, kReport, kTimer };
  int sources(struct pollfd* fds, Source* kinds) const;
  void on_report();
  void on_signals();
  void on_events();
  void event_record(const StubRecord& r);
  void on_stage_events();
  void read_stage_socket(Fd& fd);
  void drain_events() { plan_.pipeline ? on_stage_events() : on_events(); }
  void reap();
  void report_event(const ChildEvent& ev);
  void arm_timer(double seconds);
  void on_timer();
  void signal_sandbox(int sig);
  void job_control(const ChildEvent& ev);

  const Supervisor& sup_;
  Launch& l_;
  const Plan& plan_;
  ChildStack& stack_;
  Outcome& out_;
  OutcomeBuilder b_;
  const EventSink& sink_;
  pid_t job_pgid_;  // the command's process group (the relay's command leads its own)
  Fd timer_;        // the time limit: SIGTERM at the first expiry, SIGKILL at the second
  int expiries_ = 0;
  std::vector<pid_t> stage_pids_ = std::vector<pid_t>(plan_.stages.size(), 0);  // as rdbox sees them
  std::vector<StageEndRecord> stage_buf_ = std::vector<StageEndRecord>(plan_.pipeline ? plan_.stages.size() + 2 : 0);
};

void RunLoop::arm_timer(double seconds) {
  struct itimerspec when {};
  auto ns = static_cast<long long>(seconds * 1e9);
  if (ns <= 0) ns = 1;
  when.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  when.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  ::timerfd_settime(timer_.get(), 0, &when, nullptr);
}

// The whole sandbox: PID 1 of a new PID namespace takes it down with it (SIGKILL); without
// one, the command's process group, and the command through its pidfd.
void RunLoop::signal_sandbox(int sig) {
  if (l_.pidfd) ::syscall(SYS_pidfd_send_signal, l_.pidfd.get(), sig, nullptr, 0);
  // A pipeline's parent passes the signal on to its stages' group itself (once each);
  // SIGKILL it cannot pass on, so that one goes to the group from here too.
  if (plan_.pipeline && sig == SIGKILL) on_stage_events();  // the group is the first stage's
  if (!plan_.new_pid && (!plan_.pipeline || sig == SIGKILL)) ::kill(-job_pgid_, sig);
}

void RunLoop::on_timer() {
  std::uint64_t n = 0;
  if (::read(timer_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) return;
  if (b_.done()) return;
  if (expiries_++ == 0) {
    b_.timed_out(plan_.timeout_s);
    signal_sandbox(SIGTERM);
    if (plan_.kill_after_s > 0) arm_timer(plan_.kill_after_s);
  } else {
    signal_sandbox(SIGKILL);
  }
}

int RunLoop::sources(struct pollfd* fds, Source* kinds) const {
  int n = 0;
  auto add = [&](int fd, short events, Source kind) {
    fds[n] = {fd, events, 0};
    kinds[n++] = kind;
  };
  if (sup_.signal_fd() >= 0) add(sup_.signal_fd(), POLLIN, kSignals);
  if (l_.events && !b_.done()) add(l_.events.get(), POLLIN, kEvents);
  if (l_.pidfd && !b_.done()) add(l_.pidfd.get(), POLLIN, kPidfd);
  // Only the hang-up wakes rdbox: records written before it (the exec-time stamp, step
  // times) are read in one go then, instead of costing a wake-up each.
  // A pipeline's report pipe hangs up once every stage has exec'd, which only a traced run
  // reports: otherwise it is read at the end, one wake-up less.
  if (l_.report && (!plan_.pipeline || plan_.trace || b_.done())) add(l_.report.get(), 0, kReport);
  if (timer_ && !b_.done()) add(timer_.get(), POLLIN, kTimer);
  return n;
}

void RunLoop::on_report() {
  StubRecord rs[32];
  for (;;) {
    ssize_t got = ::read(l_.report.get(), rs, sizeof rs);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof rs[0]); ++i) b_.record(rs[i]);
  }
  b_.report_closed(now_ns(), token_seen(l_), l_.parent_slept, l_.t_spawned_ns);
  bool vm = plan_.mode == Mode::clone && (plan_.clone_flags & CLONE_VM);
  if (vm && plan_.trace && stack_.painted()) out_.stack_used = stack_.high_water();
  l_.report.reset();
  test_stop_at("exec");
}

void RunLoop::on_signals() {
  struct signalfd_siginfo info[8];
  ssize_t got;
  bool chld = false;
  while ((got = ::read(sup_.signal_fd(), info, sizeof info)) > 0) {
    for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof info[0]); ++i) {
      const auto& si = info[i];
      int sig = static_cast<int>(si.ssi_signo);
      if (sig != SIGCHLD) {
        if (is_forwarded(sig) && !b_.done() && l_.pidfd)
          ::syscall(SYS_pidfd_send_signal, l_.pidfd.get(), sig, nullptr, 0);
        continue;
      }
      chld = true;
      // Stops reach rdbox twice: here (which survives the child exiting right after a
      // continue) and through waitid (which still sees a state whose SIGCHLD was merged
      // into an earlier one). The builder reports each change once.
      if (b_.done() || static_cast<pid_t>(si.ssi_pid) != l_.pid) continue;
      if (si.ssi_code == CLD_STOPPED || si.ssi_code == CLD_TRAPPED)
        report_event({ChildEvent::stopped, si.ssi_status});
      else if (si.ssi_code == CLD_CONTINUED)
        report_event({ChildEvent::continued, 0});
    }
  }
  if (chld) reap();
}

// The init's (or relay's) records; the read end is non-blocking, so this also drains what
// is there when the init has exited.
void RunLoop::on_events() {
  StubRecord r{};
  ssize_t got;
  while ((got = ::read(l_.events.get(), &r, sizeof r)) == static_cast<ssize_t>(sizeof r)) event_record(r);
  if (got == 0) l_.events.reset();
}

void RunLoop::event_record(const StubRecord& r) {
  // Untrusted: a privileged command might write here. Only what could be true is taken;
  // the command's status is checked against the init's own exit (OutcomeBuilder).
  if (r.severity == kCommandEnd) {
    b_.command_ended(r.err);
    return;
  }
  bool stop = r.severity == kJobStop;
  if (!stop && r.severity != kJobCont) return;
  if (stop && r.err != SIGSTOP && r.err != SIGTSTP && r.err != SIGTTIN && r.err != SIGTTOU) return;
  if (r.item && job_pgid_ == l_.pid) job_pgid_ = static_cast<pid_t>(r.item);  // the relay's command, once
  report_event(stop ? ChildEvent{ChildEvent::stopped, r.err} : ChildEvent{ChildEvent::continued, 0});
}

// rdbox pipeline's events socket: the parent's and the relay's records as above, each
// stage's own (who it is, its exec, its failure) told apart by the sender's credentials,
// and the parent's account of each stage's end.
void RunLoop::on_stage_events() {
  // The stages' own records first: a job-control record needs the stages' group.
  if (l_.stage_records) read_stage_socket(l_.stage_records);
  if (l_.events) read_stage_socket(l_.events);
}

void RunLoop::read_stage_socket(Fd& fd) {
  for (;;) {
    // A message is one record, or (the parent's last) every stage's end and kCommandEnd.
    std::vector<StageEndRecord>& buf = stage_buf_;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    struct iovec iov {buf.data(), buf.size() * sizeof(StageEndRecord)};
    struct msghdr m {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t got = ::recvmsg(fd.get(), &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return;
    if (got == 0) {
      fd.reset();
      return;
    }
    pid_t sender = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
        struct ucred u;
        std::memcpy(&u, CMSG_DATA(c), sizeof u);
        sender = u.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {  // nobody should send descriptors: close them
        std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < n; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          ::close(fd);
        }
      }
    }
    if ((m.msg_flags & MSG_TRUNC) || got < static_cast<ssize_t>(sizeof(StubRecord))) continue;
    const char* bytes = reinterpret_cast<const char*>(buf.data());
    std::size_t at = 0, size = static_cast<std::size_t>(got);
    StageEndRecord rec;
    while (at + sizeof(StageEndRecord) <= size) {  // stages' ends first, whole ones only
      std::memcpy(&rec, bytes + at, sizeof rec);
      if (rec.head.severity != kStageEnd) break;
      b_.stage_ended(rec);
      at += sizeof rec;
    }
    if (at > 0) {
      for (; at + sizeof(StubRecord) <= size; at += sizeof(StubRecord)) {
        StubRecord tail;
        std::memcpy(&tail, bytes + at, sizeof tail);
        event_record(tail);
      }
      continue;
    }
    std::memcpy(&rec.head, bytes, sizeof(StubRecord));
    const StubRecord& r = rec.head;
    if (r.severity == kStageEnd) continue;  // not whole
    if (r.severity == kStageStart) {
      if (r.item < stage_pids_.size() && sender > 0 && !stage_pids_[r.item]) {
        stage_pids_[r.item] = sender;
        b_.stage_started(r.item, sender, r.err, r.t_ns);
        // The stages' group is the first stage's: job control continues that group.
        if (r.item == 0 && job_pgid_ == l_.pid) job_pgid_ = sender;
      }
      continue;
    }
    std::size_t k = 0;
    while (k < stage_pids_.size() && (sender <= 0 || stage_pids_[k] != sender)) ++k;
    if (k < stage_pids_.size()) b_.stage_record(k, r);
    else event_record(r);
  }
}

void RunLoop::reap() {
  siginfo_t si;
  struct rusage ru;
  int opts = WEXITED | WNOHANG | (sup_.options().watch_stops ? WSTOPPED | WCONTINUED : 0);
  while (!b_.done()) {
    int r = l_.pidfd ? waitid_ru(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(l_.pidfd.get()), &si, opts, &ru)
                     : waitid_ru(P_PID, static_cast<id_t>(l_.pid), &si, opts, &ru);
    if (r != 0 || si.si_pid == 0) break;
    if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED) {
      report_event({ChildEvent::stopped, si.si_status});
    } else if (si.si_code == CLD_CONTINUED) {
      report_event({ChildEvent::continued, 0});
    } else {
      // A stopped process runs again only after SIGCONT (SIGKILL aside): if it ended while
      // we still had it stopped, its continue was merged into an earlier SIGCHLD.
      const ChildEvent* last = b_.last_event();
      bool killed = si.si_code != CLD_EXITED && si.si_status == SIGKILL;
      if (last && last->kind == ChildEvent::stopped && !killed) report_event({ChildEvent::continued, 0});
      if (l_.events || l_.stage_records) drain_events();  // the command's own status, written before the init exited
      b_.exited(si, ru);
    }
  }
  if (!sup_.options().reap_orphans) return;
  test_stop_once_at("orphans");
  // Orphans re-parented to rdbox (a subreaper), one by one: looked at first (WNOWAIT), for
  // the command may have exited since the loop above, and reaping it here would leave its
  // pidfd readable with nothing to wait for: rdbox spun on it and never ended (seen as a
  // hang of StopAndContinueEventsInJson/vfork). The command is left to the loop above.
  while (waitid_ru(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT, nullptr) == 0 && si.si_pid != 0 &&
         (si.si_pid != l_.pid || b_.done())) {
    pid_t orphan = si.si_pid;
    if (waitid_ru(P_PID, static_cast<id_t>(orphan), &si, WEXITED | WNOHANG, &ru) != 0) break;
  }
}

void RunLoop::report_event(const ChildEvent& ev) {
  if (!b_.event(ev)) return;
  if (sink_) sink_(l_.pid, ev);
  job_control(ev);
}

// Job control at a terminal: give the terminal back, stop as the command did, and on our
// own continue hand it over again and continue the command's group.
void RunLoop::job_control(const ChildEvent& ev) {
  int s = ev.signal;
  if (ev.kind != ChildEvent::stopped || !plan_.take_tty || (s != SIGTSTP && s != SIGTTIN && s != SIGTTOU)) return;
  ::tcsetpgrp(0, ::getpgrp());
  ::kill(::getpid(), SIGSTOP);
  ::tcsetpgrp(0, job_pgid_);
  ::kill(-job_pgid_, SIGCONT);
}

void RunLoop::run() {
  b_.launched(l_.pid, l_.t_start_ns, l_.t_spawned_ns, l_.parent_minflt, l_.parent_suspended);
  if (l_.id_maps_ns) b_.add_step("id_maps (rdbox)", static_cast<double>(l_.id_maps_ns) / 1000.0);
  for (const auto& r : l_.early_records) b_.record(r);
  if (!l_.has_stub) {
    b_.exec_without_stub();  // posix_spawn returned after the exec: nothing to read
    l_.report.reset();
    test_stop_at("exec");
  }
  if (plan_.timeout_s > 0) {
    timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (timer_) arm_timer(plan_.timeout_s);
  }
  while (!b_.done() || l_.report) {
    struct pollfd fds[5];
    Source kinds[5];
    int n = sources(fds, kinds);
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      switch (kinds[i]) {
        case kReport: on_report(); break;
        case kSignals: on_signals(); break;
        case kEvents: drain_events(); break;
        case kPidfd: reap(); break;
        case kTimer: on_timer(); break;
      }
    }
  }
  b_.finish(now_ns());
}

}  // namespace

void Supervisor::wait(Launch& l, const Plan& plan, ChildStack& stack, Outcome& out, const EventSink& sink,
                      const std::function<void()>& before_sweep) {
  RunLoop(*this, l, plan, stack, out, sink).run();
  test_stop_at("exited");
  if (plan.take_tty) ::tcsetpgrp(0, ::getpgrp());
  if (before_sweep) before_sweep();
  if (opts_.reap_orphans) kill_descendants();
  l.pidfd.reset();
}

}  // namespace rdbox
