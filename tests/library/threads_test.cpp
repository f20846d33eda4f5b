// The library inside a real program: many runs at once from many threads, while the
// program has a child of its own that the library must neither reap nor disturb.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rdbox/run.hpp"
#include "rdbox/seccomp.hpp"

namespace {

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 50;

rdbox::Spec sandboxed(int code, int variant) {
  rdbox::Spec s;
  static const rdbox::Mode modes[] = {rdbox::Mode::clone, rdbox::Mode::fork, rdbox::Mode::clone};
  s.mode = modes[variant % 3];
  s.vm = variant % 3 == 2;  // CLONE_VM: the stub runs in this program's memory
  s.namespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  s.hostname = "t" + std::to_string(variant);
  s.report = rdbox::ReportFormat::none;
  // PID 1 of its namespace, its own hostname, and the status we expect back.
  s.command = {"/bin/sh", "-c",
               "[ $$ = 1 ] && [ \"$(cat /proc/sys/kernel/hostname)\" = t" + std::to_string(variant) + " ] && exit " +
                   std::to_string(code)};
  return s;
}

// In a child the test forked, before it waits to be killed: it never holds the test's
// stdout or stderr (ctest reads them to EOF: a child holding them would keep ctest
// waiting after the test itself died, say of a sanitizer's abort), it dies with the test
// (PR_SET_PDEATHSIG, checked against a test already gone), and within 300 s in any case.
void bound_test_child(pid_t test) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != test) ::_exit(1);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) ::_exit(1);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
  ::close(null_fd);
  ::alarm(300);
}

// A child of the test program's own, which the library must neither reap nor disturb.
pid_t own_child() {
  pid_t test = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    bound_test_child(test);
    ::pause();
    ::_exit(0);
  }
  return pid;
}

TEST(Library, ManyThreadsManyRunsAndTheHostKeepsItsChild) {
  // The host program's own child: it must still be ours to reap at the end.
  pid_t own = own_child();
  ASSERT_GE(own, 0);
  struct sigaction chld_before {};
  ::sigaction(SIGCHLD, nullptr, &chld_before);

  std::atomic<int> wrong{0}, done_threads{0};
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        int code = (t * kRunsPerThread + i) % 200;
        rdbox::Outcome out = rdbox::run(sandboxed(code, t * kRunsPerThread + i));
        if (out.kind != rdbox::OutcomeKind::exited || out.code != code) {
          ++wrong;
          std::lock_guard<std::mutex> lock(m);
          failures.push_back("thread " + std::to_string(t) + " run " + std::to_string(i) + ": kind " +
                             rdbox::to_string(out.kind) + " code " + std::to_string(out.code) + " want " +
                             std::to_string(code) + " " + out.message);
        }
      }
      ++done_threads;
      cv.notify_all();
    });
  {
    std::unique_lock<std::mutex> lock(m);
    bool finished = cv.wait_for(lock, std::chrono::seconds(180), [&] { return done_threads == kThreads; });
    if (!finished) {
      std::fprintf(stderr, "hang: %d of %d threads finished\n", done_threads.load(), kThreads);
      ::kill(own, SIGKILL);
      std::_Exit(1);  // hung threads cannot be joined
    }
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  for (std::size_t i = 0; i < failures.size() && i < 5; ++i) ADD_FAILURE() << failures[i];

  // Nothing process-wide changed, and the host's child is still the host's.
  int subreaper = -1;
  ::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
  EXPECT_EQ(subreaper, 0) << "the library made the program a subreaper";
  struct sigaction chld_after {};
  ::sigaction(SIGCHLD, nullptr, &chld_after);
  EXPECT_EQ(chld_after.sa_handler, chld_before.sa_handler);
  ASSERT_EQ(::kill(own, 0), 0) << "the program's own child is gone";
  ASSERT_EQ(::kill(own, SIGTERM), 0);
  int status = 0;
  EXPECT_EQ(::waitpid(own, &status, 0), own) << "the library reaped the program's child";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

// The primitives whose child shares this program's memory, from many threads at once:
// vfork, clone with CLONE_VM (with and without CLONE_VFORK) and posix_spawn, whose run
// also starts the spawn guard (a CLONE_VM child) in the calling thread. Under TSan this is
// what its clone interceptor broke (docs/reliability.md).
TEST(Library, SharedMemoryPrimitivesFromManyThreads) {
  constexpr int kSharedThreads = 4, kSharedRuns = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kSharedThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSharedRuns; ++i) {
        int variant = (t + i) % 4, code = (t * kSharedRuns + i) % 100;
        rdbox::Spec s;
        s.report = rdbox::ReportFormat::none;
        s.mode = variant == 0 ? rdbox::Mode::vfork : variant == 3 ? rdbox::Mode::spawn : rdbox::Mode::clone;
        s.vm = variant == 1 || variant == 2;
        s.vfork = variant == 2;
        s.command = {"/bin/sh", "-c", "exit " + std::to_string(code)};
        rdbox::Outcome out = rdbox::run(s);
        if (out.kind != rdbox::OutcomeKind::exited || out.code != code) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Library, ACommandThatLeavesAChildBehindDoesNotTouchTheHostsChildren) {
  pid_t own = own_child();
  ASSERT_GE(own, 0);
  rdbox::Spec s;
  s.report = rdbox::ReportFormat::none;
  s.command = {"/bin/sh", "-c", "sleep 0.2 & exit 7"};
  rdbox::Outcome out = rdbox::run(s);
  EXPECT_EQ(out.kind, rdbox::OutcomeKind::exited);
  EXPECT_EQ(out.code, 7);
  ASSERT_EQ(::kill(own, SIGKILL), 0);
  int status = 0;
  EXPECT_EQ(::waitpid(own, &status, 0), own);
}

}  // namespace

