// run_folder.cc: summaries, merged metrics, charts and tables for a run folder (see run_folder.h).
#include "run_folder.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <optional>

#include "progress.h"

namespace loco::cli {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const StrategySummary* find_baseline(const std::vector<StrategySummary>& runs,
                                     const std::string& baseline) {
  for (const auto& r : runs) {
    if (r.label == baseline) return &r;
  }
  return runs.empty() ? nullptr : &runs.front();
}

struct Row {
  std::string label, loss, loss_ratio, bytes, bytes_ratio, wall, steps;
};

std::vector<Row> table_rows(const std::vector<StrategySummary>& runs, const std::string& baseline) {
  const StrategySummary* base = find_baseline(runs, baseline);
  std::vector<Row> rows;
  for (const auto& r : runs) {
    Row row;
    row.label = r.label;
    row.loss = fmt("%.4f", r.final_val_loss);
    double lr = base ? r.final_val_loss / base->final_val_loss : kNaN;
    row.loss_ratio = std::isfinite(lr) ? fmt("%.3f", lr) + " (" + fmt("%+.1f", (lr - 1) * 100) + "%)" : "-";
    row.bytes = format_bytes(r.bytes_sent_per_peer);
    if (base && base->bytes_sent_per_peer > 0) {
      double br = r.bytes_sent_per_peer / base->bytes_sent_per_peer;
      row.bytes_ratio = fmt("%.4f", br);
      if (br > 0 && br < 1) row.bytes_ratio += " (" + fmt("%.0f", 1 / br) + "x fewer)";
    } else {
      row.bytes_ratio = "-";
    }
    row.wall = fmt("%.1f s", r.wall_s);
    row.steps = std::to_string(r.steps);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

Result<std::vector<StrategySpec>> parse_strategies(const std::string& list, int default_H) {
  static const char* kKnown =
      "ddp, diloco[:H], local-sgd[:H], lofi, demo, ddp-topk, ddp-powersgd, each with optional "
      "+OPTION=VALUE for loco-train";
  static const std::vector<std::string> kPlain = {"ddp", "lofi", "demo", "ddp-topk", "ddp-powersgd"};
  std::vector<StrategySpec> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) return InvalidArgument("empty entry in strategy list '" + list + "' (known: " + kKnown + ")");
    StrategySpec spec;
    // +OPTION=VALUE modifiers first: they may contain ':' (codec specs such as int8:block=256).
    const size_t plus = item.find('+');
    std::string head = item.substr(0, plus);
    std::string suffix;
    if (plus != std::string::npos) {
      size_t p = plus;
      while (p < item.size()) {
        size_t next = item.find('+', p + 1);
        if (next == std::string::npos) next = item.size();
        std::string kv = item.substr(p + 1, next - p - 1);
        p = next;
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size() || kv.front() == '-') {
          return InvalidArgument("bad modifier '+" + kv + "' in '" + item +
                                 "': expected +OPTION=VALUE, e.g. +outer-lr=1.0");
        }
        spec.options.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        suffix += " " + kv;
      }
    }
    std::string h_text;
    size_t colon = head.find(':');
    spec.strategy = head.substr(0, colon);
    if (colon != std::string::npos) h_text = head.substr(colon + 1);
    bool periodic = spec.strategy == "diloco" || spec.strategy == "local-sgd";
    if (!periodic && std::find(kPlain.begin(), kPlain.end(), spec.strategy) == kPlain.end()) {
      return InvalidArgument("unknown strategy '" + spec.strategy + "' (known: " + kKnown + ")");
    }
    if (!h_text.empty() || colon != std::string::npos) {
      if (!periodic) return InvalidArgument("strategy '" + spec.strategy + "' takes no H ('" + item + "')");
      long h = 0;
      size_t used = 0;
      try {
        h = std::stol(h_text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != h_text.size() || h_text.empty() || h < 1 || h > 1000000) {
        return InvalidArgument("bad H in '" + item + "': expected a whole number >= 1");
      }
      spec.H = static_cast<int>(h);
    } else if (periodic) {
      spec.H = default_H;
    }
    for (const auto& [key, value] : spec.options) {
      if (key == "H" || key == "strategy" || key == "world" || key == "coordinator" ||
          key == "name" || key == "metrics") {
        return InvalidArgument("modifier '+" + key + "' in '" + item +
                               "' is set by the launcher; use NAME:H for H");
      }
    }
    spec.label = (periodic ? spec.strategy + " H=" + std::to_string(spec.H) : spec.strategy) + suffix;
    for (const auto& other : out) {
      if (other.label == spec.label) return InvalidArgument("strategy '" + spec.label + "' is listed twice");
    }
    out.push_back(spec);
    if (comma == list.size()) break;
  }
  return out;
}

std::vector<std::string> apply_spec_options(const std::vector<std::string>& base,
                                            const StrategySpec& spec) {
  std::vector<std::string> out;
  auto overridden = [&](const std::string& arg) {
    for (const auto& kv : spec.options) {
      if (arg == "--" + kv.first) return true;
    }
    return false;
  };
  for (size_t i = 0; i < base.size(); ++i) {
    if (overridden(base[i])) {
      // Drop the option and its value (if the next word is not itself an option).
      if (i + 1 < base.size() && base[i + 1].rfind("--", 0) != 0) ++i;
      continue;
    }
    out.push_back(base[i]);
  }
  for (const auto& [key, value] : spec.options) {
    out.push_back("--" + key);
    out.push_back(value);
  }
  return out;
}

StrategySummary summarize(const StrategyRun& run) {
  StrategySummary s;
  s.label = run.label;
  s.strategy = run.strategy;
  s.config = run.config;
  s.wall_s = run.wall_s;
  s.peers = static_cast<int>(run.peer_events.size());
  // Per peer: the final figures from "done", else from the latest line that had them.
  double val_sum = 0, sent_sum = 0, recv_sum = 0;
  int val_n = 0;
  std::map<int64_t, std::vector<const MetricEvent*>> evals;  // step -> one eval per peer
  std::vector<const MetricEvent*> dones;
  for (const auto& events : run.peer_events) {
    PeerProgress p;
    std::optional<double> done_val;
    for (const MetricEvent& ev : events) {
      apply_event(p, ev);
      if (ev.event == "eval" && ev.val_loss) evals[ev.step].push_back(&ev);
      if (ev.event == "sync" && ev.rank == 0) ++s.syncs;
      if (ev.event == "retry") ++s.retries;
      if (ev.event == "done") {
        dones.push_back(&ev);
        done_val = ev.val_loss;
      }
    }
    if (p.done) ++s.peers_done;
    s.steps = std::max(s.steps, p.step);
    std::optional<double> v = done_val ? done_val : p.val_loss;
    if (v) {
      val_sum += *v;
      ++val_n;
    }
    sent_sum += p.bytes_sent;
    recv_sum += p.bytes_received;
    s.tokens_total += p.tokens;
  }
  double n = s.peers > 0 ? static_cast<double>(s.peers) : 1.0;
  s.final_val_loss = val_n > 0 ? val_sum / val_n : kNaN;
  s.bytes_sent_per_peer = sent_sum / n;
  s.bytes_received_per_peer = recv_sum / n;
  for (const auto& [step, evs] : evals) {
    CurvePoint c;
    c.step = step;
    for (const MetricEvent* ev : evs) {
      c.t = std::max(c.t, ev->t);
      c.bytes_sent += ev->bytes_sent.value_or(0);
      c.val_loss += *ev->val_loss;
    }
    c.bytes_sent /= static_cast<double>(evs.size());
    c.val_loss /= static_cast<double>(evs.size());
    s.curve.push_back(c);
  }
  // The final point (after lo-fi's one average, for example) when it differs from the last eval.
  if (!dones.empty() && static_cast<int>(dones.size()) == s.peers && std::isfinite(s.final_val_loss)) {
    CurvePoint c;
    c.step = s.steps;
    for (const MetricEvent* ev : dones) c.t = std::max(c.t, ev->wall_s.value_or(ev->t));
    c.bytes_sent = s.bytes_sent_per_peer;
    c.val_loss = s.final_val_loss;
    bool same = !s.curve.empty() && std::fabs(s.curve.back().val_loss - c.val_loss) < 1e-9 &&
                std::fabs(s.curve.back().bytes_sent - c.bytes_sent) < 0.5;
    if (!same) s.curve.push_back(c);
  }
  return s;
}

nlohmann::json summary_json(const StrategySummary& s) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& c : s.curve) {
    curve.push_back({{"step", c.step}, {"t", c.t}, {"bytes_sent", c.bytes_sent}, {"val_loss", c.val_loss}});
  }
  return {{"label", s.label},
          {"strategy", s.strategy},
          {"peers", s.peers},
          {"peers_done", s.peers_done},
          {"steps", s.steps},
          {"final_val_loss", number_or_null(s.final_val_loss)},
          {"bytes_sent_per_peer", s.bytes_sent_per_peer},
          {"bytes_received_per_peer", s.bytes_received_per_peer},
          {"tokens_total", s.tokens_total},
          {"wall_s", s.wall_s},
          {"syncs", s.syncs},
          {"retries", s.retries},
          {"config", s.config},
          {"curve", curve}};
}

