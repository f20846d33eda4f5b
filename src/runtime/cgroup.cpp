#include "cgroup.hpp"

#include "cgroup_limits.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
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
    // A hierarchy mounted over (a cgroup2 mount on /sys/fs/cgroup hiding the v1 ones under
    // it) is listed still, but its path is another mount's now: skip it.
    unsigned major = 0, minor = 0;
    struct stat at {};
    if (std::sscanf(left[2].c_str(), "%u:%u", &major, &minor) != 2 || ::stat(h.mount.c_str(), &at) != 0 ||
        at.st_dev != makedev(major, minor))
      continue;
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

namespace {

// Which hierarchy a run's directory goes in, and what is limited there.
struct Pick {
  const CgroupHierarchy* h;
  std::vector<std::string> controllers;  // their v1 names (what cgroup_writes takes)
  std::vector<std::string> enable;       // v2: what cgroup.subtree_control above must delegate
};

void add_pick(std::vector<Pick>& picks, const CgroupHierarchy* h, const std::string& ctrl, const std::string& enable) {
  auto it = std::find_if(picks.begin(), picks.end(), [h](const Pick& p) { return p.h == h; });
  if (it == picks.end()) it = picks.insert(picks.end(), Pick{h, {}, {}});
  if (!ctrl.empty() && !has(it->controllers, ctrl)) it->controllers.push_back(ctrl);
  if (!enable.empty() && !has(it->enable, enable)) it->enable.push_back(enable);
}

const CgroupHierarchy* find_hierarchy(const std::vector<CgroupHierarchy>& hs, int version, const std::string& ctrl) {
  for (const auto& h : hs)
    if (h.version == version && (ctrl.empty() || has(h.controllers, ctrl))) return &h;
  return nullptr;
}

// Each wanted controller where the host has it: v2 when v2 offers it, else its v1 hierarchy.
Status pick_limited(const std::vector<CgroupHierarchy>& hs, const CgroupConfig& config, std::vector<Pick>& picks) {
  for (const auto& ctrl : cgroup_wanted_controllers(config)) {
    std::string v1 = ctrl.v1, v2 = ctrl.v2 ? ctrl.v2 : "";
    if (v1 == "unified") {  // raw v2 files: the v2 directory, their controllers delegated
      const CgroupHierarchy* h = find_hierarchy(hs, 2, "");
      if (!h) return Error::input(cgroup_field_name(config, "unified"), "needs cgroup v2, which is not mounted here");
      add_pick(picks, h, v1, "");
      for (const auto& kv : config.unified)
        if (auto dot = kv.first.find('.'); dot != std::string::npos && has(h->controllers, kv.first.substr(0, dot)))
          add_pick(picks, h, "", kv.first.substr(0, dot));
      continue;
    }
    if (const CgroupHierarchy* h = ctrl.v2 ? find_hierarchy(hs, 2, v2) : nullptr) {
      add_pick(picks, h, v1, v2);
    } else if (const CgroupHierarchy* h1 = find_hierarchy(hs, 1, v1)) {
      add_pick(picks, h1, v1, "");
    } else if (v1 == "devices" && find_hierarchy(hs, 2, "")) {
      continue;  // v2's device controller is eBPF, which rdbox does not load (docs/oci.md)
    } else {
      return Error::input(config.resources_origin.empty() ? config.origin : config.resources_origin,
                          "the " + v1 + " controller is not available here (neither on cgroup v2 nor on a v1 "
                          "hierarchy; see rdbox doctor)");
    }
  }
  return ok();
}

Expected<std::vector<Pick>> pick_hierarchies(const std::vector<CgroupHierarchy>& hs, const CgroupConfig& config) {
  std::vector<Pick> picks;
  if (const CgroupHierarchy* v2 = find_hierarchy(hs, 2, "")) add_pick(picks, v2, "", "");  // tracking, cgroup.kill
  if (auto s = pick_limited(hs, config, picks); !s) return s.error();
  // The freezer: v1's hierarchy where there is one (a hybrid host's own), else the v2
  // directory's cgroup.freeze.
  bool v2_freezes = false;
  if (config.freezer) {
    if (const CgroupHierarchy* v1 = find_hierarchy(hs, 1, "freezer")) add_pick(picks, v1, "freezer", "");
    else v2_freezes = true;
  }
  if (config.every_hierarchy)
    for (const auto& h : hs)
      if (h.version == 1) add_pick(picks, &h, "", "");
  // The v2 directory only to track processes is not needed when a v1 one does it already.
  if (picks.size() > 1 && picks.front().h->version == 2 && picks.front().controllers.empty() &&
      picks.front().enable.empty() && !v2_freezes)
    picks.erase(picks.begin());
  if (picks.empty()) return Error::input(config.origin, "no cgroup hierarchy is mounted (see rdbox doctor)");
  return picks;
}

// v2: delegates `enable` to the children of `dir` ("+memory +pids").
Status delegate(const std::string& dir, const std::vector<std::string>& enable, const std::string& origin) {
  if (enable.empty()) return ok();
  std::string text;
  for (const auto& c : enable) text += (text.empty() ? "+" : " +") + c;
  if (int e = write_text(dir + "/cgroup.subtree_control", text))
    return Error::input(origin, "cannot enable " + text + " for cgroups under " + dir + ": " + std::strerror(e) +
                                    (e == EBUSY ? " (it holds processes: cgroup v2 lets only a cgroup without "
                                                  "processes delegate controllers; use --cgroup-parent)"
                                                : ""));
  return ok();
}

// v1 cpuset: a new directory has no CPUs and no memory nodes, and takes no process until
// it has some: its parent's, as the kernel's clone_children would copy.
void inherit_cpuset(const std::string& dir) {
  for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
    auto mine = read_text(dir + f);
    if (!mine || mine->find_first_not_of(" \n") != std::string::npos) continue;
    if (auto up = read_text(dir.substr(0, dir.rfind('/')) + f)) (void)write_text(dir + f, *up);
  }
}

}  // namespace

