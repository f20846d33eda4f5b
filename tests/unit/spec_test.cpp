#include <gtest/gtest.h>
#include "rdbox/spec.hpp"
TEST(Spec, ParsesSizes) { EXPECT_EQ(rdbox::parse_size("64K").value(), 65536u); }
