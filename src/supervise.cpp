#include "supervise.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace rdbox {

namespace {

bool is_forwarded(int sig) {
  for (int s : kForwardedSignals)
    if (s == sig) return true;
  return false;
}

// waitid(2) as the kernel has it: with the child's rusage.
int waitid_ru(idtype_t type, id_t id, siginfo_t* si, int options, struct rusage* ru) {
  std::memset(si, 0, sizeof *si);
  long r;
  do r = ::syscall(SYS_waitid, type, id, si, options, ru);
  while (r < 0 && errno == EINTR);
  return static_cast<int>(r);
}

void fill_usage(ChildUsage& u, const struct rusage& ru) {
  u.utime_us = ru.ru_utime.tv_sec * 1'000'000LL + ru.ru_utime.tv_usec;
  u.stime_us = ru.ru_stime.tv_sec * 1'000'000LL + ru.ru_stime.tv_usec;
  u.maxrss_kb = ru.ru_maxrss;
  u.minflt = ru.ru_minflt;
  u.majflt = ru.ru_majflt;
  u.nvcsw = ru.ru_nvcsw;
  u.nivcsw = ru.ru_nivcsw;
}

void fill_exit(Outcome& out, const siginfo_t& si) {
  if (si.si_code == CLD_EXITED) {
    if (out.kind != OutcomeKind::setup_failed && out.kind != OutcomeKind::exec_failed) out.kind = OutcomeKind::exited;
    out.code = si.si_status;
  } else {
    if (out.kind != OutcomeKind::setup_failed && out.kind != OutcomeKind::exec_failed) out.kind = OutcomeKind::signaled;
    out.signal = si.si_status;
    out.core_dumped = si.si_code == CLD_DUMPED;
  }
}

double us_since(std::int64_t t0) { return static_cast<double>(now_ns() - t0) / 1000.0; }

std::vector<pid_t> own_children() {
  std::vector<pid_t> pids;
  std::string path = "/proc/self/task/" + std::to_string(::gettid()) + "/children";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pids;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j > i) pids.push_back(static_cast<pid_t>(std::stol(text.substr(i, j - i))));
    i = j + 1;
  }
  return pids;
}

}  // namespace

std::string describe_mount_step(const Plan& plan, unsigned item) {
  if (item >= plan.mounts.size()) return std::string("mount step");
  const MountStep& m = plan.mounts[item];
  switch (m.op) {
    case MountOp::mount:
      if (m.flags & MS_BIND) return "bind \"" + std::string(m.src) + "\" on \"" + m.dst + "\"";
      if (!m.src) return "make \"" + std::string(m.dst) + "\" private";
      return "mount " + std::string(m.fstype ? m.fstype : "?") + " on \"" + m.dst + "\"";
    case MountOp::remount_ro: return "remount \"" + std::string(m.dst) + "\" read-only";
    case MountOp::mkdir: return "mkdir \"" + std::string(m.dst) + "\"";
    case MountOp::touch: return "create \"" + std::string(m.dst) + "\"";
    case MountOp::symlink: return "symlink \"" + std::string(m.dst) + "\"";
    case MountOp::pivot: return "pivot_root to \"" + std::string(m.dst) + "\"";
    case MountOp::hold_fd: return "open \"" + std::string(m.src) + "\"";
  }
  return std::string("mount step");
}

std::string describe_failure(const Plan& plan, Step step, unsigned item, int err) {
  switch (step) {
    case Step::exec: {
      std::string what = "exec \"" + plan.display_name + "\"";
      if (err == EACCES && item < plan.candidate_store.size() && plan.candidate_store[item] != plan.display_name)
        what += " (" + plan.candidate_store[item] + ")";
      return what;
    }
    case Step::workdir: return "workdir \"" + plan.workdir + "\"";
    case Step::mounts: return describe_mount_step(plan, item);
    case Step::hostname: return "hostname \"" + plan.hostname + "\"";
    case Step::loopback: return "bring up loopback";
    case Step::id_maps: return plan.self_maps ? "write own uid/gid map" : "wait for uid/gid maps";
    case Step::unshare: return "unshare namespaces";
    case Step::time_offsets: return "write timens_offsets";
    case Step::user: return "--user " + std::to_string(plan.uid) + ":" + std::to_string(plan.gid);
    default: return std::string("setup step ") + step_name(step);
  }
}

