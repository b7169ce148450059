// factory.h: builds a Strategy from a name and a small options struct, for `loco train`,
// `loco swarm` and the benchmarks, and lists the valid names with a one-line summary for --help.
// Every bad value gives INVALID_ARGUMENT with a message naming the option and the accepted range.
// Not here: parsing command lines (tools/loco), the inner optimizer (src/train).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "optim/bucketing.h"
#include "optim/demo.h"
#include "optim/powersgd.h"
#include "optim/strategy.h"
#include "optim/topk_ddp.h"

namespace loco::optim {

struct StrategyOptions {
  std::string name = "diloco";  // see strategy_catalog()
  int64_t h = 100;              // inner steps per sync (diloco, local-sgd); ignored otherwise
  int64_t warm_start = 0;       // diloco: data-parallel steps before the first inner round
  float outer_lr = 0.7f;        // diloco
  float outer_momentum = 0.9f;  // diloco; 0 disables momentum
  bool nesterov = true;         // diloco
  // diloco: extra momentum coefficients for multi-timescale outer momentum (empty: classic).
  std::vector<float> extra_outer_momenta;
  size_t bucket_bytes = kDefaultBucketBytes;  // every strategy: bytes per collective call
  DemoOptions demo;     // demo: chunk, topk, decay
  TopkDdpOptions topk;  // ddp-topk: fraction, momentum (needs inner plain SGD), codec (--ef-codec)
  // ddp-powersgd: rank, and shapes (rows x cols of every tensor in the flat span, in order: the
  // trainer fills them).
  PowerSgdOptions powersgd;
  // diloco, local-sgd, ddp: wire codec of the all-reduce ("" = fp32; fp16, bf16, int8[:block=N],
  // int4[:block=N]); INVALID_ARGUMENT for any other codec or for another strategy.
  std::string wire_codec = {};
};

struct StrategyInfo {
  std::string_view name;
  std::string_view summary;  // one line for --help
};

// Every valid strategy name, in a stable order.
const std::vector<StrategyInfo>& strategy_catalog();
// "ddp, diloco, local-sgd, lofi, demo, ddp-topk, ddp-powersgd": for messages.
std::string strategy_names();

// INVALID_ARGUMENT for an unknown name or a bad value (H < 1 for strategies that use it, outer lr
// not finite and > 0, momentum outside [0, 1), bucket smaller than one float, a wire codec that is
// not a dense codec or on a strategy without a plain all-reduce).
[[nodiscard]] Status validate(const StrategyOptions& options);
Result<std::unique_ptr<Strategy>> make_strategy(const StrategyOptions& options);

}  // namespace loco::optim
