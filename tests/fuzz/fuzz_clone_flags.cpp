// --clone-flags: only user-settable flags are accepted, and their names read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "rdbox/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = rdbox::parse_clone_flags(text);
  if (!f) return 0;
  FUZZ_CHECK(f.value() != 0);
  std::string list;
  for (const auto& name : rdbox::clone_flag_names(f.value())) {
    list += (list.empty() ? "" : ",") + name;
    bool settable = false;
    for (std::size_t i = 0; i < rdbox::kCloneFlagCount; ++i)
      if (rdbox::kCloneFlags[i].name == name) settable = rdbox::kCloneFlags[i].user_settable;
    FUZZ_CHECK(settable);
  }
  auto again = rdbox::parse_clone_flags(list);
  FUZZ_CHECK(again && again.value() == f.value());
  return 0;
}
