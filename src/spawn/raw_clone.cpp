// The raw process-creation calls of raw_clone.hpp. x86-64 System V: arguments in rdi, rsi,
// rdx, rcx, r8; the system call keeps every register but rax, rcx and r11.
#include "raw_clone.hpp"

#if !defined(__x86_64__)
#error "rdbox's raw clone, clone3 and vfork are written for x86-64"
#endif

// Each child goes to .Lrdbox_child with fn in r8 and arg in r9, with no frame to return to.
// rdbox_clone3(args rdi, size rsi, fn rdx, arg rcx): fn and arg cross the call in r8 and
// r9. The child starts on the stack clone3 gave it (16-byte aligned: its top is a page
// boundary).
// rdbox_clone(flags rdi, stack_top rsi, parent_tid rdx, fn rcx, arg r8): fn and arg are
// stored on the child's stack first (as glibc's clone does), child_tid and tls are 0.
// rdbox_vfork(fn rdi, arg rsi) and rdbox_fork(fn rdi, arg rsi): the child aligns its stack below the caller's return
// address and calls fn there; the parent returns with the pid once the child has execed
// or exited. The child's frames are all below the parent's stack pointer, where the
// parent keeps nothing across a call.
asm(R"(
  .text
  .globl rdbox_clone3
  .type rdbox_clone3, @function
rdbox_clone3:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz .Lrdbox_child
  ret
  .size rdbox_clone3, .-rdbox_clone3

  .globl rdbox_clone
  .type rdbox_clone, @function
rdbox_clone:
  and $-16, %rsi
  sub $16, %rsi
  mov %rcx, 8(%rsi)
  mov %r8, (%rsi)
  xor %r10d, %r10d
  xor %r8d, %r8d
  mov $56, %eax
  syscall
  test %rax, %rax
  jnz 1f
  pop %r9
  pop %r8
  jmp .Lrdbox_child
1:
  ret
  .size rdbox_clone, .-rdbox_clone

  .globl rdbox_fork
  .type rdbox_fork, @function
rdbox_fork:
  mov $57, %eax
  jmp .Lrdbox_fork_or_vfork
  .size rdbox_fork, .-rdbox_fork

  .globl rdbox_vfork
  .type rdbox_vfork, @function
rdbox_vfork:
  mov $58, %eax
.Lrdbox_fork_or_vfork:
  mov %rdi, %r8
  mov %rsi, %r9
  syscall
  test %rax, %rax
  jnz 1f
  and $-16, %rsp
  sub $16, %rsp
  jmp .Lrdbox_child
1:
  ret
  .size rdbox_vfork, .-rdbox_vfork

# Every child: fn in r8, arg in r9, on a 16-byte aligned stack; exits with fn's value.
.Lrdbox_child:
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
)");
