// Sizes (--stack-size, --rss) and counts (-n, --preserve-fds).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = rdbox::parse_size(text)) {
    FUZZ_CHECK(s.value() > 0);
    auto again = rdbox::parse_size(std::to_string(s.value()));
    FUZZ_CHECK(again && again.value() == s.value());
  }
  if (auto n = rdbox::parse_count(text, "-n", 1'000'000)) {
    FUZZ_CHECK(n.value() <= 1'000'000);
  }
  return 0;
}
