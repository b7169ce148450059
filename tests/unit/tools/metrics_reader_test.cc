// metrics_reader_test.cc: parsing trainer metrics lines, partial lines, tailing a growing file and
// folding events into a peer's progress.
#include "metrics_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace loco::cli {
namespace {

TEST(ParseMetricLine, StepLineFields) {
  auto ev = parse_metric_line(
      R"({"event":"step","t":1.5,"rank":2,"world":4,"strategy":"diloco","step":17,"loss":2.25,)"
      R"("lr":0.001,"tokens":17408,"bytes_sent":1000,"bytes_received":900,"compute_s":1.2,"comm_s":0.1})");
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->event, "step");
  EXPECT_DOUBLE_EQ(ev->t, 1.5);
  EXPECT_EQ(ev->rank, 2);
  EXPECT_EQ(ev->world, 4);
  EXPECT_EQ(ev->strategy, "diloco");
  EXPECT_EQ(ev->step, 17);
  EXPECT_DOUBLE_EQ(*ev->loss, 2.25);
  EXPECT_DOUBLE_EQ(*ev->tokens, 17408);
  EXPECT_DOUBLE_EQ(*ev->bytes_sent, 1000);
  EXPECT_FALSE(ev->val_loss.has_value());
  EXPECT_EQ(ev->raw["lr"], 0.001);
}

TEST(ParseMetricLine, StartAndDone) {
  auto start = parse_metric_line(R"({"event":"start","t":0,"rank":0,"world":2,"strategy":"ddp","step":0,"params":120576,"model":"transformer","steps":300})");
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(*start->params, 120576);
  EXPECT_EQ(*start->steps, 300);
  EXPECT_EQ(start->model, "transformer");
  auto done = parse_metric_line(R"({"event":"done","t":9,"rank":1,"world":2,"strategy":"ddp","step":300,"val_loss":1.9,"bytes_sent":5e8,"bytes_received":5e8,"tokens":307200,"wall_s":9.5})");
  ASSERT_TRUE(done.ok());
  EXPECT_DOUBLE_EQ(*done->val_loss, 1.9);
  EXPECT_DOUBLE_EQ(*done->wall_s, 9.5);
}

TEST(ParseMetricLine, RejectsBadLines) {
  EXPECT_EQ(parse_metric_line("").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(parse_metric_line("{\"event\":\"step\",\"t\":1").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(parse_metric_line("[1,2]").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(parse_metric_line(R"({"t":1})").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(parse_metric_line(R"({"event":"step","loss":"high"})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_metric_line(R"({"event":"step","strategy":3})").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LineBuffer, KeepsPartialLineUntilNewline) {
  LineBuffer buf;
  auto a = buf.feed("one\ntw");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], "one");
  EXPECT_EQ(buf.pending(), "tw");
  auto b = buf.feed("o\r\nthree\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], "two");
  EXPECT_EQ(b[1], "three");
  EXPECT_EQ(buf.pending(), "");
  EXPECT_TRUE(buf.feed("").empty());
}

TEST(ParseMetricsText, PartialTailAndBadLinesCounted) {
  auto f = parse_metrics_text(
      "{\"event\":\"step\",\"step\":1}\nnot json\n\n{\"event\":\"step\",\"step\":2}\n{\"event\":\"st");
  EXPECT_EQ(f.events.size(), 2u);
  EXPECT_EQ(f.bad_lines, 1u);
  EXPECT_TRUE(f.partial_tail);
  EXPECT_EQ(f.events[1].step, 2);
}

TEST(MetricsTail, FollowsAGrowingFile) {
  auto path = std::filesystem::temp_directory_path() /
              ("loco_tail_test_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  MetricsTail tail(path.string());
  EXPECT_TRUE(tail.poll().empty());  // not there yet: no error
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"event\":\"start\",\"step\":0,\"steps\":10}\n{\"event\":\"step\",\"st";
  }
  auto first = tail.poll();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event, "start");
  {
    std::ofstream out(path, std::ios::app);
    out << "ep\":3,\"loss\":2.5}\ngarbage\n";
  }
  auto second = tail.poll();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].step, 3);
  EXPECT_DOUBLE_EQ(*second[0].loss, 2.5);
  EXPECT_EQ(tail.bad_lines(), 1u);
  EXPECT_TRUE(tail.poll().empty());
  std::filesystem::remove(path);
}

TEST(ReadMetricsFile, MissingFileIsAnError) {
  EXPECT_FALSE(read_metrics_file("/nonexistent/dir/metrics.jsonl").ok());
}

MetricEvent step_event(double t, int64_t step, double tokens, double loss) {
  MetricEvent ev;
  ev.event = "step";
  ev.t = t;
  ev.step = step;
  ev.tokens = tokens;
  ev.loss = loss;
  ev.bytes_sent = static_cast<double>(step) * 100;
  return ev;
}

TEST(PeerProgress, RatesAndEtaLeaveOutStartup) {
  PeerProgress p;
  MetricEvent start;
  start.event = "start";
  start.t = 0;
  start.steps = 100;
  start.params = 42;
  apply_event(p, start);
  EXPECT_TRUE(p.started);
  EXPECT_EQ(p.total_steps, 100);
  EXPECT_EQ(tokens_per_second(p), 0);
  EXPECT_FALSE(eta_seconds(p).has_value());
  apply_event(p, step_event(5.0, 1, 1024, 5.5));  // 5 s of start-up before the first step
  EXPECT_FALSE(eta_seconds(p).has_value());
  apply_event(p, step_event(7.0, 11, 11264, 4.0));  // 10 steps in 2 s
  EXPECT_DOUBLE_EQ(tokens_per_second(p), 10240.0 / 2.0);
  ASSERT_TRUE(eta_seconds(p).has_value());
  EXPECT_DOUBLE_EQ(*eta_seconds(p), 89 * 0.2);
  EXPECT_DOUBLE_EQ(*p.loss, 4.0);
  EXPECT_DOUBLE_EQ(p.bytes_sent, 1100);
  MetricEvent retry;
  retry.event = "retry";
  retry.t = 7.5;
  retry.step = 11;
  apply_event(p, retry);
  EXPECT_EQ(p.retries, 1);
  EXPECT_EQ(p.step, 11);
  MetricEvent done;
  done.event = "done";
  done.t = 30;
  done.step = 100;
  done.val_loss = 1.8;
  apply_event(p, done);
  EXPECT_TRUE(p.done);
  EXPECT_EQ(*eta_seconds(p), 0.0);
  EXPECT_DOUBLE_EQ(*p.val_loss, 1.8);
}

}  // namespace
}  // namespace loco::cli
