// What each creation mode can do, in one constexpr table. Validation reads it to refuse
// what a mode cannot honour (and compare, through validation, to skip such a mode), the
// tests iterate it, and the README's table says the same.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string_view>

#include "rdbox/spec.hpp"

namespace rdbox {

struct ModeTraits {
  std::string_view name;  // as `rdbox compare --modes` names it
  Mode mode;
  bool vm, vfork;              // CLONE_VM, CLONE_VFORK (clone only)
  bool runs_stub;              // rdbox code runs in the child between creation and exec
  bool shares_memory;          // the child shares rdbox's address space until it execs
  bool suspends_parent;        // rdbox waits in the primitive until the child execs
  bool can_sandbox;            // namespaces, a root filesystem, --user: built by the stub
  bool can_make_user_ns;       // the kernel refuses unshare(CLONE_NEWUSER) to a process sharing memory
  bool can_new_pid;            // the command (or an init) can be PID 1 of a new PID namespace
  bool can_wait_for_parent;    // the child may wait for rdbox (id maps written by rdbox)
  bool can_run_init;           // an init that never execs: it must not share rdbox's memory or keep it waiting
};

inline constexpr ModeTraits kModeTraits[] = {
    // name            mode          vm     vfork  stub   shares suspend sandbox userns newpid wait   init
    {"fork",           Mode::fork,   false, false, true,  false, false,  true,   true,  true,  true,  true},
    {"vfork",          Mode::vfork,  false, false, true,  true,  true,   true,   false, false, false, false},
    {"clone",          Mode::clone,  false, false, true,  false, false,  true,   true,  true,  true,  true},
    {"clone-vm",       Mode::clone,  true,  false, true,  true,  false,  true,   true,  true,  true,  false},
    {"clone-vm-vfork", Mode::clone,  true,  true,  true,  true,  true,   true,   true,  true,  false, false},
    {"spawn",          Mode::spawn,  false, false, false, true,  true,   false,  false, false, false, false},
};

// The row for a mode and its clone flags (CLONE_VM and CLONE_VFORK pick the clone rows;
// CLONE_VFORK without CLONE_VM behaves as clone-vm-vfork does for what the table says).
constexpr const ModeTraits& mode_traits(Mode mode, std::uint64_t clone_flags) {
  if (mode != Mode::clone) {
    for (const auto& t : kModeTraits)
      if (t.mode == mode) return t;
  }
  bool vm = clone_flags & CLONE_VM, vfork = clone_flags & CLONE_VFORK;
  if (vfork) return kModeTraits[4];
  return vm ? kModeTraits[3] : kModeTraits[2];
}

}  // namespace rdbox
