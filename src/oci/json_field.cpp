#include "oci/json_field.hpp"

#include "oci/config.hpp"

namespace rdbox::oci {

constexpr int kMaxDepth = 64;

Expected<json> parse_json_object(std::string_view text, const std::string& what) {
  if (text.size() > kMaxConfigBytes)
    return Error::input(what, "larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB");
  bool too_deep = false;
  json::parser_callback_t depth_check = [&too_deep](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) too_deep = true;
    return !too_deep;
  };
  json j = json::parse(text.begin(), text.end(), depth_check, false);
  if (too_deep) return Error::input(what, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (j.is_discarded()) {
    // Parse again for the position: the exception's text says where.
    try {
      json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::exception& e) {
      std::string m = e.what();
      auto at = m.find("parse error");
      return Error::input(what, "not valid JSON (" + (at == std::string::npos ? m : m.substr(at)) + ")");
    }
    return Error::input(what, "not valid JSON");
  }
  if (!j.is_object()) return Error::input(what, "must be a JSON object");
  return j;
}

Field at(const json& obj, const std::string& prefix, const char* key) {
  auto it = obj.find(key);
  return Field{it == obj.end() ? nullptr : &*it, prefix.empty() ? key : prefix + "." + key};
}

Error type_error(const Field& f, const char* want) { return Error::input(f.path, std::string("must be ") + want); }

Expected<std::string> get_string(const Field& f, std::string fallback) {
  if (!f.present()) return fallback;
  if (!f.v->is_string()) return type_error(f, "a string");
  return f.v->get<std::string>();
}

Expected<bool> get_bool(const Field& f, bool fallback) {
  if (!f.present()) return fallback;
  if (!f.v->is_boolean()) return type_error(f, "true or false");
  return f.v->get<bool>();
}

Expected<std::uint64_t> get_u64(const Field& f, std::uint64_t max) {
  if (!f.v->is_number_unsigned() || f.v->get<std::uint64_t>() > max)
    return type_error(f, ("a number from 0 to " + std::to_string(max)).c_str());
  return f.v->get<std::uint64_t>();
}

Expected<std::int64_t> get_i64(const Field& f, std::int64_t min, std::int64_t max) {
  if (!f.v->is_number_integer()) return type_error(f, "an integer");
  if (f.v->is_number_unsigned() && f.v->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
    return Error::input(f.path, "must be at most " + std::to_string(max));
  std::int64_t n = f.v->get<std::int64_t>();
  if (n < min || n > max)
    return Error::input(f.path, "must be from " + std::to_string(min) + " to " + std::to_string(max));
  return n;
}

Expected<std::vector<std::string>> get_strings(const Field& f) {
  std::vector<std::string> out;
  if (!f.present()) return out;
  if (!f.v->is_array()) return type_error(f, "an array of strings");
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    const json& e = (*f.v)[i];
    if (!e.is_string()) return Error::input(f.path + "[" + std::to_string(i) + "]", "must be a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Status check_object(const Field& f) {
  if (f.present() && !f.v->is_object()) return type_error(f, "an object");
  return ok();
}

Status for_each_object(const Field& f, const std::function<Status(const Field&)>& each) {
  if (!f.present()) return ok();
  if (!f.v->is_array()) return type_error(f, "an array");
  for (std::size_t i = 0; i < f.v->size(); ++i) {
    Field e{&(*f.v)[i], idx(f.path, i)};
    if (!e.v->is_object()) return type_error(e, "an object");
    if (auto s = each(e); !s) return s;
  }
  return ok();
}

Status check_array(const Field& f) {
  if (f.present() && !f.v->is_array()) return type_error(f, "an array");
  return ok();
}

std::string idx(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

Expected<std::optional<std::int64_t>> optional_i64(const json& obj, const std::string& path, const char* key,
                                                   std::int64_t min) {
  Field f = at(obj, path, key);
  if (!f.present()) return std::optional<std::int64_t>{};
  auto n = get_i64(f, min, INT64_MAX);
  if (!n) return n.error();
  return std::optional<std::int64_t>(*n);
}

Expected<std::optional<std::uint64_t>> optional_u64(const json& obj, const std::string& path, const char* key,
                                                    std::uint64_t max) {
  Field f = at(obj, path, key);
  if (!f.present()) return std::optional<std::uint64_t>{};
  auto n = get_u64(f, max);
  if (!n) return n.error();
  return std::optional<std::uint64_t>(*n);
}

}  // namespace rdbox::oci
