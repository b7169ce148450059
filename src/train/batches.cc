// batches.cc: text and image batches for one peer (see batches.h).
#include "train/batches.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "train/fashion_mnist.h"
#include "train/text_corpus.h"

namespace loco::train {

namespace {

constexpr int64_t kEvalRows = 64;

// Byte windows -> x [rows, T] and y [rows, T] (y is x shifted by one).
Batch text_batch(const std::vector<uint8_t>& bytes, const std::vector<size_t>& starts, int64_t T) {
  const auto rows = static_cast<int64_t>(starts.size());
  auto x = torch::empty({rows, T}, torch::kInt64);
  auto y = torch::empty({rows, T}, torch::kInt64);
  auto* xp = x.data_ptr<int64_t>();
  auto* yp = y.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const size_t s = starts[static_cast<size_t>(r)];
    for (int64_t t = 0; t < T; ++t) {
      xp[r * T + t] = bytes[s + static_cast<size_t>(t)];
      yp[r * T + t] = bytes[s + static_cast<size_t>(t) + 1];
    }
  }
  return Batch{x, y, rows * T};
}

class TextData final : public TrainData {
 public:
  TextData(std::shared_ptr<const TextCorpus> corpus, TextSampler sampler, int64_t rows,
           int64_t context, int64_t eval_units)
      : corpus_(std::move(corpus)), sampler_(std::move(sampler)), rows_(rows), context_(context) {
    // Fixed validation: consecutive non-overlapping windows from the start of the split.
    const auto& val = corpus_->validation;
    const int64_t windows = std::min<int64_t>(eval_units / context,
                                              static_cast<int64_t>((val.size() - 1) / static_cast<size_t>(context)));
    std::vector<size_t> starts;
    for (int64_t w = 0; w < windows; ++w) {
      starts.push_back(static_cast<size_t>(w * context));
      if (static_cast<int64_t>(starts.size()) == kEvalRows || w + 1 == windows) {
        validation_.push_back(text_batch(val, starts, context));
        starts.clear();
      }
    }
  }
  Batch train_batch(int64_t index) override {
    return text_batch(corpus_->train, sampler_.window_starts(index, static_cast<int>(rows_)), context_);
  }
  const std::vector<Batch>& validation() const override { return validation_; }
  std::string describe() const override {
    return corpus_->source + ": " + std::to_string(corpus_->train.size()) + " training bytes (shard " +
           std::to_string(sampler_.shard().size()) + "), " +
           std::to_string(corpus_->validation.size()) + " validation bytes";
  }
  size_t shard_size() const override { return sampler_.shard().size(); }

 private:
  std::shared_ptr<const TextCorpus> corpus_;
  TextSampler sampler_;
  int64_t rows_;
  int64_t context_;
  std::vector<Batch> validation_;
};

class TextSource final : public DataSource {
 public:
  TextSource(std::shared_ptr<const TextCorpus> c, int64_t rows, int64_t context, int64_t eval_units,
             uint64_t seed)
      : corpus_(std::move(c)), rows_(rows), context_(context), eval_units_(eval_units), seed_(seed) {}
  Result<std::unique_ptr<TrainData>> shard(int rank, int world) const override {
    const Range range = shard_range(corpus_->train.size(), rank, world);
    auto sampler = TextSampler::make(&corpus_->train, range, static_cast<int>(context_),
                                     seed_ + static_cast<uint64_t>(rank));
    if (!sampler.ok()) return sampler.status().with_context(corpus_->source);
    return std::unique_ptr<TrainData>(
        new TextData(corpus_, std::move(sampler).value(), rows_, context_, eval_units_));
  }

 private:
  std::shared_ptr<const TextCorpus> corpus_;
  int64_t rows_, context_, eval_units_;
  uint64_t seed_;
};

// [count, 1, rows, cols] floats in [0, 1] from the images at `indices`.
Batch image_batch(const ImageSet& set, const std::vector<size_t>& indices) {
  const auto n = static_cast<int64_t>(indices.size());
  const auto r = static_cast<int64_t>(set.rows), c = static_cast<int64_t>(set.cols);
  const size_t pix = set.rows * set.cols;
  auto x = torch::empty({n, 1, r, c}, torch::kFloat32);
  auto y = torch::empty({n}, torch::kInt64);
  auto* xp = x.data_ptr<float>();
  auto* yp = y.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const size_t idx = indices[static_cast<size_t>(i)];
    const uint8_t* src = set.pixels.data() + idx * pix;
    for (size_t k = 0; k < pix; ++k) xp[static_cast<size_t>(i) * pix + k] = static_cast<float>(src[k]) / 255.0f;
    yp[i] = set.labels[idx];
  }
  return Batch{x, y, n};
}

