// rdbox's command line: parse into a Spec, call the library, print the Report.
// Nothing after this file sees CLI11 types.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdbox/compare.hpp"
#include "rdbox/doctor.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/report.hpp"
#include "rdbox/run.hpp"
#include "rdbox/spec.hpp"

extern char** environ;

namespace {

constexpr int kRdboxFailed = 125;

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

int fail(const std::string& line) {
  write_all(2, "rdbox: " + line + "\n");
  return kRdboxFailed;
}

// An odd parent can leave signals ignored or blocked, or stdio closed: start clean, so
// that neither rdbox nor the command inherits it.
void sanitize_process() {
  for (int fd = 0; fd < 3; ++fd)
    if (::fcntl(fd, F_GETFD) < 0) {
      int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0 && null_fd != fd) {
        ::dup2(null_fd, fd);
        ::close(null_fd);
      }
    }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 65; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  // A report written to a closed pipe must not kill rdbox and hide the command's status.
  // SIGPIPE is blocked, not ignored: an ignored signal would be inherited by the command
  // (and, under CLONE_SIGHAND, reset under rdbox's feet by the stub); a blocked one stays
  // pending here and the command starts with an empty mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
}

struct RunArgs {
  std::optional<std::string> mode;
  std::optional<std::string> clone_flags;
  std::optional<std::string> stack_size;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string report = "text";
  bool ns[rdbox::kNamespaceCount] = {};
  bool unshare_all = false;
  std::string time_offset;
  std::vector<std::string> uid_maps, gid_maps, binds, ro_binds, tmpfs;
  // --bind, --ro-bind and --tmpfs as given, in order: mounts apply in this order.
  std::vector<std::pair<std::string, std::string>> mounts_in_order;
  std::string user;
};

struct LogArgs {
  int verbose = 0;
  std::string level;
};

rdbox::Expected<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return rdbox::Error::sys("--env-file \"" + path + "\"", errno);
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return rdbox::Error::sys("--env-file \"" + path + "\"", e);
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Fills the Spec fields that need more than a bind: mode, sizes, env sources.
rdbox::Status finish_spec(rdbox::Spec& spec, const RunArgs& a) {
  if (a.mode) {
    auto m = rdbox::parse_mode(*a.mode);
    if (!m) return rdbox::Error::input("--mode", "unknown mode \"" + *a.mode + "\" (want fork, vfork, clone or spawn)");
    spec.mode = *m;
    spec.mode_given = true;
  }
  if (a.clone_flags) {
    auto f = rdbox::parse_clone_flags(*a.clone_flags);
    if (!f) return f.error();
    spec.clone_flags = f.value();
  }
  if (a.stack_size) {
    auto s = rdbox::parse_size(*a.stack_size);
    if (!s) return rdbox::Error::input("--stack-size", s.error().what());
    spec.stack_size = s.value();
    spec.stack_size_given = true;
  }
  for (std::size_t k = 0; k < rdbox::kNamespaceCount; ++k)
    if (a.ns[k] || a.unshare_all) spec.namespaces |= rdbox::kNamespaces[k].flag;
  if (!a.time_offset.empty()) {
    auto t = rdbox::parse_time_offsets(a.time_offset);
    if (!t) return t.error();
    spec.time_offsets = t.value();
  }
  for (const auto& m : a.uid_maps) {
    auto r = rdbox::parse_id_map(m);
    if (!r) return rdbox::Error::input("--uid-map", r.error().what());
    spec.uid_maps.push_back(r.value());
  }
  for (const auto& m : a.gid_maps) {
    auto r = rdbox::parse_id_map(m);
    if (!r) return rdbox::Error::input("--gid-map", r.error().what());
    spec.gid_maps.push_back(r.value());
  }
  for (const auto& [opt, value] : a.mounts_in_order) {
    auto r = opt == "--tmpfs" ? rdbox::parse_tmpfs(value) : rdbox::parse_bind(value, opt == "--ro-bind");
    if (!r) return r.error();
    spec.mounts.push_back(std::move(r.value()));
  }
  if (!a.user.empty()) {
    auto u = rdbox::parse_user(a.user);
    if (!u) return u.error();
    spec.user = u.value();
  }
  auto r = rdbox::parse_report_format(a.report);
  if (!r) return rdbox::Error::input("--report", "unknown format \"" + a.report + "\" (want text, json or none)");
  spec.report = *r;
  for (const auto& path : a.env_files) {
    auto text = read_file(path);
    if (!text) return text.error();
    auto entries = rdbox::parse_env_file(text.value(), path);
    if (!entries) return entries.error();
    for (auto& e : entries.value()) spec.env.push_back(std::move(e));
  }
  for (const auto& arg : a.env) {
    auto e = rdbox::parse_env_arg(arg);
    if (!e) return e.error();
    spec.env.push_back(std::move(e.value()));
  }
  return rdbox::ok();
}

bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"})
    if (level == l) return true;
  return false;
}

