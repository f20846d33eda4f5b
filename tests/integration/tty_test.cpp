// At a terminal: Ctrl-C reaches the command exactly once, and the command's process group
// owns the terminal (job control for an interactive shell inside). rdbox runs as the
// session leader of a fresh pseudo-terminal, as a shell would start it.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.hpp"

using namespace itest;

namespace {

struct PtyRun {
  pid_t pid = -1;
  int master = -1;
  std::string out;

  explicit PtyRun(const std::vector<std::string>& args) {
    std::vector<std::string> argv{rdbox_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
  }
  bool read_until(const std::string& needle, Ms timeout) {
    auto end = Clock::now() + timeout;
    while (out.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<Ms>(end - Clock::now()).count();
      if (left <= 0) return false;
      struct pollfd p {master, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[1024];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) return out.find(needle) != std::string::npos;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  int wait(Ms timeout) {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      read_until("\x01never", Ms(50));
      int status;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }
  ~PtyRun() {
    if (pid > 0) {
      kill_tree(pid);
      ::waitpid(pid, nullptr, 0);
    }
    if (master >= 0) ::close(master);
  }
};

class Tty : public RdboxTest {};

}  // namespace

TEST_F(Tty, CtrlCReachesTheCommandExactlyOnce) {
  for (const char* mode : {"fork", "vfork", "clone", "spawn"}) {
    SCOPED_TRACE(mode);
    PtyRun r({"run", "--mode", mode, "--", "sh", "-c",
              "n=0; trap 'n=$((n+1))' INT; echo ready; sleep 1; sleep 0.5; echo \"ints=$n\""});
    ASSERT_GT(r.pid, 0);
    ASSERT_TRUE(r.read_until("ready", 5s)) << r.out;
    ASSERT_EQ(::write(r.master, "\x03", 1), 1);
    EXPECT_EQ(r.wait(10s), 0) << r.out;
    EXPECT_NE(r.out.find("ints=1"), std::string::npos) << r.out;
  }
}

TEST_F(Tty, CommandOwnsTheTerminalInItsOwnGroup) {
  PtyRun r({"run", "--", "sh", "-c", "echo pgid=$(cut -d' ' -f5 /proc/$$/stat) tpgid=$(cut -d' ' -f8 /proc/$$/stat)"});
  ASSERT_GT(r.pid, 0);
  ASSERT_EQ(r.wait(10s), 0) << r.out;
  auto p = r.out.find("pgid=");
  ASSERT_NE(p, std::string::npos) << r.out;
  long pgid = std::stol(r.out.substr(p + 5));
  long tpgid = std::stol(r.out.substr(r.out.find("tpgid=") + 6));
  EXPECT_EQ(pgid, tpgid) << "the command's group is the terminal's foreground group";
}

TEST_F(Tty, PipelineStagesOwnTheTerminalAndCtrlCReachesEachOnce) {
  // The stages share one process group, the terminal's foreground one; their parent is
  // outside it, so Ctrl-C reaches each stage once, from the terminal, and nobody else.
  TempDir dir;
  std::string script = dir.write("stage.sh",
                                 "k=$1\n"
                                 "n=0\n"
                                 "trap 'n=$((n+1))' INT\n"
                                 "set -- $(cut -d' ' -f5,8 /proc/$$/stat) $(cut -d' ' -f5 /proc/$PPID/stat)\n"
                                 "echo \"stage-$k pgid=$1 tpgid=$2 parent=$3\" >&2\n"
                                 "echo ready-$k >&2\n"
                                 "sleep 1; sleep 0.5\n"
                                 "echo \"ints-$k=$n\" >&2\n");
  std::vector<std::string> args{"pipeline", "--"};
  for (int k = 1; k <= 3; ++k) args.push_back("sh " + shell_quote(script) + " " + std::to_string(k));
  PtyRun r(args);
  ASSERT_GT(r.pid, 0);
  ASSERT_TRUE(r.read_until("ready-1", 5s) && r.read_until("ready-2", 5s) && r.read_until("ready-3", 5s)) << r.out;
  ASSERT_EQ(::write(r.master, "\x03", 1), 1);
  EXPECT_EQ(r.wait(10s), 0) << r.out;
  std::string group;
  for (int k = 1; k <= 3; ++k) {
    std::string tag = "stage-" + std::to_string(k) + " pgid=";
    auto at = r.out.find(tag);
    ASSERT_NE(at, std::string::npos) << r.out;
    long pgid = std::stol(r.out.substr(at + tag.size()));
    long tpgid = std::stol(r.out.substr(r.out.find("tpgid=", at) + 6));
    long parent = std::stol(r.out.substr(r.out.find("parent=", at) + 7));
    EXPECT_EQ(pgid, tpgid) << "stage " << k << ": the stages' group is the terminal's foreground group";
    EXPECT_NE(parent, pgid) << "stage " << k << ": the stages' parent is outside their group";
    if (group.empty()) group = std::to_string(pgid);
    EXPECT_EQ(std::to_string(pgid), group) << "one group for every stage";
    EXPECT_NE(r.out.find("ints-" + std::to_string(k) + "=1"), std::string::npos) << r.out;
  }
}

TEST_F(Tty, PipelineCtrlZStopsTheStagesAndRdboxAndContinueResumesThem) {
  // Each stage is one process once it has said it is ready (exec, not a child): dash runs
  // a command with vfork, and a vfork child stopped before its exec leaves the shell in D,
  // neither running nor stopped, so no shell or rdbox could call that job stopped.
  std::vector<std::string> args{"pipeline", "--"};
  for (int k = 1; k <= 3; ++k) args.push_back("sh -c 'echo ready-" + std::to_string(k) + " >&2; exec sleep 1'");
  PtyRun r(args);
  ASSERT_GT(r.pid, 0);
  ASSERT_TRUE(r.read_until("ready-1", 5s) && r.read_until("ready-2", 5s) && r.read_until("ready-3", 5s)) << r.out;
  ASSERT_EQ(::write(r.master, "\x1a", 1), 1);  // Ctrl-Z: SIGTSTP to the stages' group
  ASSERT_TRUE(r.read_until("stopped by signal 20 (SIGTSTP)", 5s)) << r.out;
  // rdbox stops itself, as a shell's job does; its own continue resumes the stages.
  ASSERT_TRUE(wait_until([&] { auto s = proc_stat(r.pid); return s && s->state == 'T'; }, 5s));
  ASSERT_EQ(::kill(r.pid, SIGCONT), 0);
  EXPECT_EQ(r.wait(10s), 0) << r.out;
  std::size_t ended = 0;
  for (std::size_t at = r.out.find("exited with status 0"); at != std::string::npos;
       at = r.out.find("exited with status 0", at + 1))
    ++ended;
  EXPECT_EQ(ended, 3u) << "each stage resumed and ended: " << r.out;
  EXPECT_NE(r.out.find(" continued"), std::string::npos) << r.out;
}