Status Cgroup::make(const CgroupConfig& config) {
  auto hs = cgroup_hierarchies();
  auto picks = pick_hierarchies(hs, config);
  if (!picks) return picks.error();
  std::string name = config.path.empty() ? fresh_name() : config.path;
  for (const auto& p : *picks)
    if (auto s = make_dir(*p.h, p.controllers, p.enable, config, name); !s) return s;
  return ok();
}

Status Cgroup::make_dir(const CgroupHierarchy& h, const std::vector<std::string>& ctrls,
                        const std::vector<std::string>& enable, const CgroupConfig& config, const std::string& name) {
  bool absolute = !config.parent.empty() && config.parent[0] == '/';
  std::string parent = join_path(h.mount, absolute ? config.parent : join_path(h.own, config.parent));
  if (!config.path.empty()) parent = join_path(h.mount, "/");
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error::input(config.parent.empty() ? config.origin : "--cgroup-parent", "\"" + parent + "\" does not exist");
  if (auto s = delegate(parent, enable, config.origin); !s) return s;
  if (config.path.empty()) sweep_stale(parent, h.version);
  std::string dir = join_path(parent, name);
  bool cpuset = h.version == 1 && has(h.controllers, "cpuset");
  // An exact path's missing parents are made (runc's mkdir -p), and remembered.
  for (std::size_t slash = parent.size() + 1; !config.path.empty();) {
    slash = dir.find('/', slash + 1);
    if (slash == std::string::npos) break;
    std::string mid = dir.substr(0, slash);
    if (::mkdir(mid.c_str(), 0755) == 0) made_parents_.insert(made_parents_.begin(), mid);
    else if (errno != EEXIST) break;  // the leaf's mkdir below says why
    if (cpuset) inherit_cpuset(mid);
    if (auto s = delegate(mid, enable, config.origin); !s) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0) {
    int e = errno;
    return Error::input(config.origin, "cannot create the cgroup " + dir + ": " + std::strerror(e) +
                                           (e == EACCES || e == EROFS || e == EPERM
                                                ? " (rootless runs need a delegated cgroup; see rdbox doctor)"
                                                : ""));
  }
  dirs_.push_back({h, dir, ctrls});
  if (cpuset) inherit_cpuset(dir);
  if (display_.empty() || h.version == 2) display_ = dir.substr(h.mount.size());
  return ok();
}

