#include "rdbox/spec.hpp"

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

namespace {
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

Expected<std::uint64_t> parse_clone_flags(std::string_view list) {
  std::uint64_t bits = 0;
  bool any = false;
  while (true) {
    auto comma = list.find_first_of(",|");
    std::string_view word = trim(list.substr(0, comma));
    if (!word.empty()) {
      std::string name = upper(word);
      if (name.rfind("CLONE_", 0) != 0) name = "CLONE_" + name;
      const CloneFlagInfo* row = nullptr;
      for (std::size_t i = 0; i < kCloneFlagCount; ++i)
        if (kCloneFlags[i].name == name) row = &kCloneFlags[i];
      if (!row) return Error::input("--clone-flags", "unknown flag \"" + std::string(word) + "\"");
      if (!row->user_settable)
        return Error::input("--clone-flags", std::string(row->name) + " is refused: " + std::string(row->refusal));
      bits |= row->bit;
      any = true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!any) return Error::input("--clone-flags", "empty flag list");
  return bits;
}

std::vector<std::string> clone_flag_names(std::uint64_t bits) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kCloneFlagCount; ++i)
    if (bits & kCloneFlags[i].bit) {
      names.emplace_back(kCloneFlags[i].name);
      bits &= ~kCloneFlags[i].bit;
    }
  return names;
}

Expected<std::size_t> parse_size(std::string_view text) {
  std::string_view s = trim(text);
  auto bad = [&](std::string why) {
    return Error::input("size \"" + std::string(text) + "\"", std::move(why));
  };
  if (s.empty()) return bad("empty");
  std::size_t i = 0;
  unsigned long long value = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    unsigned digit = static_cast<unsigned>(s[i] - '0');
    if (value > (std::numeric_limits<unsigned long long>::max() - digit) / 10) return bad("too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return bad("not a number");
  std::string suffix = upper(s.substr(i));
  unsigned shift = 0;
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") shift = 10;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") shift = 20;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") shift = 30;
  else return bad("unknown suffix \"" + std::string(s.substr(i)) + "\" (use K, M or G)");
  if (shift && value > (std::numeric_limits<std::size_t>::max() >> shift)) return bad("too large");
  std::size_t bytes = static_cast<std::size_t>(value) << shift;
  if (bytes == 0) return bad("must be greater than 0");
  return bytes;
}

namespace {
Expected<std::uint64_t> parse_u64(std::string_view s, std::string_view what, std::uint64_t max) {
  std::string_view t = trim(s);
  if (t.empty()) return Error::input(std::string(what), "empty number");
  std::uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return Error::input(std::string(what), "\"" + std::string(t) + "\" is not a number");
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return Error::input(std::string(what), "\"" + std::string(t) + "\" is too large");
    v = v * 10 + d;
  }
  return v;
}
}  // namespace

Expected<IdMapRange> parse_id_map(std::string_view text) {
  std::vector<std::string_view> parts;
  std::string_view t = trim(text);
  while (!t.empty()) {
    auto sp = t.find_first_of(" \t:");
    parts.push_back(t.substr(0, sp));
    if (sp == std::string_view::npos) break;
    t = trim(t.substr(sp + 1));
  }
  if (parts.size() != 3)
    return Error::input("id map \"" + std::string(text) + "\"", "want \"INSIDE OUTSIDE COUNT\"");
  IdMapRange r;
  const std::uint64_t max = 0xFFFFFFFFull;
  auto in = parse_u64(parts[0], "id map inside", max - 1);
  auto out = parse_u64(parts[1], "id map outside", max - 1);
  auto count = parse_u64(parts[2], "id map count", max);
  if (!in) return in.error();
  if (!out) return out.error();
  if (!count) return count.error();
  if (count.value() == 0) return Error::input("id map \"" + std::string(text) + "\"", "count must be at least 1");
  if (in.value() + count.value() > max + 1 || out.value() + count.value() > max + 1)
    return Error::input("id map \"" + std::string(text) + "\"", "range overflows 32-bit ids");
  r.inside = static_cast<std::uint32_t>(in.value());
  r.outside = static_cast<std::uint32_t>(out.value());
  r.count = static_cast<std::uint32_t>(count.value());
  return r;
}

