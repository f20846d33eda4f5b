#include "rdbox/plan.hpp"

#include "ns/ns.hpp"
#include "rdbox/modes.hpp"
#include "rdbox/pipeline.hpp"
#include "rdbox/seccomp.hpp"
#include "runtime/supervisor.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rdbox {

const char* step_name(Step s) {
  switch (s) {
    case Step::token: return "token";
    case Step::files: return "files";
    case Step::signals: return "signals";
    case Step::pdeathsig: return "pdeathsig";
    case Step::pgrp: return "pgrp";
    case Step::fds: return "fds";
    case Step::workdir: return "workdir";
    case Step::sigmask: return "sigmask";
    case Step::exec: return "exec";
    case Step::spawn: return "spawn";
    case Step::unshare: return "unshare";
    case Step::id_maps: return "id_maps";
    case Step::time_offsets: return "time_offsets";
    case Step::mounts: return "mounts";
    case Step::hostname: return "hostname";
    case Step::loopback: return "loopback";
    case Step::init: return "init";
    case Step::user: return "user";
    case Step::probe: return "probe";
    case Step::start: return "start";
    case Step::pid_fork: return "pid_fork";
    case Step::join: return "join";
    case Step::barrier: return "barrier";
    case Step::keyring: return "keyring";
    case Step::cgroup: return "cgroup";
    case Step::pipeline: return "pipeline";
    case Step::caps: return "caps";
    case Step::no_new_privs: return "no_new_privs";
    case Step::rlimits: return "rlimits";
    case Step::seccomp: return "seccomp";
    case Step::session: return "session";
    case Step::console: return "console";
  }
  return "unknown";
}

const char* mount_op_name(MountOp op) {
  switch (op) {
    case MountOp::propagate: return "propagate";
    case MountOp::root: return "root";
    case MountOp::overlay_root: return "overlay_root";
    case MountOp::mount: return "mount";
    case MountOp::readonly: return "readonly";
    case MountOp::mkdir: return "mkdir";
    case MountOp::mknod: return "mknod";
    case MountOp::symlink: return "symlink";
    case MountOp::device: return "device";
    case MountOp::pivot: return "pivot_root";
    case MountOp::mask: return "mask";
    case MountOp::readonly_path: return "readonly_path";
  }
  return "mount";
}

