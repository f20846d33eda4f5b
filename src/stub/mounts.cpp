// The stub's mount operations. Targets in a new root are resolved beneath it with
// openat2(RESOLVE_IN_ROOT) and used through their /proc/self/fd/N link, so a symlink or a
// rename inside the rootfs can never lead a mount, mkdir or mknod out of it — whatever the
// owner of the rootfs does between plan and run.
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "internal.hpp"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace rdbox::stub {
namespace {

// "/proc/self/fd/N" into buf.
const char* fd_path(char (&buf)[32], long fd) {
  static const char prefix[] = "/proc/self/fd/";
  std::size_t n = 0;
  for (; prefix[n]; ++n) buf[n] = prefix[n];
  char digits[12];
  int d = 0;
  do digits[d++] = static_cast<char>('0' + fd % 10);
  while ((fd /= 10) > 0 && d < 11);
  while (d > 0) buf[n++] = digits[--d];
  buf[n] = 0;
  return buf;
}

// An O_PATH descriptor for `dst`: beneath the root (symlinks resolved as if it were /),
// or the host path itself when there is no new root.
long open_target(const MountContext* c, const char* dst, long extra_flags = 0) {
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(O_PATH | O_CLOEXEC | extra_flags);
  if (c->root < 0) return sys::call(SYS_openat2, AT_FDCWD, dst, &how, sizeof how);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return sys::call(SYS_openat2, c->root, dst, &how, sizeof how);
}

int do_mount(const MountContext* c, const MountStep& m, bool* fell_back) {
  long fd = open_target(c, m.dst);
  if (sys::failed(fd)) return err_of(fd);
  char path[32];
  fd_path(path, fd);
  long r = sys::call(SYS_mount, m.src, path, m.fstype, m.flags, m.data);
  if (sys::failed(r) && m.fallback) {
    *fell_back = true;
    r = sys::call(SYS_mount, m.fallback, path, nullptr, MS_BIND | MS_REC, nullptr);
  }
  sys::call(SYS_close, fd);
  return err_of(r);
}

int make_readonly(const MountContext* c, const MountStep& m) {
  long fd = open_target(c, m.dst);
  if (sys::failed(fd)) return err_of(fd);
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  long r = sys::call(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (m.flags & AT_RECURSIVE), &attr, sizeof attr);
  sys::call(SYS_close, fd);
  return err_of(r);
}

// mkdir, mknod, symlink of m.name in the directory m.dst. EEXIST is fine: only layers the
// run owns are written, and a later entry may ask for what an earlier one made.
int make_entry(const MountContext* c, const MountStep& m) {
  long dir = open_target(c, m.dst, O_DIRECTORY);
  if (sys::failed(dir)) return err_of(dir);
  long r = 0;
  if (m.op == MountOp::mkdir) r = sys::call(SYS_mkdirat, dir, m.name, 0755);
  else if (m.op == MountOp::mknod) r = sys::call(SYS_mknodat, dir, m.name, S_IFREG | 0644, 0);
  else r = sys::call(SYS_symlinkat, m.src, dir, m.name);
  sys::call(SYS_close, dir);
  return r == -EEXIST ? 0 : err_of(r);
}

// The rootfs by its path again, in this mount namespace: it must be the directory rdbox
// opened, or someone swapped it since.
long reopen_rootfs(const PlanView* v, const char* path) {
  long fd = sys::call(SYS_openat, AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sys::failed(fd)) return fd;
  struct stat st {};
  long r = sys::call(SYS_fstat, fd, &st);
  if (sys::failed(r) || st.st_dev != v->rootfs_dev || st.st_ino != v->rootfs_ino) {
    sys::call(SYS_close, fd);
    return sys::failed(r) ? r : -ESTALE;
  }
  return fd;
}

// A bind of the rootfs on itself, held by the clone's descriptor: the new root.
int attach_root(const PlanView* v, MountContext* c, const MountStep& m) {
  long fd = reopen_rootfs(v, m.src);
  if (sys::failed(fd)) return err_of(fd);
  long tree = sys::call(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  long r = tree;
  if (!sys::failed(tree))
    r = sys::call(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  sys::call(SYS_close, fd);
  if (sys::failed(r)) {
    if (!sys::failed(tree)) sys::call(SYS_close, tree);
    return err_of(r);
  }
  c->root = static_cast<int>(tree);
  return 0;
}

// A fresh tmpfs attached over the rootfs path, at the descriptor number the overlay's
// options name, with upper/, work/ and merged/ in it.
int overlay_tmpfs(const PlanView* v, long rootfs) {
  long fs = sys::call(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  if (sys::failed(fs)) return err_of(fs);
  long r = sys::call(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0);
  if (!sys::failed(r)) r = sys::call(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0);
  long mnt = sys::failed(r) ? r : sys::call(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  sys::call(SYS_close, fs);
  if (sys::failed(mnt)) return err_of(mnt);
  r = sys::call(SYS_move_mount, mnt, "", rootfs, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  if (!sys::failed(r) && mnt != v->overlay_fd) r = sys::call(SYS_dup3, mnt, v->overlay_fd, O_CLOEXEC);
  if (mnt != v->overlay_fd) sys::call(SYS_close, mnt);
  for (const char* d : {"upper", "work", "merged"})
    if (!sys::failed(r)) r = sys::call(SYS_mkdirat, v->overlay_fd, d, 0755);
  return err_of(r);
}

// The rootfs as the lower layer of an overlay: the overlay's root is the new root.
int attach_overlay_root(const PlanView* v, MountContext* c, const MountStep& m) {
  long fd = reopen_rootfs(v, m.src);
  if (sys::failed(fd)) return err_of(fd);
  long r = 0;
  if (fd != static_cast<long>(m.flags)) {
    r = sys::call(SYS_dup3, fd, m.flags, O_CLOEXEC);
    sys::call(SYS_close, fd);
    fd = static_cast<long>(m.flags);
  }
  if (int e = sys::failed(r) ? err_of(r) : overlay_tmpfs(v, fd)) return e;
  r = sys::call(SYS_mount, "overlay", m.dst, "overlay", 0, m.data);
  if (sys::failed(r)) return err_of(r);
  long root = sys::call(SYS_openat, AT_FDCWD, m.dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sys::failed(root)) return err_of(root);
  c->root = static_cast<int>(root);
  return 0;
}

int pivot(MountContext* c) {
  // pivot_root(".", "."): the old root ends up mounted over the new one; detaching it
  // leaves it unreachable, with no directory needed inside the rootfs.
  long r = sys::call(SYS_fchdir, c->root);
  if (!sys::failed(r)) r = sys::call(SYS_pivot_root, ".", ".");
  if (!sys::failed(r)) r = sys::call(SYS_umount2, ".", MNT_DETACH);
  if (!sys::failed(r)) r = sys::call(SYS_chdir, "/");
  sys::call(SYS_close, c->root);
  c->root = -1;
  return err_of(r);
}

}  // namespace

int run_mount_step(const PlanView* v, MountContext* c, const MountStep& m, bool* fell_back) {
  switch (m.op) {
    case MountOp::propagate:
      return err_of(sys::call(SYS_mount, nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
    case MountOp::root: return attach_root(v, c, m);
    case MountOp::overlay_root: return attach_overlay_root(v, c, m);
    case MountOp::mount: return do_mount(c, m, fell_back);
    case MountOp::readonly: return make_readonly(c, m);
    case MountOp::mkdir:
    case MountOp::mknod:
    case MountOp::symlink: return make_entry(c, m);
    case MountOp::pivot: return pivot(c);
  }
  return EINVAL;
}

}  // namespace rdbox::stub
