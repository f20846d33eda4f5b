#include "rdbox/report.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <array>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "json_bytes.hpp"
#include "report_pipeline.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace rdbox {

const char* to_string(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::exited: return "exited";
    case OutcomeKind::signaled: return "signaled";
    case OutcomeKind::setup_failed: return "setup_failed";
    case OutcomeKind::exec_failed: return "exec_failed";
    case OutcomeKind::spawn_failed: return "spawn_failed";
    case OutcomeKind::timeout: return "timeout";
  }
  return "unknown";
}

int Outcome::exit_code() const {
  switch (kind) {
    case OutcomeKind::exited: return code;
    case OutcomeKind::signaled: return 128 + signal;
    case OutcomeKind::exec_failed: return err == ENOENT || err == ENOTDIR ? 127 : 126;
    case OutcomeKind::setup_failed:
    case OutcomeKind::spawn_failed: return 125;
    case OutcomeKind::timeout: return 124;
  }
  return 125;
}

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  const char* abbrev = ::sigabbrev_np(sig);
  if (!abbrev) return "SIG" + std::to_string(sig);
  return std::string("SIG") + abbrev;
}

namespace {
std::string text_outcome(const Outcome& out);
}  // namespace

std::string text_report(const Outcome& out) {
  // rdbox pipeline: a line per stage.
  std::string line = !out.stages.empty() && out.ran() ? stages_text(out) : text_outcome(out);
  if (out.ran() && out.cgroup && out.cgroup->oom_killed) line += " (out of memory)";
  if (out.ran() && out.cgroup && out.cgroup->pids_limit_hit) line += " (the pids limit was hit)";
  return line;
}

namespace {
std::string text_outcome(const Outcome& out) {
  std::string pid = std::to_string(out.pid);
  switch (out.kind) {
    case OutcomeKind::exited: return pid + " exited with status " + std::to_string(out.code);
    case OutcomeKind::signaled: {
      std::string s = pid + " killed by signal " + std::to_string(out.signal) + " (" + signal_name(out.signal) + ")";
      if (out.core_dumped) s += ", core dumped";
      return s;
    }
    case OutcomeKind::timeout: {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", out.timeout_s);
      std::string how = out.signal ? "killed by signal " + std::to_string(out.signal) + " (" + signal_name(out.signal) + ")"
                                   : "exited with status " + std::to_string(out.code);
      return pid + " timed out after " + limit + "s (" + how + ")";
    }
    default: {
      std::string s = "rdbox: " + one_line(out.message);
      if (!out.hint.empty()) s += " (" + one_line(out.hint) + ")";
      return s;
    }
  }
}
}  // namespace

std::string event_line(pid_t pid, const ChildEvent& ev) {
  if (ev.kind == ChildEvent::continued) return std::to_string(pid) + " continued";
  return std::to_string(pid) + " stopped by signal " + std::to_string(ev.signal) + " (" + signal_name(ev.signal) + ")";
}

std::uint64_t primitive_clone_flags(Mode mode, std::uint64_t plan_flags) {
  switch (mode) {
    case Mode::fork: return 0;
    case Mode::vfork:
    case Mode::spawn: return CLONE_VM | CLONE_VFORK;
    case Mode::clone: return plan_flags | CLONE_PIDFD;
  }
  return 0;
}

namespace {
long long round_us(double us) { return static_cast<long long>(us + 0.5); }
}  // namespace