// The stub's steps in their one reviewed order. The stub runs exactly this array, and
// --dry-run prints it.
void build_program(Plan& p) {
  auto& g = p.program;
  g.clear();
  auto add = [&](Step s, bool when, bool traced = false, std::uint32_t item = 0) {
    if (when) g.push_back(StepOp{s, item, traced ? 1u : 0u});
  };
  // The cgroup first: everything after, the namespaces' setup included, is accounted there.
  add(Step::cgroup, p.cgroup.has_value(), true);
  for (std::size_t i = 0; i < p.join_kinds.size(); ++i) add(Step::join, true, true, static_cast<std::uint32_t>(i));
  add(Step::unshare, p.unshare_flags != 0, true);
  add(Step::id_maps, p.self_maps, true);                                // the stub writes its own
  add(Step::barrier, p.parent_maps, true, static_cast<std::uint32_t>(Barrier::id_maps));  // or rdbox does
  add(Step::user, p.setup_as_root, false, 1);  // root of the namespace for the setup
  add(Step::pdeathsig, p.setup_as_root && p.die_with_parent);  // a change of ids clears it
  add(Step::time_offsets, !p.timens_lines.empty(), true);
  add(Step::pid_fork, p.pid_fork);  // fork mode --newpid: PID 1 is the relay's child
  add(Step::signals, true);
  add(Step::pdeathsig, p.die_with_parent);
  add(Step::pgrp, !p.new_session);
  add(Step::session, p.new_session);
  for (std::size_t i = 0; i < p.mounts.size(); ++i) add(Step::mounts, true, true, static_cast<std::uint32_t>(i));
  add(Step::hostname, !p.hostname.empty(), true);
  add(Step::loopback, p.loopback, true);
  add(Step::console, p.console, true);  // the sandbox's /dev/ptmx: after the mounts; a session leader by now
  add(Step::init, p.init);  // after the mounts: the init sees the sandbox's root
  add(Step::pipeline, p.pipeline);  // likewise; each stage goes on from here, the parent stays
  add(Step::fds, true);
  add(Step::workdir, !p.workdir.empty());
  // Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the capabilities
  // are dropped then (as runc does), as late as possible otherwise.
  bool early_seccomp = !p.seccomp.empty() && !p.no_new_privs;
  // The session keyring is made before a filter that may deny keyctl (docker's and
  // runtime-tools' profiles do), as runc does; then it is owned by the setup's ids (its
  // possessor, the process, keeps every right on it).
  add(Step::keyring, p.new_keyring && early_seccomp, true);
  add(Step::seccomp, early_seccomp);
  add(Step::caps, p.set_caps, false, 0);  // the bounding set dropped, capabilities kept across the switch
  add(Step::user, p.set_user);
  add(Step::pdeathsig, p.set_user && p.die_with_parent);  // again: setresuid cleared it
  add(Step::keyring, p.new_keyring && !early_seccomp, true);  // owned by the final ids
  add(Step::caps, p.set_caps, false, 1);  // the sets themselves, with the final ids
  add(Step::probe, p.trace);
  add(Step::barrier, p.start_gate, false, static_cast<std::uint32_t>(Barrier::start));
  add(Step::rlimits, !p.rlimits.empty());
  add(Step::no_new_privs, p.no_new_privs);
  add(Step::probe, p.trace, false, 1);  // what the command will hold, read back: the report's confinement
  add(Step::seccomp, !p.seccomp.empty() && !early_seccomp);  // after no_new_privs, which an unprivileged filter needs
  add(Step::sigmask, true);
}

std::array<std::uint64_t, kNamespaceCount> namespace_inodes(bool for_children) {
  std::array<std::uint64_t, kNamespaceCount> ino{};
  for (std::size_t k = 0; k < kNamespaceCount; ++k) {
    std::string name(kNamespaces[k].name);
    if (for_children && (name == "pid" || name == "time")) name += "_for_children";
    struct stat st {};
    if (::stat(("/proc/self/ns/" + name).c_str(), &st) == 0) ino[k] = st.st_ino;
  }
  return ino;
}

