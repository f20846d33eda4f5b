// Shared by the stub's files. Same rules as stub.cpp: raw system calls only, no
// allocation, no errno, nothing outside src/stub/ (the build checks it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../sys.hpp"
#include "rdbox/plan.hpp"

namespace rdbox::stub {

// rt_sigaction(2)'s own struct (glibc's sigaction differs in layout).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

std::int64_t monotonic_ns();
long write_record(int fd, Step step, unsigned item, int err, std::uint32_t severity);
[[noreturn]] void fail(const PlanView* v, Step step, unsigned item, int err);
// Trace records are best effort: written only while the pipe is at most half full.
bool trace_room(const PlanView* v);
inline int err_of(long r) { return sys::failed(r) ? static_cast<int>(-r) : 0; }
std::size_t length(const char* s);
int write_proc_file(const char* path, const char* text, std::size_t len);

// mounts.cpp: one mount step; the layers' descriptors live in the PlanView's scratch.
int run_mount_step(const PlanView* v, const MountStep& m, bool* fell_back);

// caps.cpp
int step_caps(const PlanView* v, unsigned item);
int step_no_new_privs(const PlanView* v);
int step_keyring(const PlanView* v);
int step_cgroup(const PlanView* v);
void probe_confinement(const PlanView* v);

// init.cpp
int step_init(const PlanView* v);
int step_pid_fork(const PlanView* v);
// What the init, the relay and the stages' parent share: hold only the events pipe (at fd
// 3); pass a stop or continue of what they watch up to rdbox; end with a status rdbox
// reads as the command's (kCommandEnd, then the exit).
void shed_rdbox(const PlanView* v);
void overwrite(unsigned long start, unsigned long end, const char* with);  // rdbox's argv, environment
void pass_job_event(long command, int status, bool relay);
[[noreturn]] void exit_like(int status, bool relay);

// pipeline.cpp: rdbox pipeline's stages. Returns in each stage (0, or an errno), never in
// their parent.
int step_pipeline(const PlanView* v);

}  // namespace rdbox::stub