class ImageData final : public TrainData {
 public:
  ImageData(std::shared_ptr<const FashionMnist> d, Range shard, int64_t batch, int64_t eval_units,
            uint64_t seed, std::string source)
      : data_(std::move(d)), shard_(shard), batch_(batch), seed_(seed), source_(std::move(source)) {
    const size_t n = std::min<size_t>(static_cast<size_t>(eval_units), data_->test.count);
    std::vector<size_t> idx;
    for (size_t i = 0; i < n; ++i) {
      idx.push_back(i);
      if (idx.size() == 256 || i + 1 == n) {
        validation_.push_back(image_batch(data_->test, idx));
        idx.clear();
      }
    }
  }
  Batch train_batch(int64_t index) override {
    std::vector<size_t> idx(static_cast<size_t>(batch_));
    for (size_t i = 0; i < idx.size(); ++i) {
      idx[i] = shard_.begin + static_cast<size_t>(batch_random(seed_, index, i) % shard_.size());
    }
    return image_batch(data_->train, idx);
  }
  const std::vector<Batch>& validation() const override { return validation_; }
  std::string describe() const override {
    return source_ + ": " + std::to_string(data_->train.count) + " training images (shard " +
           std::to_string(shard_.size()) + "), " + std::to_string(data_->test.count) +
           " validation images";
  }
  size_t shard_size() const override { return shard_.size(); }

 private:
  std::shared_ptr<const FashionMnist> data_;
  Range shard_;
  int64_t batch_;
  uint64_t seed_;
  std::string source_;
  std::vector<Batch> validation_;
};

class ImageSource final : public DataSource {
 public:
  ImageSource(std::shared_ptr<const FashionMnist> d, int64_t batch, int64_t eval_units, uint64_t seed,
              std::string source)
      : data_(std::move(d)), batch_(batch), eval_units_(eval_units), seed_(seed), source_(std::move(source)) {}
  Result<std::unique_ptr<TrainData>> shard(int rank, int world) const override {
    const Range range = shard_range(data_->train.count, rank, world);
    if (range.size() == 0) return InvalidArgument(source_ + ": empty training shard");
    return std::unique_ptr<TrainData>(new ImageData(data_, range, batch_, eval_units_,
                                                    seed_ + static_cast<uint64_t>(rank), source_));
  }

 private:
  std::shared_ptr<const FashionMnist> data_;
  int64_t batch_, eval_units_;
  uint64_t seed_;
  std::string source_;
};

}  // namespace

Result<std::unique_ptr<DataSource>> load_data(const DataConfig& data, const ModelConfig& model) {
  if (data.eval_units < 1) return InvalidArgument("--eval-tokens must be at least 1");
  const bool lm = model.kind == "transformer";
  std::string source = data.source;
  if (source.empty()) source = lm ? "fortunes" : "fashion-mnist";
  std::error_code ec;
  if (lm) {
    if (source == "fashion-mnist") {
      return InvalidArgument("--data fashion-mnist is for --model mlp or cnn, not transformer");
    }
    if (data.batch_tokens < model.context) {
      return InvalidArgument("--batch-tokens " + std::to_string(data.batch_tokens) +
                             " is smaller than one context of " + std::to_string(model.context));
    }
    Result<TextCorpus> corpus = source == "fortunes"                         ? load_fortunes(kDefaultFortunesDir)
                                : std::filesystem::is_directory(source, ec) ? load_fortunes(source)
                                                                            : load_text_file(source);
    if (!corpus.ok()) return corpus.status();
    if (corpus->validation.size() < static_cast<size_t>(model.context) + 1) {
      return InvalidArgument(corpus->source + ": validation split of " +
                             std::to_string(corpus->validation.size()) +
                             " bytes is shorter than one context");
    }
    auto shared = std::make_shared<const TextCorpus>(std::move(corpus).value());
    return std::unique_ptr<DataSource>(new TextSource(shared, data.batch_tokens / model.context,
                                                      model.context, data.eval_units, data.seed));
  }
  if (source == "fortunes") {
    return InvalidArgument("--data fortunes is for --model transformer, not " + model.kind);
  }
  if (data.batch < 1) return InvalidArgument("--batch must be at least 1");
  const std::string dir = source == "fashion-mnist" ? kDefaultFashionMnistDir : source;
  auto fm = load_fashion_mnist(dir);
  if (!fm.ok()) return fm.status();
  if (fm->train.rows != 28 || fm->train.cols != 28) {
    return InvalidArgument("images in " + dir + " are " + std::to_string(fm->train.rows) + "x" +
                           std::to_string(fm->train.cols) + ", the classifiers need 28x28");
  }
  auto shared = std::make_shared<const FashionMnist>(std::move(fm).value());
  return std::unique_ptr<DataSource>(new ImageSource(shared, data.batch, data.eval_units, data.seed, dir));
}

}  // namespace loco::train
