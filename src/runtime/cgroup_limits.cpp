#include "cgroup_limits.hpp"

#include <cstdint>

namespace rdbox {

namespace {

using Writes = std::vector<CgroupWrite>;

std::string num(std::int64_t v) { return std::to_string(v); }
std::string unum(std::uint64_t v) { return std::to_string(v); }
// v2's .max files say "max" for no limit; v1's take -1.
std::string limit_text(std::int64_t v, bool v2) { return v2 && v < 0 ? "max" : num(v); }

Error v1_only(const CgroupConfig& c, const std::string& field) {
  return Error::input(cgroup_field_name(c, field), "cannot be set on cgroup v2 (a v1 controller file; "
                                                   "this host has the controller on v2)");
}

std::string device(std::int64_t major, std::int64_t minor) { return num(major) + ":" + num(minor); }

Status memory_writes(const CgroupConfig& c, bool v2, Writes& w) {
  if (c.memory_max) w.push_back({v2 ? "memory.max" : "memory.limit_in_bytes", limit_text(*c.memory_max, v2), "memory.limit", true});
  if (c.memory_swap_max) {
    std::int64_t swap = *c.memory_swap_max;
    if (v2 && swap > 0) {  // v2's memory.swap.max is the swap alone, OCI's is memory + swap
      if (!c.memory_max || *c.memory_max < 0 || swap < *c.memory_max)
        return Error::input(cgroup_field_name(c, "memory.swap"), "must be at least memory.limit on cgroup v2 "
                                                                 "(it is memory plus swap)");
      swap -= *c.memory_max;
    }
    w.push_back({v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", limit_text(swap, v2), "memory.swap", true});
  }
  if (c.memory_reservation)
    w.push_back({v2 ? "memory.low" : "memory.soft_limit_in_bytes", limit_text(*c.memory_reservation, v2), "memory.reservation"});
  struct V1Only {
    bool set;
    const char* file;
    std::string value;
    const char* field;
  };
  const V1Only v1_files[] = {
      {c.memory_kernel.has_value(), "memory.kmem.limit_in_bytes", num(c.memory_kernel.value_or(0)), "memory.kernel"},
      {c.memory_kernel_tcp.has_value(), "memory.kmem.tcp.limit_in_bytes", num(c.memory_kernel_tcp.value_or(0)), "memory.kernelTCP"},
      {c.memory_swappiness.has_value(), "memory.swappiness", unum(c.memory_swappiness.value_or(0)), "memory.swappiness"},
      {c.memory_disable_oom_killer, "memory.oom_control", "1", "memory.disableOOMKiller"},
  };
  for (const auto& f : v1_files) {
    if (!f.set) continue;
    if (v2) return v1_only(c, f.field);
    w.push_back({f.file, f.value, f.field});
  }
  return ok();
}

Status pids_writes(const CgroupConfig& c, bool v2, Writes& w) {
  if (c.pids_max) w.push_back({"pids.max", *c.pids_max < 0 ? "max" : num(*c.pids_max), "pids.limit"});
  (void)v2;
  return ok();
}

// shares 2..262144 ↔ weight 1..10000, as crun converts them.
std::uint64_t shares_to_weight(std::uint64_t s) { return 1 + ((s < 2 ? 0 : s - 2) * 9999) / 262142; }
std::uint64_t weight_to_shares(std::uint64_t wt) { return 2 + ((wt < 1 ? 0 : wt - 1) * 262142) / 9999; }

Status cpu_writes(const CgroupConfig& c, bool v2, Writes& w) {
  std::optional<std::uint64_t> weight = c.cpu_weight, shares = c.cpu_shares;
  if (v2 && !weight && shares) weight = shares_to_weight(*shares);
  if (!v2 && !shares && weight) shares = weight_to_shares(*weight);
  if (v2 && weight) w.push_back({"cpu.weight", unum(*weight), "cpu.shares"});
  if (!v2 && shares) w.push_back({"cpu.shares", unum(*shares), "cpu.shares"});
  if (v2 && (c.cpu_quota_us || c.cpu_period_us)) {
    // "QUOTA PERIOD"; a quota alone keeps the period, a period alone needs the quota
    // written with it (cgroup.cpp fills in the current one: "" here means "keep").
    std::string quota = c.cpu_quota_us ? limit_text(*c.cpu_quota_us, true) : "";
    w.push_back({"cpu.max", quota + (c.cpu_period_us ? " " + unum(*c.cpu_period_us) : ""), "cpu.quota"});
  }
  if (!v2) {
    if (c.cpu_period_us) w.push_back({"cpu.cfs_period_us", unum(*c.cpu_period_us), "cpu.period", true});
    if (c.cpu_quota_us) w.push_back({"cpu.cfs_quota_us", num(*c.cpu_quota_us), "cpu.quota", true});
  }
  if (c.cpu_rt_period_us || c.cpu_rt_runtime_us) {
    if (v2) return v1_only(c, c.cpu_rt_period_us ? "cpu.realtimePeriod" : "cpu.realtimeRuntime");
    if (c.cpu_rt_period_us) w.push_back({"cpu.rt_period_us", unum(*c.cpu_rt_period_us), "cpu.realtimePeriod", true});
    if (c.cpu_rt_runtime_us) w.push_back({"cpu.rt_runtime_us", num(*c.cpu_rt_runtime_us), "cpu.realtimeRuntime", true});
  }
  return ok();
}

Status cpuset_writes(const CgroupConfig& c, bool, Writes& w) {
  if (!c.cpuset_cpus.empty()) w.push_back({"cpuset.cpus", c.cpuset_cpus, "cpu.cpus"});
  if (!c.cpuset_mems.empty()) w.push_back({"cpuset.mems", c.cpuset_mems, "cpu.mems"});
  return ok();
}

// blkio weight 10..1000 → io.weight 1..10000 (crun's conversion).
std::uint64_t blkio_to_io_weight(std::uint64_t b) { return 1 + ((b < 10 ? 0 : b - 10) * 9999) / 990; }

Status blkio_writes(const CgroupConfig& c, bool v2, Writes& w) {
  if (c.blkio_weight)
    w.push_back(v2 ? CgroupWrite{"io.weight", "default " + unum(blkio_to_io_weight(*c.blkio_weight)), "blockIO.weight"}
                   : CgroupWrite{"blkio.weight", unum(*c.blkio_weight), "blockIO.weight", false, "blkio.bfq.weight"});
  if (c.blkio_leaf_weight) {
    if (v2) return v1_only(c, "blockIO.leafWeight");
    w.push_back({"blkio.leaf_weight", unum(*c.blkio_leaf_weight), "blockIO.leafWeight"});
  }
  for (const auto& d : c.blkio_weight_devices) {
    if (d.weight)
      w.push_back(v2 ? CgroupWrite{"io.weight", device(d.major, d.minor) + " " + unum(blkio_to_io_weight(*d.weight)),
                                   "blockIO.weightDevice"}
                     : CgroupWrite{"blkio.weight_device", device(d.major, d.minor) + " " + unum(*d.weight),
                                   "blockIO.weightDevice", false, "blkio.bfq.weight_device"});
    if (d.leaf_weight) {
      if (v2) return v1_only(c, "blockIO.weightDevice.leafWeight");
      w.push_back({"blkio.leaf_weight_device", device(d.major, d.minor) + " " + unum(*d.leaf_weight),
                   "blockIO.weightDevice"});
    }
  }
  struct Throttle {
    const std::vector<CgroupBlockDevice>& list;
    const char* v1_file;
    const char* v2_key;
    const char* field;
  };
  const Throttle throttles[] = {
      {c.blkio_read_bps, "blkio.throttle.read_bps_device", "rbps", "blockIO.throttleReadBpsDevice"},
      {c.blkio_write_bps, "blkio.throttle.write_bps_device", "wbps", "blockIO.throttleWriteBpsDevice"},
      {c.blkio_read_iops, "blkio.throttle.read_iops_device", "riops", "blockIO.throttleReadIOPSDevice"},
      {c.blkio_write_iops, "blkio.throttle.write_iops_device", "wiops", "blockIO.throttleWriteIOPSDevice"},
  };
  for (const auto& t : throttles)
    for (const auto& d : t.list)
      w.push_back(v2 ? CgroupWrite{"io.max", device(d.major, d.minor) + " " + t.v2_key + "=" + unum(d.rate), t.field}
                     : CgroupWrite{t.v1_file, device(d.major, d.minor) + " " + unum(d.rate), t.field});
  return ok();
}

Status hugetlb_writes(const CgroupConfig& c, bool v2, Writes& w) {
  for (const auto& h : c.hugepage_limits)
    w.push_back({"hugetlb." + h.page_size + (v2 ? ".max" : ".limit_in_bytes"), unum(h.limit), "hugepageLimits"});
  return ok();
}

Status net_cls_writes(const CgroupConfig& c, bool, Writes& w) {
  if (c.net_classid) w.push_back({"net_cls.classid", unum(*c.net_classid), "network.classID"});
  return ok();
}

Status net_prio_writes(const CgroupConfig& c, bool, Writes& w) {
  for (const auto& p : c.net_priorities)
    w.push_back({"net_prio.ifpriomap", p.interface + " " + unum(p.priority), "network.priorities"});
  return ok();
}

// v1 devices.allow / devices.deny, one rule a write, in the config's order.
Status devices_writes(const CgroupConfig& c, bool v2, Writes& w) {
  if (v2) return ok();  // cgroup v2's device controller is an eBPF program: not written (docs/oci.md)
  for (const auto& r : c.devices) {
    auto part = [](std::int64_t n) { return n < 0 ? std::string("*") : num(n); };
    std::string rule = r.type == 'a' ? "a" : std::string(1, r.type) + " " + part(r.major) + ":" + part(r.minor) + " " + r.access;
    w.push_back({r.allow ? "devices.allow" : "devices.deny", rule, "devices"});
  }
  return ok();
}

Status unified_writes(const CgroupConfig& c, bool v2, Writes& w) {
  if (!v2) return Error::input(cgroup_field_name(c, "unified"), "needs cgroup v2");
  for (const auto& [file, value] : c.unified) {
    if (file.empty() || file.find('/') != std::string::npos || file[0] == '.')
      return Error::input(cgroup_field_name(c, "unified." + file), "must be a cgroup file name");
    w.push_back({file, value, "unified." + file});
  }
  return ok();
}

struct ControllerEntry {
  CgroupController names;
  bool (*wanted)(const CgroupConfig&);
  Status (*writes)(const CgroupConfig&, bool v2, Writes&);
};

constexpr ControllerEntry kControllers[] = {
    {{"memory", "memory"},
     [](const CgroupConfig& c) {
       return c.memory_max || c.memory_swap_max || c.memory_reservation || c.memory_kernel || c.memory_kernel_tcp ||
              c.memory_swappiness || c.memory_disable_oom_killer;
     },
     memory_writes},
    {{"pids", "pids"}, [](const CgroupConfig& c) { return c.pids_max.has_value(); }, pids_writes},
    {{"cpu", "cpu"},
     [](const CgroupConfig& c) {
       return c.cpu_quota_us || c.cpu_period_us || c.cpu_weight || c.cpu_shares || c.cpu_rt_runtime_us ||
              c.cpu_rt_period_us;
     },
     cpu_writes},
    {{"cpuset", "cpuset"}, [](const CgroupConfig& c) { return !c.cpuset_cpus.empty() || !c.cpuset_mems.empty(); },
     cpuset_writes},
    {{"blkio", "io"},
     [](const CgroupConfig& c) {
       return c.blkio_weight || c.blkio_leaf_weight || !c.blkio_weight_devices.empty() || !c.blkio_read_bps.empty() ||
              !c.blkio_write_bps.empty() || !c.blkio_read_iops.empty() || !c.blkio_write_iops.empty();
     },
     blkio_writes},
    {{"hugetlb", "hugetlb"}, [](const CgroupConfig& c) { return !c.hugepage_limits.empty(); }, hugetlb_writes},
    {{"net_cls", nullptr}, [](const CgroupConfig& c) { return c.net_classid.has_value(); }, net_cls_writes},
    {{"net_prio", nullptr}, [](const CgroupConfig& c) { return !c.net_priorities.empty(); }, net_prio_writes},
    {{"devices", nullptr}, [](const CgroupConfig& c) { return !c.devices.empty(); }, devices_writes},
    {{"unified", ""}, [](const CgroupConfig& c) { return !c.unified.empty(); }, unified_writes},
};

}  // namespace

std::string cgroup_field_name(const CgroupConfig& c, const std::string& field) {
  return c.resources_origin.empty() ? c.origin : c.resources_origin + "." + field;
}

std::vector<CgroupController> cgroup_wanted_controllers(const CgroupConfig& c) {
  std::vector<CgroupController> out;
  for (const auto& e : kControllers)
    if (e.wanted(c)) out.push_back(e.names);
  return out;
}

Expected<std::vector<CgroupWrite>> cgroup_writes(const CgroupConfig& c, std::string_view controller, int version) {
  Writes w;
  for (const auto& e : kControllers)
    if (controller == e.names.v1 && e.wanted(c))
      if (auto s = e.writes(c, version == 2, w); !s) return s.error();
  return w;
}

}  // namespace rdbox
