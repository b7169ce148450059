// text_corpus.cc: reading and splitting text for the byte-level language model (see the header).
#include "train/text_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/rng.h"

namespace loco::train {

namespace {

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return InvalidArgument("data file " + path + ": not found or not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("data file " + path + ": cannot be opened");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument("data file " + path + ": read error");
  return ss.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> split_fortunes(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string::npos ? text.size() : nl;
    std::string_view line(text.data() + pos, end - pos);
    if (line == "%" || line == "%\r") {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current.append(line);
      current.push_back('\n');
    }
    pos = end + 1;
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

Result<TextCorpus> load_fortunes(const std::string& dir, uint64_t split_seed) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument("fortunes directory " + dir +
                           ": not found (install the Debian package `fortunes`)");
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (ends_with(name, ".dat") || ends_with(name, ".u8")) continue;
    if (!entry.is_regular_file(ec)) continue;
    files.push_back(entry.path().string());
  }
  if (ec) return InvalidArgument("fortunes directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return InvalidArgument("fortunes directory " + dir + ": no fortune files");
  std::vector<std::string> fortunes;
  for (const auto& f : files) {
    LOCO_ASSIGN_OR_RETURN(std::string text, read_file(f));
    auto parts = split_fortunes(text);
    if (parts.empty()) return InvalidArgument("fortune file " + f + ": holds no fortune");
    for (auto& p : parts) fortunes.push_back(std::move(p));
  }
  if (fortunes.size() < 20) {
    return InvalidArgument("fortunes directory " + dir + ": only " +
                           std::to_string(fortunes.size()) + " fortunes (need at least 20)");
  }
  // Fisher-Yates with a fixed seed: the same order on every peer and every run.
  SplitMix64 rng(split_seed);
  for (size_t i = fortunes.size() - 1; i > 0; --i) {
    const size_t j = static_cast<size_t>(rng.next() % (i + 1));
    std::swap(fortunes[i], fortunes[j]);
  }
  const size_t n_train = fortunes.size() * 95 / 100;
  TextCorpus corpus;
  corpus.source = dir;
  corpus.documents = fortunes.size();
  for (size_t i = 0; i < fortunes.size(); ++i) {
    auto& dst = i < n_train ? corpus.train : corpus.validation;
    dst.insert(dst.end(), fortunes[i].begin(), fortunes[i].end());
  }
  return corpus;
}

Result<TextCorpus> load_text_file(const std::string& path) {
  LOCO_ASSIGN_OR_RETURN(std::string text, read_file(path));
  if (text.size() < 4096) {
    return InvalidArgument("data file " + path + ": only " + std::to_string(text.size()) +
                           " bytes of text (need at least 4096)");
  }
  if (text.find('\0') != std::string::npos) {
    return InvalidArgument("data file " + path + ": contains NUL bytes (not a text file?)");
  }
  const size_t n_train = text.size() * 95 / 100;
  TextCorpus corpus;
  corpus.source = path;
  corpus.documents = 1;
  corpus.train.assign(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n_train));
  corpus.validation.assign(text.begin() + static_cast<std::ptrdiff_t>(n_train), text.end());
  return corpus;
}

Range shard_range(size_t n, int rank, int world) {
  const auto w = static_cast<size_t>(world < 1 ? 1 : world);
  const auto r = static_cast<size_t>(rank < 0 ? 0 : rank) % w;
  return Range{n * r / w, n * (r + 1) / w};
}

uint64_t batch_random(uint64_t seed, int64_t index, uint64_t i) {
  SplitMix64 a(seed * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull);
  SplitMix64 b(a.next() ^ i * 0xA24BAED4963EE407ull);
  return b.next();
}

Result<TextSampler> TextSampler::make(const std::vector<uint8_t>* bytes, Range shard, int context,
                                      uint64_t seed) {
  if (context < 1) return InvalidArgument("context must be at least 1");
  if (shard.end > bytes->size() || shard.size() < 2 * (static_cast<size_t>(context) + 1)) {
    return InvalidArgument("training shard of " + std::to_string(shard.size()) +
                           " bytes is too small for context " + std::to_string(context));
  }
  TextSampler s;
  s.bytes_ = bytes;
  s.shard_ = shard;
  s.context_ = context;
  s.seed_ = seed;
  return s;
}

std::vector<size_t> TextSampler::window_starts(int64_t index, int rows) const {
  const size_t span = shard_.size() - static_cast<size_t>(context_);  // starts leaving context+1
  std::vector<size_t> out(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    out[static_cast<size_t>(r)] =
        shard_.begin + static_cast<size_t>(batch_random(seed_, index, static_cast<uint64_t>(r)) % span);
  }
  return out;
}

}  // namespace loco::train
