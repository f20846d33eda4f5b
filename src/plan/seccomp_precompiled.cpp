// The default profile compiled at build time for a container's default capabilities.
#include "rdbox/config.hpp"
#include "rdbox/seccomp.hpp"

namespace rdbox {

namespace {
const struct sock_filter kDefaultFilter[] = {
#include "seccomp_default_bpf.inc"
};
}  // namespace

std::optional<SeccompProgram> precompiled_seccomp(std::string_view profile, std::uint64_t caps) {
  if (caps != default_container_caps() || profile != default_seccomp_profile()) return std::nullopt;
  return SeccompProgram{"default", std::vector<struct sock_filter>(std::begin(kDefaultFilter), std::end(kDefaultFilter))};
}

}  // namespace rdbox
