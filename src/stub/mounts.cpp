// The stub's mount operations. Every path is resolved once, beneath the descriptor of the
// mount that covers it (the new root, or a layer an earlier step attached), with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a symlink or a rename
// in the rootfs can neither lead a step out of it nor onto another mount, whatever its
// owner does between plan and run. Mounts are made detached (open_tree, fsmount), given
// their attributes there, and attached with move_mount onto the resolved descriptor.
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

constexpr unsigned kMoveEmpty = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;

// An O_PATH descriptor for `dst` beneath layer `layer`, or the host path (layer -1).
// "." is the layer's own mount: a copy of its descriptor, as a mount of a file (a device
// bound twice, a file bound over a bound file) has no directory to resolve "." in.
long open_beneath(const PlanView* v, int layer, const char* dst, long extra_flags = 0) {
  if (layer >= 0 && dst[0] == '.' && !dst[1] && !(extra_flags & O_DIRECTORY))
    return sys::call(SYS_fcntl, v->layer_fds[layer], F_DUPFD_CLOEXEC, 0);
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(O_PATH | O_CLOEXEC | extra_flags);
  if (layer < 0) return sys::call(SYS_openat2, AT_FDCWD, dst, &how, sizeof how);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return sys::call(SYS_openat2, v->layer_fds[layer], dst, &how, sizeof how);
}

