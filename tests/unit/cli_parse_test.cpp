// The command line's parser (src/cli/parse.cpp) without running anything: what the
// fuzz target cmdline drives, with the cases that found bugs kept as regressions.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cli/parse.hpp"

using rdbox::cli::CommandLine;

namespace {
rdbox::Expected<CommandLine> parse(std::vector<std::string> words) {
  words.insert(words.begin(), "rdbox");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  auto cl = std::make_unique<CommandLine>();
  auto s = rdbox::cli::parse_command_line(static_cast<int>(words.size()), argv.data(), *cl);
  if (!s) return s.error();
  return std::move(*cl);
}
std::string error_of(std::vector<std::string> words) {
  auto cl = parse(std::move(words));
  return cl ? std::string("(accepted)") : cl.error().what();
}
}  // namespace

TEST(CliParse, RunGivesAValidatedSpec) {
  auto cl = parse({"run", "--mode", "fork", "-e", "A=1", "--", "sh", "-c", "exit 3"});
  ASSERT_TRUE(cl) << cl.error().what();
  EXPECT_EQ(cl->action, CommandLine::Action::run);
  EXPECT_EQ(cl->spec.mode, rdbox::Mode::fork);
  EXPECT_EQ(cl->spec.command, (std::vector<std::string>{"sh", "-c", "exit 3"}));
  ASSERT_EQ(cl->spec.env.size(), 1u);
}

TEST(CliParse, HelpIsTextToPrint) {
  auto cl = parse({"run", "--help"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->action, CommandLine::Action::print);
  EXPECT_EQ(cl->exit_code, 0);
  EXPECT_NE(cl->text.find("--report-file"), std::string::npos);
}

TEST(CliParse, EmptyValuesAreErrorsNotDefaults) {
  EXPECT_NE(error_of({"run", "--user", "", "id"}).find("--user"), std::string::npos);
  EXPECT_NE(error_of({"run", "--time-offset", "", "true"}).find("--time-offset"), std::string::npos);
  EXPECT_NE(error_of({"run", "--preserve-fds", "", "true"}).find("--preserve-fds"), std::string::npos);
  EXPECT_NE(error_of({"--log-level", "", "run", "true"}).find("--log-level"), std::string::npos);
  EXPECT_NE(error_of({"compare", "--rss", "", "true"}).find("--rss"), std::string::npos);
  EXPECT_NE(error_of({"compare", "--modes", "", "true"}).find("--modes"), std::string::npos);
  EXPECT_NE(error_of({"run", "--env-file", "", "true"}).find("--env-file"), std::string::npos);
}

TEST(CliParse, RepeatedSingleValuesAreErrors) {
  EXPECT_NE(error_of({"run", "--hostname", "a", "--hostname", "b", "true"}), "(accepted)");
  EXPECT_NE(error_of({"run", "--time-offset", "monotonic=1,monotonic=2", "true"}).find("more than once"),
            std::string::npos);
}

TEST(CliParse, EnvFileMustBeARegularFileOfBoundedSize) {
  EXPECT_NE(error_of({"run", "--env-file", "/dev/zero", "true"}).find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of({"run", "--env-file", "/", "true"}).find("not a regular file"), std::string::npos);
}

// Found by the cmdline fuzz target: argv with no subcommand at all.
TEST(CliParse, NoSubcommandIsOneError) {
  auto cl = parse({});
  ASSERT_FALSE(cl);
  EXPECT_NE(cl.error().what().find("subcommand"), std::string::npos) << cl.error().what();
}