Expected<std::unique_ptr<Supervisor>> Supervisor::create(SuperviseOptions opts) {
  std::unique_ptr<Supervisor> s(new Supervisor());
  s->opts_ = opts;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTTOU);  // rdbox takes the terminal back from a background group
  if (opts.forward_signals)
    for (int sig : kForwardedSignals) sigaddset(&set, sig);
  // An odd parent may have ignored SIGCHLD (children would be reaped behind our back).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, &s->old_chld_);
  ::sigprocmask(SIG_BLOCK, &set, &s->old_mask_);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, SIGCHLD);
  if (opts.forward_signals)
    for (int sig : kForwardedSignals) sigaddset(&only, sig);
  int fd = ::signalfd(-1, &only, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    ::sigprocmask(SIG_SETMASK, &s->old_mask_, nullptr);
    ::sigaction(SIGCHLD, &s->old_chld_, nullptr);
    return Error::sys("signalfd", e);
  }
  s->sfd_.reset(fd);
  if (opts.reap_orphans) {
    ::prctl(PR_GET_CHILD_SUBREAPER, &s->old_subreaper_, 0, 0, 0);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  return s;
}

Supervisor::~Supervisor() {
  if (opts_.reap_orphans) ::prctl(PR_SET_CHILD_SUBREAPER, old_subreaper_, 0, 0, 0);
  sfd_.reset();
  // Drop what is still pending of our set before unblocking, so nothing that arrived after
  // the command ended (a last SIGCHLD, a SIGINT with no one left to forward it to) is acted
  // on by rdbox, or kills it before it reports.
  struct timespec zero {};
  sigset_t ours;
  sigemptyset(&ours);
  sigaddset(&ours, SIGCHLD);
  if (opts_.forward_signals)
    for (int sig : kForwardedSignals) sigaddset(&ours, sig);
  while (::sigtimedwait(&ours, nullptr, &zero) > 0) {
  }
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  ::sigaction(SIGCHLD, &old_chld_, nullptr);
}

void Supervisor::kill_descendants() {
  // What the command left running is ended, as when a PID namespace's init exits.
  // Orphans are re-parented to rdbox (a subreaper) and so are its children: their pids
  // cannot be reused until rdbox reaps them, so kill(pid) cannot hit a stranger.
  for (int round = 0; round < 10000; ++round) {
    siginfo_t si;
    struct rusage ru;
    while (waitid_ru(P_ALL, 0, &si, WEXITED | WNOHANG, &ru) == 0 && si.si_pid != 0) {
    }
    if (waitid_ru(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT, &ru) != 0 && errno == ECHILD) return;
    std::vector<pid_t> kids = own_children();
    if (kids.empty()) return;
    for (pid_t pid : kids) ::kill(pid, SIGKILL);
    if (waitid_ru(P_ALL, 0, &si, WEXITED, &ru) != 0 && errno == ECHILD) return;
  }
}

