// metrics_reader.cc: parsing, line splitting, tailing and per-peer folding of trainer metrics
// (see metrics_reader.h). File reads are plain std::ifstream; nothing here blocks on a child.
#include "metrics_reader.h"

#include <fstream>
#include <sstream>

namespace loco::cli {

namespace {

Status get_double(const nlohmann::json& j, const char* key, std::optional<double>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return OkStatus();
  if (!it->is_number()) return InvalidArgument(std::string("field '") + key + "' is not a number");
  out = it->get<double>();
  return OkStatus();
}

Status get_int(const nlohmann::json& j, const char* key, std::optional<int64_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return OkStatus();
  if (!it->is_number()) return InvalidArgument(std::string("field '") + key + "' is not a number");
  out = it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
  return OkStatus();
}

Status get_string(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return OkStatus();
  if (!it->is_string()) return InvalidArgument(std::string("field '") + key + "' is not a string");
  out = it->get<std::string>();
  return OkStatus();
}

}  // namespace

Result<MetricEvent> parse_metric_line(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLoss("metrics line is not a JSON object");
  auto ev_it = j.find("event");
  if (ev_it == j.end() || !ev_it->is_string()) return DataLoss("metrics line has no \"event\"");
  MetricEvent ev;
  ev.event = ev_it->get<std::string>();
  std::optional<double> t;
  std::optional<int64_t> rank, world, step;
  LOCO_RETURN_IF_ERROR(get_double(j, "t", t));
  LOCO_RETURN_IF_ERROR(get_int(j, "rank", rank));
  LOCO_RETURN_IF_ERROR(get_int(j, "world", world));
  LOCO_RETURN_IF_ERROR(get_int(j, "step", step));
  LOCO_RETURN_IF_ERROR(get_string(j, "strategy", ev.strategy));
  LOCO_RETURN_IF_ERROR(get_string(j, "model", ev.model));
  LOCO_RETURN_IF_ERROR(get_string(j, "status", ev.status));
  ev.t = t.value_or(0);
  ev.rank = static_cast<int>(rank.value_or(0));
  ev.world = static_cast<int>(world.value_or(0));
  ev.step = step.value_or(0);
  LOCO_RETURN_IF_ERROR(get_double(j, "loss", ev.loss));
  LOCO_RETURN_IF_ERROR(get_double(j, "lr", ev.lr));
  LOCO_RETURN_IF_ERROR(get_double(j, "val_loss", ev.val_loss));
  LOCO_RETURN_IF_ERROR(get_double(j, "val_acc", ev.val_acc));
  LOCO_RETURN_IF_ERROR(get_double(j, "tokens", ev.tokens));
  LOCO_RETURN_IF_ERROR(get_double(j, "bytes_sent", ev.bytes_sent));
  LOCO_RETURN_IF_ERROR(get_double(j, "bytes_received", ev.bytes_received));
  LOCO_RETURN_IF_ERROR(get_double(j, "compute_s", ev.compute_s));
  LOCO_RETURN_IF_ERROR(get_double(j, "comm_s", ev.comm_s));
  LOCO_RETURN_IF_ERROR(get_double(j, "seconds", ev.seconds));
  LOCO_RETURN_IF_ERROR(get_double(j, "wall_s", ev.wall_s));
  LOCO_RETURN_IF_ERROR(get_int(j, "params", ev.params));
  LOCO_RETURN_IF_ERROR(get_int(j, "steps", ev.steps));
  ev.raw = std::move(j);
  return ev;
}

std::vector<std::string> LineBuffer::feed(std::string_view chunk) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < chunk.size()) {
    size_t nl = chunk.find('\n', pos);
    if (nl == std::string_view::npos) {
      pending_.append(chunk.substr(pos));
      break;
    }
    pending_.append(chunk.substr(pos, nl - pos));
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    lines.push_back(std::move(pending_));
    pending_.clear();
    pos = nl + 1;
  }
  return lines;
}

std::vector<MetricEvent> MetricsTail::poll() {
  std::vector<MetricEvent> events;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return events;
  in.seekg(0, std::ios::end);
  auto end = static_cast<uint64_t>(in.tellg());
  if (end < offset_) {  // the file was replaced: start over
    offset_ = 0;
    lines_ = LineBuffer{};
  }
  if (end == offset_) return events;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(end - offset_, '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  offset_ += chunk.size();
  for (const std::string& line : lines_.feed(chunk)) {
    if (line.empty()) continue;
    auto ev = parse_metric_line(line);
    if (ev.ok()) {
      events.push_back(std::move(ev).value());
    } else {
      ++bad_lines_;
    }
  }
  return events;
}

MetricsFile parse_metrics_text(std::string_view text) {
  MetricsFile file;
  LineBuffer buf;
  for (const std::string& line : buf.feed(text)) {
    if (line.empty()) continue;
    auto ev = parse_metric_line(line);
    if (ev.ok()) {
      file.events.push_back(std::move(ev).value());
    } else {
      ++file.bad_lines;
    }
  }
  file.partial_tail = !buf.pending().empty();
  return file;
}

Result<MetricsFile> read_metrics_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FailedPrecondition("cannot read metrics file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_metrics_text(ss.str());
}

void apply_event(PeerProgress& peer, const MetricEvent& ev) {
  peer.t = ev.t;
  peer.rank = ev.rank;
  if (ev.world > 0) peer.world = ev.world;
  if (!ev.strategy.empty()) peer.strategy = ev.strategy;
  if (ev.step > peer.step) peer.step = ev.step;
  if (ev.tokens) peer.tokens = *ev.tokens;
  if (ev.bytes_sent) peer.bytes_sent = *ev.bytes_sent;
  if (ev.bytes_received) peer.bytes_received = *ev.bytes_received;
  if (ev.val_loss) peer.val_loss = *ev.val_loss;
  if (ev.event == "start") {
    peer.started = true;
    if (!ev.model.empty()) peer.model = ev.model;
    if (ev.params) peer.params = *ev.params;
    if (ev.steps) peer.total_steps = *ev.steps;
  } else if (ev.event == "step") {
    peer.started = true;
    if (ev.loss) peer.loss = *ev.loss;
    if (!peer.first_step_t) {
      peer.first_step_t = ev.t;
      peer.first_step_tokens = peer.tokens;
      peer.first_step = ev.step;
    }
  } else if (ev.event == "retry") {
    ++peer.retries;
  } else if (ev.event == "done") {
    peer.done = true;
  }
}

double tokens_per_second(const PeerProgress& peer) {
  if (!peer.first_step_t) return 0;
  double dt = peer.t - *peer.first_step_t;
  if (dt <= 0) return 0;
  return (peer.tokens - peer.first_step_tokens) / dt;
}

std::optional<double> eta_seconds(const PeerProgress& peer) {
  if (peer.done) return 0.0;
  if (!peer.first_step_t || peer.total_steps <= 0) return std::nullopt;
  double dt = peer.t - *peer.first_step_t;
  int64_t done_steps = peer.step - peer.first_step;
  if (dt <= 0 || done_steps <= 0) return std::nullopt;
  int64_t left = peer.total_steps - peer.step;
  if (left < 0) left = 0;
  return static_cast<double>(left) * dt / static_cast<double>(done_steps);
}

}  // namespace loco::cli
