// rdbox pipeline's input: stages split into words (the rules are in rdbox/pipeline.hpp),
// and what a pipeline asks of the creation mode.
#include <sched.h>

#include <string>

#include "rdbox/modes.hpp"
#include "rdbox/pipeline.hpp"

namespace rdbox {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
bool is_operator(char c) {
  return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')';
}

// The stage as the user wrote it, short enough for an error line.
std::string shown_stage(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string s = text.size() > kMax ? std::string(text.substr(0, kMax)) + "..." : std::string(text);
  return "\"" + s + "\"";
}

}  // namespace

Expected<std::vector<std::string>> split_stage(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // a word has started (an empty quoted string starts one too)
  std::size_t i = 0, n = text.size();
  auto fail = [](std::string what) { return Error::input("", std::move(what)); };
  while (i < n) {
    char c = text[i];
    if (c == '\0') return fail("holds a NUL byte");
    if (is_blank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (is_operator(c))
      return fail(std::string("unquoted '") + c +
                  "': rdbox runs no shell and joins the stages itself; give each command as its own argument, "
                  "or quote the character to pass it on");
    in_word = true;
    if (c == '\\') {
      if (i + 1 == n) return fail("ends with a lone backslash");
      if (text[i + 1] == '\0') return fail("holds a NUL byte");
      if (text[i + 1] != '\n') word += text[i + 1];  // backslash-newline: a line continuation
      i += 2;
      continue;
    }
    if (c == '\'') {
      std::size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return fail("unbalanced single quote");
      std::string_view inside = text.substr(i + 1, close - i - 1);
      if (inside.find('\0') != std::string_view::npos) return fail("holds a NUL byte");
      word += inside;
      i = close + 1;
      continue;
    }
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char d = text[i];
        if (d == '\0') return fail("holds a NUL byte");
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < n) {
          char e = text[i + 1];
          if (e == '\\' || e == '"' || e == '$' || e == '`') {
            word += e;
            i += 2;
            continue;
          }
          if (e == '\n') {
            i += 2;
            continue;
          }
        }
        word += d;
        ++i;
      }
      if (!closed) return fail("unbalanced double quote");
      continue;
    }
    word += c;
    ++i;
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

Expected<std::vector<std::vector<std::string>>> split_stages(const std::vector<std::string>& stages) {
  if (stages.empty())
    return Error::input("pipeline", "no stages (usage: rdbox pipeline [OPTIONS] [--] 'COMMAND [ARG...]'...)");
  if (stages.size() > kMaxStages)
    return Error::input("pipeline", std::to_string(stages.size()) + " stages, more than rdbox's limit of " +
                                        std::to_string(kMaxStages));
  std::vector<std::vector<std::string>> out;
  out.reserve(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    std::string which = "stage " + std::to_string(i + 1);
    auto words = split_stage(stages[i]);
    if (!words) return Error::input(which + " (" + shown_stage(stages[i]) + ")", words.error().message);
    if (words->empty()) return Error::input(which, "is empty (every stage needs a command)");
    if (words->front().empty()) return Error::input(which + " (" + shown_stage(stages[i]) + ")", "the command is an empty string");
    out.push_back(std::move(words.value()));
  }
  return out;
}

Status validate_pipeline(const Spec& s) {
  if (s.pipeline.size() > kMaxStages)
    return Error::input("pipeline", std::to_string(s.pipeline.size()) + " stages, more than rdbox's limit of " +
                                        std::to_string(kMaxStages));
  for (std::size_t i = 0; i < s.pipeline.size(); ++i) {
    const auto& argv = s.pipeline[i];
    std::string which = "stage " + std::to_string(i + 1);
    if (argv.empty()) return Error::input(which, "is empty (every stage needs a command)");
    if (argv[0].empty()) return Error::input(which, "the command is an empty string");
    for (const auto& a : argv)
      if (a.find('\0') != std::string::npos) return Error::input(which, "an argument holds a NUL byte");
  }
  if (s.argv0) return Error::input("--argv0", "not with rdbox pipeline (each stage's first word is its argv[0])");
  // The stub that builds the sandbox stays as the stages' parent: it never execs, as
  // rdbox's init does not, so the modes that cannot run an init cannot run a pipeline.
  std::uint64_t f = s.effective_clone_flags();
  const ModeTraits& t = mode_traits(s.mode, f);
  if (t.can_run_init) return ok();
  const char* fix = " (use --mode clone, the default, or --mode fork)";
  if (s.mode == Mode::spawn)
    return Error::input("--mode spawn", std::string("not with rdbox pipeline: posix_spawn runs no rdbox code in the "
                                                    "child, so nothing inside the sandbox could create the stages") +
                                            fix);
  if (s.mode == Mode::vfork || (f & CLONE_VFORK))
    return Error::input(s.mode == Mode::vfork ? "--mode vfork" : "--vfork",
                        std::string("not with rdbox pipeline: the stages' parent never execs, so rdbox would stay "
                                    "suspended until the last stage ended") +
                            fix);
  return Error::input("--vm", std::string("not with rdbox pipeline: the stages' parent never execs, so it would share "
                                          "rdbox's memory with the sandbox") +
                                  fix);
}

}  // namespace rdbox
