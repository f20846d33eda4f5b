// The OCI runtime's command line words (src/cli/oci_words.cpp), as engines pass them:
// what the oci_args fuzz target drives.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "cli/oci_words.hpp"

namespace {

struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    words.insert(words.begin(), "rdbox");
    for (auto& s : words) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words.size()); }
  char** argv() { return ptrs.data(); }
};

}  // namespace

using rdbox::cli::parse_global_words;
using rdbox::cli::parse_words;
using rdbox::cli::subcommand_flags;

TEST(OciWords, ContainerdsGlobalsThenTheSubcommand) {
  Argv a({"--root", "/run/containerd/runc/k8s.io", "--log", "/b/log.json", "--log-format=json", "-systemd-cgroup",
          "--criu", "/x", "--rootless=false", "create", "--bundle", "/b", "c1"});
  auto g = parse_global_words(a.argc(), a.argv());
  EXPECT_EQ(g.error, "");
  EXPECT_EQ(g.root, "/run/containerd/runc/k8s.io");
  EXPECT_EQ(g.log, "/b/log.json");
  EXPECT_EQ(g.log_format, "json");
  EXPECT_TRUE(g.systemd_cgroup);
  ASSERT_EQ(std::string(a.argv()[g.next]), "create");
  auto p = parse_words("create", *subcommand_flags("create"), a.argc(), a.argv(), g.next + 1);
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.get("-b,--bundle"), "/b");
  EXPECT_EQ(p.positional, std::vector<std::string>{"c1"});
}

TEST(OciWords, UnknownGlobalFlagsAreSkippedAndUnknownSubcommandFlagsRefused) {
  Argv a({"--newer-runc-flag", "kill", "--all", "c1", "9"});
  auto g = parse_global_words(a.argc(), a.argv());
  EXPECT_EQ(g.error, "");
  ASSERT_EQ(std::string(a.argv()[g.next]), "kill");
  auto p = parse_words("kill", *subcommand_flags("kill"), a.argc(), a.argv(), g.next + 1);
  EXPECT_TRUE(p.has("-a,--all"));
  EXPECT_EQ(p.positional, (std::vector<std::string>{"c1", "9"}));
  Argv b({"delete", "--forse", "c1"});
  auto q = parse_words("delete", *subcommand_flags("delete"), b.argc(), b.argv(), 2);
  EXPECT_EQ(q.error, "delete: unknown option \"--forse\"");
}

TEST(OciWords, ErrorsAreOneLineEach) {
  Argv a({"--root"});
  EXPECT_EQ(parse_global_words(a.argc(), a.argv()).error, "--root needs a value");
  Argv b({"--log-format", "xml", "state", "c1"});
  EXPECT_EQ(parse_global_words(b.argc(), b.argv()).error, "--log-format must be text or json");
  Argv c({"delete", "--force=maybe", "c1"});
  EXPECT_EQ(parse_words("delete", *subcommand_flags("delete"), c.argc(), c.argv(), 2).error,
            "delete: --force takes true or false, not \"maybe\"");
  Argv d({"--log-level"});  // rdbox's own option, its value missing: no subcommand
  auto g = parse_global_words(d.argc(), d.argv());
  EXPECT_EQ(g.next, d.argc());
}

TEST(OciWords, EverySubcommandHasItsTableAndOthersNone) {
  for (const char* s : {"create", "run", "exec", "list", "ps", "spec", "update", "kill", "delete", "start", "state",
                        "pause", "resume", "features"})
    EXPECT_NE(subcommand_flags(s), nullptr) << s;
  EXPECT_EQ(subcommand_flags("events"), nullptr);
  EXPECT_EQ(subcommand_flags("bogus"), nullptr);
  Argv a({"run", "-b", "/b", "c1"});
  EXPECT_TRUE(rdbox::cli::is_oci_invocation(a.argc(), a.argv()));
  Argv b({"run", "--", "echo", "hi"});
  EXPECT_FALSE(rdbox::cli::is_oci_invocation(b.argc(), b.argv()));
}