namespace {
using dry_json = nlohmann::ordered_json;

// --dry-run's "confinement": what the command will hold, as planned.
dry_json dry_run_confinement(const Plan& p) {
  dry_json conf;
  conf["profile"] = p.confinement;
  dry_json caps = dry_json::array();
  for (int cap = 0; cap < 64; ++cap)
    if (p.caps.bounding & (std::uint64_t{1} << cap)) caps.push_back(capability_name(cap));
  conf["capabilities"] = p.set_caps ? caps : dry_json(nullptr);  // null: left as they are
  conf["no_new_privs"] = p.no_new_privs;
  conf["seccomp"] = p.seccomp.empty() ? dry_json(nullptr) : dry_json(p.seccomp_name);
  conf["session_keyring"] = p.new_keyring ? "new" : "inherited";
  return conf;
}

// --dry-run's "cgroup": the limits the run's cgroup gets (null: none is made).
dry_json dry_run_cgroup(const Plan& p) {
  if (!p.cgroup) return nullptr;
  const auto& c = *p.cgroup;
  auto opt = [](const auto& v) { return v ? dry_json(*v) : dry_json(nullptr); };
  return {{"parent", c.parent}, {"memory_max", opt(c.memory_max)}, {"memory_swap_max", opt(c.memory_swap_max)},
          {"pids_max", opt(c.pids_max)}, {"cpu_quota_us", opt(c.cpu_quota_us)},
          {"cpu_period_us", opt(c.cpu_period_us)}, {"cpu_weight", opt(c.cpu_weight)},
          {"cpu_shares", opt(c.cpu_shares)}};
}

// --dry-run's "mount_steps": the mount table operations in their order.
dry_json dry_run_mount_steps(const Plan& p) {
  dry_json steps = dry_json::array();
  for (const auto& m : p.mounts) {
    dry_json st;
    st["op"] = mount_op_name(m.op);
    st["group"] = kMountGroups[m.group];
    if (m.src) st["src"] = m.src;
    if (m.dst) st["dst"] = m.dst;
    if (m.name) st["name"] = m.name;
    if (m.layer >= 0) st["beneath"] = p.layer_paths[static_cast<std::size_t>(m.layer)];
    if (m.fstype) st["fstype"] = m.fstype;
    if (m.flags) st["flags"] = m.flags;
    if (m.data) st["data"] = m.data;
    if (m.fallback) st["fallback_bind"] = m.fallback;
    if (m.best_effort) st["best_effort"] = true;
    steps.push_back(st);
  }
  return steps;
}
}  // namespace

