#include "harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#ifndef RDBOX_BINARY
#define RDBOX_BINARY ""
#endif

extern char** environ;

// =======================================================================================
// The probe. When this test binary is executed with argv[1] == kProbeFlag it never
// reaches gtest's main: this constructor (glibc passes argc, argv, envp to .init_array
// functions) prints what the command sees of itself and exits. Re-executing the test
// binary keeps the probe exactly where the tests are, readable by whoever runs them.
namespace {

void probe_write(const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string probe_status_field(const char* name) {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::string key = std::string(name) + ":";
  auto pos = text.find("\n" + key);
  if (pos == std::string::npos) return "?";
  pos += key.size() + 1;
  while (pos < text.size() && (text[pos] == '\t' || text[pos] == ' ')) ++pos;
  auto end = text.find('\n', pos);
  return text.substr(pos, end - pos);
}

__attribute__((constructor(101))) void rdbox_itest_probe_main(int argc, char** argv, char** envp) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr || std::strcmp(argv[1], itest::kProbeFlag) != 0) return;
  // The descriptors first, before this code opens anything of its own.
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    int own = ::dirfd(d);
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = std::atoi(e->d_name);
      if (fd != own) fds.push_back(fd);
    }
    ::closedir(d);
  }
  std::sort(fds.begin(), fds.end());
  std::string o;
  auto kv = [&o](const std::string& k, const std::string& v) { o += k + "=" + v + "\n"; };
  kv("pid", std::to_string(::getpid()));
  kv("ppid", std::to_string(::getppid()));
  kv("pgid", std::to_string(::getpgrp()));
  kv("sid", std::to_string(::getsid(0)));
  kv("uid", std::to_string(::getuid()));
  kv("euid", std::to_string(::geteuid()));
  kv("gid", std::to_string(::getgid()));
  kv("egid", std::to_string(::getegid()));
  char cwd[4096];
  kv("cwd", ::getcwd(cwd, sizeof cwd) ? cwd : "?");
  kv("argc", std::to_string(argc));
  for (int i = 0; i < argc; ++i) kv("argv." + std::to_string(i), argv[i]);
  std::string list;
  for (int fd : fds) {
    list += (list.empty() ? "" : ",") + std::to_string(fd);
    char target[4096];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    kv("fd." + std::to_string(fd), n >= 0 ? std::string(target, static_cast<std::size_t>(n)) : "?");
  }
  kv("fds", list);
  kv("sigign", probe_status_field("SigIgn"));
  kv("sigblk", probe_status_field("SigBlk"));
  int envc = 0;
  for (char** e = envp; e && *e; ++e) ++envc;
  kv("env.count", std::to_string(envc));
  kv("end", "1");
  probe_write(o);
  int code = 0;
  if (argc >= 4 && std::strcmp(argv[2], "exit") == 0) code = std::atoi(argv[3]);
  if (argc >= 3 && std::strcmp(argv[2], "cat") == 0) {  // then copy stdin to stdout (a pipeline's middle)
    char buf[4096];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) probe_write(std::string(buf, static_cast<std::size_t>(n)));
  }
  ::_exit(code);
}

}  // namespace

namespace itest {

// =======================================================================================
// Binaries.

const std::string& rdbox_binary() {
  static const std::string path = [] {
    const char* env = std::getenv("RDBOX_BIN");
    if (env && *env) return std::string(env);
    return std::string(RDBOX_BINARY);
  }();
  return path;
}

const std::string& self_exe() {
  static const std::string path = [] {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }();
  return path;
}

std::vector<std::string> probe_command(const std::vector<std::string>& extra) {
  std::vector<std::string> v{self_exe(), kProbeFlag};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

std::string Probe::get(const std::string& key) const {
  auto it = kv.find(key);
  return it == kv.end() ? std::string() : it->second;
}

long Probe::num(const std::string& key) const {
  auto it = kv.find(key);
  if (it == kv.end() || it->second.empty()) return -1;
  return std::strtol(it->second.c_str(), nullptr, 10);
}

unsigned long long Probe::hex(const std::string& key) const {
  return std::strtoull(get(key).c_str(), nullptr, 16);
}

std::vector<int> Probe::fds() const {
  std::vector<int> out;
  std::stringstream ss(get("fds"));
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  return out;
}

Probe parse_probe(const std::string& out) {
  Probe p;
  for (const auto& line : split_lines(out)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    p.kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  p.ok = p.get("end") == "1";
  return p;
}

// =======================================================================================
// Running.

namespace {

std::string describe(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
  return s;
}

int hi_dup(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 100); }

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::vector<std::string> build_env(const RunOptions& opts) {
  std::vector<std::string> env;
  if (!opts.clear_env)
    for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto& entry : opts.env) {
    bool remove = !entry.empty() && entry[0] == '-';
    std::string key = remove ? entry.substr(1) : entry.substr(0, entry.find('='));
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& e) { return e.compare(0, key.size() + 1, key + "=") == 0; }),
              env.end());
    if (!remove) env.push_back(entry);
  }
  return env;
}

}  // namespace

