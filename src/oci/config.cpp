// config.json → SandboxConfig. One function per object of the runtime spec; every value is
// type-checked here (json::get would throw on a wrong type, and every input must become an
// Error naming its field). Unknown properties are ignored, as the spec requires.
#include "oci/config.hpp"

#include "oci/json_field.hpp"
#include "oci/resources.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace rdbox::oci {

namespace {






// "a//b/" → "/a/b"; relative paths are taken from / (as runc does).
std::string clean_destination(const std::string& d) {
  std::string out = d.empty() || d[0] != '/' ? "/" : "";
  for (char ch : d) {
    if (ch == '/' && !out.empty() && out.back() == '/') continue;
    out += ch;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string join_path(const std::string& dir, const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  return dir + (dir.empty() || dir.back() == '/' ? "" : "/") + p;
}

// ---- process ---------------------------------------------------------------------------

Status parse_capabilities(const Field& f, ProcessConfig& pc, std::vector<std::string>& warnings) {
  CapabilitySets sets;
  if (f.present()) {
    if (auto s = check_object(f); !s) return s;
    struct {
      const char* key;
      std::uint64_t* set;
    } kinds[] = {{"bounding", &sets.bounding},
                 {"effective", &sets.effective},
                 {"inheritable", &sets.inheritable},
                 {"permitted", &sets.permitted},
                 {"ambient", &sets.ambient}};
    for (auto& k : kinds) {
      auto names = get_strings(at(*f.v, f.path, k.key));
      if (!names) return names.error();
      for (std::size_t i = 0; i < names->size(); ++i) {
        int cap = capability_number((*names)[i]);
        if (cap == -2 || (*names)[i].empty() || has_nul((*names)[i]))
          return Error::input(idx(f.path + "." + k.key, i), "\"" + (*names)[i] + "\" is not a capability name");
        if (cap < 0) {
          // A capability newer than this kernel or libcap-ng: runc and crun skip it too.
          warnings.push_back(idx(f.path + "." + k.key, i) + ": unknown capability \"" + (*names)[i] + "\" ignored");
          continue;
        }
        *k.set |= 1ULL << cap;
      }
    }
  }
  // The kernel keeps effective within permitted and ambient within permitted and
  // inheritable; a capability named beyond that is not raised (as runc does), not an error.
  sets.ambient &= sets.permitted & sets.inheritable;
  sets.effective &= sets.permitted;
  // Absent means none, as runc has it: the container gets no capability it did not name.
  pc.caps = sets;
  return ok();
}

Status parse_rlimits(const Field& f, ProcessConfig& pc) {
  if (!f.present()) return ok();
  if (auto s = check_array(f); !s) return s;
  std::set<int> seen;
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    Field e{&(*f.v)[i], idx(f.path, i)};
    if (!e.v->is_object()) return type_error(e, "an object");
    auto type = get_string(at(*e.v, e.path, "type"));
    if (!type) return type.error();
    int res = rlimit_number(*type);
    if (type->empty() || res < 0) return Error::input(e.path + ".type", "unknown rlimit \"" + *type + "\"");
    if (!seen.insert(res).second) return Error::input(e.path + ".type", "\"" + *type + "\" is given twice");
    Field soft = at(*e.v, e.path, "soft"), hard = at(*e.v, e.path, "hard");
    if (!soft.present() || !hard.present()) return Error::input(e.path, "needs both soft and hard");
    auto s = get_u64(soft), h = get_u64(hard);
    if (!s) return s.error();
    if (!h) return h.error();
    if (*s > *h) return Error::input(e.path, "soft is above hard");
    pc.rlimits.push_back(Rlimit{res, *s, *h});
  }
  return ok();
}

Status parse_user(const Field& f, ProcessConfig& pc, ProcessExtras& x) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  UserIds ids;
  Field uid = at(*f.v, f.path, "uid"), gid = at(*f.v, f.path, "gid");
  if (uid.present()) {
    auto u = get_u64(uid, UINT32_MAX - 1);
    if (!u) return u.error();
    ids.uid = static_cast<std::uint32_t>(*u);
  }
  if (gid.present()) {
    auto g = get_u64(gid, UINT32_MAX - 1);
    if (!g) return g.error();
    ids.gid = static_cast<std::uint32_t>(*g);
  } else {
    ids.gid = 0;
  }
  Field um = at(*f.v, f.path, "umask");
  if (um.present()) {
    auto u = get_u64(um, 0777);
    if (!u) return u.error();
    x.umask = static_cast<std::uint32_t>(*u);
  }
  Field groups = at(*f.v, f.path, "additionalGids");
  if (groups.present()) {
    if (auto s = check_array(groups); !s) return s;
    if (groups.v->size() > 65536) return Error::input(groups.path, "more than 65536 groups");
    for (std::size_t i = 0; i < groups.v->size(); ++i) {
      auto g = get_u64(Field{&(*groups.v)[i], idx(groups.path, i)}, UINT32_MAX - 1);
      if (!g) return g.error();
      pc.groups.push_back(static_cast<std::uint32_t>(*g));
    }
  }
  if (auto name = get_string(at(*f.v, f.path, "username")); !name) return name.error();
  pc.user = ids;
  return ok();
}

Status parse_process_object(const Field& f, ProcessConfig& pc, ProcessExtras& x, std::vector<std::string>& warnings,
                            bool require_args) {
  if (!f.present()) return Error::input(f.path.empty() ? "process" : f.path, "is required");
  if (auto s = check_object(f); !s) return s;
  const json& p = *f.v;
  auto args = get_strings(at(p, f.path, "args"));
  if (!args) return args.error();
  if (require_args && (args->empty() || (*args)[0].empty()))
    return Error::input(at(p, f.path, "args").path, "must name the program to run");
  for (std::size_t i = 0; i < args->size(); ++i)
    if (has_nul((*args)[i])) return Error::input(idx(at(p, f.path, "args").path, i), "holds a NUL byte");
  pc.argv = std::move(*args);
  auto env = get_strings(at(p, f.path, "env"));
  if (!env) return env.error();
  for (std::size_t i = 0; i < env->size(); ++i) {
    const std::string& e = (*env)[i];
    if (e.find('=') == std::string::npos || e[0] == '=' || has_nul(e))
      return Error::input(idx(at(p, f.path, "env").path, i), "\"" + e + "\" is not KEY=VALUE");
  }
  pc.env = std::move(*env);
  Field cwd_f = at(p, f.path, "cwd");
  auto cwd = get_string(cwd_f, "/");
  if (!cwd) return cwd.error();
  if (cwd->empty() || (*cwd)[0] != '/' || has_nul(*cwd)) return Error::input(cwd_f.path, "must be an absolute path");
  pc.cwd = *cwd;
  auto term = get_bool(at(p, f.path, "terminal"));
  if (!term) return term.error();
  x.terminal = *term;
  if (auto s = check_object(at(p, f.path, "consoleSize")); !s) return s;
  if (auto s = parse_user(at(p, f.path, "user"), pc, x); !s) return s;
  if (auto s = parse_capabilities(at(p, f.path, "capabilities"), pc, warnings); !s) return s;
  if (auto s = parse_rlimits(at(p, f.path, "rlimits"), pc); !s) return s;
  auto nnp = get_bool(at(p, f.path, "noNewPrivileges"));
  if (!nnp) return nnp.error();
  pc.no_new_privs = *nnp;
  Field oom = at(p, f.path, "oomScoreAdj");
  if (oom.present()) {
    auto o = get_i64(oom, -1000, 1000);
    if (!o) return o.error();
    x.oom_score_adj = static_cast<int>(*o);
  }
  auto aa = get_string(at(p, f.path, "apparmorProfile"));
  if (!aa) return aa.error();
  x.apparmor_profile = *aa;
  auto se = get_string(at(p, f.path, "selinuxLabel"));
  if (!se) return se.error();
  x.selinux_label = *se;
  if (!x.apparmor_profile.empty())
    warnings.push_back(at(p, f.path, "apparmorProfile").path + ": AppArmor is not applied by rdbox");
  if (!x.selinux_label.empty())
    warnings.push_back(at(p, f.path, "selinuxLabel").path + ": SELinux labels are not applied by rdbox");
  for (const char* unsupported : {"scheduler", "ioPriority", "execCPUAffinity"})
    if (at(p, f.path, unsupported).present())
      return Error::input(at(p, f.path, unsupported).path, "is not supported by rdbox");
  return ok();
}

// ---- mounts ----------------------------------------------------------------------------

struct FlagWord {
  const char* name;
  unsigned long set, clear;
  bool read_only, writable;
};
// Words that are flags, the way crun's mount_flags table has them; the rest are data.
constexpr FlagWord kFlagWords[] = {
    {"ro", 0, 0, true, false},         {"rw", 0, 0, false, true},
    {"rro", 0, 0, true, false},        {"rrw", 0, 0, false, true},
    {"nosuid", MS_NOSUID, 0, false, false}, {"suid", 0, MS_NOSUID, false, false},
    {"rnosuid", MS_NOSUID, 0, false, false}, {"rsuid", 0, MS_NOSUID, false, false},
    {"nodev", MS_NODEV, 0, false, false},   {"dev", 0, MS_NODEV, false, false},
    {"rnodev", MS_NODEV, 0, false, false},  {"rdev", 0, MS_NODEV, false, false},
    {"noexec", MS_NOEXEC, 0, false, false}, {"exec", 0, MS_NOEXEC, false, false},
    {"rnoexec", MS_NOEXEC, 0, false, false}, {"rexec", 0, MS_NOEXEC, false, false},
};
// Accepted and not applied: propagation (every rdbox mount is private; nothing reaches the
// host), atime flavours (the kernel's default, relatime, is kept), and the rest that only
// matter to a remount.
constexpr const char* kIgnoredWords[] = {
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
    "relatime", "norelatime", "strictatime", "nostrictatime", "noatime", "atime", "nodiratime", "diratime",
    "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime", "rnoatime", "ratime", "rnodiratime", "rdiratime",
    "async", "sync", "dirsync", "remount", "mand", "nomand", "defaults", "silent", "loud", "iversion", "noiversion",
    "lazytime", "nolazytime", "tmpcopyup", "notmpcopyup", "copy-symlink", "rbind", "bind", "nosymfollow", "rnosymfollow",
    "symfollow", "rsymfollow"};

bool ignored_word(const std::string& w) {
  for (const char* i : kIgnoredWords)
    if (w == i) return true;
  return false;
}

Expected<MountType> fs_type(const std::string& type, const std::string& path) {
  if (type == "tmpfs") return MountType::tmpfs;
  if (type == "proc") return MountType::proc;
  if (type == "sysfs") return MountType::sysfs;
  if (type == "devpts") return MountType::devpts;
  if (type == "mqueue") return MountType::mqueue;
  return Error::input(path, "mount type \"" + type +
                                "\" is not supported by rdbox (bind, tmpfs, proc, sysfs, devpts, mqueue; cgroup is "
                                "skipped)");
}

// One mounts[] entry; nullopt for one rdbox skips (with a warning).
Expected<std::optional<MountEntry>> parse_mount(const Field& f, const std::string& bundle_dir,
                                                std::vector<std::string>& warnings) {
  if (!f.v->is_object()) return type_error(f, "an object");
  const json& m = *f.v;
  Field dest_f = at(m, f.path, "destination");
  if (!dest_f.present()) return Error::input(dest_f.path, "is required");
  auto dest = get_string(dest_f);
  if (!dest) return dest.error();
  if (dest->empty() || has_nul(*dest)) return Error::input(dest_f.path, "must be a path");
  auto type = get_string(at(m, f.path, "type"));
  if (!type) return type.error();
  auto source = get_string(at(m, f.path, "source"));
  if (!source) return source.error();
  if (has_nul(*source)) return Error::input(at(m, f.path, "source").path, "holds a NUL byte");
  Field opts_f = at(m, f.path, "options");
  auto opts = get_strings(opts_f);
  if (!opts) return opts.error();
  for (const char* idmapped : {"uidMappings", "gidMappings"})
    if (at(m, f.path, idmapped).present())
      return Error::input(at(m, f.path, idmapped).path, "idmapped mounts are not supported by rdbox");

  MountEntry e;
  e.origin = dest_f.path;
  e.destination = clean_destination(*dest);
  if (e.destination == "/") return Error::input(dest_f.path, "must not be / (that is root.path)");
  bool bind = *type == "bind" || *type == "rbind", rbind = *type == "rbind", any_bind_word = bind;
  for (const auto& o : *opts) {
    if (o == "bind") any_bind_word = true;
    if (o == "rbind") any_bind_word = rbind = true;
  }
  bind = any_bind_word;
  if (!bind) {
    if (*type == "cgroup" || *type == "cgroup2") {
      warnings.push_back(f.path + ": " + *type + " mounts are skipped (the container sees /sys/fs/cgroup empty)");
      return std::optional<MountEntry>{};
    }
    if (type->empty()) return Error::input(at(m, f.path, "type").path, "is required for a mount that is not a bind");
    auto t = fs_type(*type, at(m, f.path, "type").path);
    if (!t) return t.error();
    e.type = *t;
    e.source = *source;
  } else {
    if (source->empty()) return Error::input(at(m, f.path, "source").path, "is required for a bind mount");
    e.type = MountType::bind;
    e.source = join_path(bundle_dir, *source);
    e.recursive = rbind;
  }
  std::string data;
  for (std::size_t i = 0; i < opts->size(); ++i) {
    const std::string& o = (*opts)[i];
    const FlagWord* fw = nullptr;
    for (const auto& w : kFlagWords)
      if (o == w.name) fw = &w;
    if (fw) {
      e.flags = (e.flags | fw->set) & ~fw->clear;
      if (fw->read_only) e.read_only = true;
      if (fw->writable) e.read_only = false;
      continue;
    }
    if (ignored_word(o)) continue;
    if (o.empty() || o.find(',') != std::string::npos)
      return Error::input(idx(opts_f.path, i), "\"" + o + "\" is not a mount option");
    if (o == "idmap" || o == "ridmap")
      return Error::input(idx(opts_f.path, i), "idmapped mounts are not supported by rdbox");
    if (bind) {  // the kernel takes no data with MS_BIND: runc and crun drop it too
      warnings.push_back(idx(opts_f.path, i) + ": \"" + o + "\" means nothing to a bind mount; ignored");
      continue;
    }
    data += (data.empty() ? "" : ",") + o;  // size=, mode=, newinstance, ptmxmode=...: the filesystem's own
  }
  e.data = data;
  return std::optional<MountEntry>(std::move(e));
}

// The devices every container has (runtime-spec "Default Devices"), bound from the host:
// binding works rootless too, and a bound node is the host's own, never a new one.
void add_default_devices(std::vector<MountEntry>& out, const std::string& origin) {
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string path = std::string("/dev/") + node;
    out.push_back({MountType::bind, path, path, false, false, 0, "", false, "", origin});
  }
  out.push_back({MountType::symlink, "pts/ptmx", "/dev/ptmx", false, true, 0, "", false, "", origin});
  out.push_back({MountType::symlink, "/proc/self/fd", "/dev/fd", false, true, 0, "", false, "", origin});
  const char* std_names[] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; ++i)
    out.push_back({MountType::symlink, "/proc/self/fd/" + std::to_string(i), std::string("/dev/") + std_names[i], false,
                   true, 0, "", false, "", origin});
}

