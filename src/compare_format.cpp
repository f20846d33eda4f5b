// rdbox compare's output: the table, JSON and CSV, and the line that says what the figures
// mean for the choice of a mode. The figures themselves come from compare.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "json_bytes.hpp"
#include "rdbox/compare.hpp"

namespace rdbox {

namespace {

std::string fixed(double v, int prec = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}
std::string tri(const std::optional<bool>& b) { return b ? (*b ? "yes" : "no") : "n/a"; }
bool is_fastest(const CompareResult& r, std::size_t i) { return r.verdict.fastest == i; }

std::vector<std::vector<std::string>> table_rows(const CompareResult& r) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"mode", "status", "shared mem", "parent susp", "spawn min", "spawn med", "spawn p99", "spawn max",
                  "total min", "total med", "total p99", "total max", "parent minflt", "child maxrss KiB"});
  if (r.touched) rows[0].insert(rows[0].end(), {"touch med", "touch minflt"});
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& m = r.results[i];
    rows.push_back({m.mode + (is_fastest(r, i) ? " *" : ""), m.first_status + (m.all_ok ? "" : " (varied)"),
                    tri(m.shared_memory), m.parent_suspended ? "yes" : "no", fixed(m.spawn_us.min),
                    fixed(m.spawn_us.median), fixed(m.spawn_us.p99), fixed(m.spawn_us.max), fixed(m.total_us.min),
                    fixed(m.total_us.median), fixed(m.total_us.p99), fixed(m.total_us.max),
                    fixed(m.parent_minflt_per_spawn, 1), std::to_string(m.child_maxrss_kb)});
    if (r.touched) rows.back().insert(rows.back().end(), {fixed(m.touch_us.median), fixed(m.touch_minflt_per_run, 1)});
  }
  return rows;
}

// How the fastest was judged, or why none is marked.
std::string verdict_line(const CompareResult& r) {
  const Verdict& v = r.verdict;
  if (v.best == Verdict::none || v.runner_up == Verdict::none) return "";
  std::string a = r.results[v.best].mode, b = r.results[v.runner_up].mode;
  std::string counts = std::to_string(v.wins) + " of " + std::to_string(v.rounds) + " interleaved rounds";
  if (v.fastest != Verdict::none)
    return "  (beat the runner-up, " + b + ", in " + counts + "; noise would give at most " + fixed(v.needed) + ")\n";
  if (v.rounds < 5) return "no mode marked fastest: fewer than 5 rounds cannot tell one from noise\n";
  return "no mode marked fastest: " + a + " beat " + b + " in only " + counts + ", within the run's noise (needs more than " +
         fixed(v.needed) + ")\n";
}

// ru_maxrss counts the child's life before execve, in rdbox's memory or with its pages.
std::string maxrss_line(const CompareResult& r) {
  long top = 0;
  for (const auto& m : r.results) top = std::max(top, m.child_maxrss_kb);
  if (r.machine.rss_kb <= 0 || top < r.machine.rss_kb / 2) return "";
  return "child maxrss: the child's peak over its whole life, before execve included; with fork, vfork and CLONE_VM "
         "that counts rdbox's own " + std::to_string(r.machine.rss_kb / 1024) +
         " MiB, so it is not what the command costs\n";
}

}  // namespace

std::string meaning(const CompareSpec& /*spec*/, const CompareResult& r) {
  std::size_t lo = r.results.size(), hi = r.results.size();
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    if (!r.results[i].ran) continue;
    if (lo == r.results.size() || r.results[i].total_us.median < r.results[lo].total_us.median) lo = i;
    if (hi == r.results.size() || r.results[i].total_us.median > r.results[hi].total_us.median) hi = i;
  }
  if (lo == r.results.size()) return "meaning: no mode ran the command, so there is nothing to choose between";
  double a = r.results[lo].total_us.median, b = r.results[hi].total_us.median;
  double pct = a > 0 ? (b - a) / a * 100 : 0;
  std::string out = "meaning: ";
  if (pct < 5 || lo == hi) {
    out += "every mode costs about the same per launch here (within " + fixed(pct) +
           "%): choose by what a mode can do (namespaces, --init, id maps; man rdbox-run), not by speed";
  } else {
    const std::string& slow = r.results[hi].mode;
    out += slow + " costs " + fixed(b - a) + " µs (" + fixed(pct) + "%) more per launch than " + r.results[lo].mode;
    if (slow == "fork" || slow == "clone")
      out += "; fork and clone copy rdbox's page tables, a cost that grows with the parent's memory: a large "
             "process that launches often should use vfork, clone-vm or spawn";
    else
      out += "; that matters only to a program that launches many short commands";
  }
  if (r.touched) {
    std::size_t w = 0, b = 0;
    for (std::size_t i = 0; i < r.results.size(); ++i) {
      if (r.results[i].touch_us.median > r.results[w].touch_us.median) w = i;
      if (r.results[i].touch_us.median < r.results[b].touch_us.median) b = i;
    }
    std::string size = r.touched_bytes >= (1u << 20) ? std::to_string(r.touched_bytes >> 20) + " MiB"
                                                      : std::to_string(r.touched_bytes >> 10) + " KiB";
    out += "; writing rdbox's " + size + " after each launch took " +
           fixed(r.results[w].touch_us.median) + " µs after " + r.results[w].mode + " (" +
           fixed(r.results[w].touch_minflt_per_run) + " copy-on-write faults) against " +
           fixed(r.results[b].touch_us.median) + " µs after " + r.results[b].mode;
  }
  return out;
}

