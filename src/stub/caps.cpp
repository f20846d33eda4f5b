// Capabilities and no_new_privs, as the last identity steps before exec. In two halves
// around the switch of ids: first the bounding set is cut (that needs CAP_SETPCAP, still
// held) and PR_SET_KEEPCAPS keeps the permitted set across setresuid; then, with the final
// ids, capset(2) sets effective, permitted and inheritable, and the ambient set is raised
// so that a non-root command keeps what it was given across exec.
#include <linux/capability.h>
#include <sys/prctl.h>

#include <cerrno>

#include "internal.hpp"

namespace rdbox::stub {

namespace {
struct CapHeader {
  std::uint32_t version;
  int pid;
};
struct CapData {
  std::uint32_t effective, permitted, inheritable;
};
}  // namespace

int step_caps(const PlanView* v, unsigned item) {
  const CapabilitySets& c = *v->caps;
  if (item == 0) {
    for (int cap = 0; cap < 64; ++cap) {
      if (c.bounding & (std::uint64_t{1} << cap)) continue;
      long r = sys::call(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
      if (r == -EINVAL) break;  // past the kernel's last capability
      if (sys::failed(r)) return err_of(r);
    }
    return err_of(sys::call(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0));
  }
  CapHeader h{_LINUX_CAPABILITY_VERSION_3, 0};
  CapData d[2] = {{static_cast<std::uint32_t>(c.effective), static_cast<std::uint32_t>(c.permitted),
                   static_cast<std::uint32_t>(c.inheritable)},
                  {static_cast<std::uint32_t>(c.effective >> 32), static_cast<std::uint32_t>(c.permitted >> 32),
                   static_cast<std::uint32_t>(c.inheritable >> 32)}};
  long r = sys::call(SYS_capset, &h, d);
  if (sys::failed(r)) return err_of(r);
  r = sys::call(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap < 64 && !sys::failed(r); ++cap)
    if (c.ambient & (std::uint64_t{1} << cap)) r = sys::call(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  if (sys::failed(r)) return err_of(r);
  return err_of(sys::call(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0));
}

int step_no_new_privs(const PlanView*) { return err_of(sys::call(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }

}  // namespace rdbox::stub
