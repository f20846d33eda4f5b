// The stress suite (issue 10): 1000 runs of the real rdbox in a row and 100 at once, mixing
// the creation modes, namespaces, a rootfs with an overlay, --init, commands that leave
// orphans and daemonized grandchildren behind and (as root) a pids cgroup; afterwards the
// host must be as it was. Bounded: every rdbox has a hard timeout, the concurrent batch is
// 100 processes (each with at most three of its own), and nothing is timed.
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "host_state.hpp"

using namespace itest;
using namespace stress;

namespace {

constexpr int kInARow = 1000;
constexpr int kAtOnce = 100;

// One kind of run: rdbox's arguments for a command that must exit with `code`.
struct Kind {
  const char* name;
  std::vector<std::string> (*args)(int code);
};

std::string code_s(int code) { return std::to_string(code); }
std::vector<std::string> sh(const std::string& script) { return {"--", "/bin/sh", "-c", script}; }
std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
// Orphans and a daemonized grandchild (a new session), left running as the command exits.
std::string leaves(int code) { return "sleep 30 & setsid sleep 30 & exit " + code_s(code); }

const Kind kKinds[] = {
    {"fork", [](int c) { return cat({"run", "--mode", "fork"}, sh("exit " + code_s(c))); }},
    {"vfork", [](int c) { return cat({"run", "--mode", "vfork"}, sh("exit " + code_s(c))); }},
    {"clone", [](int c) { return cat({"run", "--mode", "clone"}, sh("exit " + code_s(c))); }},
    {"vm", [](int c) { return cat({"run", "--vm"}, sh("exit " + code_s(c))); }},
    {"vm_vfork", [](int c) { return cat({"run", "--vm", "--vfork"}, sh("exit " + code_s(c))); }},
    {"spawn", [](int c) { return cat({"run", "--mode", "spawn"}, sh("exit " + code_s(c))); }},
    {"namespaced",
     [](int c) {
       return with_priv(cat({"run", "--newpid", "--newns", "--newuts", "--newipc", "--newnet", "--hostname", "s"},
                            sh("[ $$ = 1 ] && [ $(hostname) = s ] && exit " + code_s(c))));
     }},
    {"namespaced_fork",
     [](int c) { return with_priv(cat({"run", "--mode", "fork", "--newpid", "--newns"}, sh("exit " + code_s(c)))); }},
    {"rootfs_overlay",
     [](int c) {
       return with_priv(cat({"run", "--rootfs", rootfs(), "--overlay"},
                            sh("echo x > /written && [ -f /written ] && exit " + code_s(c))));
     }},
    {"init", [](int c) { return with_priv(cat({"run", "--newpid", "--init"}, sh(leaves(c)))); }},
    {"leaves_orphans", [](int c) { return cat({"run"}, sh(leaves(c))); }},
    {"leaves_orphans_vm", [](int c) { return cat({"run", "--vm"}, sh(leaves(c))); }},
    {"leaves_orphans_spawn", [](int c) { return cat({"run", "--mode", "spawn"}, sh(leaves(c))); }},
    {"leaves_orphans_newpid", [](int c) { return with_priv(cat({"run", "--newpid"}, sh(leaves(c)))); }},
    {"rootfs_init_orphans",
     [](int c) { return with_priv(cat({"run", "--rootfs", rootfs(), "--overlay", "--init"}, sh(leaves(c)))); }},
    {"pids_cgroup", [](int c) { return cat({"run", "--pids", "50"}, sh(leaves(c))); }},  // root only
};
constexpr std::size_t kNumKinds = sizeof kKinds / sizeof kKinds[0];

class Stress : public RdboxTest {
 protected:
  void SetUp() override {
    RdboxTest::SetUp();
    if (rootfs().empty()) GTEST_SKIP() << "no rootfs: run scripts/make-rootfs.sh (busybox-static)";
    cgroups_ = can_make_cgroups();
  }
  // The kinds this run can do: the pids cgroup needs root and a writable hierarchy.
  std::vector<const Kind*> kinds() const {
    std::vector<const Kind*> out;
    for (const auto& k : kKinds)
      if (std::string(k.name) != "pids_cgroup" || cgroups_) out.push_back(&k);
    return out;
  }
  RunOptions options(Ms timeout) const {
    RunOptions o;
    o.timeout = timeout;
    o.env = {"TMPDIR=" + tmpdir_.path()};
    o.cwd = cwd_.path();
    return o;
  }
  std::vector<std::string> private_dirs() const { return {tmpdir_.path(), cwd_.path()}; }

  bool cgroups_ = false;
  TempDir tmpdir_, cwd_;  // the runs' TMPDIR and working directory: must stay empty
};

TEST_F(Stress, AThousandRunsInARow) {
  HostSnapshot before;
  auto ks = kinds();
  std::set<pid_t> ours;
  std::vector<int> per_kind(ks.size(), 0);
  int failures = 0;
  for (int i = 0; i < kInARow; ++i) {
    std::size_t k = static_cast<std::size_t>(i) % ks.size();
    int code = i % 100;
    Result r = run(ks[k]->args(code), options(30s));
    ours.insert(r.pid);
    if (r.exit_code == code) {
      ++per_kind[k];
      continue;
    }
    if (++failures <= 10)
      ADD_FAILURE() << "run " << i << " (" << ks[k]->name << "): exit " << r.exit_code << ", want " << code
                    << "\nstderr: " << r.err;
  }
  EXPECT_EQ(failures, 0) << "of " << kInARow << " runs";
  std::string counts;
  for (std::size_t k = 0; k < ks.size(); ++k) counts += std::string(" ") + ks[k]->name + "=" + std::to_string(per_kind[k]);
  RecordProperty("runs", kInARow);
  std::printf("%d runs in a row, %d as expected:%s\n", kInARow, kInARow - failures, counts.c_str());
  expect_nothing_left(before, ours, private_dirs());
  EXPECT_FALSE(file_exists(rootfs() + "/written")) << "an --overlay write reached the rootfs";
}

TEST_F(Stress, AHundredAtOnce) {
  HostSnapshot before;
  auto ks = kinds();
  std::set<pid_t> ours;
  int failures = 0;
  // Two batches: every kind several times, each batch started together and then waited for.
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<Process> procs;
    std::vector<int> codes;
    std::vector<const Kind*> which;
    procs.reserve(kAtOnce);
    for (int i = 0; i < kAtOnce; ++i) {
      const Kind* k = ks[static_cast<std::size_t>(i + batch) % ks.size()];
      codes.push_back((i * 7 + batch) % 100);
      which.push_back(k);
      procs.push_back(Process::start(k->args(codes.back()), options(120s)));
      ours.insert(procs.back().pid());
    }
    for (int i = 0; i < kAtOnce; ++i) {
      Result r = procs[static_cast<std::size_t>(i)].finish();
      if (r.exit_code != codes[static_cast<std::size_t>(i)] && ++failures <= 10)
        ADD_FAILURE() << "batch " << batch << " run " << i << " (" << which[static_cast<std::size_t>(i)]->name
                      << "): exit " << r.exit_code << ", want " << codes[static_cast<std::size_t>(i)]
                      << "\nstderr: " << r.err;
    }
  }
  EXPECT_EQ(failures, 0);
  std::printf("%d runs, %d at once, %d not as expected\n", 2 * kAtOnce, kAtOnce, failures);
  expect_nothing_left(before, ours, private_dirs());
  EXPECT_FALSE(file_exists(rootfs() + "/written")) << "an --overlay write reached the rootfs";
}

}  // namespace
