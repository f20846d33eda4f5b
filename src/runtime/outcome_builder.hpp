// OutcomeBuilder: the only writer of an Outcome while a run is supervised. Each fact has
// one place where it is set, and the first writer wins (a failure record, an exit).
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"

namespace rdbox {

class OutcomeBuilder {
 public:
  OutcomeBuilder(const Plan& plan, Outcome& out) : plan_(plan), out_(out) {}

  // Before the loop: what the launch saw.
  void launched(pid_t pid, std::int64_t t_start_ns, std::int64_t t_spawned_ns, long minflt, bool suspended);
  // One record from the stub's report pipe (or the launch's handshake).
  void record(const StubRecord& r);
  // The report pipe hung up: exec happened, unless a failure record came first.
  void report_closed(std::int64_t now, bool token_seen, bool slept, std::int64_t t_spawned_ns);
  // posix_spawn: returned after the exec; no pipe to read.
  void exec_without_stub();
  // A stop or continue; false when it repeats the last one (it was seen twice).
  bool event(const ChildEvent& ev);
  const ChildEvent* last_event() const { return have_last_ ? &last_ : nullptr; }
  void exited(const siginfo_t& si, const struct rusage& ru);
  // The init (or relay) passed up the command's own wait status: it wins over the init's.
  // The first one counts: in fork mode with --newpid --init the init writes the command's
  // status before it exits, and only then can the relay reap it and write the init's.
  void command_ended(int wait_status) {
    if (!have_command_status_) command_status_ = wait_status, have_command_status_ = true;
  }
  void add_step(const std::string& name, double us);
  // The time limit ended the run: whatever the command's end, the outcome is a timeout.
  void timed_out(double limit_s) { timed_out_ = true, out_.timeout_s = limit_s; }
  void finish(std::int64_t now);
  // rdbox pipeline: a stage said who it is (pid as rdbox sees it, and as its parent does),
  // sent one of its own records (its exec time, its failure), or its parent reaped it.
  void stage_started(std::size_t k, pid_t pid, pid_t ns_pid, std::int64_t t_ns);
  void stage_record(std::size_t k, const StubRecord& r);
  void stage_ended(const StageEndRecord& e);

  bool failed() const { return failed_; }
  bool done() const { return done_; }
  std::int64_t exec_at() const { return exec_at_; }

 private:
  void step_record(const StubRecord& r);
  void failure_record(const StubRecord& r);
  void confinement_record(const StubRecord& r);

  const Plan& plan_;
  Outcome& out_;
  std::int64_t t_start_ = 0, prev_step_t_ = 0, exec_at_ = 0;
  bool failed_ = false, done_ = false, have_last_ = false, timed_out_ = false;
  ChildEvent last_{ChildEvent::continued, 0};
  int command_status_ = 0;
  bool have_command_status_ = false;
  std::vector<std::int64_t> stage_exec_ns_;  // each stage's execve, by its own clock record
};

// "bind \"/x\" on \"/r/y\"", "pivot_root to \"/r\"", ... for mount step `item` of the Plan.
std::string describe_mount_step(const Plan& plan, unsigned item);

// What a failed stub step was doing, from the Plan's own strings: "exec \"x\"",
// "mount overlay on \"/r/merged\"", "hostname \"h\""... (the message is this + strerror).
std::string describe_failure(const Plan& plan, Step step, unsigned item, int err);

// What to check after a failed step, or "".
std::string hint_for(Step step, int err, bool namespaces);

}  // namespace rdbox
