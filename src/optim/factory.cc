// factory.cc: strategy names to Strategy objects (see factory.h).
#include "optim/factory.h"

#include "collectives/quantized_layout.h"
#include "optim/ddp.h"
#include "optim/demo.h"
#include "optim/diloco.h"
#include "optim/local_sgd.h"
#include "optim/lofi.h"
#include "optim/outer_sgd.h"
#include "optim/powersgd.h"
#include "optim/topk_ddp.h"

namespace loco::optim {

namespace {

OuterSgdOptions outer_options(const StrategyOptions& o) {
  OuterSgdOptions out;
  out.lr = o.outer_lr;
  out.momentum = o.outer_momentum;
  out.nesterov = o.nesterov;
  out.extra_momenta = o.extra_outer_momenta;
  return out;
}

bool uses_h(std::string_view name) { return name == "diloco" || name == "local-sgd"; }

}  // namespace

const std::vector<StrategyInfo>& strategy_catalog() {
  static const std::vector<StrategyInfo> kCatalog = {
      {"ddp", "data parallel: average gradients every step (bucketed all-reduce)"},
      {"diloco", "DiLoCo: H local steps, then average the pseudo-gradient and take an outer "
                 "Nesterov SGD step"},
      {"local-sgd", "local SGD: H local steps, then average the parameters"},
      {"lofi", "lo-fi: no communication while training, one parameter average at the end"},
      {"demo", "DeMo: local momentum, top-k of its DCT all-gathered every step, sign update "
               "(use with plain SGD as the inner optimizer)"},
      {"ddp-topk", "DDP sending only the top-k of the error-fed gradient each step (DGC momentum "
                   "correction optional)"},
      {"ddp-powersgd", "DDP with rank-r PowerSGD compression of each matrix, error feedback and "
                       "warm start (needs the tensor shapes)"},
  };
  return kCatalog;
}

std::string strategy_names() {
  std::string out;
  for (const auto& s : strategy_catalog()) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

Status validate(const StrategyOptions& o) {
  bool known = false;
  for (const auto& s : strategy_catalog()) known = known || s.name == o.name;
  if (!known) {
    return InvalidArgument("unknown strategy '" + o.name + "' (valid: " + strategy_names() + ")");
  }
  if (uses_h(o.name) && o.h < 1) {
    return InvalidArgument(o.name + ": H (inner steps per sync) must be >= 1, got " +
                           std::to_string(o.h));
  }
  if (o.bucket_bytes < sizeof(float)) {
    return InvalidArgument("bucket size must be at least 4 bytes, got " +
                           std::to_string(o.bucket_bytes));
  }
  if (o.name == "diloco") {
    Status s = validate(outer_options(o));
    if (!s.ok()) return s.with_context("diloco");
    if (o.warm_start < 0) {
      return InvalidArgument("diloco: warm start must be >= 0 steps, got " +
                             std::to_string(o.warm_start));
    }
  }
  if (o.name == "demo") {
    LOCO_RETURN_IF_ERROR(validate(o.demo));
  }
  if (o.name == "ddp-topk") {
    LOCO_RETURN_IF_ERROR(validate(o.topk));
  }
  if (!o.wire_codec.empty()) {  // the quantized all-reduce (collectives/quantized_layout.h)
    if (o.name != "diloco" && o.name != "local-sgd" && o.name != "ddp") {
      return InvalidArgument("wire codec: only diloco, local-sgd and ddp take one, not " + o.name);
    }
    auto codec = collectives::parse_wire_codec(o.wire_codec);
    if (!codec.ok()) return codec.status().with_context("wire codec '" + o.wire_codec + "'");
  }
  if (o.name == "ddp-powersgd" && o.powersgd.rank < 1) {
    return InvalidArgument("ddp-powersgd: rank must be >= 1, got " + std::to_string(o.powersgd.rank));
  }
  return OkStatus();
}

Result<std::unique_ptr<Strategy>> make_strategy(const StrategyOptions& o) {
  LOCO_RETURN_IF_ERROR(validate(o));
  std::unique_ptr<Strategy> out;
  if (o.name == "ddp") {
    out = std::make_unique<Ddp>(DdpOptions{o.bucket_bytes, o.wire_codec});
  } else if (o.name == "diloco") {
    DilocoOptions d;
    d.h = o.h;
    d.warm_start = o.warm_start;
    d.outer = outer_options(o);
    d.bucket_bytes = o.bucket_bytes;
    d.wire_codec = o.wire_codec;
    out = std::make_unique<Diloco>(std::move(d));
  } else if (o.name == "local-sgd") {
    out = std::make_unique<LocalSgd>(LocalSgdOptions{o.h, o.bucket_bytes, o.wire_codec});
  } else if (o.name == "lofi") {
    out = std::make_unique<Lofi>(LofiOptions{o.bucket_bytes});
  } else if (o.name == "demo") {
    out = std::make_unique<Demo>(o.demo);
  } else if (o.name == "ddp-topk") {
    out = std::make_unique<TopkDdp>(o.topk);
  } else if (o.name == "ddp-powersgd") {
    out = std::make_unique<PowerSgd>(o.powersgd);
  } else {
    return Internal("strategy '" + o.name + "' is in the catalog but has no constructor");
  }
  return out;
}

}  // namespace loco::optim
