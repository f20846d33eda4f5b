// Seccomp profiles (--seccomp FILE, and the OCI config's linux.seccomp), and the names of
// capabilities and rlimits: every input compiles to a program or becomes one Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/config.hpp"
#include "rdbox/seccomp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto p = rdbox::compile_seccomp_profile(text, "fuzz")) {
    FUZZ_CHECK(!p->filter.empty());
  } else {
    FUZZ_CHECK(!p.error().what().empty());
  }
  int cap = rdbox::capability_number(text);
  FUZZ_CHECK(cap >= -2 && cap < 64);
  if (cap >= 0) FUZZ_CHECK(rdbox::capability_number(rdbox::capability_name(cap)) == cap);
  int r = rdbox::rlimit_number(text);
  if (r >= 0) FUZZ_CHECK(rdbox::rlimit_number(rdbox::rlimit_name(r)) == r);
  return 0;
}
