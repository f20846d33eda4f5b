// Integration tests for the command line itself and the report channel: --report-fd,
// --help, --version, bare rdbox, unknown options. The real binary, root and rootless.
#include <fcntl.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace itest;

namespace {

struct Fds {
  int r = -1, w = -1;
  Fds() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) r = p[0], w = p[1];
  }
  ~Fds() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  // Everything written, once every writer is gone (rdbox has exited).
  std::string drain() {
    if (w >= 0) ::close(w);
    w = -1;
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(r, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
    return s;
  }
};

struct Variant {
  const char* name;
  std::vector<std::string> flags;
};
const Variant kVariants[] = {
    {"fork", {"--mode", "fork"}},   {"vfork", {"--mode", "vfork"}},   {"clone", {"--mode", "clone"}},
    {"vm", {"--vm"}},               {"vm_vfork", {"--vm", "--vfork"}}, {"spawn", {"--mode", "spawn"}},
    {"init", {"--newuser", "--init"}},
};

class ReportFd : public RdboxTest, public ::testing::WithParamInterface<Variant> {
 protected:
  std::vector<std::string> args(const std::vector<std::string>& opts, const std::vector<std::string>& cmd) const {
    std::vector<std::string> a{"run"};
    a.insert(a.end(), GetParam().flags.begin(), GetParam().flags.end());
    a.insert(a.end(), opts.begin(), opts.end());
    a.push_back("--");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }
};

TEST_P(ReportFd, JsonReportGoesToTheFdAndTheFdNotToTheCommand) {
  Fds report;
  ASSERT_GE(report.w, 0);
  RunOptions o;
  o.fds = {{report.w, 5}};
  Result r = run(args({"--report", "json", "--report-fd", "5"}, probe_command()), o);
  if (std::string(GetParam().name) == "init" && r.exit_code == 125 && r.err.find("user") != std::string::npos)
    GTEST_SKIP() << "no user namespaces here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // nothing of the report on stderr
  Probe p = parse_probe(r.out);
  ASSERT_TRUE(p.ok) << r.out;
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2})) << p.get("fds");
  auto j = parse_json(report.drain());
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["schema_version"], 1);
  EXPECT_EQ((*j)["outcome"], "exited");
  EXPECT_EQ((*j)["exit_code"], 0);
}

TEST_P(ReportFd, TextReportNeverMixesWithTheCommandsStderr) {
  Fds report;
  RunOptions o;
  o.fds = {{report.w, 3}};
  Result r = run(args({"--report-fd", "3"}, {"sh", "-c", "echo out; echo err >&2; exit 3"}), o);
  if (std::string(GetParam().name) == "init" && r.exit_code == 125) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_TRUE(std::regex_match(report.drain(), std::regex(R"(\d+ exited with status 3\n)")));
}

INSTANTIATE_TEST_SUITE_P(Modes, ReportFd, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& i) { return std::string(i.param.name); });

class Cli : public RdboxTest {
 protected:
  TempDir tmp;
  // Bad input: exit 125, one line on stderr, nothing on stdout, nothing run.
  void refused(std::vector<std::string> opts, const std::string& needle, RunOptions o = {}) {
    std::string marker = tmp / "ran";
    std::vector<std::string> a{"run"};
    a.insert(a.end(), opts.begin(), opts.end());
    for (const char* w : {"--", "touch"}) a.push_back(w);
    a.push_back(marker);
    Result r = run(a, o);
    EXPECT_EQ(r.exit_code, 125) << r.err;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(file_exists(marker));
  }
};

TEST_F(Cli, BadReportFdIsRefusedInOneLine) {
  refused({"--report-fd", "47"}, "--report-fd 47: descriptor 47 is not open");
  refused({"--report-fd", "-1"}, "--report-fd: \"-1\" is not a descriptor number");
  refused({"--report-fd", "x"}, "--report-fd: \"x\" is not a descriptor number");
  refused({"--report-fd", "3x"}, "is not a descriptor number");
  int ro = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  RunOptions o;
  o.fds = {{ro, 4}};
  refused({"--report-fd", "4"}, "descriptor 4 is open for reading only", o);
  ::close(ro);
  Fds w;
  o.fds = {{w.w, 3}};
  refused({"--report-fd", "3", "--report-file", tmp / "r"}, "not both", o);
  EXPECT_FALSE(file_exists(tmp / "r"));
  refused({"--report-fd", "3", "--preserve-fds", "1"}, "also passed to the command by --preserve-fds", o);
}

TEST_F(Cli, ReportFdWithAFailureStillSaysItOnStderr) {
  Fds report;
  RunOptions o;
  o.fds = {{report.w, 3}};
  Result r = run({"run", "--report", "json", "--report-fd", "3", "--", "/nonexistent/cmd"}, o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  auto j = parse_json(report.drain());
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["outcome"], "exec_failed");
}

TEST_F(Cli, UnknownOptionsNameTheNearest) {
  Result r = run({"run", "--newpdi", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "rdbox: unknown option \"--newpdi\" for rdbox run (did you mean --newpid?)\n");
  r = run({"compare", "--touhc", "--", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("did you mean --touch?"), std::string::npos) << r.err;
  r = run({"--verbos", "run", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("did you mean --verbose?"), std::string::npos) << r.err;
  r = run({"run", "--modes", "fork", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("it is an option of rdbox compare"), std::string::npos) << r.err;
  r = run({"run", "--zzzzzzzzzz", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  // The command's own options are never rdbox's business.
  r = run({"run", "--report", "none", "--", "sh", "-c", "echo $0", "--newpdi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "--newpdi\n");
}

TEST_F(Cli, BareRdboxPrintsTheOverview) {
  Result r = run({});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "");
  for (const char* s : {"Usage: rdbox", "run ", "compare ", "doctor ", "--help"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  // Options alone are no subcommand either; a broken option is bad input.
  Result v = run({"-v"});
  EXPECT_EQ(v.exit_code, 125);
  EXPECT_EQ(v.out, r.out);
  Result bad = run({"--log-level"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err_lines().size(), 1u) << bad.err;
}

TEST_F(Cli, VersionHasTheGitRevision) {
  Result r = run({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(rdbox version \d+\.\d+\.\d+\ncommit: ([0-9a-f]{12}|unknown)\nspec: 1\.\d+\.\d+\n)"))) << r.out;
  Result v = run({"-v", "--version"});  // not alone: through CLI11
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, r.out);
}

TEST_F(Cli, HelpHasTypedMetavarsTheCommandAndExamples) {
  Result r = run({"run", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: rdbox run [OPTIONS] [--] COMMAND [ARG...]"), std::string::npos) << r.out;
  for (const char* s : {"--stack-size SIZE", "--rootfs DIR", "--bind SRC[:DST]", "--env KEY=VAL",
                        "--preserve-fds N", "--report-fd N", "--user UID[:GID]", "Examples:"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  EXPECT_EQ(r.out.find(" TEXT"), std::string::npos) << r.out;
  for (const char* sub : {"run", "compare", "doctor"}) {
    Result h = run({sub, "--help"});
    EXPECT_EQ(h.exit_code, 0);
    auto ex = h.out.find("Examples:\n");
    ASSERT_NE(ex, std::string::npos) << sub;
    int n = 0;
    for (const auto& line : split_lines(h.out.substr(ex)))
      if (line.rfind("  ", 0) == 0 && line.rfind("   ", 0) != 0 && line.find("rdbox ") != std::string::npos) ++n;
    EXPECT_EQ(n, 3) << sub << "\n" << h.out;
  }
}

}  // namespace
