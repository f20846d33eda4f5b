// The front-end-neutral pieces of a sandbox's configuration. The CLI's options and (next)
// an OCI config.json expand into these; nothing after the front ends sees option names
// except as the `origin` that messages quote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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
  mask,     // hide what is at destination: an empty read-only tmpfs on a directory,
            // /dev/null on a file; nothing when it does not exist (OCI maskedPaths)
  readonly, // destination, as the sandbox has it, made read-only in place, recursively;
            // nothing when it does not exist (OCI readonlyPaths)
  device,   // a device node made at destination (mknod; `device` says which; OCI linux.devices as root)
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
  struct Node {
    std::uint32_t mode = 0;  // S_IFCHR, S_IFBLK or S_IFIFO | permissions
    std::uint64_t rdev = 0;  // makedev(major, minor)
    std::uint32_t uid = 0, gid = 0;
  } device = {};             // type device only
};

// "/a/b" with no empty, "." or ".." component (a trailing slash is tolerated and dropped).
Expected<std::string> normalize_destination(std::string_view path, std::string_view origin);

// One namespace of the sandbox: a new one, or (with a path such as /proc/PID/ns/net) the
// one at that path, joined with setns(2).
struct NamespaceEntry {
  std::uint64_t kind = 0;  // CLONE_NEWPID, CLONE_NEWNS, ...
  std::string path;        // empty: a new namespace
  std::string origin;      // what asked for it: "--newpid", "--hostname (implies --newuts)"
};

// "INSIDE OUTSIDE COUNT" lines of a uid_map/gid_map.
struct IdMapRange {
  std::uint32_t inside = 0, outside = 0, count = 0;
};

// "UID[:GID]".
struct UserIds {
  std::uint32_t uid = 0;
  std::optional<std::uint32_t> gid;
};

struct TimeOffsets {
  std::optional<std::int64_t> monotonic, boottime;
};

enum class Mode { fork, vfork, clone, spawn };

