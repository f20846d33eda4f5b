// rdbox pipeline, the child side. Once the sandbox is built (namespaces, mounts, hostname:
// once, for every stage), the stub forks one process per stage, joined by pipes, and stays
// as their parent — what a shell does for `a | b | c`, without the shell:
//  - one pipe at a time, as a shell makes them: the parent holds at most the previous
//    pipe's read end and the next pipe, and closes each end as soon as the stage that
//    uses it has it, so every pipe end lives only where it is used (a stage that exits
//    early gives the one before it SIGPIPE, and the last reader's exit is an EOF);
//  - the stages share one process group (the first stage's), which gets the terminal when
//    rdbox had it; their parent is outside that group, so Ctrl-C reaches each stage once,
//    from the terminal, and a signal rdbox forwards reaches each once, from the parent;
//  - each stage says who it is on the events socket (rdbox reads its pid from the
//    socket's credentials, in rdbox's own PID namespace) and goes on with the stub's
//    remaining steps (fds, workdir, identity, confinement) and its own exec;
//  - the parent then drops what it holds of rdbox's (as the init does), reaps, passes the
//    stages' ends up with their rusage in one message once the last one has ended, and exits with the pipeline's status: the last
//    stage's, or with pipefail the last non-zero one's. With a new PID namespace it is
//    PID 1 and reaps orphans too.
// Same rules as stub.cpp: raw system calls only, no allocation, nothing outside src/stub/.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "internal.hpp"