PlanView Plan::view() const {
  PlanView v;
  v.argv = argv.data();
  v.envp = envp.data();
  v.candidates = candidates.data();
  v.n_candidates = candidates.size() - 1;  // trailing nullptr
  v.sh_argv = const_cast<const char**>(sh_argv.data());
  v.workdir = workdir.empty() ? nullptr : workdir.c_str();
  v.preserved = preserved.data();
  v.n_preserved = preserved.size();
  v.keep_below = 3 + preserve_fds;
  v.ignored_signals = ignored_signals;
  v.forwarded_signals = forwarded_mask();
  v.caps = set_caps ? &caps : nullptr;
  v.no_new_privs = no_new_privs;
  v.seccomp_filter = seccomp.data();
  v.n_seccomp = seccomp.size();
  v.rlimits = rlimits.data();
  v.n_rlimits = rlimits.size();
  v.parent_pid = ::getpid();
  v.new_pgrp = true;
  v.take_tty = take_tty;
  v.private_files = (clone_flags & CLONE_FILES) && !(clone_flags & CLONE_VFORK);
  v.unshare_flags = unshare_flags;
  v.new_pid = new_pid;
  v.pid_fork = pid_fork;
  v.self_maps = self_maps;
  v.uid_map = uid_map.empty() ? nullptr : uid_map.c_str();
  v.gid_map = gid_map.empty() ? nullptr : gid_map.c_str();
  for (std::size_t i = 0; i < timens_lines.size() && i < 2; ++i) v.timens_offsets[i] = timens_lines[i].c_str();
  v.mounts = mounts.data();
  v.n_mounts = mounts.size();
  v.join_fds = join_fd_numbers.data();
  v.join_kinds = join_kinds.data();
  v.n_joins = join_kinds.size();
  v.program = program.data();
  v.n_program = program.size();
  v.rootfs_dev = rootfs_dev;
  v.rootfs_ino = rootfs_ino;
  v.overlay_fd = overlay_fd ? overlay_fd.get() : -1;
  v.rootfs_fd = rootfs_fd ? rootfs_fd.get() : -1;
  v.layer_fds = layer_fds.data();
  v.n_layers = layer_fds.size();
  v.mask_slot = mask_slot;
  v.arg_start = arg_start;
  v.arg_end = arg_end;
  v.env_start = env_start;
  v.env_end = env_end;
  v.hostname = hostname.empty() ? nullptr : hostname.c_str();
  v.hostname_len = hostname.size();
  v.loopback = loopback;
  v.init = init;
  v.set_user = set_user;
  v.uid = uid;
  v.gid = gid;
  v.trace = trace;
  v.gate_fd = start_fifo ? start_fifo.get() : -1;
  v.new_session = new_session;
  v.controlling_tty = controlling_tty;
  v.console_fd = console_child ? console_child.get() : -1;
  v.groups = groups.data();
  v.n_groups = groups.size();
  if (pipeline) {
    v.stages = stage_views.data();
    v.n_stages = stage_views.size();
    v.stage_pids = stage_pids.data();
    v.stage_ends = stage_ends.data();
    v.pipefail = pipefail;
    v.stages_take_tty = take_tty;  // the stages' group gets the terminal, not their parent's
    v.take_tty = false;
  }
  return v;
}

namespace {

const char* env_get(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.c_str() + key.size() + 1;
  return nullptr;
}

// execvp's candidate list: the name itself when it holds a '/', else PATH's entries.
std::vector<std::string> exec_candidates(const std::string& name, const char* path) {
  if (name.find('/') != std::string::npos) return {name};
  std::vector<std::string> out;
  std::string_view p = path ? path : kDefaultPath;
  while (true) {
    auto colon = p.find(':');
    std::string_view dir = p.substr(0, colon);
    if (dir.empty()) out.push_back(name);  // empty entry: the current directory
    else out.push_back(std::string(dir) + (dir.back() == '/' ? "" : "/") + name);
    if (colon == std::string_view::npos) break;
    p.remove_prefix(colon + 1);
  }
  return out;
}

}  // namespace

