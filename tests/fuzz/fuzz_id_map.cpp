// --uid-map/--gid-map "INSIDE OUTSIDE COUNT": accepted ranges fit in 32-bit ids.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = rdbox::parse_id_map(text);
  if (!m) return 0;
  FUZZ_CHECK(m->count >= 1);
  FUZZ_CHECK(std::uint64_t{m->inside} + m->count <= 0x100000000ull);
  FUZZ_CHECK(std::uint64_t{m->outside} + m->count <= 0x100000000ull);
  // What was accepted reads back the same.
  auto again = rdbox::parse_id_map(std::to_string(m->inside) + " " + std::to_string(m->outside) + " " +
                                   std::to_string(m->count));
  FUZZ_CHECK(again && again->inside == m->inside && again->outside == m->outside && again->count == m->count);
  return 0;
}