namespace rdbox::stub {
namespace {

void close_fd(int fd) {
  if (fd >= 0) sys::call(SYS_close, fd);
}

// A close-on-exec pipe whose ends are above 0, 1 and 2: with one of rdbox's standard
// descriptors closed, a pipe end there would become a stage's stdin or stdout by accident.
int make_pipe(int fds[2]) {
  long r = sys::call(SYS_pipe2, fds, O_CLOEXEC);
  if (sys::failed(r)) return err_of(r);
  for (int k = 0; k < 2; ++k) {
    if (fds[k] >= 3) continue;
    long moved = sys::call(SYS_fcntl, fds[k], F_DUPFD_CLOEXEC, 3);
    sys::call(SYS_close, fds[k]);
    fds[k] = sys::failed(moved) ? -1 : static_cast<int>(moved);
    if (fds[k] < 0) {
      close_fd(fds[0]);
      close_fd(fds[1]);
      return err_of(moved);
    }
  }
  return 0;
}

// In stage `k`, just forked: from here on the stub's steps are this stage's. The view is
// the stage's own copy (a fork), so its command fields are pointed at the stage's command,
// and its failures go to the events socket, where rdbox tells the stages apart by the
// sender's credentials: a stage that fails is that stage's status, not the run's.
int become_stage(const PlanView* v, unsigned k, int prev_read, const int* next, long parent, long pgid) {
  PlanView* own = const_cast<PlanView*>(v);
  const StageView& s = v->stages[k];
  own->stage = static_cast<int>(k);
  own->argv = s.argv;
  own->envp = s.envp;
  own->candidates = s.candidates;
  own->n_candidates = s.n_candidates;
  own->sh_argv = s.sh_argv;
  own->report_fd = v->stage_records_fd;
  // Its parent is the stages' parent, in the same PID namespace: what the pdeathsig step
  // checks again after a change of ids (--user) is that one, by pid, not rdbox's life pipe.
  own->parent_pid = static_cast<pid_t>(parent);
  own->new_pid = false;
  own->life_fd = -1;
  StubRecord hello{static_cast<std::uint32_t>(Step::pipeline), k, static_cast<std::int32_t>(sys::call(SYS_getpid)),
                   kStageStart, monotonic_ns()};
  long r;
  do r = sys::call(SYS_write, v->stage_records_fd, &hello, sizeof hello);
  while (r == -EINTR);
  // Die with the stages' parent, without the race (a fork does not inherit the setting).
  if ((r = sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) < 0) return err_of(r);
  if (sys::call(SYS_getppid) != parent) return ESRCH;
  // The stages' group: the parent sets it too (whichever runs first), as a shell does.
  if ((r = sys::call(SYS_setpgid, 0, pgid)) < 0) return err_of(r);
  if (k == 0 && v->stages_take_tty) {
    int me = static_cast<int>(sys::call(SYS_getpid));  // SIGTTOU is still blocked here
    r = sys::call(SYS_ioctl, 0, TIOCSPGRP, &me);
    if (sys::failed(r) && r != -ENOTTY && r != -ENXIO) return err_of(r);
  }
  if (prev_read >= 0) {
    if ((r = sys::call(SYS_dup3, prev_read, 0, 0)) < 0) return err_of(r);
    sys::call(SYS_close, prev_read);
  }
  if (next) {
    if ((r = sys::call(SYS_dup3, next[1], 1, 0)) < 0) return err_of(r);
    sys::call(SYS_close, next[0]);
    sys::call(SYS_close, next[1]);
  }
  return 0;
}

// Starting stage `failed` went wrong: the stages already started are killed and reaped,
// and the run fails at this step (rdbox: "start stage N of the pipeline").
[[noreturn]] void abort_stages(const PlanView* v, unsigned failed, int err) {
  for (unsigned i = 0; i < failed; ++i) sys::call(SYS_kill, v->stage_pids[i], SIGKILL);
  for (unsigned i = 0; i < failed; ++i) {
    int status = 0;
    while (sys::call(SYS_wait4, v->stage_pids[i], &status, 0, nullptr) == -EINTR) {
    }
  }
  fail(v, Step::pipeline, failed, err);
}

// Stage k was reaped: its end, kept until the last one's (t_start_ns and pid are set).
void keep_stage_end(StageEndRecord& e, unsigned k, int status, const struct rusage& ru) {
  e.head = StubRecord{static_cast<std::uint32_t>(Step::pipeline), k, status, kStageEnd, monotonic_ns()};
  e.utime_us = ru.ru_utime.tv_sec * 1'000'000LL + ru.ru_utime.tv_usec;
  e.stime_us = ru.ru_stime.tv_sec * 1'000'000LL + ru.ru_stime.tv_usec;
  e.maxrss_kb = ru.ru_maxrss;
  e.minflt = ru.ru_minflt;
  e.majflt = ru.ru_majflt;
  e.nvcsw = ru.ru_nvcsw;
  e.nivcsw = ru.ru_nivcsw;
}

long send_all(const void* data, std::size_t len) {
  long r;
  do r = sys::call(SYS_write, 3, data, len);
  while (r == -EINTR);
  return r;
}

// Every stage's end, in order, and the pipeline's status (kCommandEnd, as the init's), in
// one message: rdbox wakes once for them. A socket whose buffer is too small for that
// takes them one by one. Then this process exits with the status, as the init does (PID
// 1 cannot die of a signal it sends itself: 128+N).
[[noreturn]] void end_pipeline(const PlanView* v, int status) {
  std::size_t n = v->n_stages;
  StubRecord end{static_cast<std::uint32_t>(Step::init), 0, status, kCommandEnd, 0};
  v->stage_ends[n].head = end;
  long r = send_all(v->stage_ends, n * sizeof(StageEndRecord) + sizeof(StubRecord));
  if (r == -EMSGSIZE || r == -ENOBUFS || r == -ENOMEM) {
    for (std::size_t k = 0; k < n; ++k) send_all(&v->stage_ends[k], sizeof(StageEndRecord));
    send_all(&end, sizeof end);
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  for (;;) sys::call(SYS_exit_group, code);
}

// The stages' parent from here on: reaps, forwards, reports, and exits with the
// pipeline's status. Its signals are blocked (rdbox's mask), so it takes them
// synchronously, as the init does.
[[noreturn]] void run_pipeline(const PlanView* v, long pgid) {
  shed_rdbox(v);  // the report pipe too: EOF now means every stage has exec'd
  unsigned long wait_set = (1UL << (SIGCHLD - 1)) | v->forwarded_signals;
  sys::call(SYS_rt_sigprocmask, SIG_BLOCK, &wait_set, nullptr, 8);
  std::size_t remaining = v->n_stages;
  int last_status = 0, fail_status = 0;
  long fail_index = -1;
  for (;;) {
    siginfo_t info;
    long sig = sys::call(SYS_rt_sigtimedwait, &wait_set, &info, nullptr, 8);
    if (sig != SIGCHLD) {
      if (sig > 0) sys::call(SYS_kill, -pgid, sig);  // each stage once: the parent is not in their group
      continue;
    }
    for (;;) {
      int status = 0;
      struct rusage ru;  // filled by wait4 when it returns a pid
      long pid = sys::call(SYS_wait4, -1, &status, WNOHANG | WUNTRACED | WCONTINUED, &ru);
      if (pid <= 0) break;
      std::size_t k = 0;
      while (k < v->n_stages && v->stage_pids[k] != pid) ++k;
      if (k == v->n_stages) continue;  // an orphan this process inherited (PID 1)
      if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
        pass_job_event(0, status, false);
        continue;
      }
      keep_stage_end(v->stage_ends[k], static_cast<unsigned>(k), status, ru);
      v->stage_pids[k] = 0;
      if (k + 1 == v->n_stages) last_status = status;
      bool nonzero = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      if (nonzero && static_cast<long>(k) > fail_index) fail_index = static_cast<long>(k), fail_status = status;
      if (--remaining == 0) end_pipeline(v, v->pipefail && fail_index >= 0 ? fail_status : last_status);
    }
  }
}

}  // namespace

int step_pipeline(const PlanView* v) {
  // Non-dumpable before the forks, as the init: the parent still holds rdbox's
  // descriptors until shed_rdbox. Each stage's exec makes it dumpable again.
  sys::call(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  // rdbox's command line and environment in this copy of its memory, before any stage can
  // look at this process (shed_rdbox does it again, with the descriptors). Set only when
  // this is PID 1 of a new PID namespace: otherwise rdbox itself is in the stages' view.
  overwrite(v->arg_start, v->arg_end, "rdbox-init");
  overwrite(v->env_start, v->env_end, nullptr);
  long self = sys::call(SYS_getpid);
  long pgid = 0;
  int prev_read = -1;
  for (unsigned k = 0; k < v->n_stages; ++k) {
    bool last = k + 1 == v->n_stages;
    int next[2] = {-1, -1};
    if (!last)
      if (int e = make_pipe(next)) {
        close_fd(prev_read);
        abort_stages(v, k, e);
      }
    std::int64_t t0 = monotonic_ns();
    long pid = sys::call(SYS_clone, SIGCHLD, 0, nullptr, nullptr, 0);
    if (pid == 0) return become_stage(v, k, prev_read, last ? nullptr : next, self, pgid);
    if (sys::failed(pid)) {
      close_fd(prev_read);
      close_fd(next[0]);
      close_fd(next[1]);
      abort_stages(v, k, err_of(pid));
    }
    v->stage_pids[k] = pid;
    v->stage_ends[k].t_start_ns = t0;
    v->stage_ends[k].pid = pid;
    sys::call(SYS_setpgid, pid, pgid ? pgid : pid);  // EACCES once the stage has exec'd: it did it itself
    if (k == 0) {
      pgid = pid;
      if (v->stages_take_tty) {
        int group = static_cast<int>(pgid);
        sys::call(SYS_ioctl, 0, TIOCSPGRP, &group);
      }
    }
    close_fd(prev_read);
    close_fd(next[1]);
    prev_read = next[0];
  }
  run_pipeline(v, pgid);
}

}  // namespace rdbox::stub