nlohmann::json run_summary_json(const std::vector<StrategySummary>& runs, const nlohmann::json& run_info) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& s : runs) arr.push_back(summary_json(s));
  return {{"run", run_info}, {"strategies", arr}};
}

std::string merged_metrics_jsonl(const std::vector<StrategyRun>& runs) {
  std::string out;
  for (const auto& run : runs) {
    std::vector<std::pair<double, nlohmann::json>> lines;
    for (size_t peer = 0; peer < run.peer_events.size(); ++peer) {
      for (const MetricEvent& ev : run.peer_events[peer]) {
        nlohmann::json j = ev.raw.is_object() ? ev.raw : nlohmann::json::object();
        j["run"] = run.label;
        j["peer"] = peer;
        lines.emplace_back(ev.t, std::move(j));
      }
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, j] : lines) out += j.dump() + "\n";
  }
  return out;
}

std::vector<Chart> loss_charts(const std::vector<StrategySummary>& runs) {
  Chart by_bytes{"validation loss vs bytes sent per peer", "bytes sent per peer (log scale)",
                 "validation loss", true, {}};
  Chart by_time{"validation loss vs wall time", "seconds", "validation loss", false, {}};
  for (const auto& s : runs) {
    PlotSeries b{s.label, {}}, t{s.label, {}};
    for (const auto& c : s.curve) {
      b.points.emplace_back(c.bytes_sent, c.val_loss);
      t.points.emplace_back(c.t, c.val_loss);
    }
    by_bytes.series.push_back(std::move(b));
    by_time.series.push_back(std::move(t));
  }
  return {by_bytes, by_time};
}

