// codec_bench.cc: throughput of every codec in src/codecs (Google Benchmark), single-threaded, so
// the figures are per core: GB/s = f32 input bytes (4 per element) / CPU time, for encode, decode
// and (int8, int4) encode + decode. Default size 64 MiB of f32 (--size_mib=N to change).
// Before any timing, each codec's output for the whole input is checked against a naive scalar
// reference written here (byte for byte for the deterministic codecs, index sets for the sparse
// ones); a mismatch exits 1 before a single figure is printed. Baselines measured in the same run:
// memcpy of the input (the memory-bandwidth ceiling) and the naive int8 reference encoder.
// Not a correctness test beyond that check (tests/unit/codecs), not the all-reduce benchmark.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/random_k.h"
#include "codecs/top_k.h"
#include "common/rng.h"

namespace {

using loco::Bytes;
using namespace loco::codecs;  // NOLINT(google-build-using-namespace)

std::vector<float> g_x;

__extension__ typedef _Float16 RefHalf;

void put_header(Bytes& b, CodecId id, uint32_t block, size_t n) {
  b.resize(kHeaderSize);
  write_header({id, block, n}, b.data());
}
template <typename T>
void append(Bytes& b, T v) {
  const size_t at = b.size();
  b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

// ---- naive references: one element at a time, straight from the definitions ----
Bytes naive_fp16(const std::vector<float>& x) {
  Bytes b;
  put_header(b, CodecId::kFp16, 0, x.size());
  for (float v : x) {
    RefHalf h = static_cast<RefHalf>(v);
    uint16_t u;
    std::memcpy(&u, &h, 2);
    append(b, u);
  }
  return b;
}

Bytes naive_bf16(const std::vector<float>& x) {  // nearest of the two neighbours, ties to even
  Bytes b;
  put_header(b, CodecId::kBf16, 0, x.size());
  for (float v : x) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    const uint32_t down = u >> 16, rest = u & 0xFFFF;
    const uint32_t pick = rest > 0x8000 || (rest == 0x8000 && (down & 1)) ? down + 1 : down;
    append(b, static_cast<uint16_t>(pick));
  }
  return b;
}

Bytes naive_block(const std::vector<float>& x, uint32_t block, int levels) {
  const size_t n = x.size(), nb = (n + block - 1) / block;
  Bytes b;
  put_header(b, levels == 255 ? CodecId::kInt8Block : CodecId::kInt4Block, block, n);
  std::vector<uint8_t> codes(n);
  const float L = static_cast<float>(levels);
  for (size_t k = 0; k < nb; ++k) {
    const size_t at = k * block, end = std::min(n, at + block);
    const float lo = *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(at), x.begin() + static_cast<std::ptrdiff_t>(end)) + 0.0f;
    const float hi = *std::max_element(x.begin() + static_cast<std::ptrdiff_t>(at), x.begin() + static_cast<std::ptrdiff_t>(end));
    float scale = (hi - lo) / L;
    if (scale < 0x1p-126f) scale = 0;
    while (!std::isfinite(lo + L * scale)) scale = std::nextafter(scale, 0.0f);
    const float inv = scale > 0 ? 1.0f / scale : 0.0f;
    append(b, lo);
    append(b, scale);
    for (size_t i = at; i < end; ++i) {
      const float t = std::min((x[i] - lo) * inv + 0.5f, L);
      codes[i] = static_cast<uint8_t>(static_cast<int>(t));
    }
  }
  if (levels == 255) {
    for (uint8_t c : codes) append(b, c);
  } else {
    for (size_t i = 0; i < n; i += 2) {
      append(b, static_cast<uint8_t>(codes[i] | (i + 1 < n ? codes[i + 1] << 4 : 0)));
    }
  }
  return b;
}

Bytes naive_sign(const std::vector<float>& x, uint32_t block) {
  const size_t n = x.size();
  Bytes b;
  put_header(b, CodecId::kSign, block, n);
  for (size_t at = 0; at < n; at += block) {
    const size_t m = std::min<size_t>(block, n - at);
    double lane[8] = {};
    for (size_t i = 0; i < m; ++i) lane[i % 8] += std::fabs(static_cast<double>(x[at + i]));
    const double total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    append(b, static_cast<float>(total / static_cast<double>(m)));
  }
  for (size_t i = 0; i < n; i += 8) {
    uint8_t byte = 0;
    for (size_t j = i; j < std::min(n, i + 8); ++j) byte = static_cast<uint8_t>(byte | (std::signbit(x[j]) ? 1 : 0) << (j - i));
    append(b, byte);
  }
  return b;
}

std::vector<uint32_t> naive_top_k(const std::vector<float>& x, size_t k) {
  std::vector<std::pair<float, uint32_t>> v(x.size());
  for (size_t i = 0; i < x.size(); ++i) v[i] = {-std::fabs(x[i]), static_cast<uint32_t>(i)};
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  std::vector<uint32_t> idx;
  for (size_t i = 0; i < k; ++i) idx.push_back(v[i].second);
  std::sort(idx.begin(), idx.end());
  return idx;
}

Bytes encode(const Codec& c, const std::vector<float>& x) {
  Bytes out(c.encoded_size_bound(x.size()));
  out.resize(c.encode(x, out).value());
  return out;
}

bool verify(const char* what, bool ok) {
  std::printf("verify %-28s %s\n", what, ok ? "ok: identical to the naive reference" : "MISMATCH");
  return ok;
}