void setup_logging(const LogArgs& log) {
  if (log.verbose == 0 && log.level.empty()) {
    spdlog::set_level(spdlog::level::off);
    return;
  }
  auto logger = spdlog::stderr_logger_st("rdbox");
  logger->set_pattern("rdbox: [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum lvl = log.verbose >= 2 ? spdlog::level::trace : spdlog::level::debug;
  if (!log.level.empty()) lvl = spdlog::level::from_str(log.level);
  spdlog::set_level(lvl);
}

void log_plan(const rdbox::Plan& p) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  std::string flags;
  for (const auto& n : rdbox::clone_flag_names(rdbox::primitive_clone_flags(p.mode, p.clone_flags)))
    flags += (flags.empty() ? "" : "|") + n;
  spdlog::debug("mode {} flags {} stack {} bytes", rdbox::to_string(p.mode), flags.empty() ? "-" : flags, p.stack_size);
  for (const auto& c : p.candidate_store) spdlog::debug("exec candidate {}", c);
  spdlog::debug("{} environment variables, workdir {}, preserved fds {}", p.env_store.size(),
                p.workdir.empty() ? "(inherited)" : p.workdir, p.preserved.size());
}

int run_command(rdbox::Spec& spec, const RunArgs& args) {
  if (auto s = finish_spec(spec, args); !s) return fail(s.error().what());
  if (auto v = spec.validate(); !v) return fail(v.error().what());

  auto plan = rdbox::plan(spec, environ);
  if (!plan) return fail(plan.error().what());
  log_plan(plan.value());
  if (spec.dry_run) {
    write_all(1, rdbox::dry_run_json(spec, plan.value()) + "\n");
    return 0;
  }

  // The event sink writes to the report file, which must exist before the session runs
  // but only once everything else has been set up (nothing is left behind on an error).
  auto report_fd = std::make_shared<int>(2);
  rdbox::SessionOptions opts;
  opts.forward_signals = opts.reap_orphans = opts.watch_stops = true;  // the CLI owns its process
  if (spec.report == rdbox::ReportFormat::text)
    opts.on_event = [report_fd](pid_t pid, const rdbox::ChildEvent& ev) {
      write_all(*report_fd, rdbox::event_line(pid, ev) + "\n");
    };
  auto session = rdbox::Session::create(std::move(opts));
  if (!session) return fail(session.error().what());
  rdbox::Fd report_file;
  if (spec.report_file) {
    int fd = ::open(spec.report_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("--report-file \"" + *spec.report_file + "\": " + std::strerror(errno));
    report_file.reset(fd);
    *report_fd = fd;
  }
  rdbox::Outcome out = session.value()->run(plan.value());
  int report_out = *report_fd;

  bool ran = out.kind == rdbox::OutcomeKind::exited || out.kind == rdbox::OutcomeKind::signaled;
  if (!ran) spdlog::debug("failed at step {}: {}", out.step, out.message);
  switch (spec.report) {
    case rdbox::ReportFormat::text:
      write_all(report_out, rdbox::text_report(out) + "\n");
      // A failure is also said on stderr when the report goes to a file.
      if (!ran && report_out != 2) write_all(2, rdbox::text_report(out) + "\n");
      break;
    case rdbox::ReportFormat::json:
      write_all(report_out, rdbox::json_report(spec, &plan.value(), out) + "\n");
      if (!ran && report_out != 2) write_all(2, rdbox::text_report(out) + "\n");
      break;
    case rdbox::ReportFormat::none:
      if (!ran) write_all(2, rdbox::text_report(out) + "\n");
      break;
  }
  return out.exit_code();
}

struct CompareArgs {
  std::string modes;
  std::string rounds = "200";
  std::string rss;
  std::string format = "table";
};


// Every option of run and compare, in one table: its CLI11 names, whether it takes a
// value, where it applies, and how it binds to the Spec. rdbox registers with CLI11 only
// the options a command line uses (all of them for --help): CLI11 checks each new option
// against every earlier one, and registering forty options costs more than the rest of
// rdbox's start-up.
struct Targets {
  rdbox::Spec& spec;
  RunArgs& args;
  CompareArgs& cmp;
};
enum : unsigned { kRun = 1, kCompare = 2, kBoth = 3 };
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
    RDBOX_OPT("--preserve-fds", true, kBoth, "Command", a->add_option(n, t.spec.preserve_fds, "Pass fds 3..3+N-1 to the command")),
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

// Where COMMAND starts: after "--", or at the first word that is neither an option nor
// an option's value. CLI11 sees only what comes before it.
struct CommandSplit {
  int options_end;
  int command_begin;
};
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

// The mount options in the order the user gave them (CLI11 keeps one list per option).
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

int compare_command(rdbox::CompareSpec& cmp, RunArgs& args, const CompareArgs& c) {
  if (auto s = finish_spec(cmp.base, args); !s) return fail(s.error().what());
  cmp.base.report = rdbox::ReportFormat::none;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(c.rounds.c_str(), &end, 10);
  if (c.rounds.empty() || *end || errno == ERANGE || n < 1 || n > 1'000'000)
    return fail("-n: \"" + c.rounds + "\" is not a count between 1 and 1000000");
  cmp.rounds = static_cast<int>(n);
  if (!c.rss.empty() && c.rss != "0") {  // 0: do not grow
    auto r = rdbox::parse_size(c.rss);
    if (!r) return fail("--rss: " + r.error().what());
    cmp.rss = r.value();
  }
  if (c.format == "table") cmp.format = rdbox::CompareFormat::table;
  else if (c.format == "json") cmp.format = rdbox::CompareFormat::json;
  else if (c.format == "csv") cmp.format = rdbox::CompareFormat::csv;
  else return fail("--format: unknown format \"" + c.format + "\" (want table, json or csv)");
  std::string_view list = c.modes;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string m(list.substr(0, comma));
    if (!m.empty()) cmp.modes.push_back(m);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!c.modes.empty() && cmp.modes.empty()) return fail("--modes: empty list");
  if (auto v = cmp.validate(); !v) return fail(v.error().what());
  cmp.progress = ::isatty(2);
  auto result = rdbox::compare(cmp);
  if (!result) return fail(result.error().what());
  std::string text;
  switch (cmp.format) {
    case rdbox::CompareFormat::table: text = rdbox::format_table(cmp, result.value()); break;
    case rdbox::CompareFormat::json: text = rdbox::format_json(cmp, result.value()) + "\n"; break;
    case rdbox::CompareFormat::csv: text = rdbox::format_csv(result.value()); break;
  }
  write_all(1, text);
  return 0;
}

