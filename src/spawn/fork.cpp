// fork(2) + exec: the child gets a copy-on-write copy of rdbox's memory.
#include <unistd.h>

#include <cerrno>

#include "../stub/stub.hpp"
#include "launch.hpp"
#include "raw_clone.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RDBOX_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RDBOX_TSAN 1
#endif

namespace rdbox {

pid_t spawn_fork(const PlanView* view) {
#ifdef RDBOX_TSAN
  // ThreadSanitizer's fork() starts the runtime's background thread in the child of a
  // program with one thread: the stub would run as one of two threads, and
  // unshare(CLONE_NEWUSER) fails with EINVAL for a multi-threaded process. Under TSan
  // only, fork mode is the system call itself (raw_clone.hpp), as the stub's own forks are.
  return static_cast<pid_t>(rdbox_fork(exec_stub_entry, const_cast<PlanView*>(view)));
#else
  pid_t pid = ::fork();
  if (pid == 0) exec_stub(view);
  return pid < 0 ? -errno : pid;
#endif
}

}  // namespace rdbox
