// rdbox compare: the CompareSpec from the CLI's words, the library's compare, the table.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "cli/cli.hpp"
#include "rdbox/compare.hpp"

namespace rdbox::cli {

namespace {

rdbox::Status finish_compare(rdbox::CompareSpec& cmp, const CompareArgs& c) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(c.rounds.c_str(), &end, 10);
  if (c.rounds.empty() || *end || errno == ERANGE || n < 1 || n > 1'000'000)
    return rdbox::Error::input("-n", "\"" + c.rounds + "\" is not a count between 1 and 1000000");
  cmp.rounds = static_cast<int>(n);
  if (c.rss && *c.rss != "0") {  // 0: do not grow
    auto r = rdbox::parse_size(*c.rss);
    if (!r) return rdbox::Error::input("--rss", r.error().what());
    cmp.rss = r.value();
  }
  cmp.touch = c.touch;
  if (c.format == "table") cmp.format = rdbox::CompareFormat::table;
  else if (c.format == "json") cmp.format = rdbox::CompareFormat::json;
  else if (c.format == "csv") cmp.format = rdbox::CompareFormat::csv;
  else return rdbox::Error::input("--format", "unknown format \"" + c.format + "\" (want table, json or csv)");
  if (!c.modes) return rdbox::ok();
  if (c.modes->empty()) return rdbox::Error::input("--modes", "empty list");
  std::string_view list = *c.modes;
  while (true) {
    auto comma = list.find(',');
    std::string m(list.substr(0, comma));
    if (m.empty()) return rdbox::Error::input("--modes", "an empty item in \"" + *c.modes + "\"");
    cmp.modes.push_back(m);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return rdbox::ok();
}

}  // namespace

rdbox::Status prepare_compare(rdbox::CompareSpec& cmp, RunArgs& args, const CompareArgs& c) {
  if (auto s = finish_spec(cmp.base, args); !s) return s;
  cmp.base.report = rdbox::ReportFormat::none;
  if (auto s = finish_compare(cmp, c); !s) return s;
  return cmp.validate();
}

int compare_command(rdbox::CompareSpec& cmp, RunArgs& args, const CompareArgs& c) {
  if (auto s = prepare_compare(cmp, args, c); !s) return fail(s.error().what());
  cmp.progress = ::isatty(2);
  auto result = rdbox::compare(cmp);
  if (!result) return fail(result.error().what());
  std::string text;
  switch (cmp.format) {
    case rdbox::CompareFormat::table: text = rdbox::format_table(cmp, result.value()); break;
    case rdbox::CompareFormat::json: text = rdbox::format_json(cmp, result.value()) + "\n"; break;
    case rdbox::CompareFormat::csv: text = rdbox::format_csv(result.value()); break;
  }
  if (int rc = print(text, "compare")) return rc;
  return 0;
}

}  // namespace rdbox::cli
