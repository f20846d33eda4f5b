// The OCI runtime's state store: one directory per container under the root
// (--root; /run/rdbox, or $XDG_RUNTIME_DIR/rdbox without root), holding
//   state.json  what `state` prints, plus rdbox's own fields (the init's start time, ...)
//   exec.fifo   the start gate: the init holds it open and reads one byte from it
// The directory itself is the lock (flock): every subcommand that changes a container
// holds it; mkdir is what makes two concurrent `create`s of one ID fail cleanly.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rdbox/error.hpp"
#include "rdbox/fd.hpp"

namespace rdbox::oci {

// runc's rule: letters, digits, '_', '+', '-', '.', not "." or "..", at most 1024 bytes.
Status check_id(const std::string& id);

// The default --root for this caller.
std::string default_root();

struct ContainerState {
  std::string oci_version, id, bundle, created, owner;
  pid_t pid = 0;
  unsigned long long starttime = 0;  // of the init (/proc/PID/stat field 22): a reused pid is not it
  bool started = false;
  bool rootless = false;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> cgroup_dirs;  // the container's cgroup (each hierarchy), removed by delete
  std::vector<std::string> cgroup_parents;  // parents create made (innermost first), removed when empty
  std::string status;  // computed when read: created, running, stopped, paused
};

// "created", "running", "stopped" or "paused" for a state as stored.
std::string compute_status(const ContainerState& s);
// The init is there and not a zombie (same start time).
bool init_alive(pid_t pid, unsigned long long starttime);
unsigned long long process_starttime(pid_t pid);  // 0 when gone

// The OCI state (nothing of rdbox's own): indented for `state`, one line for hooks' stdin.
std::string to_json(const ContainerState& s, bool indent = true);

class ContainerDir {
 public:
  // Makes ROOT/ID (ROOT too when missing); fails when the ID exists already.
  static Expected<ContainerDir> create(const std::string& root, const std::string& id);
  // Opens and locks an existing one (exclusive); "does not exist" errors name the ID.
  static Expected<ContainerDir> open(const std::string& root, const std::string& id);

  ContainerDir(ContainerDir&&) = default;
  ContainerDir& operator=(ContainerDir&&) = default;
  ~ContainerDir();

  const std::string& path() const { return path_; }
  std::string fifo_path() const { return path_ + "/exec.fifo"; }
  Expected<ContainerState> read() const;
  Status write(const ContainerState& s) const;  // atomically (rename)
  // Removes the directory and what is in it; the object is spent.
  Status remove();
  // Keep it on destruction (create succeeded).
  void keep() { remove_on_close_ = false; }

 private:
  ContainerDir() = default;
  Status lock(bool created);
  std::string root_, id_, path_;
  Fd dir_;
  bool remove_on_close_ = false;
};

// The IDs under ROOT, sorted (directories only).
std::vector<std::string> list_ids(const std::string& root);

// RFC 3339 with nanoseconds, UTC: "2024-01-02T03:04:05.123456789Z".
std::string rfc3339_now();

// Writes `text` to PATH through a temporary file and rename (pid files, state).
Status write_file_atomic(const std::string& path, const std::string& text, unsigned mode = 0644);

}  // namespace rdbox::oci