// Checks every codec against its naive reference on the benchmark input.
bool verify_all() {
  const std::vector<float>& x = g_x;
  bool ok = true;
  ok &= verify("fp16", encode(*make_fp16_codec(), x) == naive_fp16(x));
  ok &= verify("bf16", encode(*make_bf16_codec(), x) == naive_bf16(x));
  ok &= verify("int8:block=256", encode(*make_int8_codec(256).value(), x) == naive_block(x, 256, 255));
  ok &= verify("int4:block=128", encode(*make_int4_codec(128).value(), x) == naive_block(x, 128, 15));
  ok &= verify("sign:block=1024", encode(*make_sign_codec(1024).value(), x) == naive_sign(x, 1024));
  {  // int8 decode: lo + q * scale per element
    std::unique_ptr<Codec> c = make_int8_codec(256).value();
    Bytes b = encode(*c, x);
    std::vector<float> y(x.size());
    bool same = c->decode(b, y).ok();
    const size_t nb = (x.size() + 255) / 256;
    for (size_t i = 0; same && i < x.size(); ++i) {
      float lo, scale;
      std::memcpy(&lo, b.data() + kHeaderSize + 8 * (i / 256), 4);
      std::memcpy(&scale, b.data() + kHeaderSize + 8 * (i / 256) + 4, 4);
      const float want = lo + static_cast<float>(static_cast<uint8_t>(b[kHeaderSize + 8 * nb + i])) * scale;
      same = std::memcmp(&want, &y[i], 4) == 0;
    }
    ok &= verify("int8 decode", same);
  }
  const size_t k = static_cast<size_t>(std::ceil(0.01 * static_cast<double>(x.size())));
  ok &= verify("topk:fraction=0.01", top_k_indices(x, k, false) == naive_top_k(x, k));
  {
    std::unique_ptr<RandomKCodec> c = RandomKCodec::make({0.01, 42}).value();
    std::vector<float> y(x.size());
    bool same = c->decode(encode(*c, x), y).ok();
    std::vector<uint32_t> idx = random_k_indices(42, x.size(), k);
    size_t j = 0;
    for (size_t i = 0; same && i < x.size(); ++i) {
      const bool drawn = j < idx.size() && idx[j] == i;
      same = y[i] == (drawn ? x[i] : 0.0f);
      j += drawn ? 1 : 0;
    }
    ok &= verify("randomk:fraction=0.01", same && j == k);
  }
  return ok;
}

void set_rate(benchmark::State& state) {
  state.counters["GB/s"] = benchmark::Counter(4.0 * static_cast<double>(g_x.size()),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void bm_encode(benchmark::State& state, std::shared_ptr<Codec> c) {
  Bytes out(c->encoded_size_bound(g_x.size()));
  for (auto _ : state) {
    benchmark::DoNotOptimize(c->encode(g_x, out).ok());
    benchmark::ClobberMemory();
  }
  set_rate(state);
  state.counters["ratio"] = 4.0 * static_cast<double>(g_x.size()) / static_cast<double>(out.size());
}

void bm_decode(benchmark::State& state, std::shared_ptr<Codec> c) {
  Bytes in = encode(*c, g_x);
  std::vector<float> y(g_x.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(c->decode(in, y).ok());
    benchmark::ClobberMemory();
  }
  set_rate(state);
}

void bm_roundtrip(benchmark::State& state, std::shared_ptr<Codec> c) {
  Bytes buf(c->encoded_size_bound(g_x.size()));
  std::vector<float> y(g_x.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(c->encode(g_x, buf).ok());
    benchmark::DoNotOptimize(c->decode(buf, y).ok());
    benchmark::ClobberMemory();
  }
  set_rate(state);
}

void bm_memcpy(benchmark::State& state) {
  std::vector<float> y(g_x.size());
  for (auto _ : state) {
    std::memcpy(y.data(), g_x.data(), 4 * g_x.size());
    benchmark::ClobberMemory();
  }
  set_rate(state);
}

void bm_naive_int8(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(naive_block(g_x, 256, 255).size());
  set_rate(state);
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 64;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--size_mib=", 11) == 0) {
      mib = std::strtoul(argv[i] + 11, nullptr, 10);
    } else {
      args.push_back(argv[i]);
    }
  }
  g_x.resize(mib * (size_t{1} << 20) / 4);
  loco::SplitMix64 rng(1);
  for (float& v : g_x) {  // gaussian, Box-Muller
    const double u1 = (static_cast<double>(rng.next() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
    v = static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  std::printf("codec_bench: %zu MiB of f32 (%zu elements), gaussian\n", mib, g_x.size());
  if (!verify_all()) {
    std::fprintf(stderr, "codec_bench: a codec differs from its naive reference; no figures\n");
    return 1;
  }
  benchmark::RegisterBenchmark("baseline/memcpy", bm_memcpy);
  benchmark::RegisterBenchmark("baseline/naive_int8_encode", bm_naive_int8);
  for (const char* spec : {"fp16", "bf16", "int8:block=256", "int4:block=128", "sign:block=1024",
                           "topk:fraction=0.01", "topk:fraction=0.01,exact=1",
                           "randomk:fraction=0.01,seed=1"}) {
    std::shared_ptr<Codec> c = make_codec(spec).value();
    benchmark::RegisterBenchmark((std::string(spec) + "/encode").c_str(), bm_encode, c);
    benchmark::RegisterBenchmark((std::string(spec) + "/decode").c_str(), bm_decode, c);
    if (c->id() == CodecId::kInt8Block || c->id() == CodecId::kInt4Block) {
      benchmark::RegisterBenchmark((std::string(spec) + "/encode+decode").c_str(), bm_roundtrip, c);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
