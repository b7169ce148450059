// cmd_bench_loss.cc: `loco bench loss-per-byte`, the benchmark of issue 5: the byte-level
// transformer on the fortunes text with 4 peers under DDP, DiLoCo (H=50, H=100), local SGD
// (H=100) and lo-fi, same seeds and same total tokens, at the reference configuration (2 layers,
// width 64, 4 heads, context 64, 1,024 tokens per worker step, 3,000 steps, AdamW peak 2e-3 with
// 150 warmup steps and cosine to 10%, weight decay 0.1, clip 1.0). Prints the table (final
// validation loss and its ratio to DDP, bytes sent per peer and their ratio to DDP, wall time) and
// writes it with the metrics, summary and plot into the run folder. The reference figures from an
// independent PyTorch simulation are printed beside it. Not here: the launcher (swarm_runner.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "common/log.h"
#include "run_folder.h"
#include "swarm_runner.h"

namespace loco::cli {

namespace {

constexpr const char* kStrategies = "ddp,diloco:50,diloco:100,local-sgd:100,lofi";
constexpr int64_t kReferenceSteps = 3000;

// Final validation loss (nats/byte) of the independent PyTorch simulation at the reference
// configuration (issue 5), by run label.
const std::map<std::string, double>& reference_losses() {
  static const std::map<std::string, double> kRef = {
      {"ddp", 1.785}, {"diloco H=50", 1.839}, {"diloco H=100", 1.911}, {"local-sgd H=100", 1.949}};
  return kRef;
}

struct BenchArgs {
  int peers = 4;
  std::string strategies = kStrategies;
  int64_t steps = kReferenceSteps;
  std::string out;
  uint64_t seed = 1;
  int64_t eval_every = 100;
  std::string trainer;
  double stall_timeout_s = 600;
  int threads = 1;
};

Runner add_loss_per_byte(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.allow_extras();
  app.footer("Options not listed here go to every `loco-train train` unchanged. The full run "
             "(3,000 steps, 5 strategies, 4 peers) takes a long time on a small machine; --steps "
             "shortens it (the reference figures then do not apply).");
  app.add_option("--peers", a->peers, "peers per strategy")->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--strategies", a->strategies,
                 "strategies in order, the first is the baseline: ddp, diloco[:H], local-sgd[:H], lofi, "
                 "demo, ddp-topk, ddp-powersgd, each with optional +OPTION=VALUE pairs for its "
                 "loco-train peers (e.g. diloco:100+outer-lr=1.0)")
      ->capture_default_str();
  app.add_option("--steps", a->steps, "steps per peer (the reference: 3000)")->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--out", a->out, "run folder (default runs/bench-loss-<UTC time>)");
  app.add_option("--seed", a->seed, "model initialization seed, the same for every strategy")
      ->capture_default_str();
  app.add_option("--eval-every", a->eval_every, "validation every N steps")->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--threads", a->threads, "LibTorch threads per peer")->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--trainer", a->trainer, "the loco-train binary (default: next to loco)");
  app.add_option("--stall-timeout-s", a->stall_timeout_s,
                 "stop as hung when no peer writes metrics for this long")
      ->capture_default_str()->check(CLI::Range(1.0, 86400.0));
  CLI::App* self = &app;
  return [a, self]() -> int {
    const std::string cmd = "loco bench loss-per-byte";
    auto specs = parse_strategies(a->strategies, 50);
    if (!specs.ok()) {
      std::cerr << cmd << ": --strategies: " << specs.status().message() << "\n";
      return 2;
    }
    std::string trainer = a->trainer.empty() ? default_trainer_path() : a->trainer;
    if (Status s = check_trainer(trainer); !s.ok()) {
      std::cerr << cmd << ": " << s.message() << "\n";
      return 2;
    }
    std::filesystem::path out = a->out.empty()
        ? std::filesystem::path("runs") / ("bench-loss-" + utc_stamp(std::chrono::system_clock::now()))
        : std::filesystem::path(a->out);
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) {
      std::cerr << cmd << ": cannot create run folder '" << out.string() << "': " << ec.message() << "\n";
      return 2;
    }
    if (spdlog::get_level() == spdlog::level::info && std::getenv("LOCO_LOG_LEVEL") == nullptr) {
      spdlog::set_level(spdlog::level::warn);
    }
    // The reference configuration, spelled out so that a change of the trainer's defaults does
    // not silently change the benchmark.
    std::vector<std::string> args = {
        "--model", "transformer", "--data", "fortunes", "--layers", "2", "--width", "64",
        "--heads", "4", "--context", "64", "--batch-tokens", "1024",
        "--steps", std::to_string(a->steps), "--lr", "2e-3", "--warmup", "150",
        "--min-lr-ratio", "0.1", "--weight-decay", "0.1", "--clip", "1.0",
        "--outer-lr", "0.7", "--outer-momentum", "0.9", "--nesterov", "true",
        "--seed", std::to_string(a->seed), "--eval-every", std::to_string(a->eval_every),
        "--threads", std::to_string(a->threads)};
    std::vector<std::string> extras = self->remaining();
    args.insert(args.end(), extras.begin(), extras.end());
    RunAllOptions o;
    o.command = cmd;
    o.specs = *specs;
    o.out = out;
    o.baseline = (*specs)[0].label;
    o.base.trainer = trainer;
    o.base.peers = a->peers;
    o.base.tty = stdout_is_tty();
    o.base.plain_interval_s = 30;
    o.base.stall_timeout_s = a->stall_timeout_s;
    o.base.trainer_args = args;
    o.base_config = {{"peers", a->peers}, {"steps", a->steps}, {"seed", a->seed},
                     {"trainer_args", args}};
    o.run_info = {{"command", cmd}, {"peers", a->peers}, {"strategies", a->strategies},
                  {"steps", a->steps}, {"out", out.string()}};
    std::cout << cmd << ": " << a->peers << " peers, " << a->steps << " steps, strategies "
              << a->strategies << ", run folder " << out.string() << std::endl;
    std::vector<StrategySummary> sums;
    int code = run_all(o, &sums);
    if (sums.empty()) return code;
    // The reference beside the measured figures (meaningful at the reference configuration).
    const bool reference_config = a->steps == kReferenceSteps && a->peers == 4;
    std::cout << "\nreference (independent PyTorch simulation, issue 5; "
              << (reference_config ? "same configuration" : "NOT comparable: other steps/peers")
              << "):\n";
    nlohmann::json ref = nlohmann::json::object();
    for (const auto& s : sums) {
      auto it = reference_losses().find(s.label);
      if (it == reference_losses().end()) continue;
      char line[160];
      std::snprintf(line, sizeof line, "  %-16s measured %.4f  reference %.3f  (%+.1f%%)\n",
                    s.label.c_str(), s.final_val_loss, it->second,
                    (s.final_val_loss / it->second - 1) * 100);
      std::cout << line;
      ref[s.label] = {{"measured", std::isfinite(s.final_val_loss) ? nlohmann::json(s.final_val_loss) : nlohmann::json(nullptr)},
                      {"reference", it->second}};
    }
    Status w = write_text_file((out / "reference.json").string(),
                               nlohmann::json{{"comparable", reference_config}, {"losses", ref}}.dump(2) + "\n");
    if (!w.ok()) std::cerr << cmd << ": " << w.to_string() << "\n";
    return code;
  };
}

[[maybe_unused]] const bool kRegistered = register_bench_subcommand(
    "loss-per-byte",
    "train the transformer with 4 peers under DDP, DiLoCo, local SGD and lo-fi; table of final "
    "validation loss against bytes sent",
    &add_loss_per_byte);

}  // namespace

}  // namespace loco::cli
