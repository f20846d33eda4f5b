// rdbox's command line (run, compare, pipeline, doctor) into a CommandLine: which words
// are rdbox's and which the command's, CLI11 over rdbox's own, every refusal (CLI11's
// exceptions included) as one error. Nothing is run, printed, opened or read here.
#include <CLI/CLI.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.hpp"

namespace rdbox::cli {

namespace {

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

bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"})
    if (level == l) return true;
  return false;
}

// CLI11 over rdbox's own words (`own`; the subcommand at own[sub_index]) into `cl`.
rdbox::Status parse_own_words(const std::string& chosen, int sub_index, unsigned where, std::vector<char*>& own,
                              CommandLine& cl) {
  bool help = chosen.empty();
  for (char* w : own)
    if (std::string_view(w) == "-h" || std::string_view(w) == "--help") help = true;

  CLI::App app{"rdbox: launch a command with the process-creation primitive you choose, and say what happened"};
  app.name("rdbox");
  app.require_subcommand(0, 1);  // none: --version, or the overview
  app.add_flag("-v,--verbose", cl.log.verbose, "Log what rdbox does (repeat for more)");
  app.add_option("--log-level", cl.log.level, "trace, debug, info, warn, error or off")->type_name("LEVEL");
  bool version = false;  // answered before parsing when alone; here in any other place
  app.add_flag("--version", version, "Print the version and the git revision, and exit");

  Targets run_targets{cl.spec, cl.args, cl.cargs};
  Targets cmp_targets{cl.cmp.base, cl.args, cl.cargs};
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
    if (e.get_exit_code() != 0) return rdbox::Error::input("", e.what());
    std::ostringstream out, err;  // --help: the text CLI11 would print
    app.exit(e, out, err);
    cl.action = CommandLine::Action::help;
    cl.text = out.str();
    return rdbox::ok();
  }
  if (cl.log.level && !valid_log_level(*cl.log.level))
    return rdbox::Error::input("--log-level", "unknown level \"" + *cl.log.level +
                                                  "\" (want trace, debug, info, warn, error or off)");
  if (version) {
    cl.action = CommandLine::Action::version;
    return rdbox::ok();
  }
  cl.args.mounts_in_order = mounts_in_order(own, sub_index + 1, where);
  if (run->parsed() || pipeline->parsed()) {
    cl.action = run->parsed() ? CommandLine::Action::run : CommandLine::Action::pipeline;
    cl.spec.command = std::move(cl.command);  // a pipeline's stages, as given
    if ((cl.spec.vm || cl.spec.vfork) && !cl.args.mode) cl.args.mode = "clone";
  } else if (compare->parsed()) {
    cl.action = CommandLine::Action::compare;
    cl.cmp.base.command = std::move(cl.command);
    if (cl.args.mode) cl.cmp.base.mode_given = true;
  } else if (doctor->parsed()) {
    cl.action = CommandLine::Action::doctor;
  }  // only options (say `rdbox -v`), no subcommand: the overview, as bare rdbox
  return rdbox::ok();
}

}  // namespace

rdbox::Status parse_command_line(int argc, char** argv, CommandLine& cl) {
  cl.action = CommandLine::Action::overview;
  if (argc < 1 || !argv) return rdbox::Error::input("", "no command line");
  std::string chosen, error;
  int sub_index = find_subcommand(argc, argv, &chosen, &error);
  if (!error.empty()) return rdbox::Error::input("", error);
  if (argc == 1) return rdbox::ok();

  // Every word before the command must be an option rdbox knows; CLI11 gets rdbox's own
  // words only, and the command after them is taken verbatim.
  std::vector<char*> own(argv, argv + argc);
  unsigned where = chosen == "run"        ? unsigned{kRun}
                   : chosen == "compare"  ? unsigned{kCompare}
                   : chosen == "pipeline" ? kPipelineCmd
                                          : 0u;
  if (auto bad = unknown_option(1, sub_index < 0 ? argc : sub_index, 0, argv)) return rdbox::Error::input("", *bad);
  if (where) {
    CommandSplit split = split_command(sub_index, where, argc, argv);
    if (auto bad = unknown_option(sub_index + 1, split.options_end, where, argv)) return rdbox::Error::input("", *bad);
    own.assign(argv, argv + split.options_end);
    cl.command.assign(argv + split.command_begin, argv + argc);
  } else if (sub_index >= 0) {
    if (auto bad = unknown_option(sub_index + 1, argc, 0, argv)) return rdbox::Error::input("", *bad);
  }
  return parse_own_words(chosen, sub_index, where, own, cl);
}

}  // namespace rdbox::cli
