// rdbox pipeline's word splitting and what a pipeline asks of the Spec. No process spawned.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rdbox/pipeline.hpp"
#include "rdbox/plan.hpp"

#include <sched.h>
#include <tuple>

using namespace rdbox;
using Words = std::vector<std::string>;

namespace {
Words split(const std::string& text) {
  auto w = split_stage(text);
  EXPECT_TRUE(w.ok()) << text << ": " << (w.ok() ? "" : w.error().what());
  return w.ok() ? w.value() : Words{"<error>"};
}
std::string error_of(const std::string& text) {
  auto w = split_stage(text);
  return w.ok() ? std::string() : w.error().what();
}
}  // namespace

TEST(SplitStage, BlanksSeparateWords) {
  EXPECT_EQ(split("ls -al /tmp"), (Words{"ls", "-al", "/tmp"}));
  EXPECT_EQ(split("  grep\t-F\n.py  "), (Words{"grep", "-F", ".py"}));
  EXPECT_EQ(split(""), Words{});
  EXPECT_EQ(split(" \t\n"), Words{});
}

TEST(SplitStage, SingleQuotesKeepEverything) {
  EXPECT_EQ(split("awk '{print $1}'"), (Words{"awk", "{print $1}"}));
  EXPECT_EQ(split("echo 'a \\ b \" c'"), (Words{"echo", "a \\ b \" c"}));
  EXPECT_EQ(split("echo 'a|b;c>d'"), (Words{"echo", "a|b;c>d"}));
  EXPECT_EQ(split("echo ''"), (Words{"echo", ""}));
}

TEST(SplitStage, DoubleQuotesEscapeOnlyFive) {
  EXPECT_EQ(split("echo \"a b\""), (Words{"echo", "a b"}));
  EXPECT_EQ(split(R"(echo "\" \\ \$ \`")"), (Words{"echo", "\" \\ $ `"}));
  EXPECT_EQ(split(R"(echo "\n\t\a")"), (Words{"echo", R"(\n\t\a)"}));  // any other: the backslash stays
  EXPECT_EQ(split("echo \"a\\\nb\""), (Words{"echo", "ab"}));           // backslash-newline: removed
  EXPECT_EQ(split("echo \"$HOME `id` $(id)\""), (Words{"echo", "$HOME `id` $(id)"}));
  EXPECT_EQ(split("echo \"\""), (Words{"echo", ""}));
}

TEST(SplitStage, BackslashOutsideQuotes) {
  EXPECT_EQ(split(R"(echo a\ b \' \" \\ \|)"), (Words{"echo", "a b", "'", "\"", "\\", "|"}));
  EXPECT_EQ(split("echo a\\\nb"), (Words{"echo", "ab"}));
  EXPECT_EQ(split(R"(find . -name x \;)"), (Words{"find", ".", "-name", "x", ";"}));
}

TEST(SplitStage, PartsJoinIntoOneWord) {
  EXPECT_EQ(split(R"(a'b'"c"d\ e)"), (Words{"abcd e"}));
  EXPECT_EQ(split("x=''\"\""), (Words{"x="}));
}

TEST(SplitStage, NothingIsExpanded) {
  EXPECT_EQ(split("echo $HOME ~ * ? [a] {a,b} #c `id` x=$y"),
            (Words{"echo", "$HOME", "~", "*", "?", "[a]", "{a,b}", "#c", "`id`", "x=$y"}));
  EXPECT_EQ(error_of("echo $(id)").find("unquoted '('"), 0u);  // quote it: "$(id)" is those five characters
}

