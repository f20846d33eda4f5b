/* crun refuses this machine's v1/v2 hybrid cgroups. Run it in a private mount namespace
 * with the v2 hierarchy unmounted there. Its own cost is measured (cgwrap TRUE) and
 * subtracted by the benchmark. Usage: cgwrap PATH [ARGS...] */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  if (unshare(CLONE_NEWNS) != 0) return 125;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 125;
  umount2("/sys/fs/cgroup/unified", MNT_DETACH);
  execv(argv[1], argv + 1);
  return 127;
}
