// What the restructuring promised users and the security review: mounts in the order
// given, a root that is never changed, no way out through PID 1 or a swapped rootfs, and
// no command outliving a killed rdbox under --newpid. Root and rootless (tests/rootless.sh).
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <dirent.h>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "sandbox_helpers.hpp"

using namespace itest;

namespace {

class Isolation : public RdboxTest {};

// Every entry below `dir`: type, mode, size, mtime, ctime, link text, and the bytes of the
// files this user can read. Two equal snapshots: nothing was created, changed or removed.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied)) {
    struct stat st {};
    std::string path = e.path().string();
    if (::lstat(path.c_str(), &st) != 0) continue;
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
                    std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
    if (S_ISLNK(st.st_mode)) v += " -> " + std::filesystem::read_symlink(e.path()).string();
    if (S_ISREG(st.st_mode) && st.st_size < (1 << 20) && ::access(path.c_str(), R_OK) == 0) v += " " + read_text(path);
    out[path.substr(dir.size())] = v;
  }
  struct stat top {};
  ::lstat(dir.c_str(), &top);
  out["."] = std::to_string(top.st_mode) + " " + std::to_string(top.st_mtim.tv_nsec) + " " +
             std::to_string(top.st_ctim.tv_nsec);
  return out;
}

// Processes whose command line is exactly `cmdline` (a unique token in it): waits up to
// 2 s for them to be gone, kills (by pid) and counts those that are not.
std::size_t survivors(const std::string& cmdline) {
  std::vector<pid_t> found;
  auto none = [&] {
    found.clear();
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(name);
      if (proc_cmdline(pid) == cmdline && alive(pid)) found.push_back(pid);
    }
    return found.empty();
  };
  wait_until(none, 2s);
  for (pid_t pid : found) ::kill(pid, SIGKILL);
  return found.size();
}

}  // namespace

TEST_F(Isolation, MountsApplyInTheOrderGiven) {
  REQUIRE_ROOTFS();
  // A tmpfs, then a bind into it: the bind is visible (bubblewrap's order).
  Result a = run(with_priv({"run", "--rootfs", rootfs(), "--tmpfs", "/mnt", "--bind", "/etc:/mnt/sub", "--",
                            "/bin/sh", "-c", "test -e /mnt/sub/passwd && echo bound"}));
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "bound\n");
  // Two mounts on one destination: the later one wins.
  TempDir tmp;
  tmp.write("marker-a", "a\n");
  Result b = run(with_priv({"run", "--rootfs", rootfs(), "--ro-bind", tmp.path() + ":/mnt", "--bind", "/etc:/mnt", "--",
                            "/bin/sh", "-c", "test -e /mnt/passwd && ! test -e /mnt/marker-a && echo last"}));
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, "last\n");
  // rdbox's own /dev and /dev/shm come first: the user's targets in them are visible.
  Result c = run(with_priv({"run", "--rootfs", rootfs(), "--bind", "/etc:/dev/hostetc", "--tmpfs", "/dev/shm/x", "--",
                            "/bin/sh", "-c", "test -e /dev/hostetc/passwd && test -d /dev/shm/x && echo visible"}));
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "visible\n");
  // Without a rootfs too (the host's /mnt exists): the tmpfs does not hide the bind.
  Result d = run(with_priv({"run", "--newns", "--tmpfs", "/mnt", "--bind", "/etc:/mnt/sub", "--", "/bin/sh", "-c",
                            "test -e /mnt/sub/passwd && echo bound"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "bound\n");
}

TEST_F(Isolation, TheRootfsIsNeverChanged) {
  REQUIRE_ROOTFS();
  auto before = snapshot(rootfs());
  std::vector<std::vector<std::string>> runs = {
      {"--rootfs", rootfs(), "--bind", "/etc:/mnt", "--tmpfs", "/tmp", "--", "/bin/true"},
      {"--rootfs", rootfs(), "--read-only", "--tmpfs", "/run/x/y", "--", "/bin/true"},  // refused: /run/x missing
      {"--rootfs", rootfs(), "--bind", "/etc:/new/dir", "--", "/bin/true"},              // refused up front
      {"--rootfs", rootfs(), "--", "/nonexistent-command"},                              // a failed exec
      {"--rootfs", rootfs(), "--overlay", "--bind", "/etc:/new/dir", "--", "/bin/sh", "-c", "touch /written"},
      {"--rootfs", rootfs(), "--newpid", "--init", "--", "/bin/true"},
  };
  for (auto extra : runs) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = run(with_priv(args));
    EXPECT_NE(r.exit_code, -1) << join(args, " ");
  }
  auto after = snapshot(rootfs());
  EXPECT_EQ(before.size(), after.size());
  for (const auto& [path, v] : before) EXPECT_EQ(after[path], v) << path << " changed";
  for (const auto& [path, v] : after) EXPECT_TRUE(before.count(path)) << path << " appeared in the rootfs";
}

