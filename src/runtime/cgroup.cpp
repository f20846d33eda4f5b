#include "cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace rdbox {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

std::optional<std::string> read_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1 << 20)) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  return out;
}

int write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = n < 0 ? errno : n == static_cast<ssize_t>(text.size()) ? 0 : EIO;
  ::close(fd);
  return e;
}

// "key value" lines (memory.events, pids.events, memory.oom_control): the value of `key`.
std::optional<std::int64_t> keyed_value(const std::string& path, const std::string& key) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string k;
  long long v;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

std::optional<std::int64_t> number_file(const std::string& path) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  try {
    return std::stoll(*text);
  } catch (...) {
    return std::nullopt;
  }
}

std::string join_path(const std::string& a, const std::string& b) {
  if (b.empty() || b == "/") return a;
  if (a.empty() || a == "/") return b[0] == '/' ? b : "/" + b;
  return a + (b[0] == '/' ? "" : "/") + b;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The controllers a config limits.
std::vector<std::string> wanted_controllers(const CgroupConfig& c) {
  std::vector<std::string> out;
  if (c.memory_max || c.memory_swap_max) out.push_back("memory");
  if (c.pids_max) out.push_back("pids");
  if (c.cpu_quota_us || c.cpu_weight || c.cpu_shares) out.push_back("cpu");
  return out;
}

// A name no other run (thread, process) picks: rdbox-<pid>-<n>.
std::string fresh_name() {
  static std::atomic<unsigned> counter{0};
  return "rdbox-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Processes listed in a cgroup.procs file.
std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = read_text(dir + "/cgroup.procs");
  if (!text) return out;
  std::istringstream in(*text);
  long pid;
  while (in >> pid) out.push_back(static_cast<pid_t>(pid));
  return out;
}

// Empties a cgroup directory: cgroup.kill where the kernel has it, else SIGKILL by pid
// until nothing is listed (bounded: 2 s). Returns how many processes there were.
int empty_dir(const std::string& dir, int version) {
  auto first = procs_of(dir);
  if (first.empty()) return 0;
  if (version == 2 && write_text(dir + "/cgroup.kill", "1") == 0) {
  } else {
    for (pid_t p : first) ::kill(p, SIGKILL);
  }
  for (int i = 0; i < 2000; ++i) {
    auto left = procs_of(dir);
    if (left.empty()) break;
    for (pid_t p : left) ::kill(p, SIGKILL);
    struct timespec ts {0, 1'000'000};
    ::nanosleep(&ts, nullptr);
  }
  return static_cast<int>(first.size());
}

void remove_dir(const std::string& dir) {
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    struct timespec ts {0, 5'000'000};
    ::nanosleep(&ts, nullptr);
  }
}

// Runs killed with rdbox (SIGKILL leaves no chance to clean up) left rdbox-<pid>-<n>
// directories: removed here once <pid> is gone.
void sweep_stale(const std::string& parent, int version) {
  DIR* d = ::opendir(parent.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (struct dirent* e = ::readdir(d)) {
    long pid = 0;
    unsigned n = 0;
    char tail = 0;
    if (std::sscanf(e->d_name, "rdbox-%ld-%u%c", &pid, &n, &tail) != 2 || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    stale.push_back(parent + "/" + e->d_name);
  }
  ::closedir(d);
  for (const auto& dir : stale) {
    empty_dir(dir, version);
    remove_dir(dir);
  }
}

}  // namespace

std::vector<CgroupHierarchy> cgroup_hierarchies() {
  std::vector<CgroupHierarchy> out;
  auto mountinfo = read_text("/proc/self/mountinfo");
  auto self = read_text("/proc/self/cgroup");
  if (!mountinfo || !self) return out;
  for (const auto& line : split(*mountinfo, '\n')) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3 || left[3] != "/") continue;  // only whole hierarchies
    CgroupHierarchy h;
    h.mount = left[4];
    if (right[0] == "cgroup2") {
      h.version = 2;
      if (auto c = read_text(h.mount + "/cgroup.controllers")) {
        std::istringstream in(*c);
        std::string name;
        while (in >> name) h.controllers.push_back(name);
      }
    } else if (right[0] == "cgroup") {
      h.version = 1;
      for (const auto& opt : split(right[2], ','))
        if (opt != "rw" && opt != "ro" && opt.rfind("name=", 0) != 0 && opt.find('=') == std::string::npos)
          h.controllers.push_back(opt);
      if (h.controllers.empty()) continue;  // name=systemd and the like
    } else {
      continue;
    }
    // Our own cgroup in it: "0::/path" for v2, "N:ctrl,ctrl:/path" for v1.
    for (const auto& entry : split(*self, '\n')) {
      auto a = entry.find(':'), b = entry.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      auto ctrls = split(entry.substr(a + 1, b - a - 1), ',');
      bool match = h.version == 2 ? entry.compare(0, a, "0") == 0 && ctrls.empty()
                                  : !ctrls.empty() && has(ctrls, h.controllers.front());
      if (match) h.own = entry.substr(b + 1);
    }
    if (h.own.empty()) continue;
    // A hierarchy mounted twice (a bind of it): the first mount is enough.
    bool dup = false;
    for (const auto& o : out) dup = dup || (o.version == h.version && o.controllers == h.controllers);
    if (!dup) out.push_back(std::move(h));
  }
  return out;
}

