// The option table of run and compare, and the raw values CLI11 binds them to.
// Nothing outside src/cli sees CLI11 types.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rdbox/compare.hpp"
#include "rdbox/spec.hpp"

namespace rdbox::cli {

// Option values that need more than a bind (parsed in finish_spec). Optional where
// "given empty" must differ from "not given".
struct RunArgs {
  std::optional<std::string> mode;
  std::optional<std::string> clone_flags;
  std::optional<std::string> stack_size;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string report = "text";
  bool ns[kNamespaceCount] = {};
  bool unshare_all = false;
  std::optional<std::string> time_offset;
  std::optional<std::string> preserve_fds;
  std::vector<std::string> uid_maps, gid_maps, binds, ro_binds, tmpfs;
  // --bind, --ro-bind and --tmpfs as given, in order: mounts apply in this order.
  std::vector<std::pair<std::string, std::string>> mounts_in_order;
  std::optional<std::string> user;
};

struct CompareArgs {
  std::optional<std::string> modes;
  std::string rounds = "200";
  std::optional<std::string> rss;
  std::string format = "table";
};

struct Targets {
  Spec& spec;
  RunArgs& args;
  CompareArgs& cmp;
};

enum : unsigned { kRun = 1, kCompare = 2, kBoth = 3 };

// Where COMMAND starts: after "--", or at the first word that is neither an option nor
// an option's value. CLI11 sees only what comes before it.
struct CommandSplit {
  int options_end;
  int command_begin;
};
CommandSplit split_command(int sub_index, unsigned where, int argc, char** argv);

// The mount options in the order the user gave them (CLI11 keeps one list per option).
std::vector<std::pair<std::string, std::string>> mounts_in_order(const std::vector<char*>& words, int from,
                                                                 unsigned where);

// Registers the options of `where` that `words` use (all of them when `all`, for --help).
void register_options(CLI::App* sub, unsigned where, Targets& t, const std::vector<char*>& words, bool all);

}  // namespace rdbox::cli
