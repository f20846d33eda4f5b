#include "rdbox/spec.hpp"

#include <sys/mount.h>

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <limits>

// The parsers of the CLI's option values: each turns outside bytes into a value or one
// Error naming the option. No system calls.
namespace rdbox {

bool valid_env_key(std::string_view key) {
  return !key.empty() && key.find('=') == std::string_view::npos && key.find('\0') == std::string_view::npos;
}

namespace {
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

Expected<std::uint64_t> parse_clone_flags(std::string_view list) {
  std::uint64_t bits = 0;
  bool any = false;
  while (true) {
    auto comma = list.find_first_of(",|");
    std::string_view word = trim(list.substr(0, comma));
    if (!word.empty()) {
      std::string name = upper(word);
      if (name.rfind("CLONE_", 0) != 0) name = "CLONE_" + name;
      const CloneFlagInfo* row = nullptr;
      for (std::size_t i = 0; i < kCloneFlagCount; ++i)
        if (kCloneFlags[i].name == name) row = &kCloneFlags[i];
      if (!row) return Error::input("--clone-flags", "unknown flag \"" + std::string(word) + "\"");
      if (!row->user_settable)
        return Error::input("--clone-flags", std::string(row->name) + " is refused: " + std::string(row->refusal));
      bits |= row->bit;
      any = true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!any) return Error::input("--clone-flags", "empty flag list");
  return bits;
}

std::vector<std::string> clone_flag_names(std::uint64_t bits) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kCloneFlagCount; ++i)
    if (bits & kCloneFlags[i].bit) {
      names.emplace_back(kCloneFlags[i].name);
      bits &= ~kCloneFlags[i].bit;
    }
  return names;
}

Expected<std::size_t> parse_size(std::string_view text) {
  std::string_view s = trim(text);
  auto bad = [&](std::string why) {
    return Error::input("size \"" + std::string(text) + "\"", std::move(why));
  };
  if (s.empty()) return bad("empty");
  std::size_t i = 0;
  unsigned long long value = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    unsigned digit = static_cast<unsigned>(s[i] - '0');
    if (value > (std::numeric_limits<unsigned long long>::max() - digit) / 10) return bad("too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return bad("not a number");
  std::string suffix = upper(s.substr(i));
  unsigned shift = 0;
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") shift = 10;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") shift = 20;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") shift = 30;
  else return bad("unknown suffix \"" + std::string(s.substr(i)) + "\" (use K, M or G)");
  if (shift && value > (std::numeric_limits<std::size_t>::max() >> shift)) return bad("too large");
  std::size_t bytes = static_cast<std::size_t>(value) << shift;
  if (bytes == 0) return bad("must be greater than 0");
  return bytes;
}

namespace {
Expected<std::uint64_t> parse_u64(std::string_view s, std::string_view what, std::uint64_t max) {
  std::string_view t = trim(s);
  if (t.empty()) return Error::input(std::string(what), "empty number");
  std::uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return Error::input(std::string(what), "\"" + std::string(t) + "\" is not a number");
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return Error::input(std::string(what), "\"" + std::string(t) + "\" is too large");
    v = v * 10 + d;
  }
  return v;
}
}  // namespace

Expected<std::uint64_t> parse_count(std::string_view text, std::string_view what, std::uint64_t max) {
  return parse_u64(text, what, max);
}

Expected<IdMapRange> parse_id_map(std::string_view text) {
  std::vector<std::string_view> parts;
  std::string_view t = trim(text);
  while (!t.empty()) {
    auto sp = t.find_first_of(" \t:");
    parts.push_back(t.substr(0, sp));
    if (sp == std::string_view::npos) break;
    t = trim(t.substr(sp + 1));
  }
  if (parts.size() != 3)
    return Error::input("id map \"" + std::string(text) + "\"", "want \"INSIDE OUTSIDE COUNT\"");
  IdMapRange r;
  const std::uint64_t max = 0xFFFFFFFFull;
  auto in = parse_u64(parts[0], "id map inside", max - 1);
  auto out = parse_u64(parts[1], "id map outside", max - 1);
  auto count = parse_u64(parts[2], "id map count", max);
  if (!in) return in.error();
  if (!out) return out.error();
  if (!count) return count.error();
  if (count.value() == 0) return Error::input("id map \"" + std::string(text) + "\"", "count must be at least 1");
  if (in.value() + count.value() > max + 1 || out.value() + count.value() > max + 1)
    return Error::input("id map \"" + std::string(text) + "\"", "range overflows 32-bit ids");
  r.inside = static_cast<std::uint32_t>(in.value());
  r.outside = static_cast<std::uint32_t>(out.value());
  r.count = static_cast<std::uint32_t>(count.value());
  return r;
}

