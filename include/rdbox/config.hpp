// The front-end-neutral pieces of a sandbox's configuration. The CLI's options and (next)
// an OCI config.json expand into these; nothing after the front ends sees option names
// except as the `origin` that messages quote.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/error.hpp"

namespace rdbox {

// One entry of the ordered mount list. Entries are applied in order; a later entry on
// the same destination covers an earlier one.
enum class MountType : std::uint8_t {
  bind,     // source (a host path) on destination; recursive unless `recursive` is off
  tmpfs,    // a fresh tmpfs (data: mode=, size=, uid=, gid=)
  proc,     // a fresh procfs
  sysfs,    // a fresh sysfs
  devpts,   // a new devpts instance
  mqueue,   // a fresh mqueue filesystem
  symlink,  // destination becomes a symlink to `source`
};
std::string_view to_string(MountType t);

struct MountEntry {
  MountType type = MountType::bind;
  std::string source;       // bind: the host path; symlink: the link's text
  std::string destination;  // absolute, inside the sandbox (normalized: no . or ..)
  bool read_only = false;
  bool recursive = true;     // bind: the whole tree below source (rbind)
  unsigned long flags = 0;   // MS_NOSUID, MS_NODEV, MS_NOEXEC
  std::string data;          // filesystem options
  bool best_effort = false;  // a failure is a warning, the run goes on (devpts on some kernels)
  std::string fallback;      // bound instead when the kernel refuses the mount (fresh /proc)
  std::string origin;        // what asked for it, as the user wrote it: "--bind", "--tmpfs"
};

// "/a/b" with no empty, "." or ".." component (a trailing slash is tolerated and dropped).
Expected<std::string> normalize_destination(std::string_view path, std::string_view origin);

// The root filesystem's own mounts, as data: /proc, a minimal /dev, a read-only /sys.
// `fresh_proc`: a new procfs (a new PID namespace), else the host's /proc bound.
std::vector<MountEntry> rootfs_recipe(bool fresh_proc);

}  // namespace rdbox