std::string table_text(const std::vector<StrategySummary>& runs, const std::string& baseline) {
  std::vector<Row> rows = table_rows(runs, baseline);
  std::vector<std::array<std::string, 7>> cells;
  cells.push_back({"strategy", "val loss", "vs baseline", "sent/peer", "bytes vs baseline", "wall", "steps"});
  for (const Row& r : rows) cells.push_back({r.label, r.loss, r.loss_ratio, r.bytes, r.bytes_ratio, r.wall, r.steps});
  std::array<size_t, 7> w{};
  for (const auto& c : cells) {
    for (size_t i = 0; i < 7; ++i) w[i] = std::max(w[i], c[i].size());
  }
  std::string out;
  for (const auto& c : cells) {
    std::string line;
    for (size_t i = 0; i < 7; ++i) {
      std::string cell = c[i];
      if (i == 0) {
        cell += std::string(w[i] - cell.size(), ' ');
      } else {
        cell = std::string(w[i] - cell.size(), ' ') + cell;
      }
      line += (i ? "  " : "") + cell;
    }
    out += line + "\n";
  }
  return out;
}

std::string table_markdown(const std::vector<StrategySummary>& runs, const std::string& baseline) {
  std::string out =
      "| strategy | final val loss | vs baseline | bytes sent per peer | bytes vs baseline | wall time | steps |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : table_rows(runs, baseline)) {
    out += "| " + r.label + " | " + r.loss + " | " + r.loss_ratio + " | " + r.bytes + " | " +
           r.bytes_ratio + " | " + r.wall + " | " + r.steps + " |\n";
  }
  return out;
}

nlohmann::json table_json(const std::vector<StrategySummary>& runs, const std::string& baseline) {
  const StrategySummary* base = find_baseline(runs, baseline);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : runs) {
    double lr = base ? r.final_val_loss / base->final_val_loss : kNaN;
    double br = base && base->bytes_sent_per_peer > 0 ? r.bytes_sent_per_peer / base->bytes_sent_per_peer : kNaN;
    rows.push_back({{"label", r.label},
                    {"strategy", r.strategy},
                    {"final_val_loss", number_or_null(r.final_val_loss)},
                    {"val_loss_ratio", number_or_null(lr)},
                    {"bytes_sent_per_peer", r.bytes_sent_per_peer},
                    {"bytes_ratio", number_or_null(br)},
                    {"wall_s", r.wall_s},
                    {"steps", r.steps},
                    {"config", r.config}});
  }
  return {{"baseline", base ? base->label : ""}, {"rows", rows}};
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return FailedPrecondition("cannot write '" + path + "'");
  out << text;
  out.flush();
  if (!out) return DataLoss("short write to '" + path + "'");
  return OkStatus();
}

Status write_run_folder(const std::string& dir, const std::vector<StrategyRun>& runs,
                        const nlohmann::json& run_info, const std::string& baseline) {
  std::vector<StrategySummary> sums;
  for (const auto& r : runs) sums.push_back(summarize(r));
  const std::string d = dir + "/";
  LOCO_RETURN_IF_ERROR(write_text_file(d + "metrics.jsonl", merged_metrics_jsonl(runs)));
  LOCO_RETURN_IF_ERROR(write_text_file(d + "summary.json", run_summary_json(sums, run_info).dump(2) + "\n"));
  LOCO_RETURN_IF_ERROR(write_text_file(d + "plot.svg", render_svg(loss_charts(sums))));
  LOCO_RETURN_IF_ERROR(write_text_file(d + "table.txt", table_text(sums, baseline)));
  LOCO_RETURN_IF_ERROR(write_text_file(d + "table.md", table_markdown(sums, baseline)));
  LOCO_RETURN_IF_ERROR(write_text_file(d + "table.json", table_json(sums, baseline).dump(2) + "\n"));
  return OkStatus();
}

std::string label_slug(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else if (c == ' ') {
      out += '-';
    }
  }
  return out.empty() ? "run" : out;
}

}  // namespace loco::cli
