// User namespaces: who writes the maps, and the parent's half of the handshake.
#include <cap-ng.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ns.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

extern char** environ;

namespace rdbox {

namespace {
bool have_cap(unsigned cap) {
  capng_clear(CAPNG_SELECT_BOTH);
  if (capng_get_caps_process() != 0) return ::geteuid() == 0;
  return capng_have_capability(CAPNG_EFFECTIVE, cap) != 0;
}

std::string map_text(const std::vector<IdMapRange>& ranges) {
  std::string t;
  for (const auto& r : ranges)
    t += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " + std::to_string(r.count) + "\n";
  return t;
}

bool is_self_map(const std::vector<IdMapRange>& ranges, std::uint32_t id) {
  return ranges.size() == 1 && ranges[0].outside == id && ranges[0].count == 1;
}

// Does /etc/subuid (or subgid) give this user a range? "name:start:count" or "uid:...".
bool has_subordinate_ids(const char* file, uid_t uid) {
  std::ifstream in(file);
  std::string line;
  std::string uid_s = std::to_string(uid);
  std::string name;
  if (const char* u = ::getenv("USER")) name = u;
  while (std::getline(in, line)) {
    std::string who = line.substr(0, line.find(':'));
    if (who == uid_s || (!name.empty() && who == name)) return true;
  }
  return false;
}


// The uid/gid maps, and who writes them: the stub itself (its own ids, no handshake) or
// rdbox while the stub waits (directly when privileged, else newuidmap/newgidmap).
Status plan_id_maps(const SandboxConfig& c, Plan& p, const HostFacts& facts) {
  uid_t euid = facts.euid;
  gid_t egid = facts.egid;
  p.uid_ranges = c.uid_maps.empty() ? std::vector<IdMapRange>{{0, euid, 1}} : c.uid_maps;
  p.gid_ranges = c.gid_maps.empty() ? std::vector<IdMapRange>{{0, egid, 1}} : c.gid_maps;
  p.uid_map = map_text(p.uid_ranges);
  p.gid_map = map_text(p.gid_ranges);
  bool self = is_self_map(p.uid_ranges, euid) && is_self_map(p.gid_ranges, egid);
  if (self) {
    // A process may map its own creator's ids into its new namespace itself (with
    // setgroups denied): no handshake, so this works with a suspended parent too.
    p.self_maps = true;
  } else {
    p.parent_maps = true;
    if (!facts.setuid_caps) {
      bool tools = ::access("/usr/bin/newuidmap", X_OK) == 0 && ::access("/usr/bin/newgidmap", X_OK) == 0;
      if (!tools)
        return Error::input(c.origins.uid_map, "multi-range maps for an unprivileged caller need newuidmap and newgidmap "
                                         "(Debian package uidmap), which are not installed (see rdbox doctor)");
      if (!has_subordinate_ids("/etc/subuid", euid) || !has_subordinate_ids("/etc/subgid", euid))
        return Error::input(c.origins.uid_map, "uid " + std::to_string(euid) +
                                             " has no range in /etc/subuid and /etc/subgid, so newuidmap will refuse "
                                             "these maps (see rdbox doctor)");
      p.use_newidmap = true;
    }
  }
  return ok();
}

// --user, checked against the maps; or root of the namespace when rdbox's maps cover 0.
Status plan_user(const SandboxConfig& c, Plan& p, bool newuser) {
  const std::optional<UserIds>& user = c.processes[0].user;
  const std::string& origin = c.origins.user;
  if (user && newuser) {
    auto mapped = [](const std::vector<IdMapRange>& ranges, std::uint32_t id) {
      for (const auto& r : ranges)
        if (id >= r.inside && id - r.inside < r.count) return true;
      return false;
    };
    std::uint32_t gid = user->gid.value_or(user->uid);
    if (!mapped(p.uid_ranges, user->uid))
      return Error::input(origin, "uid " + std::to_string(user->uid) + " is not mapped in the user namespace (uid_map: " +
                                        p.uid_map.substr(0, p.uid_map.size() - 1) + "); add a --uid-map that covers it");
    if (!mapped(p.gid_ranges, gid))
      return Error::input(origin, "gid " + std::to_string(gid) + " is not mapped in the user namespace (gid_map: " +
                                        p.gid_map.substr(0, p.gid_map.size() - 1) + "); add a --gid-map that covers it");
  }
  // Maps written by rdbox need not cover the creator's own ids: until it switches, the
  // stub is the overflow id inside, and files it creates (the /dev nodes in its tmpfs)
  // fail with EOVERFLOW. It becomes root of the namespace right after the maps, when they
  // have a 0, and the command's own ids come last.
  auto covers_zero = [](const std::vector<IdMapRange>& ranges) {
    for (const auto& r : ranges)
      if (r.inside == 0) return true;
    return false;
  };
  p.setup_as_root = p.parent_maps && covers_zero(p.uid_ranges) && covers_zero(p.gid_ranges);
  if (user) {
    p.set_user = true;
    p.uid = user->uid;
    p.gid = user->gid.value_or(user->uid);
  } else if (p.setup_as_root) {
    p.set_user = true;
    p.uid = p.gid = 0;
  }
  return ok();
}

}  // namespace

bool have_sys_admin() { return have_cap(CAP_SYS_ADMIN); }
bool have_setuid_caps() { return have_cap(CAP_SETUID) && have_cap(CAP_SETGID); }

// Namespaces at a path are joined (setns) before anything else, the user namespace first
// so that the others are joined with its privileges.
Status open_joins(const SandboxConfig& c, Plan& p) {
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& n : c.namespaces) {
      if (n.path.empty() || (pass == 0) != (n.kind == CLONE_NEWUSER)) continue;
      int fd = ::open(n.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Error::sys(n.origin + " \"" + n.path + "\"", errno);
      p.join_fds.emplace_back(fd);
      p.join_fd_numbers.push_back(fd);
      p.join_kinds.push_back(n.kind);
    }
  return ok();
}

Status plan_namespaces(const SandboxConfig& c, Plan& p, const HostFacts& facts) {
  std::uint64_t ns = 0, joined = 0;
  for (const auto& n : c.namespaces) (n.path.empty() ? ns : joined) |= n.kind;
  p.namespaces = ns;
  if (!ns && !joined && !c.processes[0].user) return ok();
  if (auto s = open_joins(c, p); !s) return s;
  bool newuser = ns & CLONE_NEWUSER;
  if (!newuser && !(joined & CLONE_NEWUSER) && (ns & ~std::uint64_t(CLONE_NEWUSER)) && !facts.sys_admin) {
    const NamespaceEntry* first = c.find_namespace(ns & -ns);
    return Error::input(first ? first->origin : "namespaces", "needs CAP_SYS_ADMIN, which uid " +
                                                                  std::to_string(facts.euid) +
                                                                  " does not have: add --newuser (see rdbox doctor)");
  }
  if (c.launch.mode == Mode::clone) {
    // clone(2) creates every namespace but time (CLONE_NEWTIME shares its bit with the
    // exit signal there): the stub unshares that one, and exec moves it in.
    p.clone_flags |= ns & ~std::uint64_t(CLONE_NEWTIME);
    p.unshare_flags = ns & CLONE_NEWTIME;
    p.setup_in = "child: clone(2) flags, then the exec stub";
  } else {
    p.unshare_flags = ns;
    p.setup_in = "child: unshare(2) in the exec stub";
  }
  p.new_pid = ns & CLONE_NEWPID;
  p.pid_fork = (ns & CLONE_NEWPID) && c.launch.mode == Mode::fork;
  if (p.pid_fork) p.setup_in = "child: unshare(2) in the exec stub, then a relay forks PID 1 (like unshare -f)";
  // setns(CLONE_NEWPID) moves only the caller's future children: a PID namespace given by
  // path is joined by the stub, which forks the process into it and stays outside as the
  // relay. (rdbox create and exec join it themselves before the clone where they may:
  // no relay then.)
  if (joined & CLONE_NEWPID) p.pid_fork = true;
  if (newuser)
    if (auto st = plan_id_maps(c, p, facts); !st) return st;
  if (c.time_offsets.monotonic) p.timens_lines.push_back("monotonic " + std::to_string(*c.time_offsets.monotonic) + " 0");
  if (c.time_offsets.boottime) p.timens_lines.push_back("boottime " + std::to_string(*c.time_offsets.boottime) + " 0");
  p.hostname = c.hostname;
  p.loopback = ns & CLONE_NEWNET;
  p.init = c.init;
  return plan_user(c, p, newuser);
}

namespace {
Status write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error::sys("open " + path, errno);
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Error::sys("write " + path, n < 0 ? e : EIO);
  return ok();
}

Status run_newidmap(const char* tool, pid_t child, const std::vector<IdMapRange>& ranges) {
  std::vector<std::string> args{tool, std::to_string(child)};
  for (const auto& r : ranges) {
    args.push_back(std::to_string(r.inside));
    args.push_back(std::to_string(r.outside));
    args.push_back(std::to_string(r.count));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawn(&pid, tool, nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return Error::sys(std::string("spawn ") + tool, rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::input(tool, "refused the map (exit status " + std::to_string(WEXITSTATUS(status)) +
                                  "; check /etc/subuid and /etc/subgid, see rdbox doctor)");
  return ok();
}
}  // namespace

Status write_id_maps(const Plan& p, pid_t child) {
  if (p.use_newidmap) {
    if (auto s = run_newidmap("/usr/bin/newuidmap", child, p.uid_ranges); !s) return s;
    return run_newidmap("/usr/bin/newgidmap", child, p.gid_ranges);
  }
  std::string base = "/proc/" + std::to_string(child) + "/";
  if (auto s = write_file(base + "uid_map", p.uid_map); !s) return s;
  return write_file(base + "gid_map", p.gid_map);
}

}  // namespace rdbox
