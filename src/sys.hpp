// Raw system calls for the exec stub.
//
// glibc's wrappers write errno, which lives in thread-local storage: a child created with
// CLONE_VM (or vfork) shares that storage with rdbox, so a wrapper's errno write would
// corrupt the parent's. These return -errno instead and touch no memory of their own.
#pragma once

#include <sys/syscall.h>

// For a function that runs in a child sharing rdbox's memory on a tiny stack and never
// returns to its caller (the spawn guard): no sanitizer instrumentation. Its redzone poison would stay in the shadow of memory the
// parent owns, its frames would outgrow the stack, and the runtime it calls takes locks.
// Only such functions carry it; see cmake/Sanitizers.cmake for the stub's whole file.
// clang also adds TSan's function entry/exit hooks to a function with calls unless it is
// marked disable_sanitizer_instrumentation: those write the calling thread's TSan state,
// which a CLONE_VM child without TLS of its own shares with the parent thread.
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define RDBOX_NO_SANITIZE_ALL __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef RDBOX_NO_SANITIZE_ALL
#define RDBOX_NO_SANITIZE_ALL
#endif
#define RDBOX_NO_SANITIZE __attribute__((no_sanitize("address", "undefined", "thread"))) RDBOX_NO_SANITIZE_ALL

namespace rdbox::sys {

#if defined(__x86_64__)
inline long raw(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
inline long raw(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  register long x4 asm("x4") = e;
  register long x5 asm("x5") = f;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#else
#error "rdbox's exec stub needs raw system calls for this architecture"
#endif

template <class... A>
inline long call(long n, A... a) {
  return raw(n, ((long)a)...);
}

inline bool failed(long r) { return r < 0 && r > -4096; }

}  // namespace rdbox::sys
