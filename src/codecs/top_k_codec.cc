// top_k_codec.cc: top-k sparsification, the k = ceil(fraction * n) largest magnitudes sent as
// indices and values (Deep Gradient Compression style). Selection (top_k.h): a sampled-threshold
// fast path, which estimates the k-th largest |x| from a fixed-seed random sample, keeps the
// elements at or above it in one pass and selects exactly among those; when the estimate misses it
// falls back to the exact path, whose result it always equals. Layout after the header (block 0):
//   u32 k | k x u32 index, strictly increasing, < n | k x f32 value
// The decoder writes zeros elsewhere and rejects k > n, out-of-range, repeated or unsorted indices,
// and non-finite values. Error budget: kept values are exact; sum of dropped x^2 <= (1 - k/n) sum x^2
// and every dropped |x| <= every kept |x|. Inputs must be finite. Not here: error feedback.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include <fmt/format.h>

#include "codecs/codecs.h"
#include "codecs/format.h"
#include "codecs/top_k.h"
#include "common/rng.h"

namespace loco::codecs {
namespace {

// Sampled path parameters: it is used for n >= kMinSampled and k <= n / 4, with kSample draws.
constexpr size_t kMinSampled = size_t{1} << 14;
constexpr size_t kSample = size_t{1} << 14;
constexpr size_t kScanChunk = 4096;

struct MagnitudeOrder {
  const float* x;
  bool operator()(uint32_t a, uint32_t b) const {
    const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
    return fa > fb || (fa == fb && a < b);
  }
};

// Keeps the first k of `idx` in MagnitudeOrder, sorted by index.
void select_first_k(std::vector<uint32_t>& idx, size_t k, const float* x) {
  if (k < idx.size()) {
    std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                     MagnitudeOrder{x});
    idx.resize(k);
  }
  std::sort(idx.begin(), idx.end());
}

std::vector<uint32_t> exact_top_k(std::span<const float> x, size_t k) {
  std::vector<uint32_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0u);
  select_first_k(idx, k, x.data());
  return idx;
}

// The sampled path; false when the threshold let through fewer than k or more than the buffer
// holds (then the caller runs the exact path).
bool sampled_top_k(std::span<const float> x, size_t k, std::vector<uint32_t>* out) {
  const size_t n = x.size();
  SplitMix64 rng(0x6c6f636f746f706bull ^ (static_cast<uint64_t>(n) << 20) ^ k);
  std::vector<float> sample(kSample);
  for (float& s : sample) {
    const uint64_t i = ((rng.next() >> 32) * static_cast<uint64_t>(n)) >> 32;
    s = std::fabs(x[i]);
  }
  // Rank of the k-th largest expected in the sample, plus 4 standard deviations and a little:
  // the threshold lets through fewer than k elements only with a tiny probability.
  const double expect = static_cast<double>(k) * static_cast<double>(kSample) / static_cast<double>(n);
  const size_t rank = std::min(kSample - 1, static_cast<size_t>(expect + 4.0 * std::sqrt(expect) + 4.0));
  std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(rank), sample.end(),
                   std::greater<float>());
  const float threshold = sample[rank];
  const size_t cap = std::min(n, 2 * (rank + 1) * (n / kSample + 1) + kScanChunk);
  std::vector<uint32_t>& cand = *out;
  cand.resize(cap + kScanChunk);
  size_t c = 0;
  for (size_t base = 0; base < n; base += kScanChunk) {
    if (c > cap) return false;
    const size_t end = std::min(n, base + kScanChunk);
    for (size_t i = base; i < end; ++i) {  // branch-free compaction
      cand[c] = static_cast<uint32_t>(i);
      c += std::fabs(x[i]) >= threshold ? 1 : 0;
    }
  }
  if (c < k || c > cap) return false;
  cand.resize(c);
  select_first_k(cand, k, x.data());
  return true;
}

bool all_finite(std::span<const float> x) {
  float z[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= x.size(); i += 8) {
    for (int j = 0; j < 8; ++j) z[j] += x[i + j] - x[i + j];
  }
  for (; i < x.size(); ++i) z[0] += x[i] - x[i];
  float s = 0;
  for (float v : z) s += v;
  return s == 0.0f;
}

class TopKCodec final : public Codec {
 public:
  explicit TopKCodec(TopKOptions o)
      : o_(o), name_(fmt::format("topk:fraction={}{}", o.fraction, o.exact ? ",exact=1" : "")) {}

  CodecId id() const override { return CodecId::kTopK; }
  std::string_view name() const override { return name_; }
  size_t encoded_size_bound(size_t count) const override {
    return kHeaderSize + 4 + 8 * k_for_fraction(o_.fraction, count);
  }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t n = in.size();
    const size_t total = encoded_size_bound(n);
    LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
    if (!all_finite(in)) return InvalidArgument(name_ + ": NaN or Inf in the input");
    const size_t k = k_for_fraction(o_.fraction, n);
    const std::vector<uint32_t> idx = top_k_indices(in, k, o_.exact);
    write_header({CodecId::kTopK, 0, n}, out.data());
    std::byte* p = out.data() + kHeaderSize;
    store_u32(p, static_cast<uint32_t>(k));
    std::byte* ip = p + 4;
    std::byte* vp = ip + 4 * k;
    for (size_t j = 0; j < k; ++j) {
      store_u32(ip + 4 * j, idx[j]);
      store_f32(vp + 4 * j, in[idx[j]]);
    }
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kTopK, out.size()));
    if (h.block_size != 0) return DataLoss("topk: block size must be 0");
    if (in.size() < kHeaderSize + 4) return DataLoss("topk: truncated before k");
    const std::byte* p = in.data() + kHeaderSize;
    const uint64_t k = load_u32(p);
    if (k > h.count) return DataLoss(fmt::format("topk: k = {} exceeds the count {}", k, h.count));
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 4 + 8 * k));
    std::fill(out.begin(), out.end(), 0.0f);
    const std::byte* ip = p + 4;
    const std::byte* vp = ip + 4 * k;
    uint64_t next_min = 0;  // indices strictly increase: rejects repeats and disorder in one test
    for (size_t j = 0; j < k; ++j) {
      const uint32_t i = load_u32(ip + 4 * j);
      const float v = load_f32(vp + 4 * j);
      if (i < next_min || i >= h.count) {
        return DataLoss(fmt::format("topk: index {} at position {} is out of order or range", i, j));
      }
      if (!std::isfinite(v)) return DataLoss(fmt::format("topk: value {} is not finite", j));
      out[i] = v;
      next_min = uint64_t{i} + 1;
    }
    return OkStatus();
  }

 private:
  TopKOptions o_;
  std::string name_;
};

}  // namespace

std::vector<uint32_t> top_k_indices(std::span<const float> x, size_t k, bool exact, TopKPath* path) {
  TopKPath taken = TopKPath::kExact;
  std::vector<uint32_t> idx;
  if (!exact && x.size() >= kMinSampled && k <= x.size() / 4) {
    taken = sampled_top_k(x, k, &idx) ? TopKPath::kSampled : TopKPath::kFallback;
  }
  if (taken != TopKPath::kSampled) idx = exact_top_k(x, k);
  if (path != nullptr) *path = taken;
  return idx;
}

Result<std::unique_ptr<Codec>> make_top_k_codec(TopKOptions options) {
  LOCO_RETURN_IF_ERROR(check_fraction_option(options.fraction));
  return std::unique_ptr<Codec>(std::make_unique<TopKCodec>(options));
}

}  // namespace loco::codecs
