// metrics_reader.h: reads the JSON-lines metrics that `loco-train train --metrics PATH` writes
// (one object per line, see the trainer contract): parses one line into a MetricEvent, splits
// appended bytes into complete lines (a partial last line waits for its newline), tails a growing
// file, and folds events into the latest state of one peer (PeerProgress). Pure except MetricsTail
// and read_metrics_file, which read files. Not a general JSON tool: unknown fields are kept in
// `raw` and otherwise ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loco::cli {

struct MetricEvent {
  std::string event;     // start, step, eval, sync, retry, done (others are kept, not interpreted)
  double t = 0;          // seconds since the peer started
  int rank = 0;
  int world = 0;
  std::string strategy;
  int64_t step = 0;
  // Present only when the line carries them.
  std::optional<double> loss, lr, val_loss, val_acc, tokens, bytes_sent, bytes_received;
  std::optional<double> compute_s, comm_s, seconds, wall_s;
  std::optional<int64_t> params, steps;
  std::string model, status;
  nlohmann::json raw;  // the whole line as parsed
};

// Parses one line. DATA_LOSS for text that is not a JSON object or lacks "event"; INVALID_ARGUMENT
// when a known field has the wrong type.
Result<MetricEvent> parse_metric_line(std::string_view line);

// Turns appended chunks into complete lines ("\n"-terminated; a trailing "\r" is dropped). The
// last, unterminated piece stays pending until its newline arrives.
class LineBuffer {
 public:
  std::vector<std::string> feed(std::string_view chunk);
  const std::string& pending() const { return pending_; }

 private:
  std::string pending_;
};

// Follows a metrics file that a child is still writing: each poll() returns the events of the
// lines completed since the previous poll. A missing file is not an error (the child may not have
// created it yet). Lines that do not parse are counted and skipped.
class MetricsTail {
 public:
  explicit MetricsTail(std::string path) : path_(std::move(path)) {}
  std::vector<MetricEvent> poll();
  size_t bad_lines() const { return bad_lines_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t offset_ = 0;
  LineBuffer lines_;
  size_t bad_lines_ = 0;
};

struct MetricsFile {
  std::vector<MetricEvent> events;
  size_t bad_lines = 0;       // complete lines that did not parse
  bool partial_tail = false;  // the file ended in an unterminated line (ignored)
};

// Parses a whole metrics text / file. A partial last line is tolerated (skipped, flagged).
MetricsFile parse_metrics_text(std::string_view text);
Result<MetricsFile> read_metrics_file(const std::string& path);

// The latest known state of one peer, from its events in order.
struct PeerProgress {
  bool started = false;
  bool done = false;
  int rank = -1;
  int world = 0;
  std::string strategy;
  std::string model;
  int64_t params = 0;
  int64_t step = 0;
  int64_t total_steps = 0;
  double t = 0;  // time of the latest event
  std::optional<double> loss;
  std::optional<double> val_loss;
  double tokens = 0;
  double bytes_sent = 0;
  double bytes_received = 0;
  int retries = 0;
  // The first step event seen, for rates that leave out start-up time.
  std::optional<double> first_step_t;
  double first_step_tokens = 0;
  int64_t first_step = 0;
};

void apply_event(PeerProgress& peer, const MetricEvent& ev);

// Tokens per second since the first step event; 0 before two step events.
double tokens_per_second(const PeerProgress& peer);
// Seconds left at the current step rate; nullopt before the rate is known.
std::optional<double> eta_seconds(const PeerProgress& peer);

}  // namespace loco::cli
