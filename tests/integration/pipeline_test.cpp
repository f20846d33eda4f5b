// rdbox pipeline (issue 12) against the real build/rdbox, as root and as uid 65534
// (tests/rootless.sh; where a namespace needs privilege the unprivileged run adds
// --newuser). Every rdbox invocation is bounded by the harness's timeout; nothing here
// asserts on how long something took.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "sandbox_helpers.hpp"

using namespace itest;

namespace {

class Pipeline : public RdboxTest {};

// "rdbox pipeline" and the options, then the stages.
std::vector<std::string> pipeline(std::vector<std::string> options, const std::vector<std::string>& stages) {
  std::vector<std::string> args{"pipeline"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back("--");
  args.insert(args.end(), stages.begin(), stages.end());
  return args;
}

// The per-stage status lines ("PID exited with status N", "PID killed by signal N (...)").
struct StageLine {
  long pid = -1;
  std::string rest;
};
std::vector<StageLine> status_lines(const Result& r) {
  std::vector<StageLine> out;
  for (const auto& line : r.err_lines()) {
    auto sp = line.find(' ');
    if (sp == std::string::npos || line.rfind("rdbox:", 0) == 0) continue;
    std::string rest = line.substr(sp + 1);
    if (rest.rfind("exited with status ", 0) != 0 && rest.rfind("killed by signal ", 0) != 0) continue;
    out.push_back({std::strtol(line.c_str(), nullptr, 10), rest});
  }
  return out;
}
std::vector<std::string> statuses(const Result& r) {
  std::vector<std::string> out;
  for (const auto& s : status_lines(r)) out.push_back(s.rest);
  return out;
}

// The probe as a stage that copies its stdin on: its own facts come first in its output.
std::string probe_stage() { return shell_quote(self_exe()) + " " + kProbeFlag + " cat"; }
std::vector<Probe> probes(const std::string& out) {
  std::vector<Probe> all;
  std::size_t from = 0;
  for (auto end = out.find("end=1\n"); end != std::string::npos; end = out.find("end=1\n", from)) {
    all.push_back(parse_probe(out.substr(from, end + 6 - from)));
    from = end + 6;
  }
  return all;
}

std::string shell_answer(const std::string& script) {
  Result r = Process::start_program({"/bin/sh", "-c", script}).finish();
  EXPECT_EQ(r.exit_code, 0) << script << ": " << r.err;
  return r.out;
}

}  // namespace

TEST_F(Pipeline, SeedExampleGivesTheShellsAnswer) {
  TempDir dir;
  for (const char* f : {"a.py", "b.py", "notes.txt", "c.pyc", "setup.py.bak", "README"}) dir.write(f, "x");
  std::string d = shell_quote(dir.path());
  Result r = run(pipeline({}, {"ls -al " + d, "grep -F .py", "wc -l"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string want = shell_answer("ls -al " + d + " | grep -F .py | wc -l");
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.out, "4\n");  // a.py b.py c.pyc setup.py.bak
  // One line per stage, in order, each with its own process.
  auto lines = status_lines(r);
  ASSERT_EQ(lines.size(), 3u) << r.err;
  std::set<long> pids;
  for (const auto& l : lines) {
    EXPECT_EQ(l.rest, "exited with status 0");
    EXPECT_GT(l.pid, 0);
    EXPECT_NE(l.pid, r.pid);
    pids.insert(l.pid);
  }
  EXPECT_EQ(pids.size(), 3u) << r.err;
  EXPECT_EQ(r.err_lines().size(), 3u) << r.err;
}

TEST_F(Pipeline, FailingMiddleStageWithAndWithoutPipefail) {
  std::vector<std::string> stages{"echo data", "sh -c 'cat; exit 3'", "cat"};
  Result plain = run(pipeline({}, stages));
  EXPECT_EQ(plain.exit_code, 0) << plain.err;  // the last stage's status, as a shell's
  EXPECT_EQ(plain.out, "data\n");
  EXPECT_EQ(statuses(plain), (std::vector<std::string>{"exited with status 0", "exited with status 3",
                                                       "exited with status 0"}));
  Result fail = run(pipeline({"--pipefail"}, stages));
  EXPECT_EQ(fail.exit_code, 3) << fail.err;
  EXPECT_EQ(fail.out, "data\n");
  // The rightmost non-zero one decides, whichever ended last.
  Result two = run(pipeline({"--pipefail"}, {"sh -c 'exit 2'", "sh -c 'cat; exit 3'", "true"}));
  EXPECT_EQ(two.exit_code, 3) << two.err;
  Result first = run(pipeline({"--pipefail"}, {"false", "cat", "cat"}));
  EXPECT_EQ(first.exit_code, 1) << first.err;
  Result last = run(pipeline({}, {"true", "sh -c 'exit 7'"}));
  EXPECT_EQ(last.exit_code, 7) << last.err;
}

TEST_F(Pipeline, StageNotFoundIsThatStagesStatus) {
  // (The first stage writes nothing: a stage writing to one that never ran gets SIGPIPE,
  // as in a shell.)
  // PATH without the caller's own directories (uid 65534 may not search them: EACCES, 126).
  const std::vector<std::string> path{"-e", "PATH=/usr/bin:/bin"};
  Result r = run(pipeline(path, {"true", "rdbox-no-such-command x", "echo after"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;  // the others ran, the last decides
  EXPECT_EQ(r.out, "after\n");
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"exited with status 0", "exited with status 127",
                                                   "exited with status 0"}));
  EXPECT_NE(r.err.find("rdbox: stage 2: exec \"rdbox-no-such-command\": No such file or directory"),
            std::string::npos)
      << r.err;
  Result last = run(pipeline(path, {"true", "rdbox-no-such-command"}));
  EXPECT_EQ(last.exit_code, 127) << last.err;
  Result json = run(pipeline({"-e", "PATH=/usr/bin:/bin", "--report", "json"}, {"true", "rdbox-no-such-command"}));
  auto j = report_json(json);
  ASSERT_TRUE(j) << json.err;
  ASSERT_EQ((*j)["stages"].size(), 2u);
  EXPECT_EQ((*j)["stages"][1]["error"]["step"], "exec");
  EXPECT_EQ((*j)["stages"][1]["error"]["errno_name"], "ENOENT");
  EXPECT_EQ((*j)["stages"][1]["exit_code"], 127);
  EXPECT_EQ((*j)["stages"][0]["error"], nullptr);
  EXPECT_EQ((*j)["exit_code"], 127);
}

TEST_F(Pipeline, YesHeadEndsAtOnceWithSigpipe) {
  RunOptions o;
  o.timeout = 30s;  // generous: it ends as soon as head exits
  Result r = run(pipeline({}, {"yes", "head -n 1"}), o);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "y\n");
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"killed by signal 13 (SIGPIPE)", "exited with status 0"}));
  Result fail = run(pipeline({"--pipefail"}, {"yes", "head -n 1"}), o);
  EXPECT_EQ(fail.exit_code, 141) << fail.err;  // as bash's pipefail says
}