std::string dry_run_json(const Spec& spec, const Plan& p) {
  using json = nlohmann::ordered_json;
  json j;
  j["schema_version"] = kReportSchemaVersion;
  j["dry_run"] = true;
  j["mode"] = std::string(to_string(spec.mode));
  j["clone_flags"] = clone_flag_names(primitive_clone_flags(p.mode, p.clone_flags));
  j["unshare_flags"] = clone_flag_names(p.unshare_flags);
  j["setup_in"] = p.setup_in;
  j["stack_size"] = spec.mode == Mode::clone ? json(p.stack_size) : json(nullptr);
  j["argv"] = p.argv_store;
  j["exec_candidates"] = p.candidate_store;
  j["env"] = p.env_store;
  j["workdir"] = p.workdir.empty() ? json(nullptr) : json(p.workdir);
  j["preserved_fds"] = p.preserved;
  json ns = json::array();
  for (const auto& info : kNamespaces)
    if (p.namespaces & info.flag) ns.push_back(std::string(info.name));
  j["namespaces"] = ns;
  json user = nullptr;
  if (p.namespaces & CLONE_NEWUSER) {
    user = json::object();
    user["uid_map"] = p.uid_map;
    user["gid_map"] = p.gid_map;
    user["written_by"] = p.self_maps ? "child (its own map, setgroups denied)"
                         : p.use_newidmap ? "rdbox via newuidmap/newgidmap"
                                          : "rdbox (privileged)";
  }
  j["user_namespace"] = user;
  j["time_offsets"] = p.timens_lines;
  j["hostname"] = p.hostname.empty() ? json(nullptr) : json(p.hostname);
  j["loopback"] = p.loopback;
  j["init"] = p.init;
  j["user"] = p.set_user ? json{{"uid", p.uid}, {"gid", p.gid}} : json(nullptr);
  j["confinement"] = dry_run_confinement(p);
  j["cgroup"] = dry_run_cgroup(p);
  j["mount_steps"] = dry_run_mount_steps(p);
  // The stub's program itself (consecutive mount steps as one "mounts"): the order exists once.
  std::vector<std::string> order{"create"};
  for (const auto& op : p.program)
    if (order.back() != step_name(op.step)) order.push_back(step_name(op.step));
  order.push_back("exec");
  j["steps"] = order;
  if (p.pipeline) add_stages_dry_run(j, p);
  make_byte_safe(j);
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

namespace {
using ojson = nlohmann::ordered_json;

ojson status_json(const Outcome& out) {
  ojson status;
  bool ran = out.ran();
  bool child_existed = out.pid > 0;
  if (out.kind == OutcomeKind::signaled || (out.kind == OutcomeKind::timeout && out.signal)) {
    status["exited"] = false;
    status["signal"] = out.signal;
    status["signal_name"] = signal_name(out.signal);
    status["core_dumped"] = out.core_dumped;
  } else {
    status["exited"] = child_existed;
    status["code"] = child_existed ? ojson(ran ? out.code : out.exit_code()) : ojson(nullptr);
  }
  return status;
}

ojson usage_json(const ChildUsage& u) {
  ojson ru;
  ru["utime_us"] = u.utime_us;
  ru["stime_us"] = u.stime_us;
  ru["maxrss_kb"] = u.maxrss_kb;
  ru["minflt"] = u.minflt;
  ru["majflt"] = u.majflt;
  ru["nvcsw"] = u.nvcsw;
  ru["nivcsw"] = u.nivcsw;
  return ru;
}

ojson events_json(const Outcome& out) {
  ojson events = ojson::array();
  for (const auto& ev : out.events) {
    ojson e;
    e["event"] = ev.kind == ChildEvent::stopped ? "stopped" : "continued";
    if (ev.kind == ChildEvent::stopped) {
      e["signal"] = ev.signal;
      e["signal_name"] = signal_name(ev.signal);
    }
    events.push_back(e);
  }
  return events;
}

ojson namespaces_json(const Spec& spec, const Plan* plan, const Outcome& out) {
  std::uint64_t asked = plan ? plan->namespaces : spec.effective_namespaces();
  ojson nss = ojson::object();
  // rdbox's own, read before any setup.
  auto own = plan ? plan->host_ns : namespace_inodes();
  for (std::size_t k = 0; k < kNamespaceCount; ++k) {
    const auto& info = kNamespaces[k];
    ojson n;
    n["requested"] = (asked & info.flag) != 0;
    if (out.ns_probed && out.ns_inode[k]) {
      n["inode"] = out.ns_inode[k];
      n["new"] = own[k] != 0 && own[k] != out.ns_inode[k];
    } else {
      n["inode"] = nullptr;
      n["new"] = out.ns_probed ? ojson(nullptr) : ojson((asked & info.flag) != 0);
    }
    nss[std::string(info.name)] = n;
  }
  return nss;
}

ojson error_json(const Outcome& out) {
  if (out.ran()) return nullptr;
  ojson err;
  err["step"] = out.step;
  err["errno"] = out.err;
  err["errno_name"] = out.err ? ojson(::strerrorname_np(out.err) ? ::strerrorname_np(out.err) : "") : ojson(nullptr);
  err["message"] = out.message;
  if (!out.hint.empty()) err["hint"] = out.hint;
  return err;
}
}  // namespace

namespace {
ojson cap_names(std::uint64_t set) {
  ojson names = ojson::array();
  for (int cap = 0; cap < 64; ++cap)
    if (set & (std::uint64_t{1} << cap)) names.push_back(capability_name(cap));
  return names;
}

ojson limit_value(std::uint64_t v) { return v == RLIM_INFINITY ? ojson("unlimited") : ojson(v); }

// Read inside the child just before exec; null values when the stub could not say.
ojson confinement_json(const Outcome& out) {
  const auto& c = out.confinement;
  ojson j;
  j["profile"] = c.profile.empty() ? ojson(nullptr) : ojson(c.profile);
  j["probed"] = c.probed;
  if (c.probed) {
    j["capabilities"] = {{"effective", cap_names(c.cap_effective)}, {"permitted", cap_names(c.cap_permitted)},
                         {"inheritable", cap_names(c.cap_inheritable)}, {"bounding", cap_names(c.cap_bounding)},
                         {"ambient", cap_names(c.cap_ambient)}};
    j["no_new_privs"] = c.no_new_privs;
    j["seccomp"] = {{"mode", c.seccomp_mode == 2 ? "filter" : c.seccomp_mode == 1 ? "strict" : "disabled"},
                    {"profile", c.seccomp_profile.empty() ? ojson(nullptr) : ojson(c.seccomp_profile)}};
    ojson limits = ojson::object();
    for (const auto& l : c.rlimits)
      limits[std::string(rlimit_name(l.resource))] = {{"soft", limit_value(l.soft)}, {"hard", limit_value(l.hard)}};
    j["rlimits"] = limits;
  }
  return j;
}

ojson cgroup_json(const Outcome& out) {
  if (!out.cgroup) return nullptr;
  const auto& c = *out.cgroup;
  ojson j;
  j["path"] = c.path;
  ojson versions = ojson::object();
  for (const auto& [ctrl, v] : c.versions) versions[ctrl] = v;
  j["versions"] = versions;
  j["memory_peak_bytes"] = c.memory_peak_bytes ? ojson(*c.memory_peak_bytes) : ojson(nullptr);
  j["oom_killed"] = c.oom_killed;
  j["pids_peak"] = c.pids_peak ? ojson(*c.pids_peak) : ojson(nullptr);
  j["pids_limit_hit"] = c.pids_limit_hit;
  j["killed_leftovers"] = c.killed_leftovers;
  j["joined_by"] = c.joined_by;
  return j;
}
}  // namespace

std::string json_report(const Spec& spec, const Plan* plan, const Outcome& out) {
  ojson j;
  j["schema_version"] = kReportSchemaVersion;
  j["command"] = spec.command;
  j["mode"] = std::string(to_string(spec.mode));
  std::uint64_t flags = primitive_clone_flags(spec.mode, plan ? plan->clone_flags : spec.effective_clone_flags());
  j["clone_flags"] = clone_flag_names(flags);
  if (spec.mode == Mode::clone) j["stack_size"] = plan ? plan->stack_size : spec.stack_size;
  else j["stack_size"] = nullptr;
  j["pid"] = out.pid > 0 ? ojson(out.pid) : ojson(nullptr);
  j["outcome"] = to_string(out.kind);
  j["status"] = status_json(out);
  j["exit_code"] = out.exit_code();
  ojson observed;
  observed["shared_memory"] = out.shared_memory ? ojson(*out.shared_memory) : ojson(nullptr);
  observed["parent_suspended"] = out.pid > 0 ? ojson(out.parent_suspended) : ojson(nullptr);
  if (out.stack_used) observed["stack_used"] = *out.stack_used;
  j["observed"] = observed;
  ojson timing;
  timing["spawn"] = round_us(out.spawn_us);
  timing["exec"] = out.exec_seen ? ojson(round_us(out.exec_us)) : ojson(nullptr);
  timing["total"] = round_us(out.total_us);
  j["timing_us"] = timing;
  j["rusage"] = usage_json(out.usage);
  j["parent_minflt"] = out.parent_minflt;
  j["events"] = events_json(out);
  ojson steps = ojson::object();
  for (const auto& [name, us] : out.steps_us) steps[name] = round_us(us);
  j["timing_us"]["steps"] = steps;
  j["setup_in"] = plan ? ojson(plan->setup_in) : ojson(nullptr);
  j["namespaces"] = namespaces_json(spec, plan, out);
  j["confinement"] = confinement_json(out);
  j["cgroup"] = cgroup_json(out);
  j["warnings"] = out.warnings;
  j["error"] = error_json(out);
  if (!out.stages.empty() || (plan && plan->pipeline)) add_stages_json(j, out);
  make_byte_safe(j);
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace rdbox
