// rdbox as an OCI runtime, driven the way engines drive runc: the real build/rdbox, a
// busybox bundle, a private --root. Runs as root and again as uid 65534 (the bundle then
// has a user namespace, as `rdbox spec --rootless` writes it). These are rdbox's own
// tests of what runtime-tools' validation suite and the engines check (CI cannot fetch
// runtime-tools): the lifecycle and its states, exit codes, the pid file, exec, hooks,
// and one error line with exit 1 and nothing left behind for bad input.
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "sandbox_helpers.hpp"

using namespace itest;
using json = nlohmann::json;

namespace {

class Oci : public RdboxTest {
 protected:
  TempDir tmp;
  std::string root() const { return tmp / "state"; }

  // A bundle whose process runs `args`; `edit` may change the config before it is written.
  std::string bundle(const std::vector<std::string>& args, const std::function<void(json&)>& edit = {}) {
    std::string dir = tmp.mkdir("bundle" + std::to_string(++bundles_));
    json c;
    c["ociVersion"] = "1.0.2";
    c["root"] = {{"path", rootfs()}, {"readonly", true}};
    c["hostname"] = "ocibox";
    json caps = {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"};
    c["process"] = {{"terminal", false},
                    {"user", {{"uid", 0}, {"gid", 0}}},
                    {"args", args},
                    {"env", {"PATH=/bin:/sbin:/usr/bin", "TERM=xterm"}},
                    {"cwd", "/"},
                    {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                    {"noNewPrivileges", true}};
    json mounts = json::array();
    mounts.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}});
    mounts.push_back({{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                      {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
    mounts.push_back({{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
                      {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}});
    mounts.push_back({{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
                      {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}});
    if (is_root())
      mounts.push_back({{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
                        {"options", {"nosuid", "noexec", "nodev", "ro"}}});
    else
      mounts.push_back({{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
                        {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}});
    c["mounts"] = mounts;
    json ns = json::array();
    for (const char* n : {"pid", "ipc", "uts", "mount"}) ns.push_back({{"type", n}});
    if (!is_root()) {
      ns.push_back({{"type", "user"}});
      c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}};
      c["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}};
    } else {
      ns.push_back({{"type", "network"}});
    }
    c["linux"]["namespaces"] = ns;
    c["linux"]["maskedPaths"] = {"/proc/kcore", "/proc/keys", "/proc/nonexistent"};
    c["linux"]["readonlyPaths"] = {"/proc/sys"};
    if (edit) edit(c);
    std::ofstream(dir + "/config.json") << c.dump(2);
    return dir;
  }

  std::vector<std::string> oci(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root()});
    return args;
  }

  // create: the container keeps rdbox's stdio, so it gets files here (a pipe would keep
  // the harness waiting for EOF); rdbox's error line goes to err.txt as well.
  Result create(const std::string& id, const std::string& b, std::vector<std::string> extra = {}) {
    RunOptions o;
    int out = ::open((tmp / (id + ".out")).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    o.stdout_fd = out;
    o.stderr_fd = out;
    std::vector<std::string> args{"create", "--bundle", b};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    Result r = run(oci(args), o);
    ::close(out);
    r.err = read_text(tmp / (id + ".out"));
    return r;
  }

  json state(const std::string& id) {
    Result r = run(oci({"state", id}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = parse_json(r.out);
    return j ? *j : json();
  }

  std::string container_out(const std::string& id) { return read_text(tmp / (id + ".out")); }

  bool state_dir_exists(const std::string& id) { return file_exists(root() + "/" + id); }

  void SetUp() override {
    RdboxTest::SetUp();
    if (rootfs().empty()) GTEST_SKIP() << "no rootfs: run scripts/make-rootfs.sh (busybox-static)";
  }

 private:
  int bundles_ = 0;
};

}  // namespace

TEST_F(Oci, RunPassesTheExitStatusAndOutput) {
  std::string b = bundle({"sh", "-c", "echo \"hi from $(hostname) as $$\"; exit 7"});
  Result r = run(oci({"run", "--bundle", b, "r1"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "hi from ocibox as 1\n");
  EXPECT_FALSE(state_dir_exists("r1"));
  // runc's short form, and no global option at all (the default root): still the OCI
  // run, not the command line's.
  Result s = run({"run", "-b", b, "rdbox-itest-" + std::to_string(::getpid())});
  EXPECT_EQ(s.exit_code, 7) << s.err;
  EXPECT_EQ(s.out, "hi from ocibox as 1\n");
}

TEST_F(Oci, RunKeepsTheCommandLineMeaning) {
  Result r = run({"run", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("exited with status 3"), std::string::npos) << r.err;
}

TEST_F(Oci, LifecycleCreateStartKillDelete) {
  std::string b = bundle({"sh", "-c", "echo started; exec sleep 30"});
  std::string pid_file = tmp / "c.pid";
  Result c = create("c1", b, {"--pid-file", pid_file});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(file_exists(pid_file));
  int pid = std::stoi(read_text(pid_file));
  json s = state("c1");
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["pid"], pid);
  EXPECT_EQ(s["id"], "c1");
  EXPECT_EQ(s["bundle"], b);
  EXPECT_TRUE(s["ociVersion"].is_string());
  EXPECT_TRUE(s["created"].is_string());
  EXPECT_TRUE(s["annotations"].is_object());
  EXPECT_EQ(container_out("c1"), "") << "the process ran before start";
  EXPECT_TRUE(alive(pid));

  Result st = run(oci({"start", "c1"}));
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_TRUE(wait_until([&] { return container_out("c1") == "started\n"; }, 5s)) << container_out("c1");
  EXPECT_EQ(state("c1")["status"], "running");
  Result again = run(oci({"start", "c1"}));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err_lines().size(), 1u) << again.err;

  Result d = run(oci({"delete", "c1"}));
  EXPECT_EQ(d.exit_code, 1) << "a running container is not deleted without --force";
  EXPECT_TRUE(alive(pid));

  Result k = run(oci({"kill", "c1", "9"}));
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 5s));
  EXPECT_EQ(state("c1")["status"], "stopped");
  Result k2 = run(oci({"kill", "c1", "KILL"}));
  EXPECT_EQ(k2.exit_code, 1) << "a stopped container cannot be signalled";
  EXPECT_EQ(run(oci({"kill", "--all", "c1", "SIGKILL"})).exit_code, 0) << "as runc: --all of a stopped one is no error";
  Result del = run(oci({"delete", "c1"}));
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_FALSE(state_dir_exists("c1"));
  // containerd's cleanup deletes once more with --force: no error.
  EXPECT_EQ(run(oci({"delete", "--force", "c1"})).exit_code, 0);
  Result gone = run(oci({"delete", "c1"}));
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("\"c1\": does not exist"), std::string::npos) << gone.err;
}

TEST_F(Oci, SignalsByNameAndNumberReachACreatedAndARunningContainer) {
  std::string b = bundle({"sh", "-c", "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.05; done"});
  ASSERT_EQ(create("s1", b).exit_code, 0);
  int pid = state("s1")["pid"];
  ASSERT_EQ(run(oci({"start", "s1"})).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return container_out("s1") == "ready\n"; }, 5s));
  EXPECT_EQ(run(oci({"kill", "s1", "USR1"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return container_out("s1").find("got USR1") != std::string::npos; }, 5s));
  for (const char* bad : {"FOO", "0", "65", "SIG", ""}) {
    Result r = run(oci({"kill", "s1", bad}));
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  }
  EXPECT_EQ(run(oci({"kill", "s1", "SIGKILL"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 5s));
  EXPECT_EQ(run(oci({"delete", "s1"})).exit_code, 0);

  // A container still blocked before its process ends on SIGKILL. (SIGTERM it ignores,
  // as any PID 1 of a namespace without a handler for it does.)
  ASSERT_EQ(create("s2", b).exit_code, 0);
  int pid2 = state("s2")["pid"];
  EXPECT_EQ(run(oci({"kill", "s2", "9"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !alive(pid2); }, 5s));
  EXPECT_EQ(state("s2")["status"], "stopped");
  EXPECT_EQ(run(oci({"delete", "s2"})).exit_code, 0);
}

TEST_F(Oci, DeleteForceEndsARunningContainer) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("f1", b).exit_code, 0);
  int pid = state("f1")["pid"];
  ASSERT_EQ(run(oci({"start", "f1"})).exit_code, 0);
  Result d = run(oci({"delete", "--force", "f1"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 5s));
  EXPECT_FALSE(state_dir_exists("f1"));
}

TEST_F(Oci, ACreatedContainerIsDeletedWithoutForce) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("d1", b).exit_code, 0);
  int pid = state("d1")["pid"];
  Result d = run(oci({"delete", "d1"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 5s));
  EXPECT_FALSE(state_dir_exists("d1"));
}

TEST_F(Oci, DuplicateAndConcurrentCreatesOfOneId) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("dup", b).exit_code, 0);
  int pid = state("dup")["pid"];
  Result again = create("dup", b);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;
  EXPECT_EQ(state("dup")["pid"], pid) << "the first container is untouched";
  EXPECT_EQ(run(oci({"delete", "--force", "dup"})).exit_code, 0);

  // Four creates of one ID at once: exactly one container.
  std::vector<Process> ps;
  for (int i = 0; i < 4; ++i) {
    RunOptions o;
    int fd = ::open((tmp / "race.out").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    o.stdout_fd = o.stderr_fd = fd;
    ps.push_back(Process::start(oci({"create", "--bundle", b, "race"}), o));
    ::close(fd);
  }
  int ok = 0;
  for (auto& p : ps) ok += p.finish().exit_code == 0;
  EXPECT_EQ(ok, 1) << read_text(tmp / "race.out");
  EXPECT_EQ(state("race")["status"], "created");
  EXPECT_EQ(run(oci({"delete", "--force", "race"})).exit_code, 0);
}

TEST_F(Oci, BadInputIsOneLineExitOneAndNothingLeft) {
  std::string good = bundle({"true"});
  std::string not_json = tmp.mkdir("notjson");
  std::ofstream(not_json + "/config.json") << "{\"ociVersion\": ";
  std::string no_root = bundle({"true"}, [](json& c) { c.erase("root"); });
  std::string bad_mount = bundle({"true"}, [](json& c) {
    c["mounts"].push_back({{"destination", "/x"}, {"type", "ext4"}, {"source", "/dev/sda"}});
  });
  std::string bad_cap_type = bundle({"true"}, [](json& c) { c["process"]["capabilities"]["bounding"] = "CAP_KILL"; });
  std::string no_args = bundle({}, {});
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"create", "--bundle", tmp / "nosuch", "e1"}, "nosuch"},
      {{"create", "--bundle", not_json, "e2"}, "not valid JSON"},
      {{"create", "--bundle", no_root, "e3"}, "root"},
      {{"create", "--bundle", bad_mount, "e4"}, "mounts[5].type"},
      {{"create", "--bundle", bad_cap_type, "e5"}, "process.capabilities.bounding"},
      {{"create", "--bundle", no_args, "e6"}, "process.args"},
      {{"create", "--bundle", good, "bad/id"}, "container ID"},
      {{"create", "--bundle", good, "--bogus", "e7"}, "--bogus"},
      {{"create", "--bundle", good}, "container ID"},
      {{"start", "nosuch"}, "does not exist"},
      {{"state", "nosuch"}, "does not exist"},
      {{"kill", "nosuch", "KILL"}, "does not exist"},
      {{"exec", "nosuch", "true"}, "does not exist"},
      {{"pause", "nosuch"}, "does not exist"},
      {{"resume", "nosuch"}, "does not exist"},
      {{"update", "--memory", "1M", "nosuch"}, "does not exist"},
      {{"update", "nosuch"}, "nothing to change"},
      {{"events", "nosuch"}, "not supported"},
  };
  for (const auto& c : cases) {
    Result r = run(oci(c.args));
    EXPECT_EQ(r.exit_code, 1) << join(c.args, " ") << ": " << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << join(c.args, " ") << ": " << r.err;
    EXPECT_EQ(r.err.rfind("rdbox: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << join(c.args, " ") << ": " << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(run(oci({"list", "-q"})).out.empty()) << "a failed create leaves no state";
  // A state directory that cannot be made.
  Result unwritable = run({"--root", "/proc/rdbox-nope", "create", "--bundle", good, "e8"});
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_EQ(unwritable.err_lines().size(), 1u) << unwritable.err;
}

TEST_F(Oci, JsonLogHoldsTheErrorAndUnknownGlobalFlagsAreTolerated) {
  std::string log = tmp / "log.json";
  Result r = run({"--root", root(), "--log", log, "--log-format", "json", "--some-new-flag", "create", "--bundle",
                  tmp / "nosuch", "x"});
  EXPECT_EQ(r.exit_code, 1);
  std::string text = read_text(log);
  auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 1u) << text;
  auto j = parse_json(lines[0]);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["level"], "error");
  EXPECT_NE((*j)["msg"].get<std::string>().find("nosuch"), std::string::npos);
  // The podman/conmon spelling: --log-format=json before --log.
  std::string b = bundle({"sh", "-c", "exit 4"});
  Result ok = run({"--log-format=json", "--log", log, "--root=" + root(), "--systemd-cgroup=false", "run", "--bundle", b, "l1"});
  EXPECT_EQ(ok.exit_code, 4) << ok.err;
}

TEST_F(Oci, ExecJoinsTheContainer) {
  std::string b = bundle({"sh", "-c", "echo started; exec sleep 30"});
  ASSERT_EQ(create("x1", b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "x1"})).exit_code, 0);
  // start returns once the byte is written, not once the process runs (as runc's).
  std::string cmdline = "/proc/" + std::to_string(state("x1")["pid"].get<int>()) + "/cmdline";
  ASSERT_TRUE(wait_until([&] { return read_text(cmdline).rfind("sleep", 0) == 0; }, 5s));
  Result e = run(oci({"exec", "x1", "sh", "-c", "echo $(hostname) $(cat /proc/1/cmdline | tr '\\0' ' '); exit 5"}));
  EXPECT_EQ(e.exit_code, 5) << e.err;
  EXPECT_EQ(e.out, "ocibox sleep 30\n");

