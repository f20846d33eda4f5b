// Report: the only code that formats an Outcome, as text lines or one JSON object.
#pragma once

#include <array>
#include <string>

#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

inline constexpr int kReportSchemaVersion = 1;

// "1234 exited with status 0" / "1234 killed by signal 9 (SIGKILL)[, core dumped]" /
// for failures the error line "rdbox: exec \"x\": No such file or directory".
std::string text_report(const Outcome& out);
// "1234 stopped by signal 19 (SIGSTOP)" / "1234 continued".
std::string event_line(pid_t pid, const ChildEvent& ev);
// The clone flags the primitive of `mode` passes to the kernel (fork: none; vfork and
// glibc's posix_spawn: CLONE_VM|CLONE_VFORK; clone: the Plan's, plus CLONE_PIDFD).
std::uint64_t primitive_clone_flags(Mode mode, std::uint64_t plan_flags);
// --dry-run: the resolved plan, every step, mount and map in order.
std::string dry_run_json(const Spec& spec, const Plan& plan);
// One JSON object (schema_version 1), no trailing newline.
std::string json_report(const Spec& spec, const Plan* plan, const Outcome& out);

}  // namespace rdbox