// linux.devices: as root, each node made in the container (mknod, with its fileMode, uid
// and gid), unless the host has that very node at that path: then it is bound, as
// rootless always (a user namespace may make no nodes) — there the host must have it.
Status parse_devices(const Field& f, bool rootless, std::vector<MountEntry>& out, std::vector<CgroupDeviceRule>& rules) {
  if (!f.present()) return ok();
  if (auto s = check_array(f); !s) return s;
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    Field d{&(*f.v)[i], idx(f.path, i)};
    if (!d.v->is_object()) return type_error(d, "an object");
    auto path = get_string(at(*d.v, d.path, "path"));
    if (!path) return path.error();
    auto type = get_string(at(*d.v, d.path, "type"));
    if (!type) return type.error();
    if (path->empty() || (*path)[0] != '/' || has_nul(*path)) return Error::input(d.path + ".path", "must be an absolute path");
    if (*type != "c" && *type != "b" && *type != "u" && *type != "p")
      return Error::input(d.path + ".type", "must be c, b, u or p");
    std::uint64_t num[2] = {0, 0};  // major, minor
    for (int k = 0; k < 2; ++k) {
      Field n = at(*d.v, d.path, k == 0 ? "major" : "minor");
      if (!n.present()) {
        if (*type == "p") continue;
        return Error::input(n.path, "is required for a device");
      }
      auto v = get_u64(n, UINT32_MAX);
      if (!v) return v.error();
      num[k] = *v;
    }
    MountEntry::Node node;
    node.mode = 0666;
    for (auto [key, out_v, max] : {std::tuple{"fileMode", &node.mode, 07777u}, std::tuple{"uid", &node.uid, UINT32_MAX},
                                   std::tuple{"gid", &node.gid, UINT32_MAX}}) {
      Field n = at(*d.v, d.path, key);
      if (!n.present()) continue;
      auto v = get_u64(n, max);
      if (!v) return v.error();
      *out_v = static_cast<std::uint32_t>(*v);
    }
    node.mode |= *type == "p" ? S_IFIFO : *type == "b" ? S_IFBLK : S_IFCHR;
    node.rdev = ::makedev(static_cast<unsigned>(num[0]), static_cast<unsigned>(num[1]));
    std::string dest = clean_destination(*path);
    // The container's /dev/ptmx is its devpts' (a link to pts/ptmx, as runc makes it),
    // also where the engine lists the host's (containerd's privileged containers).
    if (dest == "/dev/ptmx") continue;
    struct stat st {};
    bool same = ::stat(path->c_str(), &st) == 0 && (st.st_mode & S_IFMT) == (node.mode & S_IFMT) &&
                (*type == "p" || st.st_rdev == node.rdev);
    if (!same && rootless)
      return Error::input(d.path, "rdbox binds devices from the host without root, and the host has no " + *type +
                                      " " + std::to_string(num[0]) + ":" + std::to_string(num[1]) + " at \"" + *path + "\"");
    if (same) out.push_back({MountType::bind, *path, dest, false, false, 0, "", false, "", d.path});
    else out.push_back({MountType::device, "", dest, false, false, 0, "", false, "", d.path, node});
    if (*type != "p")
      rules.push_back({true, *type == "b" ? 'b' : 'c', static_cast<std::int64_t>(num[0]), static_cast<std::int64_t>(num[1]), "rwm"});
  }
  return ok();
}