TEST_F(Isolation, PidOneHoldsNothingOfRdboxs) {
  REQUIRE_ROOTFS();
  // The caller holds a directory fd, rdbox holds its own; rdbox's environment has a
  // secret; its command line names a hostname. None may reach the command through PID 1.
  int held = ::open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  RunOptions o;
  o.fds = {{held, 9}};
  o.env = {"RDBOX_TEST_SECRET=s3cr3t-in-rdbox-env"};
  std::string script =
      "ls /proc/1/fd 2>/dev/null | tr '\\n' ' '; echo;"
      "cat /proc/1/environ 2>/dev/null | tr '\\0' ' '; echo;"
      "cat /proc/1/cmdline 2>/dev/null | tr '\\0' ' '; echo";
  Result r = run(with_priv({"run", "--clear-env", "--hostname", "secret-host-name", "--rootfs", rootfs(), "--init",
                            "--", "/bin/sh", "-c", script}),
                 o);
  ::close(held);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  // Rootless, PID 1 is out of reach (non-dumpable, its memory the host's user namespace's):
  // nothing listed. As root (CAP_SYS_PTRACE): stdio and the events pipe only.
  for (const auto& fd : std::vector<std::string>{"4", "5", "6", "7", "8", "9"})
    EXPECT_EQ((" " + lines[0]).find(" " + fd + " "), std::string::npos) << "PID 1 holds fd " << fd << ": " << lines[0];
  EXPECT_EQ(lines[1].find("s3cr3t"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].find("secret-host-name"), std::string::npos) << lines[2];
}

TEST_F(Isolation, VmInitIsRefused) {
  Result r = run(with_priv({"run", "--vm", "--init", "--", "/bin/true"}));
  EXPECT_EQ(r.exit_code, 125);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--init"), std::string::npos) << r.err;
}