// fsopen + fsconfig(options) + fsmount: a detached mount of a fresh filesystem.
long new_filesystem(const MountStep& m) {
  long fs = sys::call(SYS_fsopen, m.fstype, FSOPEN_CLOEXEC);
  if (sys::failed(fs)) return fs;
  long r = m.src ? sys::call(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", m.src, 0) : 0;
  for (const char* const* kv = m.options; kv && kv[0] && !sys::failed(r); kv += 2)
    r = kv[1] ? sys::call(SYS_fsconfig, fs, FSCONFIG_SET_STRING, kv[0], kv[1], 0)
              : sys::call(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, kv[0], nullptr, 0);
  if (!sys::failed(r)) r = sys::call(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0);
  if (!sys::failed(r)) r = sys::call(SYS_fsmount, fs, FSMOUNT_CLOEXEC, m.flags);
  sys::call(SYS_close, fs);
  return r;
}

// open_tree(OPEN_TREE_CLONE): a detached copy of the mount (tree) at a host path, with the
// step's attributes set on it before it is attached anywhere.
long bind_of(const char* src, const MountStep& m) {
  unsigned rec = m.recursive ? AT_RECURSIVE : 0;
  long tree = sys::call(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
  if (sys::failed(tree) || !m.flags) return tree;
  struct mount_attr attr {};
  attr.attr_set = m.flags;
  long r = sys::call(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr);
  if (!sys::failed(r)) return tree;
  sys::call(SYS_close, tree);
  return r;
}

int do_mount(const PlanView* v, const MountStep& m, bool* fell_back) {
  long target = open_beneath(v, m.layer, m.dst);
  if (sys::failed(target)) return err_of(target);
  long mnt = m.fstype ? new_filesystem(m) : bind_of(m.src, m);
  if (sys::failed(mnt) && m.fallback) {
    *fell_back = true;
    mnt = bind_of(m.fallback, m);
  }
  long r = mnt;
  if (!sys::failed(mnt)) r = sys::call(SYS_move_mount, mnt, "", target, "", kMoveEmpty);
  sys::call(SYS_close, target);
  if (sys::failed(r) || m.new_layer < 0) {
    if (!sys::failed(mnt)) sys::call(SYS_close, mnt);
    return err_of(r);
  }
  v->layer_fds[m.new_layer] = static_cast<int>(mnt);  // the attached mount: later steps resolve beneath it
  return 0;
}

// The source a mask attaches: an empty read-only tmpfs for a directory, /dev/null for
// anything else (it must stay a device: reads give nothing, as with runc).
long mask_source(const MountStep& m, bool dir) {
  MountStep how = m;
  how.flags = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | (dir ? MOUNT_ATTR_NODEV : 0);
  how.recursive = 0;
  if (!dir) return bind_of(m.src, how);
  static const char* const no_options[] = {nullptr};
  how.fstype = "tmpfs";
  how.src = "tmpfs";
  how.options = no_options;
  return new_filesystem(how);
}

// A masked path. Each source is made once per run and cloned for every path (a run masks
// about a dozen); kernels that cannot clone a detached mount (before 6.x: EINVAL) get a
// new source each time (slot -2).
int mask(const PlanView* v, const MountStep& m) {
  long target = open_beneath(v, m.layer, m.dst);
  if (target == -ENOENT) return 0;
  if (sys::failed(target)) return err_of(target);
  struct stat st {};
  long r = sys::call(SYS_fstat, target, &st);
  bool dir = S_ISDIR(st.st_mode);
  int* slot = v->mask_slot >= 0 ? &v->layer_fds[v->mask_slot + (dir ? 0 : 1)] : nullptr;
  long mnt = r;
  if (!sys::failed(r) && slot && *slot == -1) {
    long src = mask_source(m, dir);
    if (!sys::failed(src)) *slot = static_cast<int>(src);
    else mnt = src;
  }
  if (!sys::failed(mnt) && slot && *slot >= 0) {
    mnt = sys::call(SYS_open_tree, *slot, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (mnt == -EINVAL) {
      sys::call(SYS_close, *slot);
      *slot = -2;
    }
  }
  if (!sys::failed(r) && (!slot || *slot == -2)) mnt = mask_source(m, dir);
  r = mnt;
  if (!sys::failed(mnt)) r = sys::call(SYS_move_mount, mnt, "", target, "", kMoveEmpty);
  if (!sys::failed(mnt)) sys::call(SYS_close, mnt);
  sys::call(SYS_close, target);
  return err_of(r);
}

// The path as the sandbox has it, cloned in place with read-only set on the clone.
int readonly_path(const PlanView* v, const MountStep& m) {
  long target = open_beneath(v, m.layer, m.dst);
  if (target == -ENOENT) return 0;
  if (sys::failed(target)) return err_of(target);
  long tree = sys::call(SYS_open_tree, target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  long r = tree;
  if (!sys::failed(tree)) {
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    r = sys::call(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
    if (!sys::failed(r)) r = sys::call(SYS_move_mount, tree, "", target, "", kMoveEmpty);
    sys::call(SYS_close, tree);
  }
  sys::call(SYS_close, target);
  return err_of(r);
}

int make_root_readonly(const PlanView* v) {
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  return err_of(sys::call(SYS_mount_setattr, v->layer_fds[0], "", AT_EMPTY_PATH, &attr, sizeof attr));
}

// A device node m.name in `dir`: made, then given its owner and its exact mode (mknod's
// is cut by the umask). A node already there is replaced.
long make_device(long dir, const MountStep& m) {
  long r = sys::call(SYS_mknodat, dir, m.name, m.flags, m.rdev);
  if (r == -EEXIST) {
    r = sys::call(SYS_unlinkat, dir, m.name, 0);
    if (!sys::failed(r)) r = sys::call(SYS_mknodat, dir, m.name, m.flags, m.rdev);
  }
  if (!sys::failed(r)) r = sys::call(SYS_fchownat, dir, m.name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW);
  if (!sys::failed(r)) r = sys::call(SYS_fchmodat, dir, m.name, m.flags & 07777, 0);
  return r;
}

// mkdir, mknod, symlink of m.name in the directory m.dst. Only layers the run owns are
// written (the plan made sure); EEXIST is fine: a later entry may ask for what an earlier
// one made.
int make_entry(const PlanView* v, const MountStep& m) {
  long dir = open_beneath(v, m.layer, m.dst, O_DIRECTORY);
  if (sys::failed(dir)) return err_of(dir);
  long r = 0;
  if (m.op == MountOp::mkdir) r = sys::call(SYS_mkdirat, dir, m.name, 0755);
  else if (m.op == MountOp::mknod) r = sys::call(SYS_mknodat, dir, m.name, S_IFREG | 0644, 0);
  else if (m.op == MountOp::device) r = make_device(dir, m);
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

// A bind of the rootfs on itself, held by the clone's descriptor: the new root (layer 0).
int attach_root(const PlanView* v, const MountStep& m) {
  long fd = reopen_rootfs(v, m.src);
  if (sys::failed(fd)) return err_of(fd);
  long tree = sys::call(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  long r = tree;
  if (!sys::failed(tree)) r = sys::call(SYS_move_mount, tree, "", fd, "", kMoveEmpty);
  sys::call(SYS_close, fd);
  if (sys::failed(r)) {
    if (!sys::failed(tree)) sys::call(SYS_close, tree);
    return err_of(r);
  }
  v->layer_fds[0] = static_cast<int>(tree);
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
  r = sys::call(SYS_move_mount, mnt, "", rootfs, "", kMoveEmpty);
  if (!sys::failed(r) && mnt != v->overlay_fd) r = sys::call(SYS_dup3, mnt, v->overlay_fd, O_CLOEXEC);
  if (mnt != v->overlay_fd) sys::call(SYS_close, mnt);
  for (const char* d : {"upper", "work", "merged"})
    if (!sys::failed(r)) r = sys::call(SYS_mkdirat, v->overlay_fd, d, 0755);
  return err_of(r);
}

// The rootfs as the lower layer of an overlay: the overlay's root is the new root.
int attach_overlay_root(const PlanView* v, const MountStep& m) {
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
  v->layer_fds[0] = static_cast<int>(root);
  return 0;
}

// pivot_root(".", "."): the old root ends up mounted over the new one; detaching it leaves
// it unreachable, with no directory needed inside the rootfs. Every layer descriptor, and
// rdbox's rootfs descriptors, are closed: nothing of the host stays open. `propagation`
// (MS_SHARED...; 0: none) is then set on the new root, recursively.
int pivot(const PlanView* v, unsigned long propagation) {
  long r = sys::call(SYS_fchdir, v->layer_fds[0]);
  if (!sys::failed(r)) r = sys::call(SYS_pivot_root, ".", ".");
  if (!sys::failed(r)) r = sys::call(SYS_umount2, ".", MNT_DETACH);
  if (!sys::failed(r)) r = sys::call(SYS_chdir, "/");
  if (!sys::failed(r) && propagation)
    r = sys::call(SYS_mount, nullptr, "/", nullptr, propagation | MS_REC, nullptr);
  for (std::size_t i = 0; i < v->n_layers; ++i)
    if (v->layer_fds[i] >= 0) sys::call(SYS_close, v->layer_fds[i]);
  if (v->rootfs_fd >= 0) sys::call(SYS_close, v->rootfs_fd);
  if (v->overlay_fd >= 0) sys::call(SYS_close, v->overlay_fd);
  return err_of(r);
}

}  // namespace

int run_mount_step(const PlanView* v, const MountStep& m, bool* fell_back) {
  switch (m.op) {
    case MountOp::propagate:
      return err_of(sys::call(SYS_mount, nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
    case MountOp::root: return attach_root(v, m);
    case MountOp::overlay_root: return attach_overlay_root(v, m);
    case MountOp::mount: return do_mount(v, m, fell_back);
    case MountOp::readonly: return make_root_readonly(v);
    case MountOp::mkdir:
    case MountOp::mknod:
    case MountOp::symlink:
    case MountOp::device: return make_entry(v, m);
    case MountOp::pivot: return pivot(v, m.flags);
    case MountOp::mask: return mask(v, m);
    case MountOp::readonly_path: return readonly_path(v, m);
  }
  return EINVAL;
}

}  // namespace rdbox::stub
