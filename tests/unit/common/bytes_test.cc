#include "common/bytes.h"

#include <gtest/gtest.h>

namespace loco {
namespace {

TEST(Bytes, RoundTrip) {
  Bytes buf;
  ByteWriter w(buf);
  w.put<uint8_t>(7);
  w.put<uint16_t>(0xBEEF);
  w.put<uint64_t>(0x0123456789ABCDEFull);
  w.put<int32_t>(-5);
  w.put_string("hello");
  ByteReader r(buf);
  uint8_t a = 0;
  uint16_t b = 0;
  uint64_t c = 0;
  int32_t d = 0;
  std::string s;
  ASSERT_TRUE(r.get(a) && r.get(b) && r.get(c) && r.get(d) && r.get_string(s, 16));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, 0xBEEF);
  EXPECT_EQ(c, 0x0123456789ABCDEFull);
  EXPECT_EQ(d, -5);
  EXPECT_EQ(s, "hello");
  EXPECT_TRUE(r.done());
}

TEST(Bytes, LittleEndianLayout) {
  Bytes buf;
  ByteWriter(buf).put<uint32_t>(0x04030201u);
  ASSERT_EQ(buf.size(), 4u);
  EXPECT_EQ(buf[0], std::byte{1});
  EXPECT_EQ(buf[3], std::byte{4});
}

TEST(Bytes, ShortReadFailsAndStaysFailed) {
  Bytes buf(3);
  ByteReader r(buf);
  uint32_t v = 0;
  EXPECT_FALSE(r.get(v));
  EXPECT_TRUE(r.failed());
  uint8_t u = 0;
  EXPECT_FALSE(r.get(u));  // sticky
  EXPECT_FALSE(r.done());
}

TEST(Bytes, BlobLongerThanLimitOrInputFails) {
  Bytes buf;
  ByteWriter w(buf);
  w.put_string("abcdef");
  std::string s;
  ByteReader r1(buf);
  EXPECT_FALSE(r1.get_string(s, 5));  // over the limit
  Bytes forged;
  ByteWriter(forged).put<uint32_t>(0xFFFFFFFFu);  // claims 4 GiB, has none
  ByteReader r2(forged);
  EXPECT_FALSE(r2.get_string(s, SIZE_MAX));
}

TEST(Bytes, TrailingBytesMeanNotDone) {
  Bytes buf(5);
  ByteReader r(buf);
  uint32_t v = 0;
  ASSERT_TRUE(r.get(v));
  EXPECT_FALSE(r.done());
  EXPECT_EQ(r.remaining(), 1u);
}

}  // namespace
}  // namespace loco
