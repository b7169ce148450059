// registry.cc: make_codec() parses a codec spec ("int8:block=128", "topk:fraction=0.05,exact=1")
// into a codec; decode_any() decodes a buffer with the codec its header names. The spec grammar is
// in codecs.h. Not a plugin system: the list of codecs is fixed here.
#include <charconv>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "codecs/codecs.h"
#include "codecs/random_k.h"

namespace loco::codecs {
namespace {

struct Spec {
  std::string_view name;
  std::string_view options;  // "k=v,k=v"
  bool has_options = false;  // there was a colon
};

Spec split(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return {spec, {}, false};
  return {spec.substr(0, colon), spec.substr(colon + 1), true};
}

Status bad_value(std::string_view key, std::string_view value) {
  return InvalidArgument(fmt::format("codec option {}: bad value '{}'", key, value));
}

template <typename T>
Status parse_number(std::string_view key, std::string_view v, T* out) {
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, *out);
  if (ec != std::errc() || ptr != end) return bad_value(key, v);
  return OkStatus();
}

// Calls on_option(key, value) for each "key=value" of `options`.
// Empty items ("a=1,", "a=1,,b=2") are errors; so is an empty list after a colon (split() gives
// has_options for that).
template <typename F>
Status for_each_option(std::string_view options, F on_option) {
  if (options.empty()) return OkStatus();
  while (true) {
    const size_t comma = options.find(',');
    const std::string_view item = options.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return InvalidArgument(fmt::format("codec option '{}' is not key=value", item));
    }
    LOCO_RETURN_IF_ERROR(on_option(item.substr(0, eq), item.substr(eq + 1)));
    if (comma == std::string_view::npos) return OkStatus();
    options = options.substr(comma + 1);
  }
}

Status unknown_option(std::string_view codec, std::string_view key) {
  return InvalidArgument(fmt::format("codec {} has no option '{}'", codec, key));
}

Result<std::unique_ptr<Codec>> make_block_codec(std::string_view name, std::string_view options,
                                                uint32_t block) {
  LOCO_RETURN_IF_ERROR(for_each_option(options, [&](std::string_view k, std::string_view v) {
    if (k == "block") return parse_number(k, v, &block);
    return unknown_option(name, k);
  }));
  if (name == "int8") return make_int8_codec(block);
  if (name == "int4") return make_int4_codec(block);
  return make_sign_codec(block);
}

Result<std::unique_ptr<Codec>> make_sparse_codec(std::string_view name, std::string_view options) {
  double fraction = kDefaultSparseFraction;
  bool exact = false;
  uint64_t seed = 0;
  LOCO_RETURN_IF_ERROR(for_each_option(options, [&](std::string_view k, std::string_view v) {
    if (k == "fraction") return parse_number(k, v, &fraction);
    if (k == "exact" && name == "topk") {
      if (v != "0" && v != "1") return bad_value(k, v);
      exact = v == "1";
      return OkStatus();
    }
    if (k == "seed" && name == "randomk") return parse_number(k, v, &seed);
    return unknown_option(name, k);
  }));
  if (name == "topk") return make_top_k_codec({fraction, exact});
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<RandomKCodec> c, RandomKCodec::make({fraction, seed}));
  return std::unique_ptr<Codec>(std::move(c));
}

}  // namespace

Result<std::unique_ptr<Codec>> make_codec(std::string_view spec) {
  const Spec s = split(spec);
  if (s.has_options && s.options.empty()) {
    return InvalidArgument(fmt::format("codec spec '{}' ends with ':'", spec));
  }
  if (s.name == "fp32" || s.name == "fp16" || s.name == "bf16") {
    if (s.has_options) return InvalidArgument(fmt::format("codec {} has no options", s.name));
    if (s.name == "fp32") return make_identity_codec();
    return s.name == "fp16" ? make_fp16_codec() : make_bf16_codec();
  }
  if (s.name == "int8") return make_block_codec(s.name, s.options, kDefaultInt8Block);
  if (s.name == "int4") return make_block_codec(s.name, s.options, kDefaultInt4Block);
  if (s.name == "sign") return make_block_codec(s.name, s.options, kDefaultSignBlock);
  if (s.name == "topk" || s.name == "randomk") return make_sparse_codec(s.name, s.options);
  return InvalidArgument(fmt::format(
      "unknown codec '{}' (fp32, fp16, bf16, int8, int4, sign, topk, randomk)", s.name));
}

Status decode_any(ByteSpan in, std::span<float> out) {
  LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header(in));
  // Decoders take their parameters from the bytes, so a default-made codec decodes any buffer.
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, make_codec(codec_id_name(h.id)));
  return codec->decode(in, out);
}

}  // namespace loco::codecs
