// fashion_mnist.h: Fashion-MNIST from Debian's `dataset-fashion-mnist` (gzipped IDX files read
// with zlib). The 60,000 training images are the training split (each peer samples a disjoint
// shard, text_corpus.h's shard_range), the 10,000 test images the fixed validation split.
// Every malformed header, size or truncation is an INVALID_ARGUMENT naming the file.
// Not here: tensors or normalisation (batches.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace loco::train {

inline constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

struct ImageSet {
  size_t count = 0;
  size_t rows = 0;
  size_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
  std::vector<uint8_t> labels;  // count, each < 10
};

struct FashionMnist {
  ImageSet train;
  ImageSet test;
};

// Reads one gzipped (or plain) IDX image file and its label file and checks that they agree.
Result<ImageSet> load_idx_pair(const std::string& images_path, const std::string& labels_path);
// train-{images,labels}-idx?-ubyte.gz and t10k-... under `dir`.
Result<FashionMnist> load_fashion_mnist(const std::string& dir);

}  // namespace loco::train
