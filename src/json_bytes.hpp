// Makes a JSON value safe to dump whatever bytes its strings hold (see rdbox/bytes.hpp):
// every string that is not UTF-8 is rewritten as Latin-1 and its JSON Pointer is added
// to the top-level "byte_strings" array (only present when some string needed it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rdbox/bytes.hpp"

namespace rdbox {

namespace detail {
template <class Json>
void latin1_strings(Json& j, const std::string& pointer, std::vector<std::string>& found) {
  if (j.is_string()) {
    auto& s = j.template get_ref<typename Json::string_t&>();
    if (!is_utf8(s)) {
      s = latin1_to_utf8(s);
      found.push_back(pointer);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) latin1_strings(j[i], pointer + "/" + std::to_string(i), found);
  } else if (j.is_object()) {
    // Keys are rdbox's own names (never input), so only values are rewritten.
    for (auto it = j.begin(); it != j.end(); ++it)
      latin1_strings(it.value(), pointer + "/" + json_pointer_token(it.key()), found);
  }
}
}  // namespace detail

template <class Json>
void make_byte_safe(Json& top) {
  std::vector<std::string> found;
  detail::latin1_strings(top, "", found);
  if (!found.empty()) top["byte_strings"] = found;
}

}  // namespace rdbox
