// --bind/--ro-bind "SRC[:DST]" and --tmpfs DST: accepted paths are absolute, the Spec
// that holds them validates or says why not.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bool ro = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  rdbox::Spec spec;
  spec.command = {"true"};
  if (auto b = rdbox::parse_bind(text, ro)) {
    FUZZ_CHECK(!b->src.empty() && b->src[0] == '/');
    FUZZ_CHECK(!b->dst.empty() && b->dst[0] == '/' && b->dst != "/");
    FUZZ_CHECK(b->dst.find(':') == std::string::npos);
    FUZZ_CHECK(b->read_only == ro);
    spec.binds.push_back(b.value());
  }
  spec.tmpfs.emplace_back(text);
  auto v = spec.validate();
  FUZZ_CHECK(v || !v.error().what().empty());
  return 0;
}