bool is_subcommand(const std::string& s) { return s == "run" || s == "compare" || s == "doctor"; }

}  // namespace

int main(int argc, char** argv) {
  sanitize_process();
  // CLI11 reports --version with an exception; the first throw in a static binary costs
  // more than a whole run. Answer it here.
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    write_all(1, "rdbox 0.1.0\n");
    return 0;
  }

  // An unknown subcommand gets its own clear line rather than CLI11's "not expected".
  std::string chosen;
  int sub_index = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    if (!is_subcommand(a)) return fail("unknown subcommand \"" + a + "\" (want run, compare or doctor)");
    chosen = a;
    sub_index = i;
    break;
  }

  // Hand CLI11 rdbox's own words only; the command after them is taken verbatim.
  std::vector<char*> own(argv, argv + argc);
  std::vector<std::string> command;
  unsigned where = chosen == "run" ? unsigned{kRun} : chosen == "compare" ? unsigned{kCompare} : 0u;
  if (where) {
    CommandSplit split = split_command(sub_index, where, argc, argv);
    own.assign(argv, argv + split.options_end);
    command.assign(argv + split.command_begin, argv + argc);
  }
  bool help = chosen.empty();
  for (char* w : own)
    if (std::string_view(w) == "-h" || std::string_view(w) == "--help") help = true;

  CLI::App app{"rdbox: launch a command with the process-creation primitive you choose, and say what happened"};
  app.name("rdbox");
  app.require_subcommand(1);
  app.set_version_flag("--version", "rdbox 0.1.0");
  LogArgs log;
  app.add_flag("-v,--verbose", log.verbose, "Log what rdbox does (repeat for more)");
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error or off");

  rdbox::Spec spec;
  RunArgs args;
  CompareArgs cargs;
  rdbox::CompareSpec cmp;
  Targets run_targets{spec, args, cargs};
  Targets cmp_targets{cmp.base, args, cargs};
  CLI::App* run = app.add_subcommand("run", "Run COMMAND with the chosen primitive and report the outcome");
  run->fallthrough();
  if (help || chosen == "run") register_options(run, kRun, run_targets, own, help);
  CLI::App* compare = app.add_subcommand(
      "compare", "Run COMMAND through every creation mode, interleaved, and show the contrast side by side");
  compare->fallthrough();
  if (help || chosen == "compare") register_options(compare, kCompare, cmp_targets, own, help);
  CLI::App* doctor = app.add_subcommand("doctor", "Say what this host allows for sandboxes, and what to change");

  try {
    app.parse(static_cast<int>(own.size()), own.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return fail(e.what());
  }
  if (!log.level.empty() && !valid_log_level(log.level))
    return fail("--log-level: unknown level \"" + log.level + "\" (want trace, debug, info, warn, error or off)");
  setup_logging(log);

  args.mounts_in_order = mounts_in_order(own, sub_index + 1, where);
  if (run->parsed()) {
    spec.command = std::move(command);
    if ((spec.vm || spec.vfork) && !args.mode) args.mode = "clone";
    return run_command(spec, args);
  }
  if (doctor->parsed()) {
    auto d = rdbox::doctor();
    write_all(1, d.text);
    return 0;  // a report, not a verdict: problems are listed in it
  }
  if (compare->parsed()) {
    cmp.base.command = std::move(command);
    if (args.mode) cmp.base.mode_given = true;
    return compare_command(cmp, args, cargs);
  }
  return fail("missing subcommand (want run, compare or doctor)");
}
