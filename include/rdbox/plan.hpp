// Plan: the Spec turned into exactly what the child touches, built in the parent.
// The child may share the parent's memory and must not allocate, so everything it reads
// is prepared here; PlanView is the pointer-and-count view the exec stub receives.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// The exec stub's steps, in the order they run. Names travel in reports.
enum class Step : std::uint32_t {
  token,      // write the shared-memory token into the parent's memory
  files,      // CLONE_FILES without CLONE_VFORK: take a private fd table
  signals,    // reset ignored signals to SIG_DFL
  pdeathsig,  // die with rdbox (PR_SET_PDEATHSIG), without the race
  pgrp,       // own process group; the terminal's foreground when rdbox had it
  fds,        // keep 0..2 and the preserved fds, mark the rest close-on-exec
  workdir,    // chdir
  sigmask,    // empty signal mask
  exec,       // execve, PATH search like execvp
  spawn,      // the creation primitive itself (parent side)
};
const char* step_name(Step s);

// One fixed-size record on the close-on-exec report pipe (atomic: < PIPE_BUF).
struct StubRecord {
  std::uint32_t step;      // Step
  std::uint32_t item;      // e.g. index of the exec candidate
  std::int32_t err;        // errno
  std::uint32_t severity;  // kFatal, kReady, kExecAt
  std::int64_t t_ns;       // CLOCK_MONOTONIC when written
};
constexpr std::uint32_t kFatal = 0;
constexpr std::uint32_t kReady = 1;   // the stub has its private fd table (CLONE_FILES handshake)
constexpr std::uint32_t kExecAt = 2;  // the stub is about to call execve: its clock, for "parent suspended"
static_assert(sizeof(StubRecord) == 24);

struct PlanView {
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* const* candidates = nullptr;  // paths to execve, in order
  std::size_t n_candidates = 0;
  const char** sh_argv = nullptr;  // {"/bin/sh", <candidate>, argv[1..], nullptr} for ENOEXEC
  const char* workdir = nullptr;
  const int* preserved = nullptr;  // fds in 3..3+preserve_fds-1 that were open, to inherit
  std::size_t n_preserved = 0;
  int keep_below = 3;              // fds >= this are marked close-on-exec
  std::uint64_t ignored_signals = 0;  // bit (sig-1): reset from SIG_IGN to SIG_DFL
  pid_t parent_pid = 0;
  bool new_pgrp = true;
  bool take_tty = false;
  bool private_files = false;

  // Set per launch by the launcher.
  int report_fd = -1;
  volatile std::uint64_t* token_slot = nullptr;
  std::uint64_t token = 0;
};
static_assert(std::is_standard_layout_v<PlanView>);
static_assert(std::is_trivially_destructible_v<PlanView>);

struct Plan {
  Mode mode = Mode::clone;
  std::uint64_t clone_flags = 0;
  std::size_t stack_size = 0;  // page-rounded; clone only

  std::vector<std::string> argv_store, env_store, candidate_store;
  std::vector<const char*> argv, envp, candidates, sh_argv;
  std::string workdir;
  std::vector<int> preserved;
  int preserve_fds = 0;
  std::uint64_t ignored_signals = 0;
  bool take_tty = false;
  std::string display_name;  // the command as the user gave it, for messages
  // /dev/null placeholders in the --preserve-fds slots that were closed, so that none of
  // rdbox's own descriptors lands there and leaks into the command.
  std::vector<Fd> placeholders;

  // Rebuilds the pointer view; the Plan must outlive it and stay unmoved.
  PlanView view() const;
};

// Builds the Plan from a validated Spec and the caller's environment.
// `environ_in` is the caller's environment (environ), taken as a parameter for tests.
Expected<Plan> plan(const Spec& spec, char** environ_in);

// The default search path execvp uses when PATH is unset.
inline constexpr const char* kDefaultPath = "/usr/local/bin:/bin:/usr/bin";

}  // namespace rdbox
