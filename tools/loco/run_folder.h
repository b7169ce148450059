// run_folder.h: what a finished `loco swarm` or `loco bench loss-per-byte` leaves behind, built from
// the peers' metrics events: a summary per strategy run (final validation loss, bytes sent per
// peer, wall time, steps, config, the validation curve), the summary JSON, the merged metrics as
// JSON lines, the two plot charts (validation loss against bytes communicated, log-x, and against
// wall time) and the comparison table as text, Markdown and JSON. Pure: strings and JSON values;
// write_text_file is the only I/O. Not the launcher (swarm_runner.h) and not the SVG writer.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "metrics_reader.h"
#include "svg_plot.h"

namespace loco::cli {

// One entry of a --strategies list: NAME[:H][+OPTION=VALUE]..., e.g. "ddp", "diloco:100" (H=100),
// "local-sgd:100", "lofi", "ddp-topk+topk-fraction=0.01", "diloco:100+wire-codec=int8+outer-lr=1.0".
// Each +OPTION=VALUE becomes `--OPTION VALUE` on that strategy's `loco-train train` command lines
// (replacing the same option from the common arguments), so one table can compare variants.
struct StrategySpec {
  std::string strategy;  // ddp, diloco, local-sgd, lofi, demo, ddp-topk, ddp-powersgd
  int H = 0;             // diloco and local-sgd only; 0 otherwise
  std::string label;     // "ddp", "diloco H=50", "diloco H=100 wire-codec=int8"
  std::vector<std::pair<std::string, std::string>> options;  // the +OPTION=VALUE pairs, in order
};
// Parses a comma-separated list; `default_H` where no H is given. INVALID_ARGUMENT names the bad
// entry and lists the known strategies.
Result<std::vector<StrategySpec>> parse_strategies(const std::string& list, int default_H);
// `base` with the spec's options applied: every `--OPTION X` pair of base whose OPTION the spec
// sets is dropped, then the spec's `--OPTION VALUE` pairs are appended.
std::vector<std::string> apply_spec_options(const std::vector<std::string>& base,
                                            const StrategySpec& spec);

// One strategy run: its label ("diloco H=50"), the configuration it ran with, every peer's events
// in file order, and the wall time the launcher measured.
struct StrategyRun {
  std::string label;
  std::string strategy;
  nlohmann::json config = nlohmann::json::object();
  std::vector<std::vector<MetricEvent>> peer_events;
  double wall_s = 0;
};

struct CurvePoint {
  int64_t step = 0;
  double t = 0;           // latest peer time at this point
  double bytes_sent = 0;  // mean over peers
  double val_loss = 0;    // mean over peers
};

struct StrategySummary {
  std::string label;
  std::string strategy;
  int peers = 0;
  int peers_done = 0;            // peers that wrote a "done" line
  int64_t steps = 0;             // largest step reached
  double final_val_loss = 0;     // NaN when no peer reported one
  double bytes_sent_per_peer = 0;
  double bytes_received_per_peer = 0;
  double tokens_total = 0;
  double wall_s = 0;
  int syncs = 0;    // "sync" lines of rank 0 (communication rounds)
  int retries = 0;  // "retry" lines over all peers
  nlohmann::json config;
  std::vector<CurvePoint> curve;
};

StrategySummary summarize(const StrategyRun& run);
nlohmann::json summary_json(const StrategySummary& s);
// {"run": run_info, "strategies": [...]}
nlohmann::json run_summary_json(const std::vector<StrategySummary>& runs, const nlohmann::json& run_info);

// Every event of every run as JSON lines, each object extended with "run" (the label) and
// "peer" (the launcher's index), ordered by run, then by time.
std::string merged_metrics_jsonl(const std::vector<StrategyRun>& runs);

// Two charts: validation loss vs bytes sent per peer (log-x) and vs wall time; a series per run.
std::vector<Chart> loss_charts(const std::vector<StrategySummary>& runs);

// The comparison table against the run labelled `baseline` (the first run when absent): final
// validation loss, its ratio to the baseline, bytes sent per peer, their ratio, wall time.
std::string table_text(const std::vector<StrategySummary>& runs, const std::string& baseline);
std::string table_markdown(const std::vector<StrategySummary>& runs, const std::string& baseline);
nlohmann::json table_json(const std::vector<StrategySummary>& runs, const std::string& baseline);

// "20261202T054400Z": a folder name from a UTC time.
std::string utc_stamp(std::chrono::system_clock::time_point t);

Status write_text_file(const std::string& path, const std::string& text);

// Writes metrics.jsonl (merged), summary.json, plot.svg and table.{txt,md,json} into `dir`.
Status write_run_folder(const std::string& dir, const std::vector<StrategyRun>& runs,
                        const nlohmann::json& run_info, const std::string& baseline);

// "diloco H=50" -> "diloco-H50": a folder name for a run label.
std::string label_slug(const std::string& label);

}  // namespace loco::cli
