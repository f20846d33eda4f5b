// How a command ends, and what rdbox reports (issue 10): killed by each common signal, a
// segfault, a stack overflow on a tiny --stack-size, a command that closes its stdout,
// fork failing with EAGAIN under --pids, exec of a file open for writing (ETXTBSY). Each
// must give the right exit code and --report json. (KILL and TERM in every mode, and exec
// failures with ENOENT/EACCES, are tests/integration/run_test.cpp's.)
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "host_state.hpp"

using namespace itest;
using namespace stress;

namespace {

// This test binary, re-executed with kChildFlag, is the command: it does one thing that
// ends it. (The constructor runs before gtest's main, as the harness's probe does.)
constexpr const char* kChildFlag = "--rdbox-stress-child";

__attribute__((noinline)) int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth <= 0) return frame[0];
  return recurse(depth - 1) + frame[0];
}

__attribute__((constructor(101))) void stress_child_main(int argc, char** argv, char**) {
  if (argc < 3 || std::strcmp(argv[1], kChildFlag) != 0) return;
  std::string what = argv[2];
  if (what == "segv") {
    *static_cast<volatile int*>(nullptr) = 1;
  } else if (what == "deep") {  // 1 MiB of stack: far more than the clone stack rdbox used
    ::_exit(recurse(1024) == 0 ? 0 : 0);
  } else if (what == "overflow") {  // without end: SIGSEGV at the stack limit
    ::_exit(recurse(1 << 30));
  } else if (what == "fork_eagain") {
    for (int i = 0; i < 200; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        ::pause();
        ::_exit(0);
      }
      if (pid < 0) {
        int e = errno;
        ::dprintf(1, "fork %d: %s\n", i, std::strerror(e));
        ::_exit(e == EAGAIN ? 42 : 1);
      }
    }
    ::_exit(2);  // never refused
  }
  ::_exit(99);
}

std::vector<std::string> child(const std::string& what) { return {self_exe(), kChildFlag, what}; }

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::pair<const char*, std::vector<std::string>>> kModes = {
    {"fork", {"--mode", "fork"}}, {"vfork", {"--mode", "vfork"}}, {"clone", {"--mode", "clone"}},
    {"vm", {"--vm"}},             {"vm_vfork", {"--vm", "--vfork"}}, {"spawn", {"--mode", "spawn"}}};

// Checks a run whose command was killed by `sig`.
void expect_signaled(const Result& r, int sig, const std::string& name) {
  EXPECT_EQ(r.exit_code, 128 + sig) << r.err;
  auto j = report_json(r);
  if (!j) return;
  EXPECT_EQ((*j)["status"]["exited"], false) << j->dump();
  EXPECT_EQ((*j)["status"]["signal"], sig);
  EXPECT_EQ((*j)["status"]["signal_name"], name);
  EXPECT_EQ((*j)["status"]["core_dumped"], false);  // the harness sets RLIMIT_CORE to 0
  EXPECT_EQ((*j)["exit_code"], 128 + sig);
  EXPECT_TRUE((*j)["error"].is_null());
}

class Outcome : public RdboxTest {};

