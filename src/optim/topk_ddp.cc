// topk_ddp.cc: top-k + error feedback (+ DGC momentum correction) over an all-gather (topk_ddp.h).
#include "optim/topk_ddp.h"

#include <cmath>

#include "codecs/codecs.h"

namespace loco::optim {

Status validate(const TopkDdpOptions& o) {
  if (!(o.fraction > 0.0 && o.fraction <= 1.0)) {
    return InvalidArgument("ddp-topk: fraction must be in (0, 1], got " + std::to_string(o.fraction));
  }
  if (!std::isfinite(o.momentum) || o.momentum < 0.0f || o.momentum >= 1.0f) {
    return InvalidArgument("ddp-topk: momentum must be in [0, 1), got " + std::to_string(o.momentum));
  }
  if (!o.codec.empty()) {
    auto c = codecs::make_codec(o.codec);
    if (!c.ok()) return InvalidArgument("ddp-topk: codec: " + c.status().message());
    const codecs::CodecId id = (*c)->id();
    if (o.momentum > 0.0f && id != codecs::CodecId::kTopK && id != codecs::CodecId::kRandomK) {
      return InvalidArgument("ddp-topk: momentum correction needs a sparse codec (topk or randomk), "
                             "not '" + o.codec + "'");
    }
  }
  return OkStatus();
}

Status TopkDdp::init(std::span<const float> params) {
  LOCO_RETURN_IF_ERROR(validate(options_));
  if (params.size() > codecs::kMaxCount) return InvalidArgument("ddp-topk: too many parameters");
  if (options_.codec.empty()) {
    codecs::TopKOptions t;
    t.fraction = options_.fraction;
    LOCO_ASSIGN_OR_RETURN(codec_, codecs::make_top_k_codec(t));
  } else {
    LOCO_ASSIGN_OR_RETURN(codec_, codecs::make_codec(options_.codec));
  }
  random_k_ = dynamic_cast<codecs::RandomKCodec*>(codec_.get());
  count_ = params.size();
  residual_.assign(count_, 0.0f);
  momentum_.assign(options_.momentum > 0.0f ? count_ : 0, 0.0f);
  message_.resize(codec_->encoded_size_bound(count_));
  initialized_ = true;
  return OkStatus();
}

Status TopkDdp::on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("ddp-topk: on_gradients before init");
  if (grads.size() != count_) {
    return InvalidArgument("ddp-topk: " + std::to_string(grads.size()) + " gradients for " +
                           std::to_string(count_) + " parameters");
  }
  if (count_ == 0) return OkStatus();
  const bool mc = !momentum_.empty();
  next_residual_.resize(count_);
  if (mc) next_momentum_.resize(count_);
  for (size_t i = 0; i < count_; ++i) {
    const float u = mc ? options_.momentum * momentum_[i] + grads[i] : grads[i];
    if (mc) next_momentum_[i] = u;
    next_residual_[i] = residual_[i] + u;
  }
  // Random-k: every peer draws the same coordinates for this step.
  if (random_k_ != nullptr) random_k_->set_seed(static_cast<uint64_t>(step));
  auto written = codec_->encode(next_residual_, MutableByteSpan(message_.data(), message_.size()));
  if (!written.ok()) return written.status().with_context("ddp-topk: encode");
  if (*written != message_.size()) return Internal("ddp-topk: message size changed");
  // What we sent, as the receivers decode it; it leaves the residual (and the momentum).
  sent_.resize(count_);
  LOCO_RETURN_IF_ERROR(codec_->decode(ByteSpan(message_.data(), message_.size()), sent_));
  for (size_t i = 0; i < count_; ++i) {
    // Error feedback: what was sent leaves the residual (exactly 0 for top-k and random-k, whose
    // sent values are the residual's own).
    next_residual_[i] -= sent_[i];
    if (mc && sent_[i] != 0.0f) next_momentum_[i] = 0.0f;
  }
  LOCO_RETURN_IF_ERROR(reducer.all_gather_bytes(message_, gathered_));
  const size_t m = message_.size();
  if (gathered_.empty() || gathered_.size() % m != 0) {
    return DataLoss("ddp-topk: gathered " + std::to_string(gathered_.size()) +
                    " bytes, not a multiple of the " + std::to_string(m) + "-byte message");
  }
  const size_t world = gathered_.size() / m;
  sum_.assign(count_, 0.0f);
  decoded_.resize(count_);
  for (size_t p = 0; p < world; ++p) {
    Status s = codec_->decode(ByteSpan(gathered_.data() + p * m, m), decoded_);
    if (!s.ok()) {
      return DataLoss("ddp-topk: message of peer " + std::to_string(p) + ": " + s.message());
    }
    for (size_t i = 0; i < count_; ++i) sum_[i] += decoded_[i];
  }
  const float inv = static_cast<float>(world);
  for (size_t i = 0; i < count_; ++i) grads[i] = sum_[i] / inv;
  residual_.swap(next_residual_);
  if (mc) momentum_.swap(next_momentum_);
  return OkStatus();
}

Status TopkDdp::after_inner_step(std::span<float> params, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("ddp-topk: after_inner_step before init");
  if (params.size() != count_) {
    return InvalidArgument("ddp-topk: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(count_));
  }
  return OkStatus();
}

Status TopkDdp::finish(std::span<float> params, Reducer& reducer) {
  return after_inner_step(params, 0, reducer);
}

std::vector<StateBuffer> TopkDdp::state_buffers() {
  if (!initialized_) return {};
  std::vector<StateBuffer> out = {{"ddp_topk.residual", std::span<float>(residual_)}};
  if (!momentum_.empty()) out.push_back({"ddp_topk.momentum", std::span<float>(momentum_)});
  return out;
}

}  // namespace loco::optim
