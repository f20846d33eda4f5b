// rdbox pipeline's stage words (shell-like quoting, no expansion): any input splits or is
// refused, never loops or crashes; what splits has no NUL in a word, and the words put
// back in single quotes split into the same words again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto words = rdbox::split_stage(text);
  if (!words) {
    FUZZ_CHECK(!words.error().message.empty());
    return 0;
  }
  std::string quoted;
  for (const auto& w : words.value()) {
    FUZZ_CHECK(w.find('\0') == std::string::npos);
    quoted += " '";
    for (char c : w) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
  }
  auto again = rdbox::split_stage(quoted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == words.value());
  return 0;
}
