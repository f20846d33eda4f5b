// The OCI lifecycle. `create` builds the container with the same Plan, stub and Instance
// as `rdbox run`; what differs is who waits: the stub's start barrier reads a byte from the
// container's exec fifo (held open read-write by the init itself, so it never sees EOF),
// and says kReady on the report pipe just before it waits. rdbox create reads that record,
// runs the createRuntime hooks, writes the state and the pid file, detaches the Instance
// and exits 0; the init is reparented to the caller's subreaper (conmon, containerd's
// shim), which waits for it. `start` writes the byte.
#include "oci/runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <nlohmann/json.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RDBOX_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RDBOX_LSAN 1
#endif
#ifdef RDBOX_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include "oci/config.hpp"
#include "oci/resources.hpp"
#include "oci/state.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/spec.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/instance.hpp"
#include "runtime/outcome_builder.hpp"
#include "runtime/supervisor.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace rdbox::oci {

namespace {

using json = nlohmann::json;

std::string root_of(const Globals& g) { return g.root.empty() ? default_root() : g.root; }

void warn(const Globals& g, const std::string& m) {
  if (g.warn) g.warn(m);
}

// At most kMaxConfigBytes from `fd`, to EOF.
Expected<std::string> read_bounded(int fd, const std::string& what) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(what, errno);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigBytes) return Error::input(what, "is too large");
  }
  return text;
}