Expected<MountEntry> parse_bind(std::string_view arg, bool read_only) {
  std::string opt = read_only ? "--ro-bind" : "--bind";
  auto colon = arg.find(':');
  std::string src(arg.substr(0, colon));
  std::string_view dst = colon == std::string_view::npos ? arg : arg.substr(colon + 1);
  if (src.empty() || src[0] != '/') return Error::input(opt, "source \"" + src + "\" must be an absolute path");
  if (dst.empty() || dst[0] != '/')
    return Error::input(opt, "destination \"" + std::string(dst) + "\" must be an absolute path");
  auto d = normalize_destination(dst, opt);
  if (!d) return d.error();
  MountEntry m;
  m.type = MountType::bind;
  m.source = std::move(src);
  m.destination = std::move(d.value());
  m.read_only = read_only;
  m.origin = opt;
  return m;
}

Expected<MountEntry> parse_tmpfs(std::string_view arg) {
  auto d = normalize_destination(arg, "--tmpfs");
  if (!d) return d.error();
  MountEntry m;
  m.type = MountType::tmpfs;
  m.source = "tmpfs";
  m.destination = std::move(d.value());
  m.flags = MS_NOSUID | MS_NODEV;
  m.data = "mode=0755";
  m.origin = "--tmpfs";
  return m;
}

Expected<TimeOffsets> parse_time_offsets(std::string_view text) {
  TimeOffsets t;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return Error::input("--time-offset", "\"" + std::string(item) + "\" (want monotonic=S,boottime=S)");
    std::string_view clock = item.substr(0, eq), value = item.substr(eq + 1);
    bool neg = !value.empty() && value[0] == '-';
    if (neg) value.remove_prefix(1);
    auto v = parse_u64(value, "--time-offset", 1ull << 40);
    if (!v) return v.error();
    std::int64_t secs = neg ? -static_cast<std::int64_t>(v.value()) : static_cast<std::int64_t>(v.value());
    if (clock == "monotonic") t.monotonic = secs;
    else if (clock == "boottime") t.boottime = secs;
    else return Error::input("--time-offset", "unknown clock \"" + std::string(clock) + "\" (want monotonic or boottime)");
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!t.monotonic && !t.boottime) return Error::input("--time-offset", "empty");
  return t;
}

Expected<UserIds> parse_user(std::string_view text) {
  auto colon = text.find(':');
  UserIds u;
  auto uid = parse_u64(text.substr(0, colon), "--user", 0xFFFFFFFEull);
  if (!uid) return Error::input("--user", "\"" + std::string(text) + "\" (want numeric UID[:GID])");
  u.uid = static_cast<std::uint32_t>(uid.value());
  if (colon != std::string_view::npos) {
    auto gid = parse_u64(text.substr(colon + 1), "--user", 0xFFFFFFFEull);
    if (!gid) return Error::input("--user", "\"" + std::string(text) + "\" (want numeric UID[:GID])");
    u.gid = static_cast<std::uint32_t>(gid.value());
  }
  return u;
}

std::uint64_t Spec::effective_namespaces() const {
  std::uint64_t ns = namespaces;
  if (hostname) ns |= CLONE_NEWUTS;
  if (rootfs || !mounts.empty() || overlay || read_only || mount_proc) ns |= CLONE_NEWNS;
  if (init) ns |= CLONE_NEWPID;
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
bool valid_env_key(std::string_view key) {
  return !key.empty() && key.find('=') == std::string_view::npos && key.find('\0') == std::string_view::npos;
}
}  // namespace

