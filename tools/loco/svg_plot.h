// svg_plot.h: a small SVG line-chart writer for run folders: one or more charts side by side,
// each with axes, ticks (linear "nice" ticks or powers of ten on a log axis), labels, a legend and
// one polyline per series (a single point is drawn as a marker). Pure: returns the SVG text. Not a
// plotting library: no styling options beyond what loco's plots need; points that cannot be
// placed (NaN, infinite, or <= 0 on a log axis) are left out.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace loco::cli {

struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  std::vector<PlotSeries> series;
};

struct SvgOptions {
  int chart_width = 520;
  int chart_height = 380;
};

std::string render_svg(const std::vector<Chart>& charts, const SvgOptions& options = {});

// Exposed for tests.
// About `target` evenly spaced round ticks (steps of 1, 2 or 5 x 10^k) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Powers of ten within [lo, hi] (lo > 0), extended to the enclosing powers.
std::vector<double> log_ticks(double lo, double hi);
// "1e+06" style labels are avoided: "0.5", "120", "1k", "10M", "1G".
std::string tick_label(double v);
// Escapes &, <, >, " and ' for SVG text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace loco::cli
