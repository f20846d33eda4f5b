// --user "UID[:GID]": numbers only, never the invalid id (uint32 max).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = rdbox::parse_user(text);
  if (!u) return 0;
  FUZZ_CHECK(!text.empty());
  FUZZ_CHECK(u->uid != 0xFFFFFFFFu);
  FUZZ_CHECK(!u->gid || *u->gid != 0xFFFFFFFFu);
  return 0;
}
