// Integration-test harness for rdbox: runs the rdbox binary as a child process with a
// hard timeout, captures stdout and stderr separately, and offers the /proc helpers the
// tests need (children and descendants, liveness, a re-executable probe).
//
// The rdbox binary is $RDBOX_BIN when set, else the compile definition RDBOX_BINARY.
// Every process a test starts is bounded in time (RunOptions::timeout, after which the
// harness SIGKILLs that pid and its descendants, by pid, and records a failure) and the
// RdboxTest fixture checks after each test that nothing started by it is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace itest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------
// Binaries.

// The rdbox under test: $RDBOX_BIN if set and non-empty, else RDBOX_BINARY.
const std::string& rdbox_binary();
// This test executable (/proc/self/exe). Re-executed with kProbeFlag it is the probe.
const std::string& self_exe();

// argv[1] that turns this test binary into the probe (see harness.cpp): it prints facts
// about itself, one "key=value" per line, and exits 0 (or with "exit N" after the flag;
// with "cat" after the flag it then copies its stdin to its stdout, as a pipeline stage).
inline constexpr const char* kProbeFlag = "--rdbox-itest-probe";
// {self_exe(), kProbeFlag, extra...}: a command for rdbox run.
std::vector<std::string> probe_command(const std::vector<std::string>& extra = {});

// What the probe printed. Keys: pid ppid pgid sid uid gid euid egid cwd argc argv.N
// fds (comma list, ascending) fd.N (readlink of /proc/self/fd/N) sigign sigblk (hex
// from /proc/self/status) env.count.
struct Probe {
  std::map<std::string, std::string> kv;
  bool ok = false;  // parsed and complete ("end=1" seen)
  std::string get(const std::string& key) const;
  long num(const std::string& key) const;            // -1 when absent
  unsigned long long hex(const std::string& key) const;  // from a hex field
  std::vector<int> fds() const;
};
Probe parse_probe(const std::string& out);

// ---------------------------------------------------------------------------------------
// Running rdbox.

struct RunOptions {
  std::optional<std::string> stdin_data;  // nullopt: /dev/null
  bool close_stdin = false;               // start rdbox with fd 0 closed
  // "KEY=VAL" set or replace in rdbox's environment (which starts as this process's);
  // "-KEY" removes KEY.
  std::vector<std::string> env;
  bool clear_env = false;  // rdbox's own environment starts empty (before `env`)
  // {fd in this process, fd number in rdbox}: inherited by rdbox, not close-on-exec.
  // Every other descriptor above 2 is closed in rdbox.
  std::vector<std::pair<int, int>> fds;
  int stdout_fd = -1;  // give rdbox this descriptor as stdout instead of a capture pipe
  int stderr_fd = -1;  // likewise for stderr
  std::vector<int> ignore_signals;  // SIG_IGN in rdbox from the start
  std::vector<int> block_signals;   // blocked in rdbox from the start
  std::optional<std::string> cwd;   // rdbox's working directory
  Ms timeout = 10s;                 // hard limit for this rdbox invocation
};

struct Result {
  int exit_code = -1;  // the exit status, or 128+N when killed by signal N
  std::string out, err;
  pid_t pid = -1;
  bool timed_out = false;
  Ms elapsed{0};
  std::vector<std::string> err_lines() const;
  std::vector<std::string> out_lines() const;
};

// One running rdbox. The destructor kills (by pid) what is still running and reaps it.
class Process {
 public:
  // `args` follow the binary: {"run", "--mode", "fork", "echo", "hi"}.
  static Process start(const std::vector<std::string>& args, RunOptions opts = {});
  // Starts any program (argv[0] is the path); used for the harness self-checks.
  static Process start_program(const std::vector<std::string>& argv, RunOptions opts = {});
  Process(Process&& o) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads output until pred(out, err) holds; false on timeout or when rdbox exited and
  // both pipes are at EOF without it. Never waits past the invocation's deadline.
  bool wait_for(const std::function<bool(const std::string&, const std::string&)>& pred, Ms timeout);
  bool wait_stdout(const std::string& needle, Ms timeout);
  bool wait_stderr(const std::string& needle, Ms timeout);
  // Waits for rdbox to exit (until the deadline, then SIGKILL + a test failure), then
  // drains both pipes for at most `grace` (a leaked descendant may hold them open).
  Result finish(Ms grace = 2s);

 private:
  Process() = default;
  void pump(int timeout_ms);
  void try_reap();
  void kill_and_reap();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1, err_fd_ = -1, in_fd_ = -1;
  std::string in_data_;
  std::size_t in_off_ = 0;
  std::string out_, err_;
  bool exited_ = false;
  int status_code_ = -1;
  Clock::time_point started_, deadline_;
  bool timed_out_ = false;
  std::vector<std::string> argv_;
};

// Runs rdbox to completion.
Result run(const std::vector<std::string>& args, RunOptions opts = {});

// ---------------------------------------------------------------------------------------
// JSON.

// Parses one JSON object; on failure records a test failure and returns nullopt.
std::optional<nlohmann::json> parse_json(const std::string& text);
// The report rdbox printed on stderr: its last non-empty line, parsed.
std::optional<nlohmann::json> report_json(const Result& r);

// ---------------------------------------------------------------------------------------
// /proc.

// Direct children of `pid`, over all its threads (/proc/<pid>/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
// The children of rdbox that are the command: without the --mode spawn guard, which
// shares rdbox's memory and so shows rdbox's own command line.
std::vector<pid_t> command_children(pid_t rdbox);
// Children, grandchildren, ... of `pid` (not `pid` itself), parents before children.
std::vector<pid_t> descendants_of(pid_t pid);

struct ProcStat {
  char state = '?';
  pid_t ppid = 0, pgrp = 0, session = 0;
  unsigned long long starttime = 0;
};
std::optional<ProcStat> proc_stat(pid_t pid);
std::string proc_cmdline(pid_t pid);  // NULs shown as spaces
// The process exists, is not a zombie and (when starttime != 0) is the same process.
bool alive(pid_t pid, unsigned long long starttime = 0);
// Polls until !alive(pid, starttime); false after `timeout`.
bool wait_gone(pid_t pid, unsigned long long starttime, Ms timeout);
// Polls `pred` every few milliseconds until true; false after `timeout`.
bool wait_until(const std::function<bool()>& pred, Ms timeout);
// SIGKILL to the descendants of `pid`, then `pid` (by pid, never by name).
void kill_tree(pid_t pid);

// ---------------------------------------------------------------------------------------
// Files.

// mkdtemp("/tmp/rdbox-itest-XXXXXX") with mode 0755, removed (recursively) at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to path()/name with `mode` (chmod'ed, umask does not apply).
  std::string write(const std::string& name, const std::string& content, unsigned mode = 0644) const;
  std::string mkdir(const std::string& name, unsigned mode = 0755) const;

 private:
  std::string path_;
};

bool file_exists(const std::string& path);
std::string read_text(const std::string& path);
std::vector<std::string> split_lines(const std::string& s);
std::string join(const std::vector<std::string>& v, const std::string& sep);
std::string shell_quote(const std::string& s);

// ---------------------------------------------------------------------------------------
// Fixture: this process is a child subreaper for the whole run (so anything that escapes
// rdbox ends up as our child); after each test no child of ours may remain. Leftovers
// are reported as a failure, then killed by pid and reaped.
class RdboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
};

// Reaps our zombie children and returns the children still alive after waiting up to
// `timeout` for them to go.
std::vector<pid_t> reap_and_list_children(Ms timeout);

}  // namespace itest
