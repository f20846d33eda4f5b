#include "rdbox/compare.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "json_bytes.hpp"
#include "rdbox/plan.hpp"
#include "rdbox/report.hpp"
#include "rdbox/run.hpp"

extern char** environ;

namespace rdbox {

const CompareMode kCompareModes[] = {
    {"fork", Mode::fork, false, false},       {"vfork", Mode::vfork, false, false},
    {"clone", Mode::clone, false, false},     {"clone-vm", Mode::clone, true, false},
    {"clone-vm-vfork", Mode::clone, true, true}, {"spawn", Mode::spawn, false, false},
};
const std::size_t kCompareModeCount = sizeof(kCompareModes) / sizeof(kCompareModes[0]);

namespace {

const CompareMode* find_mode(std::string_view name) {
  for (std::size_t i = 0; i < kCompareModeCount; ++i)
    if (kCompareModes[i].name == name) return &kCompareModes[i];
  return nullptr;
}

Spec spec_for(const CompareSpec& cs, const CompareMode& m);

// The modes to run. With the default set, a mode that cannot honour the run options (say
// spawn with a namespace) is left out, with its reason, instead of failing the comparison.
std::vector<const CompareMode*> selected(const CompareSpec& spec,
                                         std::vector<std::pair<std::string, std::string>>* skipped = nullptr) {
  std::vector<const CompareMode*> out;
  if (spec.modes.empty()) {
    for (std::size_t i = 0; i < kCompareModeCount; ++i) {
      auto v = spec_for(spec, kCompareModes[i]).validate();
      if (v) out.push_back(&kCompareModes[i]);
      else if (skipped) skipped->emplace_back(std::string(kCompareModes[i].name), v.error().what());
    }
  } else {
    for (const auto& m : spec.modes) out.push_back(find_mode(m));
  }
  return out;
}

Spec spec_for(const CompareSpec& cs, const CompareMode& m) {
  Spec s = cs.base;
  s.mode = m.mode;
  s.vm = m.vm;
  s.vfork = m.vfork;
  if (m.mode != Mode::clone) {
    s.clone_flags = 0;
    s.stack_size_given = false;
  }
  return s;
}

long meminfo_kb(const char* key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  long v = 0;
  std::string unit;
  while (in >> k >> v) {
    std::getline(in, unit);
    if (k == key) return v;
  }
  return -1;
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Machine read_machine() {
  Machine m;
  struct utsname u {};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) {
      m.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  m.cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::string thp = read_line("/sys/kernel/mm/transparent_hugepage/enabled");
  auto a = thp.find('['), b = thp.find(']');
  m.thp = a != std::string::npos && b != std::string::npos ? thp.substr(a + 1, b - a - 1) : "unknown";
  std::ifstream st("/proc/self/status");
  while (std::getline(st, line))
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stol(line.substr(6));
  return m;
}

// Grows rdbox's resident memory by `bytes` of touched, small pages, kept until exit.
Status grow_rss(std::size_t bytes) {
  if (bytes == 0) return ok();
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Error::sys("--rss: mmap", errno);
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  long page = ::sysconf(_SC_PAGESIZE);
  for (std::size_t off = 0; off < bytes; off += static_cast<std::size_t>(page))
    static_cast<volatile char*>(p)[off] = 1;
  return ok();  // intentionally never unmapped: it is the point of the run
}

std::string status_text(const Outcome& o) {
  if (o.kind == OutcomeKind::exited) return "exited " + std::to_string(o.code);
  if (o.kind == OutcomeKind::signaled) return "killed by signal " + std::to_string(o.signal) + " (" + signal_name(o.signal) + ")";
  return o.message;
}

}  // namespace

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  s.p99 = v[std::max<std::size_t>(rank, 1) - 1];
  return s;
}

Status CompareSpec::validate() const {
  if (rounds < 1) return Error::input("-n", "must be at least 1");
  if (rounds > 1'000'000) return Error::input("-n", "must be at most 1000000");
  for (const auto& m : modes)
    if (!find_mode(m))
      return Error::input("--modes", "unknown mode \"" + m + "\" (want fork, vfork, clone, clone-vm, clone-vm-vfork, spawn)");
  if (base.mode_given || base.vm || base.vfork)
    return Error::input("compare", "--mode, --vm and --vfork are chosen by compare itself: use --modes");
  std::vector<std::pair<std::string, std::string>> skipped;
  auto chosen = selected(*this, &skipped);
  for (const CompareMode* m : chosen) {
    Spec s = spec_for(*this, *m);
    if (auto v = s.validate(); !v) return Error::input("--modes " + std::string(m->name), v.error().what());
  }
  if (chosen.empty()) return Error::input("compare", "no mode can run these options: " + skipped.front().second);
  if (rss > 0) {
    long avail = meminfo_kb("MemAvailable:");
    if (avail >= 0 && rss / 1024 > static_cast<std::size_t>(avail))
      return Error::input("--rss", std::to_string(rss) + " bytes is more than the " + std::to_string(avail) +
                                       " KiB of memory available");
  }
  return ok();
}

Expected<CompareResult> compare(const CompareSpec& spec) {
  std::vector<std::pair<std::string, std::string>> skipped;
  auto modes = selected(spec, &skipped);
  std::vector<Plan> plans;
  plans.reserve(modes.size());
  for (const CompareMode* m : modes) {
    auto p = plan(spec_for(spec, *m), environ);
    if (!p) return p.error();
    // --preserve-fds: which slots were open is what the first plan saw; later plans would
    // take the first one's /dev/null placeholders for the caller's descriptors.
    if (!plans.empty()) p->preserved = plans.front().preserved;
    plans.push_back(std::move(p.value()));
  }
  if (auto g = grow_rss(spec.rss); !g) return g.error();

  SessionOptions opts;
  opts.forward_signals = true;
  opts.reap_orphans = true;
  opts.guard_spawn = false;  // the figures are posix_spawn's own; see docs/benchmarks.md
  auto session = Session::create(opts);
  if (!session) return session.error();

  struct Samples {
    std::vector<double> spawn, total;
    std::vector<long> maxrss;
    double minflt = 0;
  };
  std::vector<Samples> samples(modes.size());
  CompareResult result;
  result.skipped = skipped;
  result.results.resize(modes.size());
  for (std::size_t i = 0; i < modes.size(); ++i) result.results[i].mode = std::string(modes[i]->name);

  for (int round = 0; round < spec.rounds; ++round) {
    if (spec.progress && (round % 10 == 0 || round + 1 == spec.rounds)) {
      std::fprintf(stderr, "\rrdbox compare: round %d/%d", round + 1, spec.rounds);
      std::fflush(stderr);
    }
    for (std::size_t i = 0; i < modes.size(); ++i) {
      Outcome o = session.value()->run(plans[i]);
      ModeResult& r = result.results[i];
      // Ctrl-C reaches the command (it owns the terminal): stop as a shell would.
      if (o.kind == OutcomeKind::signaled && (o.signal == SIGINT || o.signal == SIGQUIT)) {
        if (spec.progress) std::fprintf(stderr, "\r\033[K");
        return Error::input("compare", "interrupted: the command was killed by " + signal_name(o.signal));
      }
      if (round == 0) {
        r.ran = o.kind == OutcomeKind::exited || o.kind == OutcomeKind::signaled;
        r.first_exit_code = o.exit_code();
        r.first_status = status_text(o);
        r.shared_memory = o.shared_memory;
        r.parent_suspended = o.parent_suspended;
      } else if (o.exit_code() != r.first_exit_code) {
        r.all_ok = false;
      }
      samples[i].spawn.push_back(o.spawn_us);
      samples[i].total.push_back(o.total_us);
      samples[i].maxrss.push_back(o.usage.maxrss_kb);
      samples[i].minflt += static_cast<double>(o.parent_minflt);
    }
  }
  if (spec.progress) std::fprintf(stderr, "\r\033[K");
  result.machine = read_machine();
  for (std::size_t i = 0; i < modes.size(); ++i) {
    ModeResult& r = result.results[i];
    r.spawn_us = summarize(samples[i].spawn);
    r.total_us = summarize(samples[i].total);
    r.parent_minflt_per_spawn = samples[i].minflt / spec.rounds;
    auto& rss = samples[i].maxrss;
    std::sort(rss.begin(), rss.end());
    r.child_maxrss_kb = rss[rss.size() / 2];
  }
  return result;
}

namespace {
std::string fixed(double v, int prec = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}
std::string tri(const std::optional<bool>& b) { return b ? (*b ? "yes" : "no") : "n/a"; }
// The fastest mode whose command ran (a failed spawn costs nothing and proves nothing);
// results.size() when none ran.
std::size_t fastest(const CompareResult& r) {
  std::size_t best = r.results.size();
  for (std::size_t i = 0; i < r.results.size(); ++i)
    if (r.results[i].ran && (best == r.results.size() || r.results[i].total_us.median < r.results[best].total_us.median))
      best = i;
  return best;
}
}  // namespace

std::string format_table(const CompareSpec& spec, const CompareResult& r) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"mode", "status", "shared mem", "parent susp", "spawn min", "spawn med", "spawn p99", "spawn max",
                  "total min", "total med", "total p99", "total max", "parent minflt", "child maxrss KiB"});
  std::size_t best = fastest(r);
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& m = r.results[i];
    rows.push_back({m.mode + (i == best ? " *" : ""), m.first_status + (m.all_ok ? "" : " (varied)"),
                    tri(m.shared_memory), m.parent_suspended ? "yes" : "no", fixed(m.spawn_us.min),
                    fixed(m.spawn_us.median), fixed(m.spawn_us.p99), fixed(m.spawn_us.max), fixed(m.total_us.min),
                    fixed(m.total_us.median), fixed(m.total_us.p99), fixed(m.total_us.max),
                    fixed(m.parent_minflt_per_spawn, 1), std::to_string(m.child_maxrss_kb)});
  }
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
  if (best < r.results.size()) out << "* fastest by median total (spawn through reap)\n";
  for (const auto& [mode, why] : r.skipped) out << "skipped " << mode << ": " << why << "\n";
  return out.str();
}