namespace {
// The option that asked for a namespace, as the user wrote it.
std::string ns_option(const Spec& s, std::uint64_t flag) {
  if (!(s.namespaces & flag)) {
    if (flag == CLONE_NEWUTS && s.hostname) return "--hostname";
    if (flag == CLONE_NEWPID && s.init) return "--init";
    if (flag == CLONE_NEWUSER && (!s.uid_maps.empty() || !s.gid_maps.empty())) return "--uid-map";
    if (flag == CLONE_NEWTIME) return "--time-offset";
    if (flag == CLONE_NEWNS && s.rootfs) return "--rootfs";
    if (flag == CLONE_NEWNS) return s.mounts.empty() ? "--mount-proc" : s.mounts.front().origin;
  }
  for (const auto& n : kNamespaces)
    if (n.flag == flag) return "--" + std::string(n.option);
  return "namespace";
}

// Which namespace requests each mode can honour, and why not.
Status validate_sandbox(const Spec& s) {
  std::uint64_t ns = s.effective_namespaces();
  std::uint64_t f = s.effective_clone_flags();
  bool vfork_like = s.mode == Mode::vfork || (s.mode == Mode::clone && (f & CLONE_VFORK));
  bool sandbox = ns || s.rootfs || s.user;
  if (s.mode == Mode::spawn && sandbox) {
    // posix_spawn runs no rdbox code in the child: the sandbox would have to be built in
    // rdbox itself, which would then sit inside it holding what the command must not
    // reach (the rootfs's host fd, its own memory and environment).
    std::string opt = ns ? ns_option(s, ns & -ns) : std::string("--user");
    return Error::input(opt, "not with --mode spawn: posix_spawn runs no rdbox code in the child, so it cannot build "
                             "a sandbox (use --mode clone, fork or vfork)");
  }
  if (s.init && (f & CLONE_VM) && s.mode == Mode::clone && !(f & CLONE_VFORK))
    return Error::input("--init", "not with --vm: the init is PID 1 and never execs, so it would share rdbox's memory "
                                  "with the sandbox (a command could write into rdbox through /proc/1/mem)");
  if (vfork_like && s.init)
    return Error::input("--init", "not with a suspended parent (vfork, --vfork): the init never execs, so rdbox would "
                                  "stay suspended for the whole run");
  if (s.mode == Mode::vfork && (ns & CLONE_NEWPID))
    return Error::input("--newpid", "needs --mode fork or clone: after vfork() only the child's own children could "
                                    "enter a new PID namespace, and a relay process that never execs would keep "
                                    "rdbox suspended");
  if (s.mode == Mode::vfork && (ns & CLONE_NEWUSER))
    return Error::input("--newuser", "needs --mode fork or clone: a vfork child shares rdbox's memory, and the kernel "
                                     "refuses unshare(CLONE_NEWUSER) to a process that shares its memory");
  if (vfork_like && (!s.uid_maps.empty() || !s.gid_maps.empty()))
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
  for (const auto& e : env)
    if (!valid_env_key(e.key)) return Error::input("--env", "invalid variable name \"" + e.key + "\"");
  if (argv0 && argv0->empty()) return Error::input("--argv0", "must not be empty");
  if (workdir && workdir->empty()) return Error::input("--workdir", "must not be empty");
  if (report_file && report_file->empty()) return Error::input("--report-file", "must not be empty");
  for (const auto& a : command)
    if (a.find('\0') != std::string::npos) return Error::input("run", "an argument holds a NUL byte");
  return validate_sandbox(*this);
}

Expected<EnvEntry> parse_env_arg(std::string_view arg) {
  auto eq = arg.find('=');
  std::string_view key = eq == std::string_view::npos ? arg : arg.substr(0, eq);
  if (!valid_env_key(key) || key.find_first_of(" \t\n") != std::string_view::npos)
    return Error::input("--env", "invalid variable \"" + std::string(arg) + "\" (want KEY=VALUE or KEY)");
  EnvEntry e{std::string(key), std::nullopt};
  if (eq != std::string_view::npos) e.value = std::string(arg.substr(eq + 1));
  return e;
}

Expected<std::vector<EnvEntry>> parse_env_file(std::string_view text, std::string_view origin) {
  std::vector<EnvEntry> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    // Docker's env-file keeps the value verbatim; only leading blanks of the key go.
    std::string_view entry = line.substr(line.find(t.front()));
    auto e = parse_env_arg(entry);
    if (!e) {
      return Error::input("--env-file " + std::string(origin) + ":" + std::to_string(line_no),
                          "invalid line \"" + std::string(t) + "\" (want KEY=VALUE or KEY)");
    }
    out.push_back(std::move(e.value()));
  }
  return out;
}

}  // namespace rdbox
