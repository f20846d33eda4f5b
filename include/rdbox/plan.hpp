// Plan: the Spec turned into exactly what the child touches, built in the parent.
// The child may share the parent's memory and must not allocate, so everything it reads
// is prepared here; PlanView is the pointer-and-count view the exec stub receives.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstddef>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "rdbox/config.hpp"
#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// The exec stub's step kinds. The order they run in is the Plan's `program`, built in one
// place (build_program); the stub interprets it. Names travel in reports.
enum class Step : std::uint32_t {
  token,      // write the shared-memory token into the parent's memory
  files,      // CLONE_FILES without CLONE_VFORK: take a private fd table
  unshare,    // namespaces the creation primitive could not make (fork, vfork; time)
  id_maps,    // uid_map/gid_map: written by the stub, or by rdbox while the stub waits
  time_offsets,  // /proc/self/timens_offsets
  mounts,     // one MountStep (item = its index)
  hostname,   // sethostname
  loopback,   // bring lo up
  init,       // fork rdbox's init (PID 1) and the command (PID 2)
  user,       // --user: setgroups, setresgid, setresuid (item 1: root of the namespace, for setup)
  signals,    // reset ignored signals to SIG_DFL
  pdeathsig,  // die with rdbox (PR_SET_PDEATHSIG), without the race
  pgrp,       // own process group; the terminal's foreground when rdbox had it
  fds,        // keep 0..2 and the preserved fds, mark the rest close-on-exec
  workdir,    // chdir
  sigmask,    // empty signal mask
  caps,       // the capability sets: bounding dropped first, keepcaps across --user, then capset and ambient (item 0),
              // or after the ids changed (item 1)
  no_new_privs,  // PR_SET_NO_NEW_PRIVS: exec never gains privilege (setuid files, file capabilities)
  rlimits,    // setrlimit for each of the Plan's limits
  seccomp,    // load the Plan's BPF filter: the last step before exec
  exec,       // execve, PATH search like execvp
  spawn,      // the creation primitive itself (parent side)
  probe,      // namespace inodes for the report (item = kind)
  start,      // the stub began (timing baseline)
  pid_fork,   // fork mode --newpid: a relay stays outside, its child is PID 1
  join,       // setns(2) into the namespaces given by path (item = index)
  barrier,    // wait until rdbox says go (item = a Barrier): one byte on the sync pipe
  keyring,    // join a fresh session keyring: the caller's keys out of reach
  cgroup,     // join the run's cgroup: "0" written to each cgroup.procs fd rdbox opened
  session,    // setsid(), and fd 0 as the controlling terminal when asked (instead of pgrp)
  pipeline,   // rdbox pipeline: fork one process per stage, joined by pipes; this process
              // stays as their parent (item in a failure: the stage)
  console,    // a pty from the sandbox's own /dev/ptmx: its peer becomes 0..2 and the
              // controlling terminal, its master goes to rdbox over the console socket
};

// What a barrier step waits for. EOF instead of the byte (rdbox gone or failed) ends the run.
enum class Barrier : std::uint32_t {
  id_maps,  // rdbox writes the uid/gid maps (directly, or through newuidmap)
  start,    // the start gate: everything is set up, exec waits for Instance::start(), or
            // (with a gate_fd, OCI create) says kReady and waits for a byte on that fd
};

// One instruction of the stub's program.
struct StepOp {
  Step step;
  std::uint32_t item;    // the mount step's index; 0 otherwise
  std::uint32_t traced;  // a traced run reports the step's end (timing_us.steps)
};

