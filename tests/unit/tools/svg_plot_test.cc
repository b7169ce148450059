// svg_plot_test.cc: the SVG writer's ticks, labels, escaping, and the elements it draws.
#include "svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace loco::cli {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

TEST(NiceTicks, RoundStepsCoveringTheRange) {
  auto t = nice_ticks(1.62, 2.47, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_LE(t.front(), 1.62);
  EXPECT_GE(t.back(), 2.47);
  double step = t[1] - t[0];
  EXPECT_NEAR(step, 0.2, 1e-12);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], step, 1e-9);
  auto u = nice_ticks(0, 300, 5);
  EXPECT_EQ(u.front(), 0);
  EXPECT_NEAR(u[1], 100, 1e-9);  // 300 / 5 = 60 rounds up to steps of 100
  EXPECT_GE(u.back(), 300);
  // A flat range still gets a usable axis.
  auto f = nice_ticks(2.0, 2.0);
  EXPECT_LT(f.front(), 2.0);
  EXPECT_GT(f.back(), 2.0);
}

TEST(LogTicks, PowersOfTen) {
  auto t = log_ticks(3e5, 2e9);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t.front(), 1e5);
  EXPECT_DOUBLE_EQ(t.back(), 1e9 * 10);
  auto one = log_ticks(1000, 1000);
  EXPECT_EQ(one.size(), 2u);
}

TEST(TickLabel, Suffixes) {
  EXPECT_EQ(tick_label(1e6), "1M");
  EXPECT_EQ(tick_label(2.5e9), "2.5G");
  EXPECT_EQ(tick_label(1000), "1k");
  EXPECT_EQ(tick_label(1.8), "1.8");
  EXPECT_EQ(tick_label(0), "0");
}

TEST(XmlEscape, SpecialCharacters) {
  EXPECT_EQ(xml_escape("a<b & \"c\" > 'd'"), "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
}

TEST(RenderSvg, OnePolylinePerSeriesAndMarkersForSinglePoints) {
  Chart c{"loss <vs> bytes", "bytes", "loss", true, {}};
  c.series.push_back({"ddp", {{1e6, 3.0}, {1e7, 2.5}, {1e8, 2.0}}});
  c.series.push_back({"diloco & co", {{0, 3.1}, {1e4, 2.9}, {2e4, 2.1}}});  // x=0 dropped on log
  c.series.push_back({"lofi", {{5e5, 2.4}}});
  Chart t{"loss vs time", "s", "loss", false, {{"ddp", {{0, 3.0}, {10, 2.0}}}}};
  std::string svg = render_svg({c, t}, {400, 300});
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"300\""),
            std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  EXPECT_EQ(count(svg, "<circle"), 1u);
  EXPECT_NE(svg.find("loss &lt;vs&gt; bytes"), std::string::npos);
  EXPECT_NE(svg.find("diloco &amp; co"), std::string::npos);
  EXPECT_EQ(svg.find("diloco & co"), std::string::npos);
  // Log axis ticks from 10k to 100M.
  EXPECT_NE(svg.find(">10k<"), std::string::npos);
  EXPECT_NE(svg.find(">100M<"), std::string::npos);
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
}

TEST(RenderSvg, PointsMapIntoThePlotArea) {
  Chart c{"t", "x", "y", false, {{"s", {{0, 0}, {10, 1}}}}};
  std::string svg = render_svg({c}, {400, 300});
  // Plot area: left 64, right 400-16=384, top 36, bottom 300-48=252; (0,0) bottom-left, (10,1)
  // top-right because the ticks end exactly at the data's range.
  EXPECT_NE(svg.find("points=\"64.0,252.0 384.0,36.0\""), std::string::npos) << svg;
}

TEST(RenderSvg, EmptyAndUnplaceableData) {
  Chart c{"empty", "x", "y", true, {{"s", {{-1, 2}, {std::nan(""), 1}, {1, std::numeric_limits<double>::infinity()}}}}};
  std::string svg = render_svg({c});
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 0u);
  std::string none = render_svg({});
  EXPECT_NE(none.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace loco::cli