namespace {

// A helper process in namespaces of its own, to be joined by path.
struct NamespaceHolder {
  pid_t pid = -1;
  explicit NamespaceHolder(const char* hostname) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return;
    pid_t test = ::getpid();
    pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      bound_test_child(test);
      if (::unshare(CLONE_NEWUTS) != 0 || ::sethostname(hostname, std::strlen(hostname)) != 0) ::_exit(1);
      char one = 1;
      if (::write(ready[1], &one, 1) != 1) ::_exit(1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char byte = 0;
    if (::read(ready[0], &byte, 1) != 1) pid = -1;
    ::close(ready[0]);
  }
  ~NamespaceHolder() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

struct TempDirForLibrary {
  std::string path;
  TempDirForLibrary() {
    char tmpl[] = "/tmp/rdbox-lib-XXXXXX";
    path = ::mkdtemp(tmpl);
    ::chmod(path.c_str(), 0755);
  }
  ~TempDirForLibrary() { std::filesystem::remove_all(path); }
};

rdbox::SandboxConfig config_running(const std::string& script) {
  rdbox::SandboxConfig c;
  rdbox::ProcessConfig p;
  p.argv = {"/bin/sh", "-c", script};
  p.env = {"PATH=/usr/bin:/bin"};
  c.processes.push_back(p);
  return c;
}

}  // namespace

TEST(Library, TheNeutralConfigRunsAndJoinsANamespaceByPath) {
  if (::geteuid() != 0) GTEST_SKIP() << "joining another process's UTS namespace needs CAP_SYS_ADMIN";
  NamespaceHolder holder("joined-by-path");
  ASSERT_GT(holder.pid, 0);
  auto c = config_running("[ \"$(cat /proc/sys/kernel/hostname)\" = joined-by-path ] && exit 3");
  c.namespaces.push_back({CLONE_NEWUTS, "/proc/" + std::to_string(holder.pid) + "/ns/uts", "uts (joined)"});
  for (rdbox::Mode mode : {rdbox::Mode::clone, rdbox::Mode::fork, rdbox::Mode::vfork}) {
    c.launch.mode = mode;
    rdbox::Outcome out = rdbox::run(c);
    EXPECT_EQ(out.kind, rdbox::OutcomeKind::exited) << out.message;
    EXPECT_EQ(out.code, 3) << "mode " << rdbox::to_string(mode);
  }
  // Errors name the field as the front end called it.
  c.namespaces.back().path = "/nonexistent/ns";
  rdbox::Outcome bad = rdbox::run(c);
  EXPECT_EQ(bad.kind, rdbox::OutcomeKind::spawn_failed);
  EXPECT_EQ(bad.message.rfind("uts (joined)", 0), 0u) << bad.message;
  c.namespaces.back() = {CLONE_NEWPID, "/proc/1/ns/pid", "linux.namespaces[0]"};
  EXPECT_NE(rdbox::run(c).message.find("linux.namespaces[0]"), std::string::npos);
}

TEST(Library, ATimeLimitEndsTheWholeSandbox) {
  auto c = config_running("sleep 30");
  c.timeout.seconds = 0.3;
  auto t0 = std::chrono::steady_clock::now();
  rdbox::Outcome out = rdbox::run(c);
  EXPECT_EQ(out.kind, rdbox::OutcomeKind::timeout) << out.message;
  EXPECT_EQ(out.signal, SIGTERM);
  EXPECT_EQ(out.exit_code(), 124);
  // PID 1 of its namespace ignores SIGTERM: SIGKILL follows after kill_after.
  auto p1 = config_running("trap '' TERM; sleep 30; exit 3");
  p1.namespaces = {{CLONE_NEWUSER, "", "user"}, {CLONE_NEWPID, "", "pid"}};
  p1.timeout.seconds = 0.2;
  p1.timeout.kill_after = 0.3;
  rdbox::Outcome k = rdbox::run(p1);
  EXPECT_EQ(k.kind, rdbox::OutcomeKind::timeout) << k.message;
  EXPECT_EQ(k.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(Library, CapabilitySetsAndNoNewPrivsAreWhatWasAsked) {
  std::uint64_t set = (std::uint64_t{1} << rdbox::capability_number("CHOWN")) |
                      (std::uint64_t{1} << rdbox::capability_number("cap_kill"));
  ASSERT_EQ(set, 0x21u);
  auto c = config_running(
      "grep -q '^CapEff:[[:space:]]*0000000000000021$' /proc/self/status && "
      "grep -q '^CapBnd:[[:space:]]*0000000000000021$' /proc/self/status && "
      "grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status && exit 7");
  c.namespaces = {{CLONE_NEWUSER, "", "user"}};
  c.processes[0].caps = rdbox::CapabilitySets{set, set, set, set, 0};
  c.processes[0].no_new_privs = true;
  for (rdbox::Mode mode : {rdbox::Mode::clone, rdbox::Mode::fork}) {
    c.launch.mode = mode;
    rdbox::Outcome out = rdbox::run(c);
    EXPECT_EQ(out.code, 7) << rdbox::to_string(mode) << " " << out.message;
  }
  EXPECT_EQ(rdbox::capability_number("NOPE"), -1);
  EXPECT_EQ(rdbox::capability_number("ALL"), -2);
  EXPECT_EQ(rdbox::capability_name(12), "CAP_NET_ADMIN");
}

TEST(Library, AmbientCapabilitiesSurviveASwitchToAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "--user 65534 needs a map that covers it (root here)";
  std::uint64_t nbs = std::uint64_t{1} << rdbox::capability_number("NET_BIND_SERVICE");
  auto c = config_running("[ $(id -u) = 65534 ] && grep -q '^CapEff:[[:space:]]*0000000000000400$' /proc/self/status && exit 9");
  c.processes[0].user = rdbox::UserIds{65534, 65534};
  c.processes[0].caps = rdbox::CapabilitySets{nbs, nbs, nbs, nbs, nbs};
  rdbox::Outcome out = rdbox::run(c);
  EXPECT_EQ(out.code, 9) << out.message;
}

TEST(Library, ResourceLimitsAreSetAndAHardLimitIsNeverRaised) {
  auto c = config_running("[ $(ulimit -n) = 77 ] && [ $(ulimit -Hn) = 99 ] && exit 4");
  c.processes[0].rlimits = {{rdbox::rlimit_number("nofile"), 77, 99}};
  rdbox::Outcome out = rdbox::run(c);
  EXPECT_EQ(out.code, 4) << out.message;
  struct rlimit cur {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &cur), 0);
  if (cur.rlim_max != RLIM_INFINITY) {
    c.processes[0].rlimits = {{RLIMIT_NOFILE, 10, cur.rlim_max + 1}};
    rdbox::Outcome refused = rdbox::run(c);
    EXPECT_EQ(refused.kind, rdbox::OutcomeKind::spawn_failed);
    EXPECT_NE(refused.message.find("CAP_SYS_RESOURCE"), std::string::npos) << refused.message;
  }
  EXPECT_EQ(rdbox::rlimit_number("RLIMIT_AS"), RLIMIT_AS);
  EXPECT_EQ(rdbox::rlimit_number("bogus"), -1);
}

TEST(Library, MaskedAndReadOnlyPathsAsOciHasThem) {
  TempDirForLibrary dir;
  std::string d = dir.path;
  ASSERT_EQ(::mkdir((d + "/secretdir").c_str(), 0755), 0);
  { std::FILE* f = std::fopen((d + "/secretdir/key").c_str(), "w"); std::fputs("k", f); std::fclose(f); }
  { std::FILE* f = std::fopen((d + "/secretfile").c_str(), "w"); std::fputs("s", f); std::fclose(f); }
  ASSERT_EQ(::mkdir((d + "/ro").c_str(), 0755), 0);
  auto c = config_running("[ -z \"$(ls " + d + "/secretdir)\" ] && [ -z \"$(cat " + d + "/secretfile)\" ] && ! touch " + d +
                          "/ro/x 2>/dev/null && ! touch " + d + "/secretdir/y 2>/dev/null && exit 6");
  c.namespaces = {{CLONE_NEWUSER, "", "user"}, {CLONE_NEWNS, "", "mnt"}};
  auto entry = [](rdbox::MountType t, const std::string& dst) {
    rdbox::MountEntry e;
    e.type = t;
    e.destination = dst;
    e.origin = "test";
    return e;
  };
  c.mounts = {entry(rdbox::MountType::mask, d + "/secretdir"), entry(rdbox::MountType::mask, d + "/secretfile"),
              entry(rdbox::MountType::mask, d + "/does-not-exist"), entry(rdbox::MountType::readonly, d + "/ro"),
              entry(rdbox::MountType::readonly, d + "/neither")};
  rdbox::Outcome out = rdbox::run(c);
  EXPECT_EQ(out.code, 6) << out.message;
}

TEST(Library, ASeccompProfileDeniesWhatItNames) {
  // A profile of one's own (docker's format): mkdir denied with EPERM, the rest allowed.
  TempDirForLibrary dir;
  auto c = config_running("mkdir " + dir.path + "/x 2>&1 | grep -q 'not permitted' && ! test -d " + dir.path +
                          "/x && exit 8");
  c.processes[0].no_new_privs = true;  // an unprivileged filter needs it
  c.seccomp_profile = R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})";
  c.seccomp_name = "test";
  rdbox::Outcome out = rdbox::run(c);
  EXPECT_EQ(out.code, 8) << out.message;
  // rdbox's default: the kernel keyring, mounts and new namespaces are refused.
  auto d = config_running("! keyctl show >/dev/null 2>&1; unshare -U true 2>/dev/null && exit 1; exit 9");
  d.processes[0].no_new_privs = true;
  // What this process holds, but CAP_SYS_ADMIN (which the profile's conditional rules would honour).
  struct __user_cap_header_struct h {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct held[2] {};
  ASSERT_EQ(::syscall(SYS_capget, &h, held), 0);
  std::uint64_t all_but_sys_admin =
      (held[0].permitted | (std::uint64_t{held[1].permitted} << 32)) & ~(std::uint64_t{1} << CAP_SYS_ADMIN);
  if (all_but_sys_admin)  // unprivileged, without a user namespace, there is nothing to drop
    d.processes[0].caps = rdbox::CapabilitySets{all_but_sys_admin, all_but_sys_admin, all_but_sys_admin, 0, 0};
  d.seccomp_profile = std::string(rdbox::default_seccomp_profile());
  d.seccomp_name = "default";
  rdbox::Outcome dout = rdbox::run(d);
  EXPECT_EQ(dout.code, 9) << dout.message;
  // A bad profile is one clear error naming the field.
  c.seccomp_profile = R"({"defaultAction": "SCMP_ACT_NOPE"})";
  rdbox::Outcome bad = rdbox::run(c);
  EXPECT_EQ(bad.kind, rdbox::OutcomeKind::spawn_failed);
  EXPECT_NE(bad.message.find("defaultAction"), std::string::npos) << bad.message;
  c.seccomp_profile = "{not json";
  EXPECT_EQ(rdbox::run(c).kind, rdbox::OutcomeKind::spawn_failed);
}