  if (!is_root()) {
    // Without CAP_SYS_ADMIN rdbox cannot join the PID namespace itself; a detached exec
    // is refused with the reason (the attached one above goes through a relay).
    Result d = run(oci({"exec", "--detach", "x1", "true"}));
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_NE(d.err.find("exec --detach"), std::string::npos) << d.err;
    EXPECT_EQ(run(oci({"delete", "--force", "x1"})).exit_code, 0);
    return;
  }
  // --process FILE, as conmon and containerd's shim call it, with --detach and a pid file.
  json proc = {{"args", {"sh", "-c", "echo $FOO > /dev/shm/out; sleep 30"}},
               {"env", {"PATH=/bin", "FOO=from-process-json"}},
               {"cwd", "/tmp"},
               {"user", {{"uid", 0}, {"gid", 0}}}};
  std::string pf = tmp.write("process.json", proc.dump());
  std::string pid_file = tmp / "exec.pid";
  RunOptions to_file;  // the detached process keeps rdbox's stdio: not the harness's pipes
  int out_fd = ::open((tmp / "exec.out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  to_file.stdout_fd = to_file.stderr_fd = out_fd;
  Result d = run(oci({"exec", "--process", pf, "--detach", "--pid-file", pid_file, "x1"}), to_file);
  ::close(out_fd);
  d.err = read_text(tmp / "exec.out");
  EXPECT_EQ(d.exit_code, 0) << d.err;
  ASSERT_TRUE(file_exists(pid_file));
  int epid = std::stoi(read_text(pid_file));
  EXPECT_TRUE(alive(epid));
  EXPECT_TRUE(wait_until([&] { return run(oci({"exec", "x1", "cat", "/dev/shm/out"})).out == "from-process-json\n"; }, 5s));
  Result ps = run(oci({"ps", "--format", "json", "x1"}));
  auto pids = parse_json("{\"p\":" + ps.out + "}");
  ASSERT_TRUE(pids) << ps.out;
  EXPECT_EQ((*pids)["p"].size(), 2u) << ps.out;
  Result bad = run(oci({"exec", "x1", "/nonexistent"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err_lines().size(), 1u) << bad.err;
  EXPECT_EQ(run(oci({"kill", "--all", "x1", "KILL"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !alive(epid); }, 5s));
  // The detached process was reparented to this test (a subreaper, as conmon and the shim
  // are), and so may be its zombie child (rootless, where a relay forks it into the PID
  // namespace): the container's init ends only once its namespace's processes are reaped.
  EXPECT_TRUE(wait_until([&] {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return state("x1")["status"] == "stopped";
  }, 5s));
  EXPECT_EQ(run(oci({"delete", "--force", "x1"})).exit_code, 0);
}

TEST_F(Oci, ConfinementIsWhatConfigJsonSays) {
  std::string b = bundle({"sh", "-c",
                          "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; ulimit -n; umask; "
                          "grep -c ' /proc/keys ' /proc/self/mountinfo; awk '$5 == \"/proc/sys\" { print substr($6, 1, 3) }' /proc/self/mountinfo; "
                          "id -G"},
                         [](json& c) {
                           c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
                           c["process"]["user"]["umask"] = 023;
                           c["process"]["user"]["additionalGids"] = {0};
                         });
  Result r = run(oci({"run", "--bundle", b, "k1"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 8u) << r.out;
  EXPECT_EQ(lines[0], "CapEff:\t0000000020000420") << "KILL, NET_BIND_SERVICE, AUDIT_WRITE";
  EXPECT_EQ(lines[1], "CapBnd:\t0000000020000420");
  EXPECT_EQ(lines[2], "NoNewPrivs:\t1");
  EXPECT_EQ(lines[3], "123");
  EXPECT_EQ(lines[4], "0023");
  EXPECT_EQ(lines[5], "1") << "/proc/keys is masked (a mount of its own)";
  EXPECT_EQ(lines[6], "ro,") << "/proc/sys is read-only";
}

TEST_F(Oci, HooksGetTheStateOnStdin) {
  std::string out = tmp / "hooks.txt";
  std::string script = tmp.write("hook.sh", "#!/bin/sh\n{ printf '%s ' \"$1\"; cat; } >> " + out + "\n", 0755);
  std::string b = bundle({"true"}, [&](json& c) {
    for (const char* kind : {"prestart", "createRuntime", "poststart", "poststop"})
      c["hooks"][kind] = {{{"path", "/bin/sh"}, {"args", {"sh", script, kind}}}};
  });
  Result r = run(oci({"run", "--bundle", b, "h1"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(read_text(out));
  ASSERT_EQ(lines.size(), 4u) << read_text(out);
  const char* order[] = {"prestart", "createRuntime", "poststart", "poststop"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(lines[i].rfind(order[i], 0), 0u) << lines[i];
    auto j = parse_json(lines[i].substr(lines[i].find(' ') + 1));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["id"], "h1");
    EXPECT_EQ((*j)["status"], i == 3 ? "stopped" : i == 2 ? "running" : "created");
  }
  // A failing createRuntime hook fails the create, and nothing is left.
  std::string failing = bundle({"sleep", "30"}, [](json& c) {
    c["hooks"]["createRuntime"] = {{{"path", "/bin/false"}}};
  });
  Result f = create("h2", failing);
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_NE(f.err.find("hooks.createRuntime[0]"), std::string::npos) << f.err;
  EXPECT_FALSE(state_dir_exists("h2"));
}

TEST_F(Oci, FeaturesSpecAndList) {
  Result f = run({"features"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto j = parse_json(f.out);
  ASSERT_TRUE(j);
  EXPECT_TRUE((*j)["linux"]["namespaces"].is_array());
  EXPECT_TRUE((*j)["ociVersionMax"].is_string());
  std::string dir = tmp.mkdir("spec");
  ASSERT_EQ(run({"spec", "--bundle", dir, is_root() ? "--rootless=false" : "--rootless"}).exit_code, 0);
  auto spec = parse_json(read_text(dir + "/config.json"));
  ASSERT_TRUE(spec);
  EXPECT_EQ(run({"spec", "--bundle", dir}).exit_code, 1) << "never overwrites a config.json";
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("l1", b).exit_code, 0);
  Result l = run(oci({"list", "--format", "json"}));
  auto lj = parse_json("{\"l\":" + l.out + "}");
  ASSERT_TRUE(lj) << l.out;
  ASSERT_EQ((*lj)["l"].size(), 1u);
  EXPECT_EQ((*lj)["l"][0]["id"], "l1");
  EXPECT_EQ((*lj)["l"][0]["status"], "created");
  EXPECT_EQ(run(oci({"delete", "l1"})).exit_code, 0);
}

TEST_F(Oci, AStaleStateIsCleanedByDelete) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("z1", b).exit_code, 0);
  int pid = state("z1")["pid"];
  ::kill(pid, SIGKILL);  // the init dies behind rdbox's back (a crash, an OOM kill)
  EXPECT_TRUE(wait_until([&] { return state("z1")["status"] == "stopped"; }, 5s));
  EXPECT_EQ(run(oci({"delete", "z1"})).exit_code, 0);
  EXPECT_FALSE(state_dir_exists("z1"));
  // A directory without state (a create that crashed half-way).
  ::mkdir(root().c_str(), 0700);
  ::mkdir((root() + "/z2").c_str(), 0700);
  EXPECT_EQ(run(oci({"delete", "z2"})).exit_code, 0);
  EXPECT_FALSE(state_dir_exists("z2"));
}

// pause/resume freeze the container's cgroup (v1 freezer.state on this hybrid host, v2
// cgroup.freeze where the unified hierarchy is all there is: tests/vm/cgroup2.sh). The
// container ticks into its output; frozen, it does not.
TEST_F(Oci, PauseAndResumeFreezeTheContainer) {
  if (!is_root()) GTEST_SKIP() << "a cgroup needs root here (rootless configs get none)";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-pause";
  std::string b = bundle({"sh", "-c", "while :; do echo t; sleep 0.02; done"},
                         [&](json& c) { c["linux"]["cgroupsPath"] = "/" + top + "/p1"; });
  ASSERT_EQ(create("p1", b).exit_code, 0);
  int pid = state("p1")["pid"];
  // A created container can be paused (runc's rule); start then refuses it.
  ASSERT_EQ(run(oci({"pause", "p1"})).exit_code, 0);
  EXPECT_EQ(state("p1")["status"], "paused");
  EXPECT_EQ(run(oci({"start", "p1"})).exit_code, 1);
  ASSERT_EQ(run(oci({"resume", "p1"})).exit_code, 0);
  EXPECT_EQ(state("p1")["status"], "created");
  ASSERT_EQ(run(oci({"start", "p1"})).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return container_out("p1").size() >= 4; }, 5s));

  Result p = run(oci({"pause", "p1"}));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(state("p1")["status"], "paused");
  std::size_t frozen_at = container_out("p1").size();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(container_out("p1").size(), frozen_at) << "the container ran while paused";
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"pause", "p1"}, {"delete", "p1"}, {"exec", "p1", "true"}, {"pause", "nope"}, {"resume"}}) {
    Result r = run(oci(bad));
    EXPECT_EQ(r.exit_code, 1) << bad[0];
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  }
  Result r = run(oci({"resume", "p1"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state("p1")["status"], "running");
  EXPECT_TRUE(wait_until([&] { return container_out("p1").size() > frozen_at + 4; }, 5s)) << "still frozen";
  EXPECT_EQ(run(oci({"resume", "p1"})).exit_code, 1) << "not paused";

  // delete --force of a paused container: SIGKILL, thawed so it dies; every cgroup
  // directory goes, the parent create made too.
  ASSERT_EQ(run(oci({"pause", "p1"})).exit_code, 0);
  Result d = run(oci({"delete", "--force", "p1"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 5s));
  EXPECT_FALSE(state_dir_exists("p1"));
  for (const char* h : {"freezer", "unified", "memory", "pids", ""})
    EXPECT_FALSE(file_exists(std::string("/sys/fs/cgroup/") + h + "/" + top)) << h << ": the cgroup was left";
}

TEST_F(Oci, PauseWithoutACgroupIsOneError) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("n1", b).exit_code, 0);
  Result r = run(oci({"pause", "n1"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("cgroupsPath"), std::string::npos) << r.err;
  EXPECT_EQ(state("n1")["status"], "created");
  EXPECT_EQ(run(oci({"delete", "n1"})).exit_code, 0);
}

// An engine's console socket: listens at `path`; take_master() accepts create's (or
// exec's) connection and returns the pty master it sent (SCM_RIGHTS), or -1.
class ConsoleSocket {
 public:
  explicit ConsoleSocket(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof addr.sun_path) return;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~ConsoleSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int take_master() {
    struct pollfd pf {fd_, POLLIN, 0};
    if (::poll(&pf, 1, 5000) != 1) return -1;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char name[64] = {};
    struct iovec iov {name, sizeof name - 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    ::close(conn);
    struct cmsghdr* cm = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
    if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
    int master;
    std::memcpy(&master, CMSG_DATA(cm), sizeof master);
    return master;
  }

 private:
  int fd_ = -1;
};

// What the terminal's other side writes, until `needle` appears or 5 s pass; closes master.
std::string read_terminal(int master, const std::string& needle) {
  std::string got;
  for (int i = 0; i < 50 && got.find(needle) == std::string::npos; ++i) {
    struct pollfd pf {master, POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t r = ::read(master, buf, sizeof buf);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  ::close(master);
  return got;
}

// runtime-tools' linux_masked_paths, linux_readonly_paths and mounts: a masked path
// beneath another masked one (hidden already), a read-only one beneath another, and a
// bind mount given filesystem options (meaningless to a bind: ignored, as runc does).
// The bind's destination exists in the image (/run): a missing one would be made in the
// shared rootfs/ by the root run, which the rootless run's copy may predate.
TEST_F(Oci, NestedMasksAndBindMountDataOptions) {
  std::string data = tmp.mkdir("data");
  std::ofstream(data + "/f") << "x";
  std::string b = bundle({"sh", "-c", "ls -A /mnt | wc -l; ls /home/sub 2>&1 >/dev/null | grep -c 'No such'; "
                                      "cat /run/f; echo; mkdir /run/d 2>/dev/null && echo rw || echo ro"},
                         [&](json& c) {
                           c["linux"]["maskedPaths"] = {"/mnt", "/mnt/a/b", "/home", "/home/sub"};
                           c["linux"]["readonlyPaths"] = {"/run", "/run/deeper"};
                           c["mounts"].push_back({{"destination", "/run"}, {"type", "bind"}, {"source", data},
                                                  {"options", {"rbind", "mode=755", "size=1k"}}});
                         });
  Result r = run(oci({"run", "--bundle", b, "m1"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\nx\nro\n") << r.err;
  EXPECT_FALSE(file_exists(data + "/d")) << "the read-only path was written";
}

// runtime-tools' linux_rootfs_propagation: the container's root is shared (a bind of it
// sees later mounts), unbindable (it cannot be bound), or private, as config.json says.
TEST_F(Oci, RootfsPropagationIsSetInsideTheContainer) {
  if (!is_root()) GTEST_SKIP() << "checked as root (the mounts inside need CAP_SYS_ADMIN, granted here by the bundle)";
  auto with = [&](const char* propagation, const std::string& script) {
    return bundle({"sh", "-c", script}, [&](json& c) {
      c["linux"]["rootfsPropagation"] = propagation;
      for (const char* set : {"bounding", "effective", "permitted"}) c["process"]["capabilities"][set].push_back("CAP_SYS_ADMIN");
    });
  };
  std::string see = "mount --rbind / /mnt && mount -t tmpfs t /home && touch /home/x && "
                    "{ test -e /mnt/home/x && echo exposed || echo hidden; }";
  Result shared = run(oci({"run", "--bundle", with("shared", see), "p1"}));
  EXPECT_EQ(shared.out, "exposed\n") << shared.err;
  Result priv = run(oci({"run", "--bundle", with("rprivate", see), "p2"}));
  EXPECT_EQ(priv.out, "hidden\n") << priv.err;
  Result unb = run(oci({"run", "--bundle", with("unbindable", "mount --bind / /mnt 2>/dev/null && echo bound || echo refused"), "p3"}));
  EXPECT_EQ(unb.out, "refused\n") << unb.err;
  Result bad = run(oci({"run", "--bundle", with("sideways", "true"), "p4"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("linux.rootfsPropagation"), std::string::npos) << bad.err;
}

std::string ns_link(int pid, const char* ns) {
  char buf[128] = {};
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/ns/" + ns).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// runtime-tools' linux_ns_path: the mount and PID namespaces given by path are joined
// (a pod's, as CRI gives them): the root is set up in the joined mount namespace, and the
// process is a child in the joined PID namespace.
TEST_F(Oci, MountAndPidNamespacesAreJoinedByPath) {
  if (!is_root()) GTEST_SKIP() << "joining another mount namespace needs root here";
  pid_t holder = ::fork();
  if (holder == 0) {
    ::execlp("unshare", "unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sleep", "30", nullptr);
    ::_exit(127);
  }
  ASSERT_GT(holder, 0);
  int sleeper = 0;  // PID 1 of the new PID namespace: unshare's child
  ASSERT_TRUE(wait_until([&] {
    std::istringstream in(read_text("/proc/" + std::to_string(holder) + "/task/" + std::to_string(holder) + "/children"));
    return ns_link(holder, "mnt") != ns_link(::getpid(), "mnt") && static_cast<bool>(in >> sleeper);
  }, 5s));
  std::string b = bundle({"sh", "-c", "echo $$; sleep 30"}, [&](json& c) {
    for (auto& n : c["linux"]["namespaces"]) {
      if (n["type"] == "mount") n["path"] = "/proc/" + std::to_string(holder) + "/ns/mnt";
      if (n["type"] == "pid") n["path"] = "/proc/" + std::to_string(sleeper) + "/ns/pid";
    }
  });
  Result r = create("j1", b);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code == 0) {
    int pid = state("j1")["pid"];
    EXPECT_EQ(ns_link(pid, "mnt"), ns_link(holder, "mnt"));
    EXPECT_EQ(ns_link(pid, "pid"), ns_link(sleeper, "pid"));
    EXPECT_NE(ns_link(pid, "pid"), ns_link(::getpid(), "pid"));
    ASSERT_EQ(run(oci({"start", "j1"})).exit_code, 0);
    EXPECT_TRUE(wait_until([&] { return container_out("j1") == "2\n"; }, 5s)) << container_out("j1");
    EXPECT_EQ(run(oci({"delete", "--force", "j1"})).exit_code, 0);
  }
  ::kill(holder, SIGKILL);
  ::kill(sleeper, SIGKILL);
  ::waitpid(holder, nullptr, 0);
}

// runtime-tools' linux_devices: as root, a node the host does not have at that path is
// made in the container with its fileMode, uid and gid; without root it is one error.
TEST_F(Oci, LinuxDevicesAreMadeWithTheirModeAndOwner) {
  std::string b = bundle({"sh", "-c", "stat -c '%t:%T %a %u %g' /dev/rdbox-null; echo x > /dev/rdbox-null && echo written; "
                                      "test -p /dev/rdbox-fifo && echo fifo"},
                         [&](json& c) {
                           c["linux"]["devices"] = json::parse(R"([
                             {"path": "/dev/rdbox-null", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 5, "gid": 6},
                             {"path": "/dev/rdbox-fifo", "type": "p", "fileMode": 420}])");
                         });
  Result r = run(oci({"run", "--bundle", b, "d1"}));
  if (!is_root()) {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("linux.devices[0]"), std::string::npos) << r.err;
    return;
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1:3 666 5 6\nwritten\nfifo\n") << r.err;
}

// The host's file of `controller` for process `pid`: its v1 hierarchy's where the process
// has one, else the v2 directory's `v2file`; "" when neither exists.
std::string cgroup_file_of(int pid, const std::string& controller, const std::string& v1file,
                           const std::string& v2file) {
  std::string v2dir;
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    std::string ctrls = "," + line.substr(a + 1, b - a - 1) + ",", path = line.substr(b + 1);
    if (ctrls == ",," ) v2dir = path;
    else if (ctrls.find("," + controller + ",") != std::string::npos)
      return "/sys/fs/cgroup/" + controller + path + "/" + v1file;
  }
  for (const char* m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    std::string f = m + v2dir + "/" + v2file;
    if (!v2dir.empty() && file_exists(f)) return f;
  }
  return "";
}

// Whether the kernel has `controller` enabled (/proc/cgroups).
bool controller_enabled(const std::string& controller) {
  std::istringstream in(read_text("/proc/cgroups"));
  for (std::string name, h, n, on; in >> name >> h >> n >> on;)
    if (name == controller) return on == "1";
  return false;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// linux.resources land in the container's cgroup files, v1 or v2 names (runtime-tools'
// linux_cgroups_* check them the same way, from the host).
TEST_F(Oci, LinuxResourcesAreWrittenToTheCgroup) {
  if (!is_root()) GTEST_SKIP() << "a cgroup needs root here (rootless configs get none)";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-res";
  std::string b = bundle({"sleep", "30"}, [&](json& c) {
    c["linux"]["cgroupsPath"] = "/" + top + "/r1";
    c["linux"]["resources"] = json::parse(R"({
      "memory": {"limit": 67108864, "reservation": 33554432},
      "pids": {"limit": 42},
      "cpu": {"shares": 512, "quota": 20000, "period": 100000},
      "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}]
    })");
  });
  Result cr = create("r1", b);
  ASSERT_EQ(cr.exit_code, 0) << cr.err;
  int pid = state("r1")["pid"];
  struct Want {
    const char *controller, *v1, *v2, *v1_value, *v2_value;
  };
  for (const Want& w : {Want{"memory", "memory.limit_in_bytes", "memory.max", "67108864", "67108864"},
                        Want{"memory", "memory.soft_limit_in_bytes", "memory.low", "33554432", "33554432"},
                        Want{"pids", "pids.max", "pids.max", "42", "42"},
                        Want{"cpu", "cpu.shares", "cpu.weight", "512", "20"},
                        Want{"cpu", "cpu.cfs_quota_us", "cpu.max", "20000", "20000 100000"}}) {
    if (!controller_enabled(w.controller)) continue;  // this kernel has none: nothing to check
    std::string f = cgroup_file_of(pid, w.controller, w.v1, w.v2);
    ASSERT_FALSE(f.empty()) << w.controller << ": the container is in no cgroup with " << w.v1 << "/" << w.v2;
    bool v1 = f.find("/unified/") == std::string::npos && f.rfind(std::string("/sys/fs/cgroup/") + w.controller + "/", 0) == 0;
    EXPECT_EQ(trimmed(read_text(f)), v1 ? w.v1_value : w.v2_value) << f;
  }
  std::string devices = cgroup_file_of(pid, "devices", "devices.list", "");
  if (!devices.empty()) {  // v1: the rules in order, then the defaults every container gets
    std::string list = read_text(devices);
    EXPECT_EQ(list.rfind("c 10:229 rw\n", 0), 0u) << list;
    EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << "deny all came first" << list;
    EXPECT_NE(list.find("c 136:* rwm"), std::string::npos) << list;
  }
  Result d = run(oci({"delete", "--force", "r1"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  for (const char* h : {"memory", "pids", "cpu", "cpuset", "devices", "freezer", "blkio", "unified", ""})
    EXPECT_FALSE(file_exists(std::string("/sys/fs/cgroup/") + h + "/" + top)) << h << ": the cgroup was left";
}

// update (runc's): options and a --resources file (here stdin) change a running
// container's limits; bad input is one error line and exit 1.
TEST_F(Oci, UpdateChangesTheLimits) {
  if (!is_root()) GTEST_SKIP() << "a cgroup needs root here (rootless configs get none)";
  if (!controller_enabled("pids") || !controller_enabled("memory")) GTEST_SKIP() << "no memory or pids controller";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-upd";
  std::string b = bundle({"sleep", "30"}, [&](json& c) {
    c["linux"]["cgroupsPath"] = "/" + top;
    c["linux"]["resources"] = {{"pids", {{"limit", 40}}}};
  });
  ASSERT_EQ(create("u1", b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "u1"})).exit_code, 0);
  int pid = state("u1")["pid"];
  std::string pids = cgroup_file_of(pid, "pids", "pids.max", "pids.max");
  std::string mem = cgroup_file_of(pid, "memory", "memory.limit_in_bytes", "memory.max");
  ASSERT_FALSE(pids.empty());
  ASSERT_FALSE(mem.empty()) << "every controller gets a directory, limited or not (update needs it)";
  EXPECT_EQ(trimmed(read_text(pids)), "40");

  Result u = run(oci({"update", "--pids-limit", "33", "--memory", "96M", "u1"}));
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(trimmed(read_text(pids)), "33");
  EXPECT_EQ(trimmed(read_text(mem)), "100663296");
  RunOptions in;
  in.stdin_data = R"({"pids": {"limit": 21}, "memory": {"limit": 134217728}})";
  u = run(oci({"update", "--resources", "-", "u1"}), in);
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(trimmed(read_text(pids)), "21");
  EXPECT_EQ(trimmed(read_text(mem)), "134217728");
  u = run(oci({"update", "--pids-limit", "-1", "u1"}));
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(trimmed(read_text(pids)), "max");

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"update", "--memory", "lots", "u1"},        // not a size
           {"update", "u1"},                            // nothing to change
           {"update", "--pids-limit", "3", "nope"},     // no such container
           {"update", "--resources", "/nonexistent", "u1"},
           {"update", "--cpu-period", "5", "u1"}}) {    // the kernel refuses it
    Result r = run(oci(bad));
    EXPECT_EQ(r.exit_code, 1) << bad[1];
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  }
  in.stdin_data = R"({"pids": {"limit": "x"}})";
  Result r = run(oci({"update", "--resources", "-", "u1"}), in);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pids.limit"), std::string::npos) << r.err;
  EXPECT_EQ(trimmed(read_text(pids)), "max") << "a refused update changes nothing";
  EXPECT_EQ(run(oci({"delete", "--force", "u1"})).exit_code, 0);
  EXPECT_FALSE(file_exists("/sys/fs/cgroup/pids/" + top));
}

// A value the kernel refuses: one error naming the field, exit 1, and neither a state
// nor a cgroup directory (nor the parent create made) left.
TEST_F(Oci, RefusedResourcesAreOneErrorAndNoCgroupLeft) {
  if (!is_root()) GTEST_SKIP() << "a cgroup needs root here (rootless configs get none)";
  if (!controller_enabled("cpu")) GTEST_SKIP() << "no cpu controller";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-bad";
  std::string b = bundle({"true"}, [&](json& c) {
    c["linux"]["cgroupsPath"] = "/" + top + "/x1";
    c["linux"]["resources"] = {{"pids", {{"limit", 10}}}, {"cpu", {{"quota", 1000}, {"period", 5}}}};
  });
  Result r = create("x1", b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("linux.resources.cpu."), std::string::npos) << r.err;
  EXPECT_FALSE(state_dir_exists("x1"));
  for (const char* h : {"memory", "pids", "cpu", "cpuset", "devices", "freezer", "blkio", "unified", ""})
    EXPECT_FALSE(file_exists(std::string("/sys/fs/cgroup/") + h + "/" + top)) << h << ": the cgroup was left";
}

// A terminal: the pty is made inside the container, from its own devpts (as runc and crun
// do: `tty` names /dev/pts/0 of the container's instance, owned by the process's user);
// its master arrives over --console-socket (SCM_RIGHTS) and is the process's stdio and
// controlling terminal. create's own output is read to EOF by engines (containerd's shim
// reads it through a pipe before it calls start): the waiting init must not hold that pipe.
TEST_F(Oci, TerminalFromTheContainersDevptsOverTheConsoleSocketAndCreateOutputEnds) {
  ConsoleSocket console(tmp / "console.sock");
  ASSERT_TRUE(console.ok());
  int uid = is_root() ? 1000 : 0;  // rootless configs map one id
  std::string b = bundle({"sh", "-c",
                          "test -t 0 && test -t 1 && echo isatty; tty; stat -c owner=%u \"$(tty)\"; echo done"},
                         [&](json& c) {
                           c["process"]["terminal"] = true;
                           c["process"]["user"] = {{"uid", uid}, {"gid", uid}};
                         });
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  RunOptions o;
  o.stdout_fd = out[1];
  Result c = run(oci({"create", "--bundle", b, "--console-socket", tmp / "console.sock", "t1"}), o);
  ::close(out[1]);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // rdbox has exited: no one else may hold the pipe (EOF, not a wait for start).
  struct pollfd eof {out[0], POLLIN, 0};
  bool ended = ::poll(&eof, 1, 2000) == 1;
  char byte = 0;
  EXPECT_TRUE(ended && ::read(out[0], &byte, 1) == 0) << "the created container holds create's stdout";
  ::close(out[0]);
  int master = console.take_master();
  ASSERT_GE(master, 0) << "create did not send a terminal to the console socket";
  ASSERT_EQ(run(oci({"start", "t1"})).exit_code, 0);
  std::string got = read_terminal(master, "done");
  EXPECT_NE(got.find("isatty"), std::string::npos) << got;
  EXPECT_NE(got.find("/dev/pts/0\r\n"), std::string::npos) << "not the container's own devpts:\n" << got;
  EXPECT_NE(got.find("owner=" + std::to_string(uid)), std::string::npos) << got;
  EXPECT_TRUE(wait_until([&] { return state("t1")["status"] == "stopped"; }, 5s));
  EXPECT_EQ(run(oci({"delete", "--force", "t1"})).exit_code, 0);
}

// exec with a terminal (conmon's `exec --tty --console-socket`, containerd's process JSON
// with terminal true): another pty of the container's devpts (the init holds none, so it
// is /dev/pts/0 too). rdbox waits for the process; its output waits in the pty.
TEST_F(Oci, ExecWithATerminalGetsOneFromTheContainersDevpts) {
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(run(oci({"create", "--bundle", b, "x1"})).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "x1"})).exit_code, 0);
  ConsoleSocket console(tmp / "exec.sock");
  ASSERT_TRUE(console.ok());
  Result e = run(oci({"exec", "--tty", "--console-socket", tmp / "exec.sock", "x1", "sh", "-c",
                      "tty; test -t 0 && echo isatty; echo done"}));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  int master = console.take_master();
  ASSERT_GE(master, 0) << "exec did not send a terminal to the console socket";
  std::string got = read_terminal(master, "done");
  EXPECT_NE(got.find("/dev/pts/0\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("isatty"), std::string::npos) << got;
  EXPECT_EQ(run(oci({"delete", "--force", "x1"})).exit_code, 0);
}

// Without noNewPrivileges the profile is loaded before the capabilities are dropped (as
// runc); a profile that denies keyctl (docker's does, and runtime-tools') must not stop
// the container's own session keyring, which is joined before it.
TEST_F(Oci, ASeccompProfileDenyingKeyctlLeavesTheSessionKeyring) {
  std::string b = bundle({"sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"}, [](json& c) {
    c["process"]["noNewPrivileges"] = false;
    c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                             {"syscalls", {{{"names", {"keyctl", "add_key", "request_key"}},
                                            {"action", "SCMP_ACT_ERRNO"}}}}};
  });
  Result r = run(oci({"run", "--bundle", b, "kr1"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "NoNewPrivs:\t0\nSeccomp:\t2\n");
}

namespace {

unsigned long long ns_ino(pid_t pid, const char* kind) {
  struct stat st {};
  return ::stat(("/proc/" + std::to_string(pid) + "/ns/" + kind).c_str(), &st) == 0 ? st.st_ino : 0;
}

// The live processes in `pid`'s PID namespace (zombies of ours reaped first).
std::vector<pid_t> pid_ns_members(pid_t pid) {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  std::vector<pid_t> out;
  unsigned long long want = ns_ino(pid, "pid");
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t p = std::stoi(name);
    if (ns_ino(p, "pid") == want && alive(p)) out.push_back(p);
  }
  return out;
}

// The last NSpid of /proc/PID/status: the pid inside its innermost PID namespace.
std::string innermost_pid(pid_t pid) {
  for (const auto& line : split_lines(read_text("/proc/" + std::to_string(pid) + "/status")))
    if (line.rfind("NSpid:", 0) == 0) return line.substr(line.find_last_of(" \t") + 1);
  return "";
}

}  // namespace

// A Kubernetes pod as containerd's CRI plugin builds it: a sandbox container owns the
// namespaces, and each container of the pod joins them by path (linux.namespaces[].path),
// its PID namespace included, with a mount namespace of its own. The container's process
// is really in the pod's PID namespace (it sees the sandbox's process as PID 1), and
// kill --all / delete reach the container's processes only: by its cgroup (also those its
// init left behind, which containerd's shim kills after the init's exit), or without one by
// its mount namespace; never the pod's other members.
TEST_F(Oci, AContainerJoinsAPodsNamespacesByPathPidIncluded) {
  if (!is_root())
    GTEST_SKIP() << "joining a PID namespace is a setns rdbox does before the clone; without root it lacks "
                    "CAP_SYS_ADMIN over the pod's namespace";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-pod";
  std::string pod_b = bundle({"sh", "-c", "trap 'exit 0' TERM; echo pod; while :; do sleep 0.05; done"}, [&](json& c) {
    c["hostname"] = "podbox";
    c["linux"]["cgroupsPath"] = "/" + top + "/pod";
  });
  ASSERT_EQ(create("pod", pod_b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "pod"})).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return container_out("pod") == "pod\n"; }, 5s));
  int pod = state("pod")["pid"];
  EXPECT_EQ(innermost_pid(pod), "1");

  auto member_of_pod = [&](const std::string& cgroup) {
    return [&, cgroup](json& c) {
      c.erase("hostname");
      json ns = json::array();
      for (const char* n : {"pid", "ipc", "uts", "network"})
        ns.push_back({{"type", n}, {"path", "/proc/" + std::to_string(pod) + "/ns/" + (n == std::string("network") ? "net" : n)}});
      ns.push_back({{"type", "mount"}});
      c["linux"]["namespaces"] = ns;
      if (!cgroup.empty()) c["linux"]["cgroupsPath"] = cgroup;
    };
  };
  // Its hooks run in rdbox's PID namespace, not the pod's (as runc's).
  std::string hook_ns = tmp / "hook.ns";
  std::string c1_b = bundle({"sh", "-c", "sleep 1001 & tr '\\0' ' ' </proc/1/cmdline; echo; hostname; exec sleep 1002"},
                            [&](json& c) {
                              member_of_pod("/" + top + "/c1")(c);
                              c["hooks"]["createRuntime"] = {
                                  {{"path", "/bin/sh"}, {"args", {"sh", "-c", "readlink /proc/self/ns/pid > " + hook_ns}}}};
                            });
  Result c = create("c1", c1_b);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  int c1 = state("c1")["pid"];
  EXPECT_EQ(ns_ino(c1, "pid"), ns_ino(pod, "pid")) << "the init is not in the pod's PID namespace";
  EXPECT_NE(ns_ino(c1, "mnt"), ns_ino(pod, "mnt"));
  EXPECT_NE(innermost_pid(c1), "1");
  char own_ns[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/pid", own_ns, sizeof own_ns - 1), 0);
  EXPECT_EQ(read_text(hook_ns), std::string(own_ns) + "\n") << "the hook ran in the pod's PID namespace";
  ASSERT_EQ(run(oci({"start", "c1"})).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return container_out("c1").find("podbox\n") != std::string::npos; }, 5s))
      << container_out("c1");
  // Its /proc is the pod's PID namespace: PID 1 is the pod's process.
  EXPECT_EQ(container_out("c1"), "sh -c trap 'exit 0' TERM; echo pod; while :; do sleep 0.05; done \npodbox\n");
  ASSERT_TRUE(wait_until([&] { return pid_ns_members(pod).size() == 3; }, 5s));
  Result ps = run(oci({"ps", "--format", "json", "c1"}));
  auto pids = parse_json("{\"p\":" + ps.out + "}");
  ASSERT_TRUE(pids) << ps.out;
  EXPECT_EQ((*pids)["p"].size(), 2u) << "c1's init and its sleep, not the pod's process: " << ps.out;
  Result e = run(oci({"exec", "c1", "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline"}));
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out.rfind("sh -c trap", 0), 0u) << e.out;

  // The init ends; what it left in the pod's namespace goes with kill --all (the shim's
  // call after the exit), and the pod's process stays.
  EXPECT_EQ(run(oci({"kill", "c1", "KILL"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return pid_ns_members(pod).size() == 2 && state("c1")["status"] == "stopped"; }, 5s));
  EXPECT_EQ(run(oci({"kill", "--all", "c1", "KILL"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return pid_ns_members(pod) == std::vector<pid_t>{pod}; }, 5s));
  Result d = run(oci({"delete", "c1"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_FALSE(file_exists("/sys/fs/cgroup/freezer/" + top + "/c1"));
  EXPECT_TRUE(alive(pod));

  // Without a cgroup: kill --all of a running member reaches its mount namespace's processes.
  ASSERT_EQ(create("c2", bundle({"sh", "-c", "sleep 1003 & exec sleep 1004"}, member_of_pod(""))).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "c2"})).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return pid_ns_members(pod).size() == 3; }, 5s));
  EXPECT_EQ(run(oci({"kill", "--all", "c2", "KILL"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return pid_ns_members(pod) == std::vector<pid_t>{pod}; }, 5s));
  EXPECT_EQ(run(oci({"delete", "c2"})).exit_code, 0);

  EXPECT_EQ(run(oci({"kill", "pod", "TERM"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return state("pod")["status"] == "stopped"; }, 5s));
  EXPECT_EQ(run(oci({"delete", "pod"})).exit_code, 0);
  for (const char* h : {"freezer", "unified", "memory", "pids", ""})
    EXPECT_FALSE(file_exists(std::string("/sys/fs/cgroup/") + h + "/" + top)) << h << ": the cgroup was left";
}

// process.oomScoreAdj applies to the container's init and to an exec'd process (its own
// process JSON, as containerd's shim passes the container's process with it): each writes
// it before the process runs. Raising it needs no privilege.
TEST_F(Oci, OomScoreAdjOfTheInitAndOfAnExec) {
  int mine = std::stoi(read_text("/proc/self/oom_score_adj"));
  std::string b = bundle({"sh", "-c", "cat /proc/self/oom_score_adj; exec sleep 30"},
                         [&](json& c) { c["process"]["oomScoreAdj"] = mine + 300; });
  ASSERT_EQ(create("o1", b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "o1"})).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return container_out("o1") == std::to_string(mine + 300) + "\n"; }, 5s))
      << container_out("o1");
  json proc = {{"args", {"cat", "/proc/self/oom_score_adj"}},
               {"env", {"PATH=/bin"}},
               {"cwd", "/"},
               {"user", {{"uid", 0}, {"gid", 0}}},
               {"oomScoreAdj", mine + 400}};
  Result e = run(oci({"exec", "--process", tmp.write("oom.json", proc.dump()), "o1"}));
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out, std::to_string(mine + 400) + "\n");
  EXPECT_EQ(run(oci({"delete", "--force", "o1"})).exit_code, 0);
  // run (create + start + wait in one): the same.
  Result r = run(oci({"run", "--bundle", bundle({"cat", "/proc/self/oom_score_adj"}, [&](json& c) {
                        c["process"]["oomScoreAdj"] = mine + 200;
                      }), "o2"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(mine + 200) + "\n");
}

// A mount on a path that is a mounted file already: a linux.devices entry that is a
// default device too (containerd's privileged containers list every host device), and a
// file bound over a bound file. The later mount goes on top. The host's /dev/ptmx listed
// there leaves the container's own (a link into its devpts, as runc makes it).
TEST_F(Oci, AMountOnAMountedFileGoesOnTop) {
  std::string first = tmp.write("first", "first\n"), second = tmp.write("second", "second\n");
  std::string cmd = "stat -c '%t,%T' /dev/full; cat /dev/termination-log; readlink /dev/ptmx";
  std::string b = bundle({"sh", "-c", cmd}, [&](json& c) {
    c["linux"]["devices"] = {{{"path", "/dev/full"}, {"type", "c"}, {"major", 1}, {"minor", 7}, {"fileMode", 438}},
                             {{"path", "/dev/ptmx"}, {"type", "c"}, {"major", 5}, {"minor", 2}, {"fileMode", 438}}};
    for (const auto& src : {first, second})
      c["mounts"].push_back({{"destination", "/dev/termination-log"}, {"type", "bind"}, {"source", src},
                             {"options", {"rbind", "rprivate", "rw"}}});
  });
  Result r = run(oci({"run", "--bundle", b, "m1"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1,7\nsecond\npts/ptmx\n");
}

// A host whose v1 hierarchies are mounted over (a cgroup2 mount on /sys/fs/cgroup, as in
// a container that sees the unified hierarchy alone) still lists them in mountinfo: rdbox
// must not pick a hidden one (it failed with '"/sys/fs/cgroup/devices" does not exist'
// for a bundle with resources.devices); it uses what it can reach.
TEST_F(Oci, HierarchiesMountedOverAreNotUsed) {
  if (!is_root()) GTEST_SKIP() << "needs root (a mount namespace of its own)";
  std::string b = bundle({"true"}, [](json& c) {
    c["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}}};
  });
  std::string cmd = "mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" --root \"$1\" run --bundle \"$2\" hid1";
  Process p = Process::start_program({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", cmd,
                                      rdbox_binary(), root(), b});
  Result r = p.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("does not exist"), std::string::npos) << r.err;
}

// ---- attacks of a hostile image or bundle -------------------------------------------

namespace {

// The CVE-2019-5736 attack from inside: finds a process of the container that runs
// something other than busybox (rdbox's image, made to execute /proc/self/exe), keeps
// its /proc/PID/exe open and, once that process is gone, reopens it for writing.
constexpr const char* kRewriteExe = R"(i=0; found=
while [ $i -lt 200 ]; do
  for p in /proc/[0-9]*; do
    e=$(readlink $p/exe 2>/dev/null) || continue
    case "$e" in ""|/bin/busybox) continue;; esac
    if cat "$p/exe" >/dev/null 2>&1; then exec 3<"$p/exe"; echo "opened $e"; found=1; break 2; fi
  done
  i=$((i+1)); sleep 0.05
done
[ -n "$found" ] || { echo "not found"; exit 0; }
j=0
while [ $j -lt 100 ]; do
  if (printf PWNED 1<>/proc/self/fd/3) 2>/dev/null; then echo wrote; exit 0; fi
  j=$((j+1)); sleep 0.05
done
echo blocked)";

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Whether an ELF file asks for a program interpreter (PT_INTERP: dynamically linked).
// A sanitizer build's rdbox is; it cannot run inside the busybox root.
bool dynamically_linked(const std::string& path) {
  std::string b = file_bytes(path);
  if (b.size() < sizeof(Elf64_Ehdr) || b.compare(0, 4, "\x7f" "ELF") != 0) return false;
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    std::size_t off = eh.e_phoff + std::size_t{i} * eh.e_phentsize;
    if (off + sizeof(Elf64_Phdr) > b.size()) return false;
    Elf64_Phdr ph;
    std::memcpy(&ph, b.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP) return true;
  }
  return false;
}

}  // namespace

// `exec` of /proc/self/exe inside the container runs rdbox's own image there; the
// container's init opens it through /proc/PID/exe and writes it once rdbox is gone. rdbox
// runs from a sealed in-memory copy, so the host's binary (a copy here, writable by the
// container's root) is untouched.
TEST_F(Oci, SecurityTheHostBinaryCannotBeRewrittenThroughProcPidExe) {
  if (dynamically_linked(rdbox_binary()))
    GTEST_SKIP() << "rdbox is dynamically linked here (a sanitizer build): its image cannot run in the busybox root";
  std::string copy = tmp / "rdbox-copy";
  std::filesystem::copy_file(rdbox_binary(), copy);
  ::chmod(copy.c_str(), 0755);
  std::string b = bundle({"sh", "-c", kRewriteExe});
  ASSERT_EQ(create("v1", b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "v1"})).exit_code, 0);
  // Inside, /proc/self/exe is the exec'd process's own: rdbox's image, running `rdbox run`.
  std::vector<std::string> argv = oci({"exec", "v1", "/proc/self/exe", "run", "--", "sleep", "2"});
  argv.insert(argv.begin(), copy);
  Result e = Process::start_program(argv).finish();
  EXPECT_EQ(e.exit_code, 0) << e.err;
  ASSERT_TRUE(wait_until([&] { return state("v1")["status"] == "stopped"; }, 15s));
  std::string out = container_out("v1");
  EXPECT_NE(out.find("opened "), std::string::npos) << out;  // the attack ran
  EXPECT_EQ(out.find("wrote"), std::string::npos) << out;
  EXPECT_EQ(out.find(copy), std::string::npos) << out;  // /proc/PID/exe is not the host's file
  EXPECT_TRUE(file_bytes(copy) == file_bytes(rdbox_binary())) << "the container rewrote rdbox's binary";
  EXPECT_EQ(run(oci({"delete", "v1"})).exit_code, 0);
}

