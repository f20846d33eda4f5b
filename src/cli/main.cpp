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
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  // A report written to a closed pipe must not kill rdbox and hide the command's status.
  // (The stub puts SIGPIPE back to the default for the command.)
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
}

struct RunArgs {
  std::string mode;
  std::string clone_flags;
  std::string stack_size;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string report = "text";
  bool ns[rdbox::kNamespaceCount] = {};
  bool unshare_all = false;
  std::string time_offset;
  std::vector<std::string> uid_maps, gid_maps, binds, ro_binds;
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
  if (!a.mode.empty()) {
    auto m = rdbox::parse_mode(a.mode);
    if (!m) return rdbox::Error::input("--mode", "unknown mode \"" + a.mode + "\" (want fork, vfork, clone or spawn)");
    spec.mode = *m;
    spec.mode_given = true;
  }
  if (!a.clone_flags.empty()) {
    auto f = rdbox::parse_clone_flags(a.clone_flags);
    if (!f) return f.error();
    spec.clone_flags = f.value();
  }
  if (!a.stack_size.empty()) {
    auto s = rdbox::parse_size(a.stack_size);
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
  for (const auto& b : a.binds) {
    auto r = rdbox::parse_bind(b, false);
    if (!r) return r.error();
    spec.binds.push_back(r.value());
  }
  for (const auto& b : a.ro_binds) {
    auto r = rdbox::parse_bind(b, true);
    if (!r) return r.error();
    spec.binds.push_back(r.value());
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

  int report_fd = 2;
  rdbox::Fd report_file;
  if (spec.report_file) {
    int fd = ::open(spec.report_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("--report-file \"" + *spec.report_file + "\": " + std::strerror(errno));
    report_file.reset(fd);
    report_fd = fd;
  }

  rdbox::SessionOptions opts;
  if (spec.report == rdbox::ReportFormat::text)
    opts.on_event = [report_fd](pid_t pid, const rdbox::ChildEvent& ev) {
      write_all(report_fd, rdbox::event_line(pid, ev) + "\n");
    };
  auto session = rdbox::Session::create(std::move(opts));
  if (!session) return fail(session.error().what());
  rdbox::Outcome out = session.value()->run(plan.value());
  session.value().reset();

  bool ran = out.kind == rdbox::OutcomeKind::exited || out.kind == rdbox::OutcomeKind::signaled;
  if (!ran) spdlog::debug("failed at step {}: {}", out.step, out.message);
  switch (spec.report) {
    case rdbox::ReportFormat::text:
      write_all(report_fd, rdbox::text_report(out) + "\n");
      // A failure is also said on stderr when the report goes to a file.
      if (!ran && report_fd != 2) write_all(2, rdbox::text_report(out) + "\n");
      break;
    case rdbox::ReportFormat::json:
      write_all(report_fd, rdbox::json_report(spec, &plan.value(), out) + "\n");
      if (!ran && report_fd != 2) write_all(2, rdbox::text_report(out) + "\n");
      break;
    case rdbox::ReportFormat::none:
      if (!ran) write_all(2, rdbox::text_report(out) + "\n");
      break;
  }
  return out.exit_code();
}

void add_command_options(CLI::App* sub, rdbox::Spec& spec, RunArgs& args) {
  sub->add_option("--clone-flags", args.clone_flags, "More clone flags: FILES,FS,IO,SYSVSEM,PIDFD,SIGHAND");
  sub->add_option("--stack-size", args.stack_size, "Clone stack size (K/M/G suffixes; default 64K, minimum 16K)");
  sub->add_option("--argv0", spec.argv0, "argv[0] for the command");
  sub->add_option("-e,--env", args.env, "Set KEY=VAL, or copy KEY from rdbox's environment (repeatable)");
  sub->add_option("--env-file", args.env_files, "Read KEY=VAL lines from FILE ('#' comments)");
  sub->add_flag("--clear-env", spec.clear_env, "Start the command's environment empty");
  sub->add_option("-w,--workdir", spec.workdir, "Working directory of the command");
  sub->add_option("--preserve-fds", spec.preserve_fds, "Pass fds 3..3+N-1 to the command");
  // Namespaces.
  for (std::size_t k = 0; k < rdbox::kNamespaceCount; ++k) {
    std::string opt = "--" + std::string(rdbox::kNamespaces[k].option);
    sub->add_flag(opt, args.ns[k], "New " + std::string(rdbox::kNamespaces[k].name) + " namespace")->group("Namespaces");
  }
  sub->add_flag("--unshare-all", args.unshare_all, "Every namespace kind")->group("Namespaces");
  sub->add_option("--time-offset", args.time_offset, "monotonic=S,boottime=S (implies --newtime)")->group("Namespaces");
  sub->add_flag("--init", spec.init, "rdbox's init at PID 1, the command at PID 2 (implies --newpid)")->group("Namespaces");
  sub->add_flag("--mount-proc", spec.mount_proc, "Mount a fresh /proc (automatic with --newpid and a new mount namespace)")
      ->group("Namespaces");
  sub->add_option("--hostname", spec.hostname, "Hostname inside (implies --newuts)")->group("Namespaces");
  sub->add_option("--uid-map", args.uid_maps, "\"INSIDE OUTSIDE COUNT\" (repeatable; implies --newuser)")->group("Namespaces");
  sub->add_option("--gid-map", args.gid_maps, "\"INSIDE OUTSIDE COUNT\" (repeatable; implies --newuser)")->group("Namespaces");
  sub->add_option("--user", args.user, "UID[:GID] to switch to inside, before exec")->group("Namespaces");
  // Root filesystem.
  sub->add_option("--rootfs", spec.rootfs, "New root (implies --newns): pivot_root into DIR")->group("Root filesystem");
  sub->add_flag("--overlay", spec.overlay, "Writes go to a tmpfs upper layer, never to --rootfs")->group("Root filesystem");
  sub->add_option("--bind", args.binds, "SRC[:DST] bind mount (repeatable)")->group("Root filesystem");
  sub->add_option("--ro-bind", args.ro_binds, "SRC[:DST] read-only bind mount (repeatable)")->group("Root filesystem");
  sub->add_option("--tmpfs", spec.tmpfs, "A tmpfs at DST (repeatable)")->group("Root filesystem");
  sub->add_flag("--read-only", spec.read_only, "Make the new root read-only")->group("Root filesystem");
}

struct CompareArgs {
  std::string modes;
  std::string rounds = "200";
  std::string rss;
  std::string format = "table";
};

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

// Where COMMAND starts in argv: after "--", or at the first word that is neither an
// option nor an option's value. CLI11 sees only what comes before it.
struct CommandSplit {
  int options_end;    // argv[first_option..options_end) are rdbox's
  int command_begin;  // argv[command_begin..argc) is the command
};
CommandSplit split_command(const CLI::App& app, const CLI::App& sub, int sub_index, int argc, char** argv) {
  int i = sub_index + 1;
  while (i < argc) {
    std::string a = argv[i];
    if (a == "--") return {i, i + 1};
    if (a.size() < 2 || a[0] != '-') return {i, i};
    bool attached = a.find('=') != std::string::npos || (a[1] != '-' && a.size() > 2);
    std::string name = a.substr(0, a.find('='));
    const CLI::Option* opt = sub.get_option_no_throw(name);
    if (!opt) opt = app.get_option_no_throw(name);
    bool takes_value = opt && opt->get_type_size() != 0 && !opt->get_callback_run() && opt->get_expected_min() > 0;
    if (opt && (opt->get_type_size() == 0 || opt->get_expected_max() == 0)) takes_value = false;
    i += (takes_value && !attached) ? 2 : 1;
  }
  return {argc, argc};
}

}  // namespace

int main(int argc, char** argv) {
  sanitize_process();

  // An unknown subcommand gets its own clear line rather than CLI11's "not expected".
  std::string chosen;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.empty() || a[0] == '-') continue;
    if (!is_subcommand(a)) return fail("unknown subcommand \"" + a + "\" (want run, compare or doctor)");
    chosen = a;
    break;
  }
  // CLI11 checks each new option against every earlier one: registering only the chosen
  // subcommand's options halves rdbox's start-up (all of them when none is chosen: help).
  bool all = chosen.empty();

