// A seccomp profile (JSON) → libseccomp → BPF, once, in the parent. The stub only loads it.
#include "rdbox/seccomp.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <nlohmann/json.hpp>

#include "rdbox/config.hpp"
#include "rdbox/fd.hpp"

namespace rdbox {

namespace {

using json = nlohmann::json;

// An optional unsigned field of `obj` no larger than `max`; `fallback` when absent or null.
// json::value() would throw on a wrong type: every shape of input must become an Error.
Expected<std::uint64_t> unsigned_field(const json& obj, const char* key, std::uint64_t fallback, std::uint64_t max,
                                       const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max)
    return Error::input(field + "." + key, "must be a number from 0 to " + std::to_string(max));
  return it->get<std::uint64_t>();
}

std::string string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Expected<std::uint32_t> action_of(const json& j, const std::string& field, int errno_ret) {
  if (!j.is_string()) return Error::input(field, "must be a string such as SCMP_ACT_ERRNO");
  std::string a = j.get<std::string>();
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(static_cast<std::uint16_t>(errno_ret));
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(static_cast<std::uint16_t>(errno_ret));
  return Error::input(field, "unknown action \"" + a + "\"");
}

Expected<scmp_compare> op_of(const std::string& op, const std::string& field) {
  static const std::pair<const char*, scmp_compare> ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [name, cmp] : ops)
    if (op == name) return cmp;
  return Error::input(field, "unknown op \"" + op + "\"");
}

Expected<std::vector<scmp_arg_cmp>> args_of(const json& rule, const std::string& field) {
  std::vector<scmp_arg_cmp> out;
  if (!rule.contains("args") || rule["args"].is_null()) return out;
  if (!rule["args"].is_array()) return Error::input(field + ".args", "must be an array");
  for (std::size_t i = 0; i < rule["args"].size(); ++i) {
    const json& a = rule["args"][i];
    std::string f = field + ".args[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("index")) return Error::input(f, "needs an index from 0 to 5");
    auto index = unsigned_field(a, "index", 0, 5, f);
    auto value = unsigned_field(a, "value", 0, UINT64_MAX, f);
    auto value_two = unsigned_field(a, "valueTwo", 0, UINT64_MAX, f);
    if (!index) return index.error();
    if (!value) return value.error();
    if (!value_two) return value_two.error();
    auto op = op_of(string_field(a, "op"), f + ".op");
    if (!op) return op.error();
    out.push_back({static_cast<unsigned>(index.value()), op.value(), value.value(), value_two.value()});
  }
  return out;
}

// docker's conditional rules: "includes": {"caps": [...]} applies a rule only when the
// process has every one of them, "excludes": {"caps": [...]} only when it has none.
// Architectures and kernel versions in them are not looked at (rdbox is x86-64 only).
Expected<bool> rule_applies(const json& rule, std::uint64_t caps, const std::string& field) {
  for (const char* which : {"includes", "excludes"}) {
    auto it = rule.find(which);
    if (it == rule.end() || it->is_null()) continue;
    if (!it->is_object()) return Error::input(field + "." + which, "must be an object");
    auto list = it->find("caps");
    if (list == it->end() || list->is_null()) continue;
    if (!list->is_array()) return Error::input(field + "." + which + ".caps", "must be an array");
    bool all = true, any = false;
    for (const auto& name : *list) {
      int cap = name.is_string() ? capability_number(name.get<std::string>()) : -1;
      if (cap < 0) return Error::input(field + "." + which + ".caps", "holds an unknown capability");
      bool has = caps & (std::uint64_t{1} << cap);
      all = all && has;
      any = any || has;
    }
    if (which[0] == 'i' ? !all : any) return false;
  }
  return true;
}

Status add_rule(scmp_filter_ctx ctx, const json& rule, const std::string& field, int default_errno,
                std::uint64_t caps) {
  if (!rule.is_object() || !rule.contains("names") || !rule["names"].is_array())
    return Error::input(field, "needs \"names\" (an array of syscall names)");
  auto applies = rule_applies(rule, caps, field);
  if (!applies) return applies.error();
  if (!applies.value()) return ok();
  auto errno_ret = unsigned_field(rule, "errnoRet", static_cast<std::uint64_t>(default_errno), 4095, field);
  if (!errno_ret) return errno_ret.error();
  auto it = rule.find("action");
  auto action = action_of(it == rule.end() ? json() : *it, field + ".action", static_cast<int>(errno_ret.value()));
  if (!action) return action.error();
  auto args = args_of(rule, field);
  if (!args) return args.error();
  for (const auto& n : rule["names"]) {
    if (!n.is_string()) return Error::input(field + ".names", "must hold strings");
    int nr = seccomp_syscall_resolve_name(n.get<std::string>().c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture: as docker does
    int r = seccomp_rule_add_array(ctx, action.value(), nr, static_cast<unsigned>(args->size()), args->data());
    if (r != 0 && r != -EEXIST && r != -EACCES)
      return Error::sys(field + " \"" + n.get<std::string>() + "\"", -r);
  }
  return ok();
}

// seccomp_export_bpf writes to an fd: a pipe's contents become the program.
Expected<std::vector<struct sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::sys("seccomp export", errno);
  Fd rd(p[0]), wr(p[1]);
  ::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);
  int r = seccomp_export_bpf(ctx, wr.get());
  wr.reset();
  if (r != 0) return Error::sys("seccomp export", -r);
  std::vector<struct sock_filter> out;
  struct sock_filter buf[256];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0)
    out.insert(out.end(), buf, buf + n / static_cast<ssize_t>(sizeof buf[0]));
  return out;
}

}  // namespace

Expected<SeccompProgram> compile_seccomp_profile(std::string_view text, std::string name, std::uint64_t caps) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error::input("--seccomp " + name, "not a JSON object");
  auto default_errno = unsigned_field(j, "defaultErrnoRet", EPERM, 4095, "profile");
  if (!default_errno) return default_errno.error();
  auto it = j.find("defaultAction");
  auto def = action_of(it == j.end() ? json() : *it, "defaultAction", static_cast<int>(default_errno.value()));
  if (!def) return def.error();
  std::unique_ptr<void, void (*)(void*)> ctx(seccomp_init(def.value()), [](void* c) { seccomp_release(c); });
  if (!ctx) return Error::input("--seccomp " + name, "libseccomp refused the default action");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);  // no_new_privs is the stub's own step
  const json& rules = j.contains("syscalls") ? j["syscalls"] : json::array();
  if (!rules.is_array()) return Error::input("syscalls", "must be an array");
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (auto s = add_rule(ctx.get(), rules[i], "syscalls[" + std::to_string(i) + "]", static_cast<int>(default_errno.value()), caps); !s)
      return s.error();
  auto bpf = export_bpf(ctx.get());
  if (!bpf) return bpf.error();
  return SeccompProgram{std::move(name), std::move(bpf.value())};
}

}  // namespace rdbox