namespace {

// argv, the environment, execvp's candidates and the ENOEXEC fallback's argv.
void plan_command(const ProcessConfig& pc, Plan& p) {
  p.display_name = pc.argv[0];
  p.argv_store = pc.argv;
  if (pc.argv0) p.argv_store[0] = *pc.argv0;
  p.env_store = pc.env;
  p.candidate_store = exec_candidates(pc.argv[0], env_get(p.env_store, "PATH"));
  for (auto& s : p.argv_store) p.argv.push_back(s.c_str());
  p.argv.push_back(nullptr);
  for (auto& s : p.env_store) p.envp.push_back(s.c_str());
  p.envp.push_back(nullptr);
  for (auto& s : p.candidate_store) p.candidates.push_back(s.c_str());
  p.candidates.push_back(nullptr);
  p.sh_argv.push_back("/bin/sh");
  p.sh_argv.push_back(nullptr);  // the candidate, filled in by the stub
  for (std::size_t i = 1; i + 1 < p.argv.size(); ++i) p.sh_argv.push_back(p.argv[i]);
  p.sh_argv.push_back(nullptr);
  p.workdir = pc.cwd;
}

// rdbox pipeline: each stage's argv, environment and exec candidates, built as
// plan_command builds the one command's. The stages share everything else, which is the
// first process's.
Status plan_stages(const SandboxConfig& c, Plan& p) {
  if (c.processes.size() > kMaxStages)
    return Error::input("pipeline", std::to_string(c.processes.size()) + " stages, more than rdbox's limit of " +
                                        std::to_string(kMaxStages));
  if (c.launch.start_gate) return Error::input("pipeline", "a pipeline has no start gate (its stages start at once)");
  if (!mode_traits(c.launch.mode, c.launch.clone_flags).can_run_init)
    return Error::input("pipeline", "needs the fork or clone mode without CLONE_VM or CLONE_VFORK: the stages' parent "
                                    "never execs");
  const ProcessConfig& first = c.processes[0];
  auto same = [&](const ProcessConfig& o) {
    auto caps_eq = [](const std::optional<CapabilitySets>& a, const std::optional<CapabilitySets>& b) {
      if (!a || !b) return !a && !b;
      return a->bounding == b->bounding && a->effective == b->effective && a->permitted == b->permitted &&
             a->inheritable == b->inheritable && a->ambient == b->ambient;
    };
    auto user_eq = [](const std::optional<UserIds>& a, const std::optional<UserIds>& b) {
      if (!a || !b) return !a && !b;
      return a->uid == b->uid && a->gid == b->gid;
    };
    bool rl = o.rlimits.size() == first.rlimits.size();
    for (std::size_t i = 0; rl && i < o.rlimits.size(); ++i)
      rl = o.rlimits[i].resource == first.rlimits[i].resource && o.rlimits[i].soft == first.rlimits[i].soft &&
           o.rlimits[i].hard == first.rlimits[i].hard;
    return rl && o.cwd == first.cwd && user_eq(o.user, first.user) && caps_eq(o.caps, first.caps) &&
           o.no_new_privs == first.no_new_privs && o.preserve_fds == first.preserve_fds;
  };
  p.stages.reserve(c.processes.size());  // no reallocation: the views point into each Stage
  for (std::size_t i = 0; i < c.processes.size(); ++i) {
    const ProcessConfig& pc = c.processes[i];
    if (i > 0 && !same(pc))
      return Error::input("process " + std::to_string(i), "the stages of a pipeline share the first process's cwd, "
                                                          "user, capabilities, rlimits, no_new_privs and preserve_fds");
    Plan::Stage& s = p.stages.emplace_back();
    s.display_name = pc.argv[0];
    s.argv_store = pc.argv;
    if (pc.argv0) s.argv_store[0] = *pc.argv0;
    // The environment is the first process's in every stage the CLI makes: share its
    // pointers then, instead of a copy per stage.
    bool same_env = &pc == &first || pc.env == first.env;
    if (!same_env) s.env_store = pc.env;
    s.candidate_store = exec_candidates(pc.argv[0], env_get(same_env ? p.env_store : s.env_store, "PATH"));
    for (auto& a : s.argv_store) s.argv.push_back(a.c_str());
    s.argv.push_back(nullptr);
    if (!same_env) {
      for (auto& e : s.env_store) s.envp.push_back(e.c_str());
      s.envp.push_back(nullptr);
    }
    for (auto& k : s.candidate_store) s.candidates.push_back(k.c_str());
    s.candidates.push_back(nullptr);
    s.sh_argv.push_back("/bin/sh");
    s.sh_argv.push_back(nullptr);  // the candidate, filled in by the stub
    for (std::size_t a = 1; a + 1 < s.argv.size(); ++a) s.sh_argv.push_back(s.argv[a]);
    s.sh_argv.push_back(nullptr);
  }
  for (auto& s : p.stages)
    p.stage_views.push_back(StageView{s.argv.data(), s.envp.empty() ? p.envp.data() : s.envp.data(),
                                      s.candidates.data(), s.candidates.size() - 1, s.sh_argv.data()});
  p.stage_pids.assign(p.stages.size(), 0);
  p.stage_ends.assign(p.stages.size() + 1, StageEndRecord{});
  p.pipeline = true;
  p.pipefail = c.pipefail;
  p.init = false;  // the stages' parent is the init (PID 1 with a new PID namespace)
  return ok();
}

// Limits are checked here, not found out in the child: a soft limit above its hard one,
// or a hard limit above what this process has (raising one needs CAP_SYS_RESOURCE, which
// even root may lack), is refused up front.
Status plan_rlimits(const ProcessConfig& pc, Plan& p) {
  for (const auto& r : pc.rlimits) {
    std::string what = "--rlimit " + std::string(rlimit_name(r.resource));
    struct rlimit cur {};
    if (::getrlimit(r.resource, &cur) != 0) return Error::input(what, "unknown resource");
    if (r.soft > r.hard) return Error::input(what, "the soft limit is above the hard one");
    if (cur.rlim_max != RLIM_INFINITY && r.hard > cur.rlim_max)
      return Error::input(what, "hard limit " + std::to_string(r.hard) + " is above this process's " +
                                    std::to_string(cur.rlim_max) + " (raising it needs CAP_SYS_RESOURCE)");
    p.rlimits.push_back(r);
  }
  return ok();
}

// /dev/null placeholders in the --preserve-fds slots that are closed, so that none of
// rdbox's own descriptors lands there and leaks into the command.
Status reserve_preserved(const ProcessConfig& pc, const std::string& origin, Plan& p) {
  p.preserve_fds = pc.preserve_fds;
  for (int fd = 3; fd < 3 + pc.preserve_fds; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) {
      p.preserved.push_back(fd);
      continue;
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) return Error::sys("open /dev/null", errno);
    if (null_fd != fd) {
      // Lower slots were free: move it into place.
      int moved = ::fcntl(null_fd, F_DUPFD_CLOEXEC, fd);
      ::close(null_fd);
      if (moved < 0) return Error::sys("reserve fd " + std::to_string(fd), errno);
      if (moved != fd) {
        ::close(moved);
        return Error::input(origin, "could not reserve fd " + std::to_string(fd));
      }
      null_fd = moved;
    }
    p.placeholders.emplace_back(null_fd);
  }
  return ok();
}

}  // namespace

