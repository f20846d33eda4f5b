// Unusual but well-formed input (issue 10, "Found in review"): every case ends as exit
// 125 and exactly one line on stderr, or as the command's own status — never an abort,
// a hang, a crash, or something left behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace itest;

namespace {

// The strings at the JSON Pointers listed in "byte_strings" are Latin-1: back to bytes.
std::string bytes_at(const nlohmann::json& j, const std::string& pointer) {
  std::string text = j.at(nlohmann::json::json_pointer(pointer)).get<std::string>();
  bool listed = false;
  if (j.contains("byte_strings"))
    for (const auto& p : j["byte_strings"]) listed = listed || p == pointer;
  if (!listed) return text;
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      EXPECT_TRUE((c == 0xC2 || c == 0xC3) && i + 1 < text.size()) << "not Latin-1 at " << pointer;
      out.push_back(static_cast<char>(((c & 3) << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F)));
    }
  }
  return out;
}

// Strict UTF-8 JSON (nlohmann's parser rejects invalid UTF-8).
nlohmann::json strict_json(const std::string& text) {
  auto j = parse_json(text);
  return j ? *j : nlohmann::json();
}

bool has_control_char(const std::string& line) {
  return std::any_of(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f;
  });
}

std::vector<std::string> listing(const std::string& dir) {
  Result r = Process::start_program({"/bin/ls", "-A", dir}).finish();
  return split_lines(r.out);
}

struct Bad {
  const char* name;
  std::vector<std::string> args;  // "{tmp}" is replaced by the test's directory
  const char* needle;             // in the error line, as printed
};

const Bad kBad[] = {
    {"user_empty", {"run", "--user", ""}, "--user"},
    {"time_offset_empty", {"run", "--time-offset", ""}, "--time-offset"},
    {"time_offset_repeated_clock", {"run", "--time-offset", "monotonic=1,monotonic=2"}, "more than once"},
    {"time_offset_trailing_comma", {"run", "--time-offset", "monotonic=1,"}, "--time-offset"},
    {"bind_two_colons", {"run", "--bind", "/etc:/mnt:/x"}, "more than one ':'"},
    {"ro_bind_two_colons", {"run", "--ro-bind", "/etc:/mnt:/x"}, "--ro-bind"},
    {"preserve_fds_empty", {"run", "--preserve-fds", ""}, "--preserve-fds"},
    {"log_level_empty", {"--log-level", "", "run"}, "--log-level"},
    {"hostname_empty", {"run", "--hostname", ""}, "--hostname"},
    {"tmpfs_empty", {"run", "--tmpfs", ""}, "--tmpfs"},
    {"rootfs_empty", {"run", "--rootfs", ""}, "--rootfs"},
    {"uid_map_empty", {"run", "--uid-map", ""}, "--uid-map"},
    {"env_empty", {"run", "-e", ""}, "--env"},
    {"env_file_empty_path", {"run", "--env-file", ""}, "--env-file"},
    {"env_file_fifo", {"run", "--env-file", "{tmp}/fifo"}, "not a regular file"},
    {"env_file_dev_zero", {"run", "--env-file", "/dev/zero"}, "not a regular file"},
    {"env_file_too_large", {"run", "--env-file", "{tmp}/big.env"}, "larger than 1 MiB"},
    {"env_file_nul_byte", {"run", "--env-file", "{tmp}/nul.env"}, "nul.env:2"},
    {"env_file_escape_sequence", {"run", "--env-file", "{tmp}/esc.env"}, "\\e[31m"},
    {"env_newline", {"run", "-e", "A\nB=1"}, "A\\nB=1"},
    {"report_file_dev_full", {"run", "--report-file", "/dev/full"}, "not a regular file"},
    {"report_file_fifo", {"run", "--report-file", "{tmp}/fifo"}, "not a regular file"},
    {"report_file_symlink", {"run", "--report-file", "{tmp}/link"}, "symbolic link"},
    {"report_file_dangling_symlink", {"run", "--report-file", "{tmp}/dangling"}, "symbolic link"},
    {"report_file_hard_link", {"run", "--report-file", "{tmp}/hardlink"}, "hard links"},
    {"compare_modes_empty", {"compare", "--modes", ""}, "--modes"},
    {"compare_modes_empty_item", {"compare", "--modes", "fork,,clone"}, "--modes"},
    {"compare_rss_empty", {"compare", "--rss", ""}, "--rss"},
};

void PrintTo(const Bad& c, std::ostream* os) { *os << c.name; }

class InputTest : public RdboxTest, public ::testing::WithParamInterface<Bad> {
 protected:
  void SetUp() override {
    RdboxTest::SetUp();
    ASSERT_EQ(::mkfifo((tmp / "fifo").c_str(), 0644), 0);
    tmp.write("big.env", std::string((1 << 20) + 1, '#'));
    tmp.write("nul.env", std::string("A=1\nB=x\0y\n", 10));
    tmp.write("esc.env", "\x1b[31mRED LINE\n");
    tmp.write("target", "precious\n", 0600);
    ASSERT_EQ(::symlink((tmp / "target").c_str(), (tmp / "link").c_str()), 0);
    ASSERT_EQ(::symlink((tmp / "absent").c_str(), (tmp / "dangling").c_str()), 0);
    ASSERT_EQ(::link((tmp / "target").c_str(), (tmp / "hardlink").c_str()), 0);
  }
  TempDir tmp;
};

