// config.json and process.json → the neutral config (src/oci/config.cpp): what each field
// becomes, and one error naming the field for each kind of bad input. No process spawned.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "oci/config.hpp"
#include "oci/resources.hpp"
#include "runtime/cgroup_limits.hpp"

using namespace rdbox;
using json = nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "h",
    "process": {"args": ["sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin"],
                "user": {"uid": 1, "gid": 2, "additionalGids": [3, 4], "umask": 18},
                "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                                 "permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"],
                                 "ambient": ["CAP_KILL", "CAP_CHOWN"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
                "noNewPrivileges": true, "oomScoreAdj": 100, "terminal": true},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755"]},
      {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "nodev", "rprivate"]},
      {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}
    ],
    "linux": {
      "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/proc/1/ns/net"}],
      "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
      "resources": {"memory": {"limit": 1048576}, "pids": {"limit": 10}, "cpu": {"quota": 50000, "period": 100000}},
      "cgroupsPath": "/rdbox/c1",
      "sysctl": {"net.ipv4.ip_forward": "1"}
    },
    "annotations": {"a": "b"},
    "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
  })");
}

oci::ParseOptions opts() {
  oci::ParseOptions o;
  o.bundle_dir = "/b";
  return o;
}

Expected<oci::Bundle> parse(const json& j, oci::ParseOptions o = opts()) { return oci::parse_config(j.dump(), o); }

std::string error_of(const json& j, oci::ParseOptions o = opts()) {
  auto b = parse(j, o);
  EXPECT_FALSE(b.ok()) << j.dump();
  return b.ok() ? "" : b.error().what();
}

}  // namespace

TEST(OciConfig, FieldsBecomeTheNeutralConfig) {
  auto b = parse(base());
  ASSERT_TRUE(b.ok()) << b.error().what();
  const SandboxConfig& c = b->config;
  EXPECT_EQ(c.root, "/b/rootfs");
  EXPECT_TRUE(c.root_readonly);
  EXPECT_EQ(c.hostname, "h");
  EXPECT_FALSE(c.launch.die_with_parent);
  EXPECT_TRUE(c.launch.start_gate);
  const ProcessConfig& p = c.processes.at(0);
  EXPECT_EQ(p.argv, (std::vector<std::string>{"sh", "-c", "true"}));
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/bin"}));
  ASSERT_TRUE(p.user);
  EXPECT_EQ(p.user->uid, 1u);
  EXPECT_EQ(p.user->gid, 2u);
  EXPECT_EQ(p.groups, (std::vector<std::uint32_t>{3, 4}));
  ASSERT_TRUE(p.caps);
  std::uint64_t kill_ = 1ULL << CAP_KILL, chown_ = 1ULL << CAP_CHOWN;
  EXPECT_EQ(p.caps->bounding, kill_ | chown_);
  EXPECT_EQ(p.caps->effective, kill_);
  EXPECT_EQ(p.caps->permitted, kill_ | chown_);
  EXPECT_EQ(p.caps->inheritable, kill_);
  EXPECT_EQ(p.caps->ambient, kill_) << "ambient stays within permitted and inheritable";
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].soft, 10u);
  EXPECT_EQ(p.rlimits[0].hard, 20u);
  EXPECT_TRUE(p.no_new_privs);
  EXPECT_EQ(b->process.umask, 18u);
  EXPECT_EQ(b->process.oom_score_adj, 100);
  EXPECT_TRUE(b->process.terminal);
  ASSERT_EQ(c.namespaces.size(), 4u);
  EXPECT_EQ(c.namespaces[3].kind, static_cast<std::uint64_t>(CLONE_NEWNET));
  EXPECT_EQ(c.namespaces[3].path, "/proc/1/ns/net");
  EXPECT_EQ(c.namespaces[3].origin, "linux.namespaces[3]");
  ASSERT_TRUE(c.cgroup);
  EXPECT_EQ(c.cgroup->path, "/rdbox/c1");
  EXPECT_EQ(c.cgroup->memory_max, 1048576);
  EXPECT_EQ(c.cgroup->pids_max, 10);
  EXPECT_EQ(c.cgroup->cpu_quota_us, 50000);
  EXPECT_EQ(b->sysctl.size(), 1u);
  EXPECT_EQ(b->annotations.at("a"), "b");
  ASSERT_EQ(b->hooks.prestart.size(), 1u);
  EXPECT_EQ(b->hooks.prestart[0].timeout, 5);
  EXPECT_FALSE(b->warnings.empty()) << "the cgroup mount is skipped with a warning";
}

