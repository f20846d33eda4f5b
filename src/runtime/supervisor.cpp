#include "supervisor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

namespace rdbox {

namespace {

// SIGCHLD's disposition is process-wide: when an odd parent left it ignored, children
// would be reaped behind our back. It is set to the default while any Supervisor needs
// it and put back by the last one (many threads may supervise at once).
std::mutex g_chld_mutex;
int g_chld_users = 0;
struct sigaction g_old_chld {};

bool chld_ignored() {
  struct sigaction cur {};
  ::sigaction(SIGCHLD, nullptr, &cur);
  return cur.sa_handler == SIG_IGN || (cur.sa_flags & SA_NOCLDWAIT);
}

bool acquire_chld_default() {
  std::lock_guard<std::mutex> lock(g_chld_mutex);
  if (g_chld_users == 0) {
    if (!chld_ignored()) return false;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, &g_old_chld);
  }
  ++g_chld_users;
  return true;
}

void release_chld_default() {
  std::lock_guard<std::mutex> lock(g_chld_mutex);
  if (--g_chld_users == 0) ::sigaction(SIGCHLD, &g_old_chld, nullptr);
}

// The children of every thread of this process: orphans are re-parented to the subreaper
// process's leader (or another live thread), not to the thread that supervises, which in
// a library user is often another one (waitid(P_ALL) waits for them all the same).
std::vector<pid_t> own_children() {
  std::vector<pid_t> pids;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return pids;
  while (struct dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string path = std::string("/proc/self/task/") + e->d_name + "/children";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    pid_t cur = 0;
    bool in_number = false;
    for (char c : text + " ") {
      if (c >= '0' && c <= '9') {
        cur = cur * 10 + (c - '0');
        in_number = true;
      } else if (in_number) {
        pids.push_back(cur);
        cur = 0;
        in_number = false;
      }
    }
  }
  ::closedir(tasks);
  return pids;
}

}  // namespace

Expected<std::unique_ptr<Supervisor>> Supervisor::create(SuperviseOptions opts) {
  std::unique_ptr<Supervisor> s(new Supervisor());
  s->opts_ = opts;
  sigemptyset(&s->handled_);
  if (opts.watch_stops || opts.reap_orphans) sigaddset(&s->handled_, SIGCHLD);
  if (opts.forward_signals)
    for (int sig = 1; sig <= 64; ++sig)
      if (is_forwarded(sig)) sigaddset(&s->handled_, sig);
  s->chld_reset_ = acquire_chld_default();
  if (sigisemptyset(&s->handled_)) return s;
  sigset_t block = s->handled_;
  sigaddset(&block, SIGTTOU);  // rdbox takes the terminal back from a background group
  ::pthread_sigmask(SIG_BLOCK, &block, &s->old_mask_);
  int fd = ::signalfd(-1, &s->handled_, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Error::sys("signalfd", errno);  // the destructor undoes the rest
  s->sfd_.reset(fd);
  if (opts.reap_orphans) {
    ::prctl(PR_GET_CHILD_SUBREAPER, &s->old_subreaper_, 0, 0, 0);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  return s;
}

Supervisor::~Supervisor() {
  if (opts_.reap_orphans && sfd_) ::prctl(PR_SET_CHILD_SUBREAPER, old_subreaper_, 0, 0, 0);
  if (!sigisemptyset(&handled_)) {
    sfd_.reset();
    // Drop what is still pending of our set before unblocking, so nothing that arrived
    // after the command ended (a last SIGCHLD, a SIGINT with no one left to forward it
    // to) is acted on by rdbox, or kills it before it reports.
    struct timespec zero {};
    while (::sigtimedwait(&handled_, nullptr, &zero) > 0) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  if (chld_reset_) release_chld_default();
}

void Supervisor::kill_descendants() {
  // What the command left running is ended, as when a PID namespace's init exits.
  // Orphans are re-parented to rdbox (a subreaper) and so are its children: their pids
  // cannot be reused until rdbox reaps them, so kill(pid) cannot hit a stranger.
  for (int round = 0; round < 10000; ++round) {
    siginfo_t si{};
    while (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) si.si_pid = 0;
    if (::waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) return;
    std::vector<pid_t> kids = own_children();
    if (kids.empty()) return;
    for (pid_t pid : kids) ::kill(pid, SIGKILL);
    while (::waitid(P_ALL, 0, &si, WEXITED) != 0 && errno == EINTR) {
    }
  }
}

}  // namespace rdbox