// ---- linux -----------------------------------------------------------------------------

struct NsName {
  const char* name;
  std::uint64_t flag;
};
constexpr NsName kNsNames[] = {{"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
                               {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
                               {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

Status parse_namespaces(const Field& f, SandboxConfig& c) {
  if (!f.present()) return ok();
  if (auto s = check_array(f); !s) return s;
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    Field n{&(*f.v)[i], idx(f.path, i)};
    if (!n.v->is_object()) return type_error(n, "an object");
    auto type = get_string(at(*n.v, n.path, "type"));
    if (!type) return type.error();
    auto path = get_string(at(*n.v, n.path, "path"));
    if (!path) return path.error();
    std::uint64_t flag = 0;
    for (const auto& k : kNsNames)
      if (*type == k.name) flag = k.flag;
    if (!flag) return Error::input(n.path + ".type", "unknown namespace type \"" + *type + "\"");
    if (c.find_namespace(flag)) return Error::input(n.path + ".type", "namespace \"" + *type + "\" is given twice");
    if (!path->empty() && ((*path)[0] != '/' || has_nul(*path)))
      return Error::input(n.path + ".path", "must be an absolute path");
    c.namespaces.push_back({flag, *path, n.path});
  }
  return ok();
}

Status parse_id_mappings(const Field& f, std::vector<IdMapRange>& out) {
  if (!f.present()) return ok();
  if (auto s = check_array(f); !s) return s;
  if (f.v->size() > 340) return Error::input(f.path, "more than 340 ranges (the kernel's limit)");
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    Field m{&(*f.v)[i], idx(f.path, i)};
    if (!m.v->is_object()) return type_error(m, "an object");
    IdMapRange r;
    std::uint32_t* dst[] = {&r.inside, &r.outside, &r.count};
    const char* keys[] = {"containerID", "hostID", "size"};
    for (int k = 0; k < 3; ++k) {
      Field v = at(*m.v, m.path, keys[k]);
      if (!v.present()) return Error::input(v.path, "is required");
      auto n = get_u64(v, UINT32_MAX);
      if (!n) return n.error();
      *dst[k] = static_cast<std::uint32_t>(*n);
    }
    if (r.count == 0) return Error::input(m.path + ".size", "must not be 0");
    if (std::uint64_t(r.inside) + r.count > (1ULL << 32) || std::uint64_t(r.outside) + r.count > (1ULL << 32))
      return Error::input(m.path, "the range runs past 4294967295");
    out.push_back(r);
  }
  return ok();
}

// linux.resources → the container's cgroup. A device list ends with the defaults every
// container needs and the nodes linux.devices gives it (runc's and crun's order).
Status parse_resources(const Field& f, const std::string& cgroups_path, const std::vector<CgroupDeviceRule>& nodes,
                       SandboxConfig& c) {
  CgroupConfig cg;
  cg.origin = "linux.cgroupsPath";
  cg.path = cgroups_path;
  if (auto s = parse_resources_object(f, cg); !s) return s;
  if (!cg.devices.empty()) {
    for (const auto& r : default_device_rules()) cg.devices.push_back(r);
    cg.devices.insert(cg.devices.end(), nodes.begin(), nodes.end());
  }
  // Every cgroup an OCI container gets has a freezer (pause/resume), where the host has
  // one, and a directory in every hierarchy (update, the engines' stats).
  cg.freezer = true;
  cg.every_hierarchy = true;
  if (!cgroups_path.empty() || cg.any_limit()) c.cgroup = cg;
  return ok();
}

Status parse_sysctl(const Field& f, Bundle& b) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  for (auto it = f.v->begin(); it != f.v->end(); ++it) {
    std::string key = it.key(), path = f.path + "." + key;
    if (!it->is_string()) return Error::input(path, "must be a string");
    if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos || has_nul(key) ||
        key[0] == '.')
      return Error::input(path, "is not a sysctl name");
    bool namespaced = key.rfind("net.", 0) == 0 || key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.sem", 0) == 0 ||
                      key.rfind("kernel.shm", 0) == 0 || key == "fs.mqueue" || key.rfind("fs.mqueue.", 0) == 0 ||
                      key == "kernel.hostname" || key == "kernel.domainname";
    if (!namespaced) return Error::input(path, "is not a namespaced sysctl (rdbox never changes the host's)");
    b.sysctl.emplace_back(key, it->get<std::string>());
  }
  return ok();
}

