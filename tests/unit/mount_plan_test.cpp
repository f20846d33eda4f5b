// The mount plan, built without privilege (HostFacts say what the host allows): order,
// the rootfs recipe, and the rule that the given root is never written.
#include <gtest/gtest.h>
#include <sched.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rdbox/plan.hpp"

using namespace rdbox;

namespace {

char* no_env[] = {nullptr};

struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/rdbox-unit-XXXXXX";
    path = ::mkdtemp(tmpl);
    for (const char* d : {"proc", "dev", "sys", "mnt", "etc"}) std::filesystem::create_directory(path + "/" + d);
  }
  ~TempRoot() { std::filesystem::remove_all(path); }
};

HostFacts privileged() {
  HostFacts f;
  f.euid = 0;
  f.sys_admin = f.setuid_caps = true;
  return f;
}

Spec rootfs_spec(const std::string& root) {
  Spec s;
  s.command = {"/bin/true"};
  s.namespaces = CLONE_NEWPID;
  s.rootfs = root;
  return s;
}

MountEntry bind(const char* arg, bool ro = false) { return parse_bind(arg, ro).value(); }
MountEntry tmpfs(const char* dst) { return parse_tmpfs(dst).value(); }

// Where a step acts, inside the sandbox: its layer's path joined with its dst.
std::string at(const Plan& p, const MountStep& m) {
  if (m.layer < 0) return m.dst;
  std::string base = p.layer_paths[static_cast<std::size_t>(m.layer)];
  if (std::string(m.dst) == ".") return base;
  return (base == "/" ? "" : base) + "/" + m.dst;
}

// Index of the first step matching, or -1.
int find(const Plan& p, MountOp op, const std::string& where, const std::string& name = "") {
  for (std::size_t i = 0; i < p.mounts.size(); ++i) {
    const MountStep& m = p.mounts[i];
    if (m.op == op && m.dst && at(p, m) == where && (name.empty() || (m.name && name == m.name)))
      return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

TEST(MountPlan, RecipeFirstThenTheUsersEntriesInOrder) {
  TempRoot root;
  Spec s = rootfs_spec(root.path);
  s.mounts = {tmpfs("/mnt"), bind("/etc:/mnt/sub"), bind("/usr:/dev/hostusr", true)};
  s.read_only = true;
  auto p = plan(s, no_env, privileged());
  ASSERT_TRUE(p.ok()) << p.error().what();
  const auto& m = p->mounts;
  EXPECT_EQ(m.front().op, MountOp::propagate);
  EXPECT_EQ(m[1].op, MountOp::root);
  EXPECT_EQ(m.back().op, MountOp::pivot);
  EXPECT_EQ(m[m.size() - 2].op, MountOp::readonly);
  int proc = find(*p, MountOp::mount, "/proc"), dev = find(*p, MountOp::mount, "/dev");
  int user_tmpfs = find(*p, MountOp::mount, "/mnt"), sub = find(*p, MountOp::mount, "/mnt/sub");
  int hostusr = find(*p, MountOp::mount, "/dev/hostusr");
  ASSERT_GE(proc, 0);
  ASSERT_GE(dev, 0);
  EXPECT_STREQ(m[proc].fstype, "proc");
  EXPECT_STREQ(m[proc].fallback, "/proc");
  // The user's entries come after rdbox's own, in the order given: the bind lands in the
  // tmpfs, and the target under /dev lands in rdbox's /dev.
  EXPECT_LT(dev, user_tmpfs);
  EXPECT_LT(user_tmpfs, sub);
  EXPECT_LT(sub, hostusr);
  EXPECT_GE(find(*p, MountOp::mkdir, "/mnt", "sub"), 0);  // made in the run's own tmpfs
  EXPECT_GE(find(*p, MountOp::mkdir, "/dev", "hostusr"), 0);
  // Made beneath the tmpfs's own descriptor, not by a path from the root.
  EXPECT_EQ(p->mounts[find(*p, MountOp::mkdir, "/mnt", "sub")].layer, m[user_tmpfs].new_layer);
  EXPECT_NE(m[hostusr].flags & MOUNT_ATTR_RDONLY, 0u);  // read-only set on the mount itself
  EXPECT_NE(m[find(*p, MountOp::mount, "/sys")].flags & MOUNT_ATTR_RDONLY, 0u);
  // The program runs each mount step once, in order.
  std::uint32_t next = 0;
  for (const auto& op : p->program)
    if (op.step == Step::mounts) {
      EXPECT_EQ(op.item, next++);
    }
  EXPECT_EQ(next, m.size());
}

TEST(MountPlan, ALaterEntryOnTheSameDestinationComesLater) {
  TempRoot root;
  Spec s = rootfs_spec(root.path);
  s.mounts = {bind("/usr:/mnt", true), bind("/etc:/mnt")};
  auto p = plan(s, no_env, privileged());
  ASSERT_TRUE(p.ok()) << p.error().what();
  int first = -1, second = -1;
  for (std::size_t i = 0; i < p->mounts.size(); ++i)
    if (p->mounts[i].op == MountOp::mount && p->mounts[i].src && at(*p, p->mounts[i]) == "/mnt")
      (std::string(p->mounts[i].src) == "/usr" ? first : second) = static_cast<int>(i);
  ASSERT_GE(first, 0);
  EXPECT_GT(second, first);
}

TEST(MountPlan, NeverCreatesAnythingInTheGivenRoot) {
  TempRoot root;
  Spec s = rootfs_spec(root.path);
  s.mounts = {bind("/etc:/missing/dir")};
  auto p = plan(s, no_env, privileged());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().what().find("\"/missing/dir\" does not exist in the rootfs"), std::string::npos) << p.error().what();
  EXPECT_NE(p.error().what().find("--bind"), std::string::npos);
  s.mounts = {tmpfs("/missing")};
  EXPECT_FALSE(plan(s, no_env, privileged()).ok());
  // rdbox's own targets too: a rootfs without /proc is refused, not modified.
  std::filesystem::remove(root.path + "/proc");
  s.mounts.clear();
  auto q = plan(s, no_env, privileged());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().what().find("\"/proc\""), std::string::npos) << q.error().what();
  // With --overlay the root is the run's own upper layer: created there.
  s.overlay = true;
  s.mounts = {bind("/etc:/missing/dir")};
  auto o = plan(s, no_env, privileged());
  ASSERT_TRUE(o.ok()) << o.error().what();
  EXPECT_GE(find(*o, MountOp::mkdir, "/", "missing"), 0);
  EXPECT_GE(find(*o, MountOp::mkdir, "/", "proc"), 0);
}

