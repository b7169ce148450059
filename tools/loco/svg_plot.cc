// svg_plot.cc: the SVG line-chart writer (see svg_plot.h).
#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace loco::cli {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr int kMarginLeft = 64, kMarginRight = 16, kMarginTop = 36, kMarginBottom = 48;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

bool placeable(double x, double y, bool log_x) {
  return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

void render_chart(std::ostringstream& out, const Chart& chart, int x0, const SvgOptions& o) {
  const int w = o.chart_width, h = o.chart_height;
  const double left = x0 + kMarginLeft, right = x0 + w - kMarginRight;
  const double top = kMarginTop, bottom = h - kMarginBottom;
  out << "<text x=\"" << x0 + w / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">"
      << xml_escape(chart.title) << "</text>\n";
  Range xr, yr;
  for (const auto& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!placeable(x, y, chart.log_x)) continue;
      xr.add(chart.log_x ? std::log10(x) : x);
      yr.add(y);
    }
  }
  out << "<rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(right - left)
      << "\" height=\"" << num(bottom - top) << "\" fill=\"none\" stroke=\"#444\"/>\n";
  if (xr.empty()) {
    out << "<text x=\"" << num((left + right) / 2) << "\" y=\"" << num((top + bottom) / 2)
        << "\" text-anchor=\"middle\" font-size=\"12\">no data</text>\n";
    return;
  }
  // Axis ranges from the ticks, so the data sits inside round numbers.
  std::vector<double> xt, yt;
  if (chart.log_x) {
    xt = log_ticks(std::pow(10.0, xr.lo), std::pow(10.0, xr.hi));
    for (double& t : xt) t = std::log10(t);
  } else {
    xt = nice_ticks(xr.lo, xr.hi);
  }
  yt = nice_ticks(yr.lo, yr.hi);
  double xlo = std::min(xt.front(), xr.lo), xhi = std::max(xt.back(), xr.hi);
  double ylo = std::min(yt.front(), yr.lo), yhi = std::max(yt.back(), yr.hi);
  if (xhi <= xlo) xhi = xlo + 1;
  if (yhi <= ylo) yhi = ylo + 1;
  auto px = [&](double x) { return left + (x - xlo) / (xhi - xlo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ylo) / (yhi - ylo) * (bottom - top); };
  for (double t : xt) {
    double v = chart.log_x ? std::pow(10.0, t) : t;
    out << "<line x1=\"" << num(px(t)) << "\" y1=\"" << num(top) << "\" x2=\"" << num(px(t))
        << "\" y2=\"" << num(bottom) << "\" stroke=\"#ddd\"/>\n"
        << "<text x=\"" << num(px(t)) << "\" y=\"" << num(bottom + 16)
        << "\" text-anchor=\"middle\" font-size=\"11\">" << xml_escape(tick_label(v)) << "</text>\n";
  }
  for (double t : yt) {
    out << "<line x1=\"" << num(left) << "\" y1=\"" << num(py(t)) << "\" x2=\"" << num(right)
        << "\" y2=\"" << num(py(t)) << "\" stroke=\"#ddd\"/>\n"
        << "<text x=\"" << num(left - 6) << "\" y=\"" << num(py(t) + 4)
        << "\" text-anchor=\"end\" font-size=\"11\">" << xml_escape(tick_label(t)) << "</text>\n";
  }
  out << "<text x=\"" << num((left + right) / 2) << "\" y=\"" << h - 10
      << "\" text-anchor=\"middle\" font-size=\"12\">" << xml_escape(chart.x_label) << "</text>\n"
      << "<text x=\"" << x0 + 14 << "\" y=\"" << num((top + bottom) / 2)
      << "\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 " << x0 + 14 << " "
      << num((top + bottom) / 2) << ")\">" << xml_escape(chart.y_label) << "</text>\n";
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    const char* color = kColors[i % (sizeof kColors / sizeof kColors[0])];
    std::string pts;
    size_t n = 0;
    for (const auto& [x, y] : s.points) {
      if (!placeable(x, y, chart.log_x)) continue;
      double xv = chart.log_x ? std::log10(x) : x;
      if (!pts.empty()) pts += ' ';
      pts += num(px(xv)) + "," + num(py(y));
      ++n;
    }
    if (n >= 2) {
      out << "<polyline class=\"series\" fill=\"none\" stroke=\"" << color
          << "\" stroke-width=\"2\" points=\"" << pts << "\"/>\n";
    } else if (n == 1) {
      auto comma = pts.find(',');
      out << "<circle class=\"series\" cx=\"" << pts.substr(0, comma) << "\" cy=\""
          << pts.substr(comma + 1) << "\" r=\"4\" fill=\"" << color << "\"/>\n";
    }
    double ly = top + 14 + 16 * static_cast<double>(i);
    out << "<line x1=\"" << num(right - 150) << "\" y1=\"" << num(ly - 4) << "\" x2=\""
        << num(right - 130) << "\" y2=\"" << num(ly - 4) << "\" stroke=\"" << color
        << "\" stroke-width=\"2\"/>\n"
        << "<text x=\"" << num(right - 125) << "\" y=\"" << num(ly) << "\" font-size=\"11\">"
        << xml_escape(s.name) << "</text>\n";
  }
}

}  // namespace

std::string render_svg(const std::vector<Chart>& charts, const SvgOptions& options) {
  std::ostringstream out;
  int width = options.chart_width * std::max<int>(1, static_cast<int>(charts.size()));
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\""
      << options.chart_height << "\" viewBox=\"0 0 " << width << " " << options.chart_height
      << "\" font-family=\"sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (size_t i = 0; i < charts.size(); ++i) {
    render_chart(out, charts[i], static_cast<int>(i) * options.chart_width, options);
  }
  out << "</svg>\n";
  return out.str();
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    double pad = std::fabs(lo) > 0 ? std::fabs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  double first = std::floor(lo / step) * step;
  // Up to the first tick at or above hi (computed from the index, so errors do not accumulate).
  for (int i = 0; i < 64; ++i) {
    double t = first + i * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !std::isfinite(lo) || !std::isfinite(hi)) return {1.0, 10.0};
  if (hi < lo) std::swap(lo, hi);
  int a = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int b = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (b <= a) b = a + 1;
  std::vector<double> ticks;
  for (int e = a; e <= b && ticks.size() < 64; ++e) ticks.push_back(std::pow(10.0, e));
  return ticks;
}

std::string tick_label(double v) {
  double a = std::fabs(v);
  char buf[32];
  static const struct {
    double scale;
    const char* suffix;
  } kScales[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& s : kScales) {
    if (a >= s.scale) {
      std::snprintf(buf, sizeof buf, "%g%s", v / s.scale, s.suffix);
      return buf;
    }
  }
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace loco::cli
