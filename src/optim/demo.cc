// demo.cc: DeMo's step: momentum, chunked DCT, top-k, all-gather, mean, inverse, sign (demo.h).
#include "optim/demo.h"

#include <cmath>
#include <cstring>
#include <numeric>

namespace loco::optim {

namespace {

void put_entry(std::byte* out, uint16_t index, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint8_t b[6] = {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8),
                        static_cast<uint8_t>(bits), static_cast<uint8_t>(bits >> 8),
                        static_cast<uint8_t>(bits >> 16), static_cast<uint8_t>(bits >> 24)};
  std::memcpy(out, b, 6);
}

void get_entry(const std::byte* in, uint16_t& index, float& value) {
  uint8_t b[6];
  std::memcpy(b, in, 6);
  index = static_cast<uint16_t>(b[0] | (b[1] << 8));
  const uint32_t bits = static_cast<uint32_t>(b[2]) | (static_cast<uint32_t>(b[3]) << 8) |
                        (static_cast<uint32_t>(b[4]) << 16) | (static_cast<uint32_t>(b[5]) << 24);
  std::memcpy(&value, &bits, 4);
}

}  // namespace

Status validate(const DemoOptions& o) {
  if (o.chunk < 2 || o.chunk > 65536) {
    return InvalidArgument("demo: chunk size must be in [2, 65536], got " + std::to_string(o.chunk));
  }
  if (o.topk < 1 || o.topk > o.chunk) {
    return InvalidArgument("demo: top-k must be in [1, chunk size " + std::to_string(o.chunk) +
                           "], got " + std::to_string(o.topk));
  }
  if (!std::isfinite(o.decay) || o.decay < 0.0f || o.decay >= 1.0f) {
    return InvalidArgument("demo: momentum decay must be in [0, 1), got " + std::to_string(o.decay));
  }
  return OkStatus();
}

size_t Demo::chunk_len(size_t c) const { return std::min(options_.chunk, count_ - c * options_.chunk); }

Status Demo::init(std::span<const float> params) {
  LOCO_RETURN_IF_ERROR(validate(options_));
  count_ = params.size();
  chunks_ = (count_ + options_.chunk - 1) / options_.chunk;
  full_ = std::make_unique<ChunkDct>(options_.chunk);
  const size_t tail = count_ % options_.chunk;
  tail_ = std::make_unique<ChunkDct>(tail == 0 ? options_.chunk : tail);
  payload_bytes_ = 0;
  for (size_t c = 0; c < chunks_; ++c) payload_bytes_ += chunk_k(c) * kEntryBytes;
  momentum_.assign(count_, 0.0f);
  next_momentum_.assign(count_, 0.0f);
  initialized_ = true;
  return OkStatus();
}

Status Demo::on_gradients(std::span<float> grads, int64_t /*step*/, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("demo: on_gradients before init");
  if (grads.size() != count_) {
    return InvalidArgument("demo: " + std::to_string(grads.size()) + " gradients for " +
                           std::to_string(count_) + " parameters");
  }
  if (count_ == 0) return OkStatus();
  const size_t chunk = options_.chunk;
  // 1. New momentum (scratch), its top-k per chunk, and the residual momentum.
  payload_.resize(payload_bytes_);
  coeffs_.resize(chunk);
  std::vector<uint32_t> order(chunk);
  size_t at = 0;
  for (size_t c = 0; c < chunks_; ++c) {
    const size_t off = c * chunk, len = chunk_len(c), k = chunk_k(c);
    std::span<float> m(next_momentum_.data() + off, len);
    for (size_t i = 0; i < len; ++i) m[i] = options_.decay * momentum_[off + i] + grads[off + i];
    const ChunkDct& dct = dct_for(len);
    dct.forward(m, std::span<float>(coeffs_.data(), len));
    std::iota(order.begin(), order.begin() + static_cast<ptrdiff_t>(len), 0u);
    std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k),
                      order.begin() + static_cast<ptrdiff_t>(len), [&](uint32_t a, uint32_t b) {
                        const float fa = std::fabs(coeffs_[a]), fb = std::fabs(coeffs_[b]);
                        return fa > fb || (fa == fb && a < b);
                      });
    for (size_t j = 0; j < k; ++j) {
      const uint32_t idx = order[j];
      put_entry(payload_.data() + at, static_cast<uint16_t>(idx), coeffs_[idx]);
      at += kEntryBytes;
      dct.add_basis(idx, -coeffs_[idx], m);  // the transmitted part leaves the momentum
    }
  }
  // 2. Exchange. On failure nothing of ours was committed.
  LOCO_RETURN_IF_ERROR(reducer.all_gather_bytes(payload_, gathered_));
  if (gathered_.empty() || gathered_.size() % payload_bytes_ != 0) {
    return DataLoss("demo: gathered " + std::to_string(gathered_.size()) +
                    " bytes, not a multiple of the " + std::to_string(payload_bytes_) +
                    "-byte payload");
  }
  const size_t world = gathered_.size() / payload_bytes_;
  // 3. Decode: per chunk, mean over contributing peers per frequency, inverse, sign.
  decoded_.assign(count_, 0.0f);
  sum_.resize(chunk);
  contributors_.resize(chunk);
  at = 0;
  for (size_t c = 0; c < chunks_; ++c) {
    const size_t off = c * chunk, len = chunk_len(c), k = chunk_k(c);
    std::fill(sum_.begin(), sum_.begin() + static_cast<ptrdiff_t>(len), 0.0f);
    std::fill(contributors_.begin(), contributors_.begin() + static_cast<ptrdiff_t>(len), 0u);
    for (size_t p = 0; p < world; ++p) {
      const std::byte* in = gathered_.data() + p * payload_bytes_ + at;
      for (size_t j = 0; j < k; ++j) {
        uint16_t idx;
        float v;
        get_entry(in + j * kEntryBytes, idx, v);
        if (idx >= len || !std::isfinite(v)) {
          return DataLoss("demo: peer " + std::to_string(p) + " sent a bad entry in chunk " +
                          std::to_string(c));
        }
        sum_[idx] += v;
        ++contributors_[idx];
      }
    }
    for (size_t i = 0; i < len; ++i) {
      coeffs_[i] = contributors_[i] == 0 ? 0.0f : sum_[i] / static_cast<float>(contributors_[i]);
    }
    dct_for(len).inverse(std::span<const float>(coeffs_.data(), len),
                         std::span<float>(decoded_.data() + off, len));
    at += k * kEntryBytes;
  }
  // 4. Commit.
  for (size_t i = 0; i < count_; ++i) {
    const float d = decoded_[i];
    grads[i] = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
  }
  momentum_.swap(next_momentum_);
  return OkStatus();
}

Status Demo::after_inner_step(std::span<float> params, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("demo: after_inner_step before init");
  if (params.size() != count_) {
    return InvalidArgument("demo: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(count_));
  }
  return OkStatus();
}

Status Demo::finish(std::span<float> params, Reducer& reducer) {
  return after_inner_step(params, 0, reducer);
}

std::vector<StateBuffer> Demo::state_buffers() {
  if (!initialized_) return {};
  return {{"demo.momentum", std::span<float>(momentum_)}};
}

}  // namespace loco::optim
