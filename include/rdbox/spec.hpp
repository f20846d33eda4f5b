// Spec: what the user asked for, as a plain value. No system calls here.
// validate() turns every bad input into one Error before anything is created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/config.hpp"
#include "rdbox/error.hpp"

namespace rdbox {

enum class ReportFormat { text, json, none };

std::string_view to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view s);
std::string_view to_string(ReportFormat f);
std::optional<ReportFormat> parse_report_format(std::string_view s);

// One row per CLONE_* flag rdbox knows, and whether --clone-flags may add it.
struct CloneFlagInfo {
  std::string_view name;
  std::uint64_t bit;
  bool user_settable;       // may appear in --clone-flags
  std::string_view refusal;  // why not, when !user_settable
};
extern const CloneFlagInfo kCloneFlags[];
extern const std::size_t kCloneFlagCount;

// "CLONE_FILES,fs" -> bits. Names are case-insensitive, the CLONE_ prefix optional.
Expected<std::uint64_t> parse_clone_flags(std::string_view list);
// bits -> "CLONE_VM", "CLONE_VFORK", ... in table order.
std::vector<std::string> clone_flag_names(std::uint64_t bits);

// A plain decimal count from 0 to max (blanks around it allowed); `what` names the option.
Expected<std::uint64_t> parse_count(std::string_view text, std::string_view what, std::uint64_t max);

// "64K", "1M", "4096" -> bytes (binary suffixes K, M, G; optional trailing B/iB).
Expected<std::size_t> parse_size(std::string_view text);

constexpr std::size_t kDefaultStackSize = 64 * 1024;
// The stub's deepest path uses well under 4 KiB (tests/integration checks the measured
// high-water mark against this): the minimum leaves a 4x margin.
constexpr std::size_t kMinStackSize = 16 * 1024;
constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;
constexpr int kMaxPreserveFds = 1 << 16;

struct EnvEntry {
  std::string key;
  std::optional<std::string> value;  // nullopt: copy the caller's value (bare KEY)
};

// The eight namespace kinds, in one table (name, clone flag, /proc/self/ns link name).
struct NamespaceInfo {
  std::string_view option;  // "newpid"
  std::string_view name;    // "pid" (JSON key, /proc/self/ns/<name>)
  std::uint64_t flag;       // CLONE_NEWPID
};
constexpr std::size_t kNamespaceCount = 8;
extern const NamespaceInfo kNamespaces[kNamespaceCount];

Expected<IdMapRange> parse_id_map(std::string_view text);

// "SRC[:DST]" (DST defaults to SRC) for --bind and --ro-bind.
Expected<MountEntry> parse_bind(std::string_view arg, bool read_only);
// "DST[:OPTIONS]" for --tmpfs; OPTIONS a comma list of size=SIZE, mode=OCTAL, uid=N, gid=N,
// nr_inodes=N, ro, noexec, exec. Always nosuid,nodev.
Expected<MountEntry> parse_tmpfs(std::string_view arg);
// The size a --tmpfs, /dev and /dev/shm get unless one is given (podman's /dev/shm).
constexpr std::size_t kDefaultTmpfsSize = 64u << 20;

// "monotonic=S,boottime=S" (either or both).
Expected<TimeOffsets> parse_time_offsets(std::string_view text);

// "UID[:GID]", numbers only.
Expected<UserIds> parse_user(std::string_view text);

constexpr std::size_t kMaxHostname = 64;  // the kernel's __NEW_UTS_LEN

struct Spec {
  Mode mode = Mode::clone;
  bool mode_given = false;
  bool vm = false;     // CLONE_VM
  bool vfork = false;  // CLONE_VFORK
  std::uint64_t clone_flags = 0;  // from --clone-flags
  std::size_t stack_size = kDefaultStackSize;
  bool stack_size_given = false;

  std::vector<std::string> command;
  std::optional<std::string> argv0;

  bool clear_env = false;
  std::vector<EnvEntry> env;  // env-file entries first, then -e, applied in order
  std::optional<std::string> workdir;
  int preserve_fds = 0;

  ReportFormat report = ReportFormat::text;
  std::optional<std::string> report_file;

  // Namespaces and sandbox.
  std::uint64_t namespaces = 0;  // CLONE_NEW* bits asked for (options, --unshare-all, implied)
  TimeOffsets time_offsets;
  bool init = false;        // rdbox's init at PID 1, the command at PID 2
  bool mount_proc = false;  // force a fresh /proc
  std::optional<std::string> hostname;
  std::vector<IdMapRange> uid_maps, gid_maps;
  std::optional<UserIds> user;
  std::optional<std::string> rootfs;
  bool overlay = false;
  std::vector<MountEntry> mounts;  // --bind, --ro-bind, --tmpfs in the order given
  bool read_only = false;
  bool dry_run = false;

  // Confinement. A --rootfs run is a container and gets rdbox's defaults (podman's
  // capability set, no_new_privs, the default seccomp profile, masked and read-only /proc
  // paths, a new PID namespace and session keyring, bounded tmpfs); --privileged turns them
  // off. --user to a non-root id drops every capability (bounding set too) and sets
  // no_new_privs unless capabilities are added. A run without --rootfs changes nothing
  // unless asked.
  bool privileged = false;
  std::optional<std::uint64_t> capabilities;  // library: the exact sets' value (overrides the below)
  std::uint64_t cap_add = 0, cap_drop = 0;    // --cap-add, --cap-drop (ALL = every bit)
  bool no_new_privs = false;
  std::vector<Rlimit> rlimits;
  std::string seccomp_profile, seccomp_name;  // empty: the default for the run; name "unconfined": none
  std::optional<CgroupConfig> cgroup;         // --memory, --pids, --cpus, ...
  double timeout_s = 0, kill_after_s = 5;

  // rdbox pipeline: each stage's argv, in order (`command` holds the stages as the user
  // gave them, for the report). Empty: one command, `command`.
  std::vector<std::vector<std::string>> pipeline;
  bool pipefail = false;  // the pipeline's status is its last non-zero stage's

  // The namespaces after implications: --hostname → uts, --rootfs/--bind/--tmpfs → mount,
  // --init → pid, --uid-map → user.
  std::uint64_t effective_namespaces() const;

  // The clone flags the launch will use (CLONE_VM/CLONE_VFORK folded in); clone mode only.
  std::uint64_t effective_clone_flags() const;

  // A container: --rootfs without --privileged.
  bool container() const { return rootfs.has_value() && !privileged; }

  // Every contradiction and out-of-range value, as one Error. Nothing is created.
  Status validate() const;
};

// The CLI's options expanded into the neutral config: implied namespaces, the rootfs
// recipe, the environment resolved against `environ_in` (the caller's), the defaults.
SandboxConfig to_config(const Spec& spec, char** environ_in);

// Parses one KEY=VAL line set (env-file syntax: blank lines and '#' comments skipped,
// a bare KEY copies the caller's value). `origin` names the file in messages.
Expected<std::vector<EnvEntry>> parse_env_file(std::string_view text, std::string_view origin);
// A variable name the environment can hold: not empty, no '=', no NUL.
bool valid_env_key(std::string_view key);
// "-e" argument: "KEY=VAL" or bare "KEY".
Expected<EnvEntry> parse_env_arg(std::string_view arg);

}  // namespace rdbox
