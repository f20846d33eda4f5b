// Namespaces, root filesystem and rootless runs, against the real build/rdbox. Runs as
// root and again as uid 65534 (tests/rootless.sh); where privilege matters the test adds
// --newuser for the unprivileged run, and root-only cases skip with the reason.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "sandbox_helpers.hpp"

using namespace itest;

namespace {

std::string mountinfo() { return read_text("/proc/self/mountinfo"); }

unsigned long long own_ns(const std::string& kind) {
  struct stat st {};
  std::string path = "/proc/self/ns/" + kind;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class Sandbox : public RdboxTest {};


}  // namespace

TEST_F(Sandbox, EachNamespaceIsNewExactlyWhenAsked) {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"--newpid", "pid"}, {"--newns", "mnt"},         {"--newuts", "uts"},   {"--newipc", "ipc"},
      {"--newnet", "net"}, {"--newcgroup", "cgroup"}, {"--newtime", "time"}, {"--newuser", "user"}};
  for (const auto& [opt, kind] : kinds) {
    std::vector<std::string> args{"run", "--report", "json", opt};
    if (!is_root() && opt != "--newuser") args.push_back("--newuser");
    args.insert(args.end(), {"--", "/bin/true"});
    Result r = run(args);
    ASSERT_EQ(r.exit_code, 0) << opt << ": " << r.err;
    auto j = report_json(r);
    ASSERT_TRUE(j) << r.err;
    for (const auto& [o2, k2] : kinds) {
      const auto& n = (*j)["namespaces"][k2];
      bool expect_new = k2 == kind || (!is_root() && k2 == "user");
      ASSERT_TRUE(n["inode"].is_number()) << opt << " " << k2 << ": " << n.dump();
      EXPECT_EQ(n["new"], expect_new) << opt << " " << k2;
      // Checked against this process's own namespaces, not only rdbox's opinion.
      EXPECT_EQ(n["inode"].get<unsigned long long>() != own_ns(k2), expect_new) << opt << " " << k2;
    }
  }
}

