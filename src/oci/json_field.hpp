// Typed access to config.json values with the field's path in every error: json::get
// would throw on a wrong type, and every bad input must become an Error naming its field.
// Shared by the config.json parser (config.cpp) and linux.resources (resources.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdbox/error.hpp"

namespace rdbox::oci {

using json = nlohmann::json;

// `text` as a JSON object (bounded in size and depth); errors say where it is not JSON.
Expected<json> parse_json_object(std::string_view text, const std::string& what);

struct Field {
  const json* v;
  std::string path;
  bool present() const { return v && !v->is_null(); }
};

Field at(const json& obj, const std::string& prefix, const char* key);
Error type_error(const Field& f, const char* want);
Expected<std::string> get_string(const Field& f, std::string fallback = {});
Expected<bool> get_bool(const Field& f, bool fallback = false);
Expected<std::uint64_t> get_u64(const Field& f, std::uint64_t max = UINT64_MAX);
Expected<std::int64_t> get_i64(const Field& f, std::int64_t min, std::int64_t max);
Expected<std::vector<std::string>> get_strings(const Field& f);
// An absent or null key: nullopt.
Expected<std::optional<std::int64_t>> optional_i64(const json& obj, const std::string& path, const char* key,
                                                   std::int64_t min);
Expected<std::optional<std::uint64_t>> optional_u64(const json& obj, const std::string& path, const char* key,
                                                    std::uint64_t max = UINT64_MAX);
Status check_object(const Field& f);
// `each` for every element of the array at `f` (absent: none); each must be an object.
Status for_each_object(const Field& f, const std::function<Status(const Field&)>& each);
Status check_array(const Field& f);
std::string idx(const std::string& path, std::size_t i);  // "mounts[3]"
bool has_nul(const std::string& s);

}  // namespace rdbox::oci