// A created container's init is a clone of rdbox until `start`: a process exec'd into the
// container (or a pod's neighbour) must not read rdbox's environment, descriptors or
// binary through its /proc/1. Rootless, the init stays dumpable (it writes its own
// uid_map; rdbox, unprivileged, reads its namespaces for exec and sysctls): only its exe,
// the sealed copy, is checked there.
TEST_F(Oci, SecurityACreatedInitShowsNothingOfRdbox) {
  std::string b = bundle({"sleep", "30"});
  RunOptions o;
  o.env = {"RDBOX_ITEST_SECRET=hunter2"};
  int out = ::open((tmp / "c1.out").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  o.stdout_fd = o.stderr_fd = out;
  Result c = run(oci({"create", "--bundle", b, "c1"}), o);
  ::close(out);
  ASSERT_EQ(c.exit_code, 0) << read_text(tmp / "c1.out");
  Result e = run(oci({"exec", "c1", "sh", "-c",
                      "tr '\\0' '\\n' < /proc/1/environ | grep SECRET; echo exe=$(readlink /proc/1/exe); "
                      "for f in /proc/1/fd/*; do readlink $f; done; true"}));
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out.find(rdbox_binary()), std::string::npos) << e.out;
  if (is_root()) {
    EXPECT_EQ(e.out.find("exec.fifo"), std::string::npos) << e.out;
    EXPECT_EQ(e.out.find("hunter2"), std::string::npos) << e.out;
    EXPECT_NE(e.out.find("exe=\n"), std::string::npos) << e.out;
  }
  EXPECT_EQ(run(oci({"delete", "--force", "c1"})).exit_code, 0);
}