Status parse_time_offsets(const Field& f, SandboxConfig& c) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  for (auto it = f.v->begin(); it != f.v->end(); ++it) {
    std::string path = f.path + "." + it.key();
    if (!it->is_object()) return Error::input(path, "must be an object");
    Field secs = at(*it, path, "secs");
    std::int64_t s = 0;
    if (secs.present()) {
      auto n = get_i64(secs, INT64_MIN / 2, INT64_MAX / 2);
      if (!n) return n.error();
      s = *n;
    }
    if (Field ns = at(*it, path, "nanosecs"); ns.present())
      if (auto n = get_u64(ns, 999999999); !n) return n.error();
    if (it.key() == "monotonic") c.time_offsets.monotonic = s;
    else if (it.key() == "boottime") c.time_offsets.boottime = s;
    else return Error::input(path, "unknown clock (monotonic or boottime)");
  }
  return ok();
}

Status parse_linux(const Field& f, const ParseOptions& opts, Bundle& b, std::vector<MountEntry>& devices) {
  SandboxConfig& c = b.config;
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  const json& l = *f.v;
  if (auto s = parse_namespaces(at(l, f.path, "namespaces"), c); !s) return s;
  if (auto s = parse_id_mappings(at(l, f.path, "uidMappings"), c.uid_maps); !s) return s;
  if (auto s = parse_id_mappings(at(l, f.path, "gidMappings"), c.gid_maps); !s) return s;
  c.origins.uid_map = "linux.uidMappings";
  c.origins.gid_map = "linux.gidMappings";
  std::vector<CgroupDeviceRule> device_rules;
  if (auto s = parse_devices(at(l, f.path, "devices"), opts.rootless, devices, device_rules); !s) return s;
  auto cg_path = get_string(at(l, f.path, "cgroupsPath"));
  if (!cg_path) return cg_path.error();
  if (has_nul(*cg_path)) return Error::input("linux.cgroupsPath", "holds a NUL byte");
  if (("/" + *cg_path + "/").find("/../") != std::string::npos)
    return Error::input("linux.cgroupsPath", "\"" + *cg_path + "\" has a \"..\" component");
  if (auto s = parse_resources(at(l, f.path, "resources"), *cg_path, device_rules, c); !s) return s;
  if (auto s = parse_sysctl(at(l, f.path, "sysctl"), b); !s) return s;
  Field sec = at(l, f.path, "seccomp");
  if (sec.present()) {
    if (auto s = check_object(sec); !s) return s;
    if (at(*sec.v, sec.path, "listenerPath").present())
      return Error::input(sec.path + ".listenerPath", "seccomp notification is not supported by rdbox");
    c.seccomp_profile = sec.v->dump();
    c.seccomp_name = "linux.seccomp";
  }
  for (const char* k : {"maskedPaths", "readonlyPaths"}) {
    Field paths = at(l, f.path, k);
    auto list = get_strings(paths);
    if (!list) return list.error();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& p = (*list)[i];
      if (p.empty() || p[0] != '/' || has_nul(p)) return Error::input(idx(paths.path, i), "must be an absolute path");
      std::string d = clean_destination(p);
      if (d == "/") return Error::input(idx(paths.path, i), "must not be /");
      auto norm = normalize_destination(d, idx(paths.path, i));
      if (!norm) return norm.error();
      MountEntry e;
      e.type = std::strcmp(k, "maskedPaths") == 0 ? MountType::mask : MountType::readonly;
      e.destination = *norm;
      e.origin = idx(paths.path, i);
      b.config.mounts.push_back(e);  // held apart: appended after the mounts by parse_config
    }
  }
  auto prop = get_string(at(l, f.path, "rootfsPropagation"));
  if (!prop) return prop.error();
  if (!prop->empty()) {
    struct Propagation {
      const char* name;
      unsigned long flag;
    };
    constexpr Propagation kPropagations[] = {{"private", MS_PRIVATE}, {"slave", MS_SLAVE}, {"shared", MS_SHARED},
                                             {"unbindable", MS_UNBINDABLE}};
    std::string word = (*prop)[0] == 'r' ? prop->substr(1) : *prop;  // rshared: the same (always recursive)
    for (const auto& p : kPropagations)
      if (word == p.name) c.root_propagation = p.flag;
    if (!c.root_propagation)
      return Error::input("linux.rootfsPropagation", "unknown propagation \"" + *prop + "\"");
  }
  if (auto s = parse_time_offsets(at(l, f.path, "timeOffsets"), c); !s) return s;
  Field pers = at(l, f.path, "personality");
  if (pers.present()) {
    if (auto s = check_object(pers); !s) return s;
    auto domain = get_string(at(*pers.v, pers.path, "domain"));
    if (!domain) return domain.error();
    if (*domain != "LINUX") return Error::input(pers.path + ".domain", "only LINUX is supported by rdbox");
  }
  if (auto s = get_string(at(l, f.path, "mountLabel")); !s) return s.error();
  if (at(l, f.path, "intelRdt").present()) return Error::input("linux.intelRdt", "is not supported by rdbox");
  (void)opts;
  return ok();
}

