// rdbox compare against the real binary: every mode reported, figures sane, semantics
// observed, formats parse back, bad input refused before anything runs.
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace itest;

namespace {
class Compare : public RdboxTest {};

struct Expect {
  const char* mode;
  std::optional<bool> shared;
  bool suspended;
};
const Expect kModes[] = {{"fork", false, false},         {"vfork", true, true},
                         {"clone", false, false},        {"clone-vm", true, false},
                         {"clone-vm-vfork", true, true}, {"spawn", std::nullopt, true}};
}  // namespace

TEST_F(Compare, JsonReportsEveryModeWithSaneFigures) {
  RunOptions o;
  o.timeout = 60s;
  Result r = run({"compare", "-n", "20", "--format", "json", "--", "/bin/true"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  ASSERT_EQ((*j)["results"].size(), 6u);
  int fastest = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto& m = (*j)["results"][i];
    SCOPED_TRACE(m.dump());
    EXPECT_EQ(m["mode"], kModes[i].mode);
    EXPECT_EQ(m["exit_code"], 0);
    EXPECT_EQ(m["all_same_exit_code"], true);
    if (kModes[i].shared) EXPECT_EQ(m["shared_memory"], *kModes[i].shared);
    else EXPECT_TRUE(m["shared_memory"].is_null());
    EXPECT_EQ(m["parent_suspended"], kModes[i].suspended);
    for (const char* k : {"spawn_us", "total_us"}) {
      const auto& s = m[k];
      EXPECT_GT(s["min"].get<double>(), 0) << k;
      EXPECT_LE(s["min"].get<double>(), s["median"].get<double>()) << k;
      EXPECT_LE(s["median"].get<double>(), s["p99"].get<double>()) << k;
      EXPECT_LE(s["p99"].get<double>(), s["max"].get<double>()) << k;
      EXPECT_LT(s["max"].get<double>(), 5e6) << k;
    }
    EXPECT_LE(m["spawn_us"]["median"].get<double>(), m["total_us"]["median"].get<double>());
    EXPECT_EQ(m["median_us"], m["total_us"]["median"]);
    EXPECT_GT(m["child_maxrss_kb"].get<long>(), 0);
    EXPECT_GE(m["parent_minflt_per_spawn"].get<double>(), 0);
    fastest += m["fastest"].get<bool>();
  }
  // Marked only when it beat the runner-up beyond the noise (a sign test over the rounds).
  EXPECT_LE(fastest, 1);
  const auto& v = (*j)["verdict"];
  EXPECT_EQ(v["rounds"], 20);
  EXPECT_EQ(fastest == 1, !v["fastest"].is_null()) << v.dump();
  if (fastest == 1) {
    EXPECT_GT(v["wins"].get<double>(), v["needed"].get<double>());
  }
  EXPECT_EQ(v["meaning"].get<std::string>().rfind("meaning: ", 0), 0u);
  EXPECT_FALSE((*j)["machine"]["kernel"].get<std::string>().empty());
  EXPECT_EQ((*j)["options"]["n"], 20);
}

TEST_F(Compare, TableAndCsv) {
  RunOptions o;
  o.timeout = 60s;
  Result t = run({"compare", "-n", "5", "--modes", "fork,clone-vm", "--", "/bin/true"}, o);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto lines = t.out_lines();
  ASSERT_GE(lines.size(), 4u) << t.out;
  EXPECT_EQ(lines[1].rfind("mode", 0), 0u);
  EXPECT_EQ(lines[1].size(), lines[2].size());  // aligned
  // The fastest is marked, or the table says why none is; the last line says what it means.
  EXPECT_TRUE(t.out.find("* fastest by median total") != std::string::npos ||
              t.out.find("no mode marked fastest") != std::string::npos) << t.out;
  EXPECT_EQ(lines.back().rfind("meaning: ", 0), 0u) << t.out;
  Result c = run({"compare", "-n", "5", "--modes", "spawn,vfork", "--format", "csv", "--", "/bin/true"}, o);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto rows = c.out_lines();
  ASSERT_EQ(rows.size(), 3u) << c.out;
  EXPECT_EQ(rows[1].rfind("spawn,0,,true,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[2].rfind("vfork,0,true,true,", 0), 0u) << rows[2];
}

TEST_F(Compare, RunOptionsApplyToEveryMode) {
  RunOptions o;
  o.timeout = 60s;
  Result r = run({"compare", "-n", "3", "--format", "json", "-e", "RDBOX_CMP=7", "--", "sh", "-c",
                  "exit $RDBOX_CMP"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  for (const auto& m : (*j)["results"]) EXPECT_EQ(m["exit_code"], 7) << m["mode"];
}

TEST_F(Compare, BadInputIs125BeforeAnythingRuns) {
  TempDir tmp;
  std::string marker = tmp / "ran";
  const std::vector<std::vector<std::string>> bad = {
      {"compare", "-n", "0"}, {"compare", "-n", "-3"}, {"compare", "-n", "abc"},
      {"compare", "--rss", "-1"}, {"compare", "--rss", "99999999999999999999999"}, {"compare", "--rss", "100000G"},
      {"compare", "--modes", "fork,bogus"}, {"compare", "--format", "xml"}, {"compare", "--mode", "fork"},
  };
  for (auto args : bad) {
    args.insert(args.end(), {"--", "touch", marker});
    Result r = run(args);
    EXPECT_EQ(r.exit_code, 125) << join(args, " ") << ": " << r.out;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_FALSE(file_exists(marker)) << join(args, " ");
  }
}

TEST_F(Compare, NamespaceOptionsApplyWhereTheModeCan) {
  RunOptions o;
  o.timeout = 60s;
  std::vector<std::string> args{"compare", "-n", "3", "--format", "json", "--newuts", "--hostname", "cmp"};
  if (::geteuid() != 0) args.push_back("--newuser");
  args.insert(args.end(), {"--", "sh", "-c", "test \"$(cat /proc/sys/kernel/hostname)\" = cmp"});
  Result r = run(args, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  for (const auto& m : (*j)["results"]) {
    EXPECT_NE(m["mode"], "spawn");
    EXPECT_EQ(m["exit_code"], 0) << m["mode"] << " did not see the hostname";
  }
  bool spawn_skipped = false;
  for (const auto& s : (*j)["skipped"]) spawn_skipped |= s["mode"] == "spawn" && !s["reason"].get<std::string>().empty();
  EXPECT_TRUE(spawn_skipped) << (*j)["skipped"].dump();
  // Asked for by name, a mode that cannot honour the options is an error.
  Result bad = run({"compare", "-n", "3", "--modes", "spawn", "--newuts", "--", "/bin/true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(bad.err_lines().size(), 1u) << bad.err;
}

TEST_F(Compare, TouchShowsForksCopyOnWriteFaults) {
  RunOptions o;
  o.timeout = 60s;
  Result r = run({"compare", "-n", "3", "--rss", "32M", "--touch", "--modes", "fork,vfork", "--format", "json", "--",
                  "/bin/true"},
                 o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  const auto& fork = (*j)["results"][0];
  const auto& vfork = (*j)["results"][1];
  ASSERT_EQ(fork["mode"], "fork");
  // 32 MiB of 4 KiB pages: every one write-protected by fork faults on the next write.
  EXPECT_GT(fork["touch_minflt_per_run"].get<double>(), 0.9 * 8192) << fork.dump();
  EXPECT_LT(vfork["touch_minflt_per_run"].get<double>(), 100) << vfork.dump();
  EXPECT_EQ((*j)["options"]["touch"], true);

  Result t = run({"compare", "-n", "2", "--rss", "8M", "--touch", "--modes", "fork", "--", "/bin/true"}, o);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("touch minflt"), std::string::npos) << t.out;
  // The faults count in parent minflt too: fork's is no longer 1-3.
  EXPECT_GT(fork["parent_minflt_per_spawn"].get<double>(), 0.9 * 8192) << fork.dump();
  EXPECT_LT(vfork["parent_minflt_per_spawn"].get<double>(), 100) << vfork.dump();
  // Without --rss, rdbox's own heap is written.
  Result heap = run({"compare", "-n", "3", "--touch", "--modes", "fork,clone-vm", "--format", "json", "--", "/bin/true"}, o);
  ASSERT_EQ(heap.exit_code, 0) << heap.err;
  auto h = parse_json(heap.out);
  ASSERT_TRUE(h);
  // (How many pages that is depends on the allocator: a sanitizer's keeps little in the
  // heap proper, so only "some, and more than with a shared address space" is asserted.)
  EXPECT_GT((*h)["results"][0]["touch_minflt_per_run"].get<double>(), 0) << h->dump();
  EXPECT_GT((*h)["results"][0]["touch_minflt_per_run"].get<double>(),
            (*h)["results"][1]["touch_minflt_per_run"].get<double>()) << h->dump();
}
