// Seccomp profiles in the JSON format docker, podman and the OCI runtime spec share
// (defaultAction, defaultErrnoRet, architectures, syscalls[{names, action, errnoRet,
// args[{index, value, valueTwo, op}]}]), compiled to BPF with libseccomp in the parent.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/error.hpp"

namespace rdbox {

struct SeccompProgram {
  std::string name;                        // "default", a file name: for the report
  std::vector<struct sock_filter> filter;  // what seccomp(SECCOMP_SET_MODE_FILTER) loads
};

// Parses and compiles a profile for a process holding the capabilities `caps` (bit N for
// capability N; docker's "includes"/"excludes" {"caps": [...]} rules are decided by it);
// errors name the field ("syscalls[3].action: ...").
Expected<SeccompProgram> compile_seccomp_profile(std::string_view json, std::string name,
                                                 std::uint64_t caps = ~std::uint64_t{0});

// The program compile_seccomp_profile would give, compiled at build time: for the default
// profile and a container's default capabilities only (nullopt otherwise).
std::optional<SeccompProgram> precompiled_seccomp(std::string_view profile, std::uint64_t caps);

// rdbox's own default profile, in the same format (docs: what it denies and why).
std::string_view default_seccomp_profile();

}  // namespace rdbox