std::string format_table(const CompareSpec& spec, const CompareResult& r) {
  auto rows = table_rows(r);
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::ostringstream out;
  std::string cmd;
  for (const auto& a : spec.base.command) cmd += (cmd.empty() ? "" : " ") + a;
  out << "rdbox compare: " << cmd << " — " << spec.rounds << " runs per mode, interleaved; times in µs; rdbox RSS "
      << r.machine.rss_kb / 1024 << " MiB\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      bool left = c < 4;
      std::string cell = rows[i][c];
      std::string pad(width[c] - cell.size(), ' ');
      out << (c ? "  " : "") << (left ? cell + pad : pad + cell);
    }
    out << "\n";
  }
  if (r.verdict.fastest != Verdict::none) out << "* fastest by median total (spawn through reap)\n";
  out << verdict_line(r) << maxrss_line(r);
  for (const auto& [mode, why] : r.skipped) out << "skipped " << mode << ": " << why << "\n";
  out << meaning(spec, r) << "\n";
  return out.str();
}

std::string format_json(const CompareSpec& spec, const CompareResult& r) {
  using nlohmann::json;
  auto sum = [](const Summary& s) { return json{{"min", s.min}, {"median", s.median}, {"p99", s.p99}, {"max", s.max}}; };
  json results = json::array();
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& m = r.results[i];
    results.push_back({{"mode", m.mode},
                       {"exit_code", m.first_exit_code},
                       {"status", m.first_status},
                       {"all_same_exit_code", m.all_ok},
                       {"shared_memory", m.shared_memory ? json(*m.shared_memory) : json(nullptr)},
                       {"parent_suspended", m.parent_suspended},
                       {"median_us", m.total_us.median},
                       {"p99_us", m.total_us.p99},
                       {"min_us", m.total_us.min},
                       {"max_us", m.total_us.max},
                       {"spawn_us", sum(m.spawn_us)},
                       {"total_us", sum(m.total_us)},
                       {"parent_minflt_per_spawn", m.parent_minflt_per_spawn},
                       {"child_maxrss_kb", m.child_maxrss_kb},
                       {"fastest", is_fastest(r, i)}});
    if (r.touched) {
      results.back()["touch_us"] = sum(m.touch_us);
      results.back()["touch_minflt_per_run"] = m.touch_minflt_per_run;
    }
  }
  std::vector<std::string> modes;
  for (const auto& m : r.results) modes.push_back(m.mode);
  const Verdict& v = r.verdict;
  auto mode_or_null = [&](std::size_t i) { return i == Verdict::none ? json(nullptr) : json(r.results[i].mode); };
  json j{{"schema_version", 1},
         {"results", results},
         {"verdict",
          {{"fastest", mode_or_null(v.fastest)},
           {"runner_up", mode_or_null(v.runner_up)},
           {"wins", v.wins},
           {"rounds", v.rounds},
           {"needed", v.needed},
           {"meaning", meaning(spec, r)}}},
         {"machine",
          {{"kernel", r.machine.kernel},
           {"cpu_model", r.machine.cpu_model},
           {"cpus", r.machine.cpus},
           {"thp", r.machine.thp},
           {"rdbox_rss_kb", r.machine.rss_kb}}},
         {"options",
          {{"n", spec.rounds}, {"rss", spec.rss}, {"touch", spec.touch}, {"modes", modes}, {"command", spec.base.command}}}};
  json skipped = json::array();
  for (const auto& [mode, why] : r.skipped) skipped.push_back({{"mode", mode}, {"reason", why}});
  j["skipped"] = skipped;
  make_byte_safe(j);
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string format_csv(const CompareResult& r) {
  std::ostringstream out;
  out << "mode,exit_code,shared_memory,parent_suspended,spawn_min_us,spawn_median_us,spawn_p99_us,spawn_max_us,"
         "total_min_us,median_us,p99_us,total_max_us,parent_minflt_per_spawn,child_maxrss_kb"
      << (r.touched ? ",touch_median_us,touch_minflt_per_run" : "") << "\n";
  for (const auto& m : r.results) {
    out << m.mode << ',' << m.first_exit_code << ','
        << (m.shared_memory ? (*m.shared_memory ? "true" : "false") : "") << ','
        << (m.parent_suspended ? "true" : "false") << ',' << fixed(m.spawn_us.min, 1) << ','
        << fixed(m.spawn_us.median, 1) << ',' << fixed(m.spawn_us.p99, 1) << ',' << fixed(m.spawn_us.max, 1) << ','
        << fixed(m.total_us.min, 1) << ',' << fixed(m.total_us.median, 1) << ',' << fixed(m.total_us.p99, 1) << ','
        << fixed(m.total_us.max, 1) << ',' << fixed(m.parent_minflt_per_spawn, 2) << ',' << m.child_maxrss_kb;
    if (r.touched) out << ',' << fixed(m.touch_us.median, 1) << ',' << fixed(m.touch_minflt_per_run, 2);
    out << '\n';
  }
  return out.str();
}

}  // namespace rdbox
