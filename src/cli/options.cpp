// The one table of rdbox run's and compare's options, where the command starts, and the
// check that names the nearest option when a word is none of them.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>

#include "cli/cli.hpp"

namespace rdbox::cli {

#define RDBOX_OPT(names, metavar, where, group, expr) \
  OptionDef { names, metavar, where, group, [](CLI::App* a, const char* n, Targets& t) -> CLI::Option* { (void)t; return expr; } }
const OptionDef kOptions[] = {
    RDBOX_OPT("--mode", "MODE", kRun, "", a->add_option(n, t.args.mode, "fork, vfork, clone (default) or spawn (posix_spawn)")),
    RDBOX_OPT("--vm", "", kRun, "", a->add_flag(n, t.spec.vm, "Add CLONE_VM: the child shares rdbox's address space (implies --mode clone)")),
    RDBOX_OPT("--vfork", "", kRun, "", a->add_flag(n, t.spec.vfork, "Add CLONE_VFORK: rdbox is suspended until the child execs (implies --mode clone)")),
    RDBOX_OPT("--report", "FORMAT", kRun, "", a->add_option(n, t.args.report, "Outcome report: text (default), json or none")),
    RDBOX_OPT("--report-file", "PATH", kRun, "", a->add_option(n, t.spec.report_file, "Write the report to PATH instead of stderr")),
    RDBOX_OPT("--report-fd", "N", kRun, "", a->add_option(n, t.args.report_fd, "Write the report to descriptor N, opened by the caller (never passed to the command)")),
    RDBOX_OPT("--dry-run", "", kRun, "", a->add_flag(n, t.spec.dry_run, "Print the resolved plan as JSON and exit without creating anything")),
    RDBOX_OPT("--modes", "LIST", kCompare, "", a->add_option(n, t.cmp.modes, "Comma list of fork, vfork, clone, clone-vm, clone-vm-vfork, spawn (default: all)")),
    RDBOX_OPT("-n", "N", kCompare, "", a->add_option(n, t.cmp.rounds, "Runs per mode (default 200)")),
    RDBOX_OPT("--rss", "SIZE", kCompare, "", a->add_option(n, t.cmp.rss, "Grow rdbox's resident memory to SIZE first (K/M/G)")),
    RDBOX_OPT("--touch", "", kCompare, "", a->add_flag(n, t.cmp.touch, "Write rdbox's heap and the --rss memory after each run: the copy-on-write faults a forking service pays")),
    RDBOX_OPT("--format", "FORMAT", kCompare, "", a->add_option(n, t.cmp.format, "table (default), json or csv")),
    // compare chooses the modes itself; these are refused with a pointer to --modes.
    RDBOX_OPT("--mode", "MODE", kCompare, "hidden", a->add_option(n, t.args.mode, "(use --modes)")),
    RDBOX_OPT("--vm", "", kCompare, "hidden", a->add_flag(n, t.spec.vm, "(use --modes)")),
    RDBOX_OPT("--vfork", "", kCompare, "hidden", a->add_flag(n, t.spec.vfork, "(use --modes)")),
    RDBOX_OPT("--clone-flags", "LIST", kBoth, "Clone", a->add_option(n, t.args.clone_flags, "More clone flags: FILES,FS,IO,SYSVSEM,PIDFD,SIGHAND")),
    RDBOX_OPT("--stack-size", "SIZE", kBoth, "Clone", a->add_option(n, t.args.stack_size, "Clone stack size (K/M/G suffixes; default 64K, minimum 16K)")),
    RDBOX_OPT("--argv0", "NAME", kBoth, "Command", a->add_option(n, t.spec.argv0, "argv[0] for the command")),
    RDBOX_OPT("-e,--env", "KEY=VAL", kBoth, "Command", a->add_option(n, t.args.env, "Set KEY=VAL, or copy KEY from rdbox's environment (repeatable)")),
    RDBOX_OPT("--env-file", "FILE", kBoth, "Command", a->add_option(n, t.args.env_files, "Read KEY=VAL lines from FILE ('#' comments)")),
    RDBOX_OPT("--clear-env", "", kBoth, "Command", a->add_flag(n, t.spec.clear_env, "Start the command's environment empty")),
    RDBOX_OPT("-w,--workdir", "DIR", kBoth, "Command", a->add_option(n, t.spec.workdir, "Working directory of the command")),
    RDBOX_OPT("--preserve-fds", "N", kBoth, "Command", a->add_option(n, t.args.preserve_fds, "Pass fds 3..3+N-1 to the command")),
    RDBOX_OPT("--newpid", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[0], "New PID namespace: the command is PID 1")),
    RDBOX_OPT("--newns", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[1], "New mount namespace")),
    RDBOX_OPT("--newuts", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[2], "New UTS namespace (hostname)")),
    RDBOX_OPT("--newipc", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[3], "New IPC namespace")),
    RDBOX_OPT("--newnet", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[4], "New network namespace, loopback up")),
    RDBOX_OPT("--newuser", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[5], "New user namespace: your uid/gid map to 0 inside")),
    RDBOX_OPT("--newcgroup", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[6], "New cgroup namespace")),
    RDBOX_OPT("--newtime", "", kBoth, "Namespaces", a->add_flag(n, t.args.ns[7], "New time namespace")),
    RDBOX_OPT("--unshare-all", "", kBoth, "Namespaces", a->add_flag(n, t.args.unshare_all, "Every namespace kind")),
    RDBOX_OPT("--time-offset", "CLOCK=S[,CLOCK=S]", kBoth, "Namespaces", a->add_option(n, t.args.time_offset, "CLOCK is monotonic or boottime, S seconds (implies --newtime)")),
    RDBOX_OPT("--init", "", kBoth, "Namespaces", a->add_flag(n, t.spec.init, "rdbox's init at PID 1, the command at PID 2 (implies --newpid)")),
    RDBOX_OPT("--mount-proc", "", kBoth, "Namespaces", a->add_flag(n, t.spec.mount_proc, "Mount a fresh /proc (automatic with --newpid and a new mount namespace)")),
    RDBOX_OPT("--hostname", "NAME", kBoth, "Namespaces", a->add_option(n, t.spec.hostname, "Hostname inside (implies --newuts)")),
    RDBOX_OPT("--uid-map", "'IN OUT COUNT'", kBoth, "Namespaces", a->add_option(n, t.args.uid_maps, "uid IN inside is OUT outside, COUNT ids (repeatable; implies --newuser)")),
    RDBOX_OPT("--gid-map", "'IN OUT COUNT'", kBoth, "Namespaces", a->add_option(n, t.args.gid_maps, "gid IN inside is OUT outside, COUNT ids (repeatable; implies --newuser)")),
    RDBOX_OPT("--user", "UID[:GID]", kBoth, "Namespaces", a->add_option(n, t.args.user, "Identity to switch to inside, before exec")),
    RDBOX_OPT("--rootfs", "DIR", kBoth, "Root filesystem", a->add_option(n, t.spec.rootfs, "New root (implies --newns): pivot_root into DIR")),
    RDBOX_OPT("--overlay", "", kBoth, "Root filesystem", a->add_flag(n, t.spec.overlay, "Writes go to a tmpfs upper layer, never to --rootfs")),
    RDBOX_OPT("--bind", "SRC[:DST]", kBoth, "Root filesystem", a->add_option(n, t.args.binds, "Bind mount (repeatable)")),
    RDBOX_OPT("--ro-bind", "SRC[:DST]", kBoth, "Root filesystem", a->add_option(n, t.args.ro_binds, "Read-only bind mount (repeatable)")),
    RDBOX_OPT("--tmpfs", "DST[:OPTS]", kBoth, "Root filesystem", a->add_option(n, t.args.tmpfs, "A tmpfs at DST, nosuid,nodev; OPTS: size= (default 64M), mode=, uid=, gid=, nr_inodes=, ro, noexec (repeatable)")),
    RDBOX_OPT("--read-only", "", kBoth, "Root filesystem", a->add_flag(n, t.spec.read_only, "Make the new root read-only")),
    RDBOX_OPT("--privileged", "", kRun, "Confinement", a->add_flag(n, t.spec.privileged, "No container defaults for --rootfs: every capability, no seccomp filter, no masked paths, the host's PID namespace unless asked")),
    RDBOX_OPT("--cap-add", "CAP", kRun, "Confinement", a->add_option(n, t.args.cap_add, "Keep capability CAP, with or without CAP_, any case (repeatable)")),
    RDBOX_OPT("--cap-drop", "CAP", kRun, "Confinement", a->add_option(n, t.args.cap_drop, "Drop capability CAP, or ALL (repeatable)")),
    RDBOX_OPT("--no-new-privs", "", kRun, "Confinement", a->add_flag(n, t.spec.no_new_privs, "Set no_new_privs: exec never gains privilege")),
    RDBOX_OPT("--seccomp", "PROFILE", kRun, "Confinement", a->add_option(n, t.args.seccomp, "default, unconfined, or a JSON profile FILE (docker/OCI format); implies --no-new-privs")),
    RDBOX_OPT("--rlimit", "NAME=SOFT[:HARD]", kRun, "Confinement", a->add_option(n, t.args.rlimits, "A resource limit: NOFILE, NPROC, AS, CPU, CORE, FSIZE, STACK... (repeatable)")),
    RDBOX_OPT("--memory", "SIZE", kRun, "Cgroup", a->add_option(n, t.args.memory, "Memory limit (K/M/G): a cgroup for the run, the command OOM-killed past it")),
    RDBOX_OPT("--memory-swap", "SIZE", kRun, "Cgroup", a->add_option(n, t.args.memory_swap, "Memory plus swap limit (as docker's), or -1 for unlimited swap; needs --memory")),
    RDBOX_OPT("--pids", "N", kRun, "Cgroup", a->add_option(n, t.args.pids, "At most N processes and threads in the sandbox")),
    RDBOX_OPT("--cpus", "FRACTION", kRun, "Cgroup", a->add_option(n, t.args.cpus, "CPU time as a number of CPUs (0.5: half of one)")),
    RDBOX_OPT("--cpu-weight", "N", kRun, "Cgroup", a->add_option(n, t.args.cpu_weight, "Relative CPU weight, 1 to 10000 (cgroup v2; converted to shares on v1)")),
    RDBOX_OPT("--cpu-shares", "N", kRun, "Cgroup", a->add_option(n, t.args.cpu_shares, "Relative CPU shares, 2 to 262144 (cgroup v1; converted to a weight on v2)")),
    RDBOX_OPT("--cgroup-parent", "PATH", kRun, "Cgroup", a->add_option(n, t.args.cgroup_parent, "Make the run's cgroup under PATH (relative to rdbox's own cgroup, or absolute)")),
    RDBOX_OPT("--pipefail", "", kPipeline, "", a->add_flag(n, t.spec.pipefail, "The pipeline's status is its last non-zero stage's, not the last stage's")),
    RDBOX_OPT("--timeout", "DURATION", kRun, "Confinement", a->add_option(n, t.args.timeout, "SIGTERM the whole sandbox after DURATION (10, 10s, 500ms, 2m, 1h); exit 124")),
    RDBOX_OPT("--kill-after", "DURATION", kRun, "Confinement", a->add_option(n, t.args.kill_after, "SIGKILL this long after the timeout's SIGTERM (default 5s)")),
};
#undef RDBOX_OPT
const std::size_t kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

