// powersgd.cc: rank-r PowerSGD with error feedback and warm start (see powersgd.h).
#include "optim/powersgd.h"

#include <cmath>

#include "common/rng.h"

namespace loco::optim {

namespace {

// Gram-Schmidt on the r columns of P (rows x r, row-major), in place. A column that vanishes is
// left at zero (it then contributes nothing).
void orthonormalize(float* p, size_t rows, size_t r) {
  for (size_t j = 0; j < r; ++j) {
    for (size_t k = 0; k < j; ++k) {
      float dot = 0.0f;
      for (size_t i = 0; i < rows; ++i) dot += p[i * r + j] * p[i * r + k];
      for (size_t i = 0; i < rows; ++i) p[i * r + j] -= dot * p[i * r + k];
    }
    float norm = 0.0f;
    for (size_t i = 0; i < rows; ++i) norm += p[i * r + j] * p[i * r + j];
    norm = std::sqrt(norm);
    const float inv = norm > 1e-30f ? 1.0f / norm : 0.0f;
    for (size_t i = 0; i < rows; ++i) p[i * r + j] *= inv;
  }
}

}  // namespace

Status PowerSgd::init(std::span<const float> params) {
  const size_t r = options_.rank;
  if (r < 1) return InvalidArgument("ddp-powersgd: rank must be >= 1");
  if (options_.shapes.empty()) {
    return InvalidArgument("ddp-powersgd: needs the tensor shapes (rows x cols) of the parameters");
  }
  tensors_.clear();
  size_t off = 0;
  p_floats_ = q_floats_ = uncompressed_ = 0;
  for (auto [rows, cols] : options_.shapes) {
    if (rows == 0 || cols == 0) return InvalidArgument("ddp-powersgd: a tensor shape has a zero side");
    const bool c = rows > 1 && cols > 1 && (rows + cols) * r < rows * cols;
    tensors_.push_back({off, rows, cols, c, p_floats_, q_floats_});
    if (c) {
      p_floats_ += rows * r;
      q_floats_ += cols * r;
    } else {
      uncompressed_ += rows * cols;
    }
    off += rows * cols;
  }
  if (off != params.size()) {
    return InvalidArgument("ddp-powersgd: the shapes hold " + std::to_string(off) +
                           " elements, the parameters " + std::to_string(params.size()));
  }
  count_ = params.size();
  error_.assign(count_, 0.0f);
  q_.resize(q_floats_);
  SplitMix64 rng(options_.seed);
  for (float& v : q_) v = static_cast<float>(static_cast<double>(rng.next() >> 40) / 8388608.0 - 1.0);
  initialized_ = true;
  return OkStatus();
}

Status PowerSgd::on_gradients(std::span<float> grads, int64_t /*step*/, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("ddp-powersgd: on_gradients before init");
  if (grads.size() != count_) {
    return InvalidArgument("ddp-powersgd: " + std::to_string(grads.size()) + " gradients for " +
                           std::to_string(count_) + " parameters");
  }
  const size_t r = options_.rank;
  m_.resize(count_);
  for (size_t i = 0; i < count_; ++i) m_[i] = grads[i] + error_[i];
  // P = M Q for compressed tensors; uncompressed tensors ride along after the P's.
  p_buf_.assign(p_floats_ + uncompressed_, 0.0f);
  size_t u = p_floats_;
  for (const Tensor& t : tensors_) {
    const float* m = &m_[t.offset];
    if (!t.compressed) {
      for (size_t i = 0; i < t.rows * t.cols; ++i) p_buf_[u++] = m[i];
      continue;
    }
    const float* q = &q_[t.q_offset];
    float* p = &p_buf_[t.p_offset];
    for (size_t i = 0; i < t.rows; ++i) {
      for (size_t k = 0; k < r; ++k) {
        float acc = 0.0f;
        for (size_t j = 0; j < t.cols; ++j) acc += m[i * t.cols + j] * q[j * r + k];
        p[i * r + k] = acc;
      }
    }
  }
  LOCO_RETURN_IF_ERROR(reducer.all_reduce_avg(p_buf_));
  q_buf_.assign(q_floats_, 0.0f);
  for (const Tensor& t : tensors_) {
    if (!t.compressed) continue;
    float* p = &p_buf_[t.p_offset];
    orthonormalize(p, t.rows, r);
    const float* m = &m_[t.offset];
    float* q = &q_buf_[t.q_offset];
    for (size_t j = 0; j < t.cols; ++j) {
      for (size_t k = 0; k < r; ++k) {
        float acc = 0.0f;
        for (size_t i = 0; i < t.rows; ++i) acc += m[i * t.cols + j] * p[i * r + k];
        q[j * r + k] = acc;
      }
    }
  }
  if (!q_buf_.empty()) LOCO_RETURN_IF_ERROR(reducer.all_reduce_avg(q_buf_));
  // Commit: grads = P Q'^T (compressed) or the average (uncompressed); e = M - grads.
  u = p_floats_;
  for (const Tensor& t : tensors_) {
    float* g = &grads[t.offset];
    float* e = &error_[t.offset];
    const float* m = &m_[t.offset];
    if (!t.compressed) {
      for (size_t i = 0; i < t.rows * t.cols; ++i) {
        g[i] = p_buf_[u++];
        e[i] = 0.0f;
      }
      continue;
    }
    const float* p = &p_buf_[t.p_offset];
    const float* q = &q_buf_[t.q_offset];
    for (size_t i = 0; i < t.rows; ++i) {
      for (size_t j = 0; j < t.cols; ++j) {
        float acc = 0.0f;
        for (size_t k = 0; k < r; ++k) acc += p[i * r + k] * q[j * r + k];
        g[i * t.cols + j] = acc;
        e[i * t.cols + j] = m[i * t.cols + j] - acc;
      }
    }
  }
  q_.swap(q_buf_);
  return OkStatus();
}

Status PowerSgd::after_inner_step(std::span<float> params, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("ddp-powersgd: after_inner_step before init");
  if (params.size() != count_) return InvalidArgument("ddp-powersgd: wrong parameter count");
  return OkStatus();
}

Status PowerSgd::finish(std::span<float> params, Reducer& reducer) {
  return after_inner_step(params, 0, reducer);
}

std::vector<StateBuffer> PowerSgd::state_buffers() {
  if (!initialized_) return {};
  return {{"powersgd.error", std::span<float>(error_)}, {"powersgd.q", std::span<float>(q_)}};
}

}  // namespace loco::optim
