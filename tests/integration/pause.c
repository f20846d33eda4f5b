/* A pod sandbox's "pause" process for tests/integration/cri_test.sh, built static into a
 * one-file image: it holds the pod's namespaces, reaps what is reparented to it (it is the
 * PID 1 of a pod sharing its PID namespace) and exits 0 on SIGINT or SIGTERM (as PID 1 a
 * signal without a handler would be ignored). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = stop;
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, 0);
  for (;;) pause();
}