  CLI::App app{"rdbox: launch a command with the process-creation primitive you choose, and say what happened"};
  app.name("rdbox");
  app.require_subcommand(1);
  app.set_version_flag("--version", "rdbox 0.1.0");
  LogArgs log;
  app.add_flag("-v,--verbose", log.verbose, "Log what rdbox does (repeat for more)");
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error or off");

  rdbox::Spec spec;
  RunArgs args;
  CLI::App* run = app.add_subcommand("run", "Run COMMAND with the chosen primitive and report the outcome");
  run->fallthrough();
  if (all || chosen == "run") {
  run->add_option("--mode", args.mode, "fork, vfork, clone (default) or spawn (posix_spawn)");
  run->add_flag("--vm", spec.vm, "Add CLONE_VM: the child shares rdbox's address space (implies --mode clone)");
  run->add_flag("--vfork", spec.vfork, "Add CLONE_VFORK: rdbox is suspended until the child execs (implies --mode clone)");
  add_command_options(run, spec, args);
  run->add_option("--report", args.report, "Outcome report: text (default), json or none");
  run->add_option("--report-file", spec.report_file, "Write the report to PATH instead of stderr");
  run->add_flag("--dry-run", spec.dry_run, "Print the resolved plan as JSON and exit without creating anything");
  }

