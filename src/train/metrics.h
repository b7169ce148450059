// metrics.h: the trainer's metrics as JSON lines (one object per line, flushed per line so that
// `loco swarm` can tail the file), with the fields every line carries (event, t, rank, world,
// strategy, step); the events and their fields are listed in docs/trainer.md.
// Also params_hash, the hash tests use to check that peers hold bit-identical parameters.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace loco::train {

class MetricsWriter {
 public:
  // "" writes nothing. INVALID_ARGUMENT if the file cannot be opened for appending.
  static Result<std::unique_ptr<MetricsWriter>> open(const std::string& path);

  void set_rank(int rank, int world) {
    rank_ = rank;
    world_ = world;
  }
  void set_world(int world) { world_ = world; }
  void set_strategy(std::string name) { strategy_ = std::move(name); }
  // Appends {"event": event, "t": ..., "rank", "world", "strategy", "step"} + fields.
  void write(const std::string& event, int64_t step, nlohmann::json fields = nlohmann::json::object());
  double elapsed_s() const;

 private:
  std::ofstream out_;
  bool enabled_ = false;
  TimePoint start_ = now();
  int rank_ = 0;
  int world_ = 1;
  std::string strategy_;
};

// xxh64 of the parameter bytes as 16 hex digits: equal iff (with overwhelming probability) the
// parameters are bit-identical.
std::string params_hash(std::span<const float> params);

}  // namespace loco::train
