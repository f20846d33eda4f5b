// rdbox pipeline's own input: each stage is one argument, split into words with
// shell-like quoting but without a shell — no expansion, no substitution, no operators.
// The rules (also in docs/man/rdbox-pipeline.1.md, WORD SPLITTING):
//  - blanks (space, tab, newline) outside quotes separate words; adjacent quoted and
//    unquoted parts make one word ('a'"b"c is abc; '' is one empty word);
//  - '...' keeps everything up to the next ' as it is (no escapes inside);
//  - "..." keeps everything up to the next unescaped ", where a backslash escapes only
//    \ " $ ` and a newline (which is then removed); before any other character the
//    backslash stays;
//  - outside quotes a backslash makes the next character ordinary (a newline after it is
//    removed);
//  - $ ` * ? [ ] ~ # { } = are ordinary characters: nothing is expanded or substituted;
//  - an unquoted | & ; < > ( ) is refused: the operators a shell would act on are not
//    rdbox's (each stage is one argument, and rdbox joins the stages itself);
//  - an unterminated quote, a backslash at the very end, a NUL byte are refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/error.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// More stages than this are refused (each is a process, and the parent of the stages
// holds one slot per stage).
inline constexpr std::size_t kMaxStages = 1024;

// One stage into its words; the Error's message says what is wrong ("unbalanced single
// quote"), its context is empty.
Expected<std::vector<std::string>> split_stage(std::string_view text);

// Every stage, as the user gave them, into argv vectors. Errors name the stage:
// `stage 2 ("grep 'x"): unbalanced single quote`, `stage 3 is empty`, `no stages`.
Expected<std::vector<std::vector<std::string>>> split_stages(const std::vector<std::string>& stages);

// What a Spec with stages (Spec::pipeline) must satisfy beyond the checks every run gets:
// a creation mode whose child can stay the stages' parent, no --argv0.
Status validate_pipeline(const Spec& spec);

}  // namespace rdbox
