// --mode spawn with a sandbox: posix_spawn runs no rdbox code in the child, so rdbox
// builds the sandbox in itself (unshare, maps, mounts, pivot_root, hostname, loopback)
// and the child inherits it. Only for a process that launches once (`rdbox run`).
#pragma once

#include "guard.hpp"
#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"

namespace rdbox {

// Runs the Plan's sandbox steps in rdbox itself. The spawn guard (if any) is started
// between the user namespace and the rest: a process sharing rdbox's memory would make
// unshare(CLONE_NEWUSER) fail, and one created after unshare(CLONE_NEWPID) would be PID 1.
// On failure fills out (setup_failed, step, errno, message) and returns false.
bool setup_in_rdbox(const Plan& plan, const PlanView& view, SpawnGuard* guard, Outcome& out);

}  // namespace rdbox
