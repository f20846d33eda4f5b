/* The escapes the confinement suite performs from inside a sandbox (linked statically, bound
 * into the busybox root). Each subcommand tries one thing and prints "ok" when it worked or
 * the errno's name when it did not; the tests assert which.
 *   tiocsti [high]   push a byte into fd 0's terminal input (high: request with upper bits set)
 *   handle           open_by_handle_at on a handle of "/" (the host's root through a bind)
 *   keyring          print the session keyring's serial
 *   addkey           add a user key to the session keyring, print its serial
 *   readkey SERIAL   read a key by serial
 *   euid             print the effective uid (a setuid-root copy: did exec give root back?)
 *   with-key CMD...  join a fresh session keyring, add a key to it, run CMD with the key's
 *                    serial in $RDBOX_TEST_KEY (the caller's key a sandbox must not read)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static int result(long r) {
  if (r < 0) {
    printf("%s\n", strerrorname_np(errno));
    return 1;
  }
  printf("ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "tiocsti")) {
    char c = '\n';
    unsigned long req = TIOCSTI;
    if (argc > 2) req |= 1UL << 32;
    return result(syscall(SYS_ioctl, 0, req, &c));
  }
  if (!strcmp(argv[1], "handle")) {
    struct {
      struct file_handle h;
      unsigned char bytes[128];
    } fh;
    fh.h.handle_bytes = sizeof fh.bytes;
    int mount_id;
    if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mount_id, 0) < 0) return result(-1);
    return result(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh.h, O_RDONLY));
  }
  if (!strcmp(argv[1], "keyring")) {
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (id < 0) return result(-1);
    printf("%ld\n", id);
    return 0;
  }
  if (!strcmp(argv[1], "addkey")) {
    long id = syscall(SYS_add_key, "user", "rdbox-test", "secret", 6, KEY_SPEC_SESSION_KEYRING);
    if (id < 0) return result(-1);
    printf("%ld\n", id);
    return 0;
  }
  if (!strcmp(argv[1], "readkey") && argc > 2) {
    char buf[64];
    long n = syscall(SYS_keyctl, KEYCTL_READ, atol(argv[2]), buf, sizeof buf);
    if (n < 0) return result(-1);
    printf("%.*s\n", (int)n, buf);
    return 0;
  }
  if (!strcmp(argv[1], "euid")) {
    printf("%d\n", (int)geteuid());
    return 0;
  }
  if (!strcmp(argv[1], "with-key") && argc > 2) {
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0) return result(-1);
    long id = syscall(SYS_add_key, "user", "rdbox-test", "secret", 6, KEY_SPEC_SESSION_KEYRING);
    if (id < 0) return result(-1);
    char serial[32];
    snprintf(serial, sizeof serial, "%ld", id);
    setenv("RDBOX_TEST_KEY", serial, 1);
    execvp(argv[2], argv + 2);
    return result(-1);
  }
  return 2;
}
