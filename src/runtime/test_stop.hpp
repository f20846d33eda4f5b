// A test-only hook (docs/reliability.md, tests/stress/fault_test.cpp): with
// RDBOX_TEST_STOP_AT=<point> in its environment, rdbox stops itself (SIGSTOP) in the
// parent at that point of a run, so that a test can SIGKILL it exactly there. Off unless
// set; read once per process. Never used by the stub (src/stub/ calls no libc).
//
// Points, in the order a run reaches them:
//   cgroup      the run's cgroup is made, no child yet
//   gate        spawn mode: glibc's child waits at the guard's gate, its pid not yet known
//   gated       spawn mode: the guard has a pidfd of it, the gate still closed
//               (these two: rdbox waits inside posix_spawn, so the guard SIGKILLs it)
//   spawned     the child exists (fork/clone: waiting at its barrier or running its steps;
//               vfork modes and spawn: it has execed already), before the handshakes
//   maps        the id maps are written, the child still waits at the map barrier
//   launched    the launch is complete (barrier released), the start gate still closed
//   exec        rdbox has seen the command's exec (the report pipe hung up)
//   exited      the command has been reaped, before the sweep of what it left behind
//   orphans     (once) the loop has waited for the command, before it reaps orphans: a
//               command that ends then must still be reaped as the command
#pragma once

#include <signal.h>

#include <cstdlib>
#include <cstring>

namespace rdbox {

inline void test_stop_at(const char* point) {
  static const char* const wanted = std::getenv("RDBOX_TEST_STOP_AT");
  if (wanted && std::strcmp(wanted, point) == 0) ::kill(::getpid(), SIGSTOP);
}

// The same, the first time only (a point a run may pass many times).
inline void test_stop_once_at(const char* point) {
  static bool done = false;
  if (done) return;
  static const char* const wanted = std::getenv("RDBOX_TEST_STOP_AT");
  if (!wanted || std::strcmp(wanted, point) != 0) return;
  done = true;
  ::kill(::getpid(), SIGSTOP);
}

}  // namespace rdbox
