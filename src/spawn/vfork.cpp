// vfork(2) + exec: the child borrows rdbox's memory and rdbox is suspended until the
// child execs or exits. The stub obeys the shared-memory rules (stub.cpp). The system call
// is raw (raw_clone.hpp): the child runs the stub below this frame, never in it, and no
// sanitizer runtime turns it into a fork.
#include "../stub/stub.hpp"
#include "launch.hpp"
#include "raw_clone.hpp"

namespace rdbox {

pid_t spawn_vfork(const PlanView* view) {
  return static_cast<pid_t>(rdbox_vfork(exec_stub_entry, const_cast<PlanView*>(view)));
}

}  // namespace rdbox