Status parse_hooks(const Field& f, Hooks& h) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  struct {
    const char* key;
    std::vector<Hook>* list;
  } kinds[] = {{"prestart", &h.prestart},         {"createRuntime", &h.create_runtime},
               {"createContainer", &h.create_container}, {"startContainer", &h.start_container},
               {"poststart", &h.poststart},       {"poststop", &h.poststop}};
  for (auto& k : kinds) {
    Field list = at(*f.v, f.path, k.key);
    if (!list.present()) continue;
    if (auto s = check_array(list); !s) return s;
    for (std::size_t i = 0; i < list.v->size(); ++i) {
      Field e{&(*list.v)[i], idx(list.path, i)};
      if (!e.v->is_object()) return type_error(e, "an object");
      Hook hook;
      auto path = get_string(at(*e.v, e.path, "path"));
      if (!path) return path.error();
      if (path->empty() || (*path)[0] != '/' || has_nul(*path)) return Error::input(e.path + ".path", "must be an absolute path");
      hook.path = *path;
      auto args = get_strings(at(*e.v, e.path, "args"));
      if (!args) return args.error();
      auto env = get_strings(at(*e.v, e.path, "env"));
      if (!env) return env.error();
      for (const auto& s : *args)
        if (has_nul(s)) return Error::input(e.path + ".args", "holds a NUL byte");
      for (const auto& s : *env)
        if (has_nul(s)) return Error::input(e.path + ".env", "holds a NUL byte");
      hook.args = *args;
      hook.env = *env;
      Field t = at(*e.v, e.path, "timeout");
      if (t.present()) {
        auto n = get_i64(t, 1, 3600);
        if (!n) return n.error();
        hook.timeout = static_cast<int>(*n);
      }
      k.list->push_back(std::move(hook));
    }
  }
  return ok();
}

}  // namespace