Expected<Plan> plan(const Spec& spec, char** environ_in) {
  SandboxConfig c = to_config(spec, environ_in);
  return plan(c, HostFacts::probe(c));
}

Expected<Plan> plan(const Spec& spec, char** environ_in, const HostFacts& facts) {
  return plan(to_config(spec, environ_in), facts);
}

namespace {

// Capabilities, rlimits and seccomp. What the command holds unless told otherwise: every
// capability in a new user namespace (or one joined by path: setns gives them all), else
// what rdbox holds. Nothing can be given beyond it.
Status plan_confinement(const SandboxConfig& c, Plan& p) {
  const ProcessConfig& pc = c.processes.at(0);
  std::uint64_t held = ~std::uint64_t{0};
  bool joins_user = false;
  for (auto k : p.join_kinds) joins_user = joins_user || k == CLONE_NEWUSER;
  if (!(p.namespaces & CLONE_NEWUSER) && !joins_user) {
    struct __user_cap_header_struct h {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] {};
    if (::syscall(SYS_capget, &h, d) == 0) held = d[0].permitted | (std::uint64_t{d[1].permitted} << 32);
  }
  if (pc.caps) {
    std::uint64_t missing = (pc.caps->permitted | pc.caps->effective | pc.caps->ambient) & ~held;
    for (int cap = 0; cap < 64; ++cap)
      if (missing & (std::uint64_t{1} << cap))
        return Error::input("--cap-add", capability_name(cap) + " is not held by rdbox, so the command cannot "
                                         "be given it (a new user namespace, --newuser, has every capability)");
  }
  p.set_caps = pc.caps.has_value();
  if (pc.caps) p.caps = *pc.caps;
  p.no_new_privs = pc.no_new_privs;
  p.new_keyring = c.new_session_keyring;
  p.cgroup = c.cgroup;
  p.confinement = c.confinement;
  if (auto s = plan_rlimits(pc, p); !s) return s.error();
  if (!c.seccomp_profile.empty()) {
    // docker's capability-conditional rules follow what the command will hold.
    std::uint64_t caps = pc.caps ? pc.caps->bounding | pc.caps->effective : held;
    auto pre = precompiled_seccomp(c.seccomp_profile, caps);
    auto prog = pre ? Expected<SeccompProgram>(std::move(*pre))
                    : compile_seccomp_profile(c.seccomp_profile, c.seccomp_name.empty() ? "profile" : c.seccomp_name, caps);
    if (!prog) return prog.error();
    p.seccomp = std::move(prog->filter);
    p.seccomp_name = prog->name;
  }
  return ok();
}

// An OCI terminal: the stub makes the pty in the container and sends its master over
// this socket pair.
Status plan_console(const SandboxConfig& c, Plan& p) {
  if (!c.launch.console) return ok();
  if (!c.launch.new_session) return Error::input("console", "needs a new session (the pty becomes its controlling terminal)");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::sys("console socket pair", errno);
  p.console = true;
  p.console_parent.reset(sv[0]);
  p.console_child.reset(sv[1]);
  return ok();
}

}  // namespace

