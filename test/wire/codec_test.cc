#include "wire/wire.h"
#include "gtest/gtest.h"
TEST(Smoke, Builds) {}
