// The CLI's sugar expanded into the neutral SandboxConfig (implied namespaces, the rootfs
// recipe, the environment resolved), and what any front end's config must satisfy.
#include <sched.h>
#include <sys/mount.h>

#include <cstring>
#include <set>

#include "rdbox/config.hpp"
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
  if (spec.capabilities) {
    std::uint64_t s = *spec.capabilities;
    // A non-root command keeps them across exec only through the ambient set.
    bool non_root = spec.user && spec.user->uid != 0;
    p.caps = CapabilitySets{s, s, s, s, non_root ? s : 0};
  }
  p.no_new_privs = spec.no_new_privs || !spec.seccomp_profile.empty();
  p.rlimits = spec.rlimits;
  c.seccomp_profile = spec.seccomp_profile;
  c.seccomp_name = spec.seccomp_name;
  c.timeout.seconds = spec.timeout_s;
  c.timeout.kill_after = spec.kill_after_s;
  c.processes.push_back(std::move(p));
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
    if (n.kind == CLONE_NEWPID) return Error::input(n.origin, "joining a PID namespace is not supported yet");
    if (n.kind == CLONE_NEWUSER && (!c.uid_maps.empty() || !c.gid_maps.empty()))
      return Error::input(c.origins.uid_map, "a joined user namespace has its maps already");
    if (n.kind == CLONE_NEWNS && !c.mounts.empty())
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
