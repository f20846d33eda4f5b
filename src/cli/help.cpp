// What rdbox says about itself: --version, the overview bare `rdbox` prints, and --help's
// usage lines (the command and `--` included) and examples.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/cli.hpp"
#include "oci/config.hpp"
#include "rdbox_version.hpp"

namespace rdbox::cli {

namespace {

// CLI11's usage line knows options and subcommands only; rdbox's subcommands end with
// the command it runs, after an optional `--`.
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    const std::string& sub = app->get_name();
    if (sub == "run" || sub == "compare")
      return "Usage: rdbox " + sub + " [OPTIONS] [--] COMMAND [ARG...]\n";
    if (sub == "pipeline") return "Usage: rdbox pipeline [OPTIONS] [--] 'COMMAND [ARG...]' 'COMMAND [ARG...]'...\n";
    if (sub == "doctor") return "Usage: rdbox doctor\n";
    (void)name;
    return "Usage: rdbox [-v] [--log-level LEVEL] SUBCOMMAND [OPTIONS] [--] [COMMAND [ARG...]]\n";
  }
};

// Three runnable examples each; the man pages carry the same ones (docs/man/).
constexpr const char* kRunExamples =
    "Examples:\n"
    "  rdbox run --vm -- /bin/echo \"Hello Docker\"\n"
    "      CLONE_VM: the child shares rdbox's memory until it execs echo\n"
    "  rdbox run --newuser --rootfs rootfs --overlay --newpid -- /bin/sh -c 'id; echo $$; touch /new'\n"
    "      a rootless container: root inside, PID 1, writes go to a tmpfs\n"
    "  rdbox run --report json --report-fd 3 -- make test 3>report.json\n"
    "      a harness: make's own output untouched, the JSON report in report.json\n"
    "\n"
    "Exit status: the command's own, 128+N when killed by signal N, 125 when rdbox failed,\n"
    "126 when the command could not be executed, 127 when it was not found. See man rdbox-run.";

constexpr const char* kCompareExamples =
    "Examples:\n"
    "  rdbox compare -n 100 -- /bin/true\n"
    "      every mode 100 times, interleaved, as a table\n"
    "  rdbox compare --rss 1G --touch --modes fork,vfork,spawn -- /bin/true\n"
    "      fork's page-table copy and copy-on-write faults in a 1 GiB process\n"
    "  rdbox compare -n 50 --format csv --newpid --newns -- /bin/true > compare.csv\n"
    "      the namespaced run in every mode that can build it, as CSV\n"
    "\n"
    "A mode is marked fastest (*) only when it beat the runner-up in clearly more than\n"
    "half of the interleaved rounds (a sign test). See man rdbox-compare.";

constexpr const char* kPipelineExamples =
    "Examples:\n"
    "  rdbox pipeline 'ls -al /usr/lib/python3' 'grep -F .py' 'wc -l'\n"
    "      three stages joined by pipes, each one's pid and status reported, in order\n"
    "  rdbox pipeline --pipefail --newpid --rootfs rootfs -- 'cat /etc/passwd' 'grep root' 'cut -d: -f1'\n"
    "      in a root with no shell: rdbox's init at PID 1 starts the stages\n"
    "  rdbox pipeline --report json --report-fd 3 -- yes 'head -n 1' 3>report.json\n"
    "      yes ends of SIGPIPE as head exits; every stage's status in report.json\n"
    "\n"
    "Each stage is one argument, split into words with shell-like quoting ('...', \"...\",\n"
    "backslash) but no shell: nothing is expanded. Exit status: the last stage's (with\n"
    "--pipefail the last non-zero stage's); 125 when rdbox failed. See man rdbox-pipeline.";

constexpr const char* kDoctorExamples =
    "Examples:\n"
    "  rdbox doctor\n"
    "      what this host allows you: user namespaces, id maps, overlayfs, cgroups\n"
    "  setpriv --reuid=65534 --regid=65534 --clear-groups rdbox doctor\n"
    "      the same for an unprivileged user, with the fix for each \"no\"\n"
    "  rdbox doctor | grep -A3 '^user namespaces'\n"
    "      one section\n"
    "\n"
    "Exit status: 0 (a report, not a verdict: problems are listed in it). See man rdbox-doctor.";

}  // namespace

// runc's form (engines and people read the first line; `spec:` is the OCI runtime spec
// version rdbox implements), with the git revision rdbox was configured from.
std::string version_text() {
  return std::string("rdbox version ") + RDBOX_VERSION + "\ncommit: " + RDBOX_GIT_REVISION +
         "\nspec: " + oci::kSpecVersion + "\n";
}

std::string overview_text() {
  return "rdbox: launch a command with the process-creation primitive you choose, optionally\n"
         "in new namespaces and a private root, and say what happened.\n"
         "\n"
         "Usage: rdbox [-v] [--log-level LEVEL] SUBCOMMAND [OPTIONS] [--] [COMMAND [ARG...]]\n"
         "\n"
         "Subcommands:\n"
         "  run      Run COMMAND with the chosen primitive and report the outcome\n"
         "  compare  Run COMMAND through every creation mode and show the contrast\n"
         "  pipeline Run commands joined by pipes in one sandbox, every stage's status\n"
         "  doctor   Say what this host allows for sandboxes, and what to change\n"
         "\n"
         "Try:  rdbox run --vm -- /bin/echo \"Hello Docker\"\n"
         "More: rdbox SUBCOMMAND --help, rdbox --help, man rdbox\n";
}

void decorate_help(CLI::App& app, CLI::App* run, CLI::App* compare, CLI::App* pipeline, CLI::App* doctor) {
  app.formatter(std::make_shared<Formatter>());
  app.footer(
      "Examples:\n"
      "  rdbox run --vm -- /bin/echo \"Hello Docker\"\n"
      "  rdbox compare -n 100 -- /bin/true\n"
      "  rdbox pipeline 'ls -al' 'grep -F .py' 'wc -l'\n"
      "  rdbox doctor\n"
      "\n"
      "Without a subcommand rdbox prints a short overview and exits 125 (it ran nothing).\n"
      "See rdbox SUBCOMMAND --help and man rdbox.");
  for (CLI::App* sub : {run, compare, pipeline, doctor}) sub->formatter(std::make_shared<Formatter>());
  run->footer(kRunExamples);
  compare->footer(kCompareExamples);
  pipeline->footer(kPipelineExamples);
  doctor->footer(kDoctorExamples);
}

}  // namespace rdbox::cli
