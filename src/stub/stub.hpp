#pragma once

#include "rdbox/plan.hpp"

namespace rdbox {

// The child side of every stub-running strategy. Runs the Plan's steps and execs the
// command; never returns. On failure it writes one StubRecord to view->report_fd and
// _exits with 125 (setup), 126 (found but not executable) or 127 (not found).
[[noreturn]] void exec_stub(const PlanView* view);

// clone(2) entry point: `arg` is a const PlanView*.
int exec_stub_entry(void* arg);

}  // namespace rdbox
