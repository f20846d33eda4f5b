// linux.resources, one function per object of the runtime spec. A value of 0 means "not
// set" where runc reads it so (memory and swap limits, pids, CPU shares, quota, periods).
#include "oci/resources.hpp"

#include <algorithm>

namespace rdbox::oci {

namespace {

// An optional key's value (optional_i64/optional_u64) into `out` when present and `keep(value)`.
template <typename T, typename V, typename Keep>
Status keep_if(Expected<std::optional<V>> v, std::optional<T>& out, Keep keep) {
  if (!v) return v.error();
  if (*v && keep(**v)) out = static_cast<T>(**v);
  return ok();
}

const auto kNonZero = [](auto v) { return v != 0; };
const auto kAny = [](auto) { return true; };

Status parse_memory(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  const json& m = *f.v;
  for (auto [key, out] : {std::pair{"limit", &cg.memory_max}, std::pair{"swap", &cg.memory_swap_max}})
    if (auto s = keep_if(optional_i64(m, f.path, key, -1), *out, kNonZero); !s) return s;
  for (auto [key, out] : {std::pair{"reservation", &cg.memory_reservation}, std::pair{"kernel", &cg.memory_kernel},
                          std::pair{"kernelTCP", &cg.memory_kernel_tcp}})
    if (auto s = keep_if(optional_i64(m, f.path, key, -1), *out, kAny); !s) return s;
  if (auto s = keep_if(optional_u64(m, f.path, "swappiness", 100), cg.memory_swappiness, kAny); !s) return s;
  auto oom = get_bool(at(m, f.path, "disableOOMKiller"));
  if (!oom) return oom.error();
  cg.memory_disable_oom_killer = *oom;
  for (const char* k : {"useHierarchy", "checkBeforeUpdate"})  // accepted: the kernel's defaults are kept
    if (auto b = get_bool(at(m, f.path, k)); !b) return b.error();
  return ok();
}

Status parse_cpu(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  const json& c = *f.v;
  if (auto s = keep_if(optional_u64(c, f.path, "shares", UINT64_MAX), cg.cpu_shares, kNonZero); !s) return s;
  if (cg.cpu_shares) cg.cpu_shares = std::clamp<std::uint64_t>(*cg.cpu_shares, 2, 262144);  // the kernel's range
  if (auto s = keep_if(optional_i64(c, f.path, "quota", -1), cg.cpu_quota_us, kNonZero); !s) return s;
  if (auto s = keep_if(optional_u64(c, f.path, "period", UINT64_MAX), cg.cpu_period_us, kNonZero); !s) return s;
  if (auto s = keep_if(optional_i64(c, f.path, "realtimeRuntime", -1), cg.cpu_rt_runtime_us, kNonZero); !s) return s;
  if (auto s = keep_if(optional_u64(c, f.path, "realtimePeriod", UINT64_MAX), cg.cpu_rt_period_us, kNonZero); !s) return s;
  for (auto [key, out] : {std::pair{"cpus", &cg.cpuset_cpus}, std::pair{"mems", &cg.cpuset_mems}}) {
    auto v = get_string(at(c, f.path, key));
    if (!v) return v.error();
    if (v->find_first_not_of("0123456789,- ") != std::string::npos)
      return Error::input(f.path + "." + key, "\"" + *v + "\" is not a list of numbers and ranges (0-3,5)");
    *out = *v;
  }
  std::optional<std::uint64_t> ignored;  // burst, idle: not written (kernel 5.14+ files)
  if (auto s = keep_if(optional_u64(c, f.path, "burst", UINT64_MAX), ignored, kAny); !s) return s;
  if (auto v = optional_i64(c, f.path, "idle", INT64_MIN); !v) return v.error();
  return ok();
}

Status parse_pids(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  return keep_if(optional_i64(*f.v, f.path, "limit", -1), cg.pids_max, kNonZero);
}

// [{major, minor, KEY...}] of blockIO: weights or a rate.
Status parse_block_devices(const Field& f, bool weights, std::vector<CgroupBlockDevice>& out) {
  return for_each_object(f, [&](const Field& d) -> Status {
    CgroupBlockDevice dev;
    for (auto [key, n] : {std::pair{"major", &dev.major}, std::pair{"minor", &dev.minor}}) {
      Field v = at(*d.v, d.path, key);
      if (!v.present()) return Error::input(v.path, "is required");
      auto num = get_i64(v, 0, UINT32_MAX);
      if (!num) return num.error();
      *n = *num;
    }
    if (weights) {
      if (auto s = keep_if(optional_u64(*d.v, d.path, "weight", 1000), dev.weight, kAny); !s) return s;
      if (auto s = keep_if(optional_u64(*d.v, d.path, "leafWeight", 1000), dev.leaf_weight, kAny); !s) return s;
    } else {
      Field rate = at(*d.v, d.path, "rate");
      if (!rate.present()) return Error::input(rate.path, "is required");
      auto r = get_u64(rate);
      if (!r) return r.error();
      dev.rate = *r;
    }
    out.push_back(dev);
    return ok();
  });
}

Status parse_blkio(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  const json& b = *f.v;
  if (auto s = keep_if(optional_u64(b, f.path, "weight", 1000), cg.blkio_weight, kNonZero); !s) return s;
  if (auto s = keep_if(optional_u64(b, f.path, "leafWeight", 1000), cg.blkio_leaf_weight, kNonZero); !s) return s;
  if (auto s = parse_block_devices(at(b, f.path, "weightDevice"), true, cg.blkio_weight_devices); !s) return s;
  const std::pair<const char*, std::vector<CgroupBlockDevice>*> throttles[] = {
      {"throttleReadBpsDevice", &cg.blkio_read_bps},
      {"throttleWriteBpsDevice", &cg.blkio_write_bps},
      {"throttleReadIOPSDevice", &cg.blkio_read_iops},
      {"throttleWriteIOPSDevice", &cg.blkio_write_iops},
  };
  for (const auto& [key, out] : throttles)
    if (auto s = parse_block_devices(at(b, f.path, key), false, *out); !s) return s;
  return ok();
}

Status parse_hugepages(const Field& f, CgroupConfig& cg) {
  return for_each_object(f, [&](const Field& h) -> Status {
    auto size = get_string(at(*h.v, h.path, "pageSize"));
    if (!size) return size.error();
    if (size->empty() || size->find_first_not_of("0123456789KMGTPB") != std::string::npos)
      return Error::input(h.path + ".pageSize", "\"" + *size + "\" is not a page size (2MB, 1GB)");
    Field limit = at(*h.v, h.path, "limit");
    if (!limit.present()) return Error::input(limit.path, "is required");
    auto n = get_u64(limit);
    if (!n) return n.error();
    cg.hugepage_limits.push_back({*size, *n});
    return ok();
  });
}

Status parse_network(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  if (auto s = keep_if(optional_u64(*f.v, f.path, "classID", UINT32_MAX), cg.net_classid, kAny); !s) return s;
  return for_each_object(at(*f.v, f.path, "priorities"), [&](const Field& p) -> Status {
    auto name = get_string(at(*p.v, p.path, "name"));
    if (!name) return name.error();
    if (name->empty() || name->find_first_of(" \n\t/") != std::string::npos || has_nul(*name))
      return Error::input(p.path + ".name", "\"" + *name + "\" is not an interface name");
    std::optional<std::uint32_t> prio;
    if (auto s = keep_if(optional_u64(*p.v, p.path, "priority", UINT32_MAX), prio, kAny); !s) return s;
    cg.net_priorities.push_back({*name, prio.value_or(0)});
    return ok();
  });
}

Expected<CgroupDeviceRule> parse_device_rule(const Field& d) {
  CgroupDeviceRule r;
  Field allow = at(*d.v, d.path, "allow");
  if (!allow.present()) return Error::input(allow.path, "is required");
  auto a = get_bool(allow);
  if (!a) return a.error();
  r.allow = *a;
  auto type = get_string(at(*d.v, d.path, "type"), "a");
  if (!type) return type.error();
  if (*type != "a" && *type != "c" && *type != "b") return Error::input(d.path + ".type", "must be a, c or b");
  r.type = (*type)[0];
  for (auto [key, n] : {std::pair{"major", &r.major}, std::pair{"minor", &r.minor}}) {
    auto v = optional_i64(*d.v, d.path, key, -1);
    if (!v) return v.error();
    *n = v->value_or(-1);
  }
  auto access = get_string(at(*d.v, d.path, "access"), "rwm");
  if (!access) return access.error();
  if (access->empty() || access->size() > 3 || access->find_first_not_of("rwm") != std::string::npos)
    return Error::input(d.path + ".access", "\"" + *access + "\" is not made of r, w and m");
  r.access = *access;
  return r;
}

Status parse_device_rules(const Field& f, CgroupConfig& cg) {
  return for_each_object(f, [&](const Field& d) -> Status {
    auto r = parse_device_rule(d);
    if (!r) return r.error();
    cg.devices.push_back(*r);
    return ok();
  });
}

Status parse_unified(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  for (auto it = f.v->begin(); it != f.v->end(); ++it) {
    if (!it->is_string()) return Error::input(f.path + "." + it.key(), "must be a string");
    cg.unified.emplace_back(it.key(), it->get<std::string>());
  }
  return ok();
}

}  // namespace

Status parse_resources_object(const Field& f, CgroupConfig& cg) {
  if (!f.present()) return ok();
  if (auto s = check_object(f); !s) return s;
  cg.resources_origin = f.path;
  using Parser = Status (*)(const Field&, CgroupConfig&);
  const std::pair<const char*, Parser> parts[] = {
      {"memory", parse_memory},     {"cpu", parse_cpu},         {"pids", parse_pids},
      {"blockIO", parse_blkio},     {"hugepageLimits", parse_hugepages}, {"network", parse_network},
      {"devices", parse_device_rules}, {"unified", parse_unified},
  };
  for (const auto& [key, parse] : parts)
    if (auto s = parse(at(*f.v, f.path, key), cg); !s) return s;
  if (at(*f.v, f.path, "rdma").present())
    return Error::input(f.path + ".rdma", "the rdma controller is not supported by rdbox");
  return ok();
}

Expected<CgroupConfig> parse_resources_text(std::string_view text, const std::string& what) {
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  CgroupConfig cg;
  cg.origin = what;
  if (auto s = parse_resources_object(Field{&*j, ""}, cg); !s) return s.error();
  cg.resources_origin = "resources";  // write errors: "resources.memory.limit: ..."
  return cg;
}

std::vector<CgroupDeviceRule> default_device_rules() {
  struct Rule {
    char type;
    int major, minor;
    const char* access;
  };
  static constexpr Rule kDefaults[] = {
      {'c', -1, -1, "m"}, {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"},   {'c', 1, 7, "rwm"},
      {'c', 5, 0, "rwm"}, {'c', 1, 5, "rwm"}, {'c', 1, 9, "rwm"}, {'c', 5, 1, "rwm"},   {'c', 136, -1, "rwm"},
      {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
  };
  std::vector<CgroupDeviceRule> out;
  for (const auto& r : kDefaults) out.push_back({true, r.type, r.major, r.minor, r.access});
  return out;
}

}  // namespace rdbox::oci
