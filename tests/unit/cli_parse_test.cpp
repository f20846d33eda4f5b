// The command line → CommandLine without running anything (src/cli/parse.cpp), and
// prepare_run / prepare_compare for given host facts: what the cmdline fuzz target drives.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"

using rdbox::cli::CommandLine;

namespace {

struct Parsed {
  std::unique_ptr<CommandLine> cl = std::make_unique<CommandLine>();
  rdbox::Status status = rdbox::ok();
};

// CLI11's bindings point into the CommandLine: it is parsed in place, never moved.
Parsed parse(std::vector<std::string> words) {
  words.insert(words.begin(), "rdbox");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  Parsed p;
  p.status = rdbox::cli::parse_command_line(static_cast<int>(words.size()), argv.data(), *p.cl);
  return p;
}

rdbox::HostFacts unprivileged() {
  rdbox::HostFacts f;
  f.euid = f.egid = 65534;
  f.pid = 4242;
  return f;
}

char* kEnv[] = {nullptr};

}  // namespace

TEST(CliParse, RunCommandAndOptionsAreSeparated) {
  Parsed p = parse({"run", "--mode", "fork", "--", "sh", "-c", "exit 3"});
  ASSERT_TRUE(p.status.ok()) << p.status.error().what();
  EXPECT_EQ(p.cl->action, CommandLine::Action::run);
  EXPECT_EQ(p.cl->spec.command, (std::vector<std::string>{"sh", "-c", "exit 3"}));
  EXPECT_EQ(p.cl->args.mode, "fork");
}

TEST(CliParse, CliElevensRefusalsAreErrorsNotExits) {
  for (auto words : std::vector<std::vector<std::string>>{
           {"run", "--mode"}, {"run", "--newpdi", "--", "true"}, {"runn"}, {"--log-level", "x", "run", "--", "true"},
           {"compare", "-n"}}) {
    Parsed p = parse(words);
    ASSERT_FALSE(p.status.ok()) << words[0];
    EXPECT_FALSE(p.status.error().what().empty());
  }
}

TEST(CliParse, HelpIsTextToPrintAndNoSubcommandIsTheOverview) {
  Parsed h = parse({"run", "--help"});
  ASSERT_TRUE(h.status.ok());
  EXPECT_EQ(h.cl->action, CommandLine::Action::help);
  EXPECT_NE(h.cl->text.find("Usage"), std::string::npos);
  Parsed none = parse({});
  ASSERT_TRUE(none.status.ok());
  EXPECT_EQ(none.cl->action, CommandLine::Action::overview);
  Parsed v = parse({"-v"});
  ASSERT_TRUE(v.status.ok());
  EXPECT_EQ(v.cl->action, CommandLine::Action::overview);
}

TEST(CliParse, PrepareRunPlansWithoutSpawningAndRefusesInOneError) {
  Parsed p = parse({"run", "--dry-run", "--newpid", "--newuser", "--", "/bin/true"});
  ASSERT_TRUE(p.status.ok());
  rdbox::HostFacts f = unprivileged();
  auto r = rdbox::cli::prepare_run(p.cl->spec, p.cl->args, false, kEnv, &f);
  ASSERT_TRUE(r.ok()) << r.error().what();
  Parsed bad = parse({"run", "--stack-size", "0", "--", "/bin/true"});
  ASSERT_TRUE(bad.status.ok());
  auto e = rdbox::cli::prepare_run(bad.cl->spec, bad.cl->args, false, kEnv, &f);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("--stack-size"), std::string::npos);
}

TEST(CliParse, PipelineStagesAreSplitByPrepare) {
  Parsed p = parse({"pipeline", "--", "echo hi", "tr a-z A-Z"});
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.cl->action, CommandLine::Action::pipeline);
  rdbox::HostFacts f = unprivileged();
  auto r = rdbox::cli::prepare_run(p.cl->spec, p.cl->args, true, kEnv, &f);
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(p.cl->spec.pipeline.size(), 2u);
  Parsed bad = parse({"pipeline", "--", "echo \"unbalanced", "cat"});
  ASSERT_TRUE(bad.status.ok());
  EXPECT_FALSE(rdbox::cli::prepare_run(bad.cl->spec, bad.cl->args, true, kEnv, &f).ok());
}

TEST(CliParse, CompareIsPreparedAndAnEmptyModeIsOneError) {
  Parsed p = parse({"compare", "--modes", "fork,vfork", "-n", "5", "--", "true"});
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.cl->action, CommandLine::Action::compare);
  EXPECT_TRUE(rdbox::cli::prepare_compare(p.cl->cmp, p.cl->args, p.cl->cargs).ok());
  Parsed bad = parse({"compare", "--modes", "fork,,clone", "--", "true"});
  ASSERT_TRUE(bad.status.ok());
  auto s = rdbox::cli::prepare_compare(bad.cl->cmp, bad.cl->args, bad.cl->cargs);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().what().find("--modes"), std::string::npos);
}
