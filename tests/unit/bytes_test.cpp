// Byte-safe JSON and one-line errors (rdbox/bytes.hpp, src/json_bytes.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "json_bytes.hpp"
#include "rdbox/bytes.hpp"
#include "rdbox/spec.hpp"

using namespace rdbox;

TEST(Bytes, Utf8IsExactlyRfc3629) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_utf8("\xf4\x8f\xbf\xbf"));        // U+10FFFF
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));               // overlong '/'
  EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));           // overlong
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));           // surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));       // above U+10FFFF
  EXPECT_FALSE(is_utf8("\xc3"));                   // truncated
  EXPECT_FALSE(is_utf8("\x80"));                   // lone continuation
}

// Whatever the bytes, the dump is valid strict JSON and the bytes come back.
TEST(Bytes, AnyBytesSurviveTheJsonRoundTrip) {
  std::mt19937_64 rng(0xb17e5);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 12);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s.push_back(static_cast<char>(byte(rng)));
    nlohmann::ordered_json j;
    j["command"] = std::vector<std::string>{"x", s};
    make_byte_safe(j);
    std::string text = j.dump();  // the strict handler: throws on invalid UTF-8
    auto back = nlohmann::json::parse(text);
    std::string got = back["command"][1];
    if (back.contains("byte_strings")) {
      ASSERT_EQ(back["byte_strings"], nlohmann::json::array({"/command/1"}));
      std::string raw;
      ASSERT_TRUE(utf8_to_latin1(got, raw));
      got = raw;
    } else {
      EXPECT_TRUE(is_utf8(s));
    }
    EXPECT_EQ(got, s);
  }
}

TEST(Bytes, JsonPointerTokensAreEscaped) {
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
}

TEST(Bytes, OneLineEscapesControlCharacters) {
  EXPECT_EQ(one_line("a\nb\tc\x1b[31m\x7f\x01"), "a\\nb\\tc\\e[31m\\x7f\\x01");
  EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(InputValues, EmptyAndRepeatedValuesAreRefused) {
  EXPECT_FALSE(parse_user(""));
  EXPECT_FALSE(parse_time_offsets(""));
  EXPECT_FALSE(parse_time_offsets("monotonic=1,monotonic=2"));
  EXPECT_FALSE(parse_time_offsets("monotonic=1,"));
  EXPECT_TRUE(parse_time_offsets("monotonic=1,boottime=-2"));
  EXPECT_FALSE(parse_bind("/etc:/mnt:/x", false));
  EXPECT_TRUE(parse_bind("/etc:/mnt", false));
  auto e = parse_env_file(std::string("A=1\nB=x\0y\n", 10), "f");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("f:2"), std::string::npos) << e.error().what();
  Spec s;
  s.command = {"true"};
  s.env.push_back({"A", std::string("x\0y", 3)});
  EXPECT_FALSE(s.validate());
  s.env.clear();
  s.workdir = std::string("/t\0mp", 5);
  EXPECT_FALSE(s.validate());
}