Process Process::start(const std::vector<std::string>& args, RunOptions opts) {
  std::vector<std::string> argv{rdbox_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return start_program(argv, std::move(opts));
}

Process Process::start_program(const std::vector<std::string>& argv_in, RunOptions opts) {
  Process p;
  p.argv_ = argv_in;
  std::vector<std::string> env = build_env(opts);
  std::vector<char*> argv, envp;
  for (auto& a : p.argv_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // Every descriptor the child gets is first copied above 100 (close-on-exec), so that no
  // source collides with a target number; the child dup2s them into place.
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, in_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
  int hi_in = -1, hi_out = -1, hi_err = -1;
  if (opts.stdout_fd >= 0) {
    hi_out = hi_dup(opts.stdout_fd);
  } else {
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    hi_out = hi_dup(out_pipe[1]);
    close_fd(out_pipe[1]);
    p.out_fd_ = out_pipe[0];
  }
  if (opts.stderr_fd >= 0) {
    hi_err = hi_dup(opts.stderr_fd);
  } else {
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    hi_err = hi_dup(err_pipe[1]);
    close_fd(err_pipe[1]);
    p.err_fd_ = err_pipe[0];
  }
  if (!opts.close_stdin) {
    if (opts.stdin_data) {
      if (::pipe2(in_pipe, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      hi_in = hi_dup(in_pipe[0]);
      close_fd(in_pipe[0]);
      p.in_fd_ = in_pipe[1];
      p.in_data_ = *opts.stdin_data;
      if (p.in_data_.empty()) close_fd(p.in_fd_);
    } else {
      int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      hi_in = hi_dup(null_fd);
      ::close(null_fd);
    }
  }
  std::vector<std::pair<int, int>> extra;  // {hi copy, target}
  for (auto [src, target] : opts.fds) {
    int hi = hi_dup(src);
    if (hi < 0) ADD_FAILURE() << "extra fd " << src << ": " << std::strerror(errno);
    extra.emplace_back(hi, target);
  }
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2: " << std::strerror(errno);
  const char* cwd = opts.cwd ? opts.cwd->c_str() : nullptr;
  pid_t parent = ::getpid();

  p.started_ = Clock::now();
  p.deadline_ = p.started_ + opts.timeout;
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // the test dies, rdbox dies
    if (::getppid() != parent) ::_exit(127);
    auto die = [&](int err) {
      ssize_t ignored = ::write(exec_pipe[1], &err, sizeof err);
      (void)ignored;
      ::_exit(127);
    };
    if (hi_in >= 0) {
      if (::dup2(hi_in, 0) < 0) die(errno);
    } else {
      ::close(0);
    }
    if (::dup2(hi_out, 1) < 0) die(errno);
    if (::dup2(hi_err, 2) < 0) die(errno);
    for (auto [hi, target] : extra)
      if (::dup2(hi, target) < 0) die(errno);
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    for (auto [hi, target] : extra)
      if (target > 2) ::fcntl(target, F_SETFD, 0);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &sa, nullptr);
    sa.sa_handler = SIG_IGN;
    for (int sig : opts.ignore_signals) ::sigaction(sig, &sa, nullptr);
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : opts.block_signals) sigaddset(&mask, sig);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    struct rlimit no_core {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (cwd && ::chdir(cwd) != 0) die(errno);
    ::execve(argv[0], argv.data(), envp.data());
    die(errno);
  }
  int fork_errno = errno;
  close_fd(exec_pipe[1]);
  for (int* fd : {&hi_in, &hi_out, &hi_err}) close_fd(*fd);
  for (auto& e : extra) close_fd(e.first);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(fork_errno);
    close_fd(exec_pipe[0]);
    p.exited_ = true;
    return p;
  }
  p.pid_ = pid;
  int child_err = 0;
  ssize_t n;
  do n = ::read(exec_pipe[0], &child_err, sizeof child_err);
  while (n < 0 && errno == EINTR);
  close_fd(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_err))
    ADD_FAILURE() << "could not start " << describe(p.argv_) << ": " << std::strerror(child_err);
  p.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (int fd : {p.out_fd_, p.err_fd_, p.in_fd_})
    if (fd >= 0) set_nonblock(fd);
  return p;
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      out_fd_(std::exchange(o.out_fd_, -1)),
      err_fd_(std::exchange(o.err_fd_, -1)),
      in_fd_(std::exchange(o.in_fd_, -1)),
      in_data_(std::move(o.in_data_)),
      in_off_(o.in_off_),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      exited_(o.exited_),
      status_code_(o.status_code_),
      started_(o.started_),
      deadline_(o.deadline_),
      timed_out_(o.timed_out_),
      argv_(std::move(o.argv_)) {}

Process::~Process() {
  if (pid_ > 0 && !exited_) kill_and_reap();
  for (int* fd : {&pidfd_, &out_fd_, &err_fd_, &in_fd_}) close_fd(*fd);
}

void Process::try_reap() {
  if (exited_ || pid_ <= 0) return;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  } else if (r < 0 && errno == ECHILD) {
    exited_ = true;  // reaped elsewhere: should not happen
    ADD_FAILURE() << "pid " << pid_ << " was reaped behind the harness's back";
  }
}