TEST(OciConfig, MountsKeepTheirOrderOptionsAndOrigins) {
  auto b = parse(base());
  ASSERT_TRUE(b.ok()) << b.error().what();
  const auto& m = b->config.mounts;
  ASSERT_GE(m.size(), 4u);
  EXPECT_EQ(m[0].type, MountType::proc);
  EXPECT_EQ(m[0].origin, "mounts[0].destination");
  EXPECT_EQ(m[1].type, MountType::tmpfs);
  EXPECT_EQ(m[1].destination, "/dev");
  EXPECT_EQ(m[1].flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(m[1].data, "mode=755") << "strictatime is a flag word, mode= the filesystem's";
  // The default devices follow /dev.
  bool null_found = false;
  std::size_t data_at = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i].destination == "/dev/null") null_found = true;
    if (m[i].destination == "/data") data_at = i;
  }
  EXPECT_TRUE(null_found);
  ASSERT_NE(data_at, 0u);
  EXPECT_EQ(m[data_at].type, MountType::bind);
  EXPECT_EQ(m[data_at].source, "/b/data") << "relative to the bundle";
  EXPECT_TRUE(m[data_at].recursive);
  EXPECT_TRUE(m[data_at].read_only);
  EXPECT_EQ(m[data_at].flags, static_cast<unsigned long>(MS_NODEV));
  EXPECT_EQ(m[m.size() - 2].type, MountType::mask);
  EXPECT_EQ(m[m.size() - 2].origin, "linux.maskedPaths[0]");
  EXPECT_EQ(m.back().type, MountType::readonly);
  for (const auto& e : m) EXPECT_NE(e.destination, "/sys/fs/cgroup");
}

TEST(OciConfig, NoDevMountGetsOneOfItsOwn) {
  json j = base();
  j["mounts"] = json::array();
  auto b = parse(j);
  ASSERT_TRUE(b.ok()) << b.error().what();
  EXPECT_EQ(b->config.mounts.at(0).destination, "/dev");
  EXPECT_EQ(b->config.mounts.at(0).type, MountType::tmpfs);
}

TEST(OciConfig, CapabilitiesAbsentMeansNone) {
  json j = base();
  j["process"].erase("capabilities");
  auto b = parse(j);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->config.processes[0].caps);
  EXPECT_EQ(b->config.processes[0].caps->bounding, 0u);
}

