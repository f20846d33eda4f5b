#include "rdbox/spec.hpp"

#include "rdbox/modes.hpp"
#include "rdbox/pipeline.hpp"

#include <sys/mount.h>

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <limits>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace rdbox {

namespace {
constexpr std::string_view kNs = "namespaces are not clone flags here: use the --new* options";
}

const CloneFlagInfo kCloneFlags[] = {
    {"CLONE_VM", CLONE_VM, false, "use --vm"},
    {"CLONE_VFORK", CLONE_VFORK, false, "use --vfork"},
    {"CLONE_FS", CLONE_FS, true, {}},
    {"CLONE_FILES", CLONE_FILES, true, {}},
    {"CLONE_IO", CLONE_IO, true, {}},
    {"CLONE_SYSVSEM", CLONE_SYSVSEM, true, {}},
    {"CLONE_PIDFD", CLONE_PIDFD, true, {}},
    {"CLONE_SIGHAND", CLONE_SIGHAND, true, {}},  // needs CLONE_VM: checked in validate()
    {"CLONE_THREAD", CLONE_THREAD, false,
     "a thread cannot be waited for, and execve in a thread replaces the whole of rdbox"},
    {"CLONE_PARENT", CLONE_PARENT, false,
     "the child would be rdbox's sibling, so rdbox could not wait for it"},
    {"CLONE_PTRACE", CLONE_PTRACE, false, "rdbox is not traced"},
    {"CLONE_UNTRACED", CLONE_UNTRACED, false, "rdbox does not trace"},
    {"CLONE_SETTLS", CLONE_SETTLS, false, "the exec stub has no thread-local storage of its own"},
    {"CLONE_PARENT_SETTID", CLONE_PARENT_SETTID, false, "rdbox holds the child by a pidfd"},
    {"CLONE_CHILD_SETTID", CLONE_CHILD_SETTID, false, "no thread id slot for the stub"},
    {"CLONE_CHILD_CLEARTID", CLONE_CHILD_CLEARTID, false, "no thread id slot for the stub"},
    {"CLONE_DETACHED", CLONE_DETACHED, false, "obsolete and ignored by the kernel"},
    {"CLONE_NEWNS", CLONE_NEWNS, false, kNs},
    {"CLONE_NEWUTS", CLONE_NEWUTS, false, kNs},
    {"CLONE_NEWIPC", CLONE_NEWIPC, false, kNs},
    {"CLONE_NEWUSER", CLONE_NEWUSER, false, kNs},
    {"CLONE_NEWPID", CLONE_NEWPID, false, kNs},
    {"CLONE_NEWNET", CLONE_NEWNET, false, kNs},
    {"CLONE_NEWCGROUP", CLONE_NEWCGROUP, false, kNs},
    {"CLONE_NEWTIME", CLONE_NEWTIME, false, kNs},
};
const std::size_t kCloneFlagCount = sizeof(kCloneFlags) / sizeof(kCloneFlags[0]);

const NamespaceInfo kNamespaces[kNamespaceCount] = {
    {"newpid", "pid", CLONE_NEWPID},       {"newns", "mnt", CLONE_NEWNS},
    {"newuts", "uts", CLONE_NEWUTS},       {"newipc", "ipc", CLONE_NEWIPC},
    {"newnet", "net", CLONE_NEWNET},       {"newuser", "user", CLONE_NEWUSER},
    {"newcgroup", "cgroup", CLONE_NEWCGROUP}, {"newtime", "time", CLONE_NEWTIME},
};

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::fork: return "fork";
    case Mode::vfork: return "vfork";
    case Mode::clone: return "clone";
    case Mode::spawn: return "spawn";
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view s) {
  for (Mode m : {Mode::fork, Mode::vfork, Mode::clone, Mode::spawn})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

std::string_view to_string(ReportFormat f) {
  switch (f) {
    case ReportFormat::text: return "text";
    case ReportFormat::json: return "json";
    case ReportFormat::none: return "none";
  }
  return "?";
}

std::optional<ReportFormat> parse_report_format(std::string_view s) {
  for (ReportFormat f : {ReportFormat::text, ReportFormat::json, ReportFormat::none})
    if (s == to_string(f)) return f;
  return std::nullopt;
}

std::uint64_t Spec::effective_namespaces() const {
  std::uint64_t ns = namespaces;
  if (hostname) ns |= CLONE_NEWUTS;
  if (rootfs || !mounts.empty() || overlay || read_only || mount_proc) ns |= CLONE_NEWNS;
  if (init || container()) ns |= CLONE_NEWPID;
  if (!uid_maps.empty() || !gid_maps.empty()) ns |= CLONE_NEWUSER;
  if (time_offsets.monotonic || time_offsets.boottime) ns |= CLONE_NEWTIME;
  return ns;
}

std::uint64_t Spec::effective_clone_flags() const {
  std::uint64_t f = clone_flags;
  if (vm) f |= CLONE_VM;
  if (vfork) f |= CLONE_VFORK;
  return f;
}

namespace {
// The option that asked for a namespace, as the user wrote it.
std::string ns_option(const Spec& s, std::uint64_t flag) {
  if (!(s.namespaces & flag)) {
    if (flag == CLONE_NEWUTS && s.hostname) return "--hostname";
    if (flag == CLONE_NEWPID && s.init) return "--init";
    if (flag == CLONE_NEWPID && s.container())
      return "--rootfs (a container gets a new PID namespace; --privileged keeps the host's)";
    if (flag == CLONE_NEWUSER && (!s.uid_maps.empty() || !s.gid_maps.empty())) return "--uid-map";
    if (flag == CLONE_NEWTIME) return "--time-offset";
    if (flag == CLONE_NEWNS && s.rootfs) return "--rootfs";
    if (flag == CLONE_NEWNS) return s.mounts.empty() ? "--mount-proc" : s.mounts.front().origin;
  }
  for (const auto& n : kNamespaces)
    if (n.flag == flag) return "--" + std::string(n.option);
  return "namespace";
}

// Which sandbox requests each mode can honour (kModeTraits), and why not.
Status validate_sandbox(const Spec& s) {
  std::uint64_t ns = s.effective_namespaces();
  std::uint64_t f = s.effective_clone_flags();
  const ModeTraits& t = mode_traits(s.mode, f);
  if (!t.can_sandbox && (ns || s.rootfs || s.user)) {
    // posix_spawn runs no rdbox code in the child: the sandbox would have to be built in
    // rdbox itself, which would then sit inside it holding what the command must not
    // reach (the rootfs's host fd, its own memory and environment).
    std::string opt = ns ? ns_option(s, ns & -ns) : std::string("--user");
    return Error::input(opt, "not with --mode spawn: posix_spawn runs no rdbox code in the child, so it cannot build "
                             "a sandbox (use --mode clone, fork or vfork)");
  }
  if (s.cgroup && !t.runs_stub)
    return Error::input(s.cgroup->origin, "not with --mode spawn: the child joins the run's cgroup in rdbox's exec "
                                          "stub, which posix_spawn does not run (use --mode clone, fork or vfork)");
  if (s.init && !t.can_run_init && !t.suspends_parent)
    return Error::input("--init", "not with --vm: the init is PID 1 and never execs, so it would share rdbox's memory "
                                  "with the sandbox (a command could write into rdbox through /proc/1/mem)");
  if (s.init && !t.can_run_init)
    return Error::input("--init", "not with a suspended parent (vfork, --vfork): the init never execs, so rdbox would "
                                  "stay suspended for the whole run");
  if ((ns & CLONE_NEWPID) && !t.can_new_pid)
    return Error::input(ns_option(s, CLONE_NEWPID), "needs --mode fork or clone: after vfork() only the child's own children could "
                                    "enter a new PID namespace, and a relay process that never execs would keep "
                                    "rdbox suspended");
  if ((ns & CLONE_NEWUSER) && !t.can_make_user_ns)
    return Error::input("--newuser", "needs --mode fork or clone: a vfork child shares rdbox's memory, and the kernel "
                                     "refuses unshare(CLONE_NEWUSER) to a process that shares its memory");
  if ((!s.uid_maps.empty() || !s.gid_maps.empty()) && !t.can_wait_for_parent)
    return Error::input(s.uid_maps.empty() ? "--gid-map" : "--uid-map",
                        "not with a suspended parent (vfork, --vfork): rdbox must write the map while the child "
                        "waits, and a vfork parent cannot run until the child execs");
  if ((f & CLONE_FS) && s.workdir)
    return Error::input("--clone-flags", "CLONE_FS shares rdbox's working directory: --workdir would move rdbox too "
                                         "(and stay shared after exec)");
  if ((f & CLONE_FS) && (ns & CLONE_NEWNS))
    return Error::input("--clone-flags", "CLONE_FS cannot be combined with a new mount namespace (the kernel refuses it)");
  if ((f & CLONE_FS) && (ns & CLONE_NEWUSER))
    return Error::input("--clone-flags", "CLONE_FS cannot be combined with a new user namespace (the kernel refuses it)");
  if ((f & CLONE_SIGHAND) && (ns & CLONE_NEWPID))
    return Error::input("--clone-flags", "CLONE_SIGHAND cannot be combined with a new PID namespace (the kernel refuses it)");
  if (s.hostname && (s.hostname->empty() || s.hostname->size() > kMaxHostname))
    return Error::input("--hostname", "must be 1 to " + std::to_string(kMaxHostname) + " bytes (the kernel's limit)");
  if (s.overlay && !s.rootfs) return Error::input("--overlay", "needs --rootfs DIR (the lower layer)");
  if (s.read_only && !s.rootfs) return Error::input("--read-only", "needs --rootfs DIR");
  if (s.mount_proc && !(ns & CLONE_NEWPID))
    return Error::input("--mount-proc", "needs --newpid (a /proc of the host's PID namespace shows the host)");
  if (s.uid_maps.size() > 340 || s.gid_maps.size() > 340)
    return Error::input("--uid-map", "the kernel takes at most 340 ranges");
  for (const auto& m : s.mounts) {
    std::string origin = m.origin.empty() ? "mount" : m.origin;
    auto d = normalize_destination(m.destination, origin);
    if (!d) return d.error();
    if (d.value() != m.destination) return Error::input(origin, "\"" + m.destination + "\" is not a normalized path");
    if (m.type == MountType::bind && (m.source.empty() || m.source[0] != '/'))
      return Error::input(origin, "source \"" + m.source + "\" must be an absolute path");
  }
  if (s.rootfs && s.rootfs->empty()) return Error::input("--rootfs", "must not be empty");
  return ok();
}
}  // namespace

namespace {
// The kernel takes C strings: a NUL inside a path or name would silently cut it short.
Status no_nul_bytes(const Spec& s) {
  auto has_nul = [](const std::optional<std::string>& v) { return v && v->find('\0') != std::string::npos; };
  for (const auto& [value, opt] : {std::pair{&s.argv0, "--argv0"}, std::pair{&s.workdir, "--workdir"},
                                   std::pair{&s.hostname, "--hostname"}, std::pair{&s.rootfs, "--rootfs"},
                                   std::pair{&s.report_file, "--report-file"}})
    if (has_nul(*value)) return Error::input(opt, "holds a NUL byte");
  for (const auto& m : s.mounts)
    if (m.source.find('\0') != std::string::npos || m.destination.find('\0') != std::string::npos ||
        m.data.find('\0') != std::string::npos)
      return Error::input(m.origin.empty() ? "mount" : m.origin, "holds a NUL byte");
  return ok();
}
}  // namespace

Status Spec::validate() const {
  if (command.empty()) return Error::input("run", "missing command (usage: rdbox run [OPTIONS] [--] COMMAND [ARG...])");
  if (command[0].empty()) return Error::input("run", "the command is an empty string");
  if ((vm || vfork) && mode != Mode::clone) {
    return Error::input(vm ? "--vm" : "--vfork",
                        "needs --mode clone (it is a clone flag), not --mode " + std::string(to_string(mode)));
  }
  if (mode != Mode::clone) {
    if (clone_flags) return Error::input("--clone-flags", "needs --mode clone, not --mode " + std::string(to_string(mode)));
    if (stack_size_given)
      return Error::input("--stack-size", "needs --mode clone (only clone runs on a custom stack)");
  }
  std::uint64_t f = effective_clone_flags();
  if ((f & CLONE_SIGHAND) && !(f & CLONE_VM))
    return Error::input("--clone-flags", "CLONE_SIGHAND needs a shared address space: add --vm");
  if (stack_size < kMinStackSize)
    return Error::input("--stack-size", std::to_string(stack_size) + " bytes is below the exec stub's minimum of " +
                                            std::to_string(kMinStackSize));
  if (stack_size > kMaxStackSize)
    return Error::input("--stack-size", std::to_string(stack_size) + " bytes is above the maximum of 1G");
  if (preserve_fds < 0 || preserve_fds > kMaxPreserveFds)
    return Error::input("--preserve-fds", "must be between 0 and " + std::to_string(kMaxPreserveFds));
  for (const auto& e : env) {
    if (!valid_env_key(e.key)) return Error::input("--env", "invalid variable name \"" + e.key + "\"");
    if (e.value && e.value->find('\0') != std::string::npos)
      return Error::input("--env", "the value of \"" + e.key + "\" holds a NUL byte");
  }
  if (argv0 && argv0->empty()) return Error::input("--argv0", "must not be empty");
  if (workdir && workdir->empty()) return Error::input("--workdir", "must not be empty");
  if (report_file && report_file->empty()) return Error::input("--report-file", "must not be empty");
  for (const auto& a : command)
    if (a.find('\0') != std::string::npos) return Error::input("run", "an argument holds a NUL byte");
  if (auto n = no_nul_bytes(*this); !n) return n;
  if (!pipeline.empty())
    if (auto p = validate_pipeline(*this); !p) return p;
  return validate_sandbox(*this);
}

}  // namespace rdbox
