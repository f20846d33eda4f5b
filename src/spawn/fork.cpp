// fork(2) + exec: the child gets a copy-on-write copy of rdbox's memory.
#include <unistd.h>

#include <cerrno>

#include "../stub/stub.hpp"
#include "launch.hpp"

namespace rdbox {

pid_t spawn_fork(const PlanView* view) {
  pid_t pid = ::fork();
  if (pid == 0) exec_stub(view);
  return pid < 0 ? -errno : pid;
}

}  // namespace rdbox
