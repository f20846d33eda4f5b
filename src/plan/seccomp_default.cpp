// rdbox's default seccomp profile, in the format docker and OCI share. A deny list: what a
// container has no business calling (docker denies the same, most of them behind
// CAP_SYS_ADMIN, which rdbox's default capability set does not grant). docs/seccomp.md.
#include "rdbox/seccomp.hpp"

namespace rdbox {

std::string_view default_seccomp_profile() {
  return R"json({
  "defaultAction": "SCMP_ACT_ALLOW",
  "defaultErrnoRet": 1,
  "syscalls": [
    {"comment": "kernel images and modules",
     "names": ["kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module"],
     "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_MODULE"]}},
    {"comment": "bpf, perf: kernel attack surface",
     "names": ["bpf", "perf_event_open", "lookup_dcookie"], "action": "SCMP_ACT_ERRNO",
     "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"comment": "userfaultfd stretches kernel races",
     "names": ["userfaultfd"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_PTRACE"]}},
    {"comment": "the kernel keyring is not namespaced",
     "names": ["add_key", "request_key", "keyctl"], "action": "SCMP_ACT_ERRNO"},
    {"comment": "file handles reach past the mount namespace (open_by_handle_at opened the host's /)",
     "names": ["open_by_handle_at"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_DAC_READ_SEARCH"]}},
    {"comment": "the mount table and namespaces are rdbox's to build",
     "names": ["mount", "umount", "umount2", "pivot_root", "unshare", "setns", "move_mount", "open_tree", "fsopen",
               "fsconfig", "fsmount", "fspick", "mount_setattr"],
     "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_CHROOT"]}},
    {"comment": "new namespaces through clone: any of the CLONE_NEW* bits, one rule each",
     "names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 131072, "valueTwo": 131072, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 33554432, "valueTwo": 33554432, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 67108864, "valueTwo": 67108864, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 134217728, "valueTwo": 134217728, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 536870912, "valueTwo": 536870912, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "args": [{"index": 0, "value": 1073741824, "valueTwo": 1073741824, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"comment": "clone3 hides its flags in memory: ENOSYS makes libc fall back to clone",
     "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"comment": "pushing input into a terminal (TIOCSTI 0x5412, TIOCLINUX 0x541c); the kernel reads the request as 32 bits, so the rule masks the upper ones (flatpak's rule)",
     "names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 1, "value": 4294967295, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 1, "value": 4294967295, "valueTwo": 21532, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"comment": "the machine: reboot, swap, accounting, quotas, the kernel log, old interfaces",
     "names": ["reboot"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_BOOT"]}},
    {"names": ["swapon", "swapoff", "quotactl", "quotactl_fd", "vhangup", "nfsservctl", "uselib", "ustat", "sysfs",
               "_sysctl"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "settimeofday", "stime",
               "adjtimex"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_TIME"]}},
    {"names": ["acct"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_PACCT"]}},
    {"names": ["iopl", "ioperm"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_RAWIO"]}},
    {"names": ["syslog"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYSLOG"]}}
  ]
})json";
}

}  // namespace rdbox
