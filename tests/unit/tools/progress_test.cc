// progress_test.cc: the live display's text: units, durations, per-peer lines, the aggregate and
// the ANSI redraw sequence.
#include "progress.h"

#include <gtest/gtest.h>

namespace loco::cli {
namespace {

TEST(Format, Bytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1500), "1.50 kB");
  EXPECT_EQ(format_bytes(12.34e6), "12.3 MB");
  EXPECT_EQ(format_bytes(456e9), "456 GB");
}

TEST(Format, Durations) {
  EXPECT_EQ(format_duration(std::nullopt), "--");
  EXPECT_EQ(format_duration(-1.0), "--");
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(187.0), "3m07s");
  EXPECT_EQ(format_duration(3720.0), "1h02m");
}

TEST(Format, Counts) {
  EXPECT_EQ(format_count(980), "980");
  EXPECT_EQ(format_count(12300), "12.3k");
  EXPECT_EQ(format_count(1.2e6), "1.20M");
}

PeerProgress running_peer(int64_t step, double loss, double bytes) {
  PeerProgress p;
  p.started = true;
  p.total_steps = 100;
  p.first_step_t = 1.0;
  p.first_step = 0;
  p.step = step;
  p.t = 1.0 + static_cast<double>(step) * 0.1;
  p.tokens = static_cast<double>(step) * 1000;
  p.loss = loss;
  p.bytes_sent = bytes;
  return p;
}

TEST(FormatProgress, HeaderAndOneLinePerPeer) {
  ProgressView v;
  v.label = "ddp (1/2)";
  v.elapsed_s = 65;
  v.names = {"peer-0", "peer-1", "peer-2"};
  v.peers = {running_peer(50, 2.0, 2e6), running_peer(40, 3.0, 4e6), PeerProgress{}};
  auto lines = format_progress(v);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("ddp (1/2)  1m05s"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("2/3 peers"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("step 0/100"), std::string::npos) << lines[0];  // the slowest peer
  EXPECT_NE(lines[1].find("peer-0"), std::string::npos);
  EXPECT_NE(lines[1].find("50/100"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("loss  2.000"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("10.0k tok/s"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("2.00 MB"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("ETA 5s"), std::string::npos) << lines[1];  // 50 steps at 0.1 s
  EXPECT_NE(lines[2].find("ETA 6s"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("starting"), std::string::npos) << lines[3];
}

TEST(FormatAggregate, MeansAndSlowestEta) {
  ProgressView v;
  v.label = "x";
  v.peers = {running_peer(50, 2.0, 2e6), running_peer(40, 3.0, 4e6)};
  std::string a = format_aggregate(v);
  EXPECT_NE(a.find("2/2 peers"), std::string::npos) << a;
  EXPECT_NE(a.find("step 40/100"), std::string::npos) << a;
  EXPECT_NE(a.find("loss 2.500"), std::string::npos) << a;
  EXPECT_NE(a.find("20.0k tok/s"), std::string::npos) << a;
  EXPECT_NE(a.find("sent 3.00 MB/peer"), std::string::npos) << a;
  EXPECT_NE(a.find("ETA 6s"), std::string::npos) << a;
  v.peers[0].done = true;
  v.peers[1].done = true;
  EXPECT_NE(format_aggregate(v).find("ETA 0s"), std::string::npos);
  EXPECT_EQ(format_aggregate(ProgressView{}), "no peers");
}

TEST(AnsiRedraw, MovesUpAndClearsEachLine) {
  EXPECT_EQ(ansi_redraw({"a", "b"}, 0), "\r\x1b[2Ka\n\r\x1b[2Kb\n");
  EXPECT_EQ(ansi_redraw({"a", "b"}, 2), "\x1b[2A\r\x1b[2Ka\n\r\x1b[2Kb\n");
  // Shrinking from 3 lines to 1 clears the two left over and returns below the new block.
  EXPECT_EQ(ansi_redraw({"a"}, 3), "\x1b[3A\r\x1b[2Ka\n\x1b[2K\n\x1b[2K\n\x1b[2A");
}

}  // namespace
}  // namespace loco::cli
