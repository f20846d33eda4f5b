#include "cli/options.hpp"

namespace rdbox::cli {

namespace {

// Every option of run and compare, in one table: its CLI11 names, whether it takes a
// value, where it applies, and how it binds to the Spec. rdbox registers with CLI11 only
// the options a command line uses (all of them for --help): CLI11 checks each new option
// against every earlier one, and registering forty options costs more than the rest of
// rdbox's start-up.
struct OptionDef {
  const char* names;
  bool takes_value;
  unsigned where;
  const char* group;
  void (*add)(CLI::App*, const char* names, Targets&);
};

#define RDBOX_OPT(names, value, where, group, expr) \
  OptionDef { names, value, where, group, [](CLI::App* a, const char* n, Targets& t) { (void)t; expr; } }
const OptionDef kOptions[] = {
    RDBOX_OPT("--mode", true, kRun, "", a->add_option(n, t.args.mode, "fork, vfork, clone (default) or spawn (posix_spawn)")),
    RDBOX_OPT("--vm", false, kRun, "", a->add_flag(n, t.spec.vm, "Add CLONE_VM: the child shares rdbox's address space (implies --mode clone)")),
    RDBOX_OPT("--vfork", false, kRun, "", a->add_flag(n, t.spec.vfork, "Add CLONE_VFORK: rdbox is suspended until the child execs (implies --mode clone)")),
    RDBOX_OPT("--report", true, kRun, "", a->add_option(n, t.args.report, "Outcome report: text (default), json or none")),
    RDBOX_OPT("--report-file", true, kRun, "", a->add_option(n, t.spec.report_file, "Write the report to PATH instead of stderr")),
    RDBOX_OPT("--dry-run", false, kRun, "", a->add_flag(n, t.spec.dry_run, "Print the resolved plan as JSON and exit without creating anything")),
    RDBOX_OPT("--modes", true, kCompare, "", a->add_option(n, t.cmp.modes, "Comma list of fork, vfork, clone, clone-vm, clone-vm-vfork, spawn (default: all)")),
    RDBOX_OPT("-n", true, kCompare, "", a->add_option(n, t.cmp.rounds, "Runs per mode (default 200)")),
    RDBOX_OPT("--rss", true, kCompare, "", a->add_option(n, t.cmp.rss, "Grow rdbox's resident memory to SIZE first (K/M/G)")),
    RDBOX_OPT("--format", true, kCompare, "", a->add_option(n, t.cmp.format, "table (default), json or csv")),
    // compare chooses the modes itself; these are refused with a pointer to --modes.
    RDBOX_OPT("--mode", true, kCompare, "hidden", a->add_option(n, t.args.mode, "(use --modes)")),
    RDBOX_OPT("--vm", false, kCompare, "hidden", a->add_flag(n, t.spec.vm, "(use --modes)")),
    RDBOX_OPT("--vfork", false, kCompare, "hidden", a->add_flag(n, t.spec.vfork, "(use --modes)")),
    RDBOX_OPT("--clone-flags", true, kBoth, "Clone", a->add_option(n, t.args.clone_flags, "More clone flags: FILES,FS,IO,SYSVSEM,PIDFD,SIGHAND")),
    RDBOX_OPT("--stack-size", true, kBoth, "Clone", a->add_option(n, t.args.stack_size, "Clone stack size (K/M/G suffixes; default 64K, minimum 16K)")),
    RDBOX_OPT("--argv0", true, kBoth, "Command", a->add_option(n, t.spec.argv0, "argv[0] for the command")),
    RDBOX_OPT("-e,--env", true, kBoth, "Command", a->add_option(n, t.args.env, "Set KEY=VAL, or copy KEY from rdbox's environment (repeatable)")),
    RDBOX_OPT("--env-file", true, kBoth, "Command", a->add_option(n, t.args.env_files, "Read KEY=VAL lines from FILE ('#' comments)")),
    RDBOX_OPT("--clear-env", false, kBoth, "Command", a->add_flag(n, t.spec.clear_env, "Start the command's environment empty")),
    RDBOX_OPT("-w,--workdir", true, kBoth, "Command", a->add_option(n, t.spec.workdir, "Working directory of the command")),
    RDBOX_OPT("--preserve-fds", true, kBoth, "Command", a->add_option(n, t.args.preserve_fds, "Pass fds 3..3+N-1 to the command")),
    RDBOX_OPT("--newpid", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[0], "New PID namespace: the command is PID 1")),
    RDBOX_OPT("--newns", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[1], "New mount namespace")),
    RDBOX_OPT("--newuts", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[2], "New UTS namespace (hostname)")),
    RDBOX_OPT("--newipc", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[3], "New IPC namespace")),
    RDBOX_OPT("--newnet", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[4], "New network namespace, loopback up")),
    RDBOX_OPT("--newuser", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[5], "New user namespace: your uid/gid map to 0 inside")),
    RDBOX_OPT("--newcgroup", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[6], "New cgroup namespace")),
    RDBOX_OPT("--newtime", false, kBoth, "Namespaces", a->add_flag(n, t.args.ns[7], "New time namespace")),
    RDBOX_OPT("--unshare-all", false, kBoth, "Namespaces", a->add_flag(n, t.args.unshare_all, "Every namespace kind")),
    RDBOX_OPT("--time-offset", true, kBoth, "Namespaces", a->add_option(n, t.args.time_offset, "monotonic=S,boottime=S (implies --newtime)")),
    RDBOX_OPT("--init", false, kBoth, "Namespaces", a->add_flag(n, t.spec.init, "rdbox's init at PID 1, the command at PID 2 (implies --newpid)")),
    RDBOX_OPT("--mount-proc", false, kBoth, "Namespaces", a->add_flag(n, t.spec.mount_proc, "Mount a fresh /proc (automatic with --newpid and a new mount namespace)")),
    RDBOX_OPT("--hostname", true, kBoth, "Namespaces", a->add_option(n, t.spec.hostname, "Hostname inside (implies --newuts)")),
    RDBOX_OPT("--uid-map", true, kBoth, "Namespaces", a->add_option(n, t.args.uid_maps, "\"INSIDE OUTSIDE COUNT\" (repeatable; implies --newuser)")),
    RDBOX_OPT("--gid-map", true, kBoth, "Namespaces", a->add_option(n, t.args.gid_maps, "\"INSIDE OUTSIDE COUNT\" (repeatable; implies --newuser)")),
    RDBOX_OPT("--user", true, kBoth, "Namespaces", a->add_option(n, t.args.user, "UID[:GID] to switch to inside, before exec")),
    RDBOX_OPT("--rootfs", true, kBoth, "Root filesystem", a->add_option(n, t.spec.rootfs, "New root (implies --newns): pivot_root into DIR")),
    RDBOX_OPT("--overlay", false, kBoth, "Root filesystem", a->add_flag(n, t.spec.overlay, "Writes go to a tmpfs upper layer, never to --rootfs")),
    RDBOX_OPT("--bind", true, kBoth, "Root filesystem", a->add_option(n, t.args.binds, "SRC[:DST] bind mount (repeatable)")),
    RDBOX_OPT("--ro-bind", true, kBoth, "Root filesystem", a->add_option(n, t.args.ro_binds, "SRC[:DST] read-only bind mount (repeatable)")),
    RDBOX_OPT("--tmpfs", true, kBoth, "Root filesystem", a->add_option(n, t.args.tmpfs, "A tmpfs at DST (repeatable)")),
    RDBOX_OPT("--read-only", false, kBoth, "Root filesystem", a->add_flag(n, t.spec.read_only, "Make the new root read-only")),
};
#undef RDBOX_OPT