Expected<MountEntry> parse_bind(std::string_view arg, bool read_only) {
  std::string opt = read_only ? "--ro-bind" : "--bind";
  auto colon = arg.find(':');
  if (colon != std::string_view::npos && arg.find(':', colon + 1) != std::string_view::npos)
    return Error::input(opt, "\"" + std::string(arg) + "\" has more than one ':' (want SRC[:DST])");
  std::string src(arg.substr(0, colon));
  std::string_view dst = colon == std::string_view::npos ? arg : arg.substr(colon + 1);
  if (src.empty() || src[0] != '/') return Error::input(opt, "source \"" + src + "\" must be an absolute path");
  if (dst.empty() || dst[0] != '/')
    return Error::input(opt, "destination \"" + std::string(dst) + "\" must be an absolute path");
  auto d = normalize_destination(dst, opt);
  if (!d) return d.error();
  MountEntry m;
  m.type = MountType::bind;
  m.source = std::move(src);
  m.destination = std::move(d.value());
  m.read_only = read_only;
  m.origin = opt;
  return m;
}

namespace {
// --tmpfs's options, each at most once; the filesystem's data string is built from them.
struct TmpfsOptions {
  std::optional<std::string> size, mode, uid, gid, nr_inodes;
  std::string data() const {
    std::string d = "mode=" + mode.value_or("0755");
    for (const auto& [key, v] : {std::pair{"size", &size}, {"uid", &uid}, {"gid", &gid}, {"nr_inodes", &nr_inodes}})
      if (*v) d += std::string(",") + key + "=" + **v;
    return d;
  }
};

// One "key=value" or bare "key" of --tmpfs's options.
Status tmpfs_option(std::string_view item, TmpfsOptions& o, MountEntry& m, std::string_view arg) {
  auto bad = [&](std::string why) { return Error::input("--tmpfs", "\"" + std::string(arg) + "\": " + why); };
  const std::string known = " (want size=, mode=, uid=, gid=, nr_inodes=, ro, noexec, exec)";
  auto eq = item.find('=');
  std::string_view key = item.substr(0, eq), value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
  if (eq == std::string_view::npos) {
    if (key == "ro") m.read_only = true;
    else if (key == "noexec") m.flags |= MS_NOEXEC;
    else if (key == "exec") m.flags &= ~static_cast<unsigned long>(MS_NOEXEC);
    else return bad("unknown option \"" + std::string(key) + "\"" + known);
    return ok();
  }
  std::optional<std::string>* slot = key == "size" ? &o.size : key == "mode" ? &o.mode : key == "uid" ? &o.uid
                                     : key == "gid" ? &o.gid : key == "nr_inodes" ? &o.nr_inodes : nullptr;
  if (!slot) return bad("unknown option \"" + std::string(key) + "\"" + known);
  if (slot->has_value()) return bad(std::string(key) + " is given twice");
  if (key == "size") {
    auto n = parse_size(value);
    if (!n) return bad("size " + n.error().message);
    *slot = std::to_string(n.value());
  } else if (key == "mode") {
    bool octal = !value.empty() && value.size() <= 4 && value.find_first_not_of("01234567") == std::string_view::npos;
    if (!octal) return bad("mode \"" + std::string(value) + "\" is not an octal mode such as 1777");
    *slot = std::string(value);
  } else {
    auto n = parse_u64(value, "--tmpfs " + std::string(key), key == "nr_inodes" ? (1ull << 40) : 0xfffffffeull);
    if (!n) return n.error();
    *slot = std::to_string(n.value());
  }
  return ok();
}
}  // namespace

