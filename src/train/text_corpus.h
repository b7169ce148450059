// text_corpus.h: byte-level text for the language model: the Debian `fortunes` files (split into
// fortunes at the '%' lines, shuffled by fortune with a fixed seed, 95/5 train/validation split)
// or any user text file (its last 5% is the validation split). Splits are fixed: they depend only
// on the files and the split seed, never on the peer. Also the sampler that gives each peer a
// disjoint shard of the training bytes. Not here: tensors (batches.h turns windows into tensors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace loco::train {

struct TextCorpus {
  std::vector<uint8_t> train;
  std::vector<uint8_t> validation;
  std::string source;  // what was read, for messages
  size_t documents = 0;
};

inline constexpr char kDefaultFortunesDir[] = "/usr/share/games/fortunes";
inline constexpr uint64_t kSplitSeed = 20240601;  // fixed: the splits never change with --seed

// Every regular file of `dir` except *.dat and *.u8, in name order. NOT_FOUND-like errors are
// INVALID_ARGUMENT naming the directory or file; a file with no fortune is an error too.
Result<TextCorpus> load_fortunes(const std::string& dir, uint64_t split_seed = kSplitSeed);
// A user text file: the first 95% trains, the last 5% validates.
Result<TextCorpus> load_text_file(const std::string& path);

// Splits fortune-file text into fortunes at lines that are exactly "%" (empty ones dropped).
std::vector<std::string> split_fortunes(const std::string& text);

// The half-open range [begin, end) of `n` items that peer `rank` of `world` owns: contiguous,
// disjoint, covering all of [0, n).
struct Range {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
};
Range shard_range(size_t n, int rank, int world);

// A deterministic stream of random numbers for batch `index` of a peer: the same (seed, index)
// always gives the same numbers, so a resumed run draws the same batches (the data position is just
// the batch index).
uint64_t batch_random(uint64_t seed, int64_t index, uint64_t i);

// Windows of `context + 1` bytes from one shard of the training bytes.
class TextSampler {
 public:
  // INVALID_ARGUMENT when the shard is shorter than two windows.
  static Result<TextSampler> make(const std::vector<uint8_t>* bytes, Range shard, int context,
                                  uint64_t seed);
  // Start offsets (into the whole training array) of batch `index`'s `rows` windows.
  std::vector<size_t> window_starts(int64_t index, int rows) const;
  const std::vector<uint8_t>& bytes() const { return *bytes_; }
  Range shard() const { return shard_; }

 private:
  const std::vector<uint8_t>* bytes_ = nullptr;
  Range shard_;
  int context_ = 0;
  uint64_t seed_ = 0;
};

}  // namespace loco::train