  rdbox::CompareSpec cmp;
  RunArgs cmp_args;
  CompareArgs cargs;
  CLI::App* compare = app.add_subcommand(
      "compare", "Run COMMAND through every creation mode, interleaved, and show the contrast side by side");
  compare->fallthrough();
  if (all || chosen == "compare") {
  compare->add_option("--modes", cargs.modes,
                      "Comma list of fork, vfork, clone, clone-vm, clone-vm-vfork, spawn (default: all)");
  compare->add_option("-n", cargs.rounds, "Runs per mode (default 200)");
  compare->add_option("--rss", cargs.rss, "Grow rdbox's resident memory to SIZE first (K/M/G)");
  compare->add_option("--format", cargs.format, "table (default), json or csv");
  // Refused with a pointer to --modes, rather than CLI11's "not expected".
  compare->add_option("--mode", cmp_args.mode, "(use --modes)")->group("");
  compare->add_flag("--vm", cmp.base.vm, "(use --modes)")->group("");
  compare->add_flag("--vfork", cmp.base.vfork, "(use --modes)")->group("");
  add_command_options(compare, cmp.base, cmp_args);
  }

  CLI::App* doctor = app.add_subcommand("doctor", "Say what this host allows for sandboxes, and what to change");

  // Hand CLI11 rdbox's own words only; the command after them is taken verbatim.
  std::vector<char*> own(argv, argv + argc);
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == "run" || a == "compare") {
      CommandSplit split = split_command(app, a == "run" ? *run : *compare, i, argc, argv);
      own.assign(argv, argv + split.options_end);
      command.assign(argv + split.command_begin, argv + argc);
      break;
    }
  }
  try {
    app.parse(static_cast<int>(own.size()), own.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return fail(e.what());
  }
  setup_logging(log);

  if (run->parsed()) {
    spec.command = std::move(command);
    if ((spec.vm || spec.vfork) && args.mode.empty()) args.mode = "clone";
    return run_command(spec, args);
  }
  if (doctor->parsed()) {
    auto d = rdbox::doctor();
    write_all(1, d.text);
    return 0;
  }
  if (compare->parsed()) {
    cmp.base.command = std::move(command);
    return compare_command(cmp, cmp_args, cargs);
  }
  return fail("missing subcommand (want run, compare or doctor)");
}
