// Integration tests for `rdbox run`: the real binary, run as a child with a hard timeout.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest-spi.h>

#include "harness.hpp"

using namespace itest;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------
// Helpers.

bool full_match(const std::string& s, const std::string& re) { return std::regex_match(s, std::regex(re)); }

// The pid in a text report line "PID <rest>", or -1.
pid_t line_pid(const std::string& line) {
  std::smatch m;
  if (std::regex_match(line, m, std::regex(R"((\d+) .*)"))) return static_cast<pid_t>(std::stol(m[1]));
  return -1;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string readlink_fd(int fd) {
  char buf[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n >= 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// An fd of this process, closed at scope end.
struct OwnedFd {
  int fd = -1;
  explicit OwnedFd(int f) : fd(f) {}
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
};

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) r = p[0], w = p[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void close_read() {
    if (r >= 0) ::close(r);
    r = -1;
  }
};

unsigned long long sigbit(int sig) { return 1ULL << (sig - 1); }

// ---------------------------------------------------------------------------------------
// The six ways to launch, every behaviour checked under each where it applies.

struct ModeVariant {
  const char* name;
  std::vector<std::string> flags;
  const char* json_mode;     // "mode" in the JSON report
  bool shares_memory;        // CLONE_VM in the primitive
  bool vfork_semantics;      // CLONE_VFORK in the primitive
};

const ModeVariant kModes[] = {
    {"fork", {"--mode", "fork"}, "fork", false, false},
    {"vfork", {"--mode", "vfork"}, "vfork", true, true},
    {"clone", {"--mode", "clone"}, "clone", false, false},
    {"vm", {"--vm"}, "clone", true, false},
    {"vm_vfork", {"--vm", "--vfork"}, "clone", true, true},
    {"spawn", {"--mode", "spawn"}, "spawn", true, true},
};

class ModeTest : public RdboxTest, public ::testing::WithParamInterface<ModeVariant> {
 protected:
  std::string mode() const { return GetParam().name; }
  bool is_spawn() const { return mode() == "spawn"; }
  bool is_clone() const { return std::string(GetParam().json_mode) == "clone"; }
  // {"run", <mode flags>, rest...}
  std::vector<std::string> args(const std::vector<std::string>& rest) const {
    std::vector<std::string> a{"run"};
    a.insert(a.end(), GetParam().flags.begin(), GetParam().flags.end());
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
  }
  // {"run", <mode flags>, opts..., "--", <probe> extra...}
  std::vector<std::string> probe_args(const std::vector<std::string>& opts = {},
                                      const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a = args(opts);
    a.push_back("--");
    for (auto& s : probe_command(extra)) a.push_back(s);
    return a;
  }
  // Runs the probe through rdbox and parses what it printed.
  Probe probe(const std::vector<std::string>& opts = {}, RunOptions ro = {}, Result* res = nullptr) const {
    Result r = run(probe_args(opts), std::move(ro));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Probe p = parse_probe(r.out);
    EXPECT_TRUE(p.ok) << "probe output incomplete:\n" << r.out << "\nstderr:\n" << r.err;
    if (res) *res = r;
    return p;
  }

  TempDir tmp;
};

std::string mode_name(const ::testing::TestParamInfo<ModeVariant>& info) { return info.param.name; }
void PrintTo(const ModeVariant& m, std::ostream* os) { *os << m.name; }

// ---- output and exit status -----------------------------------------------------------

TEST_P(ModeTest, EchoOutputAndTextReport) {
  Result r = run(args({"echo", "hello", "world"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hello world\n");
  EXPECT_TRUE(full_match(r.err, R"(\d+ exited with status 0\n)")) << r.err;
}

TEST_P(ModeTest, ExitCodesPassThrough) {
  for (int code : {0, 3, 255}) {
    SCOPED_TRACE("exit " + std::to_string(code));
    Result r = run(args({"sh", "-c", "exit " + std::to_string(code)}));
    EXPECT_EQ(r.exit_code, code);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(full_match(r.err, R"(\d+ exited with status )" + std::to_string(code) + "\n")) << r.err;
  }
}

TEST_P(ModeTest, KilledBySignal) {
  Result r = run(args({"sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_TRUE(full_match(r.err, R"(\d+ killed by signal 9 \(SIGKILL\)\n)")) << r.err;

  r = run(args({"sh", "-c", "kill -TERM $$"}));
  EXPECT_EQ(r.exit_code, 143);
  EXPECT_TRUE(full_match(r.err, R"(\d+ killed by signal 15 \(SIGTERM\)\n)")) << r.err;
}

TEST_P(ModeTest, StdinIsPassedThrough) {
  RunOptions o;
  o.stdin_data = "line one\nline two\n";
  Result r = run(args({"cat"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "line one\nline two\n");
}

TEST_P(ModeTest, ReportedPidIsTheCommandADirectChildInItsOwnGroup) {
  Result r;
  Probe p = probe({}, {}, &r);
  ASSERT_TRUE(p.ok);
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(line_pid(lines[0]), p.num("pid")) << "the report names a pid other than the command's";
  EXPECT_EQ(p.num("ppid"), r.pid) << "the command is not a direct child of rdbox";
  EXPECT_EQ(p.num("pgid"), p.num("pid")) << "the command is not in its own process group";
  EXPECT_EQ(p.num("sid"), static_cast<long>(::getsid(0)));
  EXPECT_EQ(p.num("uid"), static_cast<long>(::getuid()));
  EXPECT_EQ(p.num("euid"), static_cast<long>(::geteuid()));
  EXPECT_EQ(p.num("gid"), static_cast<long>(::getgid()));
}

// ---- exec failures ----------------------------------------------------------------------

TEST_P(ModeTest, NotFoundIs127WithExactMessage) {
  std::string missing = tmp / "missing";
  Result r = run(args({missing, "arg"}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rdbox: exec \"" + missing + "\": No such file or directory\n");

  // A bare name searched on a PATH of readable directories only (the caller's PATH may
  // hold directories it cannot search, which execvp reports as EACCES).
  r = run(args({"-e", "PATH=/usr/bin:/bin", "rdbox-itest-no-such-command"}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "rdbox: exec \"rdbox-itest-no-such-command\": No such file or directory\n");
}

TEST_P(ModeTest, NotExecutableIs126) {
  std::string file = tmp.write("noexec", "#!/bin/sh\necho ran\n", 0644);
  Result r = run(args({file}));
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rdbox: exec \"" + file + "\": Permission denied\n");
}

TEST_P(ModeTest, DirectoryIs126) {
  std::string dir = tmp.mkdir("adir");
  Result r = run(args({dir}));
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rdbox: exec \"" + dir + "\": Permission denied\n");
}

// ---- PATH search ------------------------------------------------------------------------

TEST_P(ModeTest, PathSearchUsesTheCommandsPath) {
  std::string bin = tmp.mkdir("bin");
  tmp.write("bin/itest-prog", "#!/bin/sh\necho \"prog $0 $*\"\n", 0755);
  Result r = run(args({"--clear-env", "-e", "PATH=" + bin, "itest-prog", "a", "b"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "prog " + bin + "/itest-prog a b\n");

  // sh is on rdbox's PATH, not on the command's.
  r = run(args({"--clear-env", "-e", "PATH=" + bin, "sh", "-c", "true"}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "rdbox: exec \"sh\": No such file or directory\n");

  // The other way round: rdbox's own PATH has nothing, the command's finds sh.
  RunOptions o;
  o.env = {"PATH=" + (tmp / "nothing-here")};
  r = run(args({"-e", "PATH=/usr/bin:/bin", "sh", "-c", "echo found"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "found\n");
}

TEST_P(ModeTest, PathSearchSkipsNonExecutableEntries) {
  std::string a = tmp.mkdir("a"), b = tmp.mkdir("b");
  tmp.write("a/itest-prog", "#!/bin/sh\necho A\n", 0644);
  tmp.write("b/itest-prog", "#!/bin/sh\necho B\n", 0755);
  Result r = run(args({"--clear-env", "-e", "PATH=" + a + ":" + b, "itest-prog"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "B\n");

  r = run(args({"--clear-env", "-e", "PATH=" + a + ":" + (tmp / "c"), "itest-prog"}));
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.err, "rdbox: exec \"itest-prog\" (" + a + "/itest-prog): Permission denied\n");
}

// execvp semantics: a PATH directory that cannot be searched is an EACCES, remembered
// and reported (126) when nothing later on PATH is found; a later hit still runs.
TEST_P(ModeTest, PathSearchRemembersAnUnsearchableDirectory) {
  if (::geteuid() == 0) GTEST_SKIP() << "root searches a mode-000 directory";
  std::string locked = tmp.mkdir("locked", 0000), bin = tmp.mkdir("bin"), empty = tmp.mkdir("empty");
  tmp.write("bin/itest-prog", "#!/bin/sh\necho found\n", 0755);
  Result r = run(args({"--clear-env", "-e", "PATH=" + locked + ":" + bin, "itest-prog"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "found\n");

  r = run(args({"--clear-env", "-e", "PATH=" + locked + ":" + empty, "itest-prog"}));
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.err, "rdbox: exec \"itest-prog\" (" + locked + "/itest-prog): Permission denied\n");
}

// execvp semantics (which the exec stub implements): a file the kernel refuses with
// ENOEXEC is run with /bin/sh.
TEST_P(ModeTest, ScriptWithoutShebangRunsWithBinSh) {
  std::string script = tmp.write("noshebang", "echo \"no shebang $*\"\n", 0755);
  Result r = run(args({script, "x", "y"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no shebang x y\n");
}

// A relative PATH entry is resolved where the command runs, i.e. in --workdir.
TEST_P(ModeTest, RelativePathEntryIsResolvedInWorkdir) {
  std::string work = tmp.mkdir("work");
  tmp.write("work/itest-rel", "#!/bin/sh\necho rel\n", 0755);
  RunOptions o;
  o.cwd = "/";  // rdbox itself runs elsewhere
  Result r = run(args({"--clear-env", "-e", "PATH=.:" + (tmp / "nonexistent"), "-w", work, "itest-rel"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "rel\n");
}

// ---- argv0, environment, workdir ---------------------------------------------------------

TEST_P(ModeTest, Argv0) {
  Probe p = probe({"--argv0", "custom-name"});
  EXPECT_EQ(p.get("argv.0"), "custom-name");
  EXPECT_EQ(p.get("argv.1"), kProbeFlag);
  EXPECT_EQ(p.num("argc"), 2);

  Probe q = probe();
  EXPECT_EQ(q.get("argv.0"), self_exe());
}

TEST_P(ModeTest, EnvSetCopyAndClear) {
  RunOptions o;
  o.env = {"RDBOX_ITEST_COPY=copied value", "-RDBOX_ITEST_ABSENT"};
  Result r = run(args({"--clear-env", "-e", "A=1", "-e", "RDBOX_ITEST_COPY", "-e", "RDBOX_ITEST_ABSENT", "-e",
                       "EMPTY=", "env"}),
                 o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sorted(r.out_lines()), (std::vector<std::string>{"A=1", "EMPTY=", "RDBOX_ITEST_COPY=copied value"}));
}

TEST_P(ModeTest, EnvInheritedAndOverridden) {
  RunOptions o;
  o.env = {"RDBOX_ITEST_INHERIT=parent", "RDBOX_ITEST_OVERRIDE=old"};
  Result r = run(args({"-e", "RDBOX_ITEST_OVERRIDE=new", "env"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "RDBOX_ITEST_INHERIT=parent"), 1);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "RDBOX_ITEST_OVERRIDE=new"), 1);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "RDBOX_ITEST_OVERRIDE=old"), 0);
}

TEST_P(ModeTest, EnvFile) {
  std::string file = tmp.write("vars.env",
                               "# a comment\n"
                               "A=1\n"
                               "\n"
                               "   # an indented comment\n"
                               "B=two words\n"
                               "  C=x=y # not a comment\n"
                               "RDBOX_ITEST_FROMFILE\n"
                               "D=from-file\n");
  RunOptions o;
  o.env = {"RDBOX_ITEST_FROMFILE=copied"};
  Result r = run(args({"--clear-env", "--env-file", file, "-e", "D=from-cli", "env"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sorted(r.out_lines()), (std::vector<std::string>{"A=1", "B=two words", "C=x=y # not a comment",
                                                              "D=from-cli", "RDBOX_ITEST_FROMFILE=copied"}));
}

TEST_P(ModeTest, ClearEnvLeavesNothing) {
  Result r = run(args({"--clear-env", "env"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  Probe p = probe({"--clear-env"});
  EXPECT_EQ(p.num("env.count"), 0);
}

TEST_P(ModeTest, Workdir) {
  Probe p = probe({"-w", tmp.path()});
  EXPECT_EQ(p.get("cwd"), real_path(tmp.path()));

  // A relative command is relative to the workdir.
  tmp.write("here.sh", "#!/bin/sh\necho here\n", 0755);
  RunOptions o;
  o.cwd = "/";
  Result r = run(args({"-w", tmp.path(), "./here.sh"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "here\n");
}

TEST_P(ModeTest, BadWorkdirIs125AndRunsNothing) {
  std::string missing = tmp / "missing";
  std::string marker = tmp / "ran";
  Result r = run(args({"-w", missing, "touch", marker}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rdbox: workdir \"" + missing + "\": No such file or directory\n");
  EXPECT_FALSE(file_exists(marker));

  std::string file = tmp.write("plainfile", "x\n");
  r = run(args({"-w", file, "touch", marker}));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "rdbox: workdir \"" + file + "\": Not a directory\n");
  EXPECT_FALSE(file_exists(marker));
}

// ---- file descriptors ---------------------------------------------------------------------

TEST_P(ModeTest, OnlyStdioReachesTheCommand) {
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(null_fd.fd, 0);
  RunOptions o;
  o.fds = {{null_fd.fd, 3}, {null_fd.fd, 5}, {null_fd.fd, 9}};
  Probe p = probe({}, o);
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2})) << p.get("fds");

  // Nor does the report file.
  Probe q = probe({"--report-file", tmp / "report.txt"}, o);
  EXPECT_EQ(q.fds(), (std::vector<int>{0, 1, 2})) << q.get("fds");
}

TEST_P(ModeTest, PreserveFdsKeepsExactlyThoseFds) {
  Pipe pipe;
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(pipe.w, 0);
  RunOptions o;
  o.fds = {{pipe.w, 3}, {null_fd.fd, 4}, {null_fd.fd, 5}, {null_fd.fd, 8}};
  Probe p = probe({"--preserve-fds", "2"}, o);
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2, 3, 4})) << p.get("fds");
  EXPECT_EQ(p.get("fd.3"), readlink_fd(pipe.w));
  EXPECT_EQ(p.get("fd.4"), "/dev/null");

  Result r = run(args({"--preserve-fds", "2", "sh", "-c", "echo via-fd-3 >&3"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ::fcntl(pipe.r, F_SETFL, O_NONBLOCK);
  char buf[64] = {};
  ssize_t n = ::read(pipe.r, buf, sizeof buf - 1);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "via-fd-3\n");
}

TEST_P(ModeTest, PreserveFdsWithAGapLeaksNothingIntoIt) {
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  RunOptions o;
  o.fds = {{null_fd.fd, 4}};
  Probe p = probe({"--preserve-fds", "2", "--report-file", tmp / "r.txt"}, o);
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2, 4})) << p.get("fds");
}

TEST_P(ModeTest, ClosedStdinBecomesDevNull) {
  RunOptions o;
  o.close_stdin = true;
  Probe p = probe({}, o);
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2})) << p.get("fds");
  EXPECT_EQ(p.get("fd.0"), "/dev/null");
}

// ---- signal dispositions ------------------------------------------------------------------

TEST_P(ModeTest, SignalsIgnoredOrBlockedByTheParentAreReset) {
  RunOptions o;
  o.ignore_signals = {SIGINT, SIGPIPE, SIGQUIT, SIGUSR2};
  o.block_signals = {SIGUSR1, SIGTERM, SIGINT};
  Probe p = probe({}, o);
  unsigned long long ign = p.hex("sigign");
  for (int sig : o.ignore_signals)
    EXPECT_EQ(ign & sigbit(sig), 0u) << ::sigabbrev_np(sig) << " still ignored in the command; SigIgn "
                                     << p.get("sigign");
  EXPECT_EQ(p.hex("sigblk"), 0u) << "SigBlk " << p.get("sigblk");
}

// Stricter: the command starts with no signal ignored at all, whatever the mode.
TEST_P(ModeTest, CommandStartsWithNoIgnoredSignal) {
  RunOptions o;
  o.ignore_signals = {SIGINT, SIGPIPE};
  Probe p = probe({}, o);
  EXPECT_EQ(p.hex("sigign"), 0u) << "SigIgn " << p.get("sigign") << " in the command";
}

// ---- supervision ----------------------------------------------------------------------------

TEST_P(ModeTest, StopAndContinueAreReported) {
  Process proc = Process::start(args({"sh", "-c", "kill -STOP $$; echo resumed"}));
  ASSERT_TRUE(proc.wait_stderr("stopped by signal 19 (SIGSTOP)\n", 5s)) << proc.err();
  auto kids = command_children(proc.pid());
  ASSERT_EQ(kids.size(), 1u);
  pid_t child = kids[0];
  auto st = proc_stat(child);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, 'T');
  ASSERT_EQ(::kill(child, SIGCONT), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "resumed\n");
  std::string c = std::to_string(child);
  EXPECT_EQ(r.err_lines(), (std::vector<std::string>{c + " stopped by signal 19 (SIGSTOP)", c + " continued",
                                                      c + " exited with status 0"}));
}

TEST_P(ModeTest, StopAndContinueEventsInJson) {
  Process proc = Process::start(args({"--report", "json", "sh", "-c", "kill -STOP $$; echo resumed"}));
  ASSERT_TRUE(wait_until(
      [&] {
        auto kids = command_children(proc.pid());
        if (kids.size() != 1) return false;
        auto st = proc_stat(kids[0]);
        return st && st->state == 'T';
      },
      5s));
  ASSERT_EQ(::kill(command_children(proc.pid()).at(0), SIGCONT), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 0);
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["events"], json::parse(R"([{"event":"stopped","signal":19,"signal_name":"SIGSTOP"},
                                              {"event":"continued"}])"));
}

// The command ending while rdbox reaps orphans (after its wait for the command, before it
// reaps any other child) is still the command's end. rdbox used to reap it there as an
// orphan and then spin on its readable pidfd forever: StopAndContinueEventsInJson/vfork
// hung about once in two thousand runs. RDBOX_TEST_STOP_AT=orphans stops rdbox there once.
TEST_P(ModeTest, CommandEndingWhileOrphansAreReapedIsStillItsEnd) {
  RunOptions o;
  o.env = {"RDBOX_TEST_STOP_AT=orphans"};
  Process proc = Process::start(args({"--report", "json", "sh", "-c", "kill -STOP $$; exit 7"}), o);
  auto state = [](pid_t pid) {
    auto st = proc_stat(pid);
    return st ? st->state : '-';
  };
  // rdbox stops itself when it reaps for the first time: the command's stop.
  ASSERT_TRUE(wait_until([&] { return state(proc.pid()) == 'T'; }, 5s)) << proc.err();
  auto kids = command_children(proc.pid());
  ASSERT_EQ(kids.size(), 1u);
  pid_t command = kids[0];
  ASSERT_EQ(state(command), 'T');
  ASSERT_EQ(::kill(command, SIGCONT), 0);
  ASSERT_TRUE(wait_until([&] { return state(command) == 'Z'; }, 5s)) << "the command never ended";
  ASSERT_EQ(::kill(proc.pid(), SIGCONT), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["exit_code"], 7);
}

TEST_P(ModeTest, SigtermIsForwarded) {
  Process proc = Process::start(
      args({"sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done"}));
  ASSERT_TRUE(proc.wait_stdout("ready\n", 5s)) << proc.err();
  ASSERT_EQ(::kill(proc.pid(), SIGTERM), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "ready\ngot TERM\n");
  EXPECT_TRUE(full_match(r.err, R"(\d+ exited with status 7\n)")) << r.err;
}

TEST_P(ModeTest, SigkillOfRdboxTakesTheCommandWithIt) {
  // In --mode spawn no rdbox code runs in the child: a guard process holds
  // PR_SET_PDEATHSIG instead (src/spawn/guard.cpp), so rdbox may have two children.
  Process proc = Process::start(args({"sh", "-c", "echo ready; exec sleep 30"}));
  ASSERT_TRUE(proc.wait_stdout("ready\n", 5s)) << proc.err();
  pid_t command = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        for (pid_t k : children_of(proc.pid()))
          if (read_text("/proc/" + std::to_string(k) + "/comm") == "sleep\n") command = k;
        return command > 0;
      },
      5s));
  EXPECT_EQ(children_of(proc.pid()).size(), is_spawn() ? 2u : 1u);
  auto st = proc_stat(command);
  ASSERT_TRUE(st);
  // The spawn guard is armed just after posix_spawn returns; a busy machine can let the
  // command print "ready" first. This case is rdbox dying while the command runs; the
  // window at spawn time is the reliability suite's (issue 10).
  if (is_spawn()) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::kill(proc.pid(), SIGKILL), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_TRUE(wait_gone(command, st->starttime, 5s)) << "the command (pid " << command << ") outlived rdbox";
}

TEST_P(ModeTest, WhatTheCommandLeavesRunningIsKilled) {
  struct Case {
    const char* script;
    int code;
  } cases[] = {
      {"sleep 30 & echo $!", 0},
      {"(sleep 30 & echo $!); exit 3", 3},  // already an orphan while the command runs
      {"sleep 30 & echo $!; kill -KILL $$", 137},
      {"sleep 30 & kill -STOP $!; echo $!", 0},  // a stopped leftover
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.script);
    Result r = run(args({"sh", "-c", c.script}));
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_LT(r.elapsed, 5s) << "rdbox waited for the leftover";
    pid_t left = static_cast<pid_t>(std::atol(r.out.c_str()));
    ASSERT_GT(left, 0) << r.out;
    EXPECT_TRUE(wait_gone(left, 0, 2s)) << "pid " << left << " still running after rdbox returned: "
                                        << proc_cmdline(left);
  }
}

// ---- reports ----------------------------------------------------------------------------------

TEST_P(ModeTest, ObservedInJson) {
  Result r = run(args({"--report", "json", "true"}));
  EXPECT_EQ(r.exit_code, 0);
  auto j = report_json(r);
  ASSERT_TRUE(j);
  const json& obs = (*j)["observed"];
  std::string m = mode();
  if (m == "spawn") {
    EXPECT_TRUE(obs["shared_memory"].is_null()) << obs;
    EXPECT_EQ(obs["parent_suspended"], true) << obs;
  } else {
    bool shared = m == "vfork" || m == "vm" || m == "vm_vfork";
    bool suspended = m == "vfork" || m == "vm_vfork";
    EXPECT_EQ(obs["shared_memory"], shared) << obs;
    EXPECT_EQ(obs["parent_suspended"], suspended) << obs;
  }
}

// "observed" must hold when rdbox is merely preempted rather than suspended: busy loops
// on every CPU make that happen now and then right after the child is created.
TEST_P(ModeTest, ObservedHoldsUnderCpuContention) {
  if (GetParam().vfork_semantics) GTEST_SKIP() << "rdbox really is suspended in this mode";
  long cpus = std::clamp(::sysconf(_SC_NPROCESSORS_ONLN), 1L, 4L);
  std::vector<Process> hogs;
  RunOptions hog_opts;
  hog_opts.timeout = 30s;
  for (long i = 0; i < 2 * cpus; ++i)
    hogs.push_back(Process::start_program({"/bin/sh", "-c", "while :; do :; done"}, hog_opts));
  // Let them spin up (each has used some CPU time) before measuring.
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& h : hogs) {
          std::string stat = read_text("/proc/" + std::to_string(h.pid()) + "/stat");
          auto paren = stat.rfind(')');
          if (paren == std::string::npos) return false;
          std::stringstream ss(stat.substr(paren + 1));
          std::vector<std::string> f;
          for (std::string t; ss >> t;) f.push_back(t);
          if (f.size() < 12 || std::stol(f[11]) < 2) return false;  // utime, clock ticks
        }
        return true;
      },
      2s));
  constexpr int kRuns = 40;
  int wrong = 0;
  std::string sample;
  for (int i = 0; i < kRuns; ++i) {
    Result r = run(args({"--report", "json", "true"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = report_json(r);
    ASSERT_TRUE(j);
    if ((*j)["observed"]["parent_suspended"] != false) {
      ++wrong;
      sample = (*j)["observed"].dump() + " timing_us " + (*j)["timing_us"].dump();
    }
  }
  hogs.clear();  // killed and reaped by pid
  EXPECT_EQ(wrong, 0) << wrong << " of " << kRuns << " runs reported parent_suspended for --mode " << mode()
                      << " under CPU contention, e.g. " << sample;
}

TEST_P(ModeTest, JsonReportKeysAndTypes) {
  Result r = run(args({"--report", "json", "sh", "-c", "exit 3"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  auto jo = report_json(r);
  ASSERT_TRUE(jo);
  const json& j = *jo;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["command"], json::array({"sh", "-c", "exit 3"}));
  EXPECT_EQ(j["mode"], GetParam().json_mode);
  ASSERT_TRUE(j["clone_flags"].is_array());
  for (const auto& f : j["clone_flags"]) {
    ASSERT_TRUE(f.is_string());
    EXPECT_EQ(f.get<std::string>().rfind("CLONE_", 0), 0u) << f;
  }
  auto has_flag = [&](const char* name) {
    return std::find(j["clone_flags"].begin(), j["clone_flags"].end(), json(name)) != j["clone_flags"].end();
  };
  EXPECT_EQ(has_flag("CLONE_VM"), GetParam().shares_memory) << j["clone_flags"];
  EXPECT_EQ(has_flag("CLONE_VFORK"), GetParam().vfork_semantics) << j["clone_flags"];
  if (is_clone()) {
    EXPECT_TRUE(j["stack_size"].is_number_integer()) << j["stack_size"];
    EXPECT_EQ(j["stack_size"], 64 * 1024);
  } else {
    EXPECT_TRUE(j["stack_size"].is_null()) << j["stack_size"];
  }
  EXPECT_TRUE(j["pid"].is_number_integer());
  EXPECT_GT(j["pid"].get<long>(), 0);
  ASSERT_TRUE(j["status"].is_object());
  EXPECT_EQ(j["status"]["exited"], true);
  EXPECT_EQ(j["status"]["code"], 3);
  EXPECT_EQ(j["exit_code"], 3);
  ASSERT_TRUE(j["observed"].is_object());
  EXPECT_TRUE(j["observed"]["shared_memory"].is_boolean() || j["observed"]["shared_memory"].is_null());
  EXPECT_TRUE(j["observed"]["parent_suspended"].is_boolean());
  ASSERT_TRUE(j["timing_us"].is_object());
  for (const char* k : {"spawn", "exec", "total"}) {
    EXPECT_TRUE(j["timing_us"][k].is_number_integer()) << k << ": " << j["timing_us"][k];
    if (j["timing_us"][k].is_number_integer()) {
      EXPECT_GE(j["timing_us"][k].get<long long>(), 0) << k;
    }
  }
  if (j["timing_us"]["total"].is_number_integer() && j["timing_us"]["spawn"].is_number_integer()) {
    EXPECT_LE(j["timing_us"]["spawn"].get<long long>(), j["timing_us"]["total"].get<long long>());
  }
  ASSERT_TRUE(j["rusage"].is_object());
  for (const char* k : {"utime_us", "stime_us", "maxrss_kb", "minflt", "majflt", "nvcsw", "nivcsw"}) {
    EXPECT_TRUE(j["rusage"][k].is_number_integer()) << k << ": " << j["rusage"][k];
    if (j["rusage"][k].is_number_integer()) {
      EXPECT_GE(j["rusage"][k].get<long long>(), 0) << k;
    }
  }
  EXPECT_TRUE(j.contains("error"));
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["events"], json::array());
}

TEST_P(ModeTest, JsonForASignaledCommand) {
  Result r = run(args({"--report", "json", "sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(r.exit_code, 137);
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["status"]["exited"], false);
  EXPECT_EQ((*j)["status"]["signal"], 9);
  EXPECT_EQ((*j)["status"]["signal_name"], "SIGKILL");
  EXPECT_EQ((*j)["status"]["core_dumped"], false);
  EXPECT_EQ((*j)["exit_code"], 137);
  EXPECT_TRUE((*j)["error"].is_null());
}

TEST_P(ModeTest, JsonForAnExecFailure) {
  std::string missing = tmp / "missing";
  Result r = run(args({"--report", "json", missing}));
  EXPECT_EQ(r.exit_code, 127);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["exit_code"], 127);
  ASSERT_TRUE((*j)["error"].is_object()) << *j;
  EXPECT_EQ((*j)["error"]["step"], "exec");
  EXPECT_EQ((*j)["error"]["errno"], ENOENT);
  EXPECT_EQ((*j)["error"]["message"], "exec \"" + missing + "\": No such file or directory");
}

TEST_P(ModeTest, ReportNone) {
  Result r = run(args({"--report", "none", "echo", "quiet"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "quiet\n");
  EXPECT_EQ(r.err, "");

  // A failure is still said.
  std::string missing = tmp / "missing";
  r = run(args({"--report", "none", missing}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "rdbox: exec \"" + missing + "\": No such file or directory\n");
}

TEST_P(ModeTest, ReportFile) {
  std::string file = tmp / "report.json";
  Result r = run(args({"--report", "json", "--report-file", file, "echo", "x"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "x\n");
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(file_exists(file));
  auto j = parse_json(read_text(file));
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["exit_code"], 0);
  EXPECT_EQ((*j)["command"], json::array({"echo", "x"}));
  EXPECT_EQ((*j)["mode"], GetParam().json_mode);

  std::string text = tmp / "report.txt";
  r = run(args({"--report-file", text, "sh", "-c", "exit 4"}));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(full_match(read_text(text), R"(\d+ exited with status 4\n)")) << read_text(text);

  // A failure goes to the file and is also said on stderr.
  std::string missing = tmp / "missing";
  r = run(args({"--report-file", text, missing}));
  EXPECT_EQ(r.exit_code, 127);
  std::string line = "rdbox: exec \"" + missing + "\": No such file or directory\n";
  EXPECT_EQ(r.err, line);
  EXPECT_EQ(read_text(text), line);
}

// rdbox ignores SIGPIPE for itself: a report written to a closed pipe must not kill it
// and hide the command's status.
TEST_P(ModeTest, ReportToAClosedPipeKeepsTheExitStatus) {
  Pipe pipe;
  pipe.close_read();
  RunOptions o;
  o.stderr_fd = pipe.w;
  Result r = run(args({"sh", "-c", "exit 5"}), o);
  EXPECT_EQ(r.exit_code, 5);
}

INSTANTIATE_TEST_SUITE_P(AllModes, ModeTest, ::testing::ValuesIn(kModes), mode_name);

// ---------------------------------------------------------------------------------------
// Extra clone flags.

struct CloneVariant {
  const char* name;
  std::vector<std::string> flags;
  std::vector<std::string> expect_names;  // in the JSON clone_flags
};

const CloneVariant kCloneVariants[] = {
    {"files", {"--clone-flags", "FILES"}, {"CLONE_FILES"}},
    {"fs_io_sysvsem", {"--clone-flags", "FS,IO,SYSVSEM"}, {"CLONE_FS", "CLONE_IO", "CLONE_SYSVSEM"}},
    {"prefixed_lowercase", {"--clone-flags", "clone_files|clone_fs"}, {"CLONE_FILES", "CLONE_FS"}},
    {"pidfd", {"--clone-flags", "PIDFD"}, {"CLONE_PIDFD"}},
    {"vm_files", {"--vm", "--clone-flags", "FILES"}, {"CLONE_VM", "CLONE_FILES"}},
    {"vfork_files", {"--vfork", "--clone-flags", "FILES"}, {"CLONE_VFORK", "CLONE_FILES"}},
    {"vm_vfork_files", {"--vm", "--vfork", "--clone-flags", "FILES"}, {"CLONE_VM", "CLONE_VFORK", "CLONE_FILES"}},
    {"vm_sighand", {"--vm", "--clone-flags", "SIGHAND"}, {"CLONE_VM", "CLONE_SIGHAND"}},
    {"vm_vfork_sighand", {"--vm", "--vfork", "--clone-flags", "SIGHAND"}, {"CLONE_VM", "CLONE_VFORK", "CLONE_SIGHAND"}},
};

void PrintTo(const CloneVariant& c, std::ostream* os) { *os << c.name; }

class CloneFlagsTest : public RdboxTest, public ::testing::WithParamInterface<CloneVariant> {
 protected:
  std::vector<std::string> args(const std::vector<std::string>& rest) const {
    std::vector<std::string> a{"run"};
    a.insert(a.end(), GetParam().flags.begin(), GetParam().flags.end());
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
  }
};

TEST_P(CloneFlagsTest, RunsEcho) {
  Result r = run(args({"echo", "ok"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_TRUE(full_match(r.err, R"(\d+ exited with status 0\n)")) << r.err;
}

TEST_P(CloneFlagsTest, JsonNamesTheFlags) {
  Result r = run(args({"--report", "json", "true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["mode"], "clone");
  for (const auto& name : GetParam().expect_names) {
    const json& flags = (*j)["clone_flags"];
    EXPECT_NE(std::find(flags.begin(), flags.end(), json(name)), flags.end()) << name << " not in " << flags;
  }
}

TEST_P(CloneFlagsTest, FdsAreExact) {
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  RunOptions o;
  o.fds = {{null_fd.fd, 3}, {null_fd.fd, 4}, {null_fd.fd, 6}};
  std::vector<std::string> a = args({"--preserve-fds", "2", "--"});
  for (auto& s : probe_command()) a.push_back(s);
  Result r = run(a, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Probe p = parse_probe(r.out);
  ASSERT_TRUE(p.ok) << r.out << r.err;
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2, 3, 4})) << p.get("fds");
  EXPECT_EQ(p.hex("sigblk"), 0u);
  EXPECT_EQ(p.hex("sigign"), 0u);
}

// The exec stub resets what rdbox ignores (SIGPIPE) to the default for the command. It
// must not do that to rdbox itself: rdbox then dies of SIGPIPE writing its report.
TEST_P(CloneFlagsTest, ReportToAClosedPipeKeepsTheExitStatus) {
  Pipe pipe;
  pipe.close_read();
  RunOptions o;
  o.stderr_fd = pipe.w;
  Result r = run(args({"sh", "-c", "exit 5"}), o);
  EXPECT_EQ(r.exit_code, 5) << "rdbox itself ended with " << r.exit_code;
}

INSTANTIATE_TEST_SUITE_P(Variants, CloneFlagsTest, ::testing::ValuesIn(kCloneVariants),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Stack sizes.

struct StackCase {
  const char* name;
  const char* size;
  std::size_t bytes;
  bool vm;
};

const StackCase kStacks[] = {
    {"min_16K", "16K", 16384, false},      {"min_16K_vm", "16K", 16384, true},
    {"1M", "1M", 1 << 20, false},          {"1M_vm", "1M", 1 << 20, true},
    {"plain_65537", "65537", 65537, false}, {"vm_vfork_32KiB", "32KiB", 32768, true},
};

void PrintTo(const StackCase& c, std::ostream* os) { *os << c.name; }

class StackSizeTest : public RdboxTest, public ::testing::WithParamInterface<StackCase> {};

TEST_P(StackSizeTest, RunsAndReportsThePageRoundedSize) {
  const StackCase& c = GetParam();
  std::vector<std::string> a{"run"};
  if (c.vm) a.push_back("--vm");
  if (std::string(c.name).find("vfork") != std::string::npos) a.push_back("--vfork");
  for (const char* s : {"--stack-size", c.size, "--report", "json", "echo", "ok"}) a.push_back(s);
  Result r = run(a);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  auto j = report_json(r);
  ASSERT_TRUE(j);
  std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t expect = (c.bytes + page - 1) / page * page;
  EXPECT_EQ((*j)["stack_size"], expect);
  if (c.vm) {
    const json& used = (*j)["observed"]["stack_used"];
    ASSERT_TRUE(used.is_number_integer()) << (*j)["observed"];
    EXPECT_GT(used.get<long long>(), 0);
    EXPECT_LT(used.get<long long>(), 4096) << "the stub should stay well under 4 KiB";
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, StackSizeTest, ::testing::ValuesIn(kStacks),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Every forwarded signal.

struct Forwarded {
  int sig;
  const char* name;
};
const Forwarded kForwarded[] = {{SIGINT, "INT"},   {SIGTERM, "TERM"}, {SIGHUP, "HUP"},     {SIGQUIT, "QUIT"},
                                {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}};

void PrintTo(const Forwarded& c, std::ostream* os) { *os << c.name; }

class ForwardTest : public RdboxTest, public ::testing::WithParamInterface<Forwarded> {};

TEST_P(ForwardTest, SignalReachesTheCommand) {
  std::string n = GetParam().name;
  Process proc = Process::start(
      {"run", "sh", "-c", "trap 'echo got " + n + "; exit 7' " + n + "; echo ready; while :; do sleep 0.1; done"});
  ASSERT_TRUE(proc.wait_stdout("ready\n", 5s)) << proc.err();
  ASSERT_EQ(::kill(proc.pid(), GetParam().sig), 0);
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "ready\ngot " + n + "\n");
}

INSTANTIATE_TEST_SUITE_P(Signals, ForwardTest, ::testing::ValuesIn(kForwarded),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Bad input: exit 125, one line "rdbox: ..." on stderr, nothing created.

struct BadInput {
  const char* name;
  std::vector<std::string> args;  // "{tmp}" is replaced by the test's directory
  const char* needle;             // in the error line
  bool nonroot_only = false;      // root can read what this case makes unreadable
};

const BadInput kBadInputs[] = {
    {"unknown_mode", {"run", "--mode", "bogus"}, "--mode"},
    {"stack_size_zero", {"run", "--stack-size", "0"}, "--stack-size"},
    {"stack_size_abc", {"run", "--stack-size", "abc"}, "--stack-size"},
    {"stack_size_overflow", {"run", "--stack-size", "99999999999999999999999"}, "--stack-size"},
    {"stack_size_below_minimum", {"run", "--stack-size", "1K"}, "--stack-size"},
    {"stack_size_above_maximum", {"run", "--stack-size", "2G"}, "--stack-size"},
    {"stack_size_bad_suffix", {"run", "--stack-size", "64X"}, "--stack-size"},
    {"stack_size_with_fork", {"run", "--mode", "fork", "--stack-size", "64K"}, "--stack-size"},
    {"vm_with_mode_fork", {"run", "--vm", "--mode", "fork"}, "--vm"},
    {"vm_with_mode_spawn", {"run", "--mode", "spawn", "--vm"}, "--vm"},
    {"vfork_with_mode_spawn", {"run", "--vfork", "--mode", "spawn"}, "--vfork"},
    {"clone_flags_thread", {"run", "--clone-flags", "thread"}, "CLONE_THREAD"},
    {"clone_flags_parent", {"run", "--clone-flags", "CLONE_PARENT"}, "CLONE_PARENT"},
    {"clone_flags_newpid", {"run", "--clone-flags", "newpid"}, "CLONE_NEWPID"},
    {"clone_flags_vm", {"run", "--clone-flags", "VM"}, "CLONE_VM"},
    {"clone_flags_unknown", {"run", "--clone-flags", "FILES,bogus"}, "bogus"},
    {"clone_flags_only_separators", {"run", "--clone-flags", ","}, "--clone-flags"},
    {"clone_flags_sighand_without_vm", {"run", "--clone-flags", "sighand"}, "CLONE_SIGHAND"},
    {"clone_flags_with_mode_fork", {"run", "--mode", "fork", "--clone-flags", "FILES"}, "--clone-flags"},
    {"env_file_missing", {"run", "--env-file", "{tmp}/missing.env"}, "--env-file"},
    {"env_file_is_a_directory", {"run", "--env-file", "{tmp}"}, "--env-file"},
    {"env_file_unreadable", {"run", "--env-file", "{tmp}/secret.env"}, "--env-file", true},
    {"env_file_invalid_line", {"run", "--env-file", "{tmp}/bad.env"}, "bad.env:2"},
    {"env_empty_key", {"run", "-e", "=x"}, "--env"},
    {"env_key_with_space", {"run", "-e", "A B=1"}, "--env"},
    {"report_file_unwritable", {"run", "--report-file", "{tmp}/nonexistent/dir/x"}, "--report-file"},
    {"report_unknown_format", {"run", "--report", "xml"}, "--report"},
    {"preserve_fds_negative", {"run", "--preserve-fds", "-1"}, "--preserve-fds"},
    {"preserve_fds_not_a_number", {"run", "--preserve-fds", "abc"}, "--preserve-fds"},
    {"workdir_empty", {"run", "-w", ""}, "--workdir"},
    {"argv0_empty", {"run", "--argv0", ""}, "--argv0"},
    {"unknown_option", {"run", "--no-such-option"}, "--no-such-option"},
    {"unknown_subcommand", {"bogus"}, "unknown subcommand \"bogus\""},
    // Empty values are as bad as any other unparsable value (parse_size and
    // parse_clone_flags have an "empty" error of their own).
    {"stack_size_empty", {"run", "--stack-size", ""}, "--stack-size"},
    {"clone_flags_empty", {"run", "--clone-flags", ""}, "--clone-flags"},
    {"mode_empty", {"run", "--mode", ""}, "--mode"},
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public RdboxTest, public ::testing::WithParamInterface<BadInput> {
 protected:
  std::string expand(const std::string& s) const {
    std::string out = s;
    for (std::size_t pos; (pos = out.find("{tmp}")) != std::string::npos;) out.replace(pos, 5, tmp.path());
    return out;
  }
  void check(std::vector<std::string> a, bool with_report_file) {
    std::string report = tmp / "report.out";
    std::string marker = tmp / "ran";
    if (with_report_file && a.size() >= 1 && a[0] == "run") a.insert(a.begin() + 1, {"--report-file", report});
    Result r = run(a);
    SCOPED_TRACE(join(a, " "));
    EXPECT_EQ(r.exit_code, 125);
    EXPECT_EQ(r.out, "");
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
    EXPECT_EQ(lines[0].rfind("rdbox: ", 0), 0u) << lines[0];
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_NE(lines[0].find(GetParam().needle), std::string::npos) << lines[0];
    EXPECT_FALSE(file_exists(marker)) << "the command ran";
    EXPECT_FALSE(file_exists(report)) << "a report file was created";
  }
  TempDir tmp;
};

TEST_P(BadInputTest, Is125WithOneLineAndRunsNothing) {
  const BadInput& c = GetParam();
  if (c.nonroot_only && ::geteuid() == 0) GTEST_SKIP() << "root reads a mode-000 file (checked in RootOnly)";
  tmp.write("bad.env", "A=1\nNOT A VALID LINE\n");
  tmp.write("secret.env", "A=1\n", 0000);
  std::vector<std::string> a;
  for (const auto& s : c.args) a.push_back(expand(s));
  std::string marker = tmp / "ran";
  a.insert(a.end(), {"touch", marker});
  bool report_option = std::find(a.begin(), a.end(), "--report-file") != a.end();
  check(a, !report_option);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return std::string(info.param.name); });

class MissingCommandTest : public RdboxTest {
 protected:
  TempDir tmp;
};

TEST_F(MissingCommandTest, Is125WithOneLine) {
  // Bare `rdbox` (no subcommand) prints the overview instead: cli_test.cpp, BareRdboxPrintsTheOverview.
  for (std::vector<std::string> a : {std::vector<std::string>{"run"}, std::vector<std::string>{"run", "--"},
                                     std::vector<std::string>{"run", "--mode", "fork"}}) {
    std::string report = tmp / "report.out";
    if (!a.empty()) a.insert(a.begin() + 1, {"--report-file", report});
    SCOPED_TRACE(join(a, " "));
    Result r = run(a);
    EXPECT_EQ(r.exit_code, 125);
    EXPECT_EQ(r.out, "");
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("rdbox: ", 0), 0u) << lines[0];
    if (!a.empty()) {
      EXPECT_NE(lines[0].find("missing command"), std::string::npos) << lines[0];
    }
    EXPECT_FALSE(file_exists(report));
  }
}

// ---------------------------------------------------------------------------------------
// Who runs the suite.

class UserTest : public RdboxTest {
 protected:
  TempDir tmp;
};

// Runs for root and for an unprivileged user alike: the command runs as the caller.
TEST_F(UserTest, CommandRunsAsTheCaller) {
  RecordProperty("uid", std::to_string(::getuid()));
  Result r = run({"run", "--", self_exe(), kProbeFlag});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Probe p = parse_probe(r.out);
  ASSERT_TRUE(p.ok) << r.out;
  EXPECT_EQ(p.num("uid"), static_cast<long>(::getuid()));
  EXPECT_EQ(p.num("euid"), static_cast<long>(::geteuid()));
  EXPECT_EQ(p.num("gid"), static_cast<long>(::getgid()));
  EXPECT_EQ(p.num("egid"), static_cast<long>(::getegid()));
  // And the temporary files this suite makes are usable by whoever runs it.
  std::string script = tmp.write("mine.sh", "#!/bin/sh\necho mine\n", 0755);
  r = run({"run", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "mine\n");
}

TEST_F(UserTest, RootOnly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (running as uid " << ::geteuid() << ")";
  // Root reads an env file whatever its mode...
  std::string env = tmp.write("secret.env", "RDBOX_ITEST_SECRET=s3\n", 0000);
  Result r = run({"run", "--clear-env", "--env-file", env, "env"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "RDBOX_ITEST_SECRET=s3\n");
  // ...but still cannot execute a file with no execute bit.
  std::string file = tmp.write("noexec", "#!/bin/sh\necho ran\n", 0644);
  r = run({"run", file});
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.err, "rdbox: exec \"" + file + "\": Permission denied\n");
}

// ---------------------------------------------------------------------------------------
// The harness itself.

class HarnessTest : public RdboxTest {};

TEST_F(HarnessTest, CapturesStdoutAndStderrSeparately) {
  Result r = Process::start_program({"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}).finish();
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST_F(HarnessTest, TimeoutKillsTheProcessAndFails) {
  RunOptions o;
  o.timeout = 300ms;
  Result r;
  const std::vector<std::string> argv{"/bin/sh", "-c", "sleep 30 & exec sleep 30"};
  EXPECT_NONFATAL_FAILURE(r = Process::start_program(argv, o).finish(), "timed out");
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(r.elapsed, 3s);
}

TEST_F(HarnessTest, ProbeSeesExactlyWhatItIsGiven) {
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  RunOptions o;
  o.fds = {{null_fd.fd, 7}};
  o.ignore_signals = {SIGUSR1};
  o.block_signals = {SIGUSR2};
  Result r = Process::start_program(probe_command({"exit", "9"}), o).finish();
  EXPECT_EQ(r.exit_code, 9);
  Probe p = parse_probe(r.out);
  ASSERT_TRUE(p.ok) << r.out << r.err;
  EXPECT_EQ(p.fds(), (std::vector<int>{0, 1, 2, 7}));
  EXPECT_EQ(p.hex("sigign"), sigbit(SIGUSR1));
  EXPECT_EQ(p.hex("sigblk"), sigbit(SIGUSR2));
}

TEST_F(HarnessTest, ListsChildrenAndDescendants) {
  Process proc =
      Process::start_program({"/bin/sh", "-c", "sleep 30 & sh -c 'sleep 30 & wait' & echo ready; wait"});
  ASSERT_TRUE(proc.wait_stdout("ready\n", 5s));
  ASSERT_TRUE(wait_until([&] { return descendants_of(proc.pid()).size() >= 3; }, 5s))
      << descendants_of(proc.pid()).size();
  EXPECT_EQ(children_of(proc.pid()).size(), 2u);
  auto all = descendants_of(proc.pid());
  kill_tree(proc.pid());
  Result r = proc.finish();
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  for (pid_t d : all) EXPECT_TRUE(wait_gone(d, 0, 2s)) << d;
}

}  // namespace
