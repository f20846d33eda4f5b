// The CLI's sugar expanded into the neutral SandboxConfig (implied namespaces, the rootfs
// recipe, the environment resolved), and what any front end's config must satisfy.
#include <sched.h>
#include <sys/mount.h>

#include <cstring>
#include <set>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rdbox/config.hpp"
#include "rdbox/seccomp.hpp"
#include "rdbox/spec.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace rdbox {

namespace {

// Sets or replaces KEY in an env vector of "KEY=VAL" strings, keeping first position.
void env_set(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string entry = key + "=" + value;
  for (auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = std::move(entry);
      return;
    }
  env.push_back(std::move(entry));
}

const char* environ_get(char** environ_in, std::string_view key) {
  for (char** e = environ_in; e && *e; ++e)
    if (std::strncmp(*e, key.data(), key.size()) == 0 && (*e)[key.size()] == '=') return *e + key.size() + 1;
  return nullptr;
}

std::vector<std::string> resolve_env(const Spec& spec, char** environ_in) {
  std::vector<std::string> env;
  if (!spec.clear_env)
    for (char** e = environ_in; e && *e; ++e) env.emplace_back(*e);
  for (const auto& entry : spec.env) {
    if (entry.value) {
      env_set(env, entry.key, *entry.value);
    } else if (const char* v = environ_get(environ_in, entry.key)) {
      env_set(env, entry.key, v);
    }  // a bare KEY the caller does not have is left unset, as docker does
  }
  return env;
}

// The option that asked for a namespace, as the user wrote it.
std::string ns_origin(const Spec& spec, std::uint64_t flag) {
  for (const auto& n : kNamespaces)
    if (n.flag == flag)
      return "--" + std::string(n.option) + (spec.namespaces & flag ? "" : " (implied by your options)");
  return "a namespace";
}

// What podman hides and makes read-only in a container's /proc and /sys (containers/common's
// defaults), and /proc/kmsg, which drains the host's kernel log.
constexpr const char* kMaskedPaths[] = {"/proc/acpi",         "/proc/kcore",      "/proc/keys",
                                        "/proc/kmsg",         "/proc/latency_stats", "/proc/timer_list",
                                        "/proc/timer_stats",  "/proc/sched_debug", "/proc/scsi",
                                        "/sys/firmware",      "/sys/devices/virtual/powercap",
                                        "/sys/fs/selinux",    "/sys/dev/block"};
constexpr const char* kReadonlyPaths[] = {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                          "/proc/sysrq-trigger"};

void add_size(MountEntry& m, std::size_t bytes) {
  if (m.data.find("size=") == std::string::npos) m.data += (m.data.empty() ? "" : ",") + ("size=" + std::to_string(bytes));
}

// The container defaults on the mounts: bounded /dev, /dev/shm and --tmpfs; nosuid,nodev on
// every bind; podman's masked and read-only paths after everything else.
void confine_mounts(const Spec& spec, SandboxConfig& c) {
  for (auto& m : c.mounts) {
    bool own_tmpfs = m.type == MountType::tmpfs && (m.destination == "/dev" || m.destination == "/dev/shm");
    if (own_tmpfs || (m.type == MountType::tmpfs && m.origin == "--tmpfs")) add_size(m, kDefaultTmpfsSize);
    if (spec.container() && m.type == MountType::bind && (m.origin == "--bind" || m.origin == "--ro-bind"))
      m.flags |= MS_NOSUID | MS_NODEV;
  }
  if (!spec.container()) return;
  for (const char* path : kMaskedPaths)
    c.mounts.push_back({MountType::mask, "", path, true, true, 0, "", false, "", "the container's masked paths"});
  for (const char* path : kReadonlyPaths)
    c.mounts.push_back({MountType::readonly, "", path, true, true, 0, "", false, "", "the container's read-only paths"});
}

// What "every capability" means for this run: all of them inside a new user namespace,
// else what this process holds (root may lack some, e.g. CAP_SYS_RESOURCE in a container).
std::uint64_t every_capability(const Spec& spec) {
  const std::uint64_t all = (std::uint64_t{1} << (CAP_LAST_CAP + 1)) - 1;
  if (spec.effective_namespaces() & CLONE_NEWUSER) return all;
  struct __user_cap_header_struct h {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] {};
  if (::syscall(SYS_capget, &h, d) != 0) return all;
  return (d[0].permitted | (std::uint64_t{d[1].permitted} << 32)) & all;
}

// Capabilities, no_new_privs and seccomp: the container's defaults, --user's drop, and the
// options on top of them.
void confine_process(const Spec& spec, SandboxConfig& c, ProcessConfig& p) {
  bool non_root = spec.user && spec.user->uid != 0;
  // Dropping the bounding set needs privilege: the caller's (root) or a user namespace's.
  bool can_drop = ::geteuid() == 0 || (spec.effective_namespaces() & CLONE_NEWUSER);
  bool user_drop = non_root && !spec.privileged && can_drop;
  std::optional<std::uint64_t> set;
  if (spec.capabilities) set = *spec.capabilities;
  else if (user_drop) set = spec.cap_add;
  else if (spec.container()) set = (default_container_caps() & ~spec.cap_drop) | spec.cap_add;
  else if (spec.cap_add || spec.cap_drop) set = (every_capability(spec) & ~spec.cap_drop) | spec.cap_add;
  // A non-root command keeps them across exec only through the ambient set.
  if (set) p.caps = CapabilitySets{*set, *set, *set, *set, non_root ? *set : 0};
  c.seccomp_profile = spec.seccomp_profile;
  c.seccomp_name = spec.seccomp_name;
  if (spec.container() && spec.seccomp_name.empty()) {
    c.seccomp_profile = std::string(default_seccomp_profile());
    c.seccomp_name = "default";
  }
  p.no_new_privs = spec.no_new_privs || !c.seccomp_profile.empty() || spec.container() ||
                   (user_drop && spec.cap_add == 0);
  c.new_session_keyring = spec.container();
  c.confinement = spec.privileged ? "privileged" : spec.container() ? "container" : "host";
}

}  // namespace

