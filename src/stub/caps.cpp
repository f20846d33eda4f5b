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

// A fresh anonymous session keyring (KEYCTL_JOIN_SESSION_KEYRING with no name): the
// caller's session keys are out of reach. A kernel without keys has nothing to hide.
int step_keyring(const PlanView*) {
  long r = sys::call(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, 0, 0, 0, 0);
  return r == -ENOSYS ? 0 : err_of(r);
}

// Into the run's cgroup, in each hierarchy: "0" moves the writer.
int step_cgroup(const PlanView* v) {
  for (std::size_t i = 0; i < v->n_cgroup_fds; ++i) {
    long r = sys::call(SYS_write, v->cgroup_fds[i], "0", 1);
    if (sys::failed(r)) return err_of(r);
  }
  return 0;
}

// What the command will hold, read back just before the filter and exec (the report's
// confinement): the five capability sets, no_new_privs, the seccomp mode and each rlimit.
void probe_confinement(const PlanView* v) {
  auto record = [&](std::uint32_t item, std::uint64_t value) {
    if (!trace_room(v)) return;
    StubRecord rec{static_cast<std::uint32_t>(Step::probe), item, 0, kConfinement, static_cast<std::int64_t>(value)};
    sys::call(SYS_write, v->report_fd, &rec, sizeof rec);
  };
  CapHeader h{_LINUX_CAPABILITY_VERSION_3, 0};
  CapData d[2] = {};
  if (!sys::failed(sys::call(SYS_capget, &h, d))) {
    auto both = [&](std::uint32_t CapData::*f) { return d[0].*f | (std::uint64_t{d[1].*f} << 32); };
    record(kCapEffective, both(&CapData::effective));
    record(kCapPermitted, both(&CapData::permitted));
    record(kCapInheritable, both(&CapData::inheritable));
  }
  std::uint64_t bounding = 0, ambient = 0;
  for (int cap = 0; cap < 64; ++cap) {
    long r = sys::call(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r < 0) break;
    if (r == 1) bounding |= std::uint64_t{1} << cap;
    if (sys::call(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) ambient |= std::uint64_t{1} << cap;
  }
  record(kCapBounding, bounding);
  record(kCapAmbient, ambient);
  record(kNoNewPrivs, static_cast<std::uint64_t>(sys::call(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
  record(kSeccompMode, static_cast<std::uint64_t>(sys::call(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0)));
  for (std::size_t i = 0; i < v->n_rlimits; ++i) {
    struct {
      std::uint64_t cur, max;
    } lim{};
    if (sys::failed(sys::call(SYS_prlimit64, 0, v->rlimits[i].resource, nullptr, &lim))) continue;
    record(kRlimitBase + 2 * static_cast<std::uint32_t>(i), lim.cur);
    record(kRlimitBase + 2 * static_cast<std::uint32_t>(i) + 1, lim.max);
  }
}

}  // namespace rdbox::stub
