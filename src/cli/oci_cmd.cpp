// The OCI runtime command line (runc's): global options, then one subcommand, its words
// parsed by oci_words.cpp (pure; fuzzed by tests/fuzz/fuzz_oci_args.cpp), acted on here.
// Unknown global flags are skipped (engines pass flags of newer runcs); an unknown
// subcommand flag is an error. Every error is one line on
// stderr (and in --log, as JSON with --log-format json) and exit status 1.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.hpp"
#include "cli/oci_words.hpp"
#include "oci/config.hpp"
#include "oci/runtime.hpp"
#include "oci/state.hpp"
#include "rdbox/bytes.hpp"

namespace rdbox::cli {

namespace {

constexpr int kOciFailed = 1;

struct Logger {
  int fd = -1;
  bool json = false;
  bool debug = false;
  void line(const char* level, const std::string& msg) const {
    if (fd < 0) return;
    std::string text;
    if (json) {
      nlohmann::json j;
      j["level"] = level;
      j["msg"] = msg;
      j["time"] = oci::rfc3339_now();
      text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      nlohmann::json m = msg;
      text = "time=\"" + oci::rfc3339_now() + "\" level=" + level + " msg=" +
             m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    (void)write_all(fd, text);
  }
};

Logger g_log;

int oci_fail(const std::string& msg) {
  std::string one = one_line(msg);
  g_log.line("error", one);
  write_all(2, "rdbox: " + one + "\n");
  return kOciFailed;
}

void oci_warn(const std::string& msg) {
  std::string one = one_line(msg);
  // Engines show a runtime's stderr as its failure: warnings go to --log, and to stderr
  // only with --debug.
  if (g_log.fd >= 0) g_log.line("warning", one);
  if (g_log.debug) write_all(2, "rdbox: warning: " + one + "\n");
}

std::optional<int> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  int n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  return n;
}

int need_ids(const std::string& sub, const Parsed& p, std::size_t min, std::size_t max) {
  if (p.positional.size() < min)
    return oci_fail(sub + ": needs " + (min == 1 ? "the container ID" : std::to_string(min) + " arguments"));
  if (p.positional.size() > max)
    return oci_fail(sub + ": unexpected argument \"" + p.positional[max] + "\"");
  return 0;
}

int status_of(const Status& s) { return s ? 0 : oci_fail(s.error().what()); }

int cmd_create_or_run(const oci::Globals& g, const std::string& sub, int argc, char** argv, int from) {
  Parsed p = parse_words(sub, *subcommand_flags(sub), argc, argv, from);
  if (!p.error.empty()) return oci_fail(p.error);
  if (int rc = need_ids(sub, p, 1, 1)) return rc;
  oci::CreateArgs a;
  a.id = p.positional[0];
  a.bundle = p.get("-b,--bundle", ".");
  a.pid_file = p.get("--pid-file");
  a.console_socket = p.get("--console-socket");
  std::string pf = p.get("--preserve-fds", "0");
  auto n = parse_count(pf);
  if (!n || *n > 65536) return oci_fail(sub + ": --preserve-fds \"" + pf + "\" is not a count from 0 to 65536");
  a.preserve_fds = *n;
  a.no_pivot = p.has("--no-pivot");
  a.no_new_keyring = p.has("--no-new-keyring");
  a.detach = p.has("-d,--detach");
  if (sub == "create") return status_of(oci::create(g, a));
  auto rc = oci::run(g, a);
  if (!rc) return oci_fail(rc.error().what());
  return *rc;
}

int cmd_exec(const oci::Globals& g, int argc, char** argv, int from) {
  Parsed p = parse_words("exec", *subcommand_flags("exec"), argc, argv, from);
  if (!p.error.empty()) return oci_fail(p.error);
  if (p.positional.empty()) return oci_fail("exec: needs the container ID");
  oci::ExecArgs a;
  a.id = p.positional[0];
  a.args.assign(p.positional.begin() + 1, p.positional.end());
  a.process_file = p.get("-p,--process");
  a.detach = p.has("-d,--detach");
  a.pid_file = p.get("--pid-file");
  for (const auto& f : p.flags)
    if (f.first == "-t" || f.first == "--tty") a.tty_given = true;
  a.tty = p.has("-t,--tty");
  a.console_socket = p.get("--console-socket");
  a.cwd = p.get("--cwd");
  a.env = p.all("-e,--env");
  a.user = p.get("-u,--user");
  a.cap_add = p.all("-c,--cap");
  a.no_new_privs = p.has("--no-new-privs");
  a.ignore_paused = p.has("--ignore-paused");
  std::string pf = p.get("--preserve-fds", "0");
  auto n = parse_count(pf);
  if (!n || *n > 65536) return oci_fail("exec: --preserve-fds \"" + pf + "\" is not a count from 0 to 65536");
  a.preserve_fds = *n;
  if (!p.get("-g,--additional-gids").empty()) return oci_fail("exec: --additional-gids is not supported by rdbox");
  if (!a.process_file.empty() && !a.args.empty())
    return oci_fail("exec: give the command in --process or on the command line, not both");
  auto rc = oci::exec(g, a);
  if (!rc) return oci_fail(rc.error().what());
  return *rc;
}

int cmd_list(const oci::Globals& g, int argc, char** argv, int from) {
  Parsed p = parse_words("list", *subcommand_flags("list"), argc, argv, from);
  if (!p.error.empty()) return oci_fail(p.error);
  if (int rc = need_ids("list", p, 0, 0)) return rc;
  std::string format = p.get("-f,--format", "table");
  if (format != "table" && format != "json") return oci_fail("list: --format must be table or json");
  auto entries = oci::list(g);
  std::string out;
  if (p.has("-q,--quiet")) {
    for (const auto& e : entries) out += e.id + "\n";
  } else if (format == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : entries)
      j.push_back({{"ociVersion", oci::kSpecVersion}, {"id", e.id}, {"pid", e.pid}, {"status", e.status},
                   {"bundle", e.bundle}, {"rootfs", e.bundle.empty() ? "" : e.bundle + "/rootfs"},
                   {"created", e.created}, {"owner", e.owner}});
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out = "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n";
    for (const auto& e : entries)
      out += e.id + "\t" + std::to_string(e.pid) + "\t" + e.status + "\t" + e.bundle + "\t" + e.created + "\t" + e.owner + "\n";
  }
  if (int e = write_all(1, out)) return oci_fail(std::string("list: writing to stdout: ") + std::strerror(e));
  return 0;
}

// update's number options: a size ("512M", "1g"), or -1 for no limit where `unlimited`.
std::optional<std::string> update_number(const Parsed& p, const char* names, bool size, std::int64_t& out) {
  std::string v = p.get(names);
  std::string flag = std::string(names).substr(std::string(names).rfind(',') + 1);
  if (v == "-1") {
    out = -1;
    return std::nullopt;
  }
  if (size) {
    auto n = parse_size(v);
    if (!n || n.value() > (std::size_t{1} << 62)) return "update: " + flag + " \"" + v + "\" is not a size (512M, 2G) or -1";
    out = static_cast<std::int64_t>(n.value());
    return std::nullopt;
  }
  auto n = rdbox::parse_count(v, flag, INT64_MAX);
  if (!n) return "update: " + std::string(n.error().what());
  out = static_cast<std::int64_t>(n.value());
  return std::nullopt;
}

int cmd_update(const oci::Globals& g, int argc, char** argv, int i) {
  Parsed p = parse_words("update", *subcommand_flags("update"), argc, argv, i);
  if (!p.error.empty()) return oci_fail(p.error);
  if (int rc = need_ids("update", p, 1, 1)) return rc;
  oci::UpdateArgs a;
  a.id = p.positional[0];
  a.resources_path = p.get("-r,--resources");
  struct Signed {
    const char* names;
    bool size;
    std::optional<std::int64_t>* out;
  };
  for (const Signed& o : {Signed{"--memory", true, &a.memory}, Signed{"--memory-swap", true, &a.memory_swap},
                          Signed{"--memory-reservation", true, &a.memory_reservation},
                          Signed{"--pids-limit", false, &a.pids_limit}, Signed{"--cpu-quota", false, &a.cpu_quota}}) {
    if (p.get(o.names).empty()) continue;
    std::int64_t n = 0;
    if (auto e = update_number(p, o.names, o.size, n)) return oci_fail(*e);
    *o.out = n;
  }
  struct Unsigned {
    const char* names;
    std::uint64_t max;
    std::optional<std::uint64_t>* out;
  };
  for (const Unsigned& o : {Unsigned{"--cpu-period", 1000000, &a.cpu_period},
                            Unsigned{"--cpu-share,--cpu-shares", 262144, &a.cpu_shares},
                            Unsigned{"--blkio-weight", 1000, &a.blkio_weight}}) {
    if (p.get(o.names).empty()) continue;
    std::string flag = std::string(o.names).substr(std::string(o.names).rfind(',') + 1);
    auto n = rdbox::parse_count(p.get(o.names), flag, o.max);
    if (!n) return oci_fail("update: " + std::string(n.error().what()));
    *o.out = n.value();
  }
  a.cpuset_cpus = p.get("--cpuset-cpus");
  a.cpuset_mems = p.get("--cpuset-mems");
  return status_of(oci::update(g, a));
}

int cmd_ps(const oci::Globals& g, int argc, char** argv, int from) {
  Parsed p = parse_words("ps", *subcommand_flags("ps"), argc, argv, from);
  if (!p.error.empty()) return oci_fail(p.error);
  if (p.positional.empty()) return oci_fail("ps: needs the container ID");
  std::string format = p.get("-f,--format", "table");
  if (format != "table" && format != "json") return oci_fail("ps: --format must be table or json");
  auto pids = oci::processes(g, p.positional[0]);
  if (!pids) return oci_fail(pids.error().what());
  std::string out;
  if (format == "json") {
    out = nlohmann::json(*pids).dump() + "\n";
  } else {
    out = "PID\tCMD\n";
    for (int pid : *pids) {
      int fd = ::open(("/proc/" + std::to_string(pid) + "/comm").c_str(), O_RDONLY | O_CLOEXEC);
      char buf[64] = {};
      if (fd >= 0) {
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
        ::close(fd);
      }
      out += std::to_string(pid) + "\t" + buf + "\n";
    }
  }
  if (int e = write_all(1, out)) return oci_fail(std::string("ps: writing to stdout: ") + std::strerror(e));
  return 0;
}

int cmd_spec(int argc, char** argv, int from) {
  Parsed p = parse_words("spec", *subcommand_flags("spec"), argc, argv, from);
  if (!p.error.empty()) return oci_fail(p.error);
  if (int rc = need_ids("spec", p, 0, 0)) return rc;
  std::string dir = p.get("-b,--bundle", ".");
  std::string path = dir + "/config.json";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return oci_fail("spec: \"" + path + "\": " + (errno == EEXIST ? std::string("exists already") : std::strerror(errno)));
  int e = write_all(fd, oci::spec_json(p.has("--rootless")));
  ::close(fd);
  if (e) {
    ::unlink(path.c_str());
    return oci_fail("spec: \"" + path + "\": " + std::strerror(e));
  }
  return 0;
}

}  // namespace