// One mount-table operation, built by plan(), run by the stub. Every path is resolved
// once, beneath the mount that covers it — the new root, or a tmpfs or bind an earlier
// step attached, held by its descriptor (`layer`) — with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_XDEV): a symlink or a rename in the rootfs can neither lead out of it nor move
// a step onto another mount. A mount is made detached (open_tree or fsmount), given its
// attributes, and attached with move_mount: read-only applies to exactly that mount.
// Without a new root, layer -1 means a host path.
enum class MountOp : std::uint32_t {
  propagate,     // mount(NULL, "/", MS_REC | MS_PRIVATE): nothing propagates to the host
  root,          // re-open the rootfs at `src`, check it is the directory rdbox opened
                 // (dev, ino), clone it (open_tree) and attach it on itself: the new root
  overlay_root,  // the same rootfs as the lower layer of an overlay whose upper and work
                 // live in a fresh tmpfs: the overlay is the new root (fds: flags, data)
  mount,         // fstype: fsopen+fsconfig(options)+fsmount, else a bind of src (open_tree);
                 // attributes `flags` (MOUNT_ATTR_*); on failure bind `fallback` if set
  readonly,      // make the root read-only (--read-only)
  mask,          // dst, if it exists: a read-only empty tmpfs on a directory, /dev/null on a file
  readonly_path, // dst, if it exists: cloned in place (open_tree) with MOUNT_ATTR_RDONLY, recursively
  mkdir,         // mkdir dst/name (only ever in a layer the run owns)
  mknod,         // an empty file dst/name, a bind target (only in a layer the run owns)
  symlink,       // symlink dst/name -> src (only in a layer the run owns)
  device,        // mknod dst/name (mode: flags, number: rdev), then its owner and exact mode
  pivot,         // pivot_root into the new root; the old root is detached; then flags
                 // (MS_SHARED, MS_SLAVE, MS_UNBINDABLE...) on the new root, recursively, if set
};
struct MountStep {
  MountOp op;
  std::uint16_t group;        // a kMountGroup* index, for the step timings
  std::uint16_t best_effort;  // a failure is a warning, not the end of the run (devpts)
  unsigned long flags;
  const char* src;
  const char* dst;       // beneath the layer ("." is the layer's root)
  const char* fstype;
  const char* data;      // the options as text (reports), or the overlay's options
  const char* fallback;  // bind source when the mount fails (a fresh /proc → the host's)
  const char* name;      // mkdir, mknod, symlink: the entry created in dst
  const char* const* options;  // fsconfig: key, value, key, value..., nullptr (a null value: a flag)
  std::int32_t layer;          // resolve dst beneath this layer's descriptor (-1: a host path)
  std::int32_t new_layer;      // mount: keep the new mount's descriptor as this layer (-1: close it)
  std::uint32_t recursive;     // bind: the whole tree (AT_RECURSIVE)
  std::uint32_t uid, gid;      // device: the node's owner
  std::uint64_t rdev;          // device: the node's number (its mode, with type bits, is `flags`)
};
static_assert(std::is_standard_layout_v<MountStep> && std::is_trivially_destructible_v<MountStep>);
inline constexpr const char* kMountGroups[] = {"mounts", "overlay", "binds", "proc", "dev", "sys", "pivot_root"};
enum MountGroup : std::uint32_t { kMountMisc, kMountOverlay, kMountBinds, kMountProc, kMountDev, kMountSys, kMountPivot };
const char* step_name(Step s);
const char* mount_op_name(MountOp op);

// One fixed-size record on the close-on-exec report pipe (atomic: < PIPE_BUF).
struct StubRecord {
  std::uint32_t step;      // Step
  std::uint32_t item;      // e.g. index of the exec candidate
  std::int32_t err;        // errno
  std::uint32_t severity;  // kFatal, kReady, kExecAt
  std::int64_t t_ns;       // CLOCK_MONOTONIC when written
};
constexpr std::uint32_t kFatal = 0;
constexpr std::uint32_t kReady = 1;   // the stub has its private fd table (CLONE_FILES handshake)
constexpr std::uint32_t kExecAt = 2;  // the stub is about to call execve: its clock, for "parent suspended"
constexpr std::uint32_t kStepDone = 3;  // a step finished at t_ns (traced runs only)
constexpr std::uint32_t kNsInode = 4;   // item = namespace kind, t_ns = inode (traced runs only)
constexpr std::uint32_t kWarning = 5;   // a best-effort step failed; the run goes on
constexpr std::uint32_t kJobStop = 6;   // init/relay: the command stopped (err = signal, item = its group or 0)
constexpr std::uint32_t kJobCont = 7;   // init/relay: the command continued
constexpr std::uint32_t kCommandEnd = 8;  // init/relay: the command ended (err = its wait status)
constexpr std::uint32_t kConfinement = 9;  // traced runs: item = a ConfinementItem, t_ns = its value
// What the stub read about itself just before the seccomp filter and exec.
enum ConfinementItem : std::uint32_t {
  kCapEffective, kCapPermitted, kCapInheritable, kCapBounding, kCapAmbient, kNoNewPrivs, kSeccompMode,
  kRlimitBase = 16,  // + 2*i: soft limit of the Plan's rlimit i, + 2*i + 1: its hard limit
};
constexpr std::uint32_t kStageStart = 10; // a pipeline stage, first thing after its fork (item = stage,
                                          // err = its pid as its parent sees it); the
                                          // socket's credentials give its pid as rdbox sees it
constexpr std::uint32_t kStageEnd = 11;   // the stages' parent reaped one: a StageEndRecord
static_assert(sizeof(StubRecord) == 24);