std::vector<ControllerPlace> cgroup_controllers() {
  std::vector<ControllerPlace> out;
  auto hs = cgroup_hierarchies();
  for (const char* c : {"memory", "pids", "cpu"}) {
    ControllerPlace p{c, 0, "", false};
    for (int version : {2, 1})
      for (const auto& h : hs)
        if (!p.version && h.version == version && has(h.controllers, c)) {
          p.version = version;
          p.path = join_path(h.mount, h.own);
          p.writable = ::access(p.path.c_str(), W_OK) == 0;
        }
    out.push_back(p);
  }
  return out;
}

Expected<std::unique_ptr<Cgroup>> Cgroup::create(const CgroupConfig& config) {
  std::unique_ptr<Cgroup> cg(new Cgroup());
  if (auto s = cg->make(config); !s) return s.error();  // the destructor removes what was made
  if (auto s = cg->write_limits(config); !s) return s.error();
  for (const auto& d : cg->dirs_) {
    int fd = ::open((d.path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::sys("cgroup " + d.path + "/cgroup.procs", errno);
    cg->procs_fds_.emplace_back(fd);
    cg->procs_fd_numbers_.push_back(fd);
    if (d.h.version == 1) {
      cg->v1_procs_fd_numbers_.push_back(fd);
    } else {
      int dir = ::open(d.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0) return Error::sys("cgroup " + d.path, errno);
      cg->v2_dir_fd_.reset(dir);
    }
  }
  return cg;
}

Status Cgroup::make(const CgroupConfig& config) {
  auto hs = cgroup_hierarchies();
  auto wanted = wanted_controllers(config);
  std::string name = config.path.empty() ? fresh_name() : config.path;
  // Which hierarchy each controller comes from: v2 when it offers it, else v1.
  std::vector<std::pair<const CgroupHierarchy*, std::vector<std::string>>> picks;
  auto pick = [&](const CgroupHierarchy* h, const std::string& ctrl) {
    for (auto& p : picks)
      if (p.first == h) {
        if (!ctrl.empty()) p.second.push_back(ctrl);
        return;
      }
    picks.push_back({h, ctrl.empty() ? std::vector<std::string>{} : std::vector<std::string>{ctrl}});
  };
  for (const auto& h : hs)
    if (h.version == 2) pick(&h, "");  // tracking and cgroup.kill, limits or not
  for (const auto& ctrl : wanted) {
    const CgroupHierarchy* found = nullptr;
    for (int version : {2, 1})
      for (const auto& h : hs)
        if (!found && h.version == version && has(h.controllers, ctrl)) found = &h;
    if (!found)
      return Error::input(config.origin, "the " + ctrl + " controller is not available here (neither on cgroup v2 "
                                         "nor on a v1 hierarchy; see rdbox doctor)");
    pick(found, ctrl);
  }
  // The freezer: v1's hierarchy where there is one (a hybrid host's own), else the v2
  // directory's cgroup.freeze.
  bool v2_freezes = false;
  if (config.freezer) {
    const CgroupHierarchy* v1 = nullptr;
    for (const auto& h : hs)
      if (!v1 && h.version == 1 && has(h.controllers, "freezer")) v1 = &h;
    if (v1) pick(v1, "freezer");
    else v2_freezes = true;
  }
  // The v2 directory only to track processes is not needed when a v1 one does it already.
  if (picks.size() > 1 && picks.front().first->version == 2 && picks.front().second.empty() && !v2_freezes)
    picks.erase(picks.begin());
  if (picks.empty()) return Error::input(config.origin, "no cgroup hierarchy is mounted (see rdbox doctor)");
  for (auto& [h, ctrls] : picks) {
    bool absolute = !config.parent.empty() && config.parent[0] == '/';
    std::string parent = join_path(h->mount, absolute ? config.parent : join_path(h->own, config.parent));
    if (!config.path.empty()) parent = join_path(h->mount, "/");
    struct stat st {};
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Error::input(config.parent.empty() ? config.origin : "--cgroup-parent",
                          "\"" + parent + "\" does not exist");
    if (h->version == 2 && !ctrls.empty()) {
      std::string enable;
      for (const auto& c : ctrls) enable += (enable.empty() ? "+" : " +") + c;
      if (int e = write_text(parent + "/cgroup.subtree_control", enable))
        return Error::input(config.origin, "cannot enable " + enable + " for cgroups under " + parent + ": " +
                                               std::strerror(e) +
                                               (e == EBUSY ? " (it holds processes: cgroup v2 lets only a cgroup "
                                                             "without processes delegate controllers; use "
                                                             "--cgroup-parent)"
                                                           : ""));
    }
    if (config.path.empty()) sweep_stale(parent, h->version);
    std::string dir = join_path(parent, name);
    // An exact path's missing parents are made (runc's mkdir -p), and remembered.
    for (std::size_t slash = parent.size() + 1; !config.path.empty();) {
      slash = dir.find('/', slash + 1);
      if (slash == std::string::npos) break;
      std::string mid = dir.substr(0, slash);
      if (::mkdir(mid.c_str(), 0755) == 0) made_parents_.insert(made_parents_.begin(), mid);
      else if (errno != EEXIST) break;  // the leaf's mkdir below says why
    }
    if (::mkdir(dir.c_str(), 0755) != 0) {
      int e = errno;
      return Error::input(config.origin, "cannot create the cgroup " + dir + ": " + std::strerror(e) +
                                             (e == EACCES || e == EROFS || e == EPERM
                                                  ? " (rootless runs need a delegated cgroup; see rdbox doctor)"
                                                  : ""));
    }
    dirs_.push_back({*h, dir, ctrls});
    if (display_.empty() || h->version == 2) display_ = dir.substr(h->mount.size());
  }
  return ok();
}

Status Cgroup::write_limits(const CgroupConfig& c) {
  for (const auto& d : dirs_) {
    std::vector<std::pair<std::string, std::string>> w;
    bool v2 = d.h.version == 2;
    if (has(d.controllers, "memory")) {
      if (c.memory_max) w.push_back({v2 ? "memory.max" : "memory.limit_in_bytes", std::to_string(*c.memory_max)});
      if (c.memory_swap_max) {
        bool unlimited = *c.memory_swap_max < 0;
        if (v2)
          w.push_back({"memory.swap.max", unlimited ? "max" : std::to_string(*c.memory_swap_max - c.memory_max.value_or(0))});
        else
          w.push_back({"memory.memsw.limit_in_bytes", unlimited ? "-1" : std::to_string(*c.memory_swap_max)});
      }
    }
    if (has(d.controllers, "pids") && c.pids_max) w.push_back({"pids.max", std::to_string(*c.pids_max)});
    if (has(d.controllers, "cpu")) {
      std::optional<std::uint64_t> weight = c.cpu_weight, shares = c.cpu_shares;
      if (v2 && !weight && shares) weight = 1 + ((*shares - 2) * 9999) / 262142;  // crun's conversion
      if (!v2 && !shares && weight) shares = 2 + ((*weight - 1) * 262142) / 9999;
      if (v2 && weight) w.push_back({"cpu.weight", std::to_string(*weight)});
      if (!v2 && shares) w.push_back({"cpu.shares", std::to_string(*shares)});
      if (c.cpu_quota_us) {
        if (v2) {
          w.push_back({"cpu.max", std::to_string(*c.cpu_quota_us) + " " + std::to_string(c.cpu_period_us)});
        } else {
          w.push_back({"cpu.cfs_period_us", std::to_string(c.cpu_period_us)});
          w.push_back({"cpu.cfs_quota_us", std::to_string(*c.cpu_quota_us)});
        }
      }
    }
    for (const auto& [file, value] : w)
      if (int e = write_text(d.path + "/" + file, value))
        return Error::input(c.origin, "writing " + value + " to " + d.path + "/" + file + ": " + std::strerror(e) +
                                          (e == ENOENT && file.find("memsw") != std::string::npos
                                               ? " (swap accounting is off in this kernel)"
                                               : ""));
  }
  return ok();
}

CgroupReport Cgroup::report() const {
  CgroupReport r;
  r.path = display_;
  for (const auto& d : dirs_) {
    for (const auto& c : d.controllers) r.versions.push_back({c, d.h.version});
    if (has(d.controllers, "memory")) {
      if (d.h.version == 2) {
        r.memory_peak_bytes = number_file(d.path + "/memory.peak");
        r.oom_killed = keyed_value(d.path + "/memory.events", "oom_kill").value_or(0) > 0;
      } else {
        r.memory_peak_bytes = number_file(d.path + "/memory.max_usage_in_bytes");
        r.oom_killed = keyed_value(d.path + "/memory.oom_control", "oom_kill").value_or(0) > 0;
      }
    }
    if (has(d.controllers, "pids")) {
      r.pids_peak = number_file(d.path + "/pids.peak");
      r.pids_limit_hit = keyed_value(d.path + "/pids.events", "max").value_or(0) > 0;
    }
  }
  return r;
}

int Cgroup::kill_all() {
  int n = 0;
  for (const auto& d : dirs_) n = std::max(n, empty_dir(d.path, d.h.version));
  return n;
}

std::vector<std::string> Cgroup::release() {
  released_ = true;
  std::vector<std::string> out;
  for (const auto& d : dirs_) out.push_back(d.path);
  return out;
}

void Cgroup::remove() {
  procs_fds_.clear();
  v2_dir_fd_.reset();
  // v2 first: cgroup.kill reaches every process at once; then what v1 still lists.
  std::stable_sort(dirs_.begin(), dirs_.end(), [](const Dir& a, const Dir& b) { return a.h.version > b.h.version; });
  for (const auto& d : dirs_) {
    empty_dir(d.path, d.h.version);
    remove_dir(d.path);
  }
  dirs_.clear();
  for (const auto& p : made_parents_) ::rmdir(p.c_str());  // only when empty: others may use it
  made_parents_.clear();
}

namespace {

// The directory holding the freezer and whether it is v1's.
std::optional<std::pair<std::string, bool>> freezer_dir(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs)
    if (::access((d + "/freezer.state").c_str(), F_OK) == 0) return std::make_pair(d, true);
  for (const auto& d : dirs)
    if (::access((d + "/cgroup.freeze").c_str(), F_OK) == 0) return std::make_pair(d, false);
  return std::nullopt;
}

bool frozen_now(const std::string& dir, bool v1) {
  if (v1) {
    auto t = read_text(dir + "/freezer.state");
    return t && t->rfind("FROZEN", 0) == 0;
  }
  return keyed_value(dir + "/cgroup.events", "frozen").value_or(0) == 1;
}

}  // namespace

FreezerState cgroup_freezer_state(const std::vector<std::string>& dirs) {
  auto f = freezer_dir(dirs);
  if (!f) return FreezerState::none;
  const auto& [dir, v1] = *f;
  // What was asked counts (a v1 FREEZING, a v2 freeze still settling): paused.
  if (v1) {
    auto t = read_text(dir + "/freezer.state");
    return t && t->rfind("THAWED", 0) != 0 ? FreezerState::frozen : FreezerState::thawed;
  }
  return number_file(dir + "/cgroup.freeze").value_or(0) == 1 ? FreezerState::frozen : FreezerState::thawed;
}

Status cgroup_freeze(const std::vector<std::string>& dirs, bool freeze) {
  auto f = freezer_dir(dirs);
  if (!f) return Error::input("cgroup freezer", "the container has no freezer cgroup");
  const auto& [dir, v1] = *f;
  std::string file = dir + (v1 ? "/freezer.state" : "/cgroup.freeze");
  std::string on = v1 ? "FROZEN" : "1", off = v1 ? "THAWED" : "0";
  if (int e = write_text(file, freeze ? on : off)) return Error::sys("writing " + file, e);
  if (!freeze) return ok();  // thawing takes effect at once
  // v1 may stay FREEZING while a task cannot be frozen yet: writing FROZEN again retries.
  for (int i = 1; i <= 5000; ++i) {
    if (frozen_now(dir, v1)) return ok();
    struct timespec ts {0, 1'000'000};
    ::nanosleep(&ts, nullptr);
    if (v1 && i % 50 == 0) (void)write_text(file, on);
  }
  (void)write_text(file, off);
  return Error::input("cgroup freezer " + dir, "the processes were not frozen within 5 s (thawed again)");
}

Cgroup::~Cgroup() {
  if (!released_) remove();
}

std::vector<pid_t> cgroup_procs(const std::vector<std::string>& dirs) {
  std::vector<pid_t> out;
  for (const auto& d : dirs)
    for (pid_t pid : procs_of(d))
      if (std::find(out.begin(), out.end(), pid) == out.end()) out.push_back(pid);
  return out;
}

}  // namespace rdbox
