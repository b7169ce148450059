// cmd_swarm.cc: `loco swarm`, loco's main job (also what `loco` does with no subcommand). It trains
// a model with N `loco-train train` peers on loopback under each strategy of --strategies in turn
// (by default DDP, then DiLoCo, on the small transformer with the fortunes text), each against a
// coordinator hosted in this process, shows their progress live, and writes a run folder: merged
// metrics, summary.json, plot.svg (validation loss against bytes sent and against time) and the
// comparison table. Defaults need no configuration and fit in about 5 minutes on 2 cores. Options
// this command does not know go to every loco-train unchanged. Not here: the membership churn
// demo (cmd_churn.cc), the launcher itself (swarm_runner.h).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common/log.h"
#include "run_folder.h"
#include "swarm_runner.h"

namespace loco::cli {

namespace {

// The default job: DDP, DiLoCo, and DiLoCo with its pseudo-gradient all-reduced in int8 (the
// quantized ring keeps bit parity); chosen so that the three together finish well inside 5 minutes
// on a 2-core machine (see README: measured there).
constexpr int kDefaultPeers = 2;
constexpr int64_t kDefaultSteps = 400;
constexpr int kDefaultH = 25;
constexpr const char* kDefaultStrategies = "ddp,diloco,diloco+wire-codec=int8";

struct SwarmArgs {
  int peers = kDefaultPeers;
  std::string strategies = kDefaultStrategies;
  int64_t steps = kDefaultSteps;
  int H = kDefaultH;
  std::string model = "transformer";
  std::string data;
  std::string out;
  uint64_t seed = 1;
  int64_t eval_every = 0;
  std::string trainer;
  double stall_timeout_s = 300;
  bool plain = false;
};

// "fortunes" and "fashion-mnist" are the trainer's built-in data sets; anything else is a path.
Status check_data(const std::string& data) {
  if (data.empty() || data == "fortunes" || data == "fashion-mnist") return OkStatus();
  std::ifstream in(data);
  if (!in) return InvalidArgument("--data: cannot read '" + data + "' (expected fortunes, fashion-mnist or a readable text file)");
  return OkStatus();
}

}  // namespace

Runner add_swarm_command(CLI::App& app) {
  auto a = std::make_shared<SwarmArgs>();
  app.allow_extras();
  app.footer(
      "Options not listed here are passed to every `loco-train train` unchanged (e.g. --lr 1e-3 "
      "--layers 4; see `loco-train train --help`). Output: a live progress display, then a run "
      "folder with metrics.jsonl, summary.json, plot.svg and table.md.");
  app.add_option("--peers", a->peers, "number of training peers (processes) on loopback")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--strategies", a->strategies,
                 "strategies to run one after the other: ddp, diloco[:H], local-sgd[:H], lofi, demo, "
                 "ddp-topk, ddp-powersgd, each optionally followed by +OPTION=VALUE pairs that go "
                 "to its loco-train peers (e.g. ddp,diloco:100,diloco:100+wire-codec=int8)")
      ->capture_default_str();
  app.add_option("--steps", a->steps, "training steps per peer for each strategy")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--H", a->H, "inner steps between synchronizations (diloco, local-sgd) when a "
                              "strategy does not give its own")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--model", a->model, "transformer, mlp or cnn")->capture_default_str()
      ->check(CLI::IsMember({"transformer", "mlp", "cnn"}));
  app.add_option("--data", a->data,
                 "fortunes, fashion-mnist or a text file (default: fortunes for the transformer, "
                 "fashion-mnist for mlp/cnn)");
  app.add_option("--out", a->out, "run folder (default runs/<UTC time>)");
  app.add_option("--seed", a->seed, "model initialization seed (data order: seed + rank)")
      ->capture_default_str();
  app.add_option("--eval-every", a->eval_every,
                 "validation every N steps (default: steps/10, so each curve has 11 points)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--trainer", a->trainer, "the loco-train binary (default: next to loco)");
  app.add_option("--stall-timeout-s", a->stall_timeout_s,
                 "stop the swarm as hung when no peer writes metrics for this long")
      ->capture_default_str()->check(CLI::Range(1.0, 86400.0));
  app.add_flag("--plain", a->plain, "plain periodic lines even on a terminal (no redrawing)");
  CLI::App* self = &app;
  return [a, self]() -> int {
    const std::string cmd = "loco swarm";
    auto specs = parse_strategies(a->strategies, a->H);
    if (!specs.ok()) {
      std::cerr << cmd << ": --strategies: " << specs.status().message() << "\n";
      return 2;
    }
    std::string trainer = a->trainer.empty() ? default_trainer_path() : a->trainer;
    if (Status s = check_trainer(trainer); !s.ok()) {
      std::cerr << cmd << ": " << s.message() << "\n";
      return 2;
    }
    if (Status s = check_data(a->data); !s.ok()) {
      std::cerr << cmd << ": " << s.message() << "\n";
      return 2;
    }
    std::filesystem::path out = a->out.empty()
        ? std::filesystem::path("runs") / utc_stamp(std::chrono::system_clock::now())
        : std::filesystem::path(a->out);
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) {
      std::cerr << cmd << ": cannot create run folder '" << out.string() << "': " << ec.message() << "\n";
      return 2;
    }
    // The display is the output; keep library logs to warnings unless asked otherwise.
    if (spdlog::get_level() == spdlog::level::info && std::getenv("LOCO_LOG_LEVEL") == nullptr) {
      spdlog::set_level(spdlog::level::warn);
    }
    int64_t eval_every = a->eval_every > 0 ? a->eval_every : std::max<int64_t>(1, a->steps / 10);
    std::vector<std::string> extras = self->remaining();
    RunAllOptions o;
    o.command = cmd;
    o.specs = *specs;
    o.out = out;
    o.baseline = (*specs)[0].label;
    o.base.trainer = trainer;
    o.base.peers = a->peers;
    o.base.tty = !a->plain && stdout_is_tty();
    o.base.stall_timeout_s = a->stall_timeout_s;
    o.base.trainer_args = {"--model", a->model, "--steps", std::to_string(a->steps),
                           "--seed", std::to_string(a->seed),
                           "--eval-every", std::to_string(eval_every)};
    // The data set is always named explicitly, so the run folder's config says what was used.
    std::string data = !a->data.empty() ? a->data : a->model == "transformer" ? "fortunes" : "fashion-mnist";
    o.base.trainer_args.push_back("--data");
    o.base.trainer_args.push_back(data);
    o.base.trainer_args.insert(o.base.trainer_args.end(), extras.begin(), extras.end());
    o.base_config = {{"peers", a->peers}, {"steps", a->steps}, {"model", a->model},
                     {"data", data}, {"seed", a->seed},
                     {"eval_every", eval_every}, {"trainer_args", extras}};
    o.run_info = {{"command", cmd}, {"peers", a->peers}, {"strategies", a->strategies},
                  {"out", out.string()}};
    std::cout << cmd << ": " << a->peers << " peers x " << specs->size() << " strategies ("
              << a->strategies << "), " << a->steps << " steps each, model " << a->model
              << ", run folder " << out.string() << std::endl;
    return run_all(o, nullptr);
  };
}

}  // namespace loco::cli
