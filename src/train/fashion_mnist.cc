// fashion_mnist.cc: gzipped IDX reading with zlib (see the header).
#include "train/fashion_mnist.h"

#include <zlib.h>

#include <filesystem>

namespace loco::train {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr size_t kMaxBytes = size_t{1} << 30;

// Whole file, decompressed by gzread (which also passes plain files through).
Result<std::vector<uint8_t>> read_gz(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return InvalidArgument("data file " + path +
                           ": not found (install the Debian package `dataset-fashion-mnist`)");
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return InvalidArgument("data file " + path + ": cannot be opened");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      return InvalidArgument("data file " + path + ": corrupt gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
    if (out.size() > kMaxBytes) {
      gzclose(f);
      return InvalidArgument("data file " + path + ": larger than 1 GiB decompressed");
    }
  }
  gzclose(f);
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         uint32_t{b[at + 3]};
}

}  // namespace

Result<ImageSet> load_idx_pair(const std::string& images_path, const std::string& labels_path) {
  LOCO_ASSIGN_OR_RETURN(auto img, read_gz(images_path));
  LOCO_ASSIGN_OR_RETURN(auto lab, read_gz(labels_path));
  if (img.size() < 16) {
    return InvalidArgument("data file " + images_path + ": too short for an IDX image header (" +
                           std::to_string(img.size()) + " bytes)");
  }
  if (be32(img, 0) != kImagesMagic) {
    return InvalidArgument("data file " + images_path + ": bad IDX magic (not an image file)");
  }
  if (lab.size() < 8) {
    return InvalidArgument("data file " + labels_path + ": too short for an IDX label header (" +
                           std::to_string(lab.size()) + " bytes)");
  }
  if (be32(lab, 0) != kLabelsMagic) {
    return InvalidArgument("data file " + labels_path + ": bad IDX magic (not a label file)");
  }
  ImageSet set;
  set.count = be32(img, 4);
  set.rows = be32(img, 8);
  set.cols = be32(img, 12);
  if (set.rows == 0 || set.cols == 0 || set.rows > 1024 || set.cols > 1024 || set.count == 0) {
    return InvalidArgument("data file " + images_path + ": implausible dimensions");
  }
  const size_t want = set.count * set.rows * set.cols;
  if (img.size() - 16 != want) {
    return InvalidArgument("data file " + images_path + ": holds " + std::to_string(img.size() - 16) +
                           " pixel bytes, header says " + std::to_string(want) + " (truncated?)");
  }
  if (be32(lab, 4) != set.count) {
    return InvalidArgument("data file " + labels_path + ": " + std::to_string(be32(lab, 4)) +
                           " labels for " + std::to_string(set.count) + " images in " + images_path);
  }
  if (lab.size() - 8 != set.count) {
    return InvalidArgument("data file " + labels_path + ": holds " + std::to_string(lab.size() - 8) +
                           " label bytes, header says " + std::to_string(set.count) +
                           " (truncated?)");
  }
  set.pixels.assign(img.begin() + 16, img.end());
  set.labels.assign(lab.begin() + 8, lab.end());
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] >= 10) {
      return InvalidArgument("data file " + labels_path + ": label " +
                             std::to_string(set.labels[i]) + " at index " + std::to_string(i) +
                             " is not a class 0..9");
    }
  }
  return set;
}

Result<FashionMnist> load_fashion_mnist(const std::string& dir) {
  const std::string d = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  FashionMnist out;
  LOCO_ASSIGN_OR_RETURN(out.train, load_idx_pair(d + "train-images-idx3-ubyte.gz",
                                                 d + "train-labels-idx1-ubyte.gz"));
  LOCO_ASSIGN_OR_RETURN(out.test, load_idx_pair(d + "t10k-images-idx3-ubyte.gz",
                                                d + "t10k-labels-idx1-ubyte.gz"));
  if (out.train.rows != out.test.rows || out.train.cols != out.test.cols) {
    return InvalidArgument("fashion-mnist in " + dir + ": train and test image sizes differ");
  }
  return out;
}

}  // namespace loco::train
