// The mount plan: the ordered MountEntry list — the rootfs recipe (/proc, /dev, /sys: data
// in config.cpp), then the user's entries as given — turned into the MountSteps the stub
// runs (bubblewrap's SetupOp shape, without its globals). rdbox's own mounts come first,
// so the user's land on top of them and a later entry on a destination wins.
//
// Nothing in the root the user gave is ever created or changed: a missing target is made
// only inside a layer the run owns (a tmpfs it mounted, the overlay's upper layer), or the
// run is refused up front, naming the target.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../ns/ns.hpp"

namespace rdbox {

namespace {

enum class LayerKind { host, rootfs, owned_empty, owned_over_rootfs, bind, special };
struct Layer {
  std::string dest;
  LayerKind kind;
  std::string source;  // bind: the host path
  int index = -1;      // its descriptor in the stub's layer table (-1: the host's root)
};
enum class Exists { dir, other, no, unknown };

bool is_under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

Exists stat_kind(int dirfd, const std::string& path, bool in_root) {
  struct stat st {};
  int r;
  if (in_root) {
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path == "/" ? "." : path.c_str() + 1, &how, sizeof how));
    if (fd < 0) return errno == ENOENT ? Exists::no : Exists::unknown;
    r = ::fstat(fd, &st);
    ::close(fd);
  } else {
    r = ::stat(path.c_str(), &st);
    if (r != 0) return errno == ENOENT ? Exists::no : Exists::unknown;
  }
  if (r != 0) return Exists::unknown;
  return S_ISDIR(st.st_mode) ? Exists::dir : Exists::other;
}

MountGroup group_of(const MountEntry& e) {
  if (e.type == MountType::proc) return kMountProc;
  if (e.origin != "--rootfs") return kMountBinds;  // the recipe's entries say --rootfs
  if (is_under(e.destination, "/proc")) return kMountProc;
  if (is_under(e.destination, "/dev")) return kMountDev;
  return kMountSys;
}

const char* fstype_of(MountType t) {
  switch (t) {
    case MountType::tmpfs: return "tmpfs";
    case MountType::proc: return "proc";
    case MountType::sysfs: return "sysfs";
    case MountType::devpts: return "devpts";
    case MountType::mqueue: return "mqueue";
    default: return nullptr;
  }
}

