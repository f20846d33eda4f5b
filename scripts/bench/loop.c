/* The physical floor of `rdbox compare`: each primitive in a bare loop — spawn, exec the
 * target, wait — interleaved across modes like rdbox compare. Prints, per mode, the median
 * total microseconds. Usage: loop N RSS_BYTES MODE[,MODE...] PATH [ARGS...] */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char **target;

#include "common.h"
static int child(void *arg) {
  (void)arg;
  execve(target[0], target, environ);
  _exit(127);
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int n = atoi(argv[1]);
  size_t rss = strtoull(argv[2], NULL, 10);
  char *modes[8];
  int nm = 0;
  for (char *m = strtok(argv[3], ","); m && nm < 8; m = strtok(NULL, ",")) modes[nm++] = m;
  target = &argv[4];
  if (rss) {
    char *p = mmap(NULL, rss, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, rss, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < rss; off += 4096) p[off] = 1;
  }
  size_t stack_size = 64 * 1024;
  char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  double *t = calloc((size_t)n * nm, sizeof(double));
  for (int r = -3; r < n; ++r)
    for (int i = 0; i < nm; ++i) {
      const char *m = modes[i];
      pid_t pid = -1;
      double t0 = now_us();
      if (!strcmp(m, "fork")) {
        pid = fork();
        if (pid == 0) child(NULL);
      } else if (!strcmp(m, "vfork")) {
        pid = vfork();
        if (pid == 0) child(NULL);
      } else if (!strcmp(m, "clone")) {
        pid = clone(child, stack + stack_size, SIGCHLD, NULL);
      } else if (!strcmp(m, "clone-vm")) {
        pid = clone(child, stack + stack_size, CLONE_VM | SIGCHLD, NULL);
      } else if (!strcmp(m, "clone-vm-vfork")) {
        pid = clone(child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
      } else if (!strcmp(m, "spawn")) {
        if (posix_spawn(&pid, target[0], NULL, NULL, target, environ) != 0) pid = -1;
      }
      int status;
      if (pid < 0 || waitpid(pid, &status, 0) < 0) return 3;
      double dt = now_us() - t0;
      if (r >= 0) t[i * n + r] = dt;
    }
  for (int i = 0; i < nm; ++i) {
    qsort(t + i * n, n, sizeof(double), cmp_double);
    printf("%s,%.1f\n", modes[i], (t[i * n + (n - 1) / 2] + t[i * n + n / 2]) / 2);
  }
  return 0;
}
