// Planning: what the child will touch, built in the parent. No process is spawned.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "rdbox/plan.hpp"
#include "rdbox/seccomp.hpp"

using namespace rdbox;

namespace {
struct FakeEnviron {
  std::vector<std::string> store;
  std::vector<char*> ptrs;
  explicit FakeEnviron(std::vector<std::string> vars) : store(std::move(vars)) {
    for (auto& s : store) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char** get() { return ptrs.data(); }
};
std::vector<std::string> strings(const std::vector<const char*>& v) {
  std::vector<std::string> out;
  for (const char* p : v)
    if (p) out.emplace_back(p);
  return out;
}
}  // namespace

TEST(Plan, ArgvAndArgv0) {
  Spec s;
  s.command = {"echo", "a", "b"};
  s.argv0 = "renamed";
  FakeEnviron env({"PATH=/x:/y"});
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(strings(p->argv), (std::vector<std::string>{"renamed", "a", "b"}));
  EXPECT_EQ(p->argv.back(), nullptr);
  EXPECT_EQ(p->display_name, "echo");
}

TEST(Plan, PathSearchUsesCommandEnvironment) {
  Spec s;
  s.command = {"tool"};
  FakeEnviron env({"PATH=/host/bin"});
  s.env.push_back({"PATH", std::string("/a::/b/")});
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->candidate_store, (std::vector<std::string>{"/a/tool", "tool", "/b/tool"}));
  PlanView v = p->view();
  EXPECT_EQ(v.n_candidates, 3u);
  EXPECT_STREQ(v.candidates[2], "/b/tool");
  EXPECT_EQ(v.candidates[3], nullptr);
}

TEST(Plan, SlashMeansNoSearchAndDefaultPath) {
  Spec s;
  s.command = {"./rel/tool"};
  FakeEnviron env({});
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->candidate_store, std::vector<std::string>{"./rel/tool"});
  s.command = {"tool"};
  s.clear_env = true;
  auto q = plan(s, env.get());
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->candidate_store, (std::vector<std::string>{"/usr/local/bin/tool", "/bin/tool", "/usr/bin/tool"}));
}

TEST(Plan, EnvironmentOrderAndOverrides) {
  Spec s;
  s.command = {"/bin/true"};
  FakeEnviron env({"HOME=/root", "KEEP=1", "TERM=xterm"});
  s.env = {{"A", std::string("file")}, {"KEEP", std::string("2")}, {"A", std::string("cli")}, {"TERM", std::nullopt},
           {"NOT_SET_ANYWHERE", std::nullopt}};
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(strings(p->envp), (std::vector<std::string>{"HOME=/root", "KEEP=2", "TERM=xterm", "A=cli"}));
  s.clear_env = true;
  auto q = plan(s, env.get());
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(strings(q->envp), (std::vector<std::string>{"A=cli", "KEEP=2", "TERM=xterm"}));
}

TEST(Plan, ShellFallbackArgvReservesCandidateSlot) {
  Spec s;
  s.command = {"script", "x", "y"};
  FakeEnviron env({});
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->sh_argv.size(), 5u);
  EXPECT_STREQ(p->sh_argv[0], "/bin/sh");
  EXPECT_EQ(p->sh_argv[1], nullptr);
  EXPECT_STREQ(p->sh_argv[2], "x");
  EXPECT_STREQ(p->sh_argv[3], "y");
  EXPECT_EQ(p->sh_argv[4], nullptr);
}

TEST(Plan, CloneFlagsAndStackRounding) {
  Spec s;
  s.command = {"/bin/true"};
  s.vm = true;
  s.stack_size = 20000;
  FakeEnviron env({});
  auto p = plan(s, env.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->clone_flags, std::uint64_t(CLONE_VM));
  EXPECT_EQ(p->stack_size % 4096, 0u);
  EXPECT_GE(p->stack_size, 20000u);
  s.vm = false;
  s.mode = Mode::fork;
  auto q = plan(s, env.get());
  EXPECT_EQ(q->clone_flags, 0u);
}

TEST(Plan, PrivateFilesOnlyWithoutVfork) {
  Spec s;
  s.command = {"/bin/true"};
  s.clone_flags = CLONE_FILES;
  FakeEnviron env({});
  auto p = plan(s, env.get());
  EXPECT_TRUE(p->view().private_files);
  s.vfork = true;
  auto q = plan(s, env.get());
  EXPECT_FALSE(q->view().private_files);
}

TEST(Seccomp, ThePrecompiledDefaultIsWhatLibseccompGivesNow) {
  // Drift between the build-time program and the profile's text would be a silent hole.
  auto pre = rdbox::precompiled_seccomp(rdbox::default_seccomp_profile(), rdbox::default_container_caps());
  ASSERT_TRUE(pre.has_value());
  auto now = rdbox::compile_seccomp_profile(rdbox::default_seccomp_profile(), "default", rdbox::default_container_caps());
  ASSERT_TRUE(now) << now.error().what();
  ASSERT_EQ(pre->filter.size(), now->filter.size());
  for (std::size_t i = 0; i < now->filter.size(); ++i) {
    EXPECT_EQ(pre->filter[i].code, now->filter[i].code) << i;
    EXPECT_EQ(pre->filter[i].k, now->filter[i].k) << i;
    EXPECT_EQ(pre->filter[i].jt, now->filter[i].jt) << i;
    EXPECT_EQ(pre->filter[i].jf, now->filter[i].jf) << i;
  }
  // Any other capability set or profile is compiled at run time.
  EXPECT_FALSE(rdbox::precompiled_seccomp(rdbox::default_seccomp_profile(), 0).has_value());
  EXPECT_FALSE(rdbox::precompiled_seccomp("{}", rdbox::default_container_caps()).has_value());
}
