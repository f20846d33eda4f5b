// Instance's lifecycle: create → start → wait, a start gate that holds the child set up
// but not exec'd, and detach() handing the child to another parent.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "rdbox/plan.hpp"
#include "rdbox/run.hpp"
#include "runtime/instance.hpp"

namespace {

rdbox::SandboxConfig gated(const std::string& script) {
  rdbox::SandboxConfig c;
  c.launch.start_gate = true;
  rdbox::ProcessConfig p;
  p.argv = {"/bin/sh", "-c", script};
  p.env = {"PATH=/usr/bin:/bin"};
  c.processes.push_back(p);
  return c;
}

// What the child is running now: its /proc/PID/exe.
std::string exe_of(pid_t pid) {
  char buf[4096];
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string self_exe() { return exe_of(::getpid()); }

}  // namespace

TEST(Instance, TheStartGateHoldsTheChildBeforeExec) {
  auto c = gated("exit 5");
  auto plan = rdbox::plan(c, rdbox::HostFacts::probe(c));
  ASSERT_TRUE(plan.ok()) << plan.error().what();
  auto sup = rdbox::Supervisor::create({});
  ASSERT_TRUE(sup.ok());
  rdbox::ChildStack stack;
  rdbox::Step failed{};
  auto inst = rdbox::Instance::create(plan.value(), stack, false, &failed);
  ASSERT_TRUE(inst.ok()) << inst.error().what();
  pid_t pid = inst.value()->pid();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(exe_of(pid), self_exe()) << "the child exec'd before start()";
  ASSERT_TRUE(inst.value()->start().ok());
  rdbox::Outcome out;
  inst.value()->wait(*sup.value(), out, {});
  EXPECT_EQ(out.kind, rdbox::OutcomeKind::exited) << out.message;
  EXPECT_EQ(out.code, 5);
}

TEST(Instance, DestroyedBeforeStartLeavesNothing) {
  auto c = gated("exit 0");
  auto plan = rdbox::plan(c, rdbox::HostFacts::probe(c));
  ASSERT_TRUE(plan.ok());
  rdbox::ChildStack stack;
  rdbox::Step failed{};
  pid_t pid;
  {
    auto inst = rdbox::Instance::create(plan.value(), stack, false, &failed);
    ASSERT_TRUE(inst.ok());
    pid = inst.value()->pid();
  }
  // Killed and reaped by the destructor: the pid is no child of ours any more.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(Instance, DetachHandsTheChildToAnotherParent) {
  auto c = gated("exit 7");
  c.launch.die_with_parent = false;  // what an OCI create asks: the container outlives rdbox
  auto plan = rdbox::plan(c, rdbox::HostFacts::probe(c));
  ASSERT_TRUE(plan.ok());
  rdbox::ChildStack stack;
  rdbox::Step failed{};
  rdbox::Instance::Detached d;
  {
    auto inst = rdbox::Instance::create(plan.value(), stack, false, &failed);
    ASSERT_TRUE(inst.ok());
    d = inst.value()->detach();
  }
  ASSERT_GT(d.pid, 0);
  ASSERT_TRUE(d.gate);
  EXPECT_EQ(::kill(d.pid, 0), 0) << "the Instance killed a detached child";
  EXPECT_EQ(exe_of(d.pid), self_exe());
  char one = 1;
  ASSERT_EQ(::write(d.gate.get(), &one, 1), 1);  // what a later `start` does
  int status = 0;
  ASSERT_EQ(::waitpid(d.pid, &status, 0), d.pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(Instance, APipelineFromTheNeutralConfig) {
  // rdbox pipeline without the CLI: rdbox::run(config) with library defaults (no signalfd,
  // no subreaper), one process per stage, every stage's status in the Outcome.
  rdbox::SandboxConfig c;
  for (const char* script : {"echo one; echo two", "cat; exit 3", "wc -l >/dev/null"}) {
    rdbox::ProcessConfig p;
    p.argv = {"/bin/sh", "-c", script};
    p.env = {"PATH=/usr/bin:/bin"};
    c.processes.push_back(p);
  }
  c.pipeline = true;
  rdbox::Outcome out = rdbox::run(c);
  ASSERT_EQ(out.stages.size(), 3u) << out.message;
  EXPECT_EQ(out.kind, rdbox::OutcomeKind::exited);
  EXPECT_EQ(out.exit_code(), 0);  // the last stage's
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_TRUE(out.stages[k].ended) << k;
    EXPECT_GT(out.stages[k].pid, 0) << k;
    EXPECT_EQ(out.stages[k].exit_code(), k == 1 ? 3 : 0) << k;
  }
  c.pipefail = true;
  EXPECT_EQ(rdbox::run(c).exit_code(), 3);
}