// What the stages' parent says when it has reaped stage `head.item` (head.err: its wait
// status, head.t_ns: when; the rest from wait4). One message on the events socket.
struct StageEndRecord {
  StubRecord head;
  std::int64_t t_start_ns;  // when the parent forked it
  std::int64_t pid;         // as the parent sees it (inside a new PID namespace: 2, 3, ...)
  std::int64_t utime_us, stime_us, maxrss_kb, minflt, majflt, nvcsw, nivcsw;
};
static_assert(sizeof(StageEndRecord) == 96);

// One pipeline stage's command, as the stub reads it.
struct StageView {
  const char* const* argv;
  const char* const* envp;
  const char* const* candidates;  // paths to execve, in order
  std::size_t n_candidates;
  const char** sh_argv;           // {"/bin/sh", <candidate>, argv[1..], nullptr} for ENOEXEC
};

struct PlanView {
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* const* candidates = nullptr;  // paths to execve, in order
  std::size_t n_candidates = 0;
  const char** sh_argv = nullptr;  // {"/bin/sh", <candidate>, argv[1..], nullptr} for ENOEXEC
  const char* workdir = nullptr;
  const int* preserved = nullptr;  // fds in 3..3+preserve_fds-1 that were open, to inherit
  std::size_t n_preserved = 0;
  int keep_below = 3;              // fds >= this are marked close-on-exec
  std::uint64_t ignored_signals = 0;  // bit (sig-1): reset from SIG_IGN to SIG_DFL
  std::uint64_t forwarded_signals = 0;  // bit (sig-1): what the init and the relay pass on
  const CapabilitySets* caps = nullptr;  // null: left as they are
  bool no_new_privs = false;
  const Rlimit* rlimits = nullptr;
  std::size_t n_rlimits = 0;
  const void* seccomp_filter = nullptr;  // struct sock_filter[], n_seccomp of them
  std::size_t n_seccomp = 0;
  pid_t parent_pid = 0;
  bool new_pgrp = true;
  bool take_tty = false;
  bool private_files = false;

  // Sandbox.
  std::uint64_t unshare_flags = 0;   // namespaces the stub creates with unshare(2)
  bool new_pid = false;              // the stub is PID 1 of a new PID namespace
  bool pid_fork = false;             // fork mode: fork once more into the new PID namespace
  bool self_maps = false;            // the stub writes its own uid/gid maps
  const char* uid_map = nullptr;     // map texts
  const char* gid_map = nullptr;
  int sync_fd = -1;                  // read end of the barriers' pipe: one byte per barrier
  int gate_fd = -1;                  // the start barrier reads here instead (an OCI exec fifo)
  bool new_session = false;          // the session step: setsid()
  bool controlling_tty = false;      //   and TIOCSCTTY on fd 0
  int console_fd = -1;               // the console step: where the pty's master goes (SCM_RIGHTS)
  const std::uint32_t* groups = nullptr;  // supplementary groups set with --user (none: cleared)
  std::size_t n_groups = 0;
  int sync_write_fd = -1;            // rdbox's write end, inherited: the stub closes it first
  int events_fd = -1;                // init/relay: where the command's stops and continues go
  int stage_records_fd = -1;         // rdbox pipeline: where each stage's own records go (rdbox
                                     // reads them when it needs them, never waits on them)
  int report_pipe_size = 0;          // traced runs: F_GETPIPE_SZ of the report pipe
  const char* timens_offsets[2] = {nullptr, nullptr};  // "monotonic S 0", "boottime S 0"
  const MountStep* mounts = nullptr;
  std::size_t n_mounts = 0;
  const int* join_fds = nullptr;     // namespaces to join (setns), the user namespace first
  const std::uint64_t* join_kinds = nullptr;
  std::size_t n_joins = 0;
  const StepOp* program = nullptr;   // the steps, in order
  std::size_t n_program = 0;
  std::uint64_t rootfs_dev = 0, rootfs_ino = 0;  // the rootfs rdbox opened (MountOp::root)
  int overlay_fd = -1;               // the number the overlay's tmpfs goes to (overlay_root)
  int rootfs_fd = -1;                // rdbox's rootfs descriptor, inherited: closed at pivot_root
  int* layer_fds = nullptr;          // the stub's scratch: one descriptor per mount layer (0: the root)
  int mask_slot = -1;                // layer_fds[mask_slot], [mask_slot + 1]: the masks' empty tmpfs and
                                     // /dev/null, made once and cloned for each masked path
  std::size_t n_layers = 0;
  int life_fd = -1;                  // read end: hangs up when rdbox is gone (PID 1's check)
  int life_write_fd = -1;            // rdbox's write end, inherited: the stub closes it
  unsigned long arg_start = 0, arg_end = 0;  // rdbox's command line: the init overwrites its copy
  unsigned long env_start = 0, env_end = 0;  // rdbox's environment block: the init zeroes its copy
  const char* hostname = nullptr;
  std::size_t hostname_len = 0;
  bool loopback = false;
  bool init = false;
  bool set_user = false;
  std::uint32_t uid = 0, gid = 0;
  bool trace = false;                // step times and namespace inodes on the report pipe
  const int* cgroup_fds = nullptr;   // cgroup.procs of the run's cgroup, one per hierarchy
  std::size_t n_cgroup_fds = 0;
  int clone_into_cgroup = -1;        // clone mode: clone3(CLONE_INTO_CGROUP) into this v2 directory
  // rdbox pipeline: the stages' commands, the scratch where the stages' parent keeps what
  // it knows of them, and whether the terminal goes to the stages' process group.
  const StageView* stages = nullptr;
  std::size_t n_stages = 0;
  std::int64_t* stage_pids = nullptr;  // each stage's pid, 0 once reaped
  // Each stage's end, filled as it is forked (t_start_ns, pid) and reaped (the rest), and
  // sent with the pipeline's kCommandEnd in one message once the last one has ended (one
  // wake-up of rdbox, not one per stage); n_stages + 1 records, the last one's head is the
  // kCommandEnd.
  StageEndRecord* stage_ends = nullptr;
  bool pipefail = false;
  bool stages_take_tty = false;
  int stage = -1;                    // in a stage's own copy of the view: its index

