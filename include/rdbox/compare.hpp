// rdbox compare: one command through several creation modes, interleaved, in one process.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "rdbox/error.hpp"
#include "rdbox/spec.hpp"

namespace rdbox {

// The modes compare knows, in its default order.
struct CompareMode {
  std::string_view name;  // fork, vfork, clone, clone-vm, clone-vm-vfork, spawn
  Mode mode;
  bool vm, vfork;
};
extern const CompareMode kCompareModes[];
extern const std::size_t kCompareModeCount;

enum class CompareFormat { table, json, csv };

struct CompareSpec {
  std::vector<std::string> modes;  // names from kCompareModes; empty = all
  int rounds = 200;                // -n
  std::size_t rss = 0;             // --rss: grow rdbox's resident memory first
  bool touch = false;              // --touch: write rdbox's heap and the rss memory after each run
  CompareFormat format = CompareFormat::table;
  Spec base;  // the run options and the command; mode fields are set per mode
  bool progress = false;  // a progress line on stderr

  Status validate() const;
};

struct Summary {
  double min = 0, median = 0, p99 = 0, max = 0;
};
// min, median (mean of the two middle values for even counts), p99 (nearest rank:
// the ceil(0.99 n)-th smallest), max. Empty input gives zeros.
Summary summarize(std::vector<double> values);

struct ModeResult {
  std::string mode;
  bool ran = false;  // the first run's command ran (not a setup, exec or spawn failure)
  int first_exit_code = 0;
  std::string first_status;  // "exited 0", "killed by signal 9 (SIGKILL)", or the error
  bool all_ok = true;        // every run had the first run's exit code
  std::optional<bool> shared_memory;
  bool parent_suspended = false;
  Summary spawn_us, total_us;
  double parent_minflt_per_spawn = 0;  // mean; with --touch, the touch's faults included
  // The kernel's ru_maxrss (median): the child's peak over its whole life, the time
  // before execve included. Under vfork and CLONE_VM that is rdbox's memory, and a forked
  // child starts with rdbox's pages: not the command's own cost (see format_table).
  long child_maxrss_kb = 0;
  // --touch: writing every page of rdbox's heap and the --rss memory after each run.
  Summary touch_us;
  double touch_minflt_per_run = 0;  // mean: the copy-on-write faults rdbox took
};

// Which mode is fastest, judged against the run's noise: in every interleaved round the
// modes ran back to back, so the fastest by median total must also have been quicker than
// the runner-up (the next by median) in more than n/2 + sqrt(n) of the n rounds — two
// standard deviations above what a coin toss would give. Fewer than 5 rounds never mark one.
struct Verdict {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t fastest = none;    // index into results, when it beat the noise
  std::size_t best = none;       // lowest median total among the modes that ran
  std::size_t runner_up = none;  // the next one
  int wins = 0;                  // rounds in which best was quicker than runner_up
  int rounds = 0;
  double needed = 0;  // wins had to exceed this
};
// totals[i][k]: mode i's total in round k; ran[i]: its command ran.
Verdict judge(const std::vector<std::vector<double>>& totals, const std::vector<bool>& ran);

struct Machine {
  std::string kernel, cpu_model, thp;
  int cpus = 0;
  long rss_kb = 0;  // rdbox's resident memory while measuring
};

struct CompareResult {
  std::vector<ModeResult> results;
  std::vector<std::pair<std::string, std::string>> skipped;  // mode, why (default set only)
  Machine machine;
  Verdict verdict;
  bool touched = false;  // --touch figures are in the results
  std::size_t touched_bytes = 0;
};

// Runs every mode `rounds` times, interleaved.
Expected<CompareResult> compare(const CompareSpec& spec);

std::string format_table(const CompareSpec& spec, const CompareResult& r);
std::string format_json(const CompareSpec& spec, const CompareResult& r);
std::string format_csv(const CompareResult& r);
// One line for the end of the table: what the figures mean for the choice of a mode.
std::string meaning(const CompareSpec& spec, const CompareResult& r);

}  // namespace rdbox
