// --env-file text: every entry has a valid key; no NUL survives into a value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = rdbox::parse_env_file(text, "fuzz.env");
  if (!entries) return 0;
  for (const auto& e : entries.value()) {
    FUZZ_CHECK(!e.key.empty());
    FUZZ_CHECK(e.key.find('=') == std::string::npos);
    FUZZ_CHECK(e.key.find('\0') == std::string::npos);
    FUZZ_CHECK(!e.value || e.value->find('\0') == std::string::npos);
    FUZZ_CHECK(!e.value || e.value->find('\n') == std::string::npos);
  }
  return 0;
}