  // Set per launch by the launcher.
  int report_fd = -1;
  volatile std::uint64_t* token_slot = nullptr;
  std::uint64_t token = 0;
};
static_assert(std::is_standard_layout_v<PlanView>);
static_assert(std::is_trivially_destructible_v<PlanView>);

struct Plan {
  Mode mode = Mode::clone;
  std::uint64_t clone_flags = 0;      // for clone: includes the namespaces clone creates
  std::uint64_t namespaces = 0;       // every namespace asked for
  std::uint64_t unshare_flags = 0;    // those the stub unshares
  bool new_pid = false;
  bool pid_fork = false;              // fork mode --newpid: a relay forks PID 1 (like unshare -f)
  bool self_maps = false;             // the stub writes "0 <euid> 1" itself
  bool parent_maps = false;           // rdbox writes the maps (or runs newuidmap) while the stub waits
  bool use_newidmap = false;          // unprivileged multi-range maps go through newuidmap/newgidmap
  std::string uid_map, gid_map;       // map texts ("0 1000 1\n")
  std::vector<IdMapRange> uid_ranges, gid_ranges;
  std::vector<std::string> timens_lines;
  std::deque<std::string> strings;    // storage behind MountStep pointers
  std::vector<MountStep> mounts;
  std::vector<StepOp> program;        // the stub's steps in their one order (build_program)
  std::deque<std::vector<const char*>> option_lists;  // storage behind MountStep::options
  mutable std::vector<int> layer_fds; // the stub's scratch (one per layer), written in the child
  int mask_slot = -1;                 // two scratch slots in layer_fds for the masks' sources
  std::vector<std::string> layer_paths;  // where each layer is mounted inside, for messages
  std::vector<Fd> join_fds;           // namespaces joined by path, held open for the stub
  std::vector<int> join_fd_numbers;
  std::vector<std::uint64_t> join_kinds;
  std::uint64_t rootfs_dev = 0, rootfs_ino = 0;
  bool life_pipe = false;             // PID 1 checks rdbox is alive through a pipe
  bool die_with_parent = true;        // PR_SET_PDEATHSIG (off for a sandbox handed to another parent)
  bool setup_as_root = false;         // become 0 inside right after rdbox's maps (they cover 0)
  double timeout_s = 0, kill_after_s = 0;  // the supervisor's time limit (0: none)
  bool set_caps = false;
  CapabilitySets caps;
  bool no_new_privs = false;
  std::vector<Rlimit> rlimits;
  std::vector<struct sock_filter> seccomp;  // compiled once here
  std::string seccomp_name;
  bool new_keyring = false;           // a fresh session keyring
  std::string confinement;            // SandboxConfig::confinement, for the report
  std::optional<CgroupConfig> cgroup; // made by the Instance; the stub joins it first
  bool start_gate = false;            // the stub waits before exec until Instance::start()
  Fd start_fifo;                      // set by the OCI runtime: the gate is this fifo (gate_fd)
  bool new_session = false, controlling_tty = false;
  // LaunchConfig::console: a socket pair; the stub sends the pty's master on `console_child`
  // (closed in rdbox once the child exists: EOF then means the stub ended without one),
  // rdbox receives it on `console_parent` (receive_console).
  bool console = false;
  Fd console_parent, console_child;
  std::vector<std::uint32_t> groups;  // supplementary groups (with set_user)
  bool needs_sync() const { return parent_maps || start_gate; }
  unsigned long arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::string hostname;
  bool loopback = false;
  bool init = false;
  bool set_user = false;
  std::uint32_t uid = 0, gid = 0;
  bool trace = false;
  Fd rootfs_fd;                       // O_PATH to the rootfs: its number is reserved for the stub's
  Fd overlay_fd;                      // re-opened rootfs and overlay tmpfs (the overlay's option text)
  std::string setup_in;               // where the sandbox is built, for the report
  std::vector<std::string> warnings;  // known at plan time (copied into the Outcome)
  std::array<std::uint64_t, kNamespaceCount> host_ns{};  // rdbox's own, before any setup (traced runs)
  std::size_t stack_size = 0;  // page-rounded; clone only

