// Random input through every pure parser, deterministic seed: none may crash, hang or
// accept what it cannot represent; accepted sizes and maps round-trip.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "rdbox/spec.hpp"

using namespace rdbox;

namespace {
std::string random_text(std::mt19937_64& rng) {
  static const std::string alphabet = "0123456789 KMGkmgBi,:=|#-\n\t/abcxyzCLONE_FILESmonotonicboottime";
  std::uniform_int_distribution<std::size_t> len(0, 24), pick(0, alphabet.size() - 1), raw(0, 255);
  std::string s;
  for (std::size_t n = len(rng); n > 0; --n)
    s.push_back(raw(rng) < 16 ? static_cast<char>(raw(rng)) : alphabet[pick(rng)]);
  return s;
}
}  // namespace

TEST(ParserFuzz, NoParserCrashesAndAcceptedValuesAreSane) {
  std::mt19937_64 rng(0x5eed);
  for (int i = 0; i < 20000; ++i) {
    std::string s = random_text(rng);
    if (auto v = parse_size(s); v) {
      EXPECT_GT(v.value(), 0u) << s;
    }
    if (auto f = parse_clone_flags(s); f) {
      for (const auto& name : clone_flag_names(f.value())) EXPECT_TRUE(parse_clone_flags(name).ok()) << name;
    }
    if (auto m = parse_id_map(s); m) {
      EXPECT_GE(m->count, 1u) << s;
      EXPECT_LE(std::uint64_t(m->inside) + m->count, 0x100000000ull) << s;
    }
    (void)parse_env_file(s, "fuzz");
    if (auto e = parse_env_arg(s); e) {
      EXPECT_FALSE(e->key.empty());
      EXPECT_EQ(e->key.find('='), std::string::npos);
    }
    if (auto b = parse_bind(s, i % 2); b) {
      EXPECT_EQ(b->source[0], '/');
      EXPECT_EQ(b->destination[0], '/');
    }
    (void)parse_time_offsets(s);
    (void)parse_user(s);
    (void)parse_mode(s);
  }
}