// MS_* option bits → the new mount API's MOUNT_ATTR_* (plus read-only).
unsigned long attrs_of(const MountEntry& e) {
  unsigned long a = 0;
  if (e.flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (e.flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (e.flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (e.read_only) a |= MOUNT_ATTR_RDONLY;
  return a;
}

struct Planner {
  explicit Planner(Plan& plan) : p(plan) {}
  Plan& p;
  int root_fd = -1;  // the rootfs (O_PATH), for existence checks beneath it
  bool create_in_root = false;  // OCI: a missing target is made in the rootfs itself
  std::vector<Layer> layers;
  std::map<std::string, bool> made;  // created so far in owned layers: path -> is a directory
  std::vector<std::string> masked_or_readonly;  // destinations of the mask and readonly steps so far
  std::set<std::string> masked_paths;           // those of them that are masks

  const char* str(std::string s) {
    p.strings.push_back(std::move(s));
    return p.strings.back().c_str();
  }
  // "a=1,b,c=2" → {"a", "1", "b", nullptr, "c", "2", nullptr}: fsconfig's keys and values.
  const char* const* options(const std::string& data) {
    std::vector<const char*> kv;
    std::size_t i = 0;
    while (i < data.size()) {
      std::size_t j = data.find(',', i);
      if (j == std::string::npos) j = data.size();
      std::string item = data.substr(i, j - i);
      auto eq = item.find('=');
      kv.push_back(str(item.substr(0, eq)));
      kv.push_back(eq == std::string::npos ? nullptr : str(item.substr(eq + 1)));
      i = j + 1;
    }
    kv.push_back(nullptr);
    p.option_lists.push_back(std::move(kv));
    return p.option_lists.back().data();
  }
  // `dest` beneath the layer that covers it: that layer's index and the path under it.
  std::pair<int, const char*> beneath(const std::string& dest) {
    const Layer& l = covering(dest);
    if (l.index < 0) return {-1, str(dest)};
    std::string rest = l.dest == "/" ? dest.substr(1) : dest.substr(l.dest.size());
    while (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
    return {l.index, str(rest.empty() ? "." : rest)};
  }
  MountStep& add(MountOp op, MountGroup g, const char* src, std::pair<int, const char*> at) {
    p.mounts.push_back(MountStep{op, static_cast<std::uint16_t>(g), 0, 0, src, at.second, nullptr, nullptr, nullptr,
                                 nullptr, nullptr, at.first, -1, 0, 0, 0, 0});
    return p.mounts.back();
  }
  const Layer& covering(const std::string& dest) const {
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      if (is_under(dest, it->dest)) return *it;
    return layers.front();
  }
  Exists probe(const std::string& dest) const;
  Status ensure(const std::string& dest, bool dir, const MountEntry& e, MountGroup g);
  Status entry(const MountEntry& e);
  void close_unused_layers();
};

Exists Planner::probe(const std::string& dest) const {
  if (auto it = made.find(dest); it != made.end()) return it->second ? Exists::dir : Exists::other;
  const Layer& l = covering(dest);
  switch (l.kind) {
    case LayerKind::host: return stat_kind(AT_FDCWD, dest, false);
    case LayerKind::rootfs:
    case LayerKind::owned_over_rootfs: return stat_kind(root_fd, dest, true);
    case LayerKind::owned_empty: return dest == l.dest ? Exists::dir : Exists::no;
    case LayerKind::bind: return stat_kind(AT_FDCWD, l.source + dest.substr(l.dest == "/" ? 0 : l.dest.size()), false);
    case LayerKind::special: return Exists::unknown;
  }
  return Exists::unknown;
}

// Makes sure `dest` exists when the stub gets there: it exists already, or it is created
// (with its missing parents) in a layer the run owns; otherwise the run is refused.
Status Planner::ensure(const std::string& dest, bool dir, const MountEntry& e, MountGroup g) {
  Exists x = probe(dest);
  if (x != Exists::no) return ok();
  const Layer& l = covering(dest);
  std::string target = "\"" + dest + "\"";
  switch (l.kind) {
    case LayerKind::host:
      return Error::sys((e.type == MountType::bind ? "bind destination " : e.origin + " ") + target +
                            " (without --rootfs it must exist)",
                        ENOENT);
    case LayerKind::rootfs:
      if (create_in_root) break;
      return Error::input(e.origin, target + " does not exist in the rootfs, and rdbox never changes the root it was "
                                             "given (create it there, add --overlay, or mount a --tmpfs on a parent first)");
    case LayerKind::bind:
      return Error::input(e.origin, target + " does not exist in \"" + l.source + "\", bound at \"" + l.dest +
                                         "\" (rdbox never writes into a bind source)");
    default: break;
  }
  if (auto s = ensure(parent_of(dest), true, e, g); !s) return s;
  add(dir ? MountOp::mkdir : MountOp::mknod, g, nullptr, beneath(parent_of(dest))).name =
      str(dest.substr(dest.rfind('/') + 1));
  made[dest] = dir;
  return ok();
}

Status Planner::entry(const MountEntry& e) {
  MountGroup g = group_of(e);
  const std::string& dest = e.destination;
  if (e.type == MountType::mask || e.type == MountType::readonly) {
    // What the sandbox has there is found out by the stub (under /proc it depends on the
    // kernel); a missing path is skipped, as OCI runtimes do. A path beneath an earlier
    // mask is hidden already (an empty tmpfs, /dev/null) and one beneath an earlier
    // read-only path is read-only already: the step could not even reach it (that mount
    // is no layer) and is left out. A mask beneath a read-only path is made (masks come
    // first in OCI's order; the read-only clone keeps them).
    for (const auto& earlier : masked_or_readonly)
      if (dest != earlier && is_under(dest, earlier) &&
          (e.type == MountType::readonly || (masked_paths.count(earlier) != 0)))
        return ok();
    masked_or_readonly.push_back(dest);
    if (e.type == MountType::mask) masked_paths.insert(dest);
    add(e.type == MountType::mask ? MountOp::mask : MountOp::readonly_path, g, "/dev/null", beneath(dest));
    if (e.type == MountType::mask && p.mask_slot < 0) {
      p.mask_slot = static_cast<int>(p.layer_fds.size());
      for (const char* what : {"(the masks' empty tmpfs)", "(the masks' /dev/null)"}) {
        p.layer_fds.push_back(-1);
        p.layer_paths.push_back(what);
      }
    }
    return ok();
  }
  if (e.type == MountType::device) {
    if (auto s = ensure(parent_of(dest), true, e, g); !s) return s;
    MountStep& d = add(MountOp::device, g, nullptr, beneath(parent_of(dest)));
    d.name = str(dest.substr(dest.rfind('/') + 1));
    d.flags = e.device.mode;
    d.rdev = e.device.rdev;
    d.uid = e.device.uid;
    d.gid = e.device.gid;
    made[dest] = false;
    return ok();
  }
  if (e.type == MountType::symlink) {
    if (auto s = ensure(parent_of(dest), true, e, g); !s) return s;
    add(MountOp::symlink, g, str(e.source), beneath(parent_of(dest))).name = str(dest.substr(dest.rfind('/') + 1));
    made[dest] = false;
    return ok();
  }
  bool dir = true;
  if (e.type == MountType::bind) {
    struct stat st {};
    if (::stat(e.source.c_str(), &st) != 0) return Error::sys("bind source \"" + e.source + "\"", errno);
    dir = S_ISDIR(st.st_mode);
  }
  if (auto s = ensure(dest, dir, e, g); !s) return s;
  MountStep& m = add(MountOp::mount, g, str(e.source), beneath(dest));
  m.flags = attrs_of(e);
  m.best_effort = e.best_effort;
  m.recursive = e.recursive;
  if (e.type != MountType::bind) {
    m.fstype = fstype_of(e.type);
    m.data = e.data.empty() ? nullptr : str(e.data);
    m.options = options(e.data);
    m.fallback = e.fallback.empty() ? nullptr : str(e.fallback);
  }
  int index = static_cast<int>(p.layer_fds.size());
  p.layer_fds.push_back(-1);
  p.layer_paths.push_back(dest);
  m.new_layer = index;
  LayerKind kind = e.type == MountType::bind    ? LayerKind::bind
                   : e.type == MountType::tmpfs ? LayerKind::owned_empty
                                                : LayerKind::special;
  layers.push_back({dest, kind, e.source, index});
  for (auto it = made.begin(); it != made.end();)  // what the new mount covers is hidden now
    it = it->first != dest && is_under(it->first, dest) ? made.erase(it) : std::next(it);
  return ok();
}

// A layer no later step resolves beneath is not kept: its descriptor is closed at once.
void Planner::close_unused_layers() {
  std::vector<bool> used(p.layer_fds.size(), false);
  for (const auto& m : p.mounts)
    if (m.layer >= 0) used[static_cast<std::size_t>(m.layer)] = true;
  for (auto& m : p.mounts)
    if (m.op == MountOp::mount && m.new_layer >= 0 && !used[static_cast<std::size_t>(m.new_layer)]) m.new_layer = -1;
}

// Opens the rootfs once: its (dev, ino) is what the stub checks when it re-opens the path
// in the new mount namespace, so a rootfs swapped for another directory or a link to /
// between plan and run is refused instead of becoming the sandbox's root.
Status open_rootfs(const SandboxConfig& c, Plan& p) {
  const std::string what = c.origins.root + " \"" + c.root + "\"";
  int fd = ::open(c.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::sys(what, errno);
  p.rootfs_fd.reset(fd);
  struct stat st {}, host_root {};
  if (::fstat(fd, &st) != 0) return Error::sys(what, errno);
  if (::stat("/", &host_root) == 0 && st.st_dev == host_root.st_dev && st.st_ino == host_root.st_ino)
    return Error::input(c.origins.root, "must not be / (the host's root)");
  p.rootfs_dev = st.st_dev;
  p.rootfs_ino = st.st_ino;
  return ok();
}

}  // namespace

Status plan_mounts(const SandboxConfig& c, Plan& p) {
  if (!(p.namespaces & CLONE_NEWNS)) return ok();
  Planner m(p);
  m.create_in_root = c.root_create_targets;
  p.mounts.push_back(MountStep{MountOp::propagate, kMountMisc, 0, 0, nullptr, "/", nullptr, nullptr, nullptr, nullptr,
                               nullptr, -1, -1, 0, 0, 0, 0});
  if (c.root.empty()) {
    m.layers.push_back({"/", LayerKind::host, "", -1});
  } else {
    if (auto s = open_rootfs(c, p); !s) return s;
    m.root_fd = p.rootfs_fd.get();
    p.layer_fds.push_back(-1);  // layer 0: the new root
    p.layer_paths.push_back("/");
    const char* path = m.str(c.root);
    if (c.root_overlay) {
      // The overlay names its layers by /proc/self/fd/N: N are numbers rdbox holds open,
      // so they are free for the stub to dup3 its own descriptors onto.
      int b = ::fcntl(p.rootfs_fd.get(), F_DUPFD_CLOEXEC, 3);
      if (b < 0) return Error::sys("reserve a descriptor", errno);
      p.overlay_fd.reset(b);
      std::string a = std::to_string(p.rootfs_fd.get()), bs = std::to_string(b);
      MountStep& o = m.add(MountOp::overlay_root, kMountOverlay, path, {-1, m.str("/proc/self/fd/" + bs + "/merged")});
      o.fstype = "overlay";
      o.flags = static_cast<unsigned long>(p.rootfs_fd.get());
      o.data = m.str("lowerdir=/proc/self/fd/" + a + ",upperdir=/proc/self/fd/" + bs + "/upper,workdir=/proc/self/fd/" +
                     bs + "/work");
      o.new_layer = 0;
      m.layers.push_back({"/", LayerKind::owned_over_rootfs, "", 0});
    } else {
      m.add(MountOp::root, kMountMisc, path, {-1, "."}).new_layer = 0;
      m.layers.push_back({"/", LayerKind::rootfs, "", 0});
    }
  }
  for (const auto& e : c.mounts)
    if (auto s = m.entry(e); !s) return s;
  m.close_unused_layers();
  if (!c.root.empty()) {
    if (c.root_readonly) m.add(MountOp::readonly, kMountMisc, nullptr, {0, "."});
    m.add(MountOp::pivot, kMountPivot, nullptr, {0, "."}).flags = c.root_propagation;
  }
  return ok();
}

}  // namespace rdbox
