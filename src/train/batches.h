// batches.h: turns the data (text_corpus.h, fashion_mnist.h) into LibTorch batches for one peer:
// training batch `index` of this peer's shard (deterministic in seed, rank and index, so the data
// position of a checkpoint is just the batch index) and the fixed validation batches (the same on
// every peer). Data sources: "fortunes" (Debian fortunes, transformer), "fashion-mnist" (mlp/cnn),
// or a PATH: a text file (transformer), a directory of fortune files (transformer) or of
// Fashion-MNIST idx files (mlp/cnn). Not here: models or the training loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/models.h"

namespace loco::train {

struct DataConfig {
  std::string source;          // "" = the model's default (fortunes / fashion-mnist)
  int64_t batch_tokens = 1024;  // transformer: tokens per step (rows = batch_tokens / context)
  int64_t batch = 64;           // classifiers: samples per step
  int64_t eval_units = 16384;   // validation tokens (transformer) or samples (classifiers), at most
  uint64_t seed = 1;            // data order seed (the trainer passes --seed + rank)
};

class TrainData {
 public:
  virtual ~TrainData() = default;
  virtual Batch train_batch(int64_t index) = 0;
  virtual const std::vector<Batch>& validation() const = 0;
  // "fortunes (/usr/share/games/fortunes): 2.4 MB train, ..." for logs.
  virtual std::string describe() const = 0;
  // Training items in this peer's shard (bytes or samples).
  virtual size_t shard_size() const = 0;
};

// Loads and checks the data source (INVALID_ARGUMENT naming the file on any problem) without
// sharding: call before joining a swarm so bad data fails fast. Then shard() for a rank.
class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual Result<std::unique_ptr<TrainData>> shard(int rank, int world) const = 0;
};
Result<std::unique_ptr<DataSource>> load_data(const DataConfig& data, const ModelConfig& model);

}  // namespace loco::train
