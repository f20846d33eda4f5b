// The OCI runtime's lifecycle over the state store: create → start → (kill) → delete,
// run (all of it in one process), exec, and what the engines query (state, list, ps,
// features, spec). No CLI types here: src/cli/oci_cmd.cpp parses and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rdbox/error.hpp"

namespace rdbox::oci {

struct Globals {
  std::string root;           // --root (default_root() when empty)
  bool systemd_cgroup = false;
  std::string cgroup_manager;  // cgroupfs, systemd, disabled
  // Warnings (fields accepted but not applied) go here: the CLI logs them.
  std::function<void(const std::string&)> warn;
};

struct CreateArgs {
  std::string id, bundle = ".", pid_file, console_socket;
  int preserve_fds = 0;
  bool no_pivot = false, no_new_keyring = false;
  bool detach = false;  // run -d
};

// create: the container set up to its process, blocked until start; exits after the pid
// file is written. Nothing is left behind on failure.
Status create(const Globals& g, const CreateArgs& a);
Status start(const Globals& g, const std::string& id);
// The OCI state JSON.
Expected<std::string> state(const Globals& g, const std::string& id);
Status kill(const Globals& g, const std::string& id, const std::string& signal, bool all);
Status remove(const Globals& g, const std::string& id, bool force);
// pause/resume: the container's cgroup freezer (v1 freezer.state, v2 cgroup.freeze);
// `state` says "paused" meanwhile.
Status pause(const Globals& g, const std::string& id);
Status resume(const Globals& g, const std::string& id);
// update (runc's): new limits written into a created, running or paused container's
// cgroup; the options win over the --resources file ("-": stdin).
struct UpdateArgs {
  std::string id, resources_path;
  std::optional<std::int64_t> memory, memory_swap, memory_reservation, pids_limit, cpu_quota;
  std::optional<std::uint64_t> cpu_period, cpu_shares, blkio_weight;
  std::string cpuset_cpus, cpuset_mems;
};
Status update(const Globals& g, const UpdateArgs& a);
// run: create, start, wait, delete; the container's exit status (128+N for signal N).
Expected<int> run(const Globals& g, const CreateArgs& a);

struct ListEntry {
  std::string id, status, bundle, created, owner;
  int pid = 0;
};
std::vector<ListEntry> list(const Globals& g);

// The container's processes (host pids), its init first.
Expected<std::vector<int>> processes(const Globals& g, const std::string& id);

struct ExecArgs {
  std::string id, process_file, pid_file, console_socket, cwd, user;
  std::vector<std::string> env, args, cap_add;
  bool detach = false, tty = false, tty_given = false, no_new_privs = false, ignore_paused = false;
  int preserve_fds = 0;
};
// exec: the process joins the container's namespaces; with detach rdbox exits once it
// runs, else the process's exit status.
Expected<int> exec(const Globals& g, const ExecArgs& a);

std::string features_json();
// A starting config.json (runc spec's defaults; rootless: a user namespace, no network).
std::string spec_json(bool rootless);

}  // namespace rdbox::oci