// The global options before the subcommand; `i` ends at the subcommand. 0, or the exit
// code of the error said.
int parse_globals(int argc, char** argv, oci::Globals& g, int& i) {
  GlobalWords w = parse_global_words(argc, argv);
  i = w.next;
  g_log.debug = w.debug;
  g_log.json = w.log_format == "json";
  if (!w.log.empty()) {  // first: engines read a runtime's errors back from its log
    g_log.fd = ::open(w.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (g_log.fd < 0) return oci_fail("--log \"" + w.log + "\": " + std::strerror(errno));
  }
  if (!w.error.empty()) return oci_fail(w.error);
  g.root = w.root;
  g.systemd_cgroup = w.systemd_cgroup;
  g.cgroup_manager = w.cgroup_manager;
  if (!g.root.empty() && g.root[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) g.root = std::string(cwd) + "/" + g.root;
  }
  g.warn = oci_warn;
  return 0;
}

// The subcommands that take a container ID (kill a signal too) and a flag or two, and
// features; -1 for any other.
int cmd_by_id(const oci::Globals& g, const std::string& sub, int argc, char** argv, int i) {
  bool known = sub == "features" || sub == "start" || sub == "state" || sub == "kill" || sub == "delete" ||
               sub == "pause" || sub == "resume";
  if (!known) return -1;
  Parsed p = parse_words(sub, *subcommand_flags(sub), argc, argv, i);
  if (!p.error.empty()) return oci_fail(p.error);
  if (int rc = need_ids(sub, p, sub == "features" ? 0 : 1, sub == "features" ? 0 : sub == "kill" ? 2 : 1)) return rc;
  if (sub == "features") {
    if (int e = write_all(1, oci::features_json())) return oci_fail(std::string("features: ") + std::strerror(e));
    return 0;
  }
  const std::string& id = p.positional[0];
  if (sub == "start") return status_of(oci::start(g, id));
  if (sub == "state") {
    auto s = oci::state(g, id);
    if (!s) return oci_fail(s.error().what());
    if (int e = write_all(1, *s)) return oci_fail(std::string("state: writing to stdout: ") + std::strerror(e));
    return 0;
  }
  if (sub == "kill")
    return status_of(oci::kill(g, id, p.positional.size() > 1 ? p.positional[1] : "SIGTERM", p.has("-a,--all")));
  if (sub == "delete") return status_of(oci::remove(g, id, p.has("-f,--force")));
  return status_of(sub == "pause" ? oci::pause(g, id) : oci::resume(g, id));
}

int oci_main(int argc, char** argv) {
  oci::Globals g;
  int i = 1;
  if (int rc = parse_globals(argc, argv, g, i)) return rc;
  if (i >= argc)
    return oci_fail("no subcommand (create, start, state, kill, delete, run, exec, list, ps, pause, resume, update, features, spec)");
  std::string sub = argv[i++];
  if (sub == "create" || sub == "run") return cmd_create_or_run(g, sub, argc, argv, i);
  if (sub == "exec") return cmd_exec(g, argc, argv, i);
  if (sub == "list") return cmd_list(g, argc, argv, i);
  if (sub == "ps") return cmd_ps(g, argc, argv, i);
  if (sub == "spec") return cmd_spec(argc, argv, i);
  if (sub == "update") return cmd_update(g, argc, argv, i);
  if (int rc = cmd_by_id(g, sub, argc, argv, i); rc >= 0) return rc;
  return oci_fail(sub + ": not supported by rdbox yet (events, checkpoint and restore need CRIU and an event "
                        "stream)");
}

}  // namespace rdbox::cli
