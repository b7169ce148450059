// reduce_kernels.cc: element-wise reduction loops (see reduce_kernels.h). Built with -O3 so that
// GCC vectorizes the generic loops; the 16-bit formats have explicit AVX2 (+F16C) paths chosen once
// at run time, since their conversions do not auto-vectorize.
#include "collectives/reduce_kernels.h"

#include <immintrin.h>

#include <atomic>
#include <type_traits>

#include "common/half.h"
#include "common/check.h"

namespace loco::collectives {
namespace {

// Integer arithmetic goes through the unsigned type so that overflow wraps instead of being UB.
template <typename T>
T add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
// NaN-propagating min/max that compile to compare + blend.
template <typename T>
T min_of(T a, T b) {
  T r = b < a ? b : a;
  if constexpr (std::is_floating_point_v<T>)
    r = (b != b) ? b : r;  // NOLINT(misc-redundant-expression)
  return r;
}
template <typename T>
T max_of(T a, T b) {
  T r = b > a ? b : a;
  if constexpr (std::is_floating_point_v<T>)
    r = (b != b) ? b : r;  // NOLINT(misc-redundant-expression)
  return r;
}

bool f16c_enabled_fast();

template <typename T, typename F>
void loop_portable(void* acc, const void* in, size_t n, F f) {
  T* a = static_cast<T*>(acc);
  const T* b = static_cast<const T*>(in);
  for (size_t i = 0; i < n; ++i) a[i] = f(a[i], b[i]);
}

// The same loop compiled for AVX2 (twice the vector width); chosen at run time.
template <typename T, typename F>
__attribute__((target("avx2"))) void loop_avx2(void* acc, const void* in, size_t n, F f) {
  T* a = static_cast<T*>(acc);
  const T* b = static_cast<const T*>(in);
  for (size_t i = 0; i < n; ++i) a[i] = f(a[i], b[i]);
}

template <typename T, typename F>
void loop(void* acc, const void* in, size_t n, F f) {
  if (f16c_enabled_fast()) {
    loop_avx2<T>(acc, in, n, f);
  } else {
    loop_portable<T>(acc, in, n, f);
  }
}

template <typename T>
void reduce_typed(ReduceOp op, void* acc, const void* in, size_t n) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      loop<T>(acc, in, n, [](T a, T b) { return add(a, b); });
      return;
    case ReduceOp::kMin:
      loop<T>(acc, in, n, [](T a, T b) { return min_of(a, b); });
      return;
    case ReduceOp::kMax:
      loop<T>(acc, in, n, [](T a, T b) { return max_of(a, b); });
      return;
  }
  LOCO_CHECK(false && "invalid ReduceOp");
}

// 16-bit floats in software: widen, combine in f32, round back.
template <float (*ToF)(uint16_t), uint16_t (*FromF)(float)>
void reduce_half_soft(ReduceOp op, void* acc, const void* in, size_t n) {
  uint16_t* a = static_cast<uint16_t*>(acc);
  const uint16_t* b = static_cast<const uint16_t*>(in);
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      for (size_t i = 0; i < n; ++i) a[i] = FromF(ToF(a[i]) + ToF(b[i]));
      return;
    case ReduceOp::kMin:
      for (size_t i = 0; i < n; ++i) a[i] = FromF(min_of(ToF(a[i]), ToF(b[i])));
      return;
    case ReduceOp::kMax:
      for (size_t i = 0; i < n; ++i) a[i] = FromF(max_of(ToF(a[i]), ToF(b[i])));
      return;
  }
  LOCO_CHECK(false && "invalid ReduceOp");
}

// ---- AVX2 paths for the 16-bit formats (F16C for binary16) ----
// Each gives exactly the bytes of the portable path (half.h), NaN payloads included.
constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
#define LOCO_AVX2 __attribute__((target("avx2,f16c")))

LOCO_AVX2 __m256 load_h8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
LOCO_AVX2 void store_h8(uint16_t* p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, kRound));
}
LOCO_AVX2 __m256 load_b8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
LOCO_AVX2 void store_b8(uint16_t* p, __m256 v) {
  // float_to_bf16, eight at a time: round to nearest even, or a quiet NaN.
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF));
  const __m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7F800000));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  const __m128i packed =
      _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
}

template <__m256 (*Load)(const uint16_t*), void (*Store)(uint16_t*, __m256), float (*ToF)(uint16_t),
          uint16_t (*FromF)(float)>
LOCO_AVX2 void reduce_half_avx2(ReduceOp op, void* acc, const void* in, size_t n) {
  uint16_t* a = static_cast<uint16_t*>(acc);
  const uint16_t* b = static_cast<const uint16_t*>(in);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = Load(a + i);
    const __m256 y = Load(b + i);
    __m256 r;
    if (op == ReduceOp::kMin || op == ReduceOp::kMax) {
      // min_ps(y, x) = y < x ? y : x (x on NaN), then y where y is NaN: same as min_of(x, y).
      r = op == ReduceOp::kMin ? _mm256_min_ps(y, x) : _mm256_max_ps(y, x);
      r = _mm256_blendv_ps(r, y, _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
    } else {
      r = _mm256_add_ps(x, y);
    }
    Store(a + i, r);
  }
  if (i < n) reduce_half_soft<ToF, FromF>(op, a + i, b + i, n - i);
}

template <__m256 (*Load)(const uint16_t*), void (*Store)(uint16_t*, __m256), float (*ToF)(uint16_t),
          uint16_t (*FromF)(float)>
