// Pure logic: parsing and validation of the Spec. No process is spawned.
#include <gtest/gtest.h>
#include <sched.h>

#include <limits>
#include <string>

#include "rdbox/spec.hpp"

using namespace rdbox;

namespace {
Spec minimal() {
  Spec s;
  s.command = {"/bin/true"};
  return s;
}
std::string error_of(const Spec& s) {
  auto v = s.validate();
  return v ? std::string() : v.error().what();
}
}  // namespace

TEST(ParseSize, Suffixes) {
  EXPECT_EQ(parse_size("4096").value(), 4096u);
  EXPECT_EQ(parse_size("64K").value(), 64u * 1024);
  EXPECT_EQ(parse_size("64k").value(), 64u * 1024);
  EXPECT_EQ(parse_size("1M").value(), 1u << 20);
  EXPECT_EQ(parse_size("2G").value(), std::size_t{2} << 30);
  EXPECT_EQ(parse_size("8KiB").value(), 8192u);
  EXPECT_EQ(parse_size(" 16K ").value(), 16384u);
}

TEST(ParseSize, RejectsBadInput) {
  for (const char* bad : {"", "0", "0K", "abc", "-1", "12Q", "K", "1.5M", "99999999999999999999999",
                          "18446744073709551615K", "17179869184G"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().what().find(bad), std::string::npos) << r.error().what();
    }
  }
}

TEST(CloneFlags, TableNamesAreUniqueAndParseBack) {
  for (std::size_t i = 0; i < kCloneFlagCount; ++i) {
    const auto& row = kCloneFlags[i];
    EXPECT_EQ(row.name.rfind("CLONE_", 0), 0u) << row.name;
    for (std::size_t j = i + 1; j < kCloneFlagCount; ++j) {
      EXPECT_NE(row.name, kCloneFlags[j].name);
      EXPECT_NE(row.bit, kCloneFlags[j].bit) << row.name << " " << kCloneFlags[j].name;
    }
    auto parsed = parse_clone_flags(row.name);
    if (row.user_settable) {
      ASSERT_TRUE(parsed.ok()) << row.name;
      EXPECT_EQ(parsed.value(), row.bit);
      EXPECT_EQ(clone_flag_names(row.bit), std::vector<std::string>{std::string(row.name)});
    } else {
      ASSERT_FALSE(parsed.ok()) << row.name;
      EXPECT_NE(parsed.error().what().find(std::string(row.refusal)), std::string::npos);
    }
  }
}

TEST(CloneFlags, ListsCaseAndPrefix) {
  EXPECT_EQ(parse_clone_flags("files,fs").value(), std::uint64_t(CLONE_FILES | CLONE_FS));
  EXPECT_EQ(parse_clone_flags("CLONE_IO|sysvsem").value(), std::uint64_t(CLONE_IO | CLONE_SYSVSEM));
  EXPECT_FALSE(parse_clone_flags("").ok());
  EXPECT_FALSE(parse_clone_flags("bogus").ok());
  EXPECT_FALSE(parse_clone_flags("thread").ok());
  EXPECT_FALSE(parse_clone_flags("newpid").ok());
}

TEST(Validate, AcceptsMinimal) { EXPECT_EQ(error_of(minimal()), ""); }

TEST(Validate, MissingCommand) {
  Spec s = minimal();
  s.command.clear();
  EXPECT_NE(error_of(s).find("missing command"), std::string::npos);
}

TEST(Validate, VmAndVforkNeedClone) {
  for (Mode m : {Mode::fork, Mode::vfork, Mode::spawn}) {
    Spec s = minimal();
    s.mode = m;
    s.vm = true;
    EXPECT_NE(error_of(s).find("--vm"), std::string::npos);
    s.vm = false;
    s.vfork = true;
    EXPECT_NE(error_of(s).find("--vfork"), std::string::npos);
  }
  Spec s = minimal();
  s.vm = s.vfork = true;
  EXPECT_EQ(error_of(s), "");
  EXPECT_EQ(s.effective_clone_flags(), std::uint64_t(CLONE_VM | CLONE_VFORK));
}

TEST(Validate, CloneOnlyOptions) {
  Spec s = minimal();
  s.mode = Mode::fork;
  s.clone_flags = CLONE_FS;
  EXPECT_NE(error_of(s).find("--clone-flags"), std::string::npos);
  s.clone_flags = 0;
  s.stack_size_given = true;
  EXPECT_NE(error_of(s).find("--stack-size"), std::string::npos);
}

TEST(Validate, SighandNeedsVm) {
  Spec s = minimal();
  s.clone_flags = CLONE_SIGHAND;
  EXPECT_NE(error_of(s).find("CLONE_SIGHAND"), std::string::npos);
  s.vm = true;
  EXPECT_EQ(error_of(s), "");
}

TEST(Validate, StackBounds) {
  Spec s = minimal();
  s.stack_size = kMinStackSize - 1;
  EXPECT_NE(error_of(s).find("minimum"), std::string::npos);
  s.stack_size = kMinStackSize;
  EXPECT_EQ(error_of(s), "");
  s.stack_size = kMaxStackSize + 1;
  EXPECT_NE(error_of(s).find("maximum"), std::string::npos);
}

TEST(Validate, PreserveFdsRange) {
  Spec s = minimal();
  s.preserve_fds = -1;
  EXPECT_NE(error_of(s), "");
  s.preserve_fds = kMaxPreserveFds + 1;
  EXPECT_NE(error_of(s), "");
  s.preserve_fds = 2;
  EXPECT_EQ(error_of(s), "");
}

TEST(ModeNames, RoundTrip) {
  for (Mode m : {Mode::fork, Mode::vfork, Mode::clone, Mode::spawn}) EXPECT_EQ(parse_mode(to_string(m)), m);
  EXPECT_FALSE(parse_mode("thread").has_value());
  for (ReportFormat f : {ReportFormat::text, ReportFormat::json, ReportFormat::none})
    EXPECT_EQ(parse_report_format(to_string(f)), f);
  EXPECT_FALSE(parse_report_format("xml").has_value());
}

TEST(EnvArg, Forms) {
  auto kv = parse_env_arg("A=b=c");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->key, "A");
  EXPECT_EQ(kv->value, "b=c");
  auto bare = parse_env_arg("HOME");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->value.has_value());
  auto empty = parse_env_arg("E=");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->value, "");
  EXPECT_FALSE(parse_env_arg("=x").ok());
  EXPECT_FALSE(parse_env_arg("").ok());
  EXPECT_FALSE(parse_env_arg("A B=1").ok());
}

TEST(EnvFile, CommentsBlankLinesAndErrors) {
  auto r = parse_env_file("# comment\n\nA=1\n  B=two words\r\nBARE\n", "f.env");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].key, "A");
  EXPECT_EQ((*r)[1].value, "two words");
  EXPECT_FALSE((*r)[2].value.has_value());
  auto bad = parse_env_file("A=1\n=oops\n", "f.env");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("f.env:2"), std::string::npos) << bad.error().what();
}
