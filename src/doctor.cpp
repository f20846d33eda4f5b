// rdbox doctor: what this host allows, and what to change when it does not.
#include "rdbox/doctor.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "runtime/cgroup.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace rdbox {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return {};
  return line;
}

bool write_text(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Runs `probe` in a forked child; returns 0 or the errno it exited with.
int in_child(const std::function<int()>& probe) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(probe());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

// unshare a user namespace (unless root) and map ourselves, as rdbox --newuser does.
int enter_userns(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER) != 0) return errno;
  write_text("/proc/self/setgroups", "deny");
  if (!write_text("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n")) return errno ? errno : EPERM;
  if (!write_text("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) return errno ? errno : EPERM;
  return 0;
}

int probe_overlay(bool as_root, uid_t uid, gid_t gid) {
  if (!as_root)
    if (int e = enter_userns(uid, gid)) return e;
  if (::unshare(CLONE_NEWNS) != 0) return errno;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  if (::mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0755") != 0) return errno;
  for (const char* d : {"/tmp/l", "/tmp/u", "/tmp/w", "/tmp/m"}) ::mkdir(d, 0755);
  if (::mount("overlay", "/tmp/m", "overlay", 0, "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w") != 0) return errno;
  return 0;
}

struct Report {
  std::ostringstream out;
  int problems = 0;
  void line(bool ok, const std::string& what, const std::string& detail, const std::string& fix = {}) {
    out << (ok ? "  ok   " : "  no   ") << what << ": " << detail << "\n";
    if (!ok && !fix.empty()) out << "       fix: " << fix << "\n";
    if (!ok) ++problems;
  }
  void info(const std::string& what, const std::string& detail) { out << "  --   " << what << ": " << detail << "\n"; }
};

bool subid_range(const char* file, uid_t uid, std::string& range) {
  std::ifstream in(file);
  std::string line, name;
  if (const char* u = ::getenv("USER")) name = u;
  while (std::getline(in, line)) {
    auto c = line.find(':');
    std::string who = line.substr(0, c);
    if (who == std::to_string(uid) || (!name.empty() && who == name)) {
      range = line.substr(c + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

namespace {
void check_userns(Report& r, uid_t uid, gid_t gid) {
  std::string clone_sysctl = read_first_line("/proc/sys/kernel/unprivileged_userns_clone");
  std::string max_userns = read_first_line("/proc/sys/user/max_user_namespaces");
  std::string apparmor = read_first_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (!clone_sysctl.empty())
    r.line(clone_sysctl == "1", "kernel.unprivileged_userns_clone", clone_sysctl,
           "sysctl -w kernel.unprivileged_userns_clone=1");
  r.line(max_userns != "0", "user.max_user_namespaces", max_userns.empty() ? "unknown" : max_userns,
         "sysctl -w user.max_user_namespaces=15000");
  if (!apparmor.empty())
    r.line(apparmor == "0", "kernel.apparmor_restrict_unprivileged_userns", apparmor,
           "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile allowing userns for rdbox");
  int userns = in_child([&] { return enter_userns(uid, gid); });
  r.line(userns == 0, "create a user namespace and map yourself (rdbox --newuser)",
         userns == 0 ? "works" : std::strerror(userns),
         "see the sysctls above; in a container, the runtime's seccomp profile may forbid unshare(CLONE_NEWUSER)");

}

void check_id_maps(Report& r, uid_t uid, bool root) {
  r.out << "\nid maps beyond your own id (--uid-map, --gid-map)\n";
  if (root) {
    bool nu = ::access("/usr/bin/newuidmap", X_OK) == 0;
    r.info("written by rdbox", std::string("you are root: rdbox writes any map itself (newuidmap ") +
                                   (nu ? "installed" : "not installed") + ", needed only by unprivileged users)");
  } else {
    bool nu = ::access("/usr/bin/newuidmap", X_OK) == 0, ng = ::access("/usr/bin/newgidmap", X_OK) == 0;
    r.line(nu && ng, "newuidmap/newgidmap", nu && ng ? "installed" : "missing", "apt-get install uidmap");
    std::string ru, rg;
    r.line(subid_range("/etc/subuid", uid, ru), "/etc/subuid range for uid " + std::to_string(uid),
           ru.empty() ? "none" : ru, "usermod --add-subuids 100000-165535 <user>");
    r.line(subid_range("/etc/subgid", uid, rg), "/etc/subgid range for uid " + std::to_string(uid),
           rg.empty() ? "none" : rg, "usermod --add-subgids 100000-165535 <user>");
  }

}

void check_filesystems(Report& r, uid_t uid, gid_t gid, bool root) {
  r.out << "\nfilesystems\n";
  int ovl = in_child([&] { return probe_overlay(root, uid, gid); });
  r.line(ovl == 0, root ? "overlayfs (--overlay)" : "rootless overlayfs (--overlay)", ovl == 0 ? "works" : std::strerror(ovl),
         root ? "modprobe overlay" : "needs Linux 5.11 or later (overlayfs in user namespaces)");

  r.out << "\ntime namespace\n";
  bool has_time = ::access("/proc/self/ns/time", F_OK) == 0;
  int timens = has_time ? in_child([&] {
    if (!root)
      if (int e = enter_userns(uid, gid)) return e;
    return ::unshare(CLONE_NEWTIME) == 0 ? 0 : errno;
  })
                        : ENOENT;
  r.line(timens == 0, "--newtime", timens == 0 ? "works" : std::strerror(timens), "needs Linux 5.6 with CONFIG_TIME_NS");

}

// Truthfully: each controller's cgroup is made (with a limit that changes nothing) and
// removed again, exactly as a run would, and the answer is whether that worked.
void check_cgroups(Report& r) {
  r.out << "\ncgroups (--memory, --pids, --cpus...)\n";
  for (const auto& place : cgroup_controllers()) {
    CgroupConfig c;
    c.origin = "--" + place.controller;
    if (place.controller == "memory") c.memory_max = std::int64_t{1} << 62;
    if (place.controller == "pids") c.pids_max = 4194304;
    if (place.controller == "cpu") c.cpu_weight = 100;
    std::string where = place.version ? "v" + std::to_string(place.version) + " " + place.path : "";
    if (!place.version) {
      r.line(false, place.controller, "not available", "the kernel or this host does not offer it");
      continue;
    }
    auto cg = Cgroup::create(c);
    r.line(static_cast<bool>(cg), place.controller, cg ? "usable (" + where + ")" : where + ": " + cg.error().what(),
           "as root, or with a cgroup delegated to you (systemd-run --user --scope -p Delegate=yes), "
           "and --cgroup-parent under it");
  }
}

void check_kernel(Report& r) {
  r.out << "\nkernel interfaces\n";
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  r.line(pfd >= 0, "pidfd_open", pfd >= 0 ? "works" : std::strerror(errno), "needs Linux 5.3");
  if (pfd >= 0) ::close(pfd);
  r.line(::syscall(SYS_close_range, ~0U, ~0U, 4U) == 0 || errno != EINVAL, "close_range(CLOSE_RANGE_CLOEXEC)",
         "checked", "needs Linux 5.11 (rdbox falls back to a loop)");

  // --rootfs resolves every target beneath the root and clones it by descriptor.
  long o2 = ::syscall(SYS_openat2, -1, "", nullptr, 0);
  r.line(o2 == 0 || errno != ENOSYS, "openat2, open_tree, move_mount (--rootfs)", o2 == 0 || errno != ENOSYS ? "present" : "missing",
         "needs Linux 5.6");
}
}  // namespace

DoctorResult doctor() {
  Report r;
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  bool root = uid == 0;
  struct utsname u {};
  ::uname(&u);
  r.out << "rdbox doctor: " << u.sysname << " " << u.release << ", running as uid " << uid << (root ? " (root)" : "")
        << "\n\nuser namespaces\n";
  check_userns(r, uid, gid);
  check_id_maps(r, uid, root);
  check_filesystems(r, uid, gid, root);
  check_cgroups(r);
  check_kernel(r);
  r.out << "\n" << (r.problems ? std::to_string(r.problems) + " problem(s) found" : "everything rdbox uses works here")
        << "\n";
  return {r.out.str(), r.problems};
}

}  // namespace rdbox
