// Namespace and mount planning, and their parsers. No process is spawned; the mount plan
// is built against a temporary directory that stands for a rootfs.
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "rdbox/modes.hpp"
#include "rdbox/plan.hpp"

using namespace rdbox;

TEST(IdMap, Parses) {
  auto m = parse_id_map("0 1000 1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->inside, 0u);
  EXPECT_EQ(m->outside, 1000u);
  EXPECT_EQ(m->count, 1u);
  EXPECT_TRUE(parse_id_map("  1 100000 65536 ").ok());
  EXPECT_TRUE(parse_id_map("0:0:1").ok());
  for (const char* bad : {"", "0 0", "0 0 0", "a b c", "0 0 1 1", "4294967295 0 2", "0 4294967295 2", "-1 0 1"})
    EXPECT_FALSE(parse_id_map(bad).ok()) << bad;
}

TEST(Bind, Parses) {
  auto b = parse_bind("/src:/dst", true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->source, "/src");
  EXPECT_EQ(b->destination, "/dst");
  EXPECT_TRUE(b->read_only);
  EXPECT_EQ(b->origin, "--ro-bind");
  auto same = parse_bind("/data/", false);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->destination, "/data");
  for (const char* bad : {"", "rel", "/src:rel", "/src:/", ":/dst", "/s:/a/../b", "/s:/a//b", "/s:/.", "/s:/a/."})
    EXPECT_FALSE(parse_bind(bad, false).ok()) << bad;
  for (const char* bad : {"/..", "/tmp/../mnt", "/", "", "rel", "/a/./b"}) EXPECT_FALSE(parse_tmpfs(bad).ok()) << bad;
  EXPECT_EQ(parse_tmpfs("/tmp")->destination, "/tmp");
}

TEST(TimeOffsets, Parses) {
  auto t = parse_time_offsets("monotonic=10,boottime=-5");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->monotonic, 10);
  EXPECT_EQ(t->boottime, -5);
  for (const char* bad : {"", "monotonic", "realtime=1", "monotonic=x", "boottime=99999999999999999999"})
    EXPECT_FALSE(parse_time_offsets(bad).ok()) << bad;
}

TEST(User, Parses) {
  auto u = parse_user("1000:100");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 100u);
  EXPECT_FALSE(parse_user("1000")->gid.has_value());
  for (const char* bad : {"", "root", "1:x", "-1", "4294967295"}) EXPECT_FALSE(parse_user(bad).ok()) << bad;
}

TEST(Namespaces, ImplicationsAndTable) {
  Spec s;
  s.command = {"/bin/true"};
  s.hostname = "h";
  s.init = true;
  s.mounts = {parse_tmpfs("/tmp").value()};
  s.uid_maps = {{0, 0, 1}};
  s.time_offsets.boottime = 1;
  EXPECT_EQ(s.effective_namespaces(),
            std::uint64_t(CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWTIME));
  for (std::size_t i = 0; i < kNamespaceCount; ++i)
    for (std::size_t j = i + 1; j < kNamespaceCount; ++j) EXPECT_NE(kNamespaces[i].flag, kNamespaces[j].flag);
}

TEST(Namespaces, RefusedPerModeWithAReason) {
  auto err = [](Spec s) {
    s.command = {"/bin/true"};
    auto v = s.validate();
    return v ? std::string() : v.error().what();
  };
  Spec spawn;
  spawn.mode = Mode::spawn;
  spawn.namespaces = CLONE_NEWUTS;
  EXPECT_NE(err(spawn).find("posix_spawn"), std::string::npos);  // no rdbox code in the child
  spawn.namespaces = 0;
  spawn.init = true;
  EXPECT_NE(err(spawn).find("--init"), std::string::npos);
  Spec fork_pid;
  fork_pid.mode = Mode::fork;
  fork_pid.namespaces = CLONE_NEWPID;
  EXPECT_EQ(err(fork_pid), "");  // a relay forks PID 1
  Spec vfork_pid;
  vfork_pid.mode = Mode::vfork;
  vfork_pid.namespaces = CLONE_NEWPID;
  EXPECT_NE(err(vfork_pid).find("--mode fork or clone"), std::string::npos);
  Spec vfork_user;
  vfork_user.mode = Mode::vfork;
  vfork_user.namespaces = CLONE_NEWUSER;
  EXPECT_NE(err(vfork_user).find("--newuser"), std::string::npos);
  Spec vfork_maps;
  vfork_maps.vfork = true;
  vfork_maps.uid_maps = {{0, 0, 1}};
  EXPECT_NE(err(vfork_maps).find("suspended"), std::string::npos);
  Spec ok_clone;
  ok_clone.vm = true;
  ok_clone.vfork = true;
  ok_clone.namespaces = CLONE_NEWPID | CLONE_NEWUSER;
  EXPECT_EQ(err(ok_clone), "");
  Spec long_host;
  long_host.hostname = std::string(65, 'x');
  EXPECT_NE(err(long_host).find("--hostname"), std::string::npos);
  Spec overlay;
  overlay.overlay = true;
  EXPECT_NE(err(overlay).find("--rootfs"), std::string::npos);
}

namespace {
char* no_env[] = {nullptr};
}  // namespace

TEST(UserPlan, DefaultMapIsWrittenByTheChild) {
  Spec s;
  s.command = {"/bin/true"};
  s.namespaces = CLONE_NEWUSER | CLONE_NEWUTS;
  auto p = plan(s, no_env);
  ASSERT_TRUE(p.ok()) << p.error().what();
  EXPECT_TRUE(p->self_maps);
  EXPECT_FALSE(p->parent_maps);
  EXPECT_EQ(p->uid_map, "0 " + std::to_string(::geteuid()) + " 1\n");
  EXPECT_TRUE(p->clone_flags & CLONE_NEWUSER);
  EXPECT_TRUE(p->loopback == false);
}

// Validation says exactly what the traits table says, for every mode.
TEST(ModeTraits, ValidationFollowsTheTable) {
  for (const auto& t : kModeTraits) {
    auto spec = [&](auto tweak) {
      Spec s;
      s.command = {"/bin/true"};
      s.mode = t.mode;
      s.vm = t.vm;
      s.vfork = t.vfork;
      tweak(s);
      return s.validate().ok();
    };
    SCOPED_TRACE(std::string(t.name));
    EXPECT_TRUE(spec([](Spec&) {}));
    EXPECT_EQ(spec([](Spec& s) { s.namespaces = CLONE_NEWUTS; }), t.can_sandbox);
    EXPECT_EQ(spec([](Spec& s) { s.namespaces = CLONE_NEWUSER; }), t.can_sandbox && t.can_make_user_ns);
    EXPECT_EQ(spec([](Spec& s) { s.namespaces = CLONE_NEWPID; }), t.can_sandbox && t.can_new_pid);
    EXPECT_EQ(spec([](Spec& s) { s.init = true; }), t.can_sandbox && t.can_run_init);
    EXPECT_EQ(spec([](Spec& s) { s.uid_maps = {{0, 0, 1}}; }),
              t.can_sandbox && t.can_make_user_ns && t.can_wait_for_parent);
    EXPECT_EQ(&mode_traits(t.mode, (t.vm ? CLONE_VM : 0) | (t.vfork ? CLONE_VFORK : 0)), &t);
  }
}
