// fuzz_codec_spec.cc: names the codec a fuzz_codec_<codec> binary fuzzes (LOCO_FUZZ_CODEC, set per
// target in CMakeLists.txt), so fuzz_codec.cc itself compiles once for all of them.
extern const char* const kFuzzCodecSpec;
const char* const kFuzzCodecSpec = LOCO_FUZZ_CODEC;
