// Any bytes in a JSON report: the dump is strict UTF-8 JSON and the bytes come back
// through "byte_strings"; an error line built from them is one line.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz.hpp"
#include "json_bytes.hpp"
#include "rdbox/bytes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  nlohmann::ordered_json j;
  j["command"] = std::vector<std::string>{"sh", s};
  j["error"] = {{"message", s}};
  rdbox::make_byte_safe(j);
  std::string text = j.dump();  // strict: throws (and so aborts) on invalid UTF-8
  auto back = nlohmann::json::parse(text);
  bool latin1 = back.contains("byte_strings");
  FUZZ_CHECK(latin1 == !rdbox::is_utf8(s));
  for (const char* p : {"/command/1", "/error/message"}) {
    std::string got = back.at(nlohmann::json::json_pointer(p)), raw;
    if (latin1) {
      FUZZ_CHECK(rdbox::utf8_to_latin1(got, raw));
      got = raw;
    }
    FUZZ_CHECK(got == s);
  }
  std::string line = rdbox::one_line(s);
  for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  return 0;
}