// The five capability sets, bit N for capability N (CAP_CHOWN = 0, ...).
struct CapabilitySets {
  std::uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// What podman grants a container by default: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
// NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT.
std::uint64_t default_container_caps();

// "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" → its number; "ALL" → -2; unknown → -1.
int capability_number(std::string_view name);
std::string capability_name(int cap);  // "CAP_NET_ADMIN"

// One resource limit (setrlimit), as NAME=SOFT[:HARD] asks for it.
struct Rlimit {
  int resource = 0;  // RLIMIT_NOFILE, ...
  std::uint64_t soft = 0, hard = 0;
};
// "NOFILE", "RLIMIT_NOFILE", "nofile" → RLIMIT_NOFILE; unknown → -1.
int rlimit_number(std::string_view name);
std::string_view rlimit_name(int resource);  // "NOFILE"

// One command the sandbox runs.
struct ProcessConfig {
  std::vector<std::string> argv;      // argv[0] names the program (searched in PATH without a '/')
  std::optional<std::string> argv0;   // what the program sees as argv[0], when not argv[0]
  std::vector<std::string> env;       // the whole environment, "KEY=VALUE"
  std::string cwd;                    // empty: inherited (/ in a new root)
  std::optional<UserIds> user;        // switch to these ids before exec
  std::vector<std::uint32_t> groups;  // supplementary groups with `user` (OCI additionalGids); empty: none
  int preserve_fds = 0;               // fds 3 .. 3+N-1 are inherited
  std::optional<CapabilitySets> caps; // nullopt: left as they are (unshare's behaviour)
  bool no_new_privs = false;          // PR_SET_NO_NEW_PRIVS before exec
  std::vector<Rlimit> rlimits;        // applied last before exec; never a hard limit above rdbox's own
};

// How the child is created (the launcher's part of the config).
struct LaunchConfig {
  Mode mode = Mode::clone;
  std::uint64_t clone_flags = 0;  // clone only: CLONE_VM, CLONE_VFORK, CLONE_FILES, ...
  std::size_t stack_size = 64 * 1024;
  bool trace = false;             // step timings and namespace inodes for the report
  bool start_gate = false;        // the child waits, set up, until Instance::start() (OCI create/start)
  bool die_with_parent = true;    // the sandbox ends when its creator dies (not for OCI create)
  bool new_session = false;       // setsid() instead of a new process group (an OCI container's init)
  bool controlling_tty = false;   // with new_session: fd 0, a terminal, becomes the controlling one
  bool console = false;           // with new_session: a pty made inside the sandbox, from its own
                                  // /dev/ptmx once the mounts are done, becomes 0..2 and the
                                  // controlling terminal; rdbox receives its master (receive_console)
};

// One rule of the device controller (OCI linux.resources.devices), applied in order.
struct CgroupDeviceRule {
  bool allow = false;
  char type = 'a';                        // 'a' (all), 'c', 'b'
  std::int64_t major = -1, minor = -1;    // -1: any ("*")
  std::string access = "rwm";
};
// A block device's weight (blkio.weight_device, leaf_weight_device) or throttle rate.
struct CgroupBlockDevice {
  std::int64_t major = 0, minor = 0;
  std::optional<std::uint64_t> weight, leaf_weight;  // weight devices
  std::uint64_t rate = 0;                            // throttle devices
};
struct CgroupHugepageLimit {
  std::string page_size;  // "2MB", "1GB": the kernel's file names
  std::uint64_t limit = 0;
};
struct CgroupNetPriority {
  std::string interface;
  std::uint32_t priority = 0;
};

// One cgroup per run, made under `parent` (default: rdbox's own cgroup, in each hierarchy
// a controller lives in: v2, or v1 on a hybrid host), the child in it before exec, removed
// (with whatever is left in it killed) on every path. A limit left unset is not written.
// The limits are also what `rdbox update` writes into a running container's cgroup.
struct CgroupConfig {
  std::string parent;                    // relative to rdbox's own cgroup, or absolute from the cgroup root
  std::string path;                      // the exact cgroup to create (OCI cgroupsPath); empty: a fresh name
  std::optional<std::int64_t> memory_max;       // bytes; -1 unlimited
  std::optional<std::int64_t> memory_swap_max;  // memory + swap, bytes, as docker's --memory-swap; -1 unlimited
  std::optional<std::int64_t> memory_reservation, memory_kernel, memory_kernel_tcp;  // bytes (soft limit: v2 memory.low)
  std::optional<std::uint64_t> memory_swappiness;  // 0..100, v1 only
  bool memory_disable_oom_killer = false;          // v1 only
  std::optional<std::int64_t> pids_max;            // -1 unlimited
  std::optional<std::int64_t> cpu_quota_us;        // -1 unlimited
  std::optional<std::uint64_t> cpu_period_us;
  std::optional<std::uint64_t> cpu_weight;      // 1..10000 (v2), converted to shares on v1
  std::optional<std::uint64_t> cpu_shares;      // 2..262144 (v1), converted to weight on v2
  std::optional<std::int64_t> cpu_rt_runtime_us;   // v1 only
  std::optional<std::uint64_t> cpu_rt_period_us;   // v1 only
  std::string cpuset_cpus, cpuset_mems;            // empty: inherited
  std::optional<std::uint64_t> blkio_weight, blkio_leaf_weight;  // 10..1000 (leaf: v1 only)
  std::vector<CgroupBlockDevice> blkio_weight_devices, blkio_read_bps, blkio_write_bps, blkio_read_iops, blkio_write_iops;
  std::vector<CgroupHugepageLimit> hugepage_limits;
  std::optional<std::uint32_t> net_classid;        // v1 net_cls only
  std::vector<CgroupNetPriority> net_priorities;   // v1 net_prio only
  std::vector<CgroupDeviceRule> devices;           // in order (v1 devices.allow/deny)
  std::vector<std::pair<std::string, std::string>> unified;  // v2 file → value, written last
  std::string origin = "--memory";              // what asked for the cgroup, for messages
  // Where the limits came from, for messages naming the field ("linux.resources" makes
  // "linux.resources.memory.limit"); empty: `origin`.
  std::string resources_origin;
  // A freezer for the cgroup (OCI pause/resume): v1's freezer hierarchy where the host
  // mounts one, else the v2 directory (cgroup.freeze is core v2). Best effort: none, no error.
  bool freezer = false;
  // A directory in every v1 hierarchy too, limited or not (OCI: runc's and crun's
  // placement, which `update` and the engines' stats rely on).
  bool every_hierarchy = false;
  bool any_limit() const {
    return memory_max || memory_swap_max || memory_reservation || memory_kernel || memory_kernel_tcp ||
           memory_swappiness || memory_disable_oom_killer || pids_max || cpu_quota_us || cpu_period_us ||
           cpu_weight || cpu_shares || cpu_rt_runtime_us || cpu_rt_period_us || !cpuset_cpus.empty() ||
           !cpuset_mems.empty() || blkio_weight || blkio_leaf_weight || !blkio_weight_devices.empty() ||
           !blkio_read_bps.empty() || !blkio_write_bps.empty() || !blkio_read_iops.empty() ||
           !blkio_write_iops.empty() || !hugepage_limits.empty() || net_classid || !net_priorities.empty() ||
           !devices.empty() || !unified.empty();
  }
};

// Everything a sandbox is, whoever asked for it (the CLI, and next an OCI config.json).
// Error messages quote the `origin` strings, so each front end speaks its own language.
struct SandboxConfig {
  LaunchConfig launch;
  std::vector<NamespaceEntry> namespaces;
  std::vector<IdMapRange> uid_maps, gid_maps;  // empty with a new user namespace: map yourself to 0
  std::string root;                // the root filesystem; empty: the host's
  bool root_overlay = false;       // writes go to a tmpfs upper layer, never to `root`
  bool root_readonly = false;
  // The new root's propagation inside the sandbox, set after pivot_root, recursively
  // (MS_SHARED, MS_SLAVE, MS_UNBINDABLE, MS_PRIVATE; OCI rootfsPropagation); 0: private,
  // as every mount of the sandbox is. Nothing reaches the host either way: the sandbox's
  // mounts were made private before.
  unsigned long root_propagation = 0;
  // The mounts and the new root are made in a mount namespace joined by path (OCI: the
  // container's namespace is given). Else a joined mount namespace takes no mounts.
  bool mounts_in_joined_ns = false;
  bool root_create_targets = false;  // missing mount targets are made in `root` (OCI runtimes do; the CLI never)
  std::vector<MountEntry> mounts;  // in order, the root's own recipe first
  std::string hostname;
  TimeOffsets time_offsets;
  bool init = false;               // rdbox's init at PID 1
  // A time limit: SIGTERM to the whole sandbox after `seconds`, SIGKILL `kill_after` later.
  struct Timeout {
    double seconds = 0;  // 0: none
    double kill_after = 5;
  } timeout;
  std::vector<ProcessConfig> processes;
  // The processes as one pipeline (rdbox pipeline): process i's stdout is process i+1's
  // stdin, all started by one parent inside the sandbox. False: processes[0] alone runs.
  // The stages share processes[0]'s cwd, user, capabilities, rlimits and no_new_privs.
  bool pipeline = false;
  bool pipefail = false;  // the pipeline's status is its last non-zero stage's (bash's pipefail)
  // A seccomp profile (JSON, the format docker and OCI share); empty: no filter. Compiled
  // by plan(), loaded by the stub as its last step before exec.
  std::string seccomp_profile;
  std::string seccomp_name;  // "default", the file's name: for messages and the report
  std::optional<CgroupConfig> cgroup;  // nullopt: the child stays in rdbox's cgroup
  bool new_session_keyring = false;    // a fresh session keyring, the caller's keys out of reach
  // Which confinement the front end chose, for the report: "container" (rdbox's defaults
  // for a --rootfs run), "privileged", or "host" (a run without a root of its own:
  // unchanged unless options asked).
  std::string confinement = "host";
  struct Origins {
    std::string root = "--rootfs", uid_map = "--uid-map", gid_map = "--gid-map", user = "--user";
    std::string preserve_fds = "--preserve-fds";
  } origins;

  std::uint64_t namespace_kinds() const;  // the CLONE_NEW* bits of every entry
  const NamespaceEntry* find_namespace(std::uint64_t kind) const;
};

// What a front end may hand over: every field that no later step can check for it.
// Errors name the field by its origin.
Status validate(const SandboxConfig& c);

// The root filesystem's own mounts, as data: /proc, a minimal /dev, a read-only /sys.
// `fresh_proc`: a new procfs (a new PID namespace), else the host's /proc bound.
std::vector<MountEntry> rootfs_recipe(bool fresh_proc);

}  // namespace rdbox
