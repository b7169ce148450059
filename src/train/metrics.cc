// metrics.cc: JSON-lines metrics writer and the parameter hash (see the header).
#include "train/metrics.h"

#include <xxhash.h>

#include <cstdio>

namespace loco::train {

Result<std::unique_ptr<MetricsWriter>> MetricsWriter::open(const std::string& path) {
  auto w = std::unique_ptr<MetricsWriter>(new MetricsWriter());
  if (!path.empty()) {
    w->out_.open(path, std::ios::app);
    if (!w->out_) return InvalidArgument("metrics file " + path + ": cannot be opened for writing");
    w->enabled_ = true;
  }
  return w;
}

double MetricsWriter::elapsed_s() const {
  return std::chrono::duration<double>(now() - start_).count();
}

void MetricsWriter::write(const std::string& event, int64_t step, nlohmann::json fields) {
  if (!enabled_) return;
  nlohmann::json line = {{"event", event}, {"t", elapsed_s()}, {"rank", rank_},
                         {"world", world_}, {"strategy", strategy_}, {"step", step}};
  for (auto& [k, v] : fields.items()) line[k] = v;
  out_ << line.dump() << '\n' << std::flush;
}

std::string params_hash(std::span<const float> params) {
  const uint64_t h = XXH64(params.data(), params.size_bytes(), 0);
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace loco::train
