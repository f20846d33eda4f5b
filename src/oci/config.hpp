// The OCI front end: a bundle's config.json (runtime-spec 1.x) and an exec's process.json
// turned into the neutral SandboxConfig/ProcessConfig. Every entry's `origin` is the JSON
// field it came from ("mounts[3].destination"), so validation and planning errors speak
// OCI. What the neutral config has no place for (hooks, annotations, the terminal, sysctls,
// oomScoreAdj, umask) is kept beside it in Bundle, for the runtime's parent-side steps.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/config.hpp"
#include "rdbox/error.hpp"

namespace rdbox::oci {

// The runtime-spec version rdbox implements (what `spec` writes and `state` reports).
inline constexpr const char* kSpecVersion = "1.1.0";
// config.json and process.json larger than this are refused before parsing.
inline constexpr std::size_t kMaxConfigBytes = 4u << 20;

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

// What a process object asks beyond ProcessConfig.
struct ProcessExtras {
  bool terminal = false;
  std::optional<std::uint32_t> umask;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile, selinux_label;  // tolerated, not applied
};

struct Bundle {
  SandboxConfig config;  // processes[0] is the container's process
  ProcessExtras process;
  std::string oci_version;
  std::string bundle_dir;  // absolute
  std::map<std::string, std::string> annotations;
  Hooks hooks;
  std::vector<std::pair<std::string, std::string>> sysctl;  // key (dotted), value
  std::string domainname;
  std::vector<std::string> warnings;  // fields rdbox accepted but does not apply
};

struct ParseOptions {
  std::string bundle_dir;  // absolute: relative root and bind paths are taken from here
  bool rootless = false;   // the caller is not root: devices are bound, never made
  bool require_args = true;  // create/run need process.args; `exec --process` too
};

// config.json text → Bundle. Errors name the JSON field ("mounts[2].options[1]: ...").
Expected<Bundle> parse_config(std::string_view json_text, const ParseOptions& opts);

// process.json text (one process object, as `exec --process` reads it) → ProcessConfig.
Expected<ProcessConfig> parse_process(std::string_view json_text, ProcessExtras* extras = nullptr);

// The OCI signal argument: "TERM", "SIGTERM", "term", "15"; -1 when unknown.
int signal_number(std::string_view name);

}  // namespace rdbox::oci
