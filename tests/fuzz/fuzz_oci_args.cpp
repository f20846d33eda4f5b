// The OCI runtime's command line: NUL-separated words → argv → is_oci_invocation, the
// global words (parse_global_words) and the subcommand's words (parse_words with its
// flag table). Nothing is opened or run. Every input is one clear error or words whose
// flags are the subcommand's own and whose positionals are argv's own words.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "cli/oci_words.hpp"
#include "fuzz.hpp"
#include "rdbox/bytes.hpp"

namespace {
void check_error(const std::string& e) {
  FUZZ_CHECK(!e.empty());
  std::string line = rdbox::one_line(e);
  for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words = fuzz_words(data, size);
  std::vector<char*> argv = fuzz_argv(words);
  int argc = static_cast<int>(words.size());

  (void)rdbox::cli::is_oci_invocation(argc, argv.data());
  auto g = rdbox::cli::parse_global_words(argc, argv.data());
  FUZZ_CHECK(g.next >= 1 && g.next <= argc);
  if (!g.error.empty()) {
    check_error(g.error);
    return 0;
  }
  FUZZ_CHECK(g.log_format == "text" || g.log_format == "json");
  if (g.next >= argc) return 0;
  std::string sub = words[static_cast<std::size_t>(g.next)];
  const auto* defs = rdbox::cli::subcommand_flags(sub);
  if (!defs) return 0;
  auto p = rdbox::cli::parse_words(sub, *defs, argc, argv.data(), g.next + 1);
  if (!p.error.empty()) {
    check_error(p.error);
    return 0;
  }
  for (const auto& f : p.flags) {
    bool known = false;
    for (const auto& d : *defs) known = known || rdbox::cli::name_in(d.names, f.first);
    FUZZ_CHECK(known);
  }
  FUZZ_CHECK(p.positional.size() + p.flags.size() <= words.size());
  // The positionals are the last words of argv, in order.
  for (std::size_t k = 0; k < p.positional.size(); ++k)
    FUZZ_CHECK(p.positional[p.positional.size() - 1 - k] == words[words.size() - 1 - k]);
  return 0;
}
