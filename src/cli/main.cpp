// rdbox's command line: parse (src/cli/parse.cpp), call the library, print the Report.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "cli/parse.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/compare.hpp"
#include "rdbox/doctor.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/report.hpp"
#include "rdbox/run.hpp"

extern char** environ;

namespace {

constexpr int kRdboxFailed = 125;

// 0, or the errno of the write that failed.
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

// One error, one line: control characters from the input are escaped.
int fail(const std::string& line) {
  write_all(2, "rdbox: " + rdbox::one_line(line) + "\n");
  return kRdboxFailed;
}

// Output to stdout that did not get there is a failure of rdbox (exit 125).
int print(const std::string& text, const char* what) {
  if (int e = write_all(1, text)) return fail(std::string(what) + ": writing to stdout: " + std::strerror(e));
  return 0;
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
  // A report written to a closed pipe, or past RLIMIT_FSIZE, must not kill rdbox and
  // hide the command's status: the write fails with EPIPE or EFBIG instead.
  // SIGPIPE and SIGXFSZ are blocked, not ignored: an ignored signal would be inherited by
  // the command (and, under CLONE_SIGHAND, reset under rdbox's feet by the stub); a
  // blocked one stays pending here and the command starts with an empty mask.
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

void setup_logging(const rdbox::cli::LogOptions& log) {
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

// The report file: created when missing, emptied only when it is a regular file. Never
// through a symbolic link (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK), never
// truncating a device (O_TRUNC only by ftruncate, after the check).
rdbox::Expected<rdbox::Fd> open_report_file(const std::string& path) {
  std::string ctx = "--report-file \"" + path + "\"";
  rdbox::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644));
  if (!fd && errno == ELOOP) return rdbox::Error::input(ctx, "is a symbolic link (refused: never written through a link)");
  if (!fd && errno == ENXIO) return rdbox::Error::input(ctx, "not a regular file");  // FIFO or socket
  if (!fd) return rdbox::Error::sys(ctx, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return rdbox::Error::sys(ctx, errno);
  if (!S_ISREG(st.st_mode)) return rdbox::Error::input(ctx, "not a regular file");
  // Another name for the same file (a hard link planted in a shared directory) would
  // have rdbox overwrite what that name holds.
  if (st.st_nlink > 1) return rdbox::Error::input(ctx, "has other hard links (refused)");
  if (::ftruncate(fd.get(), 0) != 0 || ::fcntl(fd.get(), F_SETFL, 0) != 0) return rdbox::Error::sys(ctx, errno);
  return fd;
}

// Where the report goes, and the first write that failed there.
struct ReportSink {
  int fd = 2;
  int err = 0;
  void write(const std::string& line) {
    if (int e = write_all(fd, line + "\n"); e && !err) err = e;
  }
};

void write_report(const rdbox::Spec& spec, const rdbox::Plan& plan, const rdbox::Outcome& out, ReportSink& sink) {
  bool ran = out.kind == rdbox::OutcomeKind::exited || out.kind == rdbox::OutcomeKind::signaled;
  if (!ran) spdlog::debug("failed at step {}: {}", out.step, out.message);
  switch (spec.report) {
    case rdbox::ReportFormat::text: sink.write(rdbox::text_report(out)); break;
    case rdbox::ReportFormat::json: sink.write(rdbox::json_report(spec, &plan, out)); break;
    case rdbox::ReportFormat::none: break;
  }
  // A failure is also said on stderr when the report goes elsewhere (or nowhere).
  if (!ran && (sink.fd != 2 || spec.report == rdbox::ReportFormat::none))
    write_all(2, rdbox::text_report(out) + "\n");
}

int run_command(const rdbox::Spec& spec) {
  auto plan = rdbox::plan(spec, environ);
  if (!plan) return fail(plan.error().what());
  log_plan(plan.value());
  if (spec.dry_run) return print(rdbox::dry_run_json(spec, plan.value()) + "\n", "--dry-run");

  // The event sink writes to the report file, which must exist before the session runs
  // but only once everything else has been set up (nothing is left behind on an error).
  auto sink = std::make_shared<ReportSink>();
  rdbox::SessionOptions opts;
  opts.forward_signals = opts.reap_orphans = opts.watch_stops = true;  // the CLI owns its process
  if (spec.report == rdbox::ReportFormat::text)
    opts.on_event = [sink](pid_t pid, const rdbox::ChildEvent& ev) { sink->write(rdbox::event_line(pid, ev)); };
  auto session = rdbox::Session::create(std::move(opts));
  if (!session) return fail(session.error().what());
  rdbox::Fd report_file;
  if (spec.report_file) {
    auto f = open_report_file(*spec.report_file);
    if (!f) return fail(f.error().what());
    report_file = std::move(f.value());
    sink->fd = report_file.get();
  }
  rdbox::Outcome out = session.value()->run(plan.value());
  write_report(spec, plan.value(), out, *sink);
  // The command ran: its status stays the exit code, and a lost report is said once.
  if (sink->err && sink->fd != 2)
    fail("--report-file \"" + *spec.report_file + "\": " + std::strerror(sink->err));
  return out.exit_code();
}

int compare_command(rdbox::CompareSpec& cmp) {
  cmp.progress = ::isatty(2);
  auto result = rdbox::compare(cmp);
  if (!result) return fail(result.error().what());
  switch (cmp.format) {
    case rdbox::CompareFormat::table: return print(rdbox::format_table(cmp, result.value()), "compare");
    case rdbox::CompareFormat::json: return print(rdbox::format_json(cmp, result.value()) + "\n", "compare");
    case rdbox::CompareFormat::csv: return print(rdbox::format_csv(result.value()), "compare");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sanitize_process();
  if (stack_limit_too_small())
    return fail("RLIMIT_STACK: the soft limit is below rdbox's minimum of " + std::to_string(kMinStackLimit >> 10) +
                " KiB (raise it, e.g. ulimit -s " + std::to_string(kMinStackLimit >> 10) + ")");
  // CLI11 reports --version with an exception; the first throw in a static binary costs
  // more than a whole run. Answer it here.
  if (argc == 2 && std::string_view(argv[1]) == "--version") return print("rdbox 0.1.0\n", "--version");

  auto cl = std::make_unique<rdbox::cli::CommandLine>();
  if (auto s = rdbox::cli::parse_command_line(argc, argv, *cl); !s) return fail(s.error().what());
  if (cl->action == rdbox::cli::CommandLine::Action::print) {
    if (int rc = print(cl->text, "--help")) return rc;
    return cl->exit_code;
  }
  setup_logging(cl->log);
  switch (cl->action) {
    case rdbox::cli::CommandLine::Action::run: return run_command(cl->spec);
    case rdbox::cli::CommandLine::Action::compare: return compare_command(cl->compare);
    case rdbox::cli::CommandLine::Action::doctor:
      // A report, not a verdict: problems are listed in it.
      return print(rdbox::doctor().text, "doctor");
    case rdbox::cli::CommandLine::Action::print: break;
  }
  return kRdboxFailed;
}