TEST_F(Sandbox, CommandIsPidOne) {
  Result r = run(with_priv({"run", "--newpid", "--", "sh", "-c", "echo $$"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

TEST_F(Sandbox, ForkModeNewpidRelaysLikeUnshareF) {
  // After fork() only the child's children can enter a new PID namespace: the stub forks
  // once more and stays outside as a relay, as `unshare -f` does.
  Result r = run(with_priv({"run", "--mode", "fork", "--newpid", "--", "sh", "-c", "echo $$; exit 4"}));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, "1\n");
  REQUIRE_ROOTFS();
  Result init = run(with_priv({"run", "--mode", "fork", "--init", "--rootfs", rootfs(), "--", "/bin/sh", "-c", "echo $$"}));
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(init.out, "2\n");
}

TEST_F(Sandbox, SpawnModeRefusesASandbox) {
  // posix_spawn runs no rdbox code in the child: the sandbox would have to be built in
  // rdbox itself, which would then sit in the command's namespaces holding host
  // resources (a review reached the host's / through rdbox's /proc/$PPID/fd). Refused.
  for (std::vector<std::string> opts : {std::vector<std::string>{"--newpid"}, {"--newnet"}, {"--hostname", "sp"},
                                        {"--rootfs", rootfs(), "--overlay"}}) {
    std::vector<std::string> args{"run", "--mode", "spawn"};
    args.insert(args.end(), opts.begin(), opts.end());
    args.insert(args.end(), {"--", "/bin/true"});
    Result r = run(with_priv(args));
    EXPECT_EQ(r.exit_code, 125) << join(args, " ") << ": " << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err.find("--mode spawn"), std::string::npos) << r.err;
  }
}

TEST_F(Sandbox, HostnameImpliesUts) {
  std::string before = read_text("/proc/sys/kernel/hostname");
  Result r = run(with_priv({"run", "--hostname", "rdbox-test", "--", "cat", "/proc/sys/kernel/hostname"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "rdbox-test\n");
  EXPECT_EQ(read_text("/proc/sys/kernel/hostname"), before);
}

TEST_F(Sandbox, HostnameTooLongIsRefused) {
  Result r = run({"run", "--hostname", std::string(65, 'h'), "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--hostname"), std::string::npos);
}

TEST_F(Sandbox, LoopbackIsUpInNewNet) {
  // /proc/net/dev lists the namespace's devices: only lo. Its flags come from /sys, which
  // follows the namespace of whoever mounted it, so read them with busybox ip instead.
  REQUIRE_ROOTFS();
  Result r = run(with_priv({"run", "--newnet", "--rootfs", rootfs(), "--", "/sbin/ip", "link", "show", "lo"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("LOOPBACK,UP"), std::string::npos) << r.out;
  Result devs = run(with_priv({"run", "--newnet", "--", "cat", "/proc/net/dev"}));
  ASSERT_EQ(devs.exit_code, 0) << devs.err;
  EXPECT_EQ(split_lines(devs.out).size(), 3u) << devs.out;  // two header lines, lo
}

TEST_F(Sandbox, RootfsHidesTheHost) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string marker = tmp.write("host-only-marker", "x");
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--", "/bin/sh", "-c",
                            "test -e " + marker + " && echo visible; ls /; pwd"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("visible"), std::string::npos);
  EXPECT_NE(r.out.find("bin\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out_lines().back(), "/");  // cwd is / unless --workdir
}

TEST_F(Sandbox, RootfsGetsProcDevAndReadOnlySys) {
  REQUIRE_ROOTFS();
  Result r = run(with_priv({"run", "--newpid", "--rootfs", rootfs(), "--", "/bin/sh", "-c",
                            "ls /dev; echo ok > /dev/null && echo null-ok; cat /proc/1/cmdline | tr '\\0' ' '; echo;"
                            " touch /sys/x 2>/dev/null || echo sys-ro"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* dev : {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx"})
    EXPECT_NE(r.out.find(std::string(dev) + "\n"), std::string::npos) << dev << " missing in\n" << r.out;
  EXPECT_NE(r.out.find("null-ok"), std::string::npos);
  EXPECT_NE(r.out.find("/bin/sh -c"), std::string::npos) << "PID 1 should be the command: " << r.out;
  EXPECT_NE(r.out.find("sys-ro"), std::string::npos);
}

TEST_F(Sandbox, OverlayLeavesTheRootfsUnchanged) {
  REQUIRE_ROOTFS();
  std::string target = rootfs() + "/rdbox-overlay-probe";
  ASSERT_FALSE(file_exists(target));
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--overlay", "--", "/bin/sh", "-c",
                            "echo data > /rdbox-overlay-probe && cat /rdbox-overlay-probe && mkdir /rdbox-overlay-dir && echo changed"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "data\nchanged\n");
  EXPECT_FALSE(file_exists(target));
  EXPECT_FALSE(file_exists(rootfs() + "/rdbox-overlay-dir"));
}

TEST_F(Sandbox, ReadOnlyBindRefusesWrites) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  tmp.write("file", "content");
  ::chmod(tmp.path().c_str(), 0777);
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--ro-bind", tmp.path() + ":/mnt", "--", "/bin/sh", "-c",
                            "cat /mnt/file; echo; touch /mnt/new 2>&1 || echo refused"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("content"), std::string::npos);
  EXPECT_NE(r.out.find("refused"), std::string::npos) << r.out;
  EXPECT_FALSE(file_exists(tmp / "new"));
}

TEST_F(Sandbox, WritableBindAndTmpfsAndReadOnlyRoot) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  ::chmod(tmp.path().c_str(), 0777);
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--read-only", "--bind", tmp.path() + ":/home", "--tmpfs",
                            "/run", "--", "/bin/sh", "-c",
                            "echo hi > /home/written && touch /run/t && echo tmpfs-ok; touch /rootfile 2>/dev/null || "
                            "echo root-ro"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tmpfs-ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("root-ro"), std::string::npos) << r.out;
  EXPECT_EQ(read_text(tmp / "written"), "hi\n");
}

TEST_F(Sandbox, NoMountLeaksToTheHost) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string before = mountinfo();
  Result ok = run(with_priv({"run", "--newpid", "--rootfs", rootfs(), "--overlay", "--bind", tmp.path() + ":/x",
                             "--tmpfs", "/t", "--", "/bin/true"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  Result bad = run(with_priv({"run", "--rootfs", rootfs(), "--", "/nonexistent"}));
  EXPECT_EQ(bad.exit_code, 127);
  EXPECT_EQ(mountinfo(), before);
}

TEST_F(Sandbox, InitReapsOrphans) {
  REQUIRE_ROOTFS();
  // The inner sh leaves a sleep behind as an orphan: the init must reap it.
  Result r = run(with_priv({"run", "--init", "--rootfs", rootfs(), "--", "/bin/sh", "-c",
                            "echo $$; sh -c 'sleep 0.1 &'; sleep 0.6; cat /proc/[0-9]*/stat | cut -d' ' -f3"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "2");  // the command is PID 2 under rdbox's init
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_NE(lines[i], "Z") << r.out;
}

TEST_F(Sandbox, InitPassesTheExitStatusAndSignals) {
  Result r = run(with_priv({"run", "--init", "--", "sh", "-c", "exit 7"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  Process p = Process::start(with_priv({"run", "--init", "--", "sh", "-c",
                                        "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(p.wait_stdout("ready", 5s));
  ::kill(p.pid(), SIGTERM);
  Result done = p.finish();
  EXPECT_EQ(done.exit_code, 9) << done.err;
  EXPECT_NE(done.out.find("got-term"), std::string::npos);
}

TEST_F(Sandbox, TimeNamespaceOffset) {
  double host = std::stod(read_text("/proc/uptime"));
  Result r = run(with_priv({"run", "--time-offset", "boottime=100000", "--", "cat", "/proc/uptime"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  double inside = std::stod(r.out);
  EXPECT_GT(inside, host + 99000) << r.out;
}

TEST_F(Sandbox, UnprivilegedWithoutNewuserIsToldToAddIt) {
  if (is_root()) GTEST_SKIP() << "root may create namespaces without a user namespace";
  Result r = run({"run", "--newpid", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--newuser"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rdbox doctor"), std::string::npos) << r.err;
}

TEST_F(Sandbox, DefaultUserMapMakesTheCallerRoot) {
  Result r = run({"run", "--newuser", "--", "sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/self/setgroups"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  ASSERT_GE(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "0");
  EXPECT_NE(lines[1].find(std::to_string(::geteuid())), std::string::npos);
  EXPECT_EQ(lines[2], "deny");
}

TEST_F(Sandbox, ExplicitMultiRangeMapsAsRoot) {
  if (!is_root()) GTEST_SKIP() << "rdbox writes multi-range maps itself only when privileged";
  Result r = run({"run", "--uid-map", "0 100000 1000", "--gid-map", "0 100000 1000", "--user", "7:8", "--", "sh", "-c",
                  "cat /proc/self/uid_map; id -u; id -g"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n7\n8\n"), std::string::npos) << r.out;
  // Without --user the command is root of the namespace, in fork mode too.
  for (const char* mode : {"fork", "clone"}) {
    Result z = run({"run", "--mode", mode, "--uid-map", "0 100000 100", "--gid-map", "0 100000 100", "--", "sh", "-c",
                    "id -u; id -g"});
    ASSERT_EQ(z.exit_code, 0) << mode << ": " << z.err;
    EXPECT_EQ(z.out, "0\n0\n") << mode;
  }
}

TEST_F(Sandbox, MultiRangeMapsRefusedClearlyWhenNotPossible) {
  if (is_root()) GTEST_SKIP() << "root can write any map";
  Result r = run({"run", "--uid-map", "0 100000 1000", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--uid-map"), std::string::npos);
}

TEST_F(Sandbox, EveryModeWorksOrIsRefusedWithAReason) {
  struct Case {
    std::vector<std::string> mode;
    std::vector<std::string> opts;
    bool works;
  };
  std::vector<Case> cases = {
      {{"--mode", "fork"}, {"--newuts", "--hostname", "f"}, true},
      {{"--mode", "vfork"}, {"--newuts", "--hostname", "v"}, is_root()},  // vfork cannot add a user namespace
      {{"--mode", "clone"}, {"--newuts", "--hostname", "c"}, true},
      {{"--vm"}, {"--newuts", "--hostname", "m"}, true},
      {{"--vm", "--vfork"}, {"--newuts", "--hostname", "w"}, true},
      {{"--mode", "spawn"}, {"--newuts", "--hostname", "s"}, false},  // no rdbox code in the child
      {{"--mode", "spawn"}, {"--init"}, false},
      {{"--mode", "vfork"}, {"--newpid"}, false},
      {{"--vm", "--vfork"}, {"--uid-map", "0 0 1"}, false},
      {{"--vm", "--vfork"}, {"--init"}, false},
      {{"--vm"}, {"--init"}, false},  // the init would share rdbox's memory
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), c.mode.begin(), c.mode.end());
    args.insert(args.end(), c.opts.begin(), c.opts.end());
    bool needs_user = !is_root() && c.works;
    if (needs_user) args.push_back("--newuser");
    args.insert(args.end(), {"--", "cat", "/proc/sys/kernel/hostname"});
    Result r = run(args);
    std::string what = join(args, " ");
    if (c.works) {
      EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
      EXPECT_EQ(r.out, c.opts[2] + "\n") << what;
    } else {
      EXPECT_EQ(r.exit_code, 125) << what << ": " << r.out;
      ASSERT_EQ(r.err_lines().size(), 1u) << what << ": " << r.err;
      EXPECT_EQ(r.err.rfind("rdbox: ", 0), 0u) << r.err;
      EXPECT_GT(r.err.size(), 40u) << "a reason, please: " << r.err;
    }
  }
}

TEST_F(Sandbox, FailurePathsExit125AndLeaveNothing) {
  TempDir tmp;
  std::string file = tmp.write("not-a-dir", "x");
  std::string before = mountinfo();
  const std::vector<std::vector<std::string>> bad = {
      {"run", "--rootfs", tmp / "missing", "--", "/bin/true"},
      {"run", "--rootfs", file, "--", "/bin/true"},
      {"run", "--newns", "--bind", tmp / "no-such-source" + ":/mnt", "--", "/bin/true"},
      {"run", "--uid-map", "0 0", "--", "/bin/true"},
      {"run", "--uid-map", "a b c", "--", "/bin/true"},
      {"run", "--time-offset", "bogus=1", "--", "/bin/true"},
      {"run", "--overlay", "--", "/bin/true"},
      {"run", "--user", "x", "--", "/bin/true"},
  };
  for (const auto& args : bad) {
    Result r = run(with_priv(args));
    std::string what = join(args, " ");
    EXPECT_EQ(r.exit_code, 125) << what << ": " << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("rdbox: ", 0), 0u) << r.err;
  }
  EXPECT_EQ(mountinfo(), before);
}

TEST_F(Sandbox, DryRunPrintsThePlanAndCreatesNothing) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string before = mountinfo();
  Result r = run(with_priv({"run", "--dry-run", "--newpid", "--rootfs", rootfs(), "--overlay", "--hostname", "h",
                            "--report-file", tmp / "report.json", "--", "/bin/true"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["dry_run"], true);
  EXPECT_EQ((*j)["hostname"], "h");
  ASSERT_TRUE((*j)["mount_steps"].is_array());
  EXPECT_GT((*j)["mount_steps"].size(), 10u);
  EXPECT_EQ((*j)["mount_steps"].back()["op"], "pivot_root");
  EXPECT_FALSE(file_exists(tmp / "report.json"));
  EXPECT_EQ(mountinfo(), before);
}

TEST_F(Sandbox, StepTimingsInTheReport) {
  REQUIRE_ROOTFS();
  Result r = run(with_priv({"run", "--report", "json", "--newpid", "--newnet", "--hostname", "t", "--rootfs", rootfs(),
                            "--", "/bin/true"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  const auto& steps = (*j)["timing_us"]["steps"];
  for (const char* s : {"create", "mounts", "proc", "dev", "pivot_root", "hostname", "loopback", "exec"}) {
    ASSERT_TRUE(steps.contains(s)) << s << " in " << steps.dump();
    EXPECT_GE(steps[s].get<long>(), 0) << s;
  }
  EXPECT_FALSE((*j)["setup_in"].get<std::string>().empty());
}

TEST_F(Sandbox, DoctorSaysWhatTheHostAllows) {
  Result r = run({"doctor"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"user namespace", "newuidmap", "overlay", "time", "cgroup"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in\n" << r.out;
}

TEST_F(Sandbox, ReadOnlySysCoversItsSubmounts) {
  REQUIRE_ROOTFS();
  // /sys/fs/cgroup is a submount of /sys: a remount of /sys alone would leave it writable.
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--", "/bin/sh", "-c",
                            "grep ' /sys' /proc/self/mountinfo | cut -d' ' -f5,6"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = r.out_lines();
  ASSERT_FALSE(lines.empty()) << r.out;
  for (const auto& l : lines) EXPECT_EQ(l.substr(l.find(' ') + 1, 2), "ro") << l;
}

TEST_F(Sandbox, SymlinksInTheRootfsDoNotLeadOut) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string root = tmp.mkdir("root");
  for (const char* d : {"proc", "dev", "sys"}) tmp.mkdir(std::string("root/") + d);
  std::string outside = tmp.mkdir("outside");
  ASSERT_EQ(::symlink("/bin", (root + "/bin").c_str()), 0);
  // An absolute link to a host directory: beneath the root it means <root><outside>,
  // which does not exist, and rdbox never creates anything in the given root.
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/evil").c_str()), 0);
  Result r = run(with_priv({"run", "--rootfs", root, "--bind", "/etc/hostname:/evil/sub/file", "--", "/bin/true"}));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("does not exist in the rootfs"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(outside + "/sub"));
  // Relative links climb no higher than the root either.
  ASSERT_EQ(::symlink("../../../../../../..", (root + "/up").c_str()), 0);
  std::string name = "rdbox-escape-" + std::to_string(::getpid());
  Result up = run(with_priv({"run", "--rootfs", root, "--tmpfs", "/up/" + name, "--", "/bin/true"}));
  EXPECT_EQ(up.exit_code, 125) << up.err;
  EXPECT_NE(up.err.find("\"/up/" + name + "\" does not exist in the rootfs"), std::string::npos) << up.err;
  EXPECT_FALSE(file_exists("/" + name));
}

TEST_F(Sandbox, BindOverAnExistingReadOnlyFile) {
  REQUIRE_ROOTFS();
  TempDir tmp;
  std::string src = tmp.write("hostname", "from-host\n");
  Result r = run(with_priv({"run", "--rootfs", rootfs(), "--ro-bind", src + ":/etc/hostname", "--", "cat", "/etc/hostname"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "from-host\n");
}

TEST_F(Sandbox, StopsBelowTheInitOrRelayAreReported) {
  // rdbox watches the init (or the fork-mode relay), not the command: they pass the
  // command's stops and continues up, so rdbox reports them and can do job control.
  for (const std::vector<std::string>& mode : {std::vector<std::string>{"--init"},
                                              std::vector<std::string>{"--mode", "fork", "--newpid"}}) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), mode.begin(), mode.end());
    args.insert(args.end(), {"--", "sleep", "1"});
    Process p = Process::start(with_priv(args));
    pid_t command = -1;
    ASSERT_TRUE(wait_until(
        [&] {
          for (pid_t d : descendants_of(p.pid()))
            if (read_text("/proc/" + std::to_string(d) + "/comm") == "sleep\n") command = d;
          return command > 0;
        },
        5s));
    ASSERT_EQ(::kill(command, SIGSTOP), 0);
    ASSERT_TRUE(p.wait_stderr("stopped by signal 19 (SIGSTOP)\n", 5s)) << p.err();
    ASSERT_EQ(::kill(command, SIGCONT), 0);
    Result r = p.finish();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 3u) << r.err;
    EXPECT_NE(lines[1].find(" continued"), std::string::npos) << r.err;
  }
}
