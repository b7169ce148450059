// cmd_bench_ef.cc: `loco bench ef-convex`, the convex check of issue 6: distributed least squares
// with top-k compressed gradients, without error feedback, with EF and with EF21, beside plain
// gradient descent (ef_convex.h has the problem). Prints the relative optimality gap at a few
// iterations and the floor each method reaches, and writes ef-convex.svg (log10 of the gap
// against iterations) and ef-convex.json into --out. Not a training benchmark: no sockets.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ef_convex.h"
#include "run_folder.h"
#include "svg_plot.h"

namespace loco::cli {

namespace {

Runner add_ef_convex(CLI::App& app) {
  auto o = std::make_shared<EfConvexOptions>();
  auto out = std::make_shared<std::string>("runs/ef-convex");
  app.add_option("--workers", o->workers, "workers, each with its own data")->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--dim", o->dim, "parameters (d)")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--rows", o->rows, "rows of data per worker")->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--iterations", o->iterations, "gradient steps")->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--codec", o->codec, "compression of each worker's gradient (a codec spec)")
      ->capture_default_str();
  app.add_option("--step-scale", o->step_scale, "step = this / L")->capture_default_str();
  app.add_option("--seed", o->seed, "problem seed")->capture_default_str();
  app.add_option("--out", *out, "folder for ef-convex.svg and ef-convex.json")->capture_default_str();
  return [o, out]() -> int {
    const std::string cmd = "loco bench ef-convex";
    o->record_every = std::max(1, o->iterations / 300);
    auto r = run_ef_convex(*o);
    if (!r.ok()) {
      std::cerr << cmd << ": " << r.status().message() << "\n";
      return 2;
    }
    std::printf("%s: least squares, %d workers x %d rows, d = %d, codec %s (%zu bytes per message "
                "vs %zu uncompressed), step 1/L x %.2f, L = %.3f\n",
                cmd.c_str(), o->workers, o->rows, o->dim, o->codec.c_str(), r->bytes_per_message,
                r->bytes_uncompressed, o->step_scale, r->lipschitz);
    std::printf("relative gap (f(x) - f*) / (f(x0) - f*):\n");
    std::printf("  %-20s %12s %12s %12s %14s\n", "method", "iter 10%", "iter 50%", "final",
                "floor (last 10%)");
    nlohmann::json series = nlohmann::json::array();
    Chart chart{"top-k gradient compression on least squares", "iteration",
                "log10 relative optimality gap", false, {}};
    for (const auto& s : r->series) {
      auto at = [&](double share) {
        const auto want = static_cast<int>(share * o->iterations);
        for (const auto& [it, gap] : s.gap) {
          if (it >= want) return gap;
        }
        return s.final_gap;
      };
      std::printf("  %-20s %12.3e %12.3e %12.3e %14.3e\n", s.name.c_str(), at(0.1), at(0.5),
                  s.final_gap, s.floor_gap);
      PlotSeries ps{s.name, {}};
      for (const auto& [it, gap] : s.gap) {
        if (gap > 0) ps.points.emplace_back(it, std::log10(gap));
      }
      chart.series.push_back(std::move(ps));
      series.push_back({{"name", s.name}, {"final_gap", s.final_gap}, {"floor_gap", s.floor_gap},
                        {"curve", s.gap}});
    }
    std::error_code ec;
    std::filesystem::create_directories(*out, ec);
    const std::string svg = (std::filesystem::path(*out) / "ef-convex.svg").string();
    const std::string json = (std::filesystem::path(*out) / "ef-convex.json").string();
    nlohmann::json doc = {{"workers", o->workers}, {"dim", o->dim}, {"rows", o->rows},
                          {"iterations", o->iterations}, {"codec", o->codec},
                          {"step_scale", o->step_scale}, {"seed", o->seed},
                          {"lipschitz", r->lipschitz}, {"f_star", r->f_star},
                          {"bytes_per_message", r->bytes_per_message}, {"series", series}};
    Status s1 = write_text_file(svg, render_svg({chart}, SvgOptions{720, 420}));
    Status s2 = write_text_file(json, doc.dump(1) + "\n");
    if (!s1.ok() || !s2.ok()) {
      std::cerr << cmd << ": " << (s1.ok() ? s2 : s1).to_string() << "\n";
      return 1;
    }
    std::printf("wrote %s and %s\n", svg.c_str(), json.c_str());
    return 0;
  };
}

[[maybe_unused]] const bool kRegistered = register_bench_subcommand(
    "ef-convex",
    "least squares with top-k compressed gradients: without error feedback it stalls, with EF "
    "or EF21 it converges (table and SVG figure)",
    &add_ef_convex);

}  // namespace

}  // namespace loco::cli