TEST(SplitStage, RefusesWhatIsWrong) {
  EXPECT_EQ(error_of("grep 'x"), "unbalanced single quote");
  EXPECT_EQ(error_of("grep \"x"), "unbalanced double quote");
  EXPECT_EQ(error_of("grep \"x\\\""), "unbalanced double quote");
  EXPECT_EQ(error_of("echo x\\"), "ends with a lone backslash");
  EXPECT_EQ(error_of(std::string("echo a\0b", 8)), "holds a NUL byte");
  EXPECT_EQ(error_of(std::string("echo 'a\0b'", 10)), "holds a NUL byte");
  EXPECT_EQ(error_of(std::string("echo \"a\0b\"", 10)), "holds a NUL byte");
  for (char op : std::string("|&;<>()")) {
    std::string e = error_of(std::string("ls ") + op + " wc");
    EXPECT_EQ(e.find(std::string("unquoted '") + op + "'"), 0u) << op << ": " << e;
  }
}

TEST(SplitStages, NamesTheStage) {
  auto ok = split_stages({"ls -al", "grep -F .py", "wc -l"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), (std::vector<Words>{{"ls", "-al"}, {"grep", "-F", ".py"}, {"wc", "-l"}}));
  auto none = split_stages({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().what().find("pipeline: no stages"), 0u) << none.error().what();
  auto empty = split_stages({"ls", "  "});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().what(), "stage 2: is empty (every stage needs a command)");
  auto quote = split_stages({"ls", "wc", "grep 'x"});
  ASSERT_FALSE(quote.ok());
  EXPECT_EQ(quote.error().what(), "stage 3 (\"grep 'x\"): unbalanced single quote");
  auto blank_cmd = split_stages({"'' x"});
  ASSERT_FALSE(blank_cmd.ok());
  EXPECT_NE(blank_cmd.error().what().find("the command is an empty string"), std::string::npos);
  auto many = split_stages(std::vector<std::string>(kMaxStages + 1, "true"));
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().what().find("limit"), std::string::npos);
  EXPECT_TRUE(split_stages(std::vector<std::string>(kMaxStages, "true")).ok());
  // A very long stage is shown short in the message.
  auto long_stage = split_stages({std::string(10000, 'a') + "'"});
  ASSERT_FALSE(long_stage.ok());
  EXPECT_LT(long_stage.error().what().size(), 200u);
}

TEST(ValidatePipeline, ModesThatCannotBeTheStagesParentAreRefused) {
  Spec s;
  s.command = {"true", "true"};
  s.pipeline = {{"true"}, {"true"}};
  EXPECT_TRUE(s.validate().ok());
  s.mode = Mode::fork;
  EXPECT_TRUE(s.validate().ok());
  for (auto [mode, vm, vfork, opt] : {std::tuple{Mode::vfork, false, false, "--mode vfork"},
                                      std::tuple{Mode::spawn, false, false, "--mode spawn"},
                                      std::tuple{Mode::clone, true, false, "--vm"},
                                      std::tuple{Mode::clone, false, true, "--vfork"},
                                      std::tuple{Mode::clone, true, true, "--vfork"}}) {
    s.mode = mode;
    s.vm = vm;
    s.vfork = vfork;
    auto v = s.validate();
    ASSERT_FALSE(v.ok()) << opt;
    EXPECT_EQ(v.error().what().find(std::string(opt) + ": not with rdbox pipeline"), 0u) << v.error().what();
  }
  s.mode = Mode::clone;
  s.vm = s.vfork = false;
  s.argv0 = "x";
  ASSERT_FALSE(s.validate().ok());
  EXPECT_EQ(s.validate().error().what().find("--argv0"), 0u);
  s.argv0.reset();
  s.pipeline = {{"true"}, {}};
  ASSERT_FALSE(s.validate().ok());
  EXPECT_EQ(s.validate().error().what(), "stage 2: is empty (every stage needs a command)");
}

