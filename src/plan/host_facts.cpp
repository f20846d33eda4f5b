// HostFacts::probe: the one place plan() learns about this process and its host.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "../ns/ns.hpp"

namespace rdbox {

namespace {
// Fields 48..51 of /proc/self/stat: arg_start, arg_end, env_start, env_end.
void read_blocks(HostFacts& f) {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[2048];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  std::string text(buf, static_cast<std::size_t>(n));
  auto paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return;
  unsigned long v[4] = {};
  std::size_t pos = paren + 2;
  for (int field = 3; field <= 51 && pos < text.size(); ++field) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    if (field >= 48) v[field - 48] = std::strtoul(text.c_str() + pos, nullptr, 10);
    pos = end + 1;
  }
  if (v[0] < v[1] && v[2] < v[3]) {
    f.arg_start = v[0];
    f.arg_end = v[1];
    f.env_start = v[2];
    f.env_end = v[3];
  }
}
}  // namespace

HostFacts HostFacts::probe(const SandboxConfig& c) {
  HostFacts f;
  f.euid = ::geteuid();
  f.egid = ::getegid();
  f.pid = ::getpid();
  std::uint64_t kinds = c.namespace_kinds();
  if (kinds & ~std::uint64_t(CLONE_NEWUSER)) f.sys_admin = have_sys_admin();
  if (!c.uid_maps.empty() || !c.gid_maps.empty()) f.setuid_caps = have_setuid_caps();
  f.tty_foreground = ::isatty(0) && ::tcgetpgrp(0) == ::getpgrp();
  // Signals the stub puts back to SIG_DFL: the ignored ones (SIG_IGN survives execve) and
  // the caught ones (a library host's handler must never run in a child that shares its
  // memory, in the short window before execve).
  for (int sig = 1; sig < 65; ++sig) {
    struct sigaction sa {};
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL) f.non_default_signals |= 1ULL << (sig - 1);
  }
  // The init, the fork-mode relay and a pipeline's parent at PID 1 overwrite their copy of
  // rdbox's argv and environment (without a new PID namespace rdbox itself is in view).
  const NamespaceEntry* pid = c.find_namespace(CLONE_NEWPID);
  if (c.init || (pid && (c.pipeline || c.launch.mode == Mode::fork))) read_blocks(f);
  return f;
}

}  // namespace rdbox
