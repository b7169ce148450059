// bytes.h: little-endian serialization helpers over byte spans. ByteWriter appends to a vector;
// ByteReader reads from an untrusted span and never reads past its end: every read reports failure
// instead (the reader becomes "failed" and stays so). Used by wire/ message codecs.
// Not a general serialization framework: fixed-width integers, length-prefixed bytes and strings only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace loco {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;
using MutableByteSpan = std::span<std::byte>;

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

template <typename T>
inline void store_le(std::byte* out, T v) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<std::byte>((u >> (8 * i)) & 0xFF);
}

template <typename T>
inline T load_le(const std::byte* in) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) u = static_cast<U>(u | (static_cast<U>(in[i]) << (8 * i)));
  return static_cast<T>(u);
}

class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}

  template <typename T>
  void put(T v) {
    size_t at = out_.size();
    out_.resize(at + sizeof(T));
    store_le<T>(out_.data() + at, v);
  }
  void put_bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // u32 length, then the bytes.
  void put_blob(ByteSpan b) {
    put<uint32_t>(static_cast<uint32_t>(b.size()));
    put_bytes(b);
  }
  void put_string(std::string_view s) { put_blob(as_bytes(s)); }

 private:
  Bytes& out_;
};

class ByteReader {
 public:
  explicit ByteReader(ByteSpan in) : in_(in) {}

  template <typename T>
  bool get(T& v) {
    if (!take(sizeof(T))) return false;
    v = load_le<T>(in_.data() + pos_ - sizeof(T));
    return true;
  }
  // Copies exactly out.size() bytes.
  bool get_bytes(std::span<std::byte> out) {
    if (!take(out.size())) return false;
    if (!out.empty()) std::memcpy(out.data(), in_.data() + pos_ - out.size(), out.size());
    return true;
  }
  // A u32-length-prefixed blob of at most max_len bytes; a view into the input.
  bool get_blob(ByteSpan& out, size_t max_len) {
    uint32_t n = 0;
    if (!get(n)) return false;
    if (n > max_len || !take(n)) return fail();
    out = in_.subspan(pos_ - n, n);
    return true;
  }
  bool get_string(std::string& out, size_t max_len) {
    ByteSpan b;
    if (!get_blob(b, max_len)) return false;
    out.assign(as_string_view(b));
    return true;
  }

  size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  bool failed() const { return failed_; }
  // True when every byte was consumed and no read failed: decoders require this.
  bool done() const { return !failed_ && pos_ == in_.size(); }

 private:
  bool take(size_t n) {
    if (failed_ || in_.size() - pos_ < n) return fail();
    pos_ += n;
    return true;
  }
  bool fail() {
    failed_ = true;
    return false;
  }
  ByteSpan in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace loco
