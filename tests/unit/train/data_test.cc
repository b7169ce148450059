// Data loaders: fortune splitting, fixed splits, disjoint shards, deterministic batches, and clear
// errors (naming the file) for missing or malformed text and Fashion-MNIST files; checkpoint files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "support/swarm_harness.h"
#include "train/checkpoint.h"
#include "train/fashion_mnist.h"
#include "train/text_corpus.h"

namespace loco::train {
namespace {

using loco::testing::TempDir;

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(f);
}

std::vector<uint8_t> be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

// An IDX image file of n r x c images and its label file.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> idx_files(uint32_t n, uint32_t r, uint32_t c) {
  std::vector<uint8_t> img, lab;
  for (uint32_t v : {0x803u, n, r, c}) {
    auto b = be32(v);
    img.insert(img.end(), b.begin(), b.end());
  }
  for (uint32_t i = 0; i < n * r * c; ++i) img.push_back(static_cast<uint8_t>(i));
  for (uint32_t v : {0x801u, n}) {
    auto b = be32(v);
    lab.insert(lab.end(), b.begin(), b.end());
  }
  for (uint32_t i = 0; i < n; ++i) lab.push_back(static_cast<uint8_t>(i % 10));
  return {img, lab};
}

TEST(TextCorpus, SplitsFortunesAtPercentLines) {
  auto f = split_fortunes("one\nline\n%\ntwo\n%\n%\nthree");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "one\nline\n");
  EXPECT_EQ(f[1], "two\n");
  EXPECT_EQ(f[2], "three\n");
}

TEST(TextCorpus, FortuneSplitIsFixedAndSkipsIndexFiles) {
  TempDir dir;
  std::string a, b;
  for (int i = 0; i < 60; ++i) a += "fortune a" + std::to_string(i) + "\n%\n";
  for (int i = 0; i < 40; ++i) b += "fortune b" + std::to_string(i) + "\n%\n";
  write_file(dir.file("alpha"), a);
  write_file(dir.file("beta"), b);
  write_file(dir.file("alpha.dat"), std::string("\0\0\0\2garbage", 11));
  write_file(dir.file("beta.u8"), "NOT A FORTUNE SHOULD BE SKIPPED\n%\n");
  auto c1 = load_fortunes(dir.path().string());
  ASSERT_TRUE(c1.ok()) << c1.status().to_string();
  auto c2 = load_fortunes(dir.path().string());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c1->documents, 100u);
  EXPECT_EQ(c1->train, c2->train);            // fixed split
  EXPECT_EQ(c1->validation, c2->validation);
  const std::string train(c1->train.begin(), c1->train.end());
  const std::string val(c1->validation.begin(), c1->validation.end());
  EXPECT_EQ(train.size() + val.size(), a.size() + b.size() - 100 * 2);  // the "%\n" lines go
  EXPECT_EQ(train.find("NOT A FORTUNE"), std::string::npos);
  EXPECT_EQ(val.find("garbage"), std::string::npos);
  // 5 of 100 fortunes validate, and no fortune is in both splits.
  int in_val = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string s = "fortune a" + std::to_string(i) + "\n";
    const bool v = val.find(s) != std::string::npos, t = train.find(s) != std::string::npos;
    EXPECT_NE(v, t) << s;
    in_val += v;
  }
  for (int i = 0; i < 40; ++i) in_val += val.find("fortune b" + std::to_string(i) + "\n") != std::string::npos;
  EXPECT_EQ(in_val, 5);
  // Shuffled by fortune: the training text does not start with alpha's first fortunes in order.
  EXPECT_NE(train.rfind("fortune a0\nfortune a1\nfortune a2\n", 0), 0u);
}

TEST(TextCorpus, RealFortunesPackage) {
  if (!std::filesystem::exists(kDefaultFortunesDir)) GTEST_SKIP() << "fortunes not installed";
  auto c = load_fortunes(kDefaultFortunesDir);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_GT(c->documents, 5000u);
  const double total = static_cast<double>(c->train.size() + c->validation.size());
  EXPECT_GT(total, 1.5e6);
  EXPECT_NEAR(static_cast<double>(c->validation.size()) / total, 0.05, 0.01);
}

TEST(TextCorpus, ClearErrorsNameTheFile) {
  TempDir dir;
  auto missing = load_fortunes(dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find(dir.file("nope")), std::string::npos);
  auto no_file = load_text_file(dir.file("absent.txt"));
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.status().message().find("absent.txt"), std::string::npos);
  write_file(dir.file("tiny.txt"), "too short");
  auto tiny = load_text_file(dir.file("tiny.txt"));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("tiny.txt"), std::string::npos);
  write_file(dir.file("bin.txt"), std::string(5000, '\0'));
  auto bin = load_text_file(dir.file("bin.txt"));
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find("NUL"), std::string::npos);
  TempDir empty;
  write_file(empty.file("x.dat"), "index only");
  auto none = load_fortunes(empty.path().string());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no fortune files"), std::string::npos);
}

TEST(TextCorpus, UserFileSplitsLastFivePercent) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
  write_file(dir.file("t.txt"), text);
  auto c = load_text_file(dir.file("t.txt"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->train.size(), text.size() * 95 / 100);
  EXPECT_EQ(std::string(c->validation.begin(), c->validation.end()), text.substr(c->train.size()));
}

