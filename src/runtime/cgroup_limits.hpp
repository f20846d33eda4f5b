// A CgroupConfig's limits as the files a cgroup directory gets: one table of controllers
// (their v1 and v2 names, whether a config wants them, what they write), pure — no file
// is touched here. cgroup.cpp writes the result at create and at `rdbox update`.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rdbox/config.hpp"
#include "rdbox/error.hpp"

namespace rdbox {

// One write into a controller's directory.
struct CgroupWrite {
  std::string file;   // "memory.limit_in_bytes"
  std::string value;  // written with one write(2)
  std::string field;  // the config's field: "memory.limit" (messages prefix the origin)
  // EINVAL is retried once after the directory's other writes (v1's memory limit below
  // memsw, a CFS period the old quota does not fit): the kernel checks them pairwise.
  bool retry = false;
  std::string alias;  // written instead when `file` does not exist (BFQ's blkio.bfq.weight)

  CgroupWrite(std::string f, std::string v, std::string fld, bool again = false, std::string alt = {})
      : file(std::move(f)), value(std::move(v)), field(std::move(fld)), retry(again), alias(std::move(alt)) {}
};

// A controller rdbox can limit: its name on v1 and on v2 (nullptr: none there).
struct CgroupController {
  const char* v1;
  const char* v2;
};

// The controllers a config limits, in the order they are written.
std::vector<CgroupController> cgroup_wanted_controllers(const CgroupConfig& c);

// What the directory of `controller` (its v1 name) gets on a hierarchy of `version`, in
// order. An error names the field when the version cannot hold it (swappiness on v2...).
Expected<std::vector<CgroupWrite>> cgroup_writes(const CgroupConfig& c, std::string_view controller, int version);

// "linux.resources.memory.limit" (or the config's origin when it has no resources origin).
std::string cgroup_field_name(const CgroupConfig& c, const std::string& field);

}  // namespace rdbox