void Process::kill_and_reap() {
  if (pid_ <= 0 || exited_) return;
  kill_tree(pid_);
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, 0);
  while (r < 0 && errno == EINTR);
  exited_ = true;
  status_code_ = r == pid_ ? (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) : -1;
}

void Process::pump(int timeout_ms) {
  struct pollfd fds[4];
  int n = 0, out_i = -1, err_i = -1, in_i = -1, pid_i = -1;
  if (out_fd_ >= 0) out_i = n, fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) err_i = n, fds[n++] = {err_fd_, POLLIN, 0};
  if (in_fd_ >= 0) in_i = n, fds[n++] = {in_fd_, POLLOUT, 0};
  if (pidfd_ >= 0 && !exited_) pid_i = n, fds[n++] = {pidfd_, POLLIN, 0};
  int r = ::poll(fds, static_cast<nfds_t>(n), std::max(0, timeout_ms));
  if (r < 0) return;
  auto drain = [](int& fd, std::string& into) {
    char buf[65536];
    while (true) {
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) {
        into.append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close_fd(fd);
      return;
    }
  };
  if (out_i >= 0 && fds[out_i].revents) drain(out_fd_, out_);
  if (err_i >= 0 && fds[err_i].revents) drain(err_fd_, err_);
  if (in_i >= 0 && fds[in_i].revents) {
    if (fds[in_i].revents & (POLLERR | POLLHUP)) {
      close_fd(in_fd_);
    } else {
      ssize_t w = ::write(in_fd_, in_data_.data() + in_off_, in_data_.size() - in_off_);
      if (w > 0) in_off_ += static_cast<std::size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off_ >= in_data_.size()) close_fd(in_fd_);
    }
  }
  if (pid_i >= 0 && fds[pid_i].revents) try_reap();
  if (pidfd_ < 0) try_reap();
}

bool Process::wait_for(const std::function<bool(const std::string&, const std::string&)>& pred, Ms timeout) {
  auto until = std::min(Clock::now() + timeout, deadline_);
  while (!pred(out_, err_)) {
    auto now = Clock::now();
    if (now >= until) return false;
    if (exited_ && out_fd_ < 0 && err_fd_ < 0) return false;
    auto ms = std::chrono::duration_cast<Ms>(until - now).count();
    pump(static_cast<int>(std::clamp<long long>(ms, 1, 50)));
  }
  return true;
}