Expected<std::string> read_small_file(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error::sys(what + " \"" + path + "\"", errno);
  Fd f(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::sys(what + " \"" + path + "\"", errno);
  if (!S_ISREG(st.st_mode)) return Error::input(what + " \"" + path + "\"", "is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes)
    return Error::input(what + " \"" + path + "\"", "is larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB");
  return read_bounded(fd, what + " \"" + path + "\"");
}

Expected<std::string> absolute_dir(const std::string& dir, const std::string& what) {
  char buf[PATH_MAX];
  if (!::realpath(dir.c_str(), buf)) return Error::sys(what + " \"" + dir + "\"", errno);
  struct stat st {};
  if (::stat(buf, &st) != 0) return Error::sys(what + " \"" + dir + "\"", errno);
  if (!S_ISDIR(st.st_mode)) return Error::sys(what + " \"" + dir + "\"", ENOTDIR);
  return std::string(buf);
}

Expected<Bundle> load_bundle(const std::string& dir, bool require_args) {
  auto abs = absolute_dir(dir.empty() ? "." : dir, "bundle");
  if (!abs) return abs.error();
  auto text = read_small_file(*abs + "/config.json", "bundle config");
  if (!text) return text.error();
  ParseOptions po;
  po.bundle_dir = *abs;
  po.rootless = ::geteuid() != 0;
  po.require_args = require_args;
  auto b = parse_config(*text, po);
  if (!b) {
    Error e = b.error();
    if (e.context.rfind("config.json", 0) != 0) e.context = "config.json: " + e.context;
    return e;
  }
  return b;
}

std::string owner_name(uid_t uid) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    if (c1 == std::string::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    auto c3 = line.find(':', c2 + 1);
    if (c2 == std::string::npos || c3 == std::string::npos) continue;
    if (line.substr(c2 + 1, c3 - c2 - 1) == std::to_string(uid)) return line.substr(0, c1);
  }
  return std::to_string(uid);
}

// ---- rdbox's own image and memory ------------------------------------------------------
// A container's processes can see rdbox's clones (the init until it execs, waiting for
// `start` in a created container; an exec'd process until it execs) and can make one of
// them execute /proc/self/exe (a #!/proc/self/exe script, a link to it as the command):
// then a process of theirs runs rdbox's own image, and its /proc/PID/exe opened and
// reopened for writing once rdbox is gone rewrites the host's binary (CVE-2019-5736).
// So create, run and exec run from a sealed in-memory copy of rdbox (runc's
// ensure_cloned_binary): /proc/PID/exe of every clone is that copy, which nothing can write.

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

// True when this process runs from a private copy already (the re-executed rdbox): a file
// no name leads to (a memfd, or the unlinked O_TMPFILE fallback below).
bool runs_from_private_copy(int exe) {
  struct stat st {};
  return ::fstat(exe, &st) == 0 && st.st_nlink == 0;
}

// The copy's descriptor: a sealed memfd; where memfds may not be executed
// (vm.memfd_noexec = 2), an unlinked O_TMPFILE beside the binary or in /tmp, reopened
// read-only (a file open for writing cannot be executed). Either is this run's own: a
// write through /proc/PID/exe reaches nothing another run executes.
Expected<Fd> private_copy(int exe, off_t size) {
  // MFD_EXEC: executable where vm.memfd_noexec makes memfds noexec by default (Linux 6.3);
  // older kernels do not know the flag (EINVAL) and make every memfd executable.
  constexpr unsigned kMfdExec = 0x10U;
  Fd copy(static_cast<int>(::memfd_create("rdbox", MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdExec)));
  if (!copy && errno == EINVAL) copy.reset(static_cast<int>(::memfd_create("rdbox", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  bool sealable = static_cast<bool>(copy);
  char self[PATH_MAX];
  ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = len > 0 ? std::string(self, static_cast<std::size_t>(len)) : std::string();
  dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
  for (const std::string& d : {dir, std::string("/tmp")})
    if (!copy && !d.empty()) copy.reset(::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0500));
  if (!copy) return Error::sys("a private copy of rdbox", errno);
  for (off_t done = 0; done < size;) {
    ssize_t n = ::sendfile(copy.get(), exe, nullptr, static_cast<std::size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::sys("a private copy of rdbox: copy", n < 0 ? errno : EIO);
    done += n;
  }
  if (sealable) {
    if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) return Error::sys("a private copy of rdbox: seal", errno);
    return copy;
  }
  Fd ro(::open(("/proc/self/fd/" + std::to_string(copy.get())).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro) return Error::sys("a private copy of rdbox: reopen", errno);
  return ro;
}

// Re-executes rdbox, same argv and environment, from a private copy of its binary;
// returns only when it runs from one already (or with the error that prevented it).
Status reexec_from_sealed_copy() {
  Fd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return Error::sys("/proc/self/exe", errno);
  if (runs_from_private_copy(exe.get())) return ok();
  // On a read-only mount no one rewrites it through /proc/PID/exe (EROFS): no copy needed
  // (about 2 ms of every create, run and exec: install rdbox on one where that counts).
  struct statvfs fs {};
  if (::fstatvfs(exe.get(), &fs) == 0 && (fs.f_flag & ST_RDONLY)) return ok();
  auto cmdline = read_small_file("/proc/self/cmdline", "rdbox's command line");
  if (!cmdline) return cmdline.error();
  std::vector<char*> argv;
  for (std::size_t i = 0; i < cmdline->size(); i += std::strlen(cmdline->data() + i) + 1) argv.push_back(&(*cmdline)[i]);
  argv.push_back(nullptr);
  struct stat st {};
  if (::fstat(exe.get(), &st) != 0) return Error::sys("a private copy of rdbox: /proc/self/exe", errno);
  auto copy = private_copy(exe.get(), st.st_size);
  if (!copy) return copy.error();
  ::fexecve(copy->get(), argv.data(), environ);
  return Error::sys("a private copy of rdbox: execute", errno);
}

// rdbox and its clones not dumpable: no process of the container (same uid, caps no more
// than theirs) opens their /proc/PID/mem, environ, fd/ or exe, or ptraces them. The stub's
// execve makes the command dumpable again. Rootless rdbox keeps create's clones dumpable:
// the kernel makes a non-dumpable process's /proc files root's, and the clone writes its
// own uid_map there (newuidmap checks the owner too).
void make_undumpable() { ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

// ---- terminals -----------------------------------------------------------------------
// With process.terminal and --console-socket the pty is made inside the container, from
// its own devpts, by the stub's console step (as runc and crun do: `tty` in the container
// names its /dev/pts/N); rdbox receives the master and passes it on to the engine.

// One message with room for one descriptor (SCM_RIGHTS), over `len` bytes at `data`.
struct FdMessage {
  struct iovec iov;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  FdMessage(void* data, std::size_t len) : iov{data, len} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
  void carry(int fd) {
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  // After recvmsg: the descriptor that came, or -1.
  int received_fd() {
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
  }
};

// The pty's master the stub's console step sent (LaunchConfig::console), once the child
// exists (rdbox's copy of the child's end closed here first). Empty when the stub ended
// before it sent one: its failure is what the ready handshake or the wait reports.
Expected<Fd> receive_console(Plan& p) {
  p.console_child.reset();
  char byte;
  FdMessage m(&byte, 1);
  ssize_t n;
  do n = ::recvmsg(p.console_parent.get(), &m.msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  p.console_parent.reset();
  if (n < 0) return Error::sys("the container's terminal", errno);
  int fd = n > 0 ? m.received_fd() : -1;
  return fd >= 0 ? Fd(fd) : Fd();
}

// The pty's master to the engine (conmon, the shim) over --console-socket: SCM_RIGHTS.
Status send_console(const std::string& socket_path, int fd) {
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::sys("--console-socket", errno);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return Error::input("--console-socket \"" + socket_path + "\"", "the path is too long for a socket");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
    return Error::sys("--console-socket \"" + socket_path + "\"", errno);
  char name[] = "/dev/ptmx";
  FdMessage m(name, sizeof name - 1);
  m.carry(fd);
  ssize_t n;
  do n = ::sendmsg(s.get(), &m.msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::sys("--console-socket \"" + socket_path + "\": send", errno);
  return ok();
}

// The container's terminal, received from the stub, on to the engine.
Status forward_console(Plan& p, const std::string& socket_path) {
  auto master = receive_console(p);
  if (!master) return master.error();
  if (!*master) return ok();  // the stub ended first: its failure is reported where it is read
  return send_console(socket_path, master->get());
}

// ---- hooks ---------------------------------------------------------------------------

// One hook: its argv and env as given, the state JSON on stdin, a time limit.
Status run_hook(const Hook& h, const std::string& state_json, const std::string& what) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::sys(what, errno);
  Fd rd(in[0]), wr(in[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawn(&pid, h.path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::sys(what + " \"" + h.path + "\"", rc);
  rd.reset();
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // The hook may not read its stdin: the state fits a pipe, and a hook gone is no error.
  ::fcntl(wr.get(), F_SETFL, O_NONBLOCK);
  (void)!::write(wr.get(), state_json.data(), state_json.size());
  wr.reset();
  int timeout_ms = h.timeout ? *h.timeout * 1000 : -1;
  if (pidfd) {
    struct pollfd p {pidfd.get(), POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
      return Error::input(what + " \"" + h.path + "\"", "did not finish within " + std::to_string(*h.timeout) + " s");
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return ok();
  return Error::input(what + " \"" + h.path + "\"",
                      WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                    : "was killed by signal " + std::to_string(WTERMSIG(st)));
}

Status run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& kind) {
  for (std::size_t i = 0; i < hooks.size(); ++i)
    if (auto s = run_hook(hooks[i], state_json, "hooks." + kind + "[" + std::to_string(i) + "]"); !s) return s;
  return ok();
}

// ---- the container's namespaces and processes ------------------------------------------

struct NsKind {
  std::uint64_t flag;
  const char* proc_name;
};
constexpr NsKind kNsKinds[] = {{CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mnt"},   {CLONE_NEWUTS, "uts"},
                               {CLONE_NEWIPC, "ipc"},   {CLONE_NEWNET, "net"},  {CLONE_NEWCGROUP, "cgroup"},
                               {CLONE_NEWTIME, "time"}, {CLONE_NEWPID, "pid"}};

unsigned long long ns_inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The members of namespace `kind` (a /proc/PID/ns name) whose inode is `ino`, but `skip`.
void ns_members(const char* kind, unsigned long long ino, pid_t skip, std::vector<int>& out) {
  DIR* d = ::opendir("/proc");
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid == skip) continue;
    if (ns_inode("/proc/" + std::string(e->d_name) + "/ns/" + kind) == ino) out.push_back(static_cast<int>(pid));
  }
  ::closedir(d);
}

// The init is PID 1 of its PID namespace (the last NSpid), i.e. the namespace is its own
// and not one it joined (a pod's, under CRI).
bool init_owns_pid_ns(pid_t pid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/status", "status");
  if (!text) return false;
  auto at = text->find("\nNSpid:");
  if (at == std::string::npos) return false;
  std::string line = text->substr(at + 1, text->find('\n', at + 1) - at - 1);
  auto last = line.find_last_of(" \t");
  return last != std::string::npos && line.substr(last + 1) == "1" && line.find_first_of(" \t") != last;
}

// The processes of a container: its init and those in its PID namespace when that is its
// own. A PID namespace it joined (a pod's) holds other containers too: then those in its
// cgroup (exec joins it; they are found after the init is gone as well), or without one
// those in its mount namespace (rdbox makes one per container). Never the host's own
// namespaces' members.
std::vector<int> container_pids(const ContainerState& s) {
  std::vector<int> out;
  bool alive = init_alive(s.pid, s.starttime);
  if (alive) out.push_back(s.pid);
  std::string base = "/proc/" + std::to_string(s.pid) + "/ns/";
  if (alive && init_owns_pid_ns(s.pid)) {
    unsigned long long ino = ns_inode(base + "pid");
    if (ino && ino != ns_inode("/proc/self/ns/pid")) ns_members("pid", ino, s.pid, out);
    return out;
  }
  if (!s.cgroup_dirs.empty()) {
    for (pid_t pid : cgroup_procs(s.cgroup_dirs))
      if (pid != s.pid || !alive) out.push_back(static_cast<int>(pid));
    return out;
  }
  unsigned long long ino = alive ? ns_inode(base + "mnt") : 0;
  if (ino && ino != ns_inode("/proc/self/ns/mnt")) ns_members("mnt", ino, s.pid, out);
  return out;
}

// Every container has a mount namespace other than rdbox's (config.cpp requires a new one
// or one joined by path, where the root is pivoted: never rdbox's own), and its processes
// never enter rdbox's: one that shares rdbox's is no container's process,
// whatever the state says (a state naming pid 1, a cgroup of the host's), and is not
// signalled.
Status check_outside_rdbox(pid_t pid) {
  unsigned long long mnt = ns_inode("/proc/" + std::to_string(pid) + "/ns/mnt");
  if (mnt && mnt == ns_inode("/proc/self/ns/mnt"))
    return Error::input("process " + std::to_string(pid), "is not the container's (it shares rdbox's mount namespace)");
  return ok();
}

Status signal_process(pid_t pid, unsigned long long starttime, int sig) {
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return Error::sys("kill " + std::to_string(pid), errno);
  if (starttime && process_starttime(pid) != starttime) return Error::sys("kill " + std::to_string(pid), ESRCH);
  if (auto s = check_outside_rdbox(pid); !s) return s;
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0)
    return Error::sys("kill " + std::to_string(pid), errno);
  return ok();
}

bool wait_stopped(const ContainerState& s, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (!init_alive(s.pid, s.starttime)) return true;
    ::usleep(10000);
  }
  return false;
}

// Namespaced sysctls, written from a helper that joined the container's namespaces (the
// net and ipc files under /proc/sys are those of the writer's namespaces).
Status apply_sysctls(pid_t pid, const std::vector<std::pair<std::string, std::string>>& sysctl) {
  if (sysctl.empty()) return ok();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::sys("linux.sysctl", errno);
  Fd rd(p[0]), wr(p[1]);
  pid_t child = ::fork();
  if (child < 0) return Error::sys("linux.sysctl", errno);
  if (child == 0) {
    std::string base = "/proc/" + std::to_string(pid) + "/ns/";
    for (const char* k : {"user", "net", "ipc", "uts"}) {
      if (ns_inode(base + k) == ns_inode(std::string("/proc/self/ns/") + k)) continue;
      int fd = ::open((base + k).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, 0) != 0) {
        int e = errno;
        (void)!::write(wr.get(), &e, sizeof e);
        ::_exit(1);
      }
      ::close(fd);
    }
    for (const auto& [key, value] : sysctl) {
      std::string path = "/proc/sys/" + key;
      for (std::size_t i = 10; i < path.size(); ++i)
        if (path[i] == '.') path[i] = '/';
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        int e = errno;
        (void)!::write(wr.get(), &e, sizeof e);
        ::_exit(2);
      }
      ::close(fd);
    }
    ::_exit(0);
  }
  wr.reset();
  int e = 0;
  ssize_t n = ::read(rd.get(), &e, sizeof e);
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (n == sizeof e || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return Error::sys("linux.sysctl", n == sizeof e ? e : EIO);
  return ok();
}

// Waits for the stub's kReady at the start barrier (or its failure record, or its end).
Status await_ready(Instance::Detached& d, const Plan& plan, const Globals& g) {
  for (const auto& r : d.early_records)
    if (r.severity == kFatal)
      return Error::sys(describe_failure(plan, static_cast<Step>(r.step), r.item, r.err), r.err);
  for (;;) {
    struct pollfd pf {d.report.get(), POLLIN, 0};
    int n = ::poll(&pf, 1, 120000);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Error::input("create", "the container was not set up within 120 s");
    StubRecord r{};
    ssize_t got;
    do got = ::read(d.report.get(), &r, sizeof r);
    while (got < 0 && errno == EINTR);
    if (got == 0) return Error::input("create", "the container's init ended during its setup");
    if (got != static_cast<ssize_t>(sizeof r)) return Error::sys("create: report pipe", got < 0 ? errno : EIO);
    if (r.severity == kReady && r.step == static_cast<std::uint32_t>(Step::barrier)) return ok();
    if (r.severity == kWarning)
      warn(g, describe_failure(plan, static_cast<Step>(r.step), r.item, r.err) + ": " + std::strerror(r.err));
    if (r.severity == kFatal) {
      std::string what = describe_failure(plan, static_cast<Step>(r.step), r.item, r.err);
      return Error::sys(what, r.err);
    }
  }
}

// Joins `pid` to the cgroups the init is in (every hierarchy: v2, and v1 on a hybrid host).
void join_cgroups_of(pid_t init, pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(init) + "/cgroup");
  std::ifstream mine("/proc/self/cgroup");
  std::string own = "\n" + std::string((std::istreambuf_iterator<char>(mine)), std::istreambuf_iterator<char>());
  std::string line;
  while (std::getline(in, line)) {
    // The same cgroup as rdbox's (a whole line: "/a/b" is not "/a/b-shim"): nothing to do.
    if (own.find("\n" + line + "\n") != std::string::npos) continue;
    auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
    if (path.find("..") != std::string::npos) continue;
    std::string dir;
    if (controllers.empty()) {
      dir = ::access("/sys/fs/cgroup/unified", F_OK) == 0 ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
    } else {
      if (controllers.rfind("name=", 0) == 0) controllers = controllers.substr(5);
      dir = "/sys/fs/cgroup/" + controllers;
    }
    std::ofstream procs(dir + path + "/cgroup.procs");
    if (procs) procs << pid << std::flush;
  }
}

// process.oomScoreAdj, written for the process before it runs (create's init, waiting at
// its gate; exec: rdbox's own, before the clone); children inherit it.
Status set_oom_score_adj(pid_t pid, std::optional<int> value) {
  if (!value) return ok();
  std::string text = std::to_string(*value);
  Fd fd(::open(("/proc/" + std::to_string(pid) + "/oom_score_adj").c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    int e = errno;
    return Error::sys("process.oomScoreAdj " + text + (e == EACCES ? " (lowering it needs CAP_SYS_RESOURCE)" : ""), e);
  }
  return ok();
}

Status write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return ok();
  return write_file_atomic(path, std::to_string(pid), 0644);
}

// The PID namespace given by path is joined by rdbox itself before the clone: a setns
// into a PID namespace takes effect for children only. The entry leaves the config.
// Without CAP_SYS_ADMIN in its own user namespace rdbox may not (rootless): *relay then
// holds the entry, for the stub to join after the user namespace and fork into.
// With `back`, rdbox's own PID namespace is kept there, for the children rdbox forks after
// the container's (hooks, the sysctl helper) to be made in it again (OwnPidNamespace).
Status join_pid_namespace(SandboxConfig& c, std::optional<NamespaceEntry>* relay = nullptr, Fd* back = nullptr) {
  for (auto it = c.namespaces.begin(); it != c.namespaces.end(); ++it) {
    if (it->kind != CLONE_NEWPID || it->path.empty()) continue;
    if (ns_inode(it->path) == ns_inode("/proc/self/ns/pid")) {
      c.namespaces.erase(it);
      return ok();
    }
    Fd fd(::open(it->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::sys(it->origin + " \"" + it->path + "\"", errno);
    if (back) {
      back->reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
      if (!*back) return Error::sys("/proc/self/ns/pid", errno);
    }
#ifdef RDBOX_LSAN
    // LeakSanitizer's check at exit stops the world from a child process, which would be
    // in the joined PID namespace, unable to see rdbox's threads (it hangs): check now.
    __lsan_do_leak_check();
#endif
    if (::setns(fd.get(), CLONE_NEWPID) != 0) {
      if (errno != EPERM || !relay) return Error::sys(it->origin + " \"" + it->path + "\": setns", errno);
      *relay = *it;
    }
    c.namespaces.erase(it);
    return ok();
  }
  return ok();
}

// Makes rdbox's children in its own PID namespace again when it goes (every path).
struct OwnPidNamespace {
  Fd fd;
  ~OwnPidNamespace() {
    if (fd) (void)::setns(fd.get(), CLONE_NEWPID);
  }
};

ContainerState new_state(const Bundle& b, const std::string& id) {
  ContainerState s;
  s.oci_version = b.oci_version;
  s.id = id;
  s.bundle = b.bundle_dir;
  s.created = rfc3339_now();
  s.owner = owner_name(::geteuid());
  s.annotations = b.annotations;
  s.rootless = ::geteuid() != 0;
  return s;
}

Status check_cgroup_manager(const Globals& g, Bundle& b) {
  bool systemd = g.systemd_cgroup || g.cgroup_manager == "systemd";
  if (!g.cgroup_manager.empty() && g.cgroup_manager != "cgroupfs" && g.cgroup_manager != "systemd" &&
      g.cgroup_manager != "disabled")
    return Error::input("--cgroup-manager", "\"" + g.cgroup_manager + "\" is none of cgroupfs, systemd, disabled");
  if (systemd && ::access("/run/systemd/system", F_OK) != 0)
    return Error::input(g.systemd_cgroup ? "--systemd-cgroup" : "--cgroup-manager systemd",
                        "this host does not run systemd (use --cgroup-manager cgroupfs)");
  if (systemd) warn(g, "the systemd cgroup manager is not implemented: cgroupsPath is used as a cgroupfs path");
  if (g.cgroup_manager == "disabled") b.config.cgroup.reset();
  return ok();
}

struct Created {
  Plan plan;
  ChildStack stack;
  std::unique_ptr<Instance> inst;
};

// What create and run share: the bundle, the plan, the instance (its gate closed).
Status build(const Globals& g, const CreateArgs& a, Bundle& b, bool fifo_gate, Fd& fifo, Created& out) {
  for (const auto& w : b.warnings) warn(g, w);
  if (auto s = check_cgroup_manager(g, b); !s) return s;
  if (!b.hooks.start_container.empty())
    warn(g, "hooks.startContainer: not run (rdbox has no step inside the container before the process)");
  ProcessConfig& pc = b.config.processes[0];
  if (a.preserve_fds < 0 || a.preserve_fds > 65536) return Error::input("--preserve-fds", "must be from 0 to 65536");
  pc.preserve_fds = a.preserve_fds;
  b.config.launch.new_session = true;
  b.config.launch.die_with_parent = !fifo_gate;
  if (!a.no_new_keyring) b.config.new_session_keyring = true;
  if (b.process.terminal) {
    if (a.console_socket.empty() && fifo_gate)
      return Error::input("process.terminal", "is true: --console-socket is required");
    b.config.launch.console = !a.console_socket.empty();  // made inside, its master sent there
  }
  OwnPidNamespace own_pid_ns;
  if (auto s = join_pid_namespace(b.config, nullptr, &own_pid_ns.fd); !s) return s;
  if (auto s = validate(b.config); !s) return s;
  if (b.process.umask) ::umask(*b.process.umask);
  auto p = plan(b.config, HostFacts::probe(b.config));
  if (!p) return p.error();
  out.plan = std::move(p.value());
  if (fifo_gate) out.plan.start_fifo = std::move(fifo);
  for (const auto& w : out.plan.warnings) warn(g, w);
  Step failed = Step::spawn;
  auto inst = Instance::create(out.plan, out.stack, false, &failed);
  out.plan.console_child.reset();  // the child's now: EOF on ours if it ends without a terminal
  if (!inst) return inst.error();
  out.inst = std::move(inst.value());
  return ok();
}

// The container's cgroup directories, once its processes are gone (rmdir retried briefly:
// the kernel frees a cgroup a moment after its last process is reaped).
// The parents create made for an exact cgroupsPath ("/default" of "/default/ID") go when
// empty (one try each: a sibling container keeps them).
void remove_cgroups(const std::vector<std::string>& dirs, const std::vector<std::string>& parents) {
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    for (int i = 0; i < 100 && ::rmdir(it->c_str()) != 0 && errno == EBUSY; ++i) ::usleep(10000);
  for (const auto& p : parents) ::rmdir(p.c_str());
}

void take_down(Instance::Detached& d) {
  if (!d.pidfd) {
    remove_cgroups(d.cgroup_dirs, d.cgroup_parents);
    return;
  }
  ::syscall(SYS_pidfd_send_signal, d.pidfd.get(), SIGKILL, nullptr, 0);
  siginfo_t si;
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(d.pidfd.get()), &si, WEXITED) < 0 && errno == EINTR) {
  }
  d.pidfd.reset();
  remove_cgroups(d.cgroup_dirs, d.cgroup_parents);
}

}  // namespace

Status create(const Globals& g, const CreateArgs& a) {
  if (auto s = check_id(a.id); !s) return s;
  if (auto s = reexec_from_sealed_copy(); !s) return s;
  if (::geteuid() == 0) make_undumpable();
  auto b = load_bundle(a.bundle, true);
  if (!b) return b.error();
  auto dir = ContainerDir::create(root_of(g), a.id);
  if (!dir) return dir.error();
  if (::mkfifo(dir->fifo_path().c_str(), 0600) != 0) return Error::sys("exec fifo \"" + dir->fifo_path() + "\"", errno);
  Fd fifo(::open(dir->fifo_path().c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo) return Error::sys("exec fifo \"" + dir->fifo_path() + "\"", errno);
  Created c;
  if (auto s = build(g, a, *b, true, fifo, c); !s) return s;
  Instance::Detached d = c.inst->detach();
  auto fail = [&](Error e) -> Status {
    take_down(d);
    return e;
  };
  if (auto s = await_ready(d, c.plan, g); !s) return fail(s.error());
  if (c.plan.console)
    if (auto s = forward_console(c.plan, a.console_socket); !s) return fail(s.error());
  if (auto s = set_oom_score_adj(d.pid, b->process.oom_score_adj); !s) return fail(s.error());
  if (auto s = apply_sysctls(d.pid, b->sysctl); !s) return fail(s.error());
  ContainerState st = new_state(*b, a.id);
  st.pid = d.pid;
  st.starttime = process_starttime(d.pid);
  st.cgroup_dirs = d.cgroup_dirs;
  st.cgroup_parents = d.cgroup_parents;
  st.status = "created";
  if (auto s = dir->write(st); !s) return fail(s.error());
  std::string state_text = to_json(st, false);
  for (auto* hooks : {&b->hooks.prestart, &b->hooks.create_runtime, &b->hooks.create_container}) {
    const char* kind = hooks == &b->hooks.prestart ? "prestart" : hooks == &b->hooks.create_runtime ? "createRuntime" : "createContainer";
    if (auto s = run_hooks(*hooks, state_text, kind); !s) return fail(s.error());
  }
  if (auto s = write_pid_file(a.pid_file, d.pid); !s) return fail(s.error());
  dir->keep();
  return ok();
}

Status start(const Globals& g, const std::string& id) {
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  if (st->status != "created")
    return Error::input("container \"" + id + "\"", "is " + st->status + ", not created: it cannot be started");
  Fd fifo(::open(dir->fifo_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!fifo) return Error::sys("container \"" + id + "\": exec fifo", errno == ENXIO ? ESRCH : errno);
  struct stat fst {};
  if (::fstat(fifo.get(), &fst) != 0 || !S_ISFIFO(fst.st_mode))
    return Error::input("container \"" + id + "\": exec fifo", "is not a fifo");
  char one = 1;
  if (::write(fifo.get(), &one, 1) != 1) return Error::sys("container \"" + id + "\": exec fifo", errno);
  fifo.reset();
  ::unlink(dir->fifo_path().c_str());
  st->started = true;
  st->status = "running";
  if (auto s = dir->write(*st); !s) return s;
  auto b = load_bundle(st->bundle, false);
  if (b && !b->hooks.poststart.empty())
    if (auto s = run_hooks(b->hooks.poststart, to_json(*st, false), "poststart"); !s) warn(g, s.error().what());
  return ok();
}

Expected<std::string> state(const Globals& g, const std::string& id) {
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  return to_json(*st);
}

Status kill(const Globals& g, const std::string& id, const std::string& signal, bool all) {
  int sig = signal_number(signal);
  if (sig < 0) return Error::input("signal \"" + signal + "\"", "is not a signal name or number");
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  if (st->status == "stopped" && !all) return Error::input("container \"" + id + "\"", "is not running");
  if (!all) return signal_process(st->pid, st->starttime, sig);
  // Stopped, with --all: no error (runc's rule); what its init left in a PID namespace
  // it shared (containerd's shim kills it after the init's exit) is still signalled.
  for (int pid : container_pids(*st))
    (void)signal_process(pid, pid == st->pid ? st->starttime : 0, sig);
  return ok();
}

Status remove(const Globals& g, const std::string& id, bool force) {
  if (auto s = check_id(id); !s) return s;
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) {
    // containerd deletes with --force once more after a delete: that is no error.
    if (force && dir.error().message == "does not exist") return ok();
    return dir.error();
  }
  auto st = dir->read();
  if (!st) return dir->remove();  // a create that crashed before its state: clean it
  if (st->status != "stopped")
    if (auto s = check_outside_rdbox(st->pid); !s) return s;
  if (st->status == "running" || st->status == "paused") {
    if (!force)
      return Error::input("container \"" + id + "\"", "is " + st->status + ": stop it first, or delete --force");
  }
  // Stopped, a container that shared a PID namespace may have left processes (in its
  // cgroup): they go too, as runc's destroy does.
  for (int pid : container_pids(*st)) (void)signal_process(pid, pid == st->pid ? st->starttime : 0, SIGKILL);
  if (st->status != "stopped") {
    // A frozen process dies once thawed (v1 keeps even SIGKILL pending until then).
    if (st->status == "paused") (void)cgroup_freeze(st->cgroup_dirs, false);
    if (!wait_stopped(*st, 10000)) return Error::input("container \"" + id + "\"", "did not stop within 10 s of SIGKILL");
  }
  remove_cgroups(st->cgroup_dirs, st->cgroup_parents);
  st->status = "stopped";
  auto b = load_bundle(st->bundle, false);
  if (b && !b->hooks.poststop.empty())
    if (auto s = run_hooks(b->hooks.poststop, to_json(*st, false), "poststop"); !s) warn(g, s.error().what());
  return dir->remove();
}

Expected<int> run(const Globals& g, const CreateArgs& a) {
  if (a.detach) {
    if (auto s = create(g, a); !s) return s.error();
    if (auto s = start(g, a.id); !s) {
      (void)remove(g, a.id, true);
      return s.error();
    }
    return 0;
  }
  if (auto s = check_id(a.id); !s) return s.error();
  if (auto s = reexec_from_sealed_copy(); !s) return s.error();
  if (::geteuid() == 0) make_undumpable();
  auto b = load_bundle(a.bundle, true);
  if (!b) return b.error();
  auto dir = ContainerDir::create(root_of(g), a.id);
  if (!dir) return dir.error();
  // Signals to rdbox reach the container; rdbox reaps what its process leaves.
  auto sup = Supervisor::create({true, true, false});
  if (!sup) return sup.error();
  Created c;
  Fd fifo;
  CreateArgs args = a;
  if (auto s = build(g, args, *b, false, fifo, c); !s) return s.error();
  if (c.plan.console)
    if (auto s = forward_console(c.plan, a.console_socket); !s) return s.error();  // the Instance ends the init
  ContainerState st = new_state(*b, a.id);
  st.pid = c.inst->pid();
  st.starttime = process_starttime(st.pid);
  st.status = "created";
  if (auto s = set_oom_score_adj(st.pid, b->process.oom_score_adj); !s) return s.error();
  if (auto s = dir->write(st); !s) return s.error();
  std::string state_text = to_json(st, false);
  for (auto* hooks : {&b->hooks.prestart, &b->hooks.create_runtime, &b->hooks.create_container}) {
    const char* kind = hooks == &b->hooks.prestart ? "prestart" : hooks == &b->hooks.create_runtime ? "createRuntime" : "createContainer";
    if (auto s = run_hooks(*hooks, state_text, kind); !s) return s.error();  // the Instance kills and reaps the init
  }
  if (auto s = write_pid_file(a.pid_file, st.pid); !s) return s.error();
  if (auto s = c.inst->start(); !s) {
    // The stub ended before the gate (a setup step failed): its record says which.
    Outcome out;
    c.inst->wait(*sup.value(), out, {});
    if (out.kind == OutcomeKind::setup_failed || out.kind == OutcomeKind::spawn_failed) return Error::input("run", out.message);
    return s.error();
  }
  st.started = true;
  st.status = "running";
  (void)dir->write(st);
  if (!b->hooks.poststart.empty())
    if (auto s = run_hooks(b->hooks.poststart, to_json(st, false), "poststart"); !s) warn(g, s.error().what());
  Outcome out;
  c.inst->wait(*sup.value(), out, {});
  st.status = "stopped";
  if (!b->hooks.poststop.empty())
    if (auto s = run_hooks(b->hooks.poststop, to_json(st, false), "poststop"); !s) warn(g, s.error().what());
  if (out.kind == OutcomeKind::setup_failed || out.kind == OutcomeKind::spawn_failed)
    return Error::input("run", out.message);
  return out.exit_code();
}

Status pause(const Globals& g, const std::string& id) {
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  if (st->status != "running" && st->status != "created")
    return Error::input("container \"" + id + "\"", "is " + st->status + ", not running or created: it cannot be paused");
  if (st->cgroup_dirs.empty() || cgroup_freezer_state(st->cgroup_dirs) == FreezerState::none)
    return Error::input("container \"" + id + "\"",
                        "has no cgroup freezer to pause it with (its config.json has no linux.cgroupsPath, or it is "
                        "rootless)");
  return cgroup_freeze(st->cgroup_dirs, true);
}

Status resume(const Globals& g, const std::string& id) {
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  if (st->status != "paused") return Error::input("container \"" + id + "\"", "is " + st->status + ", not paused");
  return cgroup_freeze(st->cgroup_dirs, false);
}

namespace {

// update's options over the --resources file's values (runc's precedence).
void apply_update_flags(const UpdateArgs& a, CgroupConfig& cg) {
  if (a.memory) cg.memory_max = *a.memory;
  if (a.memory_swap) cg.memory_swap_max = *a.memory_swap;
  if (a.memory_reservation) cg.memory_reservation = *a.memory_reservation;
  if (a.pids_limit) cg.pids_max = *a.pids_limit;
  if (a.cpu_quota) cg.cpu_quota_us = *a.cpu_quota;
  if (a.cpu_period) cg.cpu_period_us = *a.cpu_period;
  if (a.cpu_shares) cg.cpu_shares = *a.cpu_shares;
  if (a.blkio_weight) cg.blkio_weight = *a.blkio_weight;
  if (!a.cpuset_cpus.empty()) cg.cpuset_cpus = a.cpuset_cpus;
  if (!a.cpuset_mems.empty()) cg.cpuset_mems = a.cpuset_mems;
}

}  // namespace

Status update(const Globals& g, const UpdateArgs& a) {
  CgroupConfig cg;
  cg.origin = "update";
  if (!a.resources_path.empty()) {
    auto text = a.resources_path == "-" ? read_bounded(0, "--resources (stdin)") : read_small_file(a.resources_path, "--resources");
    if (!text) return text.error();
    auto parsed = parse_resources_text(*text, "--resources");
    if (!parsed) return parsed.error();
    cg = *parsed;
  }
  apply_update_flags(a, cg);
  if (!cg.any_limit())
    return Error::input("update", "nothing to change (give --resources FILE or a limit such as --memory)");
  if (!cg.devices.empty())
    for (const auto& r : default_device_rules()) cg.devices.push_back(r);
  auto dir = ContainerDir::open(root_of(g), a.id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  if (st->status == "stopped") return Error::input("container \"" + a.id + "\"", "is stopped: nothing to update");
  if (st->cgroup_dirs.empty())
    return Error::input("container \"" + a.id + "\"", "has no cgroup (its config.json has no linux.cgroupsPath, or it "
                                                      "is rootless)");
  return cgroup_update(st->cgroup_dirs, cg);
}

std::vector<ListEntry> list(const Globals& g) {
  std::vector<ListEntry> out;
  std::string root = root_of(g);
  for (const auto& id : list_ids(root)) {
    auto dir = ContainerDir::open(root, id);
    if (!dir) continue;
    auto st = dir->read();
    ListEntry e;
    e.id = id;
    e.status = st ? st->status : "stopped";
    if (st) {
      e.pid = st->status == "stopped" ? 0 : st->pid;
      e.bundle = st->bundle;
      e.created = st->created;
      e.owner = st->owner;
    }
    out.push_back(e);
  }
  return out;
}

Expected<std::vector<int>> processes(const Globals& g, const std::string& id) {
  auto dir = ContainerDir::open(root_of(g), id);
  if (!dir) return dir.error();
  auto st = dir->read();
  if (!st) return st.error();
  return container_pids(*st);
}

// The exec'd process: the container's, or the --process JSON's, with the command line's
// overrides (its args, --tty, --cwd, --env, --user, --cap, --no-new-privs, --preserve-fds).
Status exec_process(const ExecArgs& a, ProcessConfig& pc, ProcessExtras& extras) {
  if (!a.process_file.empty()) {
    auto text = read_small_file(a.process_file, "--process");
    if (!text) return text.error();
    auto p = parse_process(*text, &extras);
    if (!p) {
      Error e = p.error();
      e.context = "--process: " + e.context;
      return e;
    }
    pc = std::move(p.value());
  } else {
    if (a.args.empty()) return Error::input("exec", "needs a command (or --process FILE)");
    pc.argv = a.args;
    extras.terminal = a.tty;
  }
  if (a.tty_given) extras.terminal = a.tty;
  if (!a.cwd.empty()) {
    if (a.cwd[0] != '/') return Error::input("--cwd", "must be an absolute path");
    pc.cwd = a.cwd;
  }
  for (const auto& e : a.env) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) return Error::input("--env \"" + e + "\"", "is not KEY=VALUE");
    std::string key = e.substr(0, eq + 1);
    bool replaced = false;
    for (auto& cur : pc.env)
      if (cur.compare(0, key.size(), key) == 0) cur = e, replaced = true;
    if (!replaced) pc.env.push_back(e);
  }
  if (!a.user.empty()) {
    auto u = parse_user(a.user);
    if (!u) return Error::input("--user", u.error().message);
    pc.user = *u;
  }
  for (const auto& cap : a.cap_add) {
    int n = capability_number(cap);
    if (n < 0) return Error::input("--cap \"" + cap + "\"", "is not a capability name");
    if (!pc.caps) pc.caps = CapabilitySets{};
    for (auto* set : {&pc.caps->bounding, &pc.caps->effective, &pc.caps->permitted, &pc.caps->inheritable})
      *set |= 1ULL << n;
  }
  if (a.no_new_privs) pc.no_new_privs = true;
  if (a.preserve_fds < 0 || a.preserve_fds > 65536) return Error::input("--preserve-fds", "must be from 0 to 65536");
  pc.preserve_fds = a.preserve_fds;
  if (extras.terminal && a.detach && a.console_socket.empty())
    return Error::input("--tty", "with --detach needs --console-socket");
  return ok();
}

// Every namespace of the container's init that is not rdbox's own, to be joined by path.
Status container_namespaces(pid_t init, SandboxConfig& c) {
  std::string base = "/proc/" + std::to_string(init) + "/ns/";
  for (const auto& k : kNsKinds) {
    std::string path = base + (k.flag == CLONE_NEWTIME ? std::string("time") : std::string(k.proc_name));
    unsigned long long theirs = ns_inode(path);
    int err = errno;
    unsigned long long ours = ns_inode(std::string("/proc/self/ns/") + k.proc_name);
    // Unreadable (the init just ended, or hides itself): never run the process outside.
    if (!theirs && ours) return Error::sys("the container's " + std::string(k.proc_name) + " namespace", err);
    if (!theirs || theirs == ours) continue;
    c.namespaces.push_back({k.flag, path, std::string("the container's ") + k.proc_name + " namespace"});
  }
  return ok();
}

// A detached exec: the process's setup, until its exec (EOF on the report pipe with no
// failure record first); a failure ends it and is the error.
Status await_exec(Instance::Detached& d, const Plan& p) {
  for (;;) {
    StubRecord r{};
    ssize_t got;
    do got = ::read(d.report.get(), &r, sizeof r);
    while (got < 0 && errno == EINTR);
    if (got == 0) break;
    if (got != static_cast<ssize_t>(sizeof r)) break;
    if (r.severity == kFatal) {
      take_down(d);
      std::string what = describe_failure(p, static_cast<Step>(r.step), r.item, r.err);
      return Error::sys(what, r.err);
    }
  }
  return ok();
}

// The exec'd process's sandbox before its namespaces: cloned behind a start gate into
// a session of its own, with the container's seccomp profile.
SandboxConfig exec_config(const ExecArgs& a, const SandboxConfig& container, bool terminal) {
  SandboxConfig c;
  c.launch.mode = Mode::clone;
  c.launch.start_gate = true;
  c.launch.die_with_parent = !a.detach;
  c.launch.new_session = true;
  c.launch.console = terminal && !a.console_socket.empty();
  c.origins.user = "process.user";
  c.seccomp_profile = container.seccomp_profile;
  c.seccomp_name = container.seccomp_name;
  c.confinement = "container";
  return c;
}

Expected<int> exec(const Globals& g, const ExecArgs& a) {
  if (auto s = reexec_from_sealed_copy(); !s) return s.error();
  ContainerState st;
  {
    auto dir = ContainerDir::open(root_of(g), a.id);
    if (!dir) return dir.error();
    auto s = dir->read();
    if (!s) return s.error();
    st = *s;
  }  // the lock is not held while the process runs
  if (st.status == "stopped") return Error::input("container \"" + a.id + "\"", "is stopped: nothing to exec in");
  if (auto s = check_outside_rdbox(st.pid); !s) return s.error();  // its namespaces would be rdbox's own
  if (st.status == "paused" && !a.ignore_paused)
    return Error::input("container \"" + a.id + "\"", "is paused: resume it first (or exec --ignore-paused)");
  auto b = load_bundle(st.bundle, false);
  if (!b) return b.error();
  ProcessConfig pc = b->config.processes[0];
  ProcessExtras extras = b->process;
  if (auto s = exec_process(a, pc, extras); !s) return s.error();

  SandboxConfig c = exec_config(a, b->config, extras.terminal);
  if (auto s = container_namespaces(st.pid, c); !s) return s.error();
  c.processes.push_back(std::move(pc));
  std::optional<NamespaceEntry> pid_by_stub;
  if (auto s = join_pid_namespace(c, &pid_by_stub); !s) return s.error();
  if (auto s = validate(c); !s) return s.error();
  // The stub joins it (after the user namespace) and forks the process into it; it stays
  // outside as the relay that passes signals down and the status up (fork mode's --newpid).
  if (pid_by_stub) {
    if (a.detach)
      return Error::input("exec --detach", "into the container's PID namespace needs CAP_SYS_ADMIN here (rootless, "
                                           "the process would need a relay that outlives rdbox; not supported yet)");
    c.namespaces.push_back(*pid_by_stub);
  }
  if (extras.umask) ::umask(*extras.umask);
  auto p = plan(c, HostFacts::probe(c));
  if (!p) return p.error();
  if (pid_by_stub) {
    p->pid_fork = true;
    p->arg_start = 0;  // the relay keeps rdbox's argv: nothing of rdbox's is in it
    build_program(p.value());
  }
  // In the container's PID namespace its parent is outside (getppid() is 0): the stub
  // checks that rdbox is alive through the life pipe instead.
  if (p->die_with_parent) p->life_pipe = true;
  // Inherited by the process: the relay that forks it into the PID namespace (rootless)
  // is not rdbox's to write to once it joined the container's user namespace.
  if (auto s = set_oom_score_adj(::getpid(), extras.oom_score_adj); !s) return s.error();
  make_undumpable();  // after rdbox's own oom_score_adj: its /proc files are root's from here
  ChildStack stack;
  auto sup = a.detach ? Expected<std::unique_ptr<Supervisor>>(std::unique_ptr<Supervisor>())
                      : Supervisor::create({true, false, false});
  if (!sup) return sup.error();
  Step failed = Step::spawn;
  auto inst = Instance::create(p.value(), stack, false, &failed);
  if (!inst) return inst.error();
  join_cgroups_of(st.pid, inst.value()->pid());
  if (p->console)
    if (auto s = forward_console(p.value(), a.console_socket); !s) return s.error();
  if (!a.detach) {
    if (auto s = write_pid_file(a.pid_file, inst.value()->pid()); !s) return s.error();
    Outcome out;
    inst.value()->wait(*sup.value(), out, {});
    bool failed_to_run = out.kind == OutcomeKind::setup_failed || out.kind == OutcomeKind::spawn_failed ||
                         out.kind == OutcomeKind::exec_failed;
    if (failed_to_run) return Error::input("exec", out.message);
    return out.exit_code();
  }
  if (auto s = inst.value()->start(); !s) return s.error();
  Instance::Detached d = inst.value()->detach();
  if (auto s = await_exec(d, p.value()); !s) return s.error();
  if (auto s = write_pid_file(a.pid_file, d.pid); !s) return s.error();
  return 0;
}

std::string features_json() {
  json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = kSpecVersion;
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "poststart", "poststop"};
  j["mountOptions"] = json::array();
  for (const char* o : {"ro", "rw", "rro", "rrw", "nosuid", "suid", "rnosuid", "rsuid", "nodev", "dev", "rnodev", "rdev",
                        "noexec", "exec", "rnoexec", "rexec", "bind", "rbind", "private", "rprivate", "slave", "rslave",
                        "relatime", "noatime", "strictatime", "nodiratime"})
    j["mountOptions"].push_back(o);
  json linux_;
  linux_["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"};
  json caps = json::array();
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) caps.push_back(capability_name(cap));
  linux_["capabilities"] = caps;
  linux_["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}};
  linux_["seccomp"] = {{"enabled", true},
                       {"actions",
                        {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                         "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
                       {"operators",
                        {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                         "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
                       {"archs", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}}};
  linux_["apparmor"] = {{"enabled", false}};
  linux_["selinux"] = {{"enabled", false}};
  j["linux"] = linux_;
  j["annotations"] = {{"org.opencontainers.runtime-spec.features", "rdbox"}};
  return j.dump(2) + "\n";
}

std::string spec_json(bool rootless) {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json j;
  j["ociVersion"] = kSpecVersion;
  j["process"] = {{"terminal", true},
                  {"user", {{"uid", 0}, {"gid", 0}}},
                  {"args", {"sh"}},
                  {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
                  {"cwd", "/"},
                  {"capabilities",
                   {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
                  {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
                  {"noNewPrivileges", true}};
  j["root"] = {{"path", "rootfs"}, {"readonly", true}};
  j["hostname"] = "rdbox";
  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}});
  mounts.push_back({{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
  mounts.push_back({{"destination", "/dev/pts"},
                    {"type", "devpts"},
                    {"source", "devpts"},
                    {"options", rootless ? json{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
                                         : json{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}});
  mounts.push_back({{"destination", "/dev/shm"},
                    {"type", "tmpfs"},
                    {"source", "shm"},
                    {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}});
  mounts.push_back({{"destination", "/dev/mqueue"},
                    {"type", "mqueue"},
                    {"source", "mqueue"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  if (rootless)
    mounts.push_back({{"destination", "/sys"},
                      {"type", "none"},
                      {"source", "/sys"},
                      {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}});
  else
    mounts.push_back({{"destination", "/sys"},
                      {"type", "sysfs"},
                      {"source", "sysfs"},
                      {"options", {"nosuid", "noexec", "nodev", "ro"}}});
  j["mounts"] = mounts;
  json ns = json::array();
  for (const char* n : {"pid", "ipc", "uts", "mount"}) ns.push_back({{"type", n}});
  if (rootless) ns.push_back({{"type", "user"}});
  else ns.push_back({{"type", "network"}});
  json lin;
  lin["namespaces"] = ns;
  if (rootless) {
    lin["uidMappings"] = {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}};
    lin["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}};
  } else {
    lin["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  }
  lin["maskedPaths"] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"};
  lin["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  j["linux"] = lin;
  return j.dump(2) + "\n";
}

}  // namespace rdbox::oci
