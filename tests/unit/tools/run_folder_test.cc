// run_folder_test.cc: strategy summaries from peers' events, the merged metrics, charts and the
// comparison tables.
#include "run_folder.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

namespace loco::cli {
namespace {

MetricEvent ev(const std::string& kind, int rank, double t, int64_t step) {
  MetricEvent e;
  e.event = kind;
  e.rank = rank;
  e.world = 2;
  e.t = t;
  e.step = step;
  e.strategy = "diloco";
  e.raw = {{"event", kind}, {"rank", rank}, {"t", t}, {"step", step}};
  return e;
}

MetricEvent eval(int rank, double t, int64_t step, double val, double bytes) {
  MetricEvent e = ev("eval", rank, t, step);
  e.val_loss = val;
  e.bytes_sent = bytes;
  return e;
}

MetricEvent done(int rank, double t, int64_t step, double val, double bytes, double tokens) {
  MetricEvent e = ev("done", rank, t, step);
  e.val_loss = val;
  e.bytes_sent = bytes;
  e.tokens = tokens;
  e.wall_s = t;
  return e;
}

StrategyRun two_peer_run() {
  StrategyRun r;
  r.label = "diloco H=50";
  r.strategy = "diloco";
  r.config = {{"H", 50}};
  r.wall_s = 12.5;
  r.peer_events = {
      {ev("start", 0, 0.1, 0), eval(0, 0.2, 0, 5.5, 0), ev("sync", 0, 3, 50), eval(0, 5, 100, 2.5, 1000),
       done(0, 10, 100, 2.5, 1000, 102400)},
      {ev("start", 1, 0.1, 0), eval(1, 0.3, 0, 5.7, 0), ev("retry", 1, 3, 50), eval(1, 6, 100, 2.7, 3000),
       done(1, 11, 100, 2.7, 3000, 102400)},
  };
  return r;
}

TEST(Summarize, MeansOverPeersAndCurveByStep) {
  StrategySummary s = summarize(two_peer_run());
  EXPECT_EQ(s.label, "diloco H=50");
  EXPECT_EQ(s.peers, 2);
  EXPECT_EQ(s.peers_done, 2);
  EXPECT_EQ(s.steps, 100);
  EXPECT_DOUBLE_EQ(s.final_val_loss, 2.6);
  EXPECT_DOUBLE_EQ(s.bytes_sent_per_peer, 2000);
  EXPECT_DOUBLE_EQ(s.tokens_total, 204800);
  EXPECT_DOUBLE_EQ(s.wall_s, 12.5);
  EXPECT_EQ(s.syncs, 1);
  EXPECT_EQ(s.retries, 1);
  ASSERT_EQ(s.curve.size(), 2u);  // the final point equals the last eval: not repeated
  EXPECT_EQ(s.curve[0].step, 0);
  EXPECT_DOUBLE_EQ(s.curve[0].val_loss, 5.6);
  EXPECT_DOUBLE_EQ(s.curve[0].t, 0.3);
  EXPECT_DOUBLE_EQ(s.curve[1].bytes_sent, 2000);
  EXPECT_DOUBLE_EQ(s.curve[1].t, 6);
}

TEST(Summarize, FinalPointAddedWhenItDiffers) {
  StrategyRun r = two_peer_run();
  r.peer_events[0].back().val_loss = 2.0;  // e.g. lo-fi's one average at the end
  r.peer_events[1].back().val_loss = 2.0;
  StrategySummary s = summarize(r);
  ASSERT_EQ(s.curve.size(), 3u);
  EXPECT_DOUBLE_EQ(s.curve[2].val_loss, 2.0);
  EXPECT_DOUBLE_EQ(s.curve[2].t, 11);
}

TEST(Summarize, NoDoneFallsBackToLastEvalAndNoEvalIsNaN) {
  StrategyRun r = two_peer_run();
  r.peer_events[0].pop_back();
  r.peer_events[1].pop_back();
  StrategySummary s = summarize(r);
  EXPECT_EQ(s.peers_done, 0);
  EXPECT_DOUBLE_EQ(s.final_val_loss, 2.6);
  StrategyRun empty;
  empty.peer_events = {{ev("start", 0, 0, 0)}};
  StrategySummary e = summarize(empty);
  EXPECT_TRUE(std::isnan(e.final_val_loss));
  EXPECT_TRUE(summary_json(e)["final_val_loss"].is_null());
}

TEST(SummaryJson, CarriesConfigAndCurve) {
  auto j = run_summary_json({summarize(two_peer_run())}, {{"peers", 2}});
  EXPECT_EQ(j["run"]["peers"], 2);
  ASSERT_EQ(j["strategies"].size(), 1u);
  EXPECT_EQ(j["strategies"][0]["config"]["H"], 50);
  EXPECT_EQ(j["strategies"][0]["curve"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["strategies"][0]["bytes_sent_per_peer"].get<double>(), 2000);
}

TEST(MergedMetrics, TaggedAndOrderedByTime) {
  std::string text = merged_metrics_jsonl({two_peer_run()});
  auto f = parse_metrics_text(text);
  EXPECT_EQ(f.events.size(), 10u);
  EXPECT_FALSE(f.partial_tail);
  for (size_t i = 1; i < f.events.size(); ++i) EXPECT_LE(f.events[i - 1].t, f.events[i].t);
  EXPECT_EQ(f.events[0].raw["run"], "diloco H=50");
  EXPECT_EQ(f.events.back().raw["peer"], 1);
}

TEST(LossCharts, BytesChartIsLogX) {
  auto charts = loss_charts({summarize(two_peer_run())});
  ASSERT_EQ(charts.size(), 2u);
  EXPECT_TRUE(charts[0].log_x);
  EXPECT_FALSE(charts[1].log_x);
  ASSERT_EQ(charts[0].series.size(), 1u);
  EXPECT_EQ(charts[0].series[0].points.size(), 2u);
  EXPECT_DOUBLE_EQ(charts[1].series[0].points[1].first, 6);
}

TEST(Tables, RatiosToTheBaseline) {
  StrategySummary ddp;
  ddp.label = "ddp";
  ddp.final_val_loss = 2.0;
  ddp.bytes_sent_per_peer = 1e9;
  ddp.wall_s = 100;
  ddp.steps = 3000;
  StrategySummary dl = ddp;
  dl.label = "diloco H=100";
  dl.final_val_loss = 2.1;
  dl.bytes_sent_per_peer = 1e7;
  std::vector<StrategySummary> runs{ddp, dl};
  std::string text = table_text(runs, "ddp");
  EXPECT_NE(text.find("1.050 (+5.0%)"), std::string::npos) << text;
  EXPECT_NE(text.find("0.0100 (100x fewer)"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 GB"), std::string::npos) << text;
  std::string md = table_markdown(runs, "ddp");
  EXPECT_EQ(md.rfind("| strategy |", 0), 0u);
  EXPECT_NE(md.find("| diloco H=100 | 2.1000 | 1.050 (+5.0%) | 10.0 MB | 0.0100 (100x fewer) | 100.0 s | 3000 |"),
            std::string::npos) << md;
  auto j = table_json(runs, "ddp");
  EXPECT_EQ(j["baseline"], "ddp");
  EXPECT_DOUBLE_EQ(j["rows"][1]["val_loss_ratio"].get<double>(), 1.05);
  EXPECT_DOUBLE_EQ(j["rows"][1]["bytes_ratio"].get<double>(), 0.01);
  // Unknown baseline: the first run is the baseline.
  EXPECT_EQ(table_json(runs, "nope")["baseline"], "ddp");
}

TEST(UtcStamp, Format) {
  auto t = std::chrono::system_clock::from_time_t(1796190240);  // 2026-12-02 05:44:00 UTC
  EXPECT_EQ(utc_stamp(t), "20261202T054400Z");
}

}  // namespace
}  // namespace loco::cli

namespace loco::cli {
namespace {

TEST(ParseStrategies, NamesAndH) {
  auto s = parse_strategies("ddp, diloco,diloco:100,local-sgd:7,lofi", 50);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_EQ(s->size(), 5u);
  EXPECT_EQ((*s)[0].label, "ddp");
  EXPECT_EQ((*s)[0].H, 0);
  EXPECT_EQ((*s)[1].label, "diloco H=50");
  EXPECT_EQ((*s)[2].H, 100);
  EXPECT_EQ((*s)[3].strategy, "local-sgd");
  EXPECT_EQ((*s)[3].label, "local-sgd H=7");
  EXPECT_EQ((*s)[4].label, "lofi");
}

TEST(ParseStrategies, Rejections) {
  for (const char* bad : {"", "ddp,", "adam", "ddp:5", "diloco:", "diloco:0", "diloco:x", "diloco:5x",
                          "diloco,diloco:50"}) {
    auto s = parse_strategies(bad, 50);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(parse_strategies("adam", 50).status().message().find("known: ddp"), std::string::npos);
}

TEST(ParseStrategies, ModifiersBecomeTrainerOptions) {
  auto s = parse_strategies("diloco:100+wire-codec=int8:block=256+outer-lr=1.0,ddp-topk+topk-fraction=0.01,demo", 50);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].strategy, "diloco");
  EXPECT_EQ((*s)[0].H, 100);
  EXPECT_EQ((*s)[0].label, "diloco H=100 wire-codec=int8:block=256 outer-lr=1.0");
  ASSERT_EQ((*s)[0].options.size(), 2u);
  EXPECT_EQ((*s)[0].options[0].first, "wire-codec");
  EXPECT_EQ((*s)[0].options[0].second, "int8:block=256");
  EXPECT_EQ((*s)[1].label, "ddp-topk topk-fraction=0.01");
  EXPECT_EQ((*s)[2].label, "demo");
  // The same strategy with different modifiers is two runs; the same modifiers twice is an error.
  EXPECT_TRUE(parse_strategies("diloco:100,diloco:100+outer-lr=1.0", 50).ok());
  EXPECT_FALSE(parse_strategies("diloco:100+outer-lr=1,diloco:100+outer-lr=1", 50).ok());
  for (const char* bad : {"diloco+", "diloco+x", "diloco+=1", "diloco+x=", "diloco+H=5",
                          "ddp+world=3", "diloco+--lr=1", "demo:5"}) {
    EXPECT_EQ(parse_strategies(bad, 50).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ApplySpecOptions, ReplacesCommonOptions) {
  auto s = parse_strategies("diloco:100+outer-lr=1.0+warm-start=5", 50);
  ASSERT_TRUE(s.ok());
  std::vector<std::string> base = {"--lr", "2e-3", "--outer-lr", "0.7", "--resume", "--seed", "1"};
  std::vector<std::string> want = {"--lr", "2e-3", "--resume", "--seed", "1",
                                   "--outer-lr", "1.0", "--warm-start", "5"};
  EXPECT_EQ(apply_spec_options(base, (*s)[0]), want);
  auto plain = parse_strategies("ddp", 50);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(apply_spec_options(base, (*plain)[0]), base);
}

}  // namespace
}  // namespace loco::cli

namespace loco::cli {
namespace {

TEST(LabelSlug, FolderNames) {
  EXPECT_EQ(label_slug("diloco H=50"), "diloco-H50");
  EXPECT_EQ(label_slug("local-sgd H=100"), "local-sgd-H100");
  EXPECT_EQ(label_slug("../x"), "..x");
  EXPECT_EQ(label_slug("//"), "run");
}

TEST(WriteRunFolder, AllFilesWritten) {
  auto dir = std::filesystem::temp_directory_path() / ("loco_run_folder_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(write_run_folder(dir.string(), {two_peer_run()}, {{"peers", 2}}, "ddp").ok());
  for (const char* f : {"metrics.jsonl", "summary.json", "plot.svg", "table.txt", "table.md", "table.json"}) {
    EXPECT_GT(std::filesystem::file_size(dir / f), 0u) << f;
  }
  auto m = read_metrics_file((dir / "metrics.jsonl").string());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->events.size(), 10u);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(write_run_folder("/nonexistent/dir", {two_peer_run()}, {}, "ddp").ok());
}

}  // namespace
}  // namespace loco::cli