bool Process::wait_stdout(const std::string& needle, Ms timeout) {
  return wait_for([&](const std::string& o, const std::string&) { return o.find(needle) != std::string::npos; },
                  timeout);
}

bool Process::wait_stderr(const std::string& needle, Ms timeout) {
  return wait_for([&](const std::string&, const std::string& e) { return e.find(needle) != std::string::npos; },
                  timeout);
}

Result Process::finish(Ms grace) {
  Result r;
  r.pid = pid_;
  while (!exited_) {
    auto now = Clock::now();
    if (now >= deadline_) {
      timed_out_ = true;
      kill_and_reap();
      break;
    }
    auto ms = std::chrono::duration_cast<Ms>(deadline_ - now).count();
    pump(static_cast<int>(std::clamp<long long>(ms, 1, 100)));
  }
  r.elapsed = std::chrono::duration_cast<Ms>(Clock::now() - started_);
  auto until = Clock::now() + grace;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    auto now = Clock::now();
    if (now >= until) break;
    auto ms = std::chrono::duration_cast<Ms>(until - now).count();
    pump(static_cast<int>(std::clamp<long long>(ms, 1, 100)));
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  close_fd(in_fd_);
  r.exit_code = status_code_;
  r.out = out_;
  r.err = err_;
  r.timed_out = timed_out_;
  if (timed_out_)
    ADD_FAILURE() << "timed out (killed after " << r.elapsed.count() << " ms): " << describe(argv_)
                  << "\nstdout: " << out_ << "\nstderr: " << err_;
  return r;
}

std::vector<std::string> Result::err_lines() const { return split_lines(err); }
std::vector<std::string> Result::out_lines() const { return split_lines(out); }

Result run(const std::vector<std::string>& args, RunOptions opts) {
  return Process::start(args, std::move(opts)).finish();
}

// =======================================================================================
// JSON.

std::optional<nlohmann::json> parse_json(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << text;
    return std::nullopt;
  }
}

std::optional<nlohmann::json> report_json(const Result& r) {
  auto lines = r.err_lines();
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) {
    ADD_FAILURE() << "no JSON report on stderr";
    return std::nullopt;
  }
  return parse_json(lines.back());
}

// =======================================================================================
// /proc.

namespace {
std::string slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}
}  // namespace

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> kids;
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task_dir.c_str());
  if (!d) return kids;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::stringstream ss(slurp(task_dir + "/" + e->d_name + "/children"));
    pid_t k;
    while (ss >> k) kids.push_back(k);
  }
  ::closedir(d);
  std::sort(kids.begin(), kids.end());
  kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
  return kids;
}

std::vector<pid_t> command_children(pid_t rdbox) {
  std::string own = proc_cmdline(rdbox);
  std::vector<pid_t> out;
  for (pid_t k : children_of(rdbox))
    if (proc_cmdline(k) != own) out.push_back(k);
  return out;
}

std::vector<pid_t> descendants_of(pid_t pid) {
  std::vector<pid_t> out;
  std::vector<pid_t> frontier{pid};
  while (!frontier.empty() && out.size() < 10000) {
    std::vector<pid_t> next;
    for (pid_t p : frontier)
      for (pid_t k : children_of(p)) {
        if (std::find(out.begin(), out.end(), k) != out.end()) continue;
        out.push_back(k);
        next.push_back(k);
      }
    frontier = std::move(next);
  }
  return out;
}

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::string text = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = text.rfind(')');
  if (text.empty() || close_paren == std::string::npos) return std::nullopt;
  std::stringstream ss(text.substr(close_paren + 1));
  std::vector<std::string> f;
  std::string tok;
  while (ss >> tok) f.push_back(tok);
  if (f.size() < 20) return std::nullopt;
  ProcStat st;
  st.state = f[0].empty() ? '?' : f[0][0];
  st.ppid = static_cast<pid_t>(std::stol(f[1]));
  st.pgrp = static_cast<pid_t>(std::stol(f[2]));
  st.session = static_cast<pid_t>(std::stol(f[3]));
  st.starttime = std::stoull(f[19]);
  return st;
}

