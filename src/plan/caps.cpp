// Capability names and sets (libcap-ng knows the names); the stub applies the sets.
#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/resource.h>

#include <cctype>
#include <string>

#include "rdbox/config.hpp"

namespace rdbox {

std::uint64_t default_container_caps() {
  std::uint64_t s = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SETFCAP,
                  CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_CHROOT})
    s |= std::uint64_t{1} << cap;
  return s;
}

int capability_number(std::string_view name) {
  std::string n(name);
  for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (n.rfind("cap_", 0) == 0) n.erase(0, 4);
  if (n == "all") return -2;
  if (n.empty()) return -1;
  int cap = capng_name_to_capability(n.c_str());
  return cap >= 0 && cap <= CAP_LAST_CAP ? cap : -1;
}

std::string capability_name(int cap) {
  const char* n = capng_capability_to_name(static_cast<unsigned>(cap));
  std::string out = "CAP_";
  for (const char* p = n ? n : "unknown"; *p; ++p) out += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  return out;
}

}  // namespace rdbox

namespace rdbox {

namespace {
struct RlimitName {
  std::string_view name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"AS", RLIMIT_AS},           {"CORE", RLIMIT_CORE},       {"CPU", RLIMIT_CPU},
    {"DATA", RLIMIT_DATA},       {"FSIZE", RLIMIT_FSIZE},     {"LOCKS", RLIMIT_LOCKS},
    {"MEMLOCK", RLIMIT_MEMLOCK}, {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
    {"NOFILE", RLIMIT_NOFILE},   {"NPROC", RLIMIT_NPROC},     {"RSS", RLIMIT_RSS},
    {"RTPRIO", RLIMIT_RTPRIO},   {"RTTIME", RLIMIT_RTTIME},   {"SIGPENDING", RLIMIT_SIGPENDING},
    {"STACK", RLIMIT_STACK},
};
}  // namespace

int rlimit_number(std::string_view name) {
  std::string n(name);
  for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (n.rfind("RLIMIT_", 0) == 0) n.erase(0, 7);
  for (const auto& r : kRlimits)
    if (r.name == n) return r.resource;
  return -1;
}

std::string_view rlimit_name(int resource) {
  for (const auto& r : kRlimits)
    if (r.resource == resource) return r.name;
  return "?";
}

}  // namespace rdbox
