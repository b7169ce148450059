// fault_injector.h: deterministic network faults for the in-process loopback transport
// (loopback.h). Rules are matched against every frame a loopback connection sends; a hit can drop
// the frame, delay it, corrupt its bytes (the receiver sees DATA_LOSS and drops the connection) or
// cut the connection (both ends get UNAVAILABLE). cut_all() cuts every live connection now.
// Randomness (probabilities, which byte to corrupt) comes from a seeded generator, so a
// single-threaded test replays the same faults every run. Thread-safe.
// Not here: real-network faults (scripts/ netem) or faults on TCP connections.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/rng.h"
#include "wire/frame.h"

namespace loco::transport {

enum class FaultAction {
  kDrop,     // the frame vanishes; the sender sees OK
  kDelay,    // the frame (and, as in TCP, every later frame of that direction) arrives `delay` late
  kCorrupt,  // one bit of the payload or checksum flips: the receiver gets DATA_LOSS
  kCut,      // the connection breaks: this send and every later call on both ends get UNAVAILABLE
};

enum class FaultDirection {
  kBoth,
  kFromDialer,    // frames sent by the side that called dial()
  kFromListener,  // frames sent by the accepted side
};

struct FaultRule {
  FaultAction action = FaultAction::kDrop;
  std::optional<wire::MsgType> type = std::nullopt;  // only this type; nullopt: every frame
  std::string endpoint = {};  // only connections to this listener name; empty: all
  FaultDirection direction = FaultDirection::kBoth;
  double probability = 1.0;  // chance that a matching frame is hit
  int64_t skip = 0;          // let this many matching frames pass untouched first ("after N")
  int64_t count = -1;        // hit at most this many frames ("the next N"); -1: no limit
  Duration delay{};          // for kDelay
};

using FaultRuleId = uint64_t;

// What the sender must do with one frame.
struct FaultDecision {
  bool drop = false;
  bool cut = false;
  bool corrupt = false;
  Duration delay{};
};

// A loopback link registers itself so cut_all() can reach it.
class Cuttable {
 public:
  virtual ~Cuttable() = default;
  virtual void cut() = 0;
  virtual const std::string& endpoint() const = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed = 1) : rng_(seed) {}

  FaultRuleId add_rule(FaultRule rule);
  void remove_rule(FaultRuleId id);
  void clear_rules();
  // Frames a rule has hit so far (0 for an unknown or removed rule).
  uint64_t hits(FaultRuleId id) const;

  // Cuts every live connection (or those to one listener name) at once.
  void cut_all();
  void cut_endpoint(const std::string& endpoint);

  // ---- used by the loopback transport ----
  void track(std::weak_ptr<Cuttable> link);
  FaultDecision decide(const std::string& endpoint, bool from_dialer, wire::MsgType type);
  // Flips one bit of an encoded frame (header + payload) where only the checksum can catch it.
  void corrupt(Bytes& frame);

 private:
  struct Entry {
    FaultRuleId id;
    FaultRule rule;
    int64_t seen = 0;  // matching frames so far
    uint64_t hits = 0;
  };
  bool matches(const FaultRule& r, const std::string& endpoint, bool from_dialer,
               wire::MsgType type) const;
  std::vector<std::shared_ptr<Cuttable>> live_links(const std::string* endpoint);

  mutable std::mutex mu_;
  SplitMix64 rng_;
  FaultRuleId next_id_ = 1;
  std::vector<Entry> rules_;
  std::vector<std::weak_ptr<Cuttable>> links_;
};

}  // namespace loco::transport