TEST_F(Isolation, ASwappedRootfsNeverBecomesTheRoot) {
  REQUIRE_ROOTFS();
  // The owner of the rootfs's directory swaps it with a link to / while rdbox runs
  // (renameat2 RENAME_EXCHANGE, as fast as it can). Each run is refused or runs in the
  // real rootfs; never in the host's root.
  TempDir tmp;
  std::string root = tmp.path() + "/root", link = tmp.path() + "/link";
  std::filesystem::copy(rootfs(), root,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  ASSERT_EQ(::symlink("/", link.c_str()), 0);
  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread swapper([&] {
    while (!stop) {
      if (::syscall(SYS_renameat2, AT_FDCWD, root.c_str(), AT_FDCWD, link.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });
  int escaped = 0, ran = 0;
  for (int i = 0; i < 150; ++i) {
    Result r = run(with_priv({"run", "--rootfs", root, "--", "/bin/sh", "-c",
                              "if test -e /usr/lib/os-release || test -e /etc/debian_version; then echo ESCAPED; fi"}));
    if (r.out.find("ESCAPED") != std::string::npos) ++escaped;
    if (r.exit_code == 0) ++ran;
  }
  stop = true;
  swapper.join();
  // Leave the directory where TempDir's cleanup expects it.
  struct stat st {};
  if (::lstat(root.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    ::syscall(SYS_renameat2, AT_FDCWD, root.c_str(), AT_FDCWD, link.c_str(), RENAME_EXCHANGE);
  EXPECT_EQ(escaped, 0) << "the sandbox's root was the host's / in " << escaped << " runs (" << swaps << " swaps)";
  EXPECT_GT(swaps.load(), 0);
  RecordProperty("runs_in_the_rootfs", ran);
}

TEST_F(Isolation, NoCommandOutlivesAKilledRdboxUnderNewpid) {
  // SIGKILL rdbox at random moments around the command's start: PID 1 sees its parent as
  // 0 whatever happened, so it asks the life pipe; nothing may survive.
  std::mt19937 rng(12345);
  std::string token = std::to_string(::getpid()) + ".25";
  std::vector<std::vector<std::string>> modes = {{"--mode", "clone"}, {"--mode", "fork"}};
  for (const auto& mode : modes) {
    for (int i = 0; i < 100; ++i) {
      std::vector<std::string> args{"run"};
      args.insert(args.end(), mode.begin(), mode.end());
      args.insert(args.end(), {"--newpid", "--", "/bin/sleep", token});
      Process p = Process::start(with_priv(args));
      ::usleep(std::uniform_int_distribution<int>(0, 1500)(rng));
      ::kill(p.pid(), SIGKILL);
      p.finish();
    }
  }
  std::size_t left = survivors("/bin/sleep " + token);
  EXPECT_EQ(left, 0u) << left << " commands outlived a killed rdbox";
}

TEST_F(Isolation, EverySignalButTheSynchronousOnesReachesTheCommand) {
  // As tini does: SIGALRM, SIGURG, SIGPWR... are forwarded, not acted on by rdbox, also
  // through rdbox's init and the fork-mode relay.
  std::vector<std::vector<std::string>> setups = {{}, {"--init"}, {"--mode", "fork", "--newpid"}};
  for (const auto& setup : setups) {
    for (int sig : {SIGALRM, SIGURG, SIGPWR, SIGUSR1, SIGVTALRM}) {
      std::vector<std::string> args{"run"};
      args.insert(args.end(), setup.begin(), setup.end());
      std::string script = "trap 'echo got; exit 5' " + std::to_string(sig) + "; echo ready; while :; do sleep 0.05; done";
      args.insert(args.end(), {"--", "/bin/sh", "-c", script});
      Process p = Process::start(setup.empty() ? args : with_priv(args));
      ASSERT_TRUE(p.wait_stdout("ready\n", 5s)) << join(args, " ") << p.err();
      ASSERT_EQ(::kill(p.pid(), sig), 0);
      Result r = p.finish();
      EXPECT_EQ(r.exit_code, 5) << join(args, " ") << " signal " << sig << ": " << r.err;
      EXPECT_EQ(r.out, "ready\ngot\n") << join(args, " ") << " signal " << sig;
    }
  }
}

TEST_F(Isolation, UnderTheInitTheCommandsOwnStatusIsReported) {
  Result r = run(with_priv({"run", "--init", "--report", "json", "--", "/bin/sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(r.exit_code, 137) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["outcome"], "signaled");
  EXPECT_EQ((*j)["status"]["signal"], 9);
  Result t = run(with_priv({"run", "--init", "--", "/bin/sh", "-c", "kill -TERM $$"}));
  EXPECT_EQ(t.exit_code, 143);
  EXPECT_NE(t.err.find("killed by signal 15 (SIGTERM)"), std::string::npos) << t.err;
  Result e = run(with_priv({"run", "--init", "--", "/bin/sh", "-c", "exit 137"}));
  EXPECT_NE(e.err.find("exited with status 137"), std::string::npos) << e.err;
}

TEST_F(Isolation, NonIdentityMapsWorkWithARootfs) {
  REQUIRE_ROOTFS();
  if (!is_root()) GTEST_SKIP() << "maps beyond one's own id need root or /etc/subuid (not given to uid 65534 here)";
  Result r = run({"run", "--uid-map", "0 100000 1", "--gid-map", "0 100000 1", "--rootfs", rootfs(), "--", "/bin/sh",
                  "-c", "id -u; test -c /dev/null && echo dev; cat /proc/self/uid_map"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
  EXPECT_EQ(lines[0], "0");
  EXPECT_EQ(lines[1], "dev");
  EXPECT_NE(lines[2].find("100000"), std::string::npos);
}

TEST_F(Isolation, SwitchingIdentityKeepsTheCommandTiedToRdbox) {
  // setresuid() clears PR_SET_PDEATHSIG: the stub sets it again after --user.
  if (!is_root()) GTEST_SKIP() << "--user 65534 needs a map that covers it (root here)";
  std::string token = std::to_string(::getpid()) + ".75";
  for (std::vector<std::string> extra : {std::vector<std::string>{"--newpid"}, {"--mode", "fork", "--newpid"}, {}}) {
    std::vector<std::string> args{"run", "--user", "65534"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "/bin/sh", "-c", "echo ready; exec /bin/sleep " + token});
    Process p = Process::start(args);
    ASSERT_TRUE(p.wait_stdout("ready\n", 5s)) << p.err();
    ::usleep(50000);
    ::kill(p.pid(), SIGKILL);
    p.finish();
  }
  std::size_t left = survivors("/bin/sleep " + token);
  EXPECT_EQ(left, 0u) << left << " commands run as --user outlived a killed rdbox";
}

namespace {

// Swaps two paths (renameat2 RENAME_EXCHANGE) as fast as it can until destroyed: the
// owner of a rootfs racing rdbox between plan and run.
class Swapper {
 public:
  Swapper(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
    thread_ = std::thread([this] {
      while (!stop_)
        if (::syscall(SYS_renameat2, AT_FDCWD, a_.c_str(), AT_FDCWD, b_.c_str(), RENAME_EXCHANGE) == 0) ++swaps_;
    });
  }
  ~Swapper() {
    stop_ = true;
    thread_.join();
  }
  long swaps() const { return swaps_; }

 private:
  std::string a_, b_;
  std::atomic<bool> stop_{false};
  std::atomic<long> swaps_{0};
  std::thread thread_;
};

std::string copy_rootfs(const TempDir& tmp) {
  std::string root = tmp.path() + "/root";
  std::filesystem::copy(rootfs(), root,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  return root;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_F(Isolation, ARaceCannotMakeAReadOnlyBindWritable) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string root = copy_rootfs(tmp);
  std::string src = tmp.mkdir("rosrc");
  tmp.write("rosrc/file", "original\n");
  std::filesystem::create_directory(root + "/data");
  ASSERT_EQ(::symlink("/proc", (root + "/datalink").c_str()), 0);
  ASSERT_EQ(::symlink("/proc", (root + "/syslink").c_str()), 0);
  int sys_rw = 0;
  {
    Swapper a(root + "/data", root + "/datalink"), b(root + "/sys", root + "/syslink");
    for (int i = 0; i < 120; ++i) {
      Result r = run(with_priv({"run", "--rootfs", root, "--ro-bind", src + ":/data", "--", "/bin/sh", "-c",
                                "echo OVERWRITTEN > /data/file 2>/dev/null; "
                                "grep -q ' /sys [^ ]*rw' /proc/self/mountinfo && echo SYS-RW"}));
      if (r.out.find("SYS-RW") != std::string::npos) ++sys_rw;
    }
    EXPECT_GT(a.swaps() + b.swaps(), 0);
  }
  EXPECT_EQ(read_text(src + "/file"), "original\n");
  EXPECT_EQ(sys_rw, 0) << "/sys came up writable";
}

TEST_F(Isolation, ARaceCannotMakeRdboxWriteIntoTheRootfs) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string root = copy_rootfs(tmp);
  std::filesystem::create_directory(root + "/devalt");
  ASSERT_EQ(::symlink("/devalt", (root + "/devlink").c_str()), 0);
  {
    Swapper s(root + "/dev", root + "/devlink");
    for (int i = 0; i < 120; ++i) run(with_priv({"run", "--rootfs", root, "--", "/bin/true"}));
  }
  struct stat st {};
  if (::lstat((root + "/dev").c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    ::syscall(SYS_renameat2, AT_FDCWD, (root + "/dev").c_str(), AT_FDCWD, (root + "/devlink").c_str(), RENAME_EXCHANGE);
  EXPECT_EQ(listing(root + "/devalt"), std::vector<std::string>{}) << "rdbox created /dev entries in the rootfs";
  EXPECT_EQ(listing(root + "/dev"), listing(rootfs() + "/dev"));
}

TEST_F(Isolation, ALinkInTheRootfsCannotLeadACreationIntoABindSource) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string root = copy_rootfs(tmp);
  std::string victim = tmp.mkdir("victim");
  std::filesystem::create_directory(root + "/work2");
  ASSERT_EQ(::symlink("/work2", (root + "/etc2").c_str()), 0);
  // With --overlay the root is the run's own, but /etc2 leads into the bind at /work2:
  // the file must not be made there (it would land in the host's victim directory).
  Result r = run(with_priv({"run", "--overlay", "--rootfs", root, "--bind", victim + ":/work2", "--ro-bind",
                            "/etc/hostname:/etc2/resolv.conf", "--", "/bin/true"}));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_EQ(listing(victim), std::vector<std::string>{});
}

TEST_F(Isolation, ConfinementOptionsDoWhatTheySay) {
  // A time limit: exit 124 and a line that says so; PID 1 ignoring SIGTERM gets SIGKILL.
  Result t = run({"run", "--timeout", "300ms", "--", "/bin/sleep", "5"});
  EXPECT_EQ(t.exit_code, 124) << t.err;
  EXPECT_NE(t.err.find("timed out after 0.3s (killed by signal 15 (SIGTERM))"), std::string::npos) << t.err;
  Result k = run(with_priv({"run", "--newpid", "--timeout", "200ms", "--kill-after", "300ms", "--", "/bin/sh", "-c",
                            "trap '' TERM; sleep 5"}));
  EXPECT_EQ(k.exit_code, 124) << k.err;
  EXPECT_NE(k.err.find("killed by signal 9"), std::string::npos) << k.err;
  EXPECT_LT(k.elapsed, 4s);
  // Resource limits.
  Result l = run({"run", "--rlimit", "nofile=77:99", "--", "/bin/sh", "-c", "ulimit -n; ulimit -Hn"});
  EXPECT_EQ(l.out, "77\n99\n") << l.err;
  // Capabilities: only what was kept (inside a user namespace when unprivileged).
  Result c = run(with_priv({"run", "--cap-drop", "ALL", "--cap-add", "net_bind_service", "--", "/bin/sh", "-c",
                            "grep -E '^(CapEff|CapBnd)' /proc/self/status"}));
  EXPECT_EQ(c.out, "CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n") << c.err;
  // The default seccomp profile: no new namespaces without CAP_SYS_ADMIN; no_new_privs set.
  Result s = run(with_priv({"run", "--seccomp", "default", "--cap-drop", "sys_admin", "--", "/bin/sh", "-c",
                            "unshare -U true 2>/dev/null && echo ESCAPED; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"}));
  EXPECT_EQ(s.out, "NoNewPrivs:\t1\nSeccomp:\t2\n") << s.err;
  // docker's conditional rules: holding CAP_SYS_ADMIN, the same profile lets unshare through.
  Result a = run(with_priv({"run", "--seccomp", "default", "--", "/bin/sh", "-c", "unshare -U true && echo allowed"}));
  EXPECT_EQ(a.out, "allowed\n") << a.err;
}

TEST_F(Isolation, BadConfinementInputIsOneLineAnd125) {
  TempDir tmp;
  std::string notjson = tmp.write("profile.json", "{not json");
  for (std::vector<std::string> bad : {std::vector<std::string>{"--cap-add", "BOGUS"}, {"--cap-drop", ""},
                                       {"--rlimit", "nope=1"}, {"--rlimit", "nofile=x"}, {"--rlimit", "nofile=5:1"},
                                       {"--timeout", "0"}, {"--timeout", "-1s"}, {"--timeout", "1y"},
                                       {"--kill-after", "1"}, {"--seccomp", notjson}, {"--seccomp", ""},
                                       {"--seccomp", tmp.path() + "/missing.json"}}) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), bad.begin(), bad.end());
    args.insert(args.end(), {"--", "/bin/sh", "-c", "echo RAN"});
    Result r = run(args);
    std::string what = join(args, " ");
    EXPECT_EQ(r.exit_code, 125) << what << ": " << r.err;
    EXPECT_EQ(r.err_lines().size(), 1u) << what << ": " << r.err;
    EXPECT_EQ(r.out, "") << what;
  }
}