// kill and delete signal what the state names only when it is the container's: a state
// rewritten to name a host process (same starttime, so it passes that check) reaches
// nothing, and a state directory someone else could have planted is not used at all.
TEST_F(Oci, SecurityATamperedStateNeverSignalsAHostProcess) {
  Process host = Process::start_program({"/bin/sleep", "30"});
  auto hs = proc_stat(host.pid());
  ASSERT_TRUE(hs);
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("t1", b).exit_code, 0);
  int init = state("t1")["pid"].get<int>();
  std::string path = root() + "/t1/state.json";
  std::string original = read_text(path);
  json st = json::parse(original);
  st["pid"] = host.pid();
  st["rdbox_starttime"] = hs->starttime;
  std::ofstream(path) << st.dump();
  Result k = run(oci({"kill", "t1", "KILL"}));
  EXPECT_EQ(k.exit_code, 1);
  EXPECT_NE(k.err.find("not the container's"), std::string::npos) << k.err;
  Result x = run(oci({"exec", "t1", "sh", "-c", "echo outside"}));  // would run in the host's namespaces
  EXPECT_EQ(x.exit_code, 1);
  EXPECT_EQ(x.out, "");
  EXPECT_EQ(run(oci({"kill", "--all", "t1", "KILL"})).exit_code, 0);
  Result d = run(oci({"delete", "--force", "t1"}));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_TRUE(alive(host.pid(), hs->starttime));
  ::kill(init, SIGKILL);  // by pid: the container's init, orphaned by the rewrite
  EXPECT_TRUE(wait_gone(init, 0, 5s));
  std::ofstream(path) << original;
  EXPECT_EQ(run(oci({"delete", "t1"})).exit_code, 0);

  // A --root others may write (no sticky bit), and an ID directory that is not ours.
  std::string shared = tmp.mkdir("shared", 0777);
  ::chmod(shared.c_str(), 0777);
  std::string planted = tmp.mkdir("shared/p1", 0700);
  std::ofstream(planted + "/state.json") << st.dump();
  Result s = run({"--root", shared, "delete", "--force", "p1"});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.err.find("other users"), std::string::npos) << s.err;
  ::chmod(shared.c_str(), 01777);
  if (is_root()) {
    ASSERT_EQ(::chown(planted.c_str(), 65534, 65534), 0);
    Result p = run({"--root", shared, "delete", "--force", "p1"});
    EXPECT_EQ(p.exit_code, 1);
    EXPECT_NE(p.err.find("not this user's own"), std::string::npos) << p.err;
    EXPECT_TRUE(file_exists(planted + "/state.json"));
  }
  EXPECT_TRUE(alive(host.pid(), hs->starttime));
  ::kill(host.pid(), SIGKILL);
  host.finish();
}