TEST(MountPlan, NeverWritesIntoABindSource) {
  TempRoot root, src;
  Spec s = rootfs_spec(root.path);
  s.mounts = {bind((src.path + ":/mnt").c_str()), bind("/etc:/mnt/inside")};
  auto p = plan(s, no_env, privileged());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().what().find("never writes into a bind source"), std::string::npos) << p.error().what();
  s.mounts = {bind((src.path + ":/mnt").c_str()), bind("/etc:/mnt/etc")};  // exists in the source
  EXPECT_TRUE(plan(s, no_env, privileged()).ok());
}

TEST(MountPlan, SymlinksInTheRootfsResolveInsideIt) {
  TempRoot root;
  // /mnt/out -> / (absolute): beneath the root it is the root itself, never the host's /.
  std::filesystem::create_directory_symlink("/", root.path + "/mnt/out");
  Spec s = rootfs_spec(root.path);
  s.mounts = {bind("/etc:/mnt/out/etc")};  // the rootfs has /etc: fine, inside it
  auto p = plan(s, no_env, privileged());
  ASSERT_TRUE(p.ok()) << p.error().what();
  s.mounts = {bind("/etc:/mnt/out/nonexistent-on-the-root")};
  ASSERT_FALSE(plan(s, no_env, privileged()).ok());  // would have to be made in the rootfs
}

TEST(MountPlan, OverlayNamesItsLayersByDescriptor) {
  TempRoot root;
  Spec s = rootfs_spec(root.path);
  s.overlay = true;
  auto p = plan(s, no_env, privileged());
  ASSERT_TRUE(p.ok()) << p.error().what();
  ASSERT_TRUE(p->rootfs_fd);
  ASSERT_TRUE(p->overlay_fd);
  const MountStep& o = p->mounts[1];
  EXPECT_EQ(o.op, MountOp::overlay_root);
  EXPECT_EQ(static_cast<int>(o.flags), p->rootfs_fd.get());
  std::string a = std::to_string(p->rootfs_fd.get()), b = std::to_string(p->overlay_fd.get());
  EXPECT_EQ(std::string(o.data), "lowerdir=/proc/self/fd/" + a + ",upperdir=/proc/self/fd/" + b +
                                     "/upper,workdir=/proc/self/fd/" + b + "/work");
  struct stat st {};
  ASSERT_EQ(::stat(root.path.c_str(), &st), 0);
  EXPECT_EQ(p->rootfs_ino, st.st_ino);
}

TEST(MountPlan, WithoutARootTargetsMustExistOnTheHost) {
  Spec s;
  s.command = {"/bin/true"};
  s.mounts = {tmpfs("/nonexistent-rdbox-target")};
  auto p = plan(s, no_env, privileged());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().what().find("without --rootfs it must exist"), std::string::npos);
  s.mounts = {bind("/nonexistent/src:/tmp")};
  auto q = plan(s, no_env, privileged());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().what().find("bind source"), std::string::npos);
  s.mounts = {tmpfs("/tmp"), bind("/etc:/tmp/x")};  // /tmp/x would be made in the host's /tmp? no: in the tmpfs
  auto r = plan(s, no_env, privileged());
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_GE(find(*r, MountOp::mkdir, "/tmp", "x"), 0);
  EXPECT_EQ(r->mounts[find(*r, MountOp::mkdir, "/tmp", "x")].layer, 0);  // beneath the tmpfs, layer 0 here
}

TEST(MountPlan, RootfsThatIsTheHostRootIsRefused) {
  Spec s = rootfs_spec("/");
  auto p = plan(s, no_env, privileged());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().what().find("host's root"), std::string::npos);
}
