#include "report_pipeline.hpp"

#include <cstdio>
#include <cstring>

#include "rdbox/bytes.hpp"
#include "rdbox/report.hpp"

namespace rdbox {

namespace {

using ojson = nlohmann::ordered_json;

long long round_us(double us) { return static_cast<long long>(us + 0.5); }

std::string status_line(const StageOutcome& s) {
  std::string pid = s.pid > 0 ? std::to_string(s.pid) : "?";
  if (!s.ended) return pid + " status unknown (the stages' parent ended before it said)";
  if (!s.signaled) return pid + " exited with status " + std::to_string(s.code);
  std::string line = pid + " killed by signal " + std::to_string(s.signal) + " (" + signal_name(s.signal) + ")";
  if (s.core_dumped) line += ", core dumped";
  return line;
}

ojson stage_json(const StageOutcome& s) {
  ojson j;
  j["argv"] = s.argv;
  j["pid"] = s.pid > 0 ? ojson(s.pid) : ojson(nullptr);
  j["ns_pid"] = s.ns_pid > 0 ? ojson(s.ns_pid) : ojson(nullptr);
  ojson status = nullptr;
  if (s.ended) {
    status = ojson::object();
    status["exited"] = !s.signaled;
    if (s.signaled) {
      status["signal"] = s.signal;
      status["signal_name"] = signal_name(s.signal);
      status["core_dumped"] = s.core_dumped;
    } else {
      status["code"] = s.code;
    }
  }
  j["status"] = status;
  j["exit_code"] = s.ended ? ojson(s.exit_code()) : ojson(nullptr);
  ojson timing;
  auto us = [](double v) { return v >= 0 ? ojson(round_us(v)) : ojson(nullptr); };
  timing["start"] = us(s.start_us);
  timing["exec"] = s.step.empty() ? us(s.exec_us) : ojson(nullptr);
  timing["total"] = us(s.total_us);
  j["timing_us"] = timing;
  ojson ru = nullptr;
  if (s.ended) {
    const ChildUsage& u = s.usage;
    ru = ojson::object();
    ru["utime_us"] = u.utime_us;
    ru["stime_us"] = u.stime_us;
    ru["maxrss_kb"] = u.maxrss_kb;
    ru["minflt"] = u.minflt;
    ru["majflt"] = u.majflt;
    ru["nvcsw"] = u.nvcsw;
    ru["nivcsw"] = u.nivcsw;
  }
  j["rusage"] = ru;
  ojson err = nullptr;
  if (!s.step.empty()) {
    err = ojson::object();
    err["step"] = s.step;
    err["errno"] = s.err;
    const char* name = s.err ? ::strerrorname_np(s.err) : nullptr;
    err["errno_name"] = name ? ojson(name) : ojson(nullptr);
    err["message"] = s.message;
  }
  j["error"] = err;
  return j;
}

}  // namespace

std::string stages_text(const Outcome& out) {
  std::string text;
  for (std::size_t k = 0; k < out.stages.size(); ++k) {
    const StageOutcome& s = out.stages[k];
    if (!text.empty()) text += "\n";
    if (!s.message.empty()) text += "rdbox: stage " + std::to_string(k + 1) + ": " + one_line(s.message) + "\n";
    text += status_line(s);
  }
  if (out.kind == OutcomeKind::timeout) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", out.timeout_s);
    text += std::string(text.empty() ? "" : "\n") + "the pipeline timed out after " + limit + "s";
  }
  return text;
}

void add_stages_json(ojson& j, const Outcome& out) {
  j["pipefail"] = out.pipefail;
  ojson stages = ojson::array();
  for (const auto& s : out.stages) stages.push_back(stage_json(s));
  j["stages"] = stages;
}

void add_stages_dry_run(ojson& j, const Plan& p) {
  j["pipefail"] = p.pipefail;
  ojson stages = ojson::array();
  for (const auto& s : p.stages) {
    ojson st;
    st["argv"] = s.argv_store;
    st["exec_candidates"] = s.candidate_store;
    stages.push_back(st);
  }
  j["stages"] = stages;
}

}  // namespace rdbox