std::string proc_cmdline(pid_t pid) {
  std::string s = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(s.begin(), s.end(), '\0', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

bool alive(pid_t pid, unsigned long long starttime) {
  if (pid <= 0) return false;
  auto st = proc_stat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X' || st->state == 'x') return false;
  return starttime == 0 || st->starttime == starttime;
}

bool wait_until(const std::function<bool()>& pred, Ms timeout) {
  auto until = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool wait_gone(pid_t pid, unsigned long long starttime, Ms timeout) {
  return wait_until([&] { return !alive(pid, starttime); }, timeout);
}

void kill_tree(pid_t pid) {
  if (pid <= 0) return;
  // Stop the root first so that it cannot create more while the tree is walked.
  ::kill(pid, SIGSTOP);
  for (pid_t d : descendants_of(pid)) ::kill(d, SIGKILL);
  ::kill(pid, SIGKILL);
}

// =======================================================================================
// Files.

TempDir::TempDir() {
  char tmpl[] = "/tmp/rdbox-itest-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  path_ = tmpl;
  ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (path_.empty() || path_.rfind("/tmp/rdbox-itest-", 0) != 0) return;
  std::error_code ec;
  // Make every directory writable and searchable again before removing.
  ::chmod(path_.c_str(), 0755);
  for (auto it = std::filesystem::recursive_directory_iterator(
           path_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
  }
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, unsigned mode) const {
  std::string p = *this / name;
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    ADD_FAILURE() << "open " << p << ": " << std::strerror(errno);
    return p;
  }
  const char* d = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, d, left);
    if (n <= 0) break;
    d += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  ::chmod(p.c_str(), mode);
  return p;
}

std::string TempDir::mkdir(const std::string& name, unsigned mode) const {
  std::string p = *this / name;
  ::mkdir(p.c_str(), 0700);
  ::chmod(p.c_str(), mode);
  return p;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) { return slurp(path); }

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (i < s.size()) {
    auto nl = s.find('\n', i);
    if (nl == std::string::npos) {
      lines.push_back(s.substr(i));
      break;
    }
    lines.push_back(s.substr(i, nl - i));
    i = nl + 1;
  }
  return lines;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:%@") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// =======================================================================================
// Fixture.

std::vector<pid_t> reap_and_list_children(Ms timeout) {
  auto until = Clock::now() + timeout;
  while (true) {
    int st;
    while (::waitpid(-1, &st, WNOHANG) > 0) {
    }
    std::vector<pid_t> live;
    for (pid_t k : children_of(::getpid()))
      if (alive(k)) live.push_back(k);
    if (live.empty() || Clock::now() >= until) return live;
    std::this_thread::sleep_for(10ms);
  }
}

void RdboxTest::SetUp() {
  // Anything that escapes rdbox is re-parented here, where TearDown finds it.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // A command that exits before reading its stdin must not kill the test with SIGPIPE
  // (children get the default back before exec).
  ::signal(SIGPIPE, SIG_IGN);
  ASSERT_FALSE(rdbox_binary().empty()) << "no rdbox binary: set RDBOX_BIN or compile with -DRDBOX_BINARY=\"...\"";
  ASSERT_EQ(::access(rdbox_binary().c_str(), X_OK), 0)
      << "rdbox binary " << rdbox_binary() << " is not executable: " << std::strerror(errno);
  ASSERT_FALSE(self_exe().empty()) << "cannot read /proc/self/exe";
  auto leftovers = reap_and_list_children(0ms);
  ASSERT_TRUE(leftovers.empty()) << "children left over before the test started";
}

void RdboxTest::TearDown() {
  auto leftovers = reap_and_list_children(1s);
  if (leftovers.empty()) return;
  std::string what;
  for (pid_t k : leftovers) what += "\n  " + std::to_string(k) + " " + proc_cmdline(k);
  ADD_FAILURE() << "processes left running after the test (escaped rdbox, now children of the test):" << what;
  for (pid_t k : leftovers) kill_tree(k);
  auto still = reap_and_list_children(2s);
  EXPECT_TRUE(still.empty()) << "could not kill the leftovers";
}

}  // namespace itest