std::uint64_t SandboxConfig::namespace_kinds() const {
  std::uint64_t k = 0;
  for (const auto& n : namespaces) k |= n.kind;
  return k;
}

const NamespaceEntry* SandboxConfig::find_namespace(std::uint64_t kind) const {
  for (const auto& n : namespaces)
    if (n.kind == kind) return &n;
  return nullptr;
}

SandboxConfig to_config(const Spec& spec, char** environ_in) {
  SandboxConfig c;
  c.launch.mode = spec.mode;
  c.launch.clone_flags = spec.mode == Mode::clone ? spec.effective_clone_flags() : 0;
  c.launch.stack_size = spec.stack_size;
  c.launch.trace = spec.report == ReportFormat::json;
  std::uint64_t ns = spec.effective_namespaces();
  for (const auto& info : kNamespaces)
    if (ns & info.flag) c.namespaces.push_back({info.flag, "", ns_origin(spec, info.flag)});
  c.uid_maps = spec.uid_maps;
  c.gid_maps = spec.gid_maps;
  bool fresh_proc = (ns & CLONE_NEWPID) || spec.mount_proc;
  if (spec.rootfs) {
    c.root = *spec.rootfs;
    c.root_overlay = spec.overlay;
    c.root_readonly = spec.read_only;
    c.mounts = rootfs_recipe(fresh_proc);
  } else if (fresh_proc && (ns & CLONE_NEWNS)) {
    c.mounts.push_back({MountType::proc, "proc", "/proc", false, true, MS_NOSUID | MS_NODEV | MS_NOEXEC, "", false, "",
                        spec.mount_proc ? "--mount-proc" : "--newpid"});
  }
  c.mounts.insert(c.mounts.end(), spec.mounts.begin(), spec.mounts.end());
  c.hostname = spec.hostname.value_or("");
  c.time_offsets = spec.time_offsets;
  c.init = spec.init;
  ProcessConfig p;
  p.argv = spec.command;
  p.argv0 = spec.argv0;
  p.env = resolve_env(spec, environ_in);
  p.cwd = spec.workdir ? *spec.workdir : spec.rootfs ? "/" : "";
  p.user = spec.user;
  p.preserve_fds = spec.preserve_fds;
  p.rlimits = spec.rlimits;
  if (!spec.privileged) confine_mounts(spec, c);
  confine_process(spec, c, p);
  c.cgroup = spec.cgroup;
  c.timeout.seconds = spec.timeout_s;
  c.timeout.kill_after = spec.kill_after_s;
  c.processes.push_back(std::move(p));
  // rdbox pipeline: one process per stage, each with the command's settings and its own argv.
  if (!spec.pipeline.empty()) {
    ProcessConfig base = std::move(c.processes.front());
    c.processes.clear();
    c.processes.reserve(spec.pipeline.size());
    for (const auto& argv : spec.pipeline) {
      c.processes.push_back(base);
      c.processes.back().argv = argv;
    }
    c.pipeline = true;
    c.pipefail = spec.pipefail;
  }
  return c;
}

Status validate(const SandboxConfig& c) {
  if (c.processes.empty()) return Error::input("process", "no command to run");
  for (const auto& p : c.processes)
    if (p.argv.empty() || p.argv[0].empty()) return Error::input("process", "empty command");
  std::set<std::uint64_t> kinds;
  for (const auto& n : c.namespaces) {
    bool known = false;
    for (const auto& info : kNamespaces) known = known || info.flag == n.kind;
    if (!known) return Error::input(n.origin, "unknown namespace kind");
    if (!kinds.insert(n.kind).second) return Error::input(n.origin, "the namespace is given twice");
    if (n.path.empty()) continue;
    if (n.path[0] != '/') return Error::input(n.origin, "\"" + n.path + "\" must be an absolute path");
    if (n.kind == CLONE_NEWUSER && (!c.uid_maps.empty() || !c.gid_maps.empty()))
      return Error::input(c.origins.uid_map, "a joined user namespace has its maps already");
    if (n.kind == CLONE_NEWNS && !c.mounts.empty() && !c.mounts_in_joined_ns)
      return Error::input(n.origin, "mounts need a new mount namespace, not a joined one (they would change it for "
                                    "every process in it)");
  }
  for (const auto& m : c.mounts) {
    auto d = normalize_destination(m.destination, m.origin);
    if (!d) return d.error();
    if (d.value() != m.destination) return Error::input(m.origin, "\"" + m.destination + "\" is not a normalized path");
  }
  return ok();
}

}  // namespace rdbox
