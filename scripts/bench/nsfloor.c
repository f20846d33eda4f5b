/* The floor for a sandboxed launch: clone with the namespace flags, mounts made private, a
 * fresh /proc, (optionally pivot_root into ROOT with it), exec, wait. Nothing else.
 * Usage: nsfloor FLAGS ROOT|- PATH [ARGS...]   FLAGS: letters of p m u i n U (user). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char **cmd;
static const char *root;
static int user;
static char stack[256 * 1024];
static char uid_map[64], gid_map[64];

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0) _exit(125);
    close(fd);
  }
}

static int child(void *arg) {
  (void)arg;
  if (user) {
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", uid_map);
    write_file("/proc/self/gid_map", gid_map);
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(125);
  if (root) {
    char proc[4096];
    snprintf(proc, sizeof proc, "%s/proc", root);
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) != 0) _exit(125);
    if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) _exit(125);
    if (chdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
      _exit(125);
  } else if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    _exit(125);
  }
  execv(cmd[0], cmd);
  _exit(127);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int flags = SIGCHLD;
  for (const char *f = argv[1]; *f; ++f) switch (*f) {
      case 'p': flags |= CLONE_NEWPID; break;
      case 'm': flags |= CLONE_NEWNS; break;
      case 'u': flags |= CLONE_NEWUTS; break;
      case 'i': flags |= CLONE_NEWIPC; break;
      case 'n': flags |= CLONE_NEWNET; break;
      case 'U': flags |= CLONE_NEWUSER; user = 1; break;
    }
  snprintf(uid_map, sizeof uid_map, "0 %d 1\n", (int)geteuid());
  snprintf(gid_map, sizeof gid_map, "0 %d 1\n", (int)getegid());
  root = strcmp(argv[2], "-") ? argv[2] : NULL;
  cmd = argv + 3;
  pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
  if (pid < 0) return 125;
  int status;
  if (waitpid(pid, &status, 0) < 0) return 125;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
