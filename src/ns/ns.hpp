// Namespace and root-filesystem planning (parent side), and the parent's half of the
// user-namespace handshake. The child's halves are steps in stub.cpp.
#pragma once

#include <sys/types.h>

#include "rdbox/error.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// Does this process hold CAP_SYS_ADMIN (libcap-ng)? Namespaces other than user need it.
bool have_sys_admin();
bool have_setuid_caps();

// Fills the Plan's namespace, id-map, hostname, init and user fields.
Status plan_namespaces(const SandboxConfig& c, Plan& p, const HostFacts& facts);
// Fills the Plan's mount steps (src/plan/mounts.cpp): private propagation, the new root
// (bind or overlay), the rootfs recipe, the user's entries in order, read-only, pivot_root.
Status plan_mounts(const SandboxConfig& c, Plan& p);

// The parent's half of the id-map handshake: writes the child's uid/gid maps (directly
// when privileged, else through newuidmap/newgidmap). The stub waits on the sync pipe.
Status write_id_maps(const Plan& p, pid_t child);

}  // namespace rdbox
