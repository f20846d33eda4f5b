// --time-offset "monotonic=S,boottime=S": each clock at most once, within the bound.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = rdbox::parse_time_offsets(text);
  if (!t) return 0;
  FUZZ_CHECK(t->monotonic || t->boottime);
  for (const auto& v : {t->monotonic, t->boottime})
    if (v) FUZZ_CHECK(*v >= -(std::int64_t{1} << 40) && *v <= (std::int64_t{1} << 40));
  return 0;
}
