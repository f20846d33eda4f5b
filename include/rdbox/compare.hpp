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
  bool touch = false;              // --touch: write every page of it after each run (needs rss)
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
  double parent_minflt_per_spawn = 0;  // mean
  long child_maxrss_kb = 0;            // median
};

struct Machine {
  std::string kernel, cpu_model, thp;
  int cpus = 0;
  long rss_kb = 0;  // rdbox's resident memory while measuring
};

struct CompareResult {
  std::vector<ModeResult> results;
  std::vector<std::pair<std::string, std::string>> skipped;  // mode, why (default set only)
  Machine machine;
};

// Runs every mode `rounds` times, interleaved.
Expected<CompareResult> compare(const CompareSpec& spec);

std::string format_table(const CompareSpec& spec, const CompareResult& r);
std::string format_json(const CompareSpec& spec, const CompareResult& r);
std::string format_csv(const CompareResult& r);

}  // namespace rdbox