int signal_number(std::string_view name) {
  if (name.empty() || name.size() > 16) return -1;
  bool digits = true;
  for (char ch : name) digits = digits && ch >= '0' && ch <= '9';
  if (digits) {
    long n = 0;
    for (char ch : name) n = n > 1000 ? n : n * 10 + (ch - '0');  // bounded: no overflow on 16 digits
    return n >= 1 && n <= 64 ? static_cast<int>(n) : -1;
  }
  std::string n(name);
  for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (n.rfind("SIG", 0) == 0) n.erase(0, 3);
  static const std::pair<const char*, int> names[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
      {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  for (const auto& [nm, sig] : names)
    if (n == nm) return sig;
  if (n.rfind("RTMIN", 0) == 0 || n.rfind("RTMAX", 0) == 0) {
    bool min = n[3] == 'I';
    std::string rest = n.substr(5);
    int off = 0;
    if (!rest.empty()) {
      if (rest.size() > 3 || (rest[0] != '+' && rest[0] != '-')) return -1;
      for (std::size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] < '0' || rest[i] > '9') return -1;
        off = off * 10 + (rest[i] - '0');
      }
      if (rest.size() == 1) return -1;
      if (rest[0] == '-') off = -off;
    }
    int sig = (min ? SIGRTMIN : SIGRTMAX) + off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}

Expected<ProcessConfig> parse_process(std::string_view json_text, ProcessExtras* extras) {
  auto j = parse_json_object(json_text, "process");
  if (!j) return j.error();
  ProcessConfig pc;
  ProcessExtras x;
  std::vector<std::string> warnings;
  Field f{&*j, ""};
  if (auto s = parse_process_object(f, pc, x, warnings, true); !s) {
    Error e = s.error();
    if (e.context.empty() || e.context == "process") e.context = "process";
    return e;
  }
  if (extras) *extras = x;
  return pc;
}

namespace {

// ociVersion: required, 1.x.
Status parse_version(const json& j, Bundle& b) {
  Field ver = at(j, "", "ociVersion");
  if (!ver.present()) return Error::input("ociVersion", "is required");
  auto v = get_string(ver);
  if (!v) return v.error();
  if (v->rfind("1.", 0) != 0) return Error::input("ociVersion", "\"" + *v + "\" is not a 1.x version rdbox reads");
  b.oci_version = *v;
  return ok();
}

// root (required on Linux), hostname, domainname.
Status parse_root_and_names(const json& j, const ParseOptions& opts, Bundle& b) {
  SandboxConfig& c = b.config;
  Field root = at(j, "", "root");
  if (!root.present()) return Error::input("root", "is required on Linux");
  if (auto s = check_object(root); !s) return s.error();
  auto rpath = get_string(at(*root.v, "root", "path"));
  if (!rpath) return rpath.error();
  if (rpath->empty() || has_nul(*rpath)) return Error::input("root.path", "is required");
  c.root = join_path(opts.bundle_dir, *rpath);
  auto ro = get_bool(at(*root.v, "root", "readonly"));
  if (!ro) return ro.error();
  c.root_readonly = *ro;

  auto host = get_string(at(j, "", "hostname"));
  if (!host) return host.error();
  if (host->size() > 64 || has_nul(*host)) return Error::input("hostname", "must be at most 64 bytes");
  c.hostname = *host;
  auto domain = get_string(at(j, "", "domainname"));
  if (!domain) return domain.error();
  if (domain->size() > 64 || has_nul(*domain)) return Error::input("domainname", "must be at most 64 bytes");
  b.domainname = *domain;
  return ok();
}

// mounts, in order; the default devices in the /dev mounted there or in a tmpfs of their
// own (rdbox never creates nodes in the root it was given: runtime-tools, podman and
// containerd all mount a tmpfs there), then linux.devices, then the masks.
Status parse_mounts(const json& j, const ParseOptions& opts, Bundle& b, std::vector<MountEntry> devices,
                    std::vector<MountEntry> masks) {
  SandboxConfig& c = b.config;
  Field mounts = at(j, "", "mounts");
  if (auto s = check_array(mounts); !s) return s.error();
  bool dev_mounted = false;
  for (std::size_t i = 0; mounts.present() && i < mounts.v->size(); ++i) {
    auto m = parse_mount(Field{&(*mounts.v)[i], idx("mounts", i)}, opts.bundle_dir, b.warnings);
    if (!m) return m.error();
    if (!*m) continue;
    bool is_dev = (*m)->destination == "/dev";
    c.mounts.push_back(std::move(**m));
    if (is_dev) {
      dev_mounted = true;
      add_default_devices(c.mounts, "mounts[" + std::to_string(i) + "] (the default devices)");
    }
  }
  if (!dev_mounted) {
    std::vector<MountEntry> dev{{MountType::tmpfs, "tmpfs", "/dev", false, true, MS_NOSUID, "mode=755,size=65536k",
                                 false, "", "the default /dev"}};
    add_default_devices(dev, "the default devices");
    c.mounts.insert(c.mounts.begin(), dev.begin(), dev.end());
  }
  c.mounts.insert(c.mounts.end(), devices.begin(), devices.end());
  c.mounts.insert(c.mounts.end(), masks.begin(), masks.end());
  return ok();
}

// annotations (strings only), and no other platform's section.
Status parse_annotations(const json& j, Bundle& b) {
  Field ann = at(j, "", "annotations");
  if (ann.present()) {
    if (auto s = check_object(ann); !s) return s.error();
    for (auto it = ann.v->begin(); it != ann.v->end(); ++it) {
      if (!it->is_string()) return Error::input("annotations." + it.key(), "must be a string");
      b.annotations[it.key()] = it->get<std::string>();
    }
  }
  for (const char* other : {"windows", "solaris", "vm", "zos"})
    if (at(j, "", other).present()) return Error::input(other, "is not for Linux, which is all rdbox runs on");
  return ok();
}

// What the runtime spec ties together, and what rdbox needs of it.
Status check_ties(const ParseOptions& opts, Bundle& b) {
  SandboxConfig& c = b.config;
  if (!c.hostname.empty() && !(c.namespace_kinds() & CLONE_NEWUTS))
    return Error::input("hostname", "needs a new UTS namespace (linux.namespaces: {\"type\": \"uts\"})");
  if (!b.domainname.empty() && !(c.namespace_kinds() & CLONE_NEWUTS))
    return Error::input("domainname", "needs a new UTS namespace (linux.namespaces: {\"type\": \"uts\"})");
  const NamespaceEntry* mnt = c.find_namespace(CLONE_NEWNS);
  if (!mnt)
    return Error::input("linux.namespaces", "rdbox needs a mount namespace for the container's root ({\"type\": "
                                            "\"mount\"}, new or by path)");
  // A mount namespace given by path is joined and the container's root is set up in it,
  // as runc and crun do: its other processes see that root change too.
  c.mounts_in_joined_ns = !mnt->path.empty();
  bool newuser = false;
  for (const auto& n : c.namespaces) newuser = newuser || (n.kind == CLONE_NEWUSER && n.path.empty());
  if ((!c.uid_maps.empty() || !c.gid_maps.empty()) && !newuser)
    return Error::input("linux.uidMappings", "needs a new user namespace (linux.namespaces: {\"type\": \"user\"})");
  if (opts.rootless && !c.find_namespace(CLONE_NEWUSER))
    return Error::input("linux.namespaces", "a container run without root needs a user namespace ({\"type\": \"user\"}; "
                                            "rdbox spec --rootless writes one)");
  if (c.cgroup && opts.rootless) {
    if (c.cgroup->any_limit())
      b.warnings.push_back("linux.resources: limits need a delegated cgroup; not applied without root");
    c.cgroup.reset();
  }
  return ok();
}

}  // namespace

Expected<Bundle> parse_config(std::string_view json_text, const ParseOptions& opts) {
  auto parsed = parse_json_object(json_text, "config.json");
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  Bundle b;
  b.bundle_dir = opts.bundle_dir;
  SandboxConfig& c = b.config;
  c.origins = {"root.path", "linux.uidMappings", "linux.gidMappings", "process.user", "--preserve-fds"};
  c.confinement = "container";
  c.launch.mode = Mode::clone;
  c.launch.die_with_parent = false;
  c.launch.start_gate = true;
  c.root_create_targets = true;  // as runc: a mount's missing target is made in the root

  if (auto s = parse_version(j, b); !s) return s.error();
  if (auto s = parse_root_and_names(j, opts, b); !s) return s.error();
  ProcessConfig pc;
  if (auto s = parse_process_object(at(j, "", "process"), pc, b.process, b.warnings, opts.require_args); !s)
    return s.error();
  c.processes.push_back(std::move(pc));
  std::vector<MountEntry> devices;
  if (auto s = parse_linux(at(j, "", "linux"), opts, b, devices); !s) return s.error();
  std::vector<MountEntry> masks = std::move(c.mounts);  // parse_linux's masked and read-only paths
  c.mounts.clear();
  if (auto s = parse_mounts(j, opts, b, std::move(devices), std::move(masks)); !s) return s.error();
  if (auto s = parse_hooks(at(j, "", "hooks"), b.hooks); !s) return s.error();
  if (auto s = parse_annotations(j, b); !s) return s.error();
  if (auto s = check_ties(opts, b); !s) return s.error();
  // The container's own stdio is what the caller gave rdbox.
  c.processes[0].preserve_fds = 0;
  // A PID namespace given by path is joined by the runtime itself before the clone
  // (runtime.cpp: join_pid_namespace), not by the sandbox: validated without it.
  SandboxConfig checked = c;
  std::erase_if(checked.namespaces, [](const NamespaceEntry& n) { return n.kind == CLONE_NEWPID && !n.path.empty(); });
  if (auto s = validate(checked); !s) return s.error();
  return b;
}

}  // namespace rdbox::oci