Expected<MountEntry> parse_tmpfs(std::string_view arg) {
  auto colon = arg.find(':');
  auto d = normalize_destination(arg.substr(0, colon), "--tmpfs");
  if (!d) return d.error();
  MountEntry m;
  m.type = MountType::tmpfs;
  m.source = "tmpfs";
  m.destination = std::move(d.value());
  m.flags = MS_NOSUID | MS_NODEV;
  m.origin = "--tmpfs";
  TmpfsOptions o;
  if (colon != std::string_view::npos) {
    std::string_view rest = arg.substr(colon + 1);
    while (true) {
      auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      if (item.empty()) return Error::input("--tmpfs", "\"" + std::string(arg) + "\": an empty option");
      if (auto s = tmpfs_option(item, o, m, arg); !s) return s.error();
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  m.data = o.data();
  return m;
}

Expected<TimeOffsets> parse_time_offsets(std::string_view text) {
  TimeOffsets t;
  std::string_view rest = text;
  if (trim(text).empty()) return Error::input("--time-offset", "empty (want monotonic=S,boottime=S)");
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return Error::input("--time-offset", "empty item in \"" + std::string(text) + "\"");
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return Error::input("--time-offset", "\"" + std::string(item) + "\" (want monotonic=S,boottime=S)");
    std::string_view clock = item.substr(0, eq), value = item.substr(eq + 1);
    bool neg = !value.empty() && value[0] == '-';
    if (neg) value.remove_prefix(1);
    auto v = parse_u64(value, "--time-offset", 1ull << 40);
    if (!v) return v.error();
    std::int64_t secs = neg ? -static_cast<std::int64_t>(v.value()) : static_cast<std::int64_t>(v.value());
    std::optional<std::int64_t>* slot = clock == "monotonic" ? &t.monotonic : clock == "boottime" ? &t.boottime : nullptr;
    if (slot && slot->has_value())
      return Error::input("--time-offset", std::string(clock) + " is given more than once");
    if (slot) *slot = secs;
    else return Error::input("--time-offset", "unknown clock \"" + std::string(clock) + "\" (want monotonic or boottime)");
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!t.monotonic && !t.boottime) return Error::input("--time-offset", "empty");
  return t;
}

Expected<UserIds> parse_user(std::string_view text) {
  auto colon = text.find(':');
  UserIds u;
  auto uid = parse_u64(text.substr(0, colon), "--user", 0xFFFFFFFEull);
  if (!uid) return Error::input("--user", "\"" + std::string(text) + "\" (want numeric UID[:GID])");
  u.uid = static_cast<std::uint32_t>(uid.value());
  if (colon != std::string_view::npos) {
    auto gid = parse_u64(text.substr(colon + 1), "--user", 0xFFFFFFFEull);
    if (!gid) return Error::input("--user", "\"" + std::string(text) + "\" (want numeric UID[:GID])");
    u.gid = static_cast<std::uint32_t>(gid.value());
  }
  return u;
}


Expected<EnvEntry> parse_env_arg(std::string_view arg) {
  auto eq = arg.find('=');
  std::string_view key = eq == std::string_view::npos ? arg : arg.substr(0, eq);
  if (!valid_env_key(key) || key.find_first_of(" \t\n") != std::string_view::npos)
    return Error::input("--env", "invalid variable \"" + std::string(arg) + "\" (want KEY=VALUE or KEY)");
  EnvEntry e{std::string(key), std::nullopt};
  if (eq != std::string_view::npos) e.value = std::string(arg.substr(eq + 1));
  return e;
}

Expected<std::vector<EnvEntry>> parse_env_file(std::string_view text, std::string_view origin) {
  std::vector<EnvEntry> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (line.find('\0') != std::string_view::npos)
      return Error::input("--env-file " + std::string(origin) + ":" + std::to_string(line_no),
                          "the line holds a NUL byte (a variable cannot)");
    // Docker's env-file keeps the value verbatim; only leading blanks of the key go.
    std::string_view entry = line.substr(line.find(t.front()));
    auto e = parse_env_arg(entry);
    if (!e) {
      return Error::input("--env-file " + std::string(origin) + ":" + std::to_string(line_no),
                          "invalid line \"" + std::string(t) + "\" (want KEY=VALUE or KEY)");
    }
    out.push_back(std::move(e.value()));
  }
  return out;
}


}  // namespace rdbox
