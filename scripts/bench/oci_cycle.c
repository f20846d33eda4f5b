/* The OCI runtime cycle as an engine drives it, timed per step: `RT --root R create
 * --bundle B --pid-file P ID`, `RT --root R start ID`, wait for the container's init (this
 * driver is a child subreaper, as conmon and containerd's shim are, so the init that
 * `create` leaves behind is re-parented to it and reaped here), `RT --root R delete ID`.
 * Runtimes are interleaved round by round, so machine drift hits each alike.
 * Usage: oci_cycle N BUNDLE STATE_DIR RUNTIME...   (a RUNTIME may carry global options,
 * split at spaces: "/usr/bin/crun --cgroup-manager=disabled")
 * Prints per runtime and step (create, start, wait, delete, cycle) the median, p10 and
 * p90 in microseconds; with DRIVER_RAW=FILE each round's cycle times too
 * ("round<TAB>runtime<TAB>us"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "common.h"

enum { kCreate, kStart, kWait, kDelete, kCycle, kSteps };
static const char *const kStepNames[kSteps] = {"create", "start", "wait", "delete", "cycle"};

static posix_spawn_file_actions_t quiet;

/* Runs argv to its end; returns its wait status, or -1 if it could not start. */
static int run(char **argv) {
  pid_t pid;
  int status;
  if (posix_spawn(&pid, argv[0], &quiet, NULL, argv, environ) != 0) return -1;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

static pid_t read_pid(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? (pid_t)atoi(buf) : -1;
}

/* argv of `RT GLOBAL... --root ROOT` followed by words (NULL-terminated), in out[64]. */
static char **command(char **out, char *rt_words[], const char *root, char *const words[]) {
  int k = 0;
  while (*rt_words && k < 40) out[k++] = *rt_words++;
  out[k++] = "--root", out[k++] = (char *)root;
  while (*words && k < 63) out[k++] = *words++;
  out[k] = NULL;
  return out;
}

/* One cycle of runtime rt (its words); fills t[kSteps] in µs. Returns 0 when it worked. */
static int cycle(char *rt[], const char *bundle, const char *root, int round, double *t) {
  char id[64], pidfile[4096];
  snprintf(id, sizeof id, "bench-%d-%d", (int)getpid(), round);
  snprintf(pidfile, sizeof pidfile, "%s/%s.pid", root, id);
  char *create_words[] = {"create", "--bundle", (char *)bundle, "--pid-file", pidfile, id, NULL};
  char *start_words[] = {"start", id, NULL}, *delete_words[] = {"delete", id, NULL};
  char *create[64], *start[64], *del[64];
  command(create, rt, root, create_words);
  command(start, rt, root, start_words);
  command(del, rt, root, delete_words);
  double t0 = now_us();
  int st = run(create);
  double t1 = now_us();
  pid_t init = read_pid(pidfile);
  unlink(pidfile);
  if (st != 0 || init <= 0) {
    fprintf(stderr, "oci_cycle: %s create failed (status 0x%x)\n", rt[0], st);
    return -1;
  }
  st = run(start);
  double t2 = now_us();
  int status;
  pid_t w;
  while ((w = waitpid(init, &status, 0)) < 0) {
  }
  double t3 = now_us();
  int dst = run(del);
  double t4 = now_us();
  if (st != 0 || dst != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "oci_cycle: %s start 0x%x, init 0x%x, delete 0x%x\n", rt[0], st, status, dst);
    return -1;
  }
  t[kCreate] = t1 - t0, t[kStart] = t2 - t1, t[kWait] = t3 - t2, t[kDelete] = t4 - t3;
  t[kCycle] = t4 - t0;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: oci_cycle N BUNDLE STATE_DIR RUNTIME...\n");
    return 2;
  }
  int n = atoi(argv[1]);
  const char *bundle = argv[2], *root = argv[3];
  int nrt = argc - 4;
  if (n <= 0 || nrt > 16) return 2;
  char *rts[16][41];
  for (int c = 0; c < nrt; ++c) {
    int k = 0;
    for (char *w = strtok(argv[4 + c], " "); w && k < 40; w = strtok(NULL, " ")) rts[c][k++] = w;
    rts[c][k] = NULL;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 3;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
  double *t = calloc((size_t)n * nrt * kSteps, sizeof(double));
  double one[kSteps];
  for (int r = -5; r < n; ++r)
    for (int c = 0; c < nrt; ++c) {
      if (cycle(rts[c], bundle, root, r + 5, one) != 0) return 4;
      if (r < 0) continue; /* warm-up */
      for (int s = 0; s < kSteps; ++s) t[((size_t)s * nrt + c) * n + r] = one[s];
    }
  const char *raw = getenv("DRIVER_RAW");
  if (raw && *raw) {
    FILE *f = fopen(raw, "w");
    if (!f) return 5;
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < nrt; ++c)
        fprintf(f, "%d\t%d\t%.1f\n", r, c, t[((size_t)kCycle * nrt + c) * n + r]);
    fclose(f);
  }
  for (int c = 0; c < nrt; ++c)
    for (int s = 0; s < kSteps; ++s) {
      double *v = t + ((size_t)s * nrt + c) * n;
      qsort(v, n, sizeof(double), cmp_double);
      printf("%d\t%s\t%.0f\t%.0f\t%.0f\n", c, kStepNames[s], v[n / 2], v[n / 10], v[n * 9 / 10]);
    }
  return 0;
}
