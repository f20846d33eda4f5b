#include "rdbox/compare.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

// Writes one byte in every page of [p, p + bytes).
void touch_pages(char* p, std::size_t bytes) {
  std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (std::size_t off = 0; off < bytes; off += page) {
    volatile char* c = p + off;
    *c = static_cast<char>(*c + 1);
  }
}

// Grows rdbox's resident memory by `bytes` of touched, small pages, kept until exit.
Expected<char*> grow_rss(std::size_t bytes) {
  if (bytes == 0) return static_cast<char*>(nullptr);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Error::sys("--rss: mmap", errno);
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  touch_pages(static_cast<char*>(p), bytes);
  return static_cast<char*>(p);  // intentionally never unmapped: it is the point of the run
}

long self_minflt() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

double now_us() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Samples {
  std::vector<double> spawn, total, touch;
  std::vector<long> maxrss;
  double minflt = 0, touch_minflt = 0;
};

struct Region {
  char* p;
  std::size_t n;
};

// What --touch writes: rdbox's heap ([heap] in /proc/self/maps) and the --rss memory.
std::vector<Region> touch_regions(char* rss_mem, std::size_t rss) {
  std::vector<Region> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.size() > 6 && line.compare(line.size() - 6, 6, "[heap]") == 0) {
      unsigned long a = 0, b = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx", &a, &b) == 2 && b > a)
        out.push_back({reinterpret_cast<char*>(a), b - a});
    }
  if (rss_mem) out.push_back({rss_mem, rss});
  return out;
}

// Writes back the byte already there in every page: rdbox's heap stays as it was.
void rewrite_pages(char* p, std::size_t bytes) {
  std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (std::size_t off = 0; off < bytes; off += page) {
    volatile char* c = p + off;
    *c = *c;
  }
}

// --touch: the service keeps working after the launch and writes its memory. Under fork
// and clone every page was made copy-on-write, so each first write faults. The faults
// count in parent minflt too.
void touch_after_run(const std::vector<Region>& regions, Samples& s) {
  long f0 = self_minflt();
  double t0 = now_us();
  for (const Region& r : regions) rewrite_pages(r.p, r.n);
  s.touch.push_back(now_us() - t0);
  double faults = static_cast<double>(self_minflt() - f0);
  s.touch_minflt += faults;
  s.minflt += faults;
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

Verdict judge(const std::vector<std::vector<double>>& totals, const std::vector<bool>& ran) {
  Verdict v;
  auto median = [&](std::size_t i) { return summarize(totals[i]).median; };
  for (std::size_t i = 0; i < totals.size(); ++i) {
    if (!ran[i] || totals[i].empty()) continue;
    if (v.best == Verdict::none || median(i) < median(v.best)) {
      v.runner_up = v.best;
      v.best = i;
    } else if (v.runner_up == Verdict::none || median(i) < median(v.runner_up)) {
      v.runner_up = i;
    }
  }
  if (v.best == Verdict::none || v.runner_up == Verdict::none) return v;
  const auto& a = totals[v.best];
  const auto& b = totals[v.runner_up];
  v.rounds = static_cast<int>(std::min(a.size(), b.size()));
  for (int k = 0; k < v.rounds; ++k) v.wins += a[static_cast<std::size_t>(k)] < b[static_cast<std::size_t>(k)];
  v.needed = v.rounds / 2.0 + std::sqrt(static_cast<double>(v.rounds));
  if (v.rounds >= 5 && v.wins > v.needed) v.fastest = v.best;
  return v;
}

namespace {

// One run's figures into its mode's result and samples.
void record(const Outcome& o, bool first, ModeResult& r, Samples& s) {
  if (first) {
    r.ran = o.kind == OutcomeKind::exited || o.kind == OutcomeKind::signaled;
    r.first_exit_code = o.exit_code();
    r.first_status = status_text(o);
    r.shared_memory = o.shared_memory;
    r.parent_suspended = o.parent_suspended;
  } else if (o.exit_code() != r.first_exit_code) {
    r.all_ok = false;
  }
  s.spawn.push_back(o.spawn_us);
  s.total.push_back(o.total_us);
  s.maxrss.push_back(o.usage.maxrss_kb);
  s.minflt += static_cast<double>(o.parent_minflt);
}

void summarize_into(CompareResult& result, std::vector<Samples>& samples, int rounds) {
  std::vector<std::vector<double>> totals;
  std::vector<bool> ran;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    ModeResult& r = result.results[i];
    r.spawn_us = summarize(samples[i].spawn);
    r.total_us = summarize(samples[i].total);
    r.parent_minflt_per_spawn = samples[i].minflt / rounds;
    r.touch_us = summarize(samples[i].touch);
    r.touch_minflt_per_run = samples[i].touch_minflt / rounds;
    auto& rss = samples[i].maxrss;
    std::sort(rss.begin(), rss.end());
    r.child_maxrss_kb = rss[rss.size() / 2];
    totals.push_back(samples[i].total);
    ran.push_back(r.ran);
  }
  result.verdict = judge(totals, ran);
}

}  // namespace

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
  auto mem = grow_rss(spec.rss);
  if (!mem) return mem.error();

  SessionOptions opts;
  opts.forward_signals = true;
  opts.reap_orphans = true;
  opts.guard_spawn = false;  // the figures are posix_spawn's own; see docs/benchmarks.md
  auto session = Session::create(opts);
  if (!session) return session.error();

  std::vector<Samples> samples(modes.size());
  CompareResult result;
  result.skipped = skipped;
  result.touched = spec.touch;
  std::vector<Region> regions = spec.touch ? touch_regions(mem.value(), spec.rss) : std::vector<Region>{};
  for (const Region& g : regions) result.touched_bytes += g.n;
  result.results.resize(modes.size());
  for (std::size_t i = 0; i < modes.size(); ++i) result.results[i].mode = std::string(modes[i]->name);

  for (int round = 0; round < spec.rounds; ++round) {
    if (spec.progress && (round % 10 == 0 || round + 1 == spec.rounds)) {
      std::fprintf(stderr, "\rrdbox compare: round %d/%d", round + 1, spec.rounds);
      std::fflush(stderr);
    }
    for (std::size_t i = 0; i < modes.size(); ++i) {
      Outcome o = session.value()->run(plans[i]);
      // Ctrl-C reaches the command (it owns the terminal): stop as a shell would.
      if (o.kind == OutcomeKind::signaled && (o.signal == SIGINT || o.signal == SIGQUIT)) {
        if (spec.progress) std::fprintf(stderr, "\r\033[K");
        return Error::input("compare", "interrupted: the command was killed by " + signal_name(o.signal));
      }
      record(o, round == 0, result.results[i], samples[i]);
      if (result.touched) touch_after_run(regions, samples[i]);
    }
  }
  if (spec.progress) std::fprintf(stderr, "\r\033[K");
  result.machine = read_machine();
  summarize_into(result, samples, spec.rounds);
  return result;
}

}  // namespace rdbox