TEST_F(Pipeline, TenStagesMoveOneHundredMegabytes) {
  std::vector<std::string> stages{"head -c 100000000 /dev/zero"};
  for (int i = 0; i < 8; ++i) stages.push_back("cat");
  stages.push_back("wc -c");
  RunOptions o;
  o.timeout = 120s;
  Result r = run(pipeline({}, stages), o);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "100000000\n");
  EXPECT_EQ(statuses(r), std::vector<std::string>(10, "exited with status 0"));
}

TEST_F(Pipeline, EachStageSeesOnlyItsPipesAndStdio) {
  for (std::vector<std::string> opts : {std::vector<std::string>{}, {"--mode", "fork"}, {"--newpid"},
                                        {"--mode", "fork", "--newpid"}, {"--init"}}) {
    std::string what = join(opts, " ");
    bool newpid = std::find(opts.begin(), opts.end(), "--newpid") != opts.end() ||
                  std::find(opts.begin(), opts.end(), "--init") != opts.end();
    std::vector<std::string> args = opts;
    if (!is_root() && newpid) args.insert(args.begin(), "--newuser");
    Result r = run(pipeline(args, {probe_stage(), probe_stage(), probe_stage()}));
    ASSERT_EQ(r.exit_code, 0) << what << ": " << r.err;
    auto p = probes(r.out);  // the last stage's facts first: each prints its own, then copies
    ASSERT_EQ(p.size(), 3u) << what << ": " << r.out;
    std::reverse(p.begin(), p.end());
    for (std::size_t k = 0; k < 3; ++k) {
      ASSERT_TRUE(p[k].ok) << what;
      EXPECT_EQ(p[k].fds(), (std::vector<int>{0, 1, 2})) << what << " stage " << k << ": " << p[k].get("fds");
      EXPECT_EQ(p[k].get("pgid"), p[0].get("pid")) << what << ": one group, the first stage's";
      EXPECT_EQ(p[k].get("ppid"), p[0].get("ppid")) << what << ": one parent";
      EXPECT_NE(p[k].get("ppid"), p[k].get("pgid")) << what << ": the parent is outside the stages' group";
    }
    // Stage k's stdout is stage k+1's stdin: the same pipe, and nowhere else.
    for (std::size_t k = 0; k + 1 < 3; ++k) {
      EXPECT_EQ(p[k].get("fd.1").rfind("pipe:", 0), 0u) << what;
      EXPECT_EQ(p[k].get("fd.1"), p[k + 1].get("fd.0")) << what;
    }
    EXPECT_NE(p[0].get("fd.1"), p[1].get("fd.1")) << what;
    if (newpid) {
      EXPECT_EQ(p[0].get("ppid"), "1") << what << ": the stages' parent is PID 1";
    }
  }
}

