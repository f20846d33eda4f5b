// rdbox doctor: what this host allows (user namespaces, id-map helpers, rootless overlay,
// time namespace, cgroup layout) and the exact change when something is missing.
#pragma once

#include <string>

namespace rdbox {

struct DoctorResult {
  std::string text;
  int problems = 0;
};

// Probes in short-lived child processes; creates nothing that outlives them.
DoctorResult doctor();

}  // namespace rdbox
