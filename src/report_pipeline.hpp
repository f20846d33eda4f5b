// rdbox pipeline's part of the report: one line per stage, the "stages" array of the
// JSON report, and the stages of --dry-run. report.cpp calls these when there are stages.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rdbox/outcome.hpp"
#include "rdbox/plan.hpp"

namespace rdbox {

// "1234 exited with status 0" per stage, in order (like bash's PIPESTATUS), a stage's
// failure line before its status, and the time limit's line when it ended the run.
std::string stages_text(const Outcome& out);
// "pipefail" and "stages": [{argv, pid, ns_pid, status, exit_code, timing_us, rusage, error}].
void add_stages_json(nlohmann::ordered_json& j, const Outcome& out);
// --dry-run: "pipefail" and "stages": [{argv, exec_candidates}].
void add_stages_dry_run(nlohmann::ordered_json& j, const Plan& p);

}  // namespace rdbox
