// checkpoint.cc: reading and writing the checkpoint file (format in the header).
#include "train/checkpoint.h"

#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace loco::train {

namespace {

constexpr char kMagic[8] = {'L', 'O', 'C', 'O', 'C', 'K', 'P', '1'};
constexpr uint32_t kVersion = 1;

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_name(std::string& out, const std::string& name) {
  put<uint16_t>(out, static_cast<uint16_t>(name.size()));
  out.append(name);
}

class Reader {
 public:
  Reader(const std::string& data, size_t end) : data_(data), end_(end) {}
  template <typename T>
  bool get(T& v) {
    if (end_ - pos_ < sizeof(T)) return false;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_name(std::string& name) {
    uint16_t len = 0;
    if (!get(len) || end_ - pos_ < len) return false;
    name.assign(data_.data() + pos_, len);
    pos_ += len;
    return true;
  }
  bool get_floats(std::vector<float>& v, uint64_t count) {
    if (count > (end_ - pos_) / sizeof(float)) return false;
    v.resize(count);
    std::memcpy(v.data(), data_.data() + pos_, count * sizeof(float));
    pos_ += count * sizeof(float);
    return true;
  }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }

 private:
  const std::string& data_;
  size_t end_;
  size_t pos_ = 0;
};

}  // namespace

std::string checkpoint_path(const std::string& dir) { return dir + "/checkpoint.bin"; }

Status write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::string out;
  out.append(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(ckpt.scalars.size()));
  for (const auto& [name, value] : ckpt.scalars) {
    put_name(out, name);
    put<int64_t>(out, value);
  }
  put<uint32_t>(out, static_cast<uint32_t>(ckpt.buffers.size()));
  for (const auto& [name, data] : ckpt.buffers) {
    put_name(out, name);
    put<uint64_t>(out, data.size());
    out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  }
  put<uint64_t>(out, XXH64(out.data(), out.size(), 0));

  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return InvalidArgument("checkpoint " + tmp + ": cannot be created");
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.flush();
    if (!f) return Internal("checkpoint " + tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal("checkpoint " + path + ": rename from " + tmp + " failed");
  }
  return OkStatus();
}

Result<Checkpoint> read_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("checkpoint " + path + ": not found or unreadable");
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();
  auto bad = [&](const std::string& what) {
    return InvalidArgument("checkpoint " + path + ": " + what);
  };
  if (data.size() < sizeof(kMagic) + 8 + 8 || std::memcmp(data.data(), kMagic, 8) != 0) {
    return bad("not a loco checkpoint (bad magic or too short)");
  }
  const size_t body = data.size() - 8;
  uint64_t stored = 0;
  std::memcpy(&stored, data.data() + body, 8);
  if (XXH64(data.data(), body, 0) != stored) return bad("checksum mismatch (corrupt or truncated)");
  Reader r(data, body);
  r.skip(sizeof(kMagic));
  uint32_t version = 0, n = 0;
  if (!r.get(version) || version != kVersion) return bad("unsupported version");
  Checkpoint ckpt;
  if (!r.get(n)) return bad("truncated scalar count");
  for (uint32_t i = 0; i < n; ++i) {
    std::string name;
    int64_t v = 0;
    if (!r.get_name(name) || !r.get(v)) return bad("truncated scalar");
    ckpt.scalars[name] = v;
  }
  if (!r.get(n)) return bad("truncated buffer count");
  for (uint32_t i = 0; i < n; ++i) {
    std::string name;
    uint64_t count = 0;
    if (!r.get_name(name) || !r.get(count) || !r.get_floats(ckpt.buffers[name], count)) {
      return bad("truncated buffer");
    }
  }
  if (r.pos() != body) return bad("trailing bytes");
  return ckpt;
}

}  // namespace loco::train
