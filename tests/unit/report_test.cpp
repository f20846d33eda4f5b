// The report: text lines and the JSON object, from hand-made Outcomes.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "rdbox/report.hpp"

using namespace rdbox;

TEST(TextReport, ExitedAndSignaled) {
  Outcome o;
  o.pid = 42;
  o.kind = OutcomeKind::exited;
  o.code = 3;
  EXPECT_EQ(text_report(o), "42 exited with status 3");
  EXPECT_EQ(o.exit_code(), 3);
  o.kind = OutcomeKind::signaled;
  o.signal = SIGKILL;
  EXPECT_EQ(text_report(o), "42 killed by signal 9 (SIGKILL)");
  EXPECT_EQ(o.exit_code(), 137);
  o.signal = SIGSEGV;
  o.core_dumped = true;
  EXPECT_EQ(text_report(o), "42 killed by signal 11 (SIGSEGV), core dumped");
}

TEST(TextReport, FailuresAndExitCodes) {
  Outcome o;
  o.kind = OutcomeKind::exec_failed;
  o.err = ENOENT;
  o.message = "exec \"/x\": No such file or directory";
  EXPECT_EQ(text_report(o), "rdbox: exec \"/x\": No such file or directory");
  EXPECT_EQ(o.exit_code(), 127);
  o.err = EACCES;
  EXPECT_EQ(o.exit_code(), 126);
  o.kind = OutcomeKind::setup_failed;
  EXPECT_EQ(o.exit_code(), 125);
  o.kind = OutcomeKind::spawn_failed;
  EXPECT_EQ(o.exit_code(), 125);
}

TEST(TextReport, Events) {
  EXPECT_EQ(event_line(7, {ChildEvent::stopped, SIGSTOP}), "7 stopped by signal 19 (SIGSTOP)");
  EXPECT_EQ(event_line(7, {ChildEvent::continued, 0}), "7 continued");
}

TEST(SignalName, Names) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
}

TEST(PrimitiveFlags, PerMode) {
  EXPECT_EQ(primitive_clone_flags(Mode::fork, 0), 0u);
  EXPECT_EQ(primitive_clone_flags(Mode::vfork, 0), std::uint64_t(CLONE_VM | CLONE_VFORK));
  EXPECT_EQ(primitive_clone_flags(Mode::clone, CLONE_VM) & CLONE_VM, std::uint64_t(CLONE_VM));
}

TEST(JsonReport, FieldsOfASuccessfulRun) {
  Spec s;
  s.command = {"/bin/echo", "hi"};
  s.vm = true;
  Outcome o;
  o.kind = OutcomeKind::exited;
  o.pid = 100;
  o.code = 0;
  o.shared_memory = true;
  o.parent_suspended = false;
  o.spawn_us = 10.4;
  o.exec_us = 20.6;
  o.exec_seen = true;
  o.total_us = 30;
  o.usage.maxrss_kb = 900;
  auto j = nlohmann::json::parse(json_report(s, nullptr, o));
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["command"], nlohmann::json({"/bin/echo", "hi"}));
  EXPECT_EQ(j["mode"], "clone");
  EXPECT_NE(std::find(j["clone_flags"].begin(), j["clone_flags"].end(), "CLONE_VM"), j["clone_flags"].end());
  EXPECT_EQ(j["stack_size"], kDefaultStackSize);
  EXPECT_EQ(j["pid"], 100);
  EXPECT_EQ(j["status"]["exited"], true);
  EXPECT_EQ(j["status"]["code"], 0);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["observed"]["shared_memory"], true);
  EXPECT_EQ(j["observed"]["parent_suspended"], false);
  EXPECT_EQ(j["timing_us"]["spawn"], 10);
  EXPECT_EQ(j["timing_us"]["exec"], 21);
  EXPECT_EQ(j["timing_us"]["total"], 30);
  for (const char* k : {"utime_us", "stime_us", "maxrss_kb", "minflt", "majflt", "nvcsw", "nivcsw"})
    EXPECT_TRUE(j["rusage"].contains(k)) << k;
  EXPECT_EQ(j["rusage"]["maxrss_kb"], 900);
  EXPECT_TRUE(j["error"].is_null());
}

TEST(JsonReport, SignaledAndFailed) {
  Spec s;
  s.command = {"x"};
  s.mode = Mode::fork;
  Outcome o;
  o.kind = OutcomeKind::signaled;
  o.pid = 5;
  o.signal = SIGTERM;
  auto j = nlohmann::json::parse(json_report(s, nullptr, o));
  EXPECT_EQ(j["status"]["exited"], false);
  EXPECT_EQ(j["status"]["signal"], SIGTERM);
  EXPECT_EQ(j["status"]["signal_name"], "SIGTERM");
  EXPECT_EQ(j["status"]["core_dumped"], false);
  EXPECT_EQ(j["exit_code"], 128 + SIGTERM);
  EXPECT_TRUE(j["stack_size"].is_null());

  o.kind = OutcomeKind::exec_failed;
  o.err = ENOENT;
  o.step = "exec";
  o.message = "exec \"x\": No such file or directory";
  j = nlohmann::json::parse(json_report(s, nullptr, o));
  EXPECT_EQ(j["exit_code"], 127);
  EXPECT_EQ(j["error"]["step"], "exec");
  EXPECT_EQ(j["error"]["errno"], ENOENT);
  EXPECT_EQ(j["error"]["message"], o.message);
  EXPECT_TRUE(j["timing_us"]["exec"].is_null());
}
