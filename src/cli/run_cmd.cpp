// rdbox run: the Spec from the CLI's words, the library's run, and the report written
// where the user asked (stderr, --report-file PATH or --report-fd N).
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>

#include "cli/cli.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/pipeline.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/report.hpp"
#include "rdbox/run.hpp"
#include "rdbox/seccomp.hpp"

extern char** environ;

namespace rdbox::cli {

namespace {

// An --env-file or --seccomp file larger than this is refused (read whole, before anything runs).
constexpr std::size_t kMaxEnvFileBytes = std::size_t{1} << 20;

// A regular file of at most kMaxEnvFileBytes, read without blocking: a FIFO with no
// writer or /dev/zero is refused instead of hanging or growing without bound.
rdbox::Expected<std::string> read_small_file(const std::string& path, const std::string& option) {
  if (path.empty()) return rdbox::Error::input(option, "must not be empty");
  std::string ctx = option + " \"" + path + "\"";
  rdbox::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return rdbox::Error::sys(ctx, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return rdbox::Error::sys(ctx, errno);
  if (!S_ISREG(st.st_mode)) return rdbox::Error::input(ctx, "not a regular file");
  std::string too_big = "larger than " + std::to_string(kMaxEnvFileBytes >> 20) + " MiB";
  if (static_cast<std::uint64_t>(st.st_size) > kMaxEnvFileBytes) return rdbox::Error::input(ctx, too_big);
  std::string text;
  char buf[8192];
  while (true) {  // the size may change while it is read: bound the read itself too
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return rdbox::Error::sys(ctx, errno);
    }
    if (text.size() + static_cast<std::size_t>(n) > kMaxEnvFileBytes) return rdbox::Error::input(ctx, too_big);
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
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

rdbox::Status finish_mode_and_sizes(rdbox::Spec& spec, const RunArgs& a) {
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
  auto r = rdbox::parse_report_format(a.report);
  if (!r) return rdbox::Error::input("--report", "unknown format \"" + a.report + "\" (want text, json or none)");
  spec.report = *r;
  return rdbox::ok();
}

rdbox::Status finish_sandbox(rdbox::Spec& spec, const RunArgs& a) {
  for (std::size_t k = 0; k < rdbox::kNamespaceCount; ++k)
    if (a.ns[k] || a.unshare_all) spec.namespaces |= rdbox::kNamespaces[k].flag;
  if (a.time_offset) {
    auto t = rdbox::parse_time_offsets(*a.time_offset);
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
  if (a.user) {
    auto u = rdbox::parse_user(*a.user);
    if (!u) return u.error();
    spec.user = u.value();
  }
  return rdbox::ok();
}

// --report-fd N: a descriptor the caller opened for writing. rdbox marks it close-on-exec
// (its own table entry only), so neither the command nor anything it starts holds it.
rdbox::Expected<int> report_fd(const RunArgs& a, const rdbox::Spec& spec) {
  const std::string& s = *a.report_fd;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || errno == ERANGE || n < 0 || n > 1'000'000 || s[0] == '-' || s[0] == '+')
    return rdbox::Error::input("--report-fd", "\"" + s + "\" is not a descriptor number (want N >= 0)");
  int fd = static_cast<int>(n);
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return rdbox::Error::input("--report-fd " + s, "descriptor " + s + " is not open");
  if ((fl & O_ACCMODE) == O_RDONLY)
    return rdbox::Error::input("--report-fd " + s, "descriptor " + s + " is open for reading only");
  if (spec.report_file) return rdbox::Error::input("--report-fd", "give --report-file or --report-fd, not both");
  if (fd >= 3 && fd < 3 + spec.preserve_fds)
    return rdbox::Error::input("--report-fd " + s, "descriptor " + s + " is also passed to the command by --preserve-fds");
  return fd;
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

void write_report(const rdbox::Spec& spec, const rdbox::Plan& plan, const rdbox::Outcome& out, ReportSink& sink) {
  bool ran = out.ran();
  if (!ran) spdlog::debug("failed at step {}: {}", out.step, out.message);
  switch (spec.report) {
    case rdbox::ReportFormat::text: sink.write(rdbox::text_report(out)); break;
    case rdbox::ReportFormat::json: sink.write(rdbox::json_report(spec, &plan, out)); break;
    case rdbox::ReportFormat::none: break;
  }
  // A failure is also said on stderr when the report goes elsewhere (or nowhere).
  if (!ran && (sink.fd != 2 || spec.report == rdbox::ReportFormat::none)) write_all(2, rdbox::text_report(out) + "\n");
  // So is a pipeline stage's (a command not found), as a shell says it whatever else it reports.
  if (ran && (sink.fd != 2 || spec.report == rdbox::ReportFormat::none))
    for (std::size_t k = 0; k < out.stages.size(); ++k)
      if (!out.stages[k].message.empty()) fail("stage " + std::to_string(k + 1) + ": " + out.stages[k].message);
}

}  // namespace

// "10", "10s", "500ms", "2m", "1h" → seconds; more than 0.
rdbox::Expected<double> parse_duration(const std::string& text, const std::string& option) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  double scale = unit.empty() || unit == "s" ? 1 : unit == "ms" ? 1e-3 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (text.empty() || end == text.c_str() || errno == ERANGE || scale < 0 || !(v > 0) || v * scale > 1e9)
    return rdbox::Error::input(option, "\"" + text + "\" is not a duration (want e.g. 10, 10s, 500ms, 2m, 1h)");
  return v * scale;
}

// "NOFILE=1024", "nofile=1024:4096", "AS=unlimited".
rdbox::Expected<rdbox::Rlimit> parse_rlimit(const std::string& text) {
  auto eq = text.find('=');
  int res = rdbox::rlimit_number(text.substr(0, eq));
  if (eq == std::string::npos || res < 0)
    return rdbox::Error::input("--rlimit", "\"" + text + "\" (want NAME=SOFT[:HARD], NAME one of NOFILE, NPROC, AS, ...)");
  auto number = [&](const std::string& v, std::uint64_t* out) {
    if (v == "unlimited" || v == "infinity") return *out = RLIM_INFINITY, true;
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end || errno == ERANGE || v[0] == '-' || v[0] == '+') return false;
    return *out = n, true;
  };
  std::string values = text.substr(eq + 1);
  auto colon = values.find(':');
  rdbox::Rlimit r{res, 0, 0};
  if (!number(values.substr(0, colon), &r.soft) ||
      !number(colon == std::string::npos ? values.substr(0, colon) : values.substr(colon + 1), &r.hard))
    return rdbox::Error::input("--rlimit", "\"" + text + "\": limits are numbers or \"unlimited\"");
  return r;
}

// --cap-add and --cap-drop as bit sets ("ALL" is every bit); to_config applies them to the
// run's base set (a container's default set, or every capability).
rdbox::Status capability_bits(const RunArgs& a, rdbox::Spec& spec) {
  std::uint64_t all = (std::uint64_t{1} << (CAP_LAST_CAP + 1)) - 1;
  for (const auto* list : {&a.cap_drop, &a.cap_add})
    for (const auto& name : *list) {
      const char* opt = list == &a.cap_add ? "--cap-add" : "--cap-drop";
      int cap = rdbox::capability_number(name);
      if (cap == -1) return rdbox::Error::input(opt, "unknown capability \"" + name + "\"");
      std::uint64_t bits = cap == -2 ? all : std::uint64_t{1} << cap;
      (list == &a.cap_add ? spec.cap_add : spec.cap_drop) |= bits;
    }
  return rdbox::ok();
}

// --memory, --memory-swap, --pids, --cpus, --cpu-weight, --cpu-shares, --cgroup-parent: one
// cgroup for the run when any is given.
rdbox::Status finish_cgroup(rdbox::Spec& spec, const RunArgs& a) {
  if (!a.memory && !a.memory_swap && !a.pids && !a.cpus && !a.cpu_weight && !a.cpu_shares && !a.cgroup_parent)
    return rdbox::ok();
  rdbox::CgroupConfig c;
  auto size = [](const std::string& text, const char* opt) -> rdbox::Expected<std::int64_t> {
    auto n = rdbox::parse_size(text);
    if (!n || n.value() > (std::size_t{1} << 62)) return rdbox::Error::input(opt, "\"" + text + "\" is not a size (want e.g. 512M, 2G)");
    return static_cast<std::int64_t>(n.value());
  };
  if (a.memory) {
    auto n = size(*a.memory, "--memory");
    if (!n) return n.error();
    c.memory_max = n.value();
  }
  if (a.memory_swap) {
    if (!a.memory) return rdbox::Error::input("--memory-swap", "needs --memory (it is memory plus swap)");
    if (*a.memory_swap == "-1") {
      c.memory_swap_max = -1;
    } else {
      auto n = size(*a.memory_swap, "--memory-swap");
      if (!n) return n.error();
      if (n.value() < *c.memory_max)
        return rdbox::Error::input("--memory-swap", "must be at least --memory (it is memory plus swap)");
      c.memory_swap_max = n.value();
    }
  }
  auto count = [](const std::string& text, const char* opt, std::uint64_t lo, std::uint64_t hi) {
    auto n = rdbox::parse_count(text, opt, hi);
    if (n && n.value() < lo)
      return rdbox::Expected<std::uint64_t>(rdbox::Error::input(opt, "must be from " + std::to_string(lo) + " to " + std::to_string(hi)));
    return n;
  };
  if (a.pids) {
    auto n = count(*a.pids, "--pids", 1, 4194304);
    if (!n) return n.error();
    c.pids_max = static_cast<std::int64_t>(n.value());
  }
  if (a.cpu_weight) {
    auto n = count(*a.cpu_weight, "--cpu-weight", 1, 10000);
    if (!n) return n.error();
    c.cpu_weight = n.value();
  }
  if (a.cpu_shares) {
    auto n = count(*a.cpu_shares, "--cpu-shares", 2, 262144);
    if (!n) return n.error();
    c.cpu_shares = n.value();
  }
  if (a.cpus) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(a.cpus->c_str(), &end);
    if (a.cpus->empty() || *end || errno == ERANGE || !(v >= 0.01) || v > 1024)
      return rdbox::Error::input("--cpus", "\"" + *a.cpus + "\" is not a number of CPUs from 0.01 to 1024");
    c.cpu_period_us = 100000;
    c.cpu_quota_us = static_cast<std::int64_t>(v * 100000.0 + 0.5);
  }
  if (a.cgroup_parent) {
    const std::string& p = *a.cgroup_parent;
    if (p.empty() || p.find('\0') != std::string::npos) return rdbox::Error::input("--cgroup-parent", "must be a path");
    for (const auto& part : {std::string("/../"), std::string("/./")})
      if (("/" + p + "/").find(part) != std::string::npos)
        return rdbox::Error::input("--cgroup-parent", "\"" + p + "\" must not hold . or .. components");
    c.parent = p;
  }
  c.origin = a.memory ? "--memory" : a.pids ? "--pids" : a.cpus ? "--cpus" : a.cpu_weight ? "--cpu-weight"
             : a.cpu_shares ? "--cpu-shares" : "--cgroup-parent";
  spec.cgroup = c;
  return rdbox::ok();
}

rdbox::Status finish_confinement(rdbox::Spec& spec, const RunArgs& a) {
  if (auto s = finish_cgroup(spec, a); !s) return s;
  if (auto s = capability_bits(a, spec); !s) return s;
  for (const auto& r : a.rlimits) {
    auto l = parse_rlimit(r);
    if (!l) return l.error();
    spec.rlimits.push_back(l.value());
  }
  if (a.seccomp && *a.seccomp == "default") {
    spec.seccomp_profile = std::string(rdbox::default_seccomp_profile());
    spec.seccomp_name = "default";
  } else if (a.seccomp && *a.seccomp == "unconfined") {
    spec.seccomp_name = "unconfined";
  } else if (a.seccomp) {
    auto text = read_small_file(*a.seccomp, "--seccomp");
    if (!text) return text.error();
    spec.seccomp_profile = text.value();
    spec.seccomp_name = *a.seccomp;
  }
  if (a.kill_after && !a.timeout) return rdbox::Error::input("--kill-after", "needs --timeout");
  for (auto [opt, value, out] : {std::tuple{"--timeout", &a.timeout, &spec.timeout_s},
                                 std::tuple{"--kill-after", &a.kill_after, &spec.kill_after_s}}) {
    if (!*value) continue;
    auto d = parse_duration(**value, opt);
    if (!d) return d.error();
    *out = d.value();
  }
  return rdbox::ok();
}

rdbox::Status finish_spec(rdbox::Spec& spec, const RunArgs& a) {
  if (auto s = finish_confinement(spec, a); !s) return s;
  if (a.preserve_fds) {
    const std::string& s = *a.preserve_fds;
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || errno == ERANGE || s[0] == '+' || s[0] == ' ' || n < 0 || n > rdbox::kMaxPreserveFds)
      return rdbox::Error::input("--preserve-fds", "\"" + s + "\" is not a count between 0 and " +
                                                       std::to_string(rdbox::kMaxPreserveFds));
    spec.preserve_fds = static_cast<int>(n);
  }
  if (auto s = finish_mode_and_sizes(spec, a); !s) return s;
  if (auto s = finish_sandbox(spec, a); !s) return s;
  for (const auto& path : a.env_files) {
    auto text = read_small_file(path, "--env-file");
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

rdbox::Expected<PreparedRun> prepare_run(rdbox::Spec& spec, RunArgs& args, bool pipeline, char** env,
                                         const rdbox::HostFacts* facts) {
  if (pipeline) {
    auto stages = rdbox::split_stages(spec.command);
    if (!stages) return stages.error();
    spec.pipeline = std::move(stages.value());
  }
  if (auto s = finish_spec(spec, args); !s) return s.error();
  if (auto v = spec.validate(); !v) return v.error();
  PreparedRun r;
  if (args.report_fd) {
    auto fd = report_fd(args, spec);
    if (!fd) return fd.error();
    r.report_fd = fd.value();
  }
  auto plan = facts ? rdbox::plan(spec, env, *facts) : rdbox::plan(spec, env);
  if (!plan) return plan.error();
  r.plan = std::move(plan.value());
  return r;
}

int run_command(rdbox::Spec& spec, RunArgs& args, bool pipeline) {
  auto prepared = prepare_run(spec, args, pipeline, environ);
  if (!prepared) return fail(prepared.error().what());
  int fd_given = prepared.value().report_fd;
  auto& plan = prepared.value().plan;
  log_plan(plan);
  if (spec.dry_run) {
    if (int e = write_all(1, rdbox::dry_run_json(spec, plan) + "\n"))
      return fail(std::string("--dry-run: writing to stdout: ") + std::strerror(e));
    return 0;
  }
  if (fd_given > 2) ::fcntl(fd_given, F_SETFD, FD_CLOEXEC);

  // The event sink writes to the report file, which must exist before the session runs
  // but only once everything else has been set up (nothing is left behind on an error).
  auto sink = std::make_shared<ReportSink>();
  sink->fd = fd_given >= 0 ? fd_given : 2;
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
  rdbox::Outcome out = session.value()->run(plan);
  write_report(spec, plan, out, *sink);
  // The command ran: its status stays the exit code, and a lost report is said once.
  if (sink->err && sink->fd != 2)
    fail(std::string(spec.report_file ? "--report-file \"" + *spec.report_file + "\"" : "--report-fd") + ": " +
         std::strerror(sink->err));
  return out.exit_code();
}

}  // namespace rdbox::cli
