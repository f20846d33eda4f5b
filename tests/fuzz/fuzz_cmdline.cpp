// rdbox's command line: NUL-separated words → argv → parse_command_line (CLI11, its
// exceptions as errors) → run / pipeline: the Spec finished, validated and planned for a
// root and for an unprivileged host (prepare_run; nothing is spawned); compare: the
// CompareSpec finished and validated (prepare_compare; nothing runs). Every input is
// either one clear error or a config whose reports are strict JSON and one text line.
// --env-file and --seccomp paths are read as rdbox reads them (bounded, non-blocking,
// regular files only); inputs naming anything under a dev/ or fd/ directory are skipped,
// so that the fuzzer never opens a device.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "fuzz.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/report.hpp"

namespace {

void check_one_line(const std::string& line) {
  FUZZ_CHECK(!line.empty());
  for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

void check_error(const rdbox::Error& e) { check_one_line(rdbox::one_line(e.what())); }

// The reports of a run that was planned: --dry-run's JSON, and a failure's JSON and line.
void check_reports(const rdbox::Spec& spec, const rdbox::Plan& plan) {
  FUZZ_CHECK(!nlohmann::json::parse(rdbox::dry_run_json(spec, plan)).is_discarded());
  rdbox::Outcome out;
  out.kind = rdbox::OutcomeKind::exec_failed;
  out.err = 2;
  out.step = "exec";
  out.message = "exec \"" + (spec.command.empty() ? std::string() : spec.command[0]) + "\": No such file or directory";
  FUZZ_CHECK(!nlohmann::json::parse(rdbox::json_report(spec, &plan, out)).is_discarded());
  check_one_line(rdbox::text_report(out));
}

rdbox::HostFacts facts(bool root) {
  rdbox::HostFacts f;
  f.euid = root ? 0 : 65534;
  f.egid = root ? 0 : 65534;
  f.pid = 4242;
  f.sys_admin = f.setuid_caps = root;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words = fuzz_words(data, size);
  if (words.size() > 64) return 0;
  for (const auto& w : words)
    if (w.find("dev/") != std::string::npos || w.find("fd/") != std::string::npos) return 0;
  std::vector<char*> argv = fuzz_argv(words);
  static char path[] = "PATH=/usr/bin:/bin", home[] = "HOME=/root";
  static char* env[] = {path, home, nullptr};

  using rdbox::cli::CommandLine;
  auto cl = std::make_unique<CommandLine>();
  auto s = rdbox::cli::parse_command_line(static_cast<int>(words.size()), argv.data(), *cl);
  if (!s) {
    check_error(s.error());
    return 0;
  }
  switch (cl->action) {
    case CommandLine::Action::help: FUZZ_CHECK(!cl->text.empty()); break;
    case CommandLine::Action::run:
    case CommandLine::Action::pipeline:
      for (bool root : {true, false}) {
        rdbox::Spec spec = cl->spec;  // each plan from the Spec as parsed
        rdbox::cli::RunArgs args = cl->args;
        rdbox::HostFacts f = facts(root);
        auto r = rdbox::cli::prepare_run(spec, args, cl->action == CommandLine::Action::pipeline, env, &f);
        if (!r) {
          check_error(r.error());
          continue;
        }
        FUZZ_CHECK(spec.validate().ok());
        check_reports(spec, r.value().plan);
      }
      break;
    case CommandLine::Action::compare: {
      auto c = rdbox::cli::prepare_compare(cl->cmp, cl->args, cl->cargs);
      if (!c) check_error(c.error());
      else FUZZ_CHECK(cl->cmp.validate().ok());
      break;
    }
    case CommandLine::Action::overview:
    case CommandLine::Action::version:
    case CommandLine::Action::doctor: break;
  }
  return 0;
}
