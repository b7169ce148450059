// progress.cc: formatting of the live display (see progress.h).
#include "progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace loco::cli {

namespace {

std::string printf_string(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string scaled(double v, const char* const* units, size_t n_units, double base) {
  size_t u = 0;
  while (std::fabs(v) >= base && u + 1 < n_units) {
    v /= base;
    ++u;
  }
  std::string num;
  if (u == 0) {
    num = printf_string("%.0f", v);
  } else if (std::fabs(v) < 10) {
    num = printf_string("%.2f", v);
  } else if (std::fabs(v) < 100) {
    num = printf_string("%.1f", v);
  } else {
    num = printf_string("%.0f", v);
  }
  return num + units[u];
}

}  // namespace

std::string format_bytes(double bytes) {
  static const char* const kUnits[] = {" B", " kB", " MB", " GB", " TB"};
  if (!std::isfinite(bytes)) return "? B";
  return scaled(bytes, kUnits, 5, 1000.0);
}

std::string format_count(double n) {
  static const char* const kUnits[] = {"", "k", "M", "G"};
  if (!std::isfinite(n)) return "?";
  return scaled(n, kUnits, 4, 1000.0);
}

std::string format_duration(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds) || *seconds < 0) return "--";
  long s = std::lround(*seconds);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

std::vector<std::string> format_progress(const ProgressView& view) {
  std::vector<std::string> lines;
  lines.push_back(view.label + "  " + format_duration(view.elapsed_s) + "  " +
                  format_aggregate(view));
  for (size_t i = 0; i < view.peers.size(); ++i) {
    const PeerProgress& p = view.peers[i];
    std::string name = i < view.names.size() ? view.names[i] : "peer " + std::to_string(i);
    char buf[256];
    if (!p.started) {
      std::snprintf(buf, sizeof buf, "  %-8s starting", name.c_str());
      lines.emplace_back(buf);
      continue;
    }
    std::string loss = p.loss ? printf_string("%.3f", *p.loss) : "-";
    std::string val = p.val_loss ? printf_string("%.3f", *p.val_loss) : "-";
    std::string eta = p.done ? "done" : "ETA " + format_duration(eta_seconds(p));
    std::snprintf(buf, sizeof buf, "  %-8s step %6lld/%-6lld loss %6s  val %6s  %7s tok/s  sent %9s  %s%s",
                  name.c_str(), static_cast<long long>(p.step),
                  static_cast<long long>(p.total_steps), loss.c_str(), val.c_str(),
                  format_count(tokens_per_second(p)).c_str(), format_bytes(p.bytes_sent).c_str(),
                  eta.c_str(), p.retries > 0 ? ("  retries " + std::to_string(p.retries)).c_str() : "");
    lines.emplace_back(buf);
  }
  return lines;
}

std::string format_aggregate(const ProgressView& view) {
  if (view.peers.empty()) return "no peers";
  int64_t min_step = -1, total = 0;
  double loss_sum = 0, rate = 0, bytes_sum = 0;
  int loss_n = 0, started = 0, done = 0;
  std::optional<double> eta;
  bool eta_unknown = false;
  for (const PeerProgress& p : view.peers) {
    if (p.started) ++started;
    if (p.done) ++done;
    if (min_step < 0 || p.step < min_step) min_step = p.step;
    total = std::max(total, p.total_steps);
    if (p.loss) {
      loss_sum += *p.loss;
      ++loss_n;
    }
    rate += tokens_per_second(p);
    bytes_sum += p.bytes_sent;
    auto e = eta_seconds(p);
    if (!e) {
      eta_unknown = true;
    } else if (!eta || *e > *eta) {
      eta = e;
    }
  }
  double n = static_cast<double>(view.peers.size());
  char buf[256];
  std::string loss = loss_n > 0 ? printf_string("%.3f", loss_sum / loss_n) : "-";
  std::snprintf(buf, sizeof buf, "%d/%zu peers  step %lld/%lld  loss %s  %s tok/s  sent %s/peer  ETA %s",
                started, view.peers.size(), static_cast<long long>(min_step),
                static_cast<long long>(total), loss.c_str(), format_count(rate).c_str(),
                format_bytes(bytes_sum / n).c_str(),
                done == static_cast<int>(view.peers.size()) ? "0s"
                : eta_unknown ? "--" : format_duration(eta).c_str());
  return buf;
}

std::string ansi_redraw(const std::vector<std::string>& lines, size_t previous_lines) {
  std::string out;
  if (previous_lines > 0) out += "\x1b[" + std::to_string(previous_lines) + "A";
  for (const std::string& line : lines) out += "\r\x1b[2K" + line + "\n";
  // Fewer lines than last time: clear the rest and move back up.
  if (previous_lines > lines.size()) {
    size_t extra = previous_lines - lines.size();
    for (size_t i = 0; i < extra; ++i) out += "\x1b[2K\n";
    out += "\x1b[" + std::to_string(extra) + "A";
  }
  return out;
}

}  // namespace loco::cli