TEST(Shards, DisjointAndCovering) {
  for (size_t n : {0u, 1u, 7u, 1000u, 60000u}) {
    for (int world = 1; world <= 5; ++world) {
      size_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        Range r = shard_range(n, rank, world);
        EXPECT_EQ(r.begin, next);
        EXPECT_LE(r.begin, r.end);
        next = r.end;
      }
      EXPECT_EQ(next, n);
    }
  }
}

TEST(Shards, SamplerStaysInItsShardAndIsDeterministic) {
  std::vector<uint8_t> bytes(10000, 'x');
  const int world = 3, context = 16;
  for (int rank = 0; rank < world; ++rank) {
    const Range r = shard_range(bytes.size(), rank, world);
    auto s = TextSampler::make(&bytes, r, context, 7 + static_cast<uint64_t>(rank));
    ASSERT_TRUE(s.ok());
    std::set<size_t> distinct;
    for (int64_t b = 0; b < 50; ++b) {
      auto starts = s->window_starts(b, 8);
      EXPECT_EQ(starts, s->window_starts(b, 8));  // same index, same batch
      for (size_t st : starts) {
        EXPECT_GE(st, r.begin);
        EXPECT_LE(st + context + 1, r.end);  // the whole window (x and shifted y) is in the shard
        distinct.insert(st);
      }
    }
    EXPECT_GT(distinct.size(), 300u);
  }
  auto too_small = TextSampler::make(&bytes, Range{0, 20}, context, 1);
  EXPECT_FALSE(too_small.ok());
}

TEST(FashionMnist, ReadsIdxAndRejectsMalformedFiles) {
  TempDir dir;
  auto [img, lab] = idx_files(20, 28, 28);
  write_gz(dir.file("i.gz"), img);
  write_gz(dir.file("l.gz"), lab);
  auto ok = load_idx_pair(dir.file("i.gz"), dir.file("l.gz"));
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->count, 20u);
  EXPECT_EQ(ok->pixels.size(), 20u * 784);
  EXPECT_EQ(ok->labels[13], 3);

  auto expect_error = [&](const std::string& images, const std::string& labels, const std::string& names,
                          const std::string& what) {
    auto r = load_idx_pair(images, labels);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(names), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  expect_error(dir.file("missing.gz"), dir.file("l.gz"), "missing.gz", "not found");
  auto bad_magic = img;
  bad_magic[3] = 0x01;
  write_gz(dir.file("magic.gz"), bad_magic);
  expect_error(dir.file("magic.gz"), dir.file("l.gz"), "magic.gz", "magic");
  auto truncated = img;
  truncated.resize(truncated.size() - 100);
  write_gz(dir.file("trunc.gz"), truncated);
  expect_error(dir.file("trunc.gz"), dir.file("l.gz"), "trunc.gz", "truncated");
  auto [img2, lab2] = idx_files(19, 28, 28);
  write_gz(dir.file("l19.gz"), lab2);
  expect_error(dir.file("i.gz"), dir.file("l19.gz"), "l19.gz", "labels for 20 images");
  auto bad_label = lab;
  bad_label[8 + 5] = 12;
  write_gz(dir.file("badlab.gz"), bad_label);
  expect_error(dir.file("i.gz"), dir.file("badlab.gz"), "badlab.gz", "not a class");
  write_file(dir.file("garbage.gz"), std::string("\x1f\x8b\x08\x00garbage that is not deflate", 31));
  expect_error(dir.file("garbage.gz"), dir.file("l.gz"), "garbage.gz", "");
  write_gz(dir.file("short.gz"), {0, 0, 8});
  expect_error(dir.file("short.gz"), dir.file("l.gz"), "short.gz", "too short");
}

TEST(FashionMnist, RealPackage) {
  if (!std::filesystem::exists(kDefaultFashionMnistDir)) GTEST_SKIP() << "dataset not installed";
  auto fm = load_fashion_mnist(kDefaultFashionMnistDir);
  ASSERT_TRUE(fm.ok()) << fm.status().to_string();
  EXPECT_EQ(fm->train.count, 60000u);
  EXPECT_EQ(fm->test.count, 10000u);
  EXPECT_EQ(fm->train.rows, 28u);
  std::vector<int> per_class(10);
  for (uint8_t l : fm->test.labels) per_class[l]++;
  for (int c : per_class) EXPECT_EQ(c, 1000);  // Fashion-MNIST's test set is balanced
}

TEST(CheckpointFile, RoundTripAndCorruption) {
  TempDir dir;
  Checkpoint c;
  c.scalars["step"] = 42;
  c.scalars["neg"] = -7;
  c.buffers["params"] = {1.0f, -2.5f, 3.25f};
  c.buffers["empty"] = {};
  const std::string path = dir.file("sub/ck.bin");
  ASSERT_TRUE(write_checkpoint(path, c).ok());
  auto back = read_checkpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->scalars, c.scalars);
  EXPECT_EQ(back->buffers, c.buffers);
  // Flip one byte: the checksum catches it, and the message names the file.
  std::string bytes = loco::testing::slurp(path);
  bytes[20] = static_cast<char>(bytes[20] ^ 0x40);
  write_file(path, bytes);
  auto corrupt = read_checkpoint(path);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find(path), std::string::npos);
  write_file(path, bytes.substr(0, 10));
  EXPECT_FALSE(read_checkpoint(path).ok());
  EXPECT_FALSE(read_checkpoint(dir.file("none")).ok());
}

}  // namespace
}  // namespace loco::train
