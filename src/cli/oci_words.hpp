// The OCI runtime command line's words (runc's, as Go's flag package parses them):
// `--flag value`, `--flag=value`, `-flag`, flags before the positional arguments. Pure:
// nothing here opens, writes or exits, so the fuzz target `oci_args` drives it whole.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rdbox::cli {

struct FlagDef {
  const char* names;  // "-b,--bundle"
  bool takes_value;
};

// True when `word` is one of the comma-separated `names`.
bool name_in(std::string_view names, std::string_view word);

// One subcommand's words: flags (until the first positional or "--") and positionals.
struct Parsed {
  std::vector<std::pair<std::string, std::string>> flags;  // canonical name, value ("true" for a bool)
  std::vector<std::string> positional;
  std::string error;  // one line; empty when the words were fine
  bool has(std::string_view names) const;
  std::string get(std::string_view names, std::string fallback = {}) const;
  std::vector<std::string> all(std::string_view names) const;
};

// The flags of one subcommand (create, run, exec, list, ps, spec, update, kill, delete,
// start, state, pause, resume, features); nullptr for any other word.
const std::vector<FlagDef>* subcommand_flags(std::string_view sub);

Parsed parse_words(const std::string& sub, const std::vector<FlagDef>& defs, int argc, char** argv, int from);

// The global options before the subcommand. Unknown flags are skipped (engines pass flags
// of newer runcs). `next` is the subcommand's index (argc when there is none).
struct GlobalWords {
  std::string root, log, log_format = "text", cgroup_manager;
  bool debug = false, systemd_cgroup = false;
  int next = 1;
  std::string error;  // one line; empty when the words were fine
};
GlobalWords parse_global_words(int argc, char** argv);

// is_oci_invocation (cli.hpp) is here too: it reads the global words the same way.

}  // namespace rdbox::cli
