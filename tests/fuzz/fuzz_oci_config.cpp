// The OCI front end: a bundle's config.json (first byte even) or an exec's process.json
// (odd), and the signal argument of `kill`. Every input becomes a config or one Error;
// an accepted config passes validate() and names only normalized destinations.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz.hpp"
#include "oci/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    rdbox::oci::ParseOptions o;
    o.bundle_dir = "/bundle";
    o.rootless = data[0] % 4 == 2;
    if (auto b = rdbox::oci::parse_config(text, o)) {
      FUZZ_CHECK(rdbox::validate(b->config).ok());
      FUZZ_CHECK(!b->config.processes.empty() && !b->config.processes[0].argv.empty());
      for (const auto& m : b->config.mounts) FUZZ_CHECK(!m.destination.empty() && m.destination[0] == '/');
    } else {
      FUZZ_CHECK(!b.error().what().empty());
    }
  } else {
    rdbox::oci::ProcessExtras x;
    if (auto p = rdbox::oci::parse_process(text, &x)) {
      FUZZ_CHECK(!p->argv.empty() && !p->argv[0].empty());
      FUZZ_CHECK(!p->cwd.empty() && p->cwd[0] == '/');
    } else {
      FUZZ_CHECK(!p.error().what().empty());
    }
  }
  int sig = rdbox::oci::signal_number(text.substr(0, 32));
  FUZZ_CHECK(sig == -1 || (sig >= 1 && sig <= 64));
  return 0;
}
