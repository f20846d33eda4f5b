// clone3, clone and vfork as raw system calls, for the children that run rdbox's own code
// (the exec stub, the spawn guard). glibc's wrappers are replaceable: a sanitizer runtime
// interposes them. clang 14's ThreadSanitizer models clone() as fork(): its clone
// interceptor runs runtime code in the child (ForkChildAfter, FdOnFork) before the entry
// function, on the calling thread's TSan state, which a CLONE_VM child without its own TLS
// shares with the parent thread; with the parent running on, both update that state and
// unlock the runtime's mutexes twice ("CHECK failed: tsan_rtl.cpp:979
// ignore_reads_and_writes > 0", "!thr->slot"). Its vfork interceptor turns vfork into fork.
// These calls are the primitives themselves in every build: no wrapper, no interceptor,
// no code between the system call and `fn` in the child.
//
// Each returns the child's pid, or -errno. The child runs fn(arg) on `stack_top` (clone,
// clone3) or below the caller's frame (vfork: the caller's frame is never written) and
// exits with its value; fn runs with no TLS of its own and must obey the stub's rules.
#pragma once

#include <sys/types.h>

extern "C" {
// clone3(args, size): args->stack and args->stack_size give the child's stack.
long rdbox_clone3(void* args, unsigned long size, int (*fn)(void*), void* arg);
// clone(flags, stack_top, parent_tid = pidfd for CLONE_PIDFD, child_tid 0, tls 0).
long rdbox_clone(unsigned long flags, void* stack_top, int* parent_tid, int (*fn)(void*), void* arg);
// vfork(): the parent is suspended until the child execs or exits.
long rdbox_vfork(int (*fn)(void*), void* arg);
// fork() as the system call alone: no atfork handlers, no runtime's fork handling.
long rdbox_fork(int (*fn)(void*), void* arg);
}
