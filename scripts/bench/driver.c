/* Side-by-side whole-process timing: runs each command line in turn, interleaved, N
 * rounds, so that machine drift hits every command alike. Prints, per command, the
 * median, p10, p90 wall time in microseconds and the peak RSS (wait4's ru_maxrss, KiB).
 * Usage: driver N -- cmd1 args ;; cmd2 args ;; ...
 * With DRIVER_RAW=FILE it also writes each round's times to FILE. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#include "common.h"

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int n = atoi(argv[1]);
  char **cmds[64];
  int ncmd = 0;
  cmds[ncmd++] = &argv[3];
  for (int i = 3; i < argc; ++i)
    if (strcmp(argv[i], ";;") == 0) {
      argv[i] = NULL;
      cmds[ncmd++] = &argv[i + 1];
    }
  double *t = calloc((size_t)n * ncmd, sizeof(double));
  long maxrss[64] = {0};
  int posix_devnull = 1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (posix_devnull) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
  }
  for (int r = -5; r < n; ++r)
    for (int c = 0; c < ncmd; ++c) {
      pid_t pid;
      int status;
      struct rusage ru;
      double t0 = now_us();
      if (posix_spawn(&pid, cmds[c][0], &fa, NULL, cmds[c], environ) != 0) return 3;
      wait4(pid, &status, 0, &ru);
      double dt = now_us() - t0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "driver: %s failed (status 0x%x)\n", cmds[c][0], status);
        return 4;
      }
      if (r < 0) continue; /* warm-up */
      t[c * n + r] = dt;
      if (ru.ru_maxrss > maxrss[c]) maxrss[c] = ru.ru_maxrss;
    }
  /* DRIVER_RAW=FILE: every round's times too ("round<TAB>command<TAB>us"), before sorting,
     for paired statistics (each round's commands ran next to each other). */
  const char *raw = getenv("DRIVER_RAW");
  if (raw && *raw) {
    FILE *f = fopen(raw, "w");
    if (!f) return 5;
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < ncmd; ++c) fprintf(f, "%d\t%d\t%.1f\n", r, c, t[c * n + r]);
    fclose(f);
  }
  for (int c = 0; c < ncmd; ++c) {
    qsort(t + c * n, n, sizeof(double), cmp_double);
    printf("%d\t%.0f\t%.0f\t%.0f\t%ld\n", c, t[c * n + n / 2], t[c * n + n / 10], t[c * n + n * 9 / 10], maxrss[c]);
  }
  return 0;
}