namespace {

// v2 cpu.max with an empty quota ("" PERIOD: a period alone) keeps the quota it has.
std::string with_current(const std::string& dir, const CgroupWrite& w) {
  if (w.file != "cpu.max" || w.value.empty() || w.value[0] != ' ') return w.value;
  auto now = read_text(dir + "/cpu.max");
  std::string quota = now ? now->substr(0, now->find(' ')) : "max";
  return quota + w.value;
}

Status write_error(const CgroupConfig& c, const std::string& dir, const CgroupWrite& w, int e) {
  std::string hint = e == ENOENT && w.file.find("memsw") != std::string::npos ? " (swap accounting is off in this kernel)"
                     : e == ENOENT ? " (this kernel has no such file)"
                                   : "";
  return Error::input(cgroup_field_name(c, w.field),
                      "writing \"" + w.value + "\" to " + dir + "/" + w.file + ": " + std::strerror(e) + hint);
}

}  // namespace

Status write_cgroup_limits(const std::string& dir, const std::vector<std::string>& controllers, int version,
                           const CgroupConfig& c) {
  for (const auto& ctrl : controllers) {
    auto writes = cgroup_writes(c, ctrl, version);
    if (!writes) return writes.error();
    std::vector<const CgroupWrite*> again;
    for (auto& w : *writes) {
      if (!w.alias.empty() && ::access((dir + "/" + w.file).c_str(), F_OK) != 0 &&
          ::access((dir + "/" + w.alias).c_str(), F_OK) == 0)
        w.file = w.alias;
      int e = write_text(dir + "/" + w.file, with_current(dir, w));
      if (e == EINVAL && w.retry) again.push_back(&w);
      else if (e) return write_error(c, dir, w, e);
    }
    for (const CgroupWrite* w : again)
      if (int e = write_text(dir + "/" + w->file, with_current(dir, *w))) return write_error(c, dir, *w, e);
  }
  return ok();
}

Status Cgroup::write_limits(const CgroupConfig& c) {
  for (const auto& d : dirs_)
    if (auto s = write_cgroup_limits(d.path, d.controllers, d.h.version, c); !s) return s;
  return ok();
}
namespace {

// The directory of `dirs` on the hierarchy holding `ctrl` (v2 first) and its version.
std::optional<std::pair<std::string, int>> dir_for(const std::vector<CgroupHierarchy>& hs,
                                                   const std::vector<std::string>& dirs, const CgroupController& ctrl) {
  for (int version : {2, 1})
    for (const auto& h : hs) {
      if (h.version != version) continue;
      bool holds = version == 1 ? has(h.controllers, ctrl.v1)
                                : ctrl.v2 && (!*ctrl.v2 || has(h.controllers, ctrl.v2));
      if (!holds) continue;
      for (const auto& d : dirs)
        if (d.rfind(h.mount + "/", 0) == 0) return std::make_pair(d, version);
    }
  return std::nullopt;
}

}  // namespace

Status cgroup_update(const std::vector<std::string>& dirs, const CgroupConfig& c) {
  auto hs = cgroup_hierarchies();
  for (const auto& ctrl : cgroup_wanted_controllers(c)) {
    auto where = dir_for(hs, dirs, ctrl);
    if (!where) {
      if (std::string(ctrl.v1) == "devices") continue;  // v2's is eBPF: not written (docs/oci.md)
      return Error::input(cgroup_field_name(c, ctrl.v1), std::string("the container has no ") + ctrl.v1 + " cgroup");
    }
    const auto& [dir, version] = *where;
    if (version == 2 && ctrl.v2 && *ctrl.v2)  // delegated already, unless create did not limit it
      (void)write_text(dir.substr(0, dir.rfind('/')) + "/cgroup.subtree_control", std::string("+") + ctrl.v2);
    if (auto s = write_cgroup_limits(dir, {ctrl.v1}, version, c); !s) return s;
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