void Supervisor::wait(Launch& l, const Plan& plan, ChildStack& stack, Outcome& out, const EventSink& sink,
                      const std::function<void()>& before_sweep) {
  out.pid = l.pid;
  out.parent_suspended = l.parent_suspended;
  out.parent_minflt = l.parent_minflt;
  out.spawn_us = static_cast<double>(l.t_spawned_ns - l.t_start_ns) / 1000.0;
  out.kind = OutcomeKind::exited;
  bool vm = plan.mode == Mode::clone && (plan.clone_flags & CLONE_VM);
  bool main_done = false;
  bool failed_record = false;
  bool tty_given = plan.take_tty;

  std::int64_t child_exec_at = 0;
  std::int64_t prev_step_t = 0;
  auto add_step = [&](const std::string& name, double us) {
    for (auto& s : out.steps_us)
      if (s.first == name) {
        s.second += us;
        return;
      }
    out.steps_us.emplace_back(name, us);
  };
  if (l.id_maps_ns) add_step("id_maps (rdbox)", static_cast<double>(l.id_maps_ns) / 1000.0);
  auto on_record = [&](const StubRecord& r) {
    if (r.severity == kExecAt && !child_exec_at) child_exec_at = r.t_ns;
    if (r.severity == kStepDone) {
      Step step = static_cast<Step>(r.step);
      if (step == Step::start) {
        add_step("create", static_cast<double>(r.t_ns - l.t_start_ns) / 1000.0);
      } else if (prev_step_t) {
        std::string name = step == Step::mounts && r.item < plan.mounts.size() ? kMountGroups[plan.mounts[r.item].group]
                                                                                : step_name(step);
        add_step(name, static_cast<double>(r.t_ns - prev_step_t) / 1000.0);
      }
      prev_step_t = r.t_ns;
      return;
    }
    if (r.severity == kNsInode) {
      out.ns_probed = true;
      if (r.item < 8) out.ns_inode[r.item] = static_cast<std::uint64_t>(r.t_ns);
      return;
    }
    if (r.severity == kWarning) {
      out.warnings.push_back(describe_failure(plan, static_cast<Step>(r.step), r.item, r.err) + ": " +
                             std::strerror(r.err));
      return;
    }
    if (r.severity == kExecAt && prev_step_t) {
      add_step("stub", static_cast<double>(r.t_ns - prev_step_t) / 1000.0);
      prev_step_t = r.t_ns;
    }
    if (r.severity != kFatal || failed_record) return;
    if (!child_exec_at) child_exec_at = r.t_ns;
    failed_record = true;
    Step step = static_cast<Step>(r.step);
    out.step = step_name(step);
    out.err = r.err;
    out.kind = step == Step::exec ? OutcomeKind::exec_failed : OutcomeKind::setup_failed;
    std::string what = describe_failure(plan, step, r.item, r.err);
    out.message = what + ": " + std::strerror(r.err);
    out.hint = hint_for(step, r.err, plan.namespaces != 0);
  };
  for (const auto& r : l.early_records) on_record(r);

  auto on_report_eof = [&] {
    out.exec_us = us_since(l.t_start_ns);
    if (plan.trace && child_exec_at && !failed_record)
      add_step("exec", static_cast<double>(now_ns() - child_exec_at) / 1000.0);
    // Only the stub's pipe gets here (posix_spawn's is closed before the loop).
    out.exec_seen = !failed_record;
    out.shared_memory = token_seen(l);
    // rdbox was suspended when it slept in the primitive and resumed only after the stub
    // reached execve (or failed). Either alone can be fooled: a preempted fork parent also
    // resumes late, and a sleep can have other causes.
    out.parent_suspended = l.parent_slept && child_exec_at != 0 && child_exec_at <= l.t_spawned_ns;
    if (vm && plan.trace && stack.painted()) out.stack_used = stack.high_water();
    l.report.reset();
  };
  if (!l.has_stub) {
    // posix_spawn returned after the exec: nothing to read.
    out.exec_us = out.spawn_us;
    out.exec_seen = true;
    l.report.reset();
  }

  // Stop and continue reach rdbox twice: in SIGCHLD's siginfo (which survives the child
  // exiting right after a continue, when waitid would only show the exit) and through
  // waitid (which still sees a state whose SIGCHLD was merged into an earlier one).
  // Report each change once.
  bool have_last = false;
  ChildEvent last{ChildEvent::continued, 0};
  pid_t job_pgid = l.pid;  // the command's process group (the relay's command leads its own)
  auto report_event = [&](ChildEvent ev) {
    if (have_last && last.kind == ev.kind && last.signal == ev.signal) return;
    have_last = true;
    last = ev;
    out.events.push_back(ev);
    if (sink) sink(l.pid, ev);
    int s = ev.signal;
    if (ev.kind == ChildEvent::stopped && tty_given && (s == SIGTSTP || s == SIGTTIN || s == SIGTTOU)) {
      // Job control: give the terminal back, stop as the command did, and on our own
      // continue hand it over again and continue the command's group.
      ::tcsetpgrp(0, ::getpgrp());
      ::kill(::getpid(), SIGSTOP);
      ::tcsetpgrp(0, job_pgid);
      ::kill(-job_pgid, SIGCONT);
    }
  };
  auto on_sigchld_info = [&](const struct signalfd_siginfo& info) {
    if (main_done || static_cast<pid_t>(info.ssi_pid) != l.pid) return;
    if (info.ssi_code == CLD_STOPPED || info.ssi_code == CLD_TRAPPED)
      report_event({ChildEvent::stopped, info.ssi_status});
    else if (info.ssi_code == CLD_CONTINUED)
      report_event({ChildEvent::continued, 0});
  };

  auto on_exit = [&](const siginfo_t& si, const struct rusage& ru) {
    // A stopped process runs again only after SIGCONT (SIGKILL aside): if it ended while
    // we still had it stopped, its continue was merged into an earlier SIGCHLD.
    bool killed = si.si_code != CLD_EXITED && si.si_status == SIGKILL;
    if (have_last && last.kind == ChildEvent::stopped && !killed) report_event({ChildEvent::continued, 0});
    fill_exit(out, si);
    fill_usage(out.usage, ru);
    main_done = true;
  };

  auto reap = [&] {
    siginfo_t si;
    struct rusage ru;
    while (!main_done && l.pidfd &&
           waitid_ru(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(l.pidfd.get()), &si,
                     WEXITED | WSTOPPED | WCONTINUED | WNOHANG, &ru) == 0 &&
           si.si_pid != 0) {
      if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED) {
        report_event({ChildEvent::stopped, si.si_status});
      } else if (si.si_code == CLD_CONTINUED) {
        report_event({ChildEvent::continued, 0});
      } else {
        on_exit(si, ru);
      }
    }
    if (!opts_.reap_orphans) {
      if (!main_done && !l.pidfd && waitid_ru(P_PID, static_cast<id_t>(l.pid), &si, WEXITED | WNOHANG, &ru) == 0 &&
          si.si_pid == l.pid)
        on_exit(si, ru);
      return;
    }
    while (waitid_ru(P_ALL, 0, &si, WEXITED | WNOHANG, &ru) == 0 && si.si_pid != 0) {
      if (si.si_pid == l.pid && !main_done) on_exit(si, ru);  // not reaped before: it can only be ours
    }
  };

  while (!main_done || l.report) {
    struct pollfd fds[4];
    int n = 0;
    fds[n++] = {sfd_.get(), POLLIN, 0};
    int pid_idx = -1, rep_idx = -1, ev_idx = -1;
    if (l.events && !main_done) {
      ev_idx = n;
      fds[n++] = {l.events.get(), POLLIN, 0};
    }
    if (!main_done && l.pidfd) {
      pid_idx = n;
      fds[n++] = {l.pidfd.get(), POLLIN, 0};
    }
    if (l.report) {
      rep_idx = n;
      // Only the hang-up wakes rdbox: records written before it (the exec-time stamp, step
      // times) are read in one go then, instead of costing a wake-up each.
      fds[n++] = {l.report.get(), 0, 0};
    }
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (rep_idx >= 0 && fds[rep_idx].revents) {
      StubRecord rs[32];
      for (;;) {
        ssize_t got = ::read(l.report.get(), rs, sizeof rs);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          on_report_eof();
          break;
        }
        for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof rs[0]); ++i) on_record(rs[i]);
      }
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info[8];
      ssize_t got;
      bool chld = false;
      while ((got = ::read(sfd_.get(), info, sizeof info)) > 0) {
        for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof info[0]); ++i) {
          int sig = static_cast<int>(info[i].ssi_signo);
          if (sig == SIGCHLD) {
            chld = true;
            on_sigchld_info(info[i]);
          }
          else if (is_forwarded(sig) && !main_done && l.pidfd)
            ::syscall(SYS_pidfd_send_signal, l.pidfd.get(), sig, nullptr, 0);
        }
      }
      if (chld) reap();
    }
    if (ev_idx >= 0 && fds[ev_idx].revents) {
      StubRecord r{};
      ssize_t got = ::read(l.events.get(), &r, sizeof r);
      if (got == static_cast<ssize_t>(sizeof r)) {
        if (r.item) job_pgid = static_cast<pid_t>(r.item);
        report_event(r.severity == kJobStop ? ChildEvent{ChildEvent::stopped, r.err} : ChildEvent{ChildEvent::continued, 0});
      } else if (got == 0) {
        l.events.reset();
      }
    }
    if (pid_idx >= 0 && fds[pid_idx].revents) reap();
  }
  out.total_us = us_since(l.t_start_ns);
  if (tty_given) ::tcsetpgrp(0, ::getpgrp());
  if (before_sweep) before_sweep();
  if (opts_.reap_orphans) kill_descendants();
  l.pidfd.reset();
}

}  // namespace rdbox