LOCO_AVX2 void divide_half_avx2(void* buf, size_t n, uint32_t divisor) {
  uint16_t* p = static_cast<uint16_t*>(buf);
  const float d = static_cast<float>(divisor);
  const __m256 dv = _mm256_set1_ps(d);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) Store(p + i, _mm256_div_ps(Load(p + i), dv));
  for (; i < n; ++i) p[i] = FromF(ToF(p[i]) / d);
}

LOCO_AVX2 void half_to_float_f16c(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load_h8(in + i));
  for (; i < n; ++i) out[i] = half_to_float(in[i]);
}

LOCO_AVX2 void float_to_half_f16c(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) store_h8(out + i, _mm256_loadu_ps(in + i));
  for (; i < n; ++i) out[i] = float_to_half(in[i]);
}

bool detect_f16c() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
}

std::atomic<bool>& f16c_flag() {
  static std::atomic<bool> flag{detect_f16c()};
  return flag;
}

template <typename T>
void divide_typed(void* buf, size_t n, uint32_t divisor) {
  T* p = static_cast<T*>(buf);
  if constexpr (std::is_floating_point_v<T>) {
    const T d = static_cast<T>(divisor);
    for (size_t i = 0; i < n; ++i) p[i] = p[i] / d;
  } else if constexpr (std::is_signed_v<T>) {
    const int64_t d = static_cast<int64_t>(divisor);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<T>(static_cast<int64_t>(p[i]) / d);
  } else {
    const uint64_t d = divisor;
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<T>(static_cast<uint64_t>(p[i]) / d);
  }
}

template <float (*ToF)(uint16_t), uint16_t (*FromF)(float)>
void divide_half_soft(void* buf, size_t n, uint32_t divisor) {
  uint16_t* p = static_cast<uint16_t*>(buf);
  const float d = static_cast<float>(divisor);
  for (size_t i = 0; i < n; ++i) p[i] = FromF(ToF(p[i]) / d);
}

bool f16c_enabled_fast() { return f16c_flag().load(std::memory_order_relaxed); }

}  // namespace

bool f16c_enabled() { return f16c_flag().load(std::memory_order_relaxed); }

void use_portable_kernels_for_testing(bool portable) {
  f16c_flag().store(portable ? false : detect_f16c(), std::memory_order_relaxed);
}

void reduce_into(DataType t, ReduceOp op, void* acc, const void* in, size_t n) {
  if (n == 0) return;
  switch (t) {
    case DataType::kF32:
      return reduce_typed<float>(op, acc, in, n);
    case DataType::kF64:
      return reduce_typed<double>(op, acc, in, n);
    case DataType::kI8:
      return reduce_typed<int8_t>(op, acc, in, n);
    case DataType::kU8:
      return reduce_typed<uint8_t>(op, acc, in, n);
    case DataType::kI32:
      return reduce_typed<int32_t>(op, acc, in, n);
    case DataType::kU32:
      return reduce_typed<uint32_t>(op, acc, in, n);
    case DataType::kI64:
      return reduce_typed<int64_t>(op, acc, in, n);
    case DataType::kU64:
      return reduce_typed<uint64_t>(op, acc, in, n);
    case DataType::kF16:
      if (f16c_enabled()) {
        return reduce_half_avx2<load_h8, store_h8, half_to_float, float_to_half>(op, acc, in, n);
      }
      return reduce_half_soft<half_to_float, float_to_half>(op, acc, in, n);
    case DataType::kBF16:
      if (f16c_enabled()) {
        return reduce_half_avx2<load_b8, store_b8, bf16_to_float, float_to_bf16>(op, acc, in, n);
      }
      return reduce_half_soft<bf16_to_float, float_to_bf16>(op, acc, in, n);
  }
  LOCO_CHECK(false && "invalid DataType");
}

void divide_into(DataType t, void* buf, size_t n, uint32_t divisor) {
  LOCO_CHECK(divisor != 0);
  if (n == 0 || divisor == 1) return;
  switch (t) {
    case DataType::kF32:
      return divide_typed<float>(buf, n, divisor);
    case DataType::kF64:
      return divide_typed<double>(buf, n, divisor);
    case DataType::kI8:
      return divide_typed<int8_t>(buf, n, divisor);
    case DataType::kU8:
      return divide_typed<uint8_t>(buf, n, divisor);
    case DataType::kI32:
      return divide_typed<int32_t>(buf, n, divisor);
    case DataType::kU32:
      return divide_typed<uint32_t>(buf, n, divisor);
    case DataType::kI64:
      return divide_typed<int64_t>(buf, n, divisor);
    case DataType::kU64:
      return divide_typed<uint64_t>(buf, n, divisor);
    case DataType::kF16:
      if (f16c_enabled()) {
        return divide_half_avx2<load_h8, store_h8, half_to_float, float_to_half>(buf, n, divisor);
      }
      return divide_half_soft<half_to_float, float_to_half>(buf, n, divisor);
    case DataType::kBF16:
      if (f16c_enabled()) {
        return divide_half_avx2<load_b8, store_b8, bf16_to_float, float_to_bf16>(buf, n, divisor);
      }
      return divide_half_soft<bf16_to_float, float_to_bf16>(buf, n, divisor);
  }
  LOCO_CHECK(false && "invalid DataType");
}

void half_to_float_n(const uint16_t* in, float* out, size_t n) {
  if (f16c_enabled()) return half_to_float_f16c(in, out, n);
  for (size_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

void float_to_half_n(const float* in, uint16_t* out, size_t n) {
  if (f16c_enabled()) return float_to_half_f16c(in, out, n);
  for (size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}

}  // namespace loco::collectives
