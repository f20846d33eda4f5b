// vfork(2) + exec: the child borrows rdbox's memory and rdbox is suspended until the
// child execs or exits. The stub obeys the shared-memory rules (stub.cpp).
#include <unistd.h>

#include <cerrno>

#include "../stub/stub.hpp"
#include "../sys.hpp"
#include "launch.hpp"

namespace rdbox {

// The child runs in this frame on rdbox's stack until it execs (RDBOX_NO_SANITIZE).
__attribute__((noinline)) RDBOX_NO_SANITIZE pid_t spawn_vfork(const PlanView* view) {
  pid_t pid = ::vfork();
  if (pid == 0) exec_stub(view);
  return pid < 0 ? -errno : pid;
}

}  // namespace rdbox
