#include "oci/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "json_bytes.hpp"
#include "runtime/cgroup.hpp"

namespace rdbox::oci {

using json = nlohmann::json;

Status check_id(const std::string& id) {
  if (id.empty()) return Error::input("container ID", "is empty");
  if (id.size() > 1024) return Error::input("container ID", "is longer than 1024 bytes");
  if (id == "." || id == "..") return Error::input("container ID \"" + id + "\"", "is not a valid ID");
  for (unsigned char ch : id)
    if (!(std::isalnum(ch) || ch == '_' || ch == '+' || ch == '-' || ch == '.'))
      return Error::input("container ID \"" + id + "\"",
                          "may hold only letters, digits and _ + - . (as runc's IDs)");
  return ok();
}

std::string default_root() {
  if (::geteuid() == 0) return "/run/rdbox";
  const char* xdg = ::getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg == '/') return std::string(xdg) + "/rdbox";
  return "/tmp/rdbox-" + std::to_string(::geteuid());
}

unsigned long long process_starttime(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = text.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream rest(text.substr(rp + 2));
  std::string field;
  char state = 0;
  rest >> state;
  if (state == 'Z' || state == 'X') return 0;
  // Fields after the state: ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice threads itrealvalue starttime (the 19th).
  for (int i = 0; i < 18 && rest >> field; ++i) {
  }
  unsigned long long start = 0;
  rest >> start;
  return start;
}

bool init_alive(pid_t pid, unsigned long long starttime) {
  unsigned long long now = process_starttime(pid);
  return now != 0 && now == starttime;
}

std::string compute_status(const ContainerState& s) {
  if (!init_alive(s.pid, s.starttime)) return "stopped";
  // A frozen cgroup (pause) is "paused", created or running before.
  if (!s.cgroup_dirs.empty() && cgroup_freezer_state(s.cgroup_dirs) == FreezerState::frozen) return "paused";
  if (!s.started) return "created";
  return "running";
}

std::string to_json(const ContainerState& s, bool indent) {
  json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["status"] = s.status.empty() ? compute_status(s) : s.status;
  j["pid"] = j["status"] == "stopped" ? 0 : s.pid;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.bundle.empty() ? "" : s.bundle + "/rootfs";
  j["created"] = s.created;
  j["owner"] = s.owner;
  j["annotations"] = s.annotations;
  make_byte_safe(j);
  return j.dump(indent ? 2 : -1) + "\n";
}

std::string rfc3339_now() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
  return buf;
}

Status write_file_atomic(const std::string& path, const std::string& text, unsigned mode) {
  // O_EXCL: a name planted there (a link, a hard link to another file) is never opened;
  // a stale one of ours (a crash) is removed once.
  std::string tmp = path + ".rdbox-tmp." + std::to_string(::getpid());
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
  int fd = ::open(tmp.c_str(), kFlags, mode);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) fd = ::open(tmp.c_str(), kFlags, mode);
  if (fd < 0) return Error::sys("write \"" + path + "\"", errno);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error::sys("write \"" + path + "\"", e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error::sys("write \"" + path + "\"", e);
  }
  return ok();
}

