// The command line → what to do: a validated Spec (run), a validated CompareSpec
// (compare), doctor, or text to print (--help, --version). Reads --env-file files and
// nothing else; creates nothing. Callable from tests and fuzz targets.
#pragma once

#include <optional>
#include <string>

#include "rdbox/compare.hpp"
#include "rdbox/error.hpp"
#include "rdbox/spec.hpp"

namespace rdbox::cli {

// An --env-file larger than this is refused (it is read whole, before anything runs).
constexpr std::size_t kMaxEnvFileBytes = std::size_t{1} << 20;

struct LogOptions {
  int verbose = 0;
  std::optional<std::string> level;
};

struct CommandLine {
  enum class Action { print, run, compare, doctor };
  Action action = Action::print;
  std::string text;  // print: what goes to stdout
  int exit_code = 0;  // print
  LogOptions log;
  Spec spec;           // run
  CompareSpec compare;  // compare
};

// Fills `cl` (the caller's, which CLI11's bindings point into while parsing).
Status parse_command_line(int argc, char** argv, CommandLine& cl);

// Reads a --env-file: a regular file of at most kMaxEnvFileBytes, without blocking.
Expected<std::string> read_env_file(const std::string& path);

}  // namespace rdbox::cli