namespace {

// Options of rdbox itself, accepted before and after the subcommand.
struct GlobalOption {
  const char* names;
  bool takes_value;
};
constexpr GlobalOption kGlobal[] = {
    {"-h,--help", false}, {"-v,--verbose", false}, {"--log-level", true}, {"--version", false}};

bool global_match(std::string_view word, bool* takes_value) {
  std::string_view name = word.substr(0, word.find('='));
  for (const auto& g : kGlobal)
    if (names_match(g.names, name)) {
      *takes_value = g.takes_value;
      return true;
    }
  // -vv, -vvv: repeated -v
  if (word.size() > 2 && word[0] == '-' && word.find_first_not_of('v', 1) == std::string_view::npos) {
    *takes_value = false;
    return true;
  }
  return false;
}

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// two neighbours ("--newpdi" is 1 from "--newpid").
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// Every name in "-e,--env" style lists, fed to `f`.
template <class F>
void each_name(std::string_view names, F f) {
  while (!names.empty()) {
    auto comma = names.find(',');
    f(names.substr(0, comma));
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
}

std::string nearest(std::string_view word, unsigned where) {
  std::string best;
  std::size_t best_d = std::string::npos;
  auto consider = [&](std::string_view name) {
    if (name.size() < 3) return;  // short options are too close to everything
    std::size_t d = distance(word, name);
    if (d < best_d) best_d = d, best = std::string(name);
  };
  for (const auto& g : kGlobal) each_name(g.names, consider);
  if (where)
    for (const auto& d : kOptions)
      if ((d.where & where) && std::string_view(d.group) != "hidden") each_name(d.names, consider);
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string();
}

std::string unknown_line(std::string_view word, unsigned where) {
  std::string name(word.substr(0, word.find('=')));
  std::string sub = where == kRun ? "run" : where == kCompare ? "compare" : where == kPipelineCmd ? "pipeline" : "";
  std::string line = "unknown option \"" + name + "\"" + (sub.empty() ? "" : " for rdbox " + sub);
  unsigned other = sub.empty() ? 0u : (kRun | kCompare | kPipeline) & ~where;
  const OptionDef* elsewhere = other ? find_option(name, other) : nullptr;
  if (elsewhere && std::string_view(elsewhere->group) != "hidden") {
    const char* owner = (elsewhere->where & other & kRun) ? "run" : (elsewhere->where & other & kCompare) ? "compare" : "pipeline";
    return line + " (it is an option of rdbox " + owner + ")";
  }
  std::string guess = nearest(name, where);
  if (!guess.empty()) return line + " (did you mean " + guess + "?)";
  return line + " (see rdbox " + (sub.empty() ? "" : sub + " ") + "--help)";
}

}  // namespace

bool names_match(std::string_view names, std::string_view word) {
  bool hit = false;
  each_name(names, [&](std::string_view name) {
    if (word == name) hit = true;
    if (name.size() == 2 && name[1] != '-' && word.size() > 2 && word[1] != '-' && word.substr(0, 2) == name) hit = true;
  });
  return hit;
}

const OptionDef* find_option(std::string_view word, unsigned where) {
  std::string_view name = word.substr(0, word.find('='));
  for (const auto& d : kOptions)
    if ((d.where & where) && names_match(d.names, name)) return &d;
  return nullptr;
}

CommandSplit split_command(int sub_index, unsigned where, int argc, char** argv) {
  int i = sub_index + 1;
  while (i < argc) {
    std::string_view a = argv[i];
    if (a == "--") return {i, i + 1};
    if (a.size() < 2 || a[0] != '-') return {i, i};
    bool attached = a.find('=') != std::string_view::npos || (a[1] != '-' && a.size() > 2);
    bool takes_value = false;
    if (a == "--log-level") takes_value = true;
    else if (const OptionDef* d = find_option(a, where)) takes_value = d->takes_value();
    i += (takes_value && !attached) ? 2 : 1;
  }
  return {argc, argc};
}

std::optional<std::string> unknown_option(int begin, int end, unsigned where, char** argv) {
  for (int i = begin; i < end; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;  // a value, or the subcommand
    bool attached = a.find('=') != std::string_view::npos || (a[1] != '-' && a.size() > 2);
    bool takes_value = false;
    if (global_match(a, &takes_value)) {
    } else if (const OptionDef* d = where ? find_option(a, where) : nullptr) {
      takes_value = d->takes_value();
    } else {
      return unknown_line(a, where);
    }
    if (takes_value && !attached) ++i;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> mounts_in_order(const std::vector<char*>& words, int from,
                                                                 unsigned where) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = static_cast<std::size_t>(from); i < words.size(); ++i) {
    std::string_view a = words[i];
    const OptionDef* d = a.size() > 1 && a[0] == '-' ? find_option(a, where) : nullptr;
    if (!d || !d->takes_value()) continue;
    auto eq = a.find('=');
    std::string_view name = a.substr(0, eq);
    std::string value = eq != std::string_view::npos ? std::string(a.substr(eq + 1))
                        : i + 1 < words.size()       ? std::string(words[i + 1])
                                                     : std::string();
    if (eq == std::string_view::npos) ++i;
    if (name == "--bind" || name == "--ro-bind" || name == "--tmpfs") out.emplace_back(std::string(name), value);
  }
  return out;
}

void register_options(CLI::App* sub, unsigned where, Targets& t, const std::vector<char*>& words, bool all) {
  std::vector<std::pair<std::string, CLI::Option_group*>> groups;
  for (const auto& d : kOptions) {
    if (!(d.where & where)) continue;
    bool used = all;
    for (char* w : words)
      if (!used && w[0] == '-' && names_match(d.names, std::string_view(w).substr(0, std::string_view(w).find('='))))
        used = true;
    if (!used) continue;
    CLI::App* target = sub;
    if (std::string_view(d.group) == "hidden") {
      if (all) continue;
    } else if (*d.group) {
      CLI::Option_group* g = nullptr;
      for (auto& [name, grp] : groups)
        if (name == d.group) g = grp;
      if (!g) {
        g = sub->add_option_group(d.group);
        groups.emplace_back(d.group, g);
      }
      target = g;
    }
    CLI::Option* o = d.add(target, d.names, t);
    if (d.takes_value()) o->type_name(d.metavar);
  }
}

}  // namespace rdbox::cli
