// rdbox's command line: parse into a Spec, call the library, print the Report.
// Nothing after src/cli sees CLI11 types; the files here are described in cli.hpp.
#include <fcntl.h>
#include <sys/resource.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/compare.hpp"
#include "rdbox/doctor.hpp"
#include "rdbox/spec.hpp"

namespace rdbox::cli {

int write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

int fail(const std::string& line) {
  write_all(2, "rdbox: " + rdbox::one_line(line) + "\n");
  return kRdboxFailed;
}

int print(const std::string& text, const char* what) {
  if (int e = write_all(1, text)) return fail(std::string(what) + ": writing to stdout: " + std::strerror(e));
  return 0;
}

}  // namespace rdbox::cli

namespace {

using namespace rdbox::cli;

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
  // SIGXFSZ likewise: a report past RLIMIT_FSIZE fails with EFBIG instead of killing rdbox.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGPIPE);
  sigaddset(&mask, SIGXFSZ);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
}

// rdbox's own stack is the main thread's: below this soft RLIMIT_STACK, parsing and
// reporting could overflow it and rdbox would die of SIGSEGV instead of saying why.
constexpr rlim_t kMinStackLimit = 256 * 1024;
bool stack_limit_too_small() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_STACK, &rl) != 0) return false;
  return rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < kMinStackLimit;
}

struct LogArgs {
  int verbose = 0;
  std::optional<std::string> level;  // given empty is an error, not "not given"
};

bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"})
    if (level == l) return true;
  return false;
}

void setup_logging(const LogArgs& log) {
  if (log.verbose == 0 && !log.level) {
    spdlog::set_level(spdlog::level::off);
    return;
  }
  auto logger = spdlog::stderr_logger_st("rdbox");
  logger->set_pattern("rdbox: [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum lvl = log.verbose >= 2 ? spdlog::level::trace : spdlog::level::debug;
  if (log.level) lvl = spdlog::level::from_str(*log.level);
  spdlog::set_level(lvl);
}

bool is_subcommand(const std::string& s) { return s == "run" || s == "compare" || s == "pipeline" || s == "doctor"; }

// The subcommand's index in argv (-1 when none), or an error line for an unknown one.
int find_subcommand(int argc, char** argv, std::string* chosen, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    if (!is_subcommand(a)) {
      *error = "unknown subcommand \"" + a + "\" (want run, compare, pipeline or doctor)";
      return -1;
    }
    *chosen = a;
    return i;
  }
  return -1;
}

// CLI11 over rdbox's own words (`own`; the subcommand at own[sub_index]), then the
// subcommand with `command`.
int parse_and_run(const std::string& chosen, int sub_index, unsigned where, std::vector<char*>& own,
                  std::vector<std::string>& command) {
  bool help = chosen.empty();
  for (char* w : own)
    if (std::string_view(w) == "-h" || std::string_view(w) == "--help") help = true;

  CLI::App app{"rdbox: launch a command with the process-creation primitive you choose, and say what happened"};
  app.name("rdbox");
  app.require_subcommand(0, 1);  // none: --version, or the overview
  LogArgs log;
  app.add_flag("-v,--verbose", log.verbose, "Log what rdbox does (repeat for more)");
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error or off")->type_name("LEVEL");
  bool version = false;  // answered before parsing when alone; here in any other place
  app.add_flag("--version", version, "Print the version and the git revision, and exit");

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
  CLI::App* pipeline = app.add_subcommand(
      "pipeline", "Run commands joined by pipes in one sandbox, and report every stage's status");
  pipeline->fallthrough();
  if (help || chosen == "pipeline") register_options(pipeline, kPipelineCmd, run_targets, own, help);
  CLI::App* doctor = app.add_subcommand("doctor", "Say what this host allows for sandboxes, and what to change");
  if (help) decorate_help(app, run, compare, pipeline, doctor);

  try {
    app.parse(static_cast<int>(own.size()), own.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return fail(e.what());
  }
  if (log.level && !valid_log_level(*log.level))
    return fail("--log-level: unknown level \"" + *log.level + "\" (want trace, debug, info, warn, error or off)");
  setup_logging(log);
  if (version) {
    return print(version_text(), "--version");
    return 0;
  }

  args.mounts_in_order = mounts_in_order(own, sub_index + 1, where);
  if (run->parsed()) {
    spec.command = std::move(command);
    if ((spec.vm || spec.vfork) && !args.mode) args.mode = "clone";
    return run_command(spec, args);
  }
  if (pipeline->parsed()) {
    spec.command = std::move(command);  // the stages, as given
    if ((spec.vm || spec.vfork) && !args.mode) args.mode = "clone";
    return pipeline_command(spec, args);
  }
  if (doctor->parsed()) {
    return print(rdbox::doctor().text, "doctor");
    return 0;  // a report, not a verdict: problems are listed in it
  }
  if (compare->parsed()) {
    cmp.base.command = std::move(command);
    if (args.mode) cmp.base.mode_given = true;
    return compare_command(cmp, args, cargs);
  }
  // Only options (say `rdbox -v`), no subcommand: the overview, as bare rdbox.
  write_all(1, overview_text());
  return kRdboxFailed;
}

}  // namespace

int main(int argc, char** argv) {
  sanitize_process();
  if (stack_limit_too_small())
    return fail("RLIMIT_STACK: the soft limit is below rdbox's minimum of " + std::to_string(kMinStackLimit >> 10) +
                " KiB (raise it, e.g. ulimit -s " + std::to_string(kMinStackLimit >> 10) + ")");
  // CLI11 reports --version with an exception; the first throw in a static binary costs
  // more than a whole run. Answer it here.
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    return print(version_text(), "--version");
    return 0;
  }
  if (is_oci_invocation(argc, argv)) return oci_main(argc, argv);
  std::string chosen, error;
  int sub_index = find_subcommand(argc, argv, &chosen, &error);
  if (!error.empty()) return fail(error);
  if (argc == 1) {
    write_all(1, overview_text());
    return kRdboxFailed;  // it ran nothing: like git or ip without a subcommand, not 0
  }

  // Every word before the command must be an option rdbox knows; CLI11 gets rdbox's own
  // words only, and the command after them is taken verbatim.
  std::vector<char*> own(argv, argv + argc);
  std::vector<std::string> command;
  unsigned where = chosen == "run"        ? unsigned{kRun}
                   : chosen == "compare"  ? unsigned{kCompare}
                   : chosen == "pipeline" ? kPipelineCmd
                                          : 0u;
  if (auto bad = unknown_option(1, sub_index < 0 ? argc : sub_index, 0, argv)) return fail(*bad);
  if (where) {
    CommandSplit split = split_command(sub_index, where, argc, argv);
    if (auto bad = unknown_option(sub_index + 1, split.options_end, where, argv)) return fail(*bad);
    own.assign(argv, argv + split.options_end);
    command.assign(argv + split.command_begin, argv + argc);
  } else if (sub_index >= 0) {
    if (auto bad = unknown_option(sub_index + 1, argc, 0, argv)) return fail(*bad);
  }
  return parse_and_run(chosen, sub_index, where, own, command);
}
