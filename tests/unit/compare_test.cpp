// compare's statistics and formats, on known data. No process is spawned.
#include <cmath>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "rdbox/compare.hpp"

using namespace rdbox;

TEST(Summarize, KnownData) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  Summary s = summarize(v);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_EQ(s.p99, 99);  // nearest rank: the 99th smallest of 100
}

TEST(Summarize, OddSmallAndEmpty) {
  Summary s = summarize({5, 1, 3});
  EXPECT_EQ(s.median, 3);
  EXPECT_EQ(s.p99, 5);
  Summary one = summarize({7});
  EXPECT_EQ(one.min, 7);
  EXPECT_EQ(one.p99, 7);
  Summary none = summarize({});
  EXPECT_EQ(none.median, 0);
}

TEST(Summarize, P99OfThousand) {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_EQ(summarize(v).p99, 990);
}

namespace {
CompareResult sample() {
  CompareResult r;
  ModeResult a;
  a.mode = "fork";
  a.ran = true;
  a.first_exit_code = 0;
  a.first_status = "exited 0";
  a.shared_memory = false;
  a.total_us = {700, 750, 900, 950};
  a.spawn_us = {20, 25, 40, 50};
  a.child_maxrss_kb = 1000;
  ModeResult b = a;
  b.mode = "spawn";
  b.shared_memory.reset();
  b.parent_suspended = true;
  b.total_us = {600, 650, 800, 820};
  r.results = {a, b};
  r.verdict.fastest = r.verdict.best = 1;
  r.verdict.runner_up = 0;
  r.verdict.wins = r.verdict.rounds = 20;
  r.machine.kernel = "Linux 6";
  r.machine.cpu_model = "cpu";
  r.machine.thp = "madvise";
  return r;
}
CompareSpec spec() {
  CompareSpec s;
  s.rounds = 20;
  s.base.command = {"/bin/true"};
  return s;
}
}  // namespace

TEST(CompareFormat, JsonParsesBack) {
  auto j = nlohmann::json::parse(format_json(spec(), sample()));
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["mode"], "fork");
  EXPECT_EQ(j["results"][0]["median_us"], 750);
  EXPECT_EQ(j["results"][0]["p99_us"], 900);
  EXPECT_EQ(j["results"][1]["shared_memory"], nullptr);
  EXPECT_EQ(j["results"][1]["fastest"], true);
  EXPECT_EQ(j["results"][0]["fastest"], false);
  EXPECT_EQ(j["machine"]["thp"], "madvise");
  EXPECT_EQ(j["options"]["n"], 20);
}

TEST(CompareFormat, CsvParsesBack) {
  std::istringstream in(format_csv(sample()));
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> cols;
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ',');) cols.push_back(c);
  int rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    EXPECT_EQ(cells.size(), cols.size()) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols[0], "mode");
  EXPECT_NE(std::find(cols.begin(), cols.end(), "median_us"), cols.end());
}

TEST(CompareFormat, TableIsAlignedAndMarksFastest) {
  std::string t = format_table(spec(), sample());
  std::istringstream in(t);
  std::string title, header, r1, r2;
  std::getline(in, title);
  std::getline(in, header);
  std::getline(in, r1);
  std::getline(in, r2);
  EXPECT_EQ(header.size(), r1.size());
  EXPECT_EQ(r1.size(), r2.size());
  EXPECT_EQ(r2.rfind("spawn *", 0), 0u) << r2;
  EXPECT_EQ(r1.find('*'), std::string::npos);
}

TEST(CompareVerdict, FastestOnlyWhenItBeatsTheNoise) {
  // Mode 1 quicker in every one of 20 rounds: marked.
  std::vector<double> slow(20, 600), quick(20, 500);
  Verdict v = judge({slow, quick}, {true, true});
  EXPECT_EQ(v.fastest, 1u);
  EXPECT_EQ(v.runner_up, 0u);
  EXPECT_EQ(v.wins, 20);
  EXPECT_EQ(v.rounds, 20);
  // A lower median but a coin toss round by round: not marked.
  std::vector<double> a, b;
  for (int k = 0; k < 20; ++k) {
    a.push_back(k % 2 ? 499 : 700);
    b.push_back(k % 2 ? 650 : 501);
  }
  v = judge({a, b}, {true, true});
  EXPECT_EQ(v.fastest, Verdict::none);
  EXPECT_EQ(v.wins, 10);
  EXPECT_NEAR(v.needed, 10 + std::sqrt(20.0), 1e-9);
  // Too few rounds to tell, however clear.
  v = judge({std::vector<double>(4, 600), std::vector<double>(4, 500)}, {true, true});
  EXPECT_EQ(v.fastest, Verdict::none);
  // A mode whose command did not run is never fastest, and one mode alone beats nobody.
  v = judge({std::vector<double>(20, 1), std::vector<double>(20, 500)}, {false, true});
  EXPECT_EQ(v.fastest, Verdict::none);
  EXPECT_EQ(v.best, 1u);
}

TEST(CompareFormat, TableEndsWithWhatItMeans) {
  CompareResult r = sample();
  std::string t = format_table(spec(), r);
  EXPECT_NE(t.find("* fastest by median total"), std::string::npos) << t;
  EXPECT_NE(t.find("beat the runner-up, fork, in 20 of 20"), std::string::npos) << t;
  auto last = t.substr(t.rfind('\n', t.size() - 2) + 1);
  EXPECT_EQ(last.rfind("meaning: ", 0), 0u) << t;
  r.verdict.fastest = Verdict::none;
  t = format_table(spec(), r);
  EXPECT_EQ(t.find('*'), std::string::npos) << t;
  EXPECT_NE(t.find("no mode marked fastest"), std::string::npos) << t;
  // child maxrss near rdbox's own size is labelled for what it is.
  r.machine.rss_kb = 1500;
  EXPECT_NE(format_table(spec(), r).find("child maxrss: the child's peak over its whole life"), std::string::npos);
}

TEST(CompareSpecValidate, BadInput) {
  CompareSpec s = spec();
  EXPECT_TRUE(s.validate().ok());
  s.rounds = 0;
  EXPECT_FALSE(s.validate().ok());
  s = spec();
  s.modes = {"fork", "bogus"};
  EXPECT_FALSE(s.validate().ok());
  s = spec();
  s.rss = std::size_t{1} << 50;
  EXPECT_FALSE(s.validate().ok());
  s = spec();
  s.base.vm = true;
  EXPECT_FALSE(s.validate().ok());
  s = spec();
  s.touch = true;  // --touch without --rss writes rdbox's heap
  EXPECT_TRUE(s.validate().ok());
}

TEST(CompareModes, TableNamesUnique) {
  for (std::size_t i = 0; i < kCompareModeCount; ++i)
    for (std::size_t j = i + 1; j < kCompareModeCount; ++j) EXPECT_NE(kCompareModes[i].name, kCompareModes[j].name);
  EXPECT_EQ(kCompareModeCount, 6u);
}