std::string format_json(const CompareSpec& spec, const CompareResult& r) {
  using nlohmann::json;
  auto sum = [](const Summary& s) { return json{{"min", s.min}, {"median", s.median}, {"p99", s.p99}, {"max", s.max}}; };
  json results = json::array();
  std::size_t best = fastest(r);
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
                       {"fastest", i == best}});
  }
  std::vector<std::string> modes;
  for (const auto& m : r.results) modes.push_back(m.mode);
  json j{{"schema_version", 1},
         {"results", results},
         {"machine",
          {{"kernel", r.machine.kernel},
           {"cpu_model", r.machine.cpu_model},
           {"cpus", r.machine.cpus},
           {"thp", r.machine.thp},
           {"rdbox_rss_kb", r.machine.rss_kb}}},
         {"options", {{"n", spec.rounds}, {"rss", spec.rss}, {"modes", modes}, {"command", spec.base.command}}}};
  json skipped = json::array();
  for (const auto& [mode, why] : r.skipped) skipped.push_back({{"mode", mode}, {"reason", why}});
  j["skipped"] = skipped;
  make_byte_safe(j);
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string format_csv(const CompareResult& r) {
  std::ostringstream out;
  out << "mode,exit_code,shared_memory,parent_suspended,spawn_min_us,spawn_median_us,spawn_p99_us,spawn_max_us,"
         "total_min_us,median_us,p99_us,total_max_us,parent_minflt_per_spawn,child_maxrss_kb\n";
  for (const auto& m : r.results) {
    out << m.mode << ',' << m.first_exit_code << ','
        << (m.shared_memory ? (*m.shared_memory ? "true" : "false") : "") << ','
        << (m.parent_suspended ? "true" : "false") << ',' << fixed(m.spawn_us.min, 1) << ','
        << fixed(m.spawn_us.median, 1) << ',' << fixed(m.spawn_us.p99, 1) << ',' << fixed(m.spawn_us.max, 1) << ','
        << fixed(m.total_us.min, 1) << ',' << fixed(m.total_us.median, 1) << ',' << fixed(m.total_us.p99, 1) << ','
        << fixed(m.total_us.max, 1) << ',' << fixed(m.parent_minflt_per_spawn, 2) << ',' << m.child_maxrss_kb << '\n';
  }
  return out.str();
}

}  // namespace rdbox
