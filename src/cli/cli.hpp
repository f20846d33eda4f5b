// rdbox's command line, shared between its files: options.cpp (the one option table,
// where the command starts, unknown-option suggestions), help.cpp (usage, examples, the
// overview, --version), parse.cpp (argv → CommandLine, pure), run_cmd.cpp, compare_cmd.cpp
// and pipeline_cmd.cpp (each subcommand: CommandLine → Spec → library → report), main.cpp
// (the flow), output.cpp (write_all, fail, print). Nothing outside src/cli sees CLI11.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rdbox/compare.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/spec.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace rdbox::cli {

inline constexpr int kRdboxFailed = 125;

// 0, or the errno of the write that failed.
int write_all(int fd, const std::string& s);
// "rdbox: <line>" on stderr, control characters escaped (always one line); returns 125.
int fail(const std::string& line);
// Output to stdout that did not get there is rdbox's failure: 0, or 125 with the line.
int print(const std::string& text, const char* what);

// What the run options bind to before they become Spec fields.
struct RunArgs {
  std::optional<std::string> mode;
  std::optional<std::string> clone_flags;
  std::optional<std::string> stack_size;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string report = "text";
  std::optional<std::string> report_fd;  // --report-fd N, checked in run_cmd.cpp
  std::optional<std::string> preserve_fds;  // --preserve-fds N, checked in run_cmd.cpp
  bool ns[rdbox::kNamespaceCount] = {};
  bool unshare_all = false;
  std::optional<std::string> time_offset;  // optional: given empty must differ from not given
  std::vector<std::string> uid_maps, gid_maps, binds, ro_binds, tmpfs;
  // --bind, --ro-bind and --tmpfs as given, in order: mounts apply in this order.
  std::vector<std::pair<std::string, std::string>> mounts_in_order;
  std::optional<std::string> user;
  std::vector<std::string> cap_add, cap_drop, rlimits;
  std::optional<std::string> seccomp, timeout, kill_after;
  std::optional<std::string> memory, memory_swap, pids, cpus, cpu_weight, cpu_shares, cgroup_parent;
};

struct CompareArgs {
  std::optional<std::string> modes;  // optional: given empty must differ from not given
  std::string rounds = "200";
  std::optional<std::string> rss;
  std::string format = "table";
  bool touch = false;
};

// Every option of run and compare is one row of kOptions (options.cpp): its CLI11 names,
// whether it takes a value and its metavar, where it applies, its help group, and how it
// binds. rdbox registers with CLI11 only the options a command line uses (all of them for
// --help): CLI11 checks each new option against every earlier one, and registering forty
// options costs more than the rest of rdbox's start-up.
struct Targets {
  rdbox::Spec& spec;
  RunArgs& args;
  CompareArgs& cmp;
};
enum : unsigned { kRun = 1, kCompare = 2, kBoth = 3, kPipeline = 4 };
// What rdbox pipeline accepts: every option of run, and its own (kPipeline rows).
inline constexpr unsigned kPipelineCmd = kRun | kPipeline;
struct OptionDef {
  const char* names;    // "-e,--env"
  const char* metavar;  // "" for a flag
  unsigned where;
  const char* group;  // "" top level, "hidden" (accepted, never listed), or a help group
  CLI::Option* (*add)(CLI::App*, const char* names, Targets&);
  bool takes_value() const { return *metavar != 0; }
};
extern const OptionDef kOptions[];
extern const std::size_t kOptionCount;

// "-e,--env" holds "--env"? (and "-e" for "-eVALUE").
bool names_match(std::string_view names, std::string_view word);
const OptionDef* find_option(std::string_view word, unsigned where);

// Where COMMAND starts: after "--", or at the first word that is neither an option nor
// an option's value. CLI11 sees only what comes before it.
struct CommandSplit {
  int options_end;
  int command_begin;
};
CommandSplit split_command(int sub_index, unsigned where, int argc, char** argv);

// The first of argv[begin, end) that is no option of `where` (0: before the subcommand),
// as the one error line to print, with the nearest name ("did you mean --newpid?").
std::optional<std::string> unknown_option(int begin, int end, unsigned where, char** argv);

// The mount options in the order the user gave them (CLI11 keeps one list per option).
std::vector<std::pair<std::string, std::string>> mounts_in_order(const std::vector<char*>& words, int from,
                                                                 unsigned where);

void register_options(CLI::App* sub, unsigned where, Targets& t, const std::vector<char*>& words, bool all);

// help.cpp
std::string version_text();  // "rdbox 0.1.0 (git 0123456789ab)\n"
std::string overview_text();  // what bare `rdbox` prints
// Usage lines with the command and `--`, typed metavars, and three examples each.
void decorate_help(CLI::App& app, CLI::App* run, CLI::App* compare, CLI::App* pipeline, CLI::App* doctor);

struct LogArgs {
  int verbose = 0;
  std::optional<std::string> level;  // given empty is an error, not "not given"
};

// What one command line of run, compare, pipeline or doctor asks for (parse.cpp).
struct CommandLine {
  enum class Action { overview, help, version, doctor, run, pipeline, compare };
  Action action = Action::overview;
  std::string text;  // help: what to print on stdout
  LogArgs log;
  rdbox::Spec spec;  // run; pipeline (spec.command: the stages as given)
  RunArgs args;      // run, pipeline, compare
  CompareArgs cargs;
  rdbox::CompareSpec cmp;  // compare
  std::vector<std::string> command;  // the words after rdbox's own, moved into spec or cmp
};
// argv → `cl` (filled in place: CLI11's bindings point into it). Every refusal, CLI11's
// exceptions included, is one Error; nothing is run, printed, opened or read.
rdbox::Status parse_command_line(int argc, char** argv, CommandLine& cl);

// What run_command does before it runs: the Spec finished (--env-file and --seccomp
// read, bounded), validated and planned; for a pipeline, the stages split first. `facts`:
// the host's, or nullptr to probe them (plan() is pure given the facts).
struct PreparedRun {
  rdbox::Plan plan;
  int report_fd = -1;  // --report-fd N, checked
};
rdbox::Expected<PreparedRun> prepare_run(rdbox::Spec& spec, RunArgs& args, bool pipeline, char** env,
                                         const rdbox::HostFacts* facts = nullptr);
// compare's: the base Spec finished, the compare options checked, the whole validated.
rdbox::Status prepare_compare(rdbox::CompareSpec& cmp, RunArgs& args, const CompareArgs& c);

// run_cmd.cpp, compare_cmd.cpp, pipeline_cmd.cpp
int run_command(rdbox::Spec& spec, RunArgs& args, bool pipeline = false);
int compare_command(rdbox::CompareSpec& cmp, RunArgs& args, const CompareArgs& c);
// spec.command holds the stages as given; they are split into words, then the run goes
// as rdbox run's does.
int pipeline_command(rdbox::Spec& spec, RunArgs& args);
// The Spec fields that need more than a bind: mode, sizes, maps, env sources.
rdbox::Status finish_spec(rdbox::Spec& spec, const RunArgs& a);

// oci_cmd.cpp: the OCI runtime CLI (runc's). An OCI subcommand (create, start, state,
// kill, delete, exec, list, ps, features, spec...), an OCI global option (--root, --log...)
// before the subcommand, or `run -b/--bundle DIR` selects it.
bool is_oci_invocation(int argc, char** argv);
int oci_main(int argc, char** argv);

}  // namespace rdbox::cli
