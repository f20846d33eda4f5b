#include "cli/oci_words.hpp"

#include <iterator>

#include "cli/cli.hpp"

namespace rdbox::cli {

namespace {

// "-root" is "--root" (Go's flags take either); "--x=v" splits.
struct Word {
  std::string name;
  std::optional<std::string> value;
};
Word split_word(std::string_view w) {
  Word out;
  auto eq = w.find('=');
  std::string name(w.substr(0, eq));
  if (name.size() > 2 && name[0] == '-' && name[1] != '-') name = "-" + name;
  out.name = name;
  if (eq != std::string_view::npos) out.value = std::string(w.substr(eq + 1));
  return out;
}
// A one-letter short option stays "-b".
std::string canonical(const std::string& n) {
  if (n.size() == 3 && n[0] == '-' && n[1] == '-') return n.substr(1);
  return n;
}

constexpr FlagDef kGlobalFlags[] = {{"--root", true},          {"--log", true},
                                    {"--log-format", true},    {"--debug", false},
                                    {"--systemd-cgroup", false}, {"--cgroup-manager", true},
                                    {"--rootless", true},      {"--criu", true}};

const FlagDef* find_flag(const FlagDef* defs, std::size_t n, const std::string& name) {
  for (std::size_t i = 0; i < n; ++i)
    if (name_in(defs[i].names, name)) return &defs[i];
  return nullptr;
}

bool is_oci_subcommand(std::string_view s) {
  for (const char* c : {"create", "start", "state", "kill", "delete", "exec", "list", "ps", "features", "spec", "pause",
                        "resume", "update", "events", "checkpoint", "restore"})
    if (s == c) return true;
  return false;
}

const std::vector<FlagDef> kCreateFlags = {{"-b,--bundle", true},      {"--pid-file", true},
                                           {"--console-socket", true}, {"--preserve-fds", true},
                                           {"--no-pivot", false},      {"--no-new-keyring", false},
                                           {"--pidfd-socket", true},   {"-h,--help", false}};

std::vector<FlagDef> with(std::vector<FlagDef> defs, std::initializer_list<FlagDef> more) {
  defs.insert(defs.end(), more);
  return defs;
}

}  // namespace

bool name_in(std::string_view names, std::string_view word) {
  while (!names.empty()) {
    auto comma = names.find(',');
    if (names.substr(0, comma) == word) return true;
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  return false;
}

bool Parsed::has(std::string_view names) const {
  for (const auto& f : flags)
    if (name_in(names, f.first) && f.second != "false") return true;
  return false;
}
std::string Parsed::get(std::string_view names, std::string fallback) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it)
    if (name_in(names, it->first)) return it->second;
  return fallback;
}
std::vector<std::string> Parsed::all(std::string_view names) const {
  std::vector<std::string> out;
  for (const auto& f : flags)
    if (name_in(names, f.first)) out.push_back(f.second);
  return out;
}

const std::vector<FlagDef>* subcommand_flags(std::string_view sub) {
  static const std::vector<FlagDef> create = kCreateFlags;
  static const std::vector<FlagDef> run = with(kCreateFlags, {{"-d,--detach", false}, {"--keep", false}});
  static const std::vector<FlagDef> exec = {
      {"-p,--process", true},    {"-d,--detach", false},    {"--pid-file", true},     {"-t,--tty", false},
      {"--console-socket", true}, {"--cwd", true},          {"-e,--env", true},       {"-u,--user", true},
      {"-c,--cap", true},        {"--no-new-privs", false}, {"--preserve-fds", true}, {"-g,--additional-gids", true},
      {"--process-label", true}, {"--apparmor", true},      {"--cgroup", true},       {"--ignore-paused", false},
      {"--pidfd-socket", true}};
  static const std::vector<FlagDef> list = {{"-f,--format", true}, {"-q,--quiet", false}};
  static const std::vector<FlagDef> ps = {{"-f,--format", true}};
  static const std::vector<FlagDef> spec = {{"-b,--bundle", true}, {"--rootless", false}};
  static const std::vector<FlagDef> update = {
      {"-r,--resources", true},  {"--memory", true},       {"--memory-swap", true},
      {"--memory-reservation", true}, {"--pids-limit", true}, {"--cpu-quota", true},
      {"--cpu-period", true},    {"--cpu-share,--cpu-shares", true}, {"--cpuset-cpus", true},
      {"--cpuset-mems", true},   {"--blkio-weight", true}};
  static const std::vector<FlagDef> kill = {{"-a,--all", false}, {"--pid", true}};
  static const std::vector<FlagDef> remove = {{"-f,--force", false}};
  static const std::vector<FlagDef> none;
  if (sub == "create") return &create;
  if (sub == "run") return &run;
  if (sub == "exec") return &exec;
  if (sub == "list") return &list;
  if (sub == "ps") return &ps;
  if (sub == "spec") return &spec;
  if (sub == "update") return &update;
  if (sub == "kill") return &kill;
  if (sub == "delete") return &remove;
  if (sub == "start" || sub == "state" || sub == "pause" || sub == "resume" || sub == "features") return &none;
  return nullptr;
}