namespace {

Status mkdir_p(const std::string& dir, mode_t mode) {
  std::string cur;
  std::size_t i = 0;
  while (i <= dir.size()) {
    std::size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    cur = dir.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Error::sys("state directory \"" + cur + "\"", errno);
    i = j + 1;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::sys("state directory \"" + dir + "\"", errno);
  if (!S_ISDIR(st.st_mode)) return Error::sys("state directory \"" + dir + "\"", ENOTDIR);
  return ok();
}

Status remove_tree(int parent, const std::string& name) {
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) return Error::sys("remove \"" + name + "\"", errno);
      return ok();
    }
    return errno == ENOENT ? Status(ok()) : Status(Error::sys("remove \"" + name + "\"", errno));
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return Error::sys("remove \"" + name + "\"", errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  for (const auto& n : names) {
    if (::unlinkat(::dirfd(d), n.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno == EISDIR || errno == EPERM)
      if (auto s = remove_tree(::dirfd(d), n); !s) {
        ::closedir(d);
        return s;
      }
  }
  ::closedir(d);
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Error::sys("remove \"" + name + "\"", errno);
  return ok();
}

// A container's state names the pid that kill and delete signal, so only a directory
// rdbox's user made can hold it: ROOT/ID owned by the caller and writable by nobody else,
// in a ROOT nobody else may rename entries of (theirs or root's, and not group- or
// world-writable unless sticky, as /tmp). Otherwise anyone who can write ROOT (a shared
// --root) could plant ROOT/ID with a state.json naming a host process, or links in it.
Status check_trusted(const std::string& root, const std::string& dir) {
  struct stat r {}, d {};
  if (::stat(root.c_str(), &r) != 0) return Error::sys("state directory \"" + root + "\"", errno);
  if ((r.st_uid != ::geteuid() && r.st_uid != 0) || ((r.st_mode & (S_IWGRP | S_IWOTH)) && !(r.st_mode & S_ISVTX)))
    return Error::input("state directory \"" + root + "\"",
                        "may be changed by other users (it must be owned by this user or root, and not group- or "
                        "world-writable unless sticky)");
  if (::lstat(dir.c_str(), &d) != 0) return Error::sys("state directory \"" + dir + "\"", errno);
  if (!S_ISDIR(d.st_mode) || d.st_uid != ::geteuid() || (d.st_mode & (S_IWGRP | S_IWOTH)))
    return Error::input("state directory \"" + dir + "\"",
                        "is not this user's own (owner uid " + std::to_string(d.st_uid) +
                            ", or writable by others): not used");
  return ok();
}

}  // namespace

Expected<ContainerDir> ContainerDir::create(const std::string& root, const std::string& id) {
  if (auto s = check_id(id); !s) return s.error();
  if (auto s = mkdir_p(root, 0700); !s) return s.error();
  ContainerDir d;
  d.root_ = root;
  d.id_ = id;
  d.path_ = root + "/" + id;
  if (::mkdir(d.path_.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Error::input("container \"" + id + "\"", "exists already (in " + root + ")");
    return Error::sys("state directory \"" + d.path_ + "\"", errno);
  }
  d.remove_on_close_ = true;
  if (auto s = check_trusted(root, d.path_); !s) return s.error();
  if (auto s = d.lock(true); !s) return s.error();
  return d;
}

Expected<ContainerDir> ContainerDir::open(const std::string& root, const std::string& id) {
  if (auto s = check_id(id); !s) return s.error();
  ContainerDir d;
  d.root_ = root;
  d.id_ = id;
  d.path_ = root + "/" + id;
  struct stat dst {};
  if (::lstat(d.path_.c_str(), &dst) != 0) {
    if (errno == ENOENT) return Error::input("container \"" + id + "\"", "does not exist");
    return Error::sys("state directory \"" + d.path_ + "\"", errno);
  }
  if (!S_ISDIR(dst.st_mode)) return Error::input("container \"" + id + "\"", "does not exist");
  if (auto s = check_trusted(root, d.path_); !s) return s.error();
  if (auto s = d.lock(false); !s) return s.error();
  return d;
}

// A POSIX record lock on ID/lock: held by this process only. A flock (or an OFD lock)
// would be shared with the container's init, which is cloned while create holds it and
// keeps every descriptor until its exec.
Status ContainerDir::lock(bool created) {
  std::string path = path_ + "/lock";
  int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_CREAT;
  dir_.reset(::open(path.c_str(), flags, 0600));
  if (!dir_) {
    if (!created && errno == ENOENT) return Error::input("container \"" + id_ + "\"", "does not exist");
    return Error::sys("lock \"" + path + "\"", errno);
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(dir_.get(), F_SETLKW, &fl) != 0)
    if (errno != EINTR) return Error::sys("lock \"" + path + "\"", errno);
  // Removed while we waited for the lock (a concurrent delete).
  struct stat st {};
  if (::fstat(dir_.get(), &st) != 0 || st.st_nlink == 0)
    return Error::input("container \"" + id_ + "\"", "does not exist");
  return ok();
}

ContainerDir::~ContainerDir() {
  if (remove_on_close_ && !path_.empty()) (void)remove();
}

Expected<ContainerState> ContainerDir::read() const {
  struct stat st {};
  if (::lstat((path_ + "/state.json").c_str(), &st) != 0) return Error::sys("state of \"" + id_ + "\"", ENOENT);
  if (!S_ISREG(st.st_mode)) return Error::input("state of \"" + id_ + "\"", "is not a regular file");
  std::ifstream in(path_ + "/state.json");
  if (!in) return Error::sys("state of \"" + id_ + "\"", ENOENT);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::input("state of \"" + id_ + "\"", "is damaged");
  ContainerState s;
  try {
    s.oci_version = j.value("ociVersion", "");
    s.id = j.value("id", id_);
    s.bundle = j.value("bundle", "");
    s.created = j.value("created", "");
    s.owner = j.value("owner", "");
    s.pid = j.value("pid", 0);
    s.starttime = j.value("rdbox_starttime", 0ULL);
    s.started = j.value("rdbox_started", false);
    s.rootless = j.value("rdbox_rootless", false);
    if (j.contains("rdbox_cgroups") && j["rdbox_cgroups"].is_array())
      for (const auto& d : j["rdbox_cgroups"])
        if (d.is_string()) s.cgroup_dirs.push_back(d.get<std::string>());
    if (j.contains("rdbox_cgroup_parents") && j["rdbox_cgroup_parents"].is_array())
      for (const auto& d : j["rdbox_cgroup_parents"])
        if (d.is_string()) s.cgroup_parents.push_back(d.get<std::string>());
    if (j.contains("annotations") && j["annotations"].is_object())
      for (auto it = j["annotations"].begin(); it != j["annotations"].end(); ++it)
        if (it->is_string()) s.annotations[it.key()] = it->get<std::string>();
  } catch (const json::exception&) {
    return Error::input("state of \"" + id_ + "\"", "is damaged");
  }
  s.status = compute_status(s);
  return s;
}

Status ContainerDir::write(const ContainerState& s) const {
  json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["bundle"] = s.bundle;
  j["created"] = s.created;
  j["owner"] = s.owner;
  j["annotations"] = s.annotations;
  j["rdbox_starttime"] = s.starttime;
  j["rdbox_started"] = s.started;
  j["rdbox_rootless"] = s.rootless;
  j["rdbox_cgroups"] = s.cgroup_dirs;
  j["rdbox_cgroup_parents"] = s.cgroup_parents;
  make_byte_safe(j);
  return write_file_atomic(path_ + "/state.json", j.dump() + "\n", 0600);
}

Status ContainerDir::remove() {
  remove_on_close_ = false;
  dir_.reset();
  int parent = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) return Error::sys("state directory \"" + root_ + "\"", errno);
  Status s = remove_tree(parent, id_);
  ::close(parent);
  return s;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> out;
  DIR* d = ::opendir(root.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || !check_id(n).ok()) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rdbox::oci