TEST_P(InputTest, Is125WithOneEscapedLineAndLeavesNothing) {
  std::vector<std::string> a;
  for (std::string s : GetParam().args) {
    for (std::size_t pos; (pos = s.find("{tmp}")) != std::string::npos;) s.replace(pos, 5, tmp.path());
    a.push_back(s);
  }
  auto before = listing(tmp.path());
  std::string marker = tmp / "ran";
  a.insert(a.end(), {"--", "touch", marker});
  SCOPED_TRACE(GetParam().name);
  RunOptions opts;
  opts.timeout = 5s;  // a FIFO must not block the open
  Result r = run(a, opts);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.out, "");
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
  EXPECT_EQ(lines[0].rfind("rdbox: ", 0), 0u) << lines[0];
  EXPECT_FALSE(has_control_char(lines[0])) << lines[0];
  EXPECT_NE(lines[0].find(GetParam().needle), std::string::npos) << lines[0];
  EXPECT_FALSE(file_exists(marker)) << "the command ran";
  EXPECT_EQ(listing(tmp.path()), before) << "something was created or removed";
  EXPECT_EQ(read_text(tmp / "target"), "precious\n") << "written through a link";
}

INSTANTIATE_TEST_SUITE_P(Cases, InputTest, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

class BytesTest : public RdboxTest {
 protected:
  TempDir tmp;
};

// Argv and the environment are bytes: the JSON stays valid and carries them exactly.
TEST_F(BytesTest, JsonReportCarriesNonUtf8ArgvAndKeepsTheStatus) {
  Result r = run({"run", "--report", "json", "--", "sh", "-c", "exit 3", "\xff", "caf\xc3\xa9"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto j = report_json(r);
  ASSERT_TRUE(j);
  EXPECT_EQ(bytes_at(*j, "/command/3"), "\xff");
  EXPECT_EQ(bytes_at(*j, "/command/4"), "caf\xc3\xa9");  // valid UTF-8 stays as it is
  EXPECT_EQ((*j)["byte_strings"], nlohmann::json::array({"/command/3"}));
}

TEST_F(BytesTest, ReportFileCarriesNonUtf8) {
  std::string report = tmp / "report.json";
  Result r = run({"run", "--report", "json", "--report-file", report, "--", "sh", "-c", "exit 4", "\xfe\x80"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  auto j = strict_json(read_text(report));
  EXPECT_EQ(bytes_at(j, "/command/3"), "\xfe\x80");
}

TEST_F(BytesTest, DryRunCarriesNonUtf8ArgvAndEnv) {
  Result r = run({"run", "--dry-run", "--clear-env", "-e", "X=\xc0\xaf", "--", "true", "\xed\xa0\x80"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = strict_json(r.out);
  EXPECT_EQ(bytes_at(j, "/argv/1"), "\xed\xa0\x80");  // a surrogate is not UTF-8
  EXPECT_EQ(bytes_at(j, "/env/0"), "X=\xc0\xaf");      // nor is an overlong form
}

TEST_F(BytesTest, CompareJsonCarriesNonUtf8) {
  Result r = run({"compare", "--modes", "fork", "-n", "1", "--format", "json", "--", "true", "\x80"}, {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = strict_json(r.out);
  EXPECT_EQ(bytes_at(j, "/options/command/1"), "\x80");
}

// Output that cannot be written is a failure of rdbox, said in one line.
TEST_F(BytesTest, DryRunToAFullDeviceIs125) {
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  RunOptions opts;
  opts.stdout_fd = full;
  Result r = run({"run", "--dry-run", "--", "true"}, opts);
  ::close(full);
  EXPECT_EQ(r.exit_code, 125);
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("No space left on device"), std::string::npos) << lines[0];
}

// Past RLIMIT_FSIZE the report is lost, but rdbox neither dies of SIGXFSZ nor loses the
// command's status.
TEST_F(BytesTest, FileSizeLimitKeepsTheCommandsStatus) {
  std::string report = tmp / "report.txt";
  std::string limited = "ulimit -S -f 0; exec \"$0\" \"$@\"";
  Result r = Process::start_program(
                 {"/bin/sh", "-c", limited, rdbox_binary(), "run", "--report-file", report, "--", "sh", "-c", "exit 7"})
                 .finish();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("--report-file"), std::string::npos) << lines[0];
  // And with stderr itself a file over the limit: nothing can be said, the status stays.
  int err_fd = ::open((tmp / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(err_fd, 0);
  RunOptions opts;
  opts.stderr_fd = err_fd;
  r = Process::start_program({"/bin/sh", "-c", limited, rdbox_binary(), "run", "--", "sh", "-c", "exit 6"}, opts)
          .finish();
  ::close(err_fd);
  EXPECT_EQ(r.exit_code, 6);
}

// A tiny inherited stack limit is refused before rdbox could overflow it.
TEST_F(BytesTest, TinyStackLimitIsRefusedInOneLine) {
  std::string marker = tmp / "ran";
  // A sanitizer's runtime starts before main on that stack and needs more than 16 KiB of
  // it (ASan died of SIGSEGV there once in a while): 128 KiB, still below rdbox's minimum.
  std::string limit = RDBOX_SANITIZED ? "128" : "16";
  Result r = Process::start_program({"/bin/sh", "-c", "ulimit -S -s " + limit + "; exec \"$0\" \"$@\"", rdbox_binary(),
                                     "run", "--", "touch", marker})
                 .finish();
  EXPECT_EQ(r.exit_code, 125);
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("RLIMIT_STACK"), std::string::npos) << lines[0];
  EXPECT_FALSE(file_exists(marker));
}

// The report file is replaced only when it is a regular file; an existing one is emptied.
TEST_F(BytesTest, ReportFileReplacesARegularFile) {
  std::string report = tmp.write("report.txt", std::string(1000, 'x'));
  Result r = run({"run", "--report-file", report, "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(read_text(report));
  ASSERT_EQ(lines.size(), 1u) << read_text(report);
  EXPECT_NE(lines[0].find("exited with status 0"), std::string::npos);
}

}  // namespace