TEST_F(Pipeline, ModesThatCanRunThemDoAndTheOthersSayWhy) {
  for (std::vector<std::string> opts : {std::vector<std::string>{"--mode", "clone"}, {"--mode", "fork"},
                                        {"--mode", "clone", "--clone-flags", "FILES,IO"}}) {
    Result r = run(pipeline(opts, {"echo one two three", "tr ' ' '\\n'", "wc -l"}));
    EXPECT_EQ(r.exit_code, 0) << join(opts, " ") << ": " << r.err;
    EXPECT_EQ(r.out, "3\n") << join(opts, " ");
    EXPECT_EQ(statuses(r).size(), 3u) << r.err;
  }
  for (auto [opts, named] : {std::pair{std::vector<std::string>{"--mode", "vfork"}, "--mode vfork"},
                             std::pair{std::vector<std::string>{"--mode", "spawn"}, "--mode spawn"},
                             std::pair{std::vector<std::string>{"--vm"}, "--vm"},
                             std::pair{std::vector<std::string>{"--vfork"}, "--vfork"},
                             std::pair{std::vector<std::string>{"--vm", "--vfork"}, "--vfork"}}) {
    Result r = run(pipeline(opts, {"echo x", "cat"}));
    EXPECT_EQ(r.exit_code, 125) << named;
    ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_EQ(r.err.find(std::string("rdbox: ") + named + ": not with rdbox pipeline"), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(Pipeline, InsideANewPidNamespaceAndRootfs) {
  REQUIRE_ROOTFS();
  // Count what the stages see in the rootfs's /bin, against this process's own listing.
  std::size_t entries = 0;
  if (DIR* d = ::opendir((rootfs() + "/bin").c_str())) {
    while (struct dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++entries;
    ::closedir(d);
  }
  ASSERT_GT(entries, 10u);
  for (const char* mode : {"clone", "fork"}) {
    Result r = run(with_priv(pipeline({"--mode", mode, "--newpid", "--rootfs", rootfs()}, {"/bin/ls /bin", "wc -l"})));
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    EXPECT_EQ(std::strtoul(r.out.c_str(), nullptr, 10), entries) << r.out;
    // PID 1 is rdbox's init, the stages' parent; the stages are 2, 3 inside.
    Result init = run(with_priv(pipeline({"--mode", mode, "--newpid", "--rootfs", rootfs(), "--report", "json"},
                                         {"cat /proc/1/cmdline", "tr '\\0' '\\n'", "grep -x rdbox-init"})));
    ASSERT_EQ(init.exit_code, 0) << mode << ": " << init.err;
    EXPECT_EQ(init.out, "rdbox-init\n") << mode;
    auto j = report_json(init);
    ASSERT_TRUE(j) << init.err;
    ASSERT_EQ((*j)["stages"].size(), 3u);
    for (int k = 0; k < 3; ++k) {
      const auto& s = (*j)["stages"][k];
      EXPECT_EQ(s["ns_pid"], k + 2) << mode << " " << s.dump();
      ASSERT_TRUE(s["pid"].is_number()) << s.dump();
      EXPECT_NE(s["pid"], s["ns_pid"]) << "rdbox reports the pid it sees: " << s.dump();
      EXPECT_EQ(s["status"]["code"], 0);
    }
    EXPECT_TRUE((*j)["namespaces"]["pid"]["new"]);
  }
}

TEST_F(Pipeline, JsonReportHasEveryStage) {
  std::string odd = "caf\xe9";  // not UTF-8: the report stays byte-safe
  Result r = run(pipeline({"--report", "json"}, {"echo " + odd, "sh -c 'cat >/dev/null; exit 2'"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j) << r.err;
  EXPECT_EQ((*j)["pipefail"], false);
  EXPECT_EQ((*j)["command"], (std::vector<std::string>{"echo " + std::string("caf\xc3\xa9"),
                                                       "sh -c 'cat >/dev/null; exit 2'"}));
  const auto& st = (*j)["stages"];
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0]["argv"][0], "echo");
  EXPECT_EQ(st[1]["argv"], (std::vector<std::string>{"sh", "-c", "cat >/dev/null; exit 2"}));
  for (const auto& s : st) {
    for (const char* key : {"argv", "pid", "status", "timing_us", "rusage"}) EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_TRUE(s["pid"].is_number());
    EXPECT_TRUE(s["timing_us"]["total"].is_number());
    EXPECT_TRUE(s["timing_us"]["exec"].is_number());
    EXPECT_TRUE(s["rusage"]["maxrss_kb"].is_number());
  }
  EXPECT_EQ(st[1]["status"]["code"], 2);
  bool listed = false;
  for (const auto& p : (*j)["byte_strings"]) listed = listed || p == "/stages/0/argv/1";
  EXPECT_TRUE(listed) << j->dump();
}

TEST_F(Pipeline, ForwardedSignalsReachEveryStageOnce) {
  for (std::vector<std::string> opts : {std::vector<std::string>{}, {"--newpid"}}) {
    if (!is_root() && !opts.empty()) opts.insert(opts.begin(), "--newuser");
    std::vector<std::string> stages;
    for (int k = 1; k <= 3; ++k)
      stages.push_back("sh -c 'n=0; trap \"n=\\$((n+1))\" INT; trap \"echo ints-" + std::to_string(k) +
                       "=\\$n >&2; exit 5\" TERM; echo ready-" + std::to_string(k) + " >&2; while :; do sleep 0.05; done'");
    RunOptions o;
    o.timeout = 30s;
    Process p = Process::start(pipeline(opts, stages), o);
    ASSERT_TRUE(p.wait_for([](const std::string&, const std::string& err) {
      return err.find("ready-1") != std::string::npos && err.find("ready-2") != std::string::npos &&
             err.find("ready-3") != std::string::npos;
    }, 20s)) << p.err();
    ASSERT_EQ(::kill(p.pid(), SIGINT), 0);
    // SIGTERM goes through the same two hops after SIGINT: once it has ended every stage,
    // each stage has counted the SIGINTs it got.
    ASSERT_EQ(::kill(p.pid(), SIGTERM), 0);
    Result r = p.finish();
    EXPECT_EQ(r.exit_code, 5) << r.err;
    for (int k = 1; k <= 3; ++k) {
      std::string needle = "ints-" + std::to_string(k) + "=";
      auto at = r.err.find(needle);
      ASSERT_NE(at, std::string::npos) << r.err;
      EXPECT_EQ(r.err.substr(at + needle.size(), 1), "1") << join(opts, " ") << "\n" << r.err;
    }
    EXPECT_EQ(statuses(r), std::vector<std::string>(3, "exited with status 5")) << r.err;
  }
}

TEST_F(Pipeline, TimeoutEndsEveryStage) {
  RunOptions o;
  o.timeout = 30s;
  Result r = run(pipeline({"--timeout", "300ms"}, {"sleep 30", "sleep 30", "cat"}), o);
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("the pipeline timed out after 0.3s"), std::string::npos) << r.err;
  EXPECT_EQ(statuses(r), std::vector<std::string>(3, "killed by signal 15 (SIGTERM)")) << r.err;
}

TEST_F(Pipeline, WhatAStageLeavesRunningIsEnded) {
  for (std::vector<std::string> opts : {std::vector<std::string>{}, {"--newpid"}}) {
    if (!is_root() && !opts.empty()) opts.insert(opts.begin(), "--newuser");
    Result r = run(pipeline(opts, {"sh -c 'sleep 60 >/dev/null 2>&1 & echo started'", "cat"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "started\n");
    // The fixture fails the test if the sleep is still around (it would be our orphan).
  }
}

TEST_F(Pipeline, DryRunListsTheStages) {
  Result r = run(pipeline({"--dry-run", "--pipefail"}, {"ls -al", "wc -l"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["pipefail"], true);
  ASSERT_EQ((*j)["stages"].size(), 2u);
  EXPECT_EQ((*j)["stages"][1]["argv"], (std::vector<std::string>{"wc", "-l"}));
  bool step = false;
  for (const auto& s : (*j)["steps"]) step = step || s == "pipeline";
  EXPECT_TRUE(step) << r.out;
}

TEST_F(Pipeline, BadInputIsOneLineAnd125) {
  struct Case {
    std::vector<std::string> args;
    const char* needle;
  };
  std::vector<std::string> many{"pipeline"};
  for (int i = 0; i < 1025; ++i) many.push_back("true");
  const std::vector<Case> cases = {
      {{"pipeline"}, "rdbox: pipeline: no stages"},
      {{"pipeline", "--"}, "rdbox: pipeline: no stages"},
      {{"pipeline", "--newpid", "--"}, "rdbox: pipeline: no stages"},
      {{"pipeline", "ls", ""}, "rdbox: stage 2: is empty"},
      {{"pipeline", "ls", " \t "}, "rdbox: stage 2: is empty"},
      {{"pipeline", "'' x"}, "the command is an empty string"},
      {{"pipeline", "ls", "grep 'x"}, "rdbox: stage 2 (\"grep 'x\"): unbalanced single quote"},
      {{"pipeline", "grep \"x", "wc"}, "): unbalanced double quote"},
      {{"pipeline", "echo x\\"}, "ends with a lone backslash"},
      {{"pipeline", "ls | wc -l"}, "unquoted '|'"},
      {{"pipeline", "ls", "wc -l > out"}, "unquoted '>'"},
      {{"pipeline", "--argv0", "x", "ls", "wc"}, "rdbox: --argv0: not with rdbox pipeline"},
      {{"pipeline", "--pipefial", "ls"}, "did you mean --pipefail?"},
      {{"run", "--pipefail", "ls"}, "(it is an option of rdbox pipeline)"},
      {{"pipeline", "--rootfs", "/nonexistent-rdbox", "ls", "wc"}, "rdbox: "},
      {many, "more than rdbox's limit of 1024"},
  };
  for (const auto& c : cases) {
    Result r = run(c.args);
    std::string what = join(c.args.size() > 8 ? std::vector<std::string>{"(1025 stages)"} : c.args, " ");
    EXPECT_EQ(r.exit_code, 125) << what << ": " << r.err;
    EXPECT_EQ(r.err_lines().size(), 1u) << what << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << what << ": " << r.err;
    EXPECT_EQ(r.out, "") << what;
  }
}

TEST_F(Pipeline, StopsOfTheStagesAreReported) {
  // rdbox watches the stages' parent, which passes the stages' stops and continues up.
  for (std::vector<std::string> opts : {std::vector<std::string>{}, {"--newpid"}}) {
    if (!is_root() && !opts.empty()) opts.insert(opts.begin(), "--newuser");
    Process p = Process::start(pipeline(opts, {"sleep 1", "cat"}));
    pid_t stage = -1;
    ASSERT_TRUE(wait_until(
        [&] {
          for (pid_t d : descendants_of(p.pid()))
            if (read_text("/proc/" + std::to_string(d) + "/comm") == "sleep\n") stage = d;
          return stage > 0;
        },
        5s));
    ASSERT_EQ(::kill(stage, SIGSTOP), 0);
    ASSERT_TRUE(p.wait_stderr("stopped by signal 19 (SIGSTOP)\n", 5s)) << p.err();
    ASSERT_EQ(::kill(stage, SIGCONT), 0);
    Result r = p.finish();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(" continued\n"), std::string::npos) << r.err;
    EXPECT_EQ(statuses(r), std::vector<std::string>(2, "exited with status 0")) << r.err;
  }
}

TEST_F(Pipeline, PerProcessOptionsApplyToEveryStage) {
  // --user (its pdeathsig step checks the stage's own parent), --workdir, -e, --rlimit.
  TempDir dir;
  for (std::vector<std::string> extra : {std::vector<std::string>{}, {"--newpid"}, {"--mode", "fork", "--newpid"}}) {
    std::vector<std::string> opts{"-e", "RDBOX_STAGE_VAR=seen", "--workdir", dir.path(), "--rlimit", "NOFILE=64"};
    std::string uid = is_root() ? "65534" : "0";
    if (is_root()) {
      opts.insert(opts.end(), {"--user", "65534:65534"});
    } else {
      opts.insert(opts.end(), {"--newuser", "--user", "0"});
    }
    opts.insert(opts.end(), extra.begin(), extra.end());
    std::string stage = "sh -c 'cat; echo \"$(id -u) $(pwd) $RDBOX_STAGE_VAR $(ulimit -n)\"'";
    Result r = run(pipeline(opts, {stage, stage, stage}));
    ASSERT_EQ(r.exit_code, 0) << join(extra, " ") << ": " << r.err;
    std::string line = uid + " " + dir.path() + " seen 64";
    EXPECT_EQ(r.out_lines(), std::vector<std::string>(3, line)) << join(extra, " ") << ": " << r.out;
    EXPECT_EQ(statuses(r), std::vector<std::string>(3, "exited with status 0")) << r.err;
  }
}

TEST_F(Pipeline, TheDecidingStagesSignalIsTheOutcomeInEveryMode) {
  // With --mode fork --newpid a relay stands between rdbox and the stages' parent, and
  // passes up what that parent exited with: the stage's own status must still win.
  for (std::vector<std::string> opts : {std::vector<std::string>{"--mode", "clone", "--newpid"},
                                        {"--mode", "fork", "--newpid"}, {"--mode", "fork"}}) {
    if (!is_root() && opts.size() == 3) opts.insert(opts.begin(), "--newuser");
    opts.insert(opts.end(), {"--pipefail", "--report", "json"});
    Result r = run(pipeline(opts, {"yes", "head -n 1"}));
    EXPECT_EQ(r.exit_code, 141) << join(opts, " ") << ": " << r.err;
    auto j = report_json(r);
    ASSERT_TRUE(j) << r.err;
    EXPECT_EQ((*j)["outcome"], "signaled") << join(opts, " ");
    EXPECT_EQ((*j)["status"]["signal"], 13) << join(opts, " ");
  }
}