Expected<Plan> plan(const SandboxConfig& c, const HostFacts& facts) {
  Plan p;
  const ProcessConfig& pc = c.processes.at(0);
  p.mode = c.launch.mode;
  p.clone_flags = c.launch.mode == Mode::clone ? c.launch.clone_flags : 0;
  long page = ::sysconf(_SC_PAGESIZE);
  p.stack_size = (c.launch.stack_size + page - 1) / page * page;
  plan_command(pc, p);
  if (auto s = reserve_preserved(pc, c.origins.preserve_fds, p); !s) return s.error();
  // Signals the stub puts back to SIG_DFL: the ignored and the caught ones (HostFacts).
  p.ignored_signals = facts.non_default_signals;
  if (p.clone_flags & CLONE_SIGHAND) p.ignored_signals = 0;  // the table is rdbox's own: leave it
  p.take_tty = facts.tty_foreground;
  p.trace = c.launch.trace;
  if (p.trace) p.host_ns = namespace_inodes();
  p.setup_in = "child: the exec stub";
  if (c.launch.mode == Mode::spawn) p.setup_in = "child: glibc's posix_spawn (attributes and file actions)";
  if (auto s = plan_namespaces(c, p, facts); !s) return s.error();
  if (auto s = plan_mounts(c, p); !s) return s.error();
  if (c.pipeline)
    if (auto s = plan_stages(c, p); !s) return s.error();
  // PID 1 sees its parent as 0 whatever happens to rdbox: it checks a pipe instead.
  p.die_with_parent = c.launch.die_with_parent;
  p.timeout_s = c.timeout.seconds;
  if (auto s = plan_confinement(c, p); !s) return s.error();
  p.kill_after_s = c.timeout.kill_after;
  p.start_gate = c.launch.start_gate;
  p.new_session = c.launch.new_session;
  p.controlling_tty = c.launch.controlling_tty && !c.launch.console;
  if (auto s = plan_console(c, p); !s) return s.error();
  p.groups = pc.groups;
  // With CLONE_FILES | CLONE_VFORK the stub shares rdbox's fd table and cannot drop
  // rdbox's end of the pipe; rdbox is suspended until exec there anyway.
  bool shared_files = (p.clone_flags & CLONE_FILES) && (p.clone_flags & CLONE_VFORK);
  p.life_pipe = p.new_pid && p.die_with_parent && !shared_files;
  if (p.init || p.pid_fork || (p.pipeline && p.new_pid)) {
    p.arg_start = facts.arg_start;
    p.arg_end = facts.arg_end;
    p.env_start = facts.env_start;
    p.env_end = facts.env_end;
  }
  build_program(p);
  return p;
}

}  // namespace rdbox