TEST(OciConfig, EachBadFieldIsNamed) {
  struct Case {
    std::function<void(json&)> edit;
    std::string want;
  } cases[] = {
      {[](json& j) { j.erase("ociVersion"); }, "ociVersion"},
      {[](json& j) { j["ociVersion"] = "2.0.0"; }, "ociVersion"},
      {[](json& j) { j["ociVersion"] = 1; }, "ociVersion: must be a string"},
      {[](json& j) { j.erase("root"); }, "root"},
      {[](json& j) { j["root"]["readonly"] = "yes"; }, "root.readonly"},
      {[](json& j) { j["process"]["args"] = json::array(); }, "process.args"},
      {[](json& j) { j["process"]["args"] = {1}; }, "process.args[0]"},
      {[](json& j) { j["process"]["cwd"] = "rel"; }, "process.cwd"},
      {[](json& j) { j["process"]["env"] = {"NOEQUALS"}; }, "process.env[0]"},
      {[](json& j) { j["process"]["user"]["uid"] = -1; }, "process.user.uid"},
      {[](json& j) { j["process"]["user"]["uid"] = 4294967296.0; }, "process.user.uid"},
      {[](json& j) { j["process"]["user"]["additionalGids"] = {"x"}; }, "process.user.additionalGids[0]"},
      {[](json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_BOGUS"; }, "process.rlimits[0].type"},
      {[](json& j) { j["process"]["rlimits"][0]["soft"] = 30; }, "process.rlimits[0]"},
      {[](json& j) { j["process"]["rlimits"].push_back(j["process"]["rlimits"][0]); }, "process.rlimits[1].type"},
      {[](json& j) { j["process"]["capabilities"]["effective"] = {"ALL"}; }, "process.capabilities.effective[0]"},
      {[](json& j) { j["process"]["oomScoreAdj"] = 1001; }, "process.oomScoreAdj"},
      {[](json& j) { j["process"]["scheduler"] = json::object(); }, "process.scheduler"},
      {[](json& j) { j["mounts"][0]["destination"] = "/"; }, "mounts[0].destination"},
      {[](json& j) { j["mounts"][0]["destination"] = "/a/../b"; }, "mounts[0].destination"},
      {[](json& j) { j["mounts"][1]["type"] = "ext4"; }, "mounts[1].type"},
      {[](json& j) { j["mounts"][2]["options"] = {"rbind", ""}; }, "mounts[2].options[1]"},
      {[](json& j) { j["linux"]["rootfsPropagation"] = "sideways"; }, "linux.rootfsPropagation"},
      {[](json& j) { j["mounts"][2]["source"] = ""; }, "mounts[2].source"},
      {[](json& j) { j["mounts"][2]["uidMappings"] = json::array(); }, "mounts[2].uidMappings"},
      {[](json& j) { j["mounts"] = json::object(); }, "mounts: must be an array"},
      {[](json& j) { j["linux"]["namespaces"].push_back({{"type", "pid"}}); }, "linux.namespaces[4].type"},
      {[](json& j) { j["linux"]["namespaces"][0]["type"] = "bogus"; }, "linux.namespaces[0].type"},
      {[](json& j) { j["linux"]["namespaces"][3]["path"] = "rel"; }, "linux.namespaces[3].path"},
      {[](json& j) { j["linux"]["namespaces"].erase(1); }, "linux.namespaces"},
      {[](json& j) { j["linux"]["namespaces"].erase(2); }, "hostname"},
      {[](json& j) { j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}}; },
       "linux.uidMappings"},
      {[](json& j) { j["linux"]["maskedPaths"] = {"relative"}; }, "linux.maskedPaths[0]"},
      {[](json& j) { j["linux"]["sysctl"] = {{"kernel.core_pattern", "x"}}; }, "linux.sysctl.kernel.core_pattern"},
      {[](json& j) { j["linux"]["sysctl"] = {{"net.x", 1}}; }, "linux.sysctl.net.x"},
      {[](json& j) { j["linux"]["resources"]["memory"]["limit"] = "1G"; }, "linux.resources.memory.limit"},
      {[](json& j) { j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"listenerPath", "/x"}}; },
       "linux.seccomp.listenerPath"},
      {[](json& j) { j["linux"]["personality"] = {{"domain", "LINUX32"}}; }, "linux.personality.domain"},
      {[](json& j) { j["linux"]["devices"] = {{{"path", "/dev/nope"}, {"type", "c"}, {"major", 1}, {"minor", 99}, {"fileMode", 70000}}}; },
       "linux.devices[0].fileMode"},
      {[](json& j) { j["hooks"]["prestart"][0]["path"] = "rel"; }, "hooks.prestart[0].path"},
      {[](json& j) { j["hooks"]["poststop"] = {{{"path", "/x"}, {"timeout", 0}}}; }, "hooks.poststop[0].timeout"},
      {[](json& j) { j["annotations"]["x"] = 1; }, "annotations.x"},
      {[](json& j) { j["windows"] = json::object(); }, "windows"},
  };
  for (auto& c : cases) {
    json j = base();
    c.edit(j);
    std::string e = error_of(j);
    EXPECT_NE(e.find(c.want), std::string::npos) << j.dump() << "\n→ " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(OciConfig, NotJsonOrTooDeepIsAnErrorNotACrash) {
  for (std::string text : std::vector<std::string>{"", "{", "[1,2]", "null", "{\"ociVersion\": \"1.0.0\"", std::string(200, '[') + std::string(200, ']'),
                           "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}"}) {
    auto b = oci::parse_config(text, opts());
    EXPECT_FALSE(b.ok()) << text;
    if (!b.ok()) {
      EXPECT_EQ(b.error().context, "config.json") << b.error().what();
    }
  }
}

TEST(OciConfig, RootlessNeedsAUserNamespace) {
  oci::ParseOptions o = opts();
  o.rootless = true;
  std::string e = error_of(base(), o);
  EXPECT_NE(e.find("user namespace"), std::string::npos) << e;
  json j = base();
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  j["linux"]["namespaces"].erase(3);  // the host's network namespace is not the caller's to join here
  EXPECT_TRUE(parse(j, o).ok());
}

TEST(OciConfig, UnknownPropertiesAreIgnored) {
  json j = base();
  j["somethingNew"] = {{"x", 1}};
  j["process"]["somethingNew"] = true;
  j["linux"]["somethingNew"] = "y";
  EXPECT_TRUE(parse(j).ok());
}

TEST(OciProcess, ProcessJsonForExec) {
  auto p = oci::parse_process(R"({"args": ["ls", "-l"], "cwd": "/tmp", "env": ["A=1"], "terminal": true,
                                   "user": {"uid": 5, "gid": 6}})");
  ASSERT_TRUE(p.ok()) << p.error().what();
  EXPECT_EQ(p->argv, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_EQ(p->user->uid, 5u);
  oci::ProcessExtras x;
  ASSERT_TRUE(oci::parse_process(R"({"args": ["x"], "terminal": true})", &x).ok());
  EXPECT_TRUE(x.terminal);
  for (const char* bad : {R"({"args": []})", R"({"args": "ls"})", R"({"args": ["x"], "cwd": 1})", "[]", "{"}) {
    auto r = oci::parse_process(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(OciSignals, NamesAndNumbers) {
  EXPECT_EQ(oci::signal_number("TERM"), SIGTERM);
  EXPECT_EQ(oci::signal_number("SIGTERM"), SIGTERM);
  EXPECT_EQ(oci::signal_number("term"), SIGTERM);
  EXPECT_EQ(oci::signal_number("15"), 15);
  EXPECT_EQ(oci::signal_number("9"), SIGKILL);
  EXPECT_EQ(oci::signal_number("KILL"), SIGKILL);
  EXPECT_EQ(oci::signal_number("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_EQ(oci::signal_number("SIGRTMAX-2"), SIGRTMAX - 2);
  for (const char* bad : {"", "0", "65", "FOO", "SIG", "RTMIN+", "RTMIN+99", "-9", "9x", "99999999999999999999"})
    EXPECT_EQ(oci::signal_number(bad), -1) << bad;
}

// A container of a Kubernetes pod, as containerd's CRI plugin writes it: every namespace
// but the mount namespace is the sandbox's, by path, the PID namespace included (rdbox
// create joins that one before the clone). A privileged one lists the host's /dev/ptmx
// among its devices: the container keeps its own (the link into its devpts).
TEST(OciConfig, APodMembersNamespacesByPathPidIncluded) {
  json j = base();
  j["linux"]["namespaces"] = {{{"type", "pid"}, {"path", "/proc/7/ns/pid"}}, {{"type", "ipc"}, {"path", "/proc/7/ns/ipc"}},
                              {{"type", "uts"}, {"path", "/proc/7/ns/uts"}}, {{"type", "mount"}},
                              {{"type", "network"}, {"path", "/proc/7/ns/net"}}};
  j["linux"]["devices"] = {{{"path", "/dev/ptmx"}, {"type", "c"}, {"major", 5}, {"minor", 2}}};
  auto b = parse(j);
  ASSERT_TRUE(b.ok()) << b.error().what();
  const NamespaceEntry* pid = b->config.find_namespace(CLONE_NEWPID);
  ASSERT_TRUE(pid);
  EXPECT_EQ(pid->path, "/proc/7/ns/pid");
  for (const auto& m : b->config.mounts)
    EXPECT_FALSE(m.type == MountType::bind && m.destination == "/dev/ptmx") << "the host's ptmx was bound";
}

// linux.resources: every object to the neutral CgroupConfig, the device list ending with
// the defaults and linux.devices' nodes; bad values name their field.
TEST(OciConfig, BindDataOptionsAreWarnedAndPropagationIsKept) {
  json j = base();
  j["mounts"][2]["options"] = {"rbind", "mode=755"};
  j["linux"]["rootfsPropagation"] = "rshared";
  auto b = parse(j);
  ASSERT_TRUE(b.ok()) << b.error().what();
  bool warned = false;
  for (const auto& w : b->warnings) warned = warned || w.find("mounts[2].options[1]") != std::string::npos;
  EXPECT_TRUE(warned) << "a filesystem option on a bind mount is ignored with a warning";
  EXPECT_EQ(b->config.root_propagation, static_cast<unsigned long>(MS_SHARED));
}

TEST(OciConfig, DevicesTheHostLacksAreMadeAsRootOnly) {
  json j = base();
  j["linux"]["devices"] = {{{"path", "/dev/rdbox-nope"}, {"type", "c"}, {"major", 1}, {"minor", 99}, {"fileMode", 384},
                            {"uid", 7}}};
  auto b = parse(j);
  ASSERT_TRUE(b.ok()) << b.error().what();
  bool made = false;
  for (const auto& m : b->config.mounts)
    if (m.type == MountType::device && m.destination == "/dev/rdbox-nope") {
      made = true;
      EXPECT_EQ(m.device.mode, static_cast<std::uint32_t>(S_IFCHR | 0600));
      EXPECT_EQ(m.device.uid, 7u);
    }
  EXPECT_TRUE(made);
  oci::ParseOptions o = opts();
  o.rootless = true;
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  EXPECT_NE(error_of(j, o).find("linux.devices[0]"), std::string::npos);
}

TEST(OciResources, EveryObjectBecomesALimit) {
  json j = base();
  j["linux"]["resources"] = json::parse(R"({
    "memory": {"limit": 100, "reservation": 50, "swap": 200, "kernel": 7, "kernelTCP": 8, "swappiness": 10,
               "disableOOMKiller": true},
    "cpu": {"shares": 1, "quota": -1, "period": 5000, "realtimeRuntime": 9, "realtimePeriod": 10, "cpus": "0-1",
            "mems": "0"},
    "pids": {"limit": -1},
    "blockIO": {"weight": 500, "leafWeight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 400}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 4096}],
    "network": {"classID": 17, "priorities": [{"name": "eth0", "priority": 3}]},
    "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
  })");
  auto b = parse(j);
  ASSERT_TRUE(b.ok()) << b.error().what();
  const auto& c = *b->config.cgroup;
  EXPECT_EQ(c.memory_max, 100);
  EXPECT_EQ(c.memory_reservation, 50);
  EXPECT_EQ(c.memory_swap_max, 200);
  EXPECT_EQ(c.memory_swappiness, 10u);
  EXPECT_TRUE(c.memory_disable_oom_killer);
  EXPECT_EQ(c.cpu_shares, 2u) << "clamped to the kernel's range";
  EXPECT_EQ(c.cpu_quota_us, -1);
  EXPECT_EQ(c.cpuset_cpus, "0-1");
  EXPECT_EQ(c.pids_max, -1);
  EXPECT_EQ(c.blkio_weight, 500u);
  ASSERT_EQ(c.blkio_weight_devices.size(), 1u);
  EXPECT_EQ(c.blkio_weight_devices[0].weight, 400u);
  ASSERT_EQ(c.blkio_read_bps.size(), 1u);
  EXPECT_EQ(c.blkio_read_bps[0].rate, 1024u);
  ASSERT_EQ(c.hugepage_limits.size(), 1u);
  EXPECT_EQ(c.net_classid, 17u);
  ASSERT_EQ(c.devices.size(), 2 + oci::default_device_rules().size());
  EXPECT_FALSE(c.devices[0].allow);
  EXPECT_EQ(c.devices[1].major, 1);
  EXPECT_EQ(c.resources_origin, "linux.resources");
  EXPECT_TRUE(c.every_hierarchy);
}

TEST(OciResources, BadValuesNameTheirField) {
  struct Case {
    const char* resources;
    const char* field;
  };
  for (const Case& k : {Case{R"({"memory": {"limit": "1G"}})", "linux.resources.memory.limit"},
                        Case{R"({"memory": {"swappiness": 101}})", "linux.resources.memory.swappiness"},
                        Case{R"({"cpu": {"cpus": "all"}})", "linux.resources.cpu.cpus"},
                        Case{R"({"pids": {"limit": -2}})", "linux.resources.pids.limit"},
                        Case{R"({"devices": [{"access": "rwm"}]})", "linux.resources.devices[0].allow"},
                        Case{R"({"devices": [{"allow": true, "access": "x"}]})", "linux.resources.devices[0].access"},
                        Case{R"({"hugepageLimits": [{"pageSize": "../x", "limit": 1}]})",
                             "linux.resources.hugepageLimits[0].pageSize"},
                        Case{R"({"blockIO": {"weightDevice": [{"minor": 0}]}})",
                             "linux.resources.blockIO.weightDevice[0].major"}}) {
    json j = base();
    j["linux"]["resources"] = json::parse(k.resources);
    EXPECT_EQ(error_of(j).rfind(k.field, 0), 0u) << k.resources << " → " << error_of(j);
  }
  auto upd = oci::parse_resources_text(R"({"pids": {"limit": 5}, "memory": {"limit": 7}})", "--resources");
  ASSERT_TRUE(upd.ok()) << upd.error().what();
  EXPECT_EQ(upd->pids_max, 5);
  EXPECT_FALSE(oci::parse_resources_text("[1]", "--resources").ok());
}

// The files a controller's directory gets: v1 and v2 names, in order.
TEST(CgroupWrites, V1AndV2FileNames) {
  CgroupConfig c;
  c.memory_max = 100;
  c.memory_swap_max = 300;
  c.memory_reservation = 50;
  c.cpu_shares = 1024;
  c.cpu_quota_us = 20000;
  c.cpu_period_us = 100000;
  c.pids_max = -1;
  c.devices = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, -1, "rw"}};
  auto files = [](Expected<std::vector<CgroupWrite>> w) {
    std::vector<std::string> out;
    for (const auto& x : *w) out.push_back(x.file + "=" + x.value);
    return out;
  };
  EXPECT_EQ(files(cgroup_writes(c, "memory", 1)),
            (std::vector<std::string>{"memory.limit_in_bytes=100", "memory.memsw.limit_in_bytes=300",
                                      "memory.soft_limit_in_bytes=50"}));
  EXPECT_EQ(files(cgroup_writes(c, "memory", 2)),
            (std::vector<std::string>{"memory.max=100", "memory.swap.max=200", "memory.low=50"}));
  EXPECT_EQ(files(cgroup_writes(c, "cpu", 1)),
            (std::vector<std::string>{"cpu.shares=1024", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=20000"}));
  EXPECT_EQ(files(cgroup_writes(c, "cpu", 2)), (std::vector<std::string>{"cpu.weight=39", "cpu.max=20000 100000"}));
  EXPECT_EQ(files(cgroup_writes(c, "pids", 2)), (std::vector<std::string>{"pids.max=max"}));
  EXPECT_EQ(files(cgroup_writes(c, "devices", 1)), (std::vector<std::string>{"devices.deny=a", "devices.allow=c 1:* rw"}));
  c.memory_swappiness = 5;
  c.resources_origin = "linux.resources";
  auto v2 = cgroup_writes(c, "memory", 2);
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(std::string(v2.error().what()).rfind("linux.resources.memory.swappiness", 0), 0u) << v2.error().what();
  auto names = cgroup_wanted_controllers(c);
  ASSERT_EQ(names.size(), 4u);
  EXPECT_STREQ(names[3].v1, "devices");
}
