#include "rdbox/config.hpp"

#include <sys/mount.h>

namespace rdbox {

std::string_view to_string(MountType t) {
  switch (t) {
    case MountType::bind: return "bind";
    case MountType::tmpfs: return "tmpfs";
    case MountType::proc: return "proc";
    case MountType::sysfs: return "sysfs";
    case MountType::devpts: return "devpts";
    case MountType::mqueue: return "mqueue";
    case MountType::symlink: return "symlink";
    case MountType::device: return "device";
    case MountType::mask: return "mask";
    case MountType::readonly: return "readonly";
  }
  return "mount";
}

Expected<std::string> normalize_destination(std::string_view path, std::string_view origin) {
  std::string o(origin);
  if (path.empty() || path[0] != '/') return Error::input(o, "\"" + std::string(path) + "\" must be an absolute path");
  std::string out;
  std::size_t i = 1;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    bool last = j == path.size();
    if (comp.empty() && !last) return Error::input(o, "\"" + std::string(path) + "\" has an empty component");
    if (comp == "." || comp == "..")
      return Error::input(o, "\"" + std::string(path) + "\" has a \"" + std::string(comp) + "\" component");
    if (!comp.empty()) out += "/" + std::string(comp);
    i = j + 1;
  }
  if (out.empty()) return Error::input(o, "destination must not be / (use --rootfs)");
  return out;
}

std::vector<MountEntry> rootfs_recipe(bool fresh_proc) {
  const std::string recipe = "--rootfs";
  std::vector<MountEntry> m;
  if (fresh_proc)
    m.push_back({MountType::proc, "proc", "/proc", false, true, MS_NOSUID | MS_NODEV | MS_NOEXEC, "", false, "/proc", recipe});
  else
    m.push_back({MountType::bind, "/proc", "/proc", false, true, 0, "", false, "", recipe});
  // nodev: the device nodes below are binds of the host's, mounts of their own.
  m.push_back({MountType::tmpfs, "tmpfs", "/dev", false, true, MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755", false, "", recipe});
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string path = std::string("/dev/") + node;
    m.push_back({MountType::bind, path, path, false, false, 0, "", false, "", recipe});
  }
  m.push_back({MountType::devpts, "devpts", "/dev/pts", false, true, MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=620", true, "", recipe});
  m.push_back({MountType::symlink, "pts/ptmx", "/dev/ptmx", false, true, 0, "", false, "", recipe});
  m.push_back({MountType::tmpfs, "tmpfs", "/dev/shm", false, true, MS_NOSUID | MS_NODEV, "mode=1777", false, "", recipe});
  m.push_back({MountType::symlink, "/proc/self/fd", "/dev/fd", false, true, 0, "", false, "", recipe});
  const char* std_names[] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; ++i)
    m.push_back({MountType::symlink, "/proc/self/fd/" + std::to_string(i), std::string("/dev/") + std_names[i], false,
                 true, 0, "", false, "", recipe});
  m.push_back({MountType::bind, "/sys", "/sys", true, true, 0, "", false, "", recipe});
  return m;
}

}  // namespace rdbox