TEST(ToConfig, OneProcessPerStage) {
  Spec s;
  s.command = {"ls -al", "wc -l"};
  s.pipeline = {{"ls", "-al"}, {"wc", "-l"}};
  s.pipefail = true;
  s.workdir = "/tmp";
  char* env[] = {const_cast<char*>("PATH=/bin"), nullptr};
  SandboxConfig c = to_config(s, env);
  ASSERT_EQ(c.processes.size(), 2u);
  EXPECT_TRUE(c.pipeline);
  EXPECT_TRUE(c.pipefail);
  EXPECT_EQ(c.processes[0].argv, (Words{"ls", "-al"}));
  EXPECT_EQ(c.processes[1].argv, (Words{"wc", "-l"}));
  EXPECT_EQ(c.processes[1].cwd, "/tmp");
  EXPECT_EQ(c.processes[1].env, Words{"PATH=/bin"});
  s.pipeline.clear();
  SandboxConfig one = to_config(s, env);
  EXPECT_FALSE(one.pipeline);
  EXPECT_EQ(one.processes.size(), 1u);
}

namespace {
SandboxConfig two_stages() {
  SandboxConfig c;
  ProcessConfig a, b;
  a.argv = {"ls", "-al"};
  a.env = {"PATH=/x:/y"};
  b.argv = {"/bin/wc", "-l"};
  c.processes = {a, b};
  c.pipeline = true;
  return c;
}
}  // namespace

TEST(PlanPipeline, EachStageItsCommandAndTheStepAfterTheSandbox) {
  SandboxConfig c = two_stages();
  c.pipefail = true;
  auto p = plan(c, HostFacts{});
  ASSERT_TRUE(p.ok()) << p.error().what();
  ASSERT_EQ(p->stages.size(), 2u);
  EXPECT_TRUE(p->pipeline);
  EXPECT_FALSE(p->init);
  EXPECT_EQ(p->stages[0].candidate_store, (Words{"/x/ls", "/y/ls"}));
  EXPECT_EQ(p->stages[1].candidate_store, Words{"/bin/wc"});
  PlanView v = p->view();
  ASSERT_EQ(v.n_stages, 2u);
  EXPECT_TRUE(v.pipefail);
  EXPECT_STREQ(v.stages[1].argv[0], "/bin/wc");
  EXPECT_STREQ(v.stages[1].argv[1], "-l");
  EXPECT_EQ(v.stages[1].argv[2], nullptr);
  EXPECT_EQ(v.stages[0].n_candidates, 2u);
  EXPECT_EQ(v.stages[0].envp, p->envp.data());  // the first process's environment, not a copy
  EXPECT_STREQ(v.stages[0].envp[0], "PATH=/x:/y");
  EXPECT_EQ(v.stages[1].envp[0], nullptr);      // its own (empty) one
  EXPECT_STREQ(v.stages[0].sh_argv[0], "/bin/sh");
  EXPECT_STREQ(v.stages[0].sh_argv[2], "-al");
  ASSERT_NE(v.stage_pids, nullptr);
  ASSERT_NE(v.stage_ends, nullptr);
  EXPECT_EQ(p->stage_ends.size(), 3u);  // one per stage and the kCommandEnd after them
  // The pipeline step: after the sandbox's steps, before the per-process ones.
  std::size_t at = p->program.size(), fds = p->program.size();
  for (std::size_t i = 0; i < p->program.size(); ++i) {
    if (p->program[i].step == Step::pipeline) at = i;
    if (p->program[i].step == Step::fds) fds = i;
  }
  ASSERT_LT(at, p->program.size());
  EXPECT_LT(at, fds);
}

TEST(PlanPipeline, RefusesWhatTheStagesCannotShare) {
  SandboxConfig c = two_stages();
  c.processes[1].cwd = "/elsewhere";
  auto p = plan(c, HostFacts{});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().what().find("process 1: the stages of a pipeline share"), 0u) << p.error().what();
  c = two_stages();
  c.launch.mode = Mode::clone;
  c.launch.clone_flags = CLONE_VM;
  EXPECT_FALSE(plan(c, HostFacts{}).ok());
  c.launch.clone_flags = 0;
  c.launch.mode = Mode::spawn;
  EXPECT_FALSE(plan(c, HostFacts{}).ok());
  c.launch.mode = Mode::fork;
  EXPECT_TRUE(plan(c, HostFacts{}).ok());
  c.launch.start_gate = true;
  EXPECT_FALSE(plan(c, HostFacts{}).ok());
}