// "-e,--env" holds "--env"? (and "-e" for "-eVALUE").
bool names_match(std::string_view names, std::string_view word) {
  while (!names.empty()) {
    auto comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    if (word == name) return true;
    if (name.size() == 2 && name[1] != '-' && word.size() > 2 && word[1] != '-' && word.substr(0, 2) == name) return true;
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  return false;
}

const OptionDef* find_option(std::string_view word, unsigned where) {
  std::string_view name = word.substr(0, word.find('='));
  for (const auto& d : kOptions)
    if ((d.where & where) && names_match(d.names, name)) return &d;
  return nullptr;
}

}  // namespace

CommandSplit split_command(int sub_index, unsigned where, int argc, char** argv) {
  int i = sub_index + 1;
  while (i < argc) {
    std::string_view a = argv[i];
    if (a == "--") return {i, i + 1};
    if (a.size() < 2 || a[0] != '-') return {i, i};
    bool attached = a.find('=') != std::string_view::npos || (a[1] != '-' && a.size() > 2);
    bool takes_value = false;
    if (a == "--log-level") takes_value = true;
    else if (const OptionDef* d = find_option(a, where)) takes_value = d->takes_value;
    i += (takes_value && !attached) ? 2 : 1;
  }
  return {argc, argc};
}

std::vector<std::pair<std::string, std::string>> mounts_in_order(const std::vector<char*>& words, int from,
                                                                 unsigned where) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = static_cast<std::size_t>(from); i < words.size(); ++i) {
    std::string_view a = words[i];
    const OptionDef* d = a.size() > 1 && a[0] == '-' ? find_option(a, where) : nullptr;
    if (!d || !d->takes_value) continue;
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
    if (!*d.group) {
      d.add(sub, d.names, t);
      continue;
    }
    if (std::string_view(d.group) == "hidden") {
      if (!all) d.add(sub, d.names, t);
      continue;
    }
    CLI::Option_group* g = nullptr;
    for (auto& [name, grp] : groups)
      if (name == d.group) g = grp;
    if (!g) {
      g = sub->add_option_group(d.group);
      groups.emplace_back(d.group, g);
    }
    d.add(g, d.names, t);
  }
}

}  // namespace rdbox::cli