// The pid file and the exec fifo through links: a link is replaced, never written through.
TEST_F(Oci, SecurityStateFilesAreNotWrittenThroughLinks) {
  std::string victim = tmp.write("victim", "keep");
  std::string pid_file = tmp / "pid-link";
  ASSERT_EQ(::symlink(victim.c_str(), pid_file.c_str()), 0);
  std::string b = bundle({"sleep", "30"});
  ASSERT_EQ(create("l1", b, {"--pid-file", pid_file}).exit_code, 0);
  EXPECT_EQ(read_text(victim), "keep");
  struct stat st {};
  ASSERT_EQ(::lstat(pid_file.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(read_text(pid_file), std::to_string(state("l1")["pid"].get<int>()));
  // The fifo swapped for a link to a host file: start writes nothing there.
  std::string fifo = root() + "/l1/exec.fifo";
  ASSERT_EQ(::unlink(fifo.c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), fifo.c_str()), 0);
  EXPECT_EQ(run(oci({"start", "l1"})).exit_code, 1);
  EXPECT_EQ(read_text(victim), "keep");
  EXPECT_EQ(run(oci({"delete", "--force", "l1"})).exit_code, 0);
}

// A hostile image: links out of the rootfs (absolute, relative through "..", in an
// intermediate component) and /proc itself a link (CVE-2019-16884), used as mount
// destinations, a bind's destination, masked and read-only paths and the cwd. Every path
// resolves inside the rootfs (RESOLVE_IN_ROOT): nothing is made, bound or mounted on the
// host paths the links name, and the masks land where /proc really is.
TEST_F(Oci, SecurityLinksInTheImageStayInsideIt) {
  namespace fs = std::filesystem;
  std::string host = tmp.mkdir("host");  // what the links name, on the host: stays empty
  std::string image = tmp / "image";
  fs::copy(rootfs(), image, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::create_directories(image + host + "/ro");  // the same path inside the image
  std::ofstream(image + host + "/m") << "image secret";
  ASSERT_EQ(::symlink(host.c_str(), (image + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink(("../../../../../../.." + host).c_str(), (image + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink("/", (image + "/top").c_str()), 0);
  fs::remove(image + "/proc");
  fs::create_directories(image + "/fakeproc");
  ASSERT_EQ(::symlink("/fakeproc", (image + "/proc").c_str()), 0);
  std::string src = tmp.mkdir("bindsrc");
  std::ofstream(src + "/marker") << "bound";
  std::string b = bundle({"sh", "-c",
                          "pwd; touch t1/x t2/x t3/x && echo made; cat b/marker; echo; echo m=$(cat m); "
                          "touch ro/x 2>/dev/null || echo ro; test -e /proc/self/status && echo proc; "
                          "grep -c ' /fakeproc/keys ' /proc/self/mountinfo"},
                         [&](json& c) {
                           c["root"] = {{"path", image}, {"readonly", false}};
                           c["process"]["cwd"] = "/abs";
                           c["mounts"].push_back({{"destination", "/abs/t1"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
                           c["mounts"].push_back({{"destination", "/rel/t2"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
                           c["mounts"].push_back({{"destination", "/top" + host + "/t3"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
                           c["mounts"].push_back({{"destination", "/rel/b"}, {"type", "bind"}, {"source", src},
                                                  {"options", {"rbind", "ro"}}});
                           c["linux"]["maskedPaths"].push_back("/abs/m");
                           c["linux"]["readonlyPaths"].push_back("/rel/ro");
                         });
  Result r = run(oci({"run", "--bundle", b, "i1"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, host + "\nmade\nbound\nm=\nro\nproc\n1\n");
  EXPECT_TRUE(fs::is_empty(host)) << "a link in the image reached the host";
  EXPECT_TRUE(fs::is_directory(image + host + "/t1"));
  EXPECT_TRUE(fs::is_directory(image + host + "/t3"));
  // A ".." in a destination is refused outright.
  std::string dots = bundle({"true"}, [&](json& c) {
    c["root"] = {{"path", image}, {"readonly", false}};
    c["mounts"].push_back({{"destination", "/tmp/../abs"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  });
  Result d = run(oci({"run", "--bundle", dots, "i2"}));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("\"..\" component"), std::string::npos) << d.err;
}

// An exec'd process is confined as the container's: its capabilities (no ambient one),
// no_new_privs and seccomp profile from config.json, and no descriptor of rdbox's.
TEST_F(Oci, SecurityAnExecIsConfinedAsTheContainerAndHoldsNoRdboxFd) {
  json seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"},
                  {"syscalls", {{{"names", {"mknodat", "mknod"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  std::string b = bundle({"sleep", "30"}, [&](json& c) { c["linux"]["seccomp"] = seccomp; });
  ASSERT_EQ(create("e1", b).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "e1"})).exit_code, 0);
  Result e = run(oci({"exec", "e1", "sh", "-c",
                      "grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; ls /proc/self/fd | tr '\\n' ' '"}));
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out, "CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\nCapAmb:\t0000000000000000\n"
                   "NoNewPrivs:\t1\nSeccomp:\t2\n0 1 2 3 ")
      << "3 is ls's own directory";
  EXPECT_EQ(run(oci({"delete", "--force", "e1"})).exit_code, 0);
}

// Rootless, a config mapping host ids the user was not given (root's, another user's)
// is refused before anything is made.
TEST_F(Oci, SecurityARootlessContainerCannotMapIdsItDoesNotOwn) {
  if (is_root()) GTEST_SKIP() << "a rootless check (root may map any id)";
  for (const json& map : {json{{{"containerID", 0}, {"hostID", 0}, {"size", 1}}},
                          json{{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}},
                               {{"containerID", 1}, {"hostID", 1}, {"size", 1}}}}) {
    std::string b = bundle({"id"}, [&](json& c) { c["linux"]["uidMappings"] = map; });
    Result r = run(oci({"run", "--bundle", b, "u1"}));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find("linux.uidMappings"), std::string::npos) << r.err;
    EXPECT_FALSE(state_dir_exists("u1"));
  }
}

// An exec'd process joins the container's cgroups even when rdbox's own cgroup path
// starts with the container's ("/top/g1x" and "/top/g1"): it is never left outside the
// container's limits and freezer.
TEST_F(Oci, SecurityAnExecJoinsTheContainersCgroupNotALookalike) {
  if (!is_root() || !file_exists("/sys/fs/cgroup/freezer/cgroup.procs"))
    GTEST_SKIP() << "needs root and the v1 freezer hierarchy (rootless configs get no cgroup)";
  std::string top = "rdbox-itest-" + std::to_string(::getpid()) + "-lookalike";
  std::string b = bundle({"sleep", "30"}, [&](json& c) { c["linux"]["cgroupsPath"] = "/" + top + "/g1"; });
  ASSERT_EQ(create("g1", b).exit_code, 0);
  std::string mine = "/sys/fs/cgroup/freezer/" + top + "/g1x";
  ASSERT_EQ(::mkdir(mine.c_str(), 0755), 0);
  std::vector<std::string> argv = {"/bin/sh", "-c", "echo $$ > " + mine + "/cgroup.procs && exec \"$@\"", "sh",
                                   rdbox_binary()};
  for (const auto& a : oci({"exec", "g1", "grep", "freezer", "/proc/self/cgroup"})) argv.push_back(a);
  Result e = Process::start_program(argv).finish();
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out.substr(e.out.find(':') + 1), "freezer:/" + top + "/g1\n");
  EXPECT_EQ(::rmdir(mine.c_str()), 0);
  EXPECT_EQ(run(oci({"delete", "--force", "g1"})).exit_code, 0);
}

// process.cwd and exec --cwd through a magic link (/proc/self/fd/N, /proc/self/cwd: how a
// descriptor of the runtime's left open becomes a cwd outside the root, runc's
// CVE-2024-21626) are refused; an ordinary path still works.
TEST_F(Oci, SecurityAWorkdirThroughAProcMagicLinkIsRefused) {
  std::string b = bundle({"pwd"}, [](json& c) { c["process"]["cwd"] = "/proc/self/cwd"; });
  Result r = run(oci({"run", "--bundle", b, "w1"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("workdir \"/proc/self/cwd\""), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  std::string s = bundle({"sleep", "30"});
  ASSERT_EQ(create("w2", s).exit_code, 0);
  ASSERT_EQ(run(oci({"start", "w2"})).exit_code, 0);
  for (const char* cwd : {"/proc/self/fd/0", "/proc/self/cwd", "/proc/1/root"}) {
    Result e = run(oci({"exec", "--cwd", cwd, "w2", "pwd"}));
    EXPECT_EQ(e.exit_code, 1) << cwd;
    EXPECT_EQ(e.out, "") << cwd;
  }
  Result ok = run(oci({"exec", "--cwd", "/tmp", "w2", "pwd"}));
  EXPECT_EQ(ok.out, "/tmp\n") << ok.err;
  EXPECT_EQ(run(oci({"delete", "--force", "w2"})).exit_code, 0);
}

// Where memfds may not be executed (vm.memfd_noexec = 2, per PID namespace) rdbox runs
// from an unlinked O_TMPFILE copy instead: containers still start, from a private copy.
TEST_F(Oci, SecurityThePrivateCopyWorksWhereMemfdsAreNoexec) {
  if (!is_root() || !file_exists("/proc/sys/vm/memfd_noexec"))
    GTEST_SKIP() << "needs root (a PID namespace to set vm.memfd_noexec in) and Linux 6.3+";
  std::string b = bundle({"sh", "-c", "echo inside"});
  std::string cmd = "mount -t proc proc /proc && echo 2 > /proc/sys/vm/memfd_noexec && "
                    "exec \"$0\" --root \"$1\" run --bundle \"$2\" nx1";
  Process p = Process::start_program({"/usr/bin/unshare", "-pfm", "--propagation", "private", "/bin/sh", "-c", cmd,
                                      rdbox_binary(), root(), b});
  Result r = p.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "inside\n");
}

// Installed on a read-only mount, rdbox's binary cannot be rewritten through
// /proc/PID/exe (EROFS), so create runs it as it is: no private copy (its ~2 ms saved).
TEST_F(Oci, OnAReadOnlyMountRdboxRunsWithoutAPrivateCopy) {
  if (!is_root()) GTEST_SKIP() << "needs root (a read-only bind mount in a mount namespace of its own)";
  std::string copy = tmp / "rdbox-ro";
  std::filesystem::copy_file(rdbox_binary(), copy);
  ::chmod(copy.c_str(), 0755);
  std::string b = bundle({"sleep", "30"});
  std::string script =
      "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" || exit 9\n"
      "\"$0\" --root \"$1\" create --bundle \"$2\" --pid-file \"$3\" ro1 >/dev/null 2>&1 </dev/null || exit 10\n"
      "readlink /proc/$(cat \"$3\")/exe\n"
      "\"$0\" --root \"$1\" delete --force ro1\n";
  std::string pidfile = tmp / "ro1.pid";
  Result r = Process::start_program({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script,
                                     copy, root(), b, pidfile})
                 .finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, copy + "\n") << r.err;
}
