/* Shared by the benchmark programs: a monotonic clock in microseconds and a qsort order. */
#ifndef RDBOX_BENCH_COMMON_H
#define RDBOX_BENCH_COMMON_H
#include <time.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
#endif
