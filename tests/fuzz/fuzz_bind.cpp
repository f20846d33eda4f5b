// --bind/--ro-bind "SRC[:DST]" and --tmpfs DST: accepted entries have an absolute source
// and a normalized destination other than /, and the Spec holding them validates.
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
  auto normalized = [](const std::string& d) {
    auto n = rdbox::normalize_destination(d, "fuzz");
    return n && n.value() == d && d != "/";
  };
  if (auto b = rdbox::parse_bind(text, ro)) {
    FUZZ_CHECK(b->type == rdbox::MountType::bind);
    FUZZ_CHECK(!b->source.empty() && b->source[0] == '/');
    FUZZ_CHECK(normalized(b->destination));
    FUZZ_CHECK(b->destination.find(':') == std::string::npos);
    FUZZ_CHECK(b->read_only == ro);
    spec.mounts.push_back(b.value());
  }
  if (auto t = rdbox::parse_tmpfs(text)) {
    FUZZ_CHECK(t->type == rdbox::MountType::tmpfs);
    FUZZ_CHECK(normalized(t->destination));
    spec.mounts.push_back(t.value());
  }
  auto v = spec.validate();
  FUZZ_CHECK(v.ok() || !v.error().what().empty());
  // Every entry a parser accepted is one validate() accepts (NUL bytes aside).
  if (text.find('\0') == std::string_view::npos) FUZZ_CHECK(v.ok());
  return 0;
}
