// rdbox's command line: parse into a Spec, call the library, print the Report.
// Nothing after src/cli sees CLI11 types; the files here are described in cli.hpp.
#include <fcntl.h>
#include <sys/resource.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/compare.hpp"
#include "rdbox/doctor.hpp"
#include "rdbox/spec.hpp"

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

// The parsed command line, run.
int run_command_line(CommandLine& cl) {
  using Action = CommandLine::Action;
  if (cl.action == Action::help) return print(cl.text, "--help");
  setup_logging(cl.log);
  switch (cl.action) {
    case Action::version: return print(version_text(), "--version");
    case Action::run: return run_command(cl.spec, cl.args);
    case Action::pipeline: return pipeline_command(cl.spec, cl.args);
    case Action::compare: return compare_command(cl.cmp, cl.args, cl.cargs);
    case Action::doctor: return print(rdbox::doctor().text, "doctor");  // a report: problems are listed in it
    case Action::help:
    case Action::overview: break;
  }
  // No subcommand (bare rdbox, or only options such as `rdbox -v`): the overview. It ran
  // nothing: like git or ip without a subcommand, not 0.
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
  if (argc == 2 && std::string_view(argv[1]) == "--version") return print(version_text(), "--version");
  if (is_oci_invocation(argc, argv)) return oci_main(argc, argv);
  // On the heap: a few KiB (more with ASan's redzones), and main's frame is allocated
  // before the RLIMIT_STACK check above can refuse a tiny stack.
  auto cl = std::make_unique<CommandLine>();
  if (auto s = parse_command_line(argc, argv, *cl); !s) return fail(s.error().what());
  return run_command_line(*cl);
}
