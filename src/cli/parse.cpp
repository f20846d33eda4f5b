// The command line → a validated Spec or CompareSpec. CLI11's exceptions stop here.
#include "cli/parse.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "cli/options.hpp"
#include "rdbox/fd.hpp"

namespace rdbox::cli {

Expected<std::string> read_env_file(const std::string& path) {
  if (path.empty()) return Error::input("--env-file", "must not be empty");
  std::string ctx = "--env-file \"" + path + "\"";
  // O_NONBLOCK: a FIFO with no writer must not hang the open (it is refused below).
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return Error::sys(ctx, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::sys(ctx, errno);
  if (!S_ISREG(st.st_mode)) return Error::input(ctx, "not a regular file");
  std::string too_big = "larger than " + std::to_string(kMaxEnvFileBytes >> 20) + " MiB";
  if (static_cast<std::uint64_t>(st.st_size) > kMaxEnvFileBytes) return Error::input(ctx, too_big);
  std::string text;
  char buf[8192];
  while (true) {  // the size may change while it is read: bound the read itself too
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(ctx, errno);
    }
    if (text.size() + static_cast<std::size_t>(n) > kMaxEnvFileBytes) return Error::input(ctx, too_big);
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

namespace {

bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"})
    if (level == l) return true;
  return false;
}

// Mode, clone flags, stack size, preserved fds: the process-creation options.
Status finish_creation(Spec& spec, const RunArgs& a) {
  if (a.mode) {
    auto m = parse_mode(*a.mode);
    if (!m) return Error::input("--mode", "unknown mode \"" + *a.mode + "\" (want fork, vfork, clone or spawn)");
    spec.mode = *m;
    spec.mode_given = true;
  }
  if (a.clone_flags) {
    auto f = parse_clone_flags(*a.clone_flags);
    if (!f) return f.error();
    spec.clone_flags = f.value();
  }
  if (a.stack_size) {
    auto s = parse_size(*a.stack_size);
    if (!s) return Error::input("--stack-size", s.error().what());
    spec.stack_size = s.value();
    spec.stack_size_given = true;
  }
  if (a.preserve_fds) {  // a number, even an empty one; validate() checks the range
    std::string_view t = *a.preserve_fds;
    bool neg = !t.empty() && t[0] == '-';
    auto n = parse_count(neg ? t.substr(1) : t, "--preserve-fds", ~std::uint64_t{0});
    if (!n) return Error::input("--preserve-fds", "\"" + *a.preserve_fds + "\" is not a number");
    std::uint64_t v = std::min<std::uint64_t>(n.value(), kMaxPreserveFds + 1);
    spec.preserve_fds = neg && v ? -1 : static_cast<int>(v);
  }
  auto r = parse_report_format(a.report);
  if (!r) return Error::input("--report", "unknown format \"" + a.report + "\" (want text, json or none)");
  spec.report = *r;
  return ok();
}

// Namespaces, id maps, time offsets, user, binds: the sandbox options.
Status finish_sandbox(Spec& spec, const RunArgs& a) {
  for (std::size_t k = 0; k < kNamespaceCount; ++k)
    if (a.ns[k] || a.unshare_all) spec.namespaces |= kNamespaces[k].flag;
  if (a.time_offset) {
    auto t = parse_time_offsets(*a.time_offset);
    if (!t) return t.error();
    spec.time_offsets = t.value();
  }
  for (const auto& [maps, out, opt] : {std::tuple{&a.uid_maps, &spec.uid_maps, "--uid-map"},
                                       std::tuple{&a.gid_maps, &spec.gid_maps, "--gid-map"}})
    for (const auto& m : *maps) {
      auto r = parse_id_map(m);
      if (!r) return Error::input(opt, r.error().what());
      out->push_back(r.value());
    }
  for (const auto& [opt, value] : a.mounts_in_order) {
    auto r = opt == "--tmpfs" ? parse_tmpfs(value) : parse_bind(value, opt == "--ro-bind");
    if (!r) return r.error();
    spec.mounts.push_back(std::move(r.value()));
  }
  if (a.user) {
    auto u = parse_user(*a.user);
    if (!u) return u.error();
    spec.user = u.value();
  }
  return ok();
}

// Env files first, then -e, in order.
Status finish_env(Spec& spec, const RunArgs& a) {
  for (const auto& path : a.env_files) {
    auto text = read_env_file(path);
    if (!text) return text.error();
    auto entries = parse_env_file(text.value(), path);
    if (!entries) return entries.error();
    for (auto& e : entries.value()) spec.env.push_back(std::move(e));
  }
  for (const auto& arg : a.env) {
    auto e = parse_env_arg(arg);
    if (!e) return e.error();
    spec.env.push_back(std::move(e.value()));
  }
  return ok();
}

Status finish_spec(Spec& spec, const RunArgs& a) {
  if (auto s = finish_creation(spec, a); !s) return s;
  if (auto s = finish_sandbox(spec, a); !s) return s;
  return finish_env(spec, a);
}

Status finish_compare(CompareSpec& cmp, const RunArgs& args, const CompareArgs& c) {
  if (auto s = finish_spec(cmp.base, args); !s) return s;
  cmp.base.report = ReportFormat::none;
  auto n = parse_count(c.rounds, "-n", 1'000'000);
  if (!n || n.value() < 1) return Error::input("-n", "\"" + c.rounds + "\" is not a count between 1 and 1000000");
  cmp.rounds = static_cast<int>(n.value());
  if (c.rss && *c.rss != "0") {  // 0: do not grow
    auto r = parse_size(*c.rss);
    if (!r) return Error::input("--rss", r.error().what());
    cmp.rss = r.value();
  }
  if (c.format == "table") cmp.format = CompareFormat::table;
  else if (c.format == "json") cmp.format = CompareFormat::json;
  else if (c.format == "csv") cmp.format = CompareFormat::csv;
  else return Error::input("--format", "unknown format \"" + c.format + "\" (want table, json or csv)");
  if (c.modes) {
    std::string_view list = *c.modes;
    while (true) {
      auto comma = list.find(',');
      std::string m(list.substr(0, comma));
      if (m.empty()) return Error::input("--modes", "empty mode name in \"" + *c.modes + "\"");
      cmp.modes.push_back(m);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return cmp.validate();
}

bool is_subcommand(std::string_view s) { return s == "run" || s == "compare" || s == "doctor"; }

// The subcommand's index in argv (-1: none), or an error for an unknown one.
Expected<int> find_subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    if (!is_subcommand(a)) return Error::input("", "unknown subcommand \"" + std::string(a) + "\" (want run, compare or doctor)");
    return i;
  }
  return -1;
}

// Help, version and CLI11's other "exit 0" answers, as text for stdout.
void print(CLI::App& app, const CLI::ParseError& e, CommandLine& cl) {
  std::ostringstream out, err;
  cl.action = CommandLine::Action::print;
  cl.exit_code = app.exit(e, out, err);
  cl.text = out.str() + err.str();
}

}  // namespace

Status parse_command_line(int argc, char** argv, CommandLine& cl) {
  auto sub = find_subcommand(argc, argv);
  if (!sub) return sub.error();
  int sub_index = sub.value();
  std::string chosen = sub_index > 0 ? argv[sub_index] : "";

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
  cl = CommandLine{};
  app.add_flag("-v,--verbose", cl.log.verbose, "Log what rdbox does (repeat for more)");
  app.add_option("--log-level", cl.log.level, "trace, debug, info, warn, error or off");

  RunArgs args;
  CompareArgs cargs;
  Targets run_targets{cl.spec, args, cargs};
  Targets cmp_targets{cl.compare.base, args, cargs};
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
    if (e.get_exit_code() == 0) {
      print(app, e, cl);
      return ok();
    }
    return Error::input("", e.what());
  }
  if (cl.log.level && !valid_log_level(*cl.log.level))
    return Error::input("--log-level", "unknown level \"" + *cl.log.level + "\" (want trace, debug, info, warn, error or off)");

  args.mounts_in_order = mounts_in_order(own, sub_index + 1, where);
  if (run->parsed()) {
    cl.action = CommandLine::Action::run;
    cl.spec.command = std::move(command);
    if ((cl.spec.vm || cl.spec.vfork) && !args.mode) args.mode = "clone";
    if (auto s = finish_spec(cl.spec, args); !s) return s.error();
    if (auto v = cl.spec.validate(); !v) return v.error();
  } else if (doctor->parsed()) {
    cl.action = CommandLine::Action::doctor;
  } else if (compare->parsed()) {
    cl.action = CommandLine::Action::compare;
    cl.compare.base.command = std::move(command);
    if (args.mode) cl.compare.base.mode_given = true;
    if (auto s = finish_compare(cl.compare, args, cargs); !s) return s.error();
  } else {
    return Error::input("", "missing subcommand (want run, compare or doctor)");
  }
  return ok();
}

}  // namespace rdbox::cli
