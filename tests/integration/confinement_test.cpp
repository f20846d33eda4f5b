// Issue 9: a --rootfs run is a container and holds (podman's capability set, no_new_privs,
// the default seccomp filter, masked and read-only /proc, a PID namespace and a session
// keyring of its own, bounded tmpfs); --privileged gives the old behaviour back; the
// report says what the command held, read from inside; cgroups limit and are removed.
// Each escape the security review found is performed here and must fail by default.
// Root and rootless (tests/rootless.sh).
#include <dirent.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "sandbox_helpers.hpp"

#ifndef RDBOX_ATTACK
#define RDBOX_ATTACK ""
#endif

using namespace itest;

namespace {

class Confinement : public RdboxTest {};

// podman's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE SYS_CHROOT SETFCAP.
constexpr const char* kDefaultCaps = "00000000800405fb";

std::string status_script() {
  return "grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; echo pid=$$";
}

// --rootfs R plus the attack helper at /tmp/attack (a tmpfs layer of the run's own: nothing
// is created in the rootfs).
std::vector<std::string> container(std::vector<std::string> before, const std::vector<std::string>& command) {
  std::vector<std::string> args = with_priv({"run"});
  args.insert(args.end(), before.begin(), before.end());
  for (const char* a : {"--rootfs"}) args.push_back(a);
  args.push_back(rootfs());
  for (std::string a : {std::string("--tmpfs"), std::string("/tmp"), std::string("--ro-bind"),
                        std::string(RDBOX_ATTACK) + ":/tmp/attack", std::string("--")})
    args.push_back(a);
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

bool can_make_cgroups() {
  if (!is_root()) return false;
  Result r = run({"run", "--pids", "100", "--", "/bin/true"});
  return r.exit_code == 0;
}

TEST_F(Confinement, ContainerDefaultsHoldInEveryModeThatCanMakeThem) {
  REQUIRE_ROOTFS();
  for (const auto& mode : std::vector<std::vector<std::string>>{
           {"--mode", "fork"}, {"--mode", "clone"}, {"--vm"}, {"--vm", "--vfork"}}) {
    Result r = run(container(mode, sh(status_script())));
    EXPECT_EQ(r.exit_code, 0) << mode[0] << " " << r.err;
    EXPECT_EQ(r.out, std::string("CapEff:\t") + kDefaultCaps + "\nCapBnd:\t" + kDefaultCaps +
                         "\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\npid=1\n")
        << mode.back() << " " << r.err;
  }
}

TEST_F(Confinement, VforkCannotMakeAContainerAndSaysWhy) {
  REQUIRE_ROOTFS();
  Result r = run({"run", "--mode", "vfork", "--rootfs", rootfs(), "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("--rootfs (a container gets a new PID namespace; --privileged keeps the host's)"),
            std::string::npos) << r.err;
  EXPECT_EQ(split_lines(r.err).size(), 1u) << r.err;
}

TEST_F(Confinement, PrivilegedGivesEveryCapabilityAndNoFilter) {
  REQUIRE_ROOTFS();
  std::string own_bounding;
  for (const auto& l : split_lines(read_text("/proc/self/status")))
    if (l.rfind("CapBnd:", 0) == 0) own_bounding = l.substr(8);
  if (!is_root()) {
    // A new user namespace starts with every capability the kernel has.
    int last = std::stoi(read_text("/proc/sys/kernel/cap_last_cap"));
    char full[32];
    std::snprintf(full, sizeof full, "%016llx", (1ULL << (last + 1)) - 1);
    own_bounding = full;
  }
  Result r = run(container({"--privileged"}, sh(status_script())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CapBnd:\t" + own_bounding), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t0\nSeccomp:\t0\n"), std::string::npos) << r.out;
  // The rubber-docker lesson of a shared PID namespace is available again.
  EXPECT_EQ(r.out.find("pid=1\n"), std::string::npos) << r.out;
}

TEST_F(Confinement, TheReviewsEscapesFailByDefault) {
  REQUIRE_ROOTFS();
  // A mount, a remount of the read-only root and of /sys, a host sysctl, a device node for
  // a disk, the kernel log, undoing a bind.
  std::string script =
      "mount -t tmpfs x /mnt 2>/dev/null && echo mount; "
      "mount -o remount,rw / 2>/dev/null && echo remount; "
      "mount -o remount,rw /sys 2>/dev/null && echo sysfs; "
      "(exec 3>>/proc/sys/kernel/core_pattern) 2>/dev/null && echo sysctl; "
      "mknod /vda b 254 0 2>/dev/null && echo mknod; "
      "[ -c /proc/kmsg ] && echo kmsg-masked; "
      "umount /tmp/attack 2>/dev/null && echo umount; true";
  Result r = run(container({"--overlay", "--read-only"}, sh(script)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "kmsg-masked\n") << r.err;
  // A file handle of the root (a bind of the host's filesystem) opened past the mount namespace.
  Result h = run(container({}, sh("/tmp/attack handle; true")));
  EXPECT_EQ(h.out, "EPERM\n") << h.err;
  if (is_root()) {
    // The same attacks with --privileged: they work (which is why it is not the default).
    Result p = run(container({"--privileged", "--overlay", "--read-only"}, sh(script)));
    EXPECT_EQ(p.out, "mount\nremount\nsysfs\nsysctl\nmknod\numount\n") << p.err;
    Result ph = run(container({"--privileged"}, sh("/tmp/attack handle; true")));
    EXPECT_EQ(ph.out, "ok\n") << ph.err;
  }
}

TEST_F(Confinement, TheCallersTerminalCannotBeTyped) {
  REQUIRE_ROOTFS();
  // stdin is /dev/null: without the rule the kernel says ENOTTY, with it seccomp says EPERM
  // before the terminal is looked at; the request's upper 32 bits do not get past it.
  Result r = run(container({}, sh("/tmp/attack tiocsti; /tmp/attack tiocsti high; true")));
  EXPECT_EQ(r.out, "EPERM\nEPERM\n") << r.err;
  Result u = run(container({"--seccomp", "unconfined"}, sh("/tmp/attack tiocsti; true")));
  EXPECT_EQ(u.out, "ENOTTY\n") << u.err;
}

TEST_F(Confinement, TheCallersKeysAreOutOfReach) {
  REQUIRE_ROOTFS();
  // The caller holds a key in its session keyring; the container gets a keyring of its
  // own (and, with the default filter, no keyctl at all).
  auto with_key = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--", RDBOX_ATTACK, "with-key", rdbox_binary()});
    return args;
  };
  std::string read = "/tmp/attack readkey $RDBOX_TEST_KEY; true";
  Result d = run(with_key(container({}, sh(read))));
  EXPECT_EQ(d.out, "EPERM\n") << d.err;
  Result u = run(with_key(container({"--seccomp", "unconfined"}, sh(read))));
  EXPECT_EQ(u.out, "EACCES\n") << u.err;
  Result p = run(with_key(container({"--privileged"}, sh(read))));
  EXPECT_EQ(p.out, "secret\n") << p.err;
}

TEST_F(Confinement, AUserGetsNoCapabilitiesAndNoNewPrivileges) {
  REQUIRE_ROOTFS();
  if (!is_root()) GTEST_SKIP() << "uid 1000 is not mapped in a rootless run's one-id user namespace";
  Result r = run(container({"--user", "1000"}, sh(status_script())));
  EXPECT_EQ(r.out, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n"
                   "NoNewPrivs:\t1\nSeccomp:\t2\npid=1\n") << r.err;
  // Added capabilities survive the switch through the ambient set.
  Result a = run(container({"--user", "1000", "--cap-add", "net_bind_service"}, sh(status_script())));
  EXPECT_EQ(a.out, "CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000400\n"
                   "NoNewPrivs:\t1\nSeccomp:\t2\npid=1\n") << a.err;
}

TEST_F(Confinement, ASetuidBinaryInTheImageGivesNoRootBackToAUser) {
  REQUIRE_ROOTFS();
  if (!is_root()) GTEST_SKIP() << "a setuid-root file needs root to make, and uid 1000 a mapping";
  // An image of our own holding a setuid-root program: what an untrusted image can hold.
  TempDir img;
  for (const char* d : {"/bin", "/proc", "/dev", "/sys", "/tmp"}) ASSERT_EQ(::mkdir((img.path() + d).c_str(), 0755), 0);
  ASSERT_EQ(run({"run", "--", "/bin/cp", RDBOX_ATTACK, img.path() + "/bin/attack"}).exit_code, 0);
  ASSERT_EQ(::chmod((img.path() + "/bin/attack").c_str(), 04755), 0);
  std::vector<std::string> args{"run", "--rootfs", img.path(), "--user", "1000", "--", "/bin/attack", "euid"};
  Result r = run(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1000\n") << "the setuid bit gave root back";
  // --privileged: the same program does get euid 0 (the attack is real).
  args.insert(args.begin() + 1, "--privileged");
  Result p = run(args);
  EXPECT_EQ(p.out, "0\n") << p.err;
}

TEST_F(Confinement, MountsAreNosuidNodevAndTmpfsIsBounded) {
  REQUIRE_ROOTFS();
  std::string script =
      "grep -E ' /(tmp|dev/shm|dev) ' /proc/self/mountinfo | while read -r a b c d e f rest; do "
      "case $f in *nosuid*nodev*) echo \"$e ok\";; *) echo \"$e $f\";; esac; done; "
      "dd if=/dev/zero of=/tmp/big bs=1M count=3 2>/dev/null || echo tmpfs-full";
  Result r = run(container({"--tmpfs", "/mnt:size=2M"},
                           sh(script + "; dd if=/dev/zero of=/mnt/big bs=1M count=3 2>/dev/null || echo small-full")));
  EXPECT_NE(r.out.find("/tmp ok\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/shm ok\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev ok\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tmpfs-full"), std::string::npos) << r.out;  // 64M by default
  EXPECT_NE(r.out.find("small-full"), std::string::npos) << r.out;
  Result df = run(container({}, sh("df -k /dev/shm /tmp | tail -n 2 | while read a b rest; do echo $b; done")));
  EXPECT_EQ(df.out, "65536\n65536\n") << df.err;
}

TEST_F(Confinement, TheReportSaysWhatTheCommandHeldReadInside) {
  REQUIRE_ROOTFS();
  Result r = run(container({"--report", "json", "--rlimit", "nofile=64:128", "--cap-drop", "kill"}, {"/bin/true"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  const auto& c = (*j)["confinement"];
  EXPECT_EQ(c["profile"], "container");
  EXPECT_EQ(c["probed"], true);
  EXPECT_EQ(c["no_new_privs"], true);
  EXPECT_EQ(c["seccomp"]["mode"], "filter");
  EXPECT_EQ(c["seccomp"]["profile"], "default");
  auto eff = c["capabilities"]["effective"].get<std::vector<std::string>>();
  EXPECT_EQ(eff.size(), 10u) << c.dump();
  EXPECT_EQ(std::find(eff.begin(), eff.end(), "CAP_KILL"), eff.end());
  EXPECT_NE(std::find(eff.begin(), eff.end(), "CAP_CHOWN"), eff.end());
  EXPECT_EQ(c["rlimits"]["NOFILE"]["soft"], 64);
  EXPECT_EQ(c["rlimits"]["NOFILE"]["hard"], 128);
  Result p = run(container({"--report", "json", "--privileged"}, {"/bin/true"}));
  auto pj = report_json(p);
  ASSERT_TRUE(pj);
  EXPECT_EQ((*pj)["confinement"]["profile"], "privileged");
  EXPECT_EQ((*pj)["confinement"]["seccomp"]["mode"], "disabled");
  // Without --rootfs nothing changes unless asked.
  Result h = run({"run", "--report", "json", "--", "/bin/true"});
  auto hj = report_json(h);
  ASSERT_TRUE(hj);
  EXPECT_EQ((*hj)["confinement"]["profile"], "host");
  EXPECT_EQ((*hj)["confinement"]["no_new_privs"], false);
}

TEST_F(Confinement, BadInputIsOneLineAnd125) {
  std::set<pid_t> pids;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--memory", "0", "--", "true"},
           {"run", "--memory", "-5M", "--", "true"},
           {"run", "--memory", "99999999999G", "--", "true"},
           {"run", "--memory-swap", "1G", "--", "true"},
           {"run", "--memory", "1G", "--memory-swap", "512M", "--", "true"},
           {"run", "--pids", "0", "--", "true"},
           {"run", "--cpus", "0", "--", "true"},
           {"run", "--cpus", "x", "--", "true"},
           {"run", "--cpu-weight", "0", "--", "true"},
           {"run", "--cpu-shares", "1", "--", "true"},
           {"run", "--cgroup-parent", "a/../b", "--", "true"},
           {"run", "--cgroup-parent", "does-not-exist-here", "--", "true"},
           {"run", "--mode", "spawn", "--pids", "5", "--", "true"},
           {"run", "--tmpfs", "/x:size=0", "--", "true"},
           {"run", "--tmpfs", "/x:mode=9", "--", "true"},
           {"run", "--tmpfs", "/x:size=1M,size=2M", "--", "true"},
           {"run", "--tmpfs", "/x:bogus", "--", "true"},
           {"run", "--tmpfs", "/x:", "--", "true"},
       }) {
    Result r = run(args);
    EXPECT_EQ(r.exit_code, 125) << join(args, " ") << ": " << r.err;
    EXPECT_EQ(split_lines(r.err).size(), 1u) << join(args, " ") << ": " << r.err;
    pids.insert(r.pid);
  }
  EXPECT_EQ(leftover_cgroups(pids), std::vector<std::string>{});
}

TEST_F(Confinement, RootlessCgroupsAreRefusedNotIgnored) {
  if (is_root()) GTEST_SKIP() << "rootless only";
  Result r = run({"run", "--memory", "64M", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("cgroup"), std::string::npos) << r.err;
  EXPECT_EQ(split_lines(r.err).size(), 1u) << r.err;
}

TEST_F(Confinement, MemoryLimitEndsInAnOomKillThatIsReported) {
  if (!can_make_cgroups()) GTEST_SKIP() << "no writable cgroup here (root only)";
  std::set<pid_t> pids;
  for (const auto& mode : std::vector<std::string>{"fork", "vfork", "clone"}) {
    Result r = run({"run", "--mode", mode, "--report", "json", "--memory", "32M", "--memory-swap", "32M", "--",
                    "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M count=1"});
    EXPECT_EQ(r.exit_code, 137) << mode << r.err;
    auto j = report_json(r);
    ASSERT_TRUE(j) << r.err;
    EXPECT_EQ((*j)["cgroup"]["oom_killed"], true) << mode << (*j)["cgroup"].dump();
    EXPECT_TRUE((*j)["cgroup"]["memory_peak_bytes"].is_number()) << (*j)["cgroup"].dump();
    pids.insert(r.pid);
  }
  Result t = run({"run", "--memory", "32M", "--memory-swap", "32M", "--", "/bin/sh", "-c",
                  "dd if=/dev/zero of=/dev/null bs=100M count=1"});
  EXPECT_NE(t.err.find("(out of memory)"), std::string::npos) << t.err;
  pids.insert(t.pid);
  EXPECT_EQ(leftover_cgroups(pids), std::vector<std::string>{});
}

TEST_F(Confinement, AForkBombStopsAtThePidsLimitAndIsCleanedUp) {
  if (!can_make_cgroups()) GTEST_SKIP() << "no writable cgroup here (root only)";
  REQUIRE_ROOTFS();
  RunOptions o;
  o.timeout = 20s;
  // Each shell forks two more until the limit; the command returns. In a container the
  // PID namespace ends with its PID 1; without one, rdbox (their subreaper) and the cgroup
  // end the rest. The fixture checks that no process outlives the test.
  std::string bomb = "b() { b & b & sleep 30; }; b & sleep 1; echo done";
  std::set<pid_t> pids;
  for (bool in_container : {true, false}) {
    std::vector<std::string> args{"run", "--report", "json", "--pids", "20"};
    if (in_container) args.insert(args.end(), {"--rootfs", rootfs()});
    args.insert(args.end(), {"--", "/bin/sh", "-c", bomb});
    Result r = run(args, o);
    // The top shell's own fork may be the one refused (exit 2): either way the run ends.
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.exit_code << r.err;
    EXPECT_FALSE(r.timed_out);
    auto j = report_json(r);
    ASSERT_TRUE(j) << r.err;
    EXPECT_EQ((*j)["cgroup"]["pids_limit_hit"], true) << (*j)["cgroup"].dump();
    if ((*j)["cgroup"]["pids_peak"].is_number()) {
      EXPECT_LE((*j)["cgroup"]["pids_peak"].get<int>(), 20);
    }
    EXPECT_TRUE((*j)["cgroup"]["killed_leftovers"].is_number());
    pids.insert(r.pid);
  }
  EXPECT_EQ(leftover_cgroups(pids), std::vector<std::string>{});
}

TEST_F(Confinement, CpuLimitsAreWrittenWhereTheControllerLives) {
  if (!can_make_cgroups()) GTEST_SKIP() << "no writable cgroup here (root only)";
  // The command reads its own cgroup's cpu files (v1 on a hybrid host, v2 in the VM suite).
  Result r = run({"run", "--cpus", "0.5", "--cpu-shares", "512", "--", "/bin/sh", "-c",
                  "for l in $(cat /proc/self/cgroup); do case $l in *:cpu:*|*:cpu,*) p=${l##*:};"
                  "cat /sys/fs/cgroup/cpu$p/cpu.cfs_quota_us /sys/fs/cgroup/cpu$p/cpu.shares;; esac; done"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (!r.out.empty()) {
    EXPECT_EQ(r.out, "50000\n512\n");
  }
  EXPECT_EQ(leftover_cgroups({r.pid}), std::vector<std::string>{});
}

}  // namespace
