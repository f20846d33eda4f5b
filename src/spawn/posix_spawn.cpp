// posix_spawn(3): glibc creates the child (CLONE_VM|CLONE_VFORK internally) and runs its
// own child code, so the stub's steps are expressed as spawn attributes and file actions.
// PR_SET_PDEATHSIG has no such attribute: the spawn guard stands in for it (guard.hpp),
// its gate the first file action.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "guard.hpp"
#include "launch.hpp"

namespace rdbox {

namespace {
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};
}  // namespace

// One posix_spawn through the guard's gate (when there is one).
int spawn_gated(SpawnGuard* guard, pid_t* pid, const char* path, const SpawnSetup& s, const char* const* argv,
                const char* const* envp) {
  const char* exec = guard ? guard->gate_path(path) : path;
  int rc = ::posix_spawn(pid, exec, &s.actions, &s.attr, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  if (guard) guard->after(rc);
  return rc;
}

int spawn_posix(const Plan& plan, const PlanView* v, pid_t* pid, std::size_t* exec_item, SpawnGuard* guard) {
  SpawnSetup s;
  if (guard && guard->gate_fd() >= 0) {
    // First of all, the child opens the gate's file (as a descriptor of its own, closed
    // at once): the open waits while the guard holds its lease.
    char gate[40];
    std::snprintf(gate, sizeof gate, "/proc/self/fd/%d", guard->gate_fd());
    posix_spawn_file_actions_addopen(&s.actions, guard->gate_slot(), gate, O_RDONLY | O_CLOEXEC, 0);
    posix_spawn_file_actions_addclose(&s.actions, guard->gate_slot());
  } else {
    guard = nullptr;
  }
  sigset_t empty, reset;
  sigemptyset(&empty);
  sigemptyset(&reset);
  for (int sig = 1; sig < 65; ++sig)
    if (v->ignored_signals & (1ULL << (sig - 1))) sigaddset(&reset, sig);
  // glibc's spawn child sets its two internal signals (32, 33) to SIG_IGN when this
  // process has handlers for them, and SIG_IGN survives execve. sigaddset refuses them,
  // so set their bits directly: in the default set they go back to SIG_DFL.
  reinterpret_cast<unsigned long*>(&reset)[0] |= (1UL << 31) | (1UL << 32);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setsigmask(&s.attr, &empty);
  posix_spawnattr_setsigdefault(&s.attr, &reset);
  posix_spawnattr_setpgroup(&s.attr, 0);
  posix_spawnattr_setflags(&s.attr, flags);
  if (v->take_tty) posix_spawn_file_actions_addtcsetpgrp_np(&s.actions, 0);
  for (std::size_t i = 0; i < v->n_preserved; ++i)
    posix_spawn_file_actions_adddup2(&s.actions, v->preserved[i], v->preserved[i]);  // clears FD_CLOEXEC
  posix_spawn_file_actions_addclosefrom_np(&s.actions, v->keep_below);
  if (v->workdir) posix_spawn_file_actions_addchdir_np(&s.actions, v->workdir);

  // execvp's search, with the command's PATH: skip what does not exist without paying
  // for a process, remember EACCES.
  int err = ENOENT;
  bool saw_eacces = false;
  *exec_item = 0;
  for (std::size_t i = 0; i < v->n_candidates; ++i) {
    const char* path = plan.candidates[i];
    // A relative candidate is resolved after the child's chdir: leave it to the spawn.
    if (v->n_candidates > 1 && path[0] == '/' && ::access(path, F_OK) != 0) {
      if (errno == EACCES) {  // an unsearchable directory: remembered, as execvp does
        if (!saw_eacces) *exec_item = i;
        saw_eacces = true;
      }
      continue;
    }
    int rc = spawn_gated(guard, pid, path, s, v->argv, v->envp);
    if (rc == ENOEXEC) {
      // No #! line: run it with /bin/sh, as execvp does (glibc's posix_spawn does not).
      v->sh_argv[1] = path;
      rc = spawn_gated(guard, pid, v->sh_argv[0], s, v->sh_argv, v->envp);
    }
    if (rc == 0) return 0;
    if (rc == EACCES) {
      if (!saw_eacces) *exec_item = i;
      saw_eacces = true;
      continue;
    }
    if (rc == ENOENT || rc == ENOTDIR) {
      if (!saw_eacces) *exec_item = i;
      continue;
    }
    *exec_item = i;
    return rc;
  }
  return saw_eacces ? EACCES : err;
}

}  // namespace rdbox