Parsed parse_words(const std::string& sub, const std::vector<FlagDef>& defs, int argc, char** argv, int from) {
  Parsed p;
  int i = from;
  for (; i < argc; ++i) {
    std::string w = argv[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-') break;
    Word sw = split_word(w);
    std::string name = canonical(sw.name);
    const FlagDef* d = find_flag(defs.data(), defs.size(), name);
    if (!d) {
      p.error = sub + ": unknown option \"" + sw.name + "\"";
      return p;
    }
    if (d->takes_value) {
      if (sw.value) {
        p.flags.emplace_back(name, *sw.value);
      } else if (i + 1 < argc) {
        p.flags.emplace_back(name, argv[++i]);
      } else {
        p.error = sub + ": " + sw.name + " needs a value";
        return p;
      }
    } else {
      if (sw.value && *sw.value != "true" && *sw.value != "false") {
        p.error = sub + ": " + sw.name + " takes true or false, not \"" + *sw.value + "\"";
        return p;
      }
      p.flags.emplace_back(name, sw.value.value_or("true"));
    }
  }
  for (; i < argc; ++i) p.positional.push_back(argv[i]);
  return p;
}

GlobalWords parse_global_words(int argc, char** argv) {
  GlobalWords g;
  int i = 1;
  for (; i < argc; ++i) {
    std::string w = argv[i];
    if (w.size() < 2 || w[0] != '-' || w == "--") break;
    Word sw = split_word(w);
    const FlagDef* d = find_flag(kGlobalFlags, std::size(kGlobalFlags), sw.name);
    std::string value;
    if (d && d->takes_value) {
      if (sw.value) {
        value = *sw.value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        g.error = sw.name + " needs a value";
        break;
      }
    }
    if (sw.name == "--root") g.root = value;
    else if (sw.name == "--log") g.log = value;
    else if (sw.name == "--log-format") g.log_format = value;
    else if (sw.name == "--debug") g.debug = true;
    else if (sw.name == "--systemd-cgroup") g.systemd_cgroup = sw.value.value_or("true") != "false";
    else if (sw.name == "--cgroup-manager") g.cgroup_manager = value;
    else if (w == "--log-level") ++i;
    // Anything else is a flag of another runtime's: skipped, as the engines need.
  }
  g.next = i < argc ? i : argc;
  if (g.error.empty() && g.log_format != "text" && g.log_format != "json")
    g.error = "--log-format must be text or json";
  return g;
}

bool is_oci_invocation(int argc, char** argv) {
  int i = 1;
  bool oci_global = false;
  for (; i < argc; ++i) {
    std::string w = argv[i];
    if (w.size() < 2 || w[0] != '-' || w == "--") break;
    Word sw = split_word(w);
    if (const FlagDef* d = find_flag(kGlobalFlags, std::size(kGlobalFlags), sw.name)) {
      oci_global = true;
      if (d->takes_value && !sw.value) ++i;
      continue;
    }
    if (w == "--log-level") ++i;  // rdbox's own
  }
  if (i >= argc) return false;
  std::string sub = argv[i];
  if (is_oci_subcommand(sub)) return true;
  if (sub != "run") return false;
  if (oci_global) return true;
  // `rdbox run -b DIR ID` / `--bundle DIR`: the OCI run; `rdbox run COMMAND` the command line's.
  for (int j = i + 1; j < argc; ++j) {
    std::string w = argv[j];
    if (w == "--" || w.empty() || w[0] != '-') return false;
    if (w == "-b" || w == "--bundle" || w.rfind("--bundle=", 0) == 0 || w == "-bundle" || w.rfind("-bundle=", 0) == 0)
      return true;
    const OptionDef* o = find_option(w, kRun);
    if (o && o->takes_value() && w.find('=') == std::string::npos) ++j;
  }
  return false;
}

}  // namespace rdbox::cli
