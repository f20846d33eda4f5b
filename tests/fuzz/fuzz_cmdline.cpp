// The command line: NUL-separated words → argv → parse → Spec/CompareSpec → validate.
// Nothing is run; an accepted run Spec must validate, an error must be one line.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/parse.hpp"
#include "fuzz.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words{"rdbox"};
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (!word.empty()) words.push_back(word);
  if (words.size() > 64) return 0;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  auto cl = std::make_unique<rdbox::cli::CommandLine>();
  auto s = rdbox::cli::parse_command_line(static_cast<int>(words.size()), argv.data(), *cl);
  if (!s) {
    FUZZ_CHECK(!s.error().what().empty());
    return 0;
  }
  using Action = rdbox::cli::CommandLine::Action;
  if (cl->action == Action::run) {
    FUZZ_CHECK(cl->spec.validate().ok());
    // Whatever bytes the Spec holds, a failure report of it is strict JSON, and its
    // text line is one line.
    rdbox::Outcome out;
    out.kind = rdbox::OutcomeKind::exec_failed;
    out.err = 2;
    out.step = "exec";
    out.message = "exec \"" + cl->spec.command[0] + "\": No such file or directory";
    (void)nlohmann::json::parse(rdbox::json_report(cl->spec, nullptr, out));
    std::string line = rdbox::text_report(out);
    for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  }
  if (cl->action == Action::compare) FUZZ_CHECK(cl->compare.validate().ok());
  return 0;
}