TEST_F(Outcome, KilledByEachCommonSignal) {
  const std::pair<int, const char*> sigs[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},
      {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
      {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"}};
  for (const auto& [mode, flags] : kModes)
    for (const auto& [sig, name] : sigs) {
      SCOPED_TRACE(std::string(mode) + " " + name);
      Result r = run(cat(cat({"run", "--report", "json"}, flags),
                         {"--", "/bin/sh", "-c", "kill -" + std::string(name + 3) + " $$"}));
      expect_signaled(r, sig, name);
    }
}

// Regression: in fork mode with --newpid --init a relay outside the namespace reaps the
// init and passed up the init's "exited 143" after the init had passed up the command's
// SIGTERM, and the later record won: the report said exited 143.
TEST_F(Outcome, UnderTheInitTheCommandsSignalIsReportedInEveryMode) {
  for (const char* mode : {"fork", "clone"}) {
    SCOPED_TRACE(mode);
    Result r = run(with_priv({"run", "--mode", mode, "--newpid", "--init", "--report", "json", "--", "/bin/sh", "-c",
                              "kill -TERM $$"}));
    expect_signaled(r, SIGTERM, "SIGTERM");
    Result e = run(with_priv({"run", "--mode", mode, "--newpid", "--init", "--report", "json", "--", "/bin/sh", "-c",
                              "exit 143"}));
    EXPECT_EQ(e.exit_code, 143);
    auto j = report_json(e);
    if (j) {
      EXPECT_EQ((*j)["status"]["exited"], true) << j->dump();
    }
  }
}

TEST_F(Outcome, ASegfault) {
  for (const auto& [mode, flags] : kModes) {
    SCOPED_TRACE(mode);
    expect_signaled(run(cat(cat({"run", "--report", "json"}, flags), cat({"--"}, child("segv")))), SIGSEGV, "SIGSEGV");
  }
}

TEST_F(Outcome, ATinyCloneStackIsTheStubsOnly) {
  // The stub runs on --stack-size until exec; the command gets a stack of its own, so a
  // deep one runs and an endless recursion ends as SIGSEGV, reported.
  for (auto flags : std::vector<std::vector<std::string>>{
           {"--mode", "clone", "--stack-size", "16K"}, {"--vm", "--stack-size", "16K"}, {"--vm", "--vfork", "--stack-size", "16K"}}) {
    SCOPED_TRACE(join(flags, " "));
    Result deep = run(cat(cat({"run", "--report", "json"}, flags), cat({"--"}, child("deep"))));
    EXPECT_EQ(deep.exit_code, 0) << deep.err;
    RunOptions o;
    o.timeout = 30s;
    expect_signaled(run(cat(cat({"run", "--report", "json", "--rlimit", "STACK=1048576"}, flags), cat({"--"}, child("overflow"))), o),
                    SIGSEGV, "SIGSEGV");
  }
}

TEST_F(Outcome, ACommandThatClosesItsStdoutAndStderr) {
  for (const auto& [mode, flags] : kModes) {
    SCOPED_TRACE(mode);
    Result r = run(cat(cat({"run", "--report", "json"}, flags),
                       {"--", "/bin/sh", "-c", "exec >&- 2>&-; echo lost; echo lost >&2; exit 5"}));
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_EQ(r.out, "");
    auto j = report_json(r);
    if (j) {
      EXPECT_EQ((*j)["exit_code"], 5);
    }
  }
}

TEST_F(Outcome, ForkFailsWithEagainUnderPids) {
  if (!can_make_cgroups()) GTEST_SKIP() << "no writable cgroup here (root only)";
  for (const char* mode : {"fork", "clone"}) {
    SCOPED_TRACE(mode);
    Result r = run(cat({"run", "--mode", mode, "--report", "json", "--pids", "10", "--"}, child("fork_eagain")));
    EXPECT_EQ(r.exit_code, 42) << r.out << r.err;
    EXPECT_NE(r.out.find("Resource temporarily unavailable"), std::string::npos) << r.out;
    auto j = report_json(r);
    if (!j) continue;
    EXPECT_EQ((*j)["exit_code"], 42);
    EXPECT_EQ((*j)["cgroup"]["pids_limit_hit"], true) << (*j)["cgroup"].dump();
  }
}

TEST_F(Outcome, ExecOfAFileBeingWrittenIsEtxtbsy) {
  TempDir tmp;
  std::string prog = tmp / "prog";
  ASSERT_EQ(std::system(("cp /bin/true " + shell_quote(prog)).c_str()), 0);
  ::chmod(prog.c_str(), 0755);
  int w = ::open(prog.c_str(), O_WRONLY | O_CLOEXEC);  // a writer: execve gives ETXTBSY
  ASSERT_GE(w, 0);
  for (const auto& [mode, flags] : kModes) {
    SCOPED_TRACE(mode);
    Result r = run(cat(cat({"run", "--report", "json"}, flags), {"--", prog}));
    EXPECT_EQ(r.exit_code, 126) << r.err;
    auto j = report_json(r);
    if (!j) continue;
    EXPECT_EQ((*j)["exit_code"], 126);
    ASSERT_TRUE((*j)["error"].is_object()) << j->dump();
    EXPECT_EQ((*j)["error"]["step"], "exec");
    EXPECT_EQ((*j)["error"]["errno"], ETXTBSY);
    EXPECT_EQ((*j)["error"]["message"], "exec \"" + prog + "\": Text file busy");
  }
  ::close(w);
  // Once the writer is gone the same file runs.
  EXPECT_EQ(run({"run", "--", prog}).exit_code, 0);
}

}  // namespace
