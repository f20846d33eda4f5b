// The root filesystem and mount plan: an ordered list of typed MountSteps that the stub
// runs by index (bubblewrap's SetupOp shape, without its globals).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "ns.hpp"

namespace rdbox {

namespace {

constexpr unsigned long kRecursive = 0x8000;  // AT_RECURSIVE: remount_ro the whole tree

// The paths root/a, root/a/b, ... for rel "a/b" (empty components skipped).
std::vector<std::string> prefixes(const std::string& root, const std::string& rel) {
  std::vector<std::string> out;
  std::string cur = root;
  std::size_t i = 0;
  while (i < rel.size()) {
    while (i < rel.size() && rel[i] == '/') ++i;
    std::size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    if (j > i) {
      cur += "/" + rel.substr(i, j - i);
      out.push_back(cur);
    }
    i = j;
  }
  return out;
}

struct MountPlanner {
  Plan& p;

  const char* str(std::string s) {
    p.strings.push_back(std::move(s));
    return p.strings.back().c_str();
  }
  void add(MountOp op, MountGroup g, const char* src, const char* dst, const char* fstype = nullptr,
           unsigned long flags = 0, const char* data = nullptr, const char* fallback = nullptr) {
    p.mounts.push_back(MountStep{op, static_cast<std::uint16_t>(g), 0, flags, src, dst, fstype, data, fallback});
  }
  // mkdir -p of `path` below `root` (root itself must exist).
  void mkdirs(MountGroup g, const std::string& root, const std::string& path) {
    for (auto& dir : prefixes(root, path)) add(MountOp::mkdir, g, nullptr, str(std::move(dir)));
  }
  void bind(MountGroup g, const std::string& src, const std::string& dst, bool dir, const std::string& root,
            const std::string& rel) {
    if (dir) {
      mkdirs(g, root, rel);
    } else {
      auto slash = rel.rfind('/');
      if (slash != std::string::npos && slash > 0) mkdirs(g, root, rel.substr(0, slash));
      add(MountOp::touch, g, nullptr, str(dst));
    }
    add(MountOp::mount, g, str(src), str(dst), nullptr, MS_BIND | MS_REC);
  }
};

Expected<std::string> real_dir(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return Error::sys(std::string(what) + " \"" + path + "\"", errno);
  struct stat st {};
  if (::stat(buf, &st) != 0) return Error::sys(std::string(what) + " \"" + path + "\"", errno);
  if (!S_ISDIR(st.st_mode)) return Error::sys(std::string(what) + " \"" + path + "\"", ENOTDIR);
  return std::string(buf);
}

// Paths under the rootfs are resolved before pivot_root, from the host's root: a symlink
// in the rootfs would lead the stub's mkdir/mknod/mount out of it, onto the host. Refuse
// any target whose existing components include a symlink.
Status no_symlink_under(const std::string& root, const std::string& rel, const std::string& what) {
  for (const auto& cur : prefixes(root, rel)) {
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) return ok();  // the rest is created, inside the root
    if (S_ISLNK(st.st_mode))
      return Error::input(what, "\"" + cur.substr(root.size()) +
                                    "\" is a symlink in the rootfs; rdbox does not follow links out of it");
  }
  return ok();
}

bool rejects_dotdot(const std::string& p) {
  return p.find("/../") != std::string::npos || (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
}

}  // namespace

Status plan_mounts(const Spec& spec, Plan& p) {
  if (!(p.namespaces & CLONE_NEWNS)) return ok();
  MountPlanner m{p};
  // Nothing done in this namespace may propagate back to the host.
  m.add(MountOp::mount, kMountMisc, nullptr, "/", nullptr, MS_REC | MS_PRIVATE);

  bool newpid = p.namespaces & CLONE_NEWPID;
  // posix_spawn: rdbox mounts in itself, and a /proc mounted by rdbox shows rdbox's PID
  // namespace, not the child's. The host's /proc is bound instead, and the plan says so.
  bool self = spec.mode == Mode::spawn;
  if (self && newpid) {
    p.warnings.push_back("--mode spawn: /proc is the host's (a fresh /proc needs a process inside the new PID namespace)");
    newpid = false;
  }
  if (!spec.rootfs) {
    for (const auto& b : spec.binds) {
      if (rejects_dotdot(b.dst)) return Error::input(b.read_only ? "--ro-bind" : "--bind", "\"..\" in " + b.dst);
      struct stat st {}, dt {};
      if (::stat(b.src.c_str(), &st) != 0) return Error::sys("bind source \"" + b.src + "\"", errno);
      if (::stat(b.dst.c_str(), &dt) != 0)
        return Error::sys("bind destination \"" + b.dst + "\" (without --rootfs it must exist)", errno);
      m.add(MountOp::mount, kMountBinds, m.str(b.src), m.str(b.dst), nullptr, MS_BIND | MS_REC);
      if (b.read_only) m.add(MountOp::remount_ro, kMountBinds, nullptr, m.str(b.dst), nullptr, kRecursive);
    }
    for (const auto& t : spec.tmpfs) {
      struct stat dt {};
      if (::stat(t.c_str(), &dt) != 0) return Error::sys("--tmpfs \"" + t + "\" (without --rootfs it must exist)", errno);
      m.add(MountOp::mount, kMountBinds, "tmpfs", m.str(t), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    }
    if ((newpid || spec.mount_proc) && !self)
      m.add(MountOp::mount, kMountProc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    return ok();
  }

  auto root = real_dir(*spec.rootfs, "--rootfs");
  if (!root) return root.error();
  if (root.value() == "/") return Error::input("--rootfs", "must not be / (the host's root)");
  std::string new_root = root.value();
  if (spec.overlay) {
    // The rootfs is the lower layer; upper and work live in a tmpfs mounted over the
    // rootfs path itself (in our namespace only). The lower layer stays reachable through
    // an O_PATH descriptor that the stub opens in the new namespace (overlayfs refuses a
    // lower path on another namespace's mount) at a number rdbox reserved for it.
    int fd = ::open(root->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::sys("--rootfs \"" + *spec.rootfs + "\"", errno);
    p.rootfs_fd.reset(fd);
    m.add(MountOp::hold_fd, kMountOverlay, m.str(new_root), nullptr, nullptr, static_cast<unsigned long>(fd));
    m.add(MountOp::mount, kMountOverlay, "tmpfs", m.str(new_root), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    for (const char* d : {"/upper", "/work", "/merged"}) m.add(MountOp::mkdir, kMountOverlay, nullptr, m.str(new_root + d));
    std::string data = "lowerdir=/proc/self/fd/" + std::to_string(fd) + ",upperdir=" + new_root + "/upper,workdir=" +
                       new_root + "/work";
    m.add(MountOp::mount, kMountOverlay, "overlay", m.str(new_root + "/merged"), "overlay", 0, m.str(data));
    new_root += "/merged";
  } else {
    m.add(MountOp::mount, kMountMisc, m.str(new_root), m.str(new_root), nullptr, MS_BIND | MS_REC);
  }

  for (const char* fixed : {"/proc", "/dev", "/sys"})
    if (auto c = no_symlink_under(root.value(), fixed, "--rootfs"); !c) return c.error();
  for (const auto& b : spec.binds) {
    if (rejects_dotdot(b.dst)) return Error::input(b.read_only ? "--ro-bind" : "--bind", "\"..\" in " + b.dst);
    if (auto c = no_symlink_under(root.value(), b.dst, b.read_only ? "--ro-bind" : "--bind"); !c) return c.error();
    struct stat st {};
    if (::stat(b.src.c_str(), &st) != 0) return Error::sys("bind source \"" + b.src + "\"", errno);
    std::string dst = new_root + b.dst;
    m.bind(kMountBinds, b.src, dst, S_ISDIR(st.st_mode), new_root, b.dst);
    if (b.read_only) m.add(MountOp::remount_ro, kMountBinds, nullptr, m.str(dst), nullptr, kRecursive);
  }
  for (const auto& t : spec.tmpfs) {
    if (rejects_dotdot(t)) return Error::input("--tmpfs", "\"..\" in " + t);
    if (auto c = no_symlink_under(root.value(), t, "--tmpfs"); !c) return c.error();
    m.mkdirs(kMountBinds, new_root, t);
    m.add(MountOp::mount, kMountBinds, "tmpfs", m.str(new_root + t), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  }

  // /proc: a fresh one for a new PID namespace (the host's bound when the kernel refuses
  // it, e.g. rootless with an over-mounted host /proc); otherwise the host's.
  m.add(MountOp::mkdir, kMountProc, nullptr, m.str(new_root + "/proc"));
  if ((newpid || spec.mount_proc) && !self)
    m.add(MountOp::mount, kMountProc, "proc", m.str(new_root + "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          nullptr, "/proc");
  else
    m.add(MountOp::mount, kMountProc, "/proc", m.str(new_root + "/proc"), nullptr, MS_BIND | MS_REC);

  // A minimal /dev.
  std::string dev = new_root + "/dev";
  m.add(MountOp::mkdir, kMountDev, nullptr, m.str(dev));
  m.add(MountOp::mount, kMountDev, "tmpfs", m.str(dev), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string host = std::string("/dev/") + node;
    m.add(MountOp::touch, kMountDev, nullptr, m.str(dev + "/" + node));
    m.add(MountOp::mount, kMountDev, m.str(host), m.str(dev + "/" + node), nullptr, MS_BIND);
  }
  m.add(MountOp::mkdir, kMountDev, nullptr, m.str(dev + "/pts"));
  m.add(MountOp::mount, kMountDev, "devpts", m.str(dev + "/pts"), "devpts", MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620");
  p.mounts.back().best_effort = 1;  // some kernels refuse a new devpts instance: warn, go on
  m.add(MountOp::symlink, kMountDev, "pts/ptmx", m.str(dev + "/ptmx"));
  m.add(MountOp::mkdir, kMountDev, nullptr, m.str(dev + "/shm"));
  m.add(MountOp::mount, kMountDev, "tmpfs", m.str(dev + "/shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  m.add(MountOp::symlink, kMountDev, "/proc/self/fd", m.str(dev + "/fd"));
  m.add(MountOp::symlink, kMountDev, "/proc/self/fd/0", m.str(dev + "/stdin"));
  m.add(MountOp::symlink, kMountDev, "/proc/self/fd/1", m.str(dev + "/stdout"));
  m.add(MountOp::symlink, kMountDev, "/proc/self/fd/2", m.str(dev + "/stderr"));

  // /sys, read-only.
  m.add(MountOp::mkdir, kMountSys, nullptr, m.str(new_root + "/sys"));
  m.add(MountOp::mount, kMountSys, "/sys", m.str(new_root + "/sys"), nullptr, MS_BIND | MS_REC);
  m.add(MountOp::remount_ro, kMountSys, nullptr, m.str(new_root + "/sys"), nullptr, kRecursive);

  if (spec.read_only) m.add(MountOp::remount_ro, kMountMisc, nullptr, m.str(new_root));
  m.add(MountOp::pivot, kMountPivot, nullptr, m.str(new_root));
  return ok();
}

}  // namespace rdbox