  std::vector<std::string> argv_store, env_store, candidate_store;
  std::vector<const char*> argv, envp, candidates, sh_argv;
  std::string workdir;
  std::vector<int> preserved;
  int preserve_fds = 0;
  std::uint64_t ignored_signals = 0;
  bool take_tty = false;
  std::string display_name;  // the command as the user gave it, for messages
  // /dev/null placeholders in the --preserve-fds slots that were closed, so that none of
  // rdbox's own descriptors lands there and leaks into the command.
  std::vector<Fd> placeholders;

  // rdbox pipeline: one entry per stage; `argv`..`display_name` above are the first stage's.
  // A stage with the first process's environment keeps no copy (envp empty: `envp` above).
  struct Stage {
    std::vector<std::string> argv_store, env_store, candidate_store;
    std::vector<const char*> argv, envp, candidates, sh_argv;
    std::string display_name;
  };
  bool pipeline = false;
  bool pipefail = false;
  std::vector<Stage> stages;
  std::vector<StageView> stage_views;  // pointers into `stages`
  // The stub's scratch (the stages' parent writes it): PlanView::stage_pids, stage_ends.
  mutable std::vector<std::int64_t> stage_pids;
  mutable std::vector<StageEndRecord> stage_ends;

  // Rebuilds the pointer view; the Plan must outlive it and stay unmoved.
  PlanView view() const;
};

// This process's namespace inodes, in kNamespaces order (0 = unreadable). With
// for_children, the PID and time namespaces are those its children get.
std::array<std::uint64_t, kNamespaceCount> namespace_inodes(bool for_children = false);

// What plan() needs to know about this process and host: the one place that probes.
struct HostFacts {
  uid_t euid = 0;
  gid_t egid = 0;
  pid_t pid = 0;
  bool sys_admin = false;    // CAP_SYS_ADMIN: namespaces without a user namespace
  bool setuid_caps = false;  // CAP_SETUID and CAP_SETGID: any id map
  bool tty_foreground = false;        // stdin is a terminal whose foreground group is ours
  std::uint64_t non_default_signals = 0;  // bit (sig-1): ignored or caught here
  unsigned long arg_start = 0, arg_end = 0;  // this process's command line and
  unsigned long env_start = 0, env_end = 0;  // environment blocks (/proc/self/stat)
  // Probes what this config needs and no more (each probe is a system call or a /proc
  // read on every run).
  static HostFacts probe(const SandboxConfig& for_config);
};

// Builds the Plan from a validated Spec, the caller's environment and the host's facts.
// `environ_in` is the caller's environment (environ), taken as a parameter for tests.
Expected<Plan> plan(const Spec& spec, char** environ_in, const HostFacts& facts);
Expected<Plan> plan(const Spec& spec, char** environ_in);  // probes the host
// The neutral config (validated with validate(config)) into a Plan: what every front end calls.
Expected<Plan> plan(const SandboxConfig& config, const HostFacts& facts);

// The stub's program for a Plan whose fields are set: the one place the order is written.
void build_program(Plan& p);

// The default search path execvp uses when PATH is unset.
inline constexpr const char* kDefaultPath = "/usr/local/bin:/bin:/usr/bin";

}  // namespace rdbox
