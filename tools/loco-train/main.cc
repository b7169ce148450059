// main.cc: `loco-train`, the LibTorch training peer (the only binary that links LibTorch; `loco`
// stays light and forwards `loco train` here). Subcommand `train`: joins a swarm through its
// coordinator and trains one peer's share (src/train/session.h). Options and metrics are the
// contract in docs/trainer.md. Exit codes: 0 done, 2 bad options or data, 1 runtime error.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <iostream>

#include "cli_util.h"
#include "swarm_flags.h"
#include "common/log.h"
#include "optim/factory.h"
#include "train/session.h"

namespace {

struct Args {
  loco::cli::SwarmFlags swarm;
  std::string name;
  std::string data;
  std::string inner = "adamw";
  std::string checkpoint_dir;
  int64_t checkpoint_every = 0;
  bool resume = false;
  int64_t batch_tokens = 1024;
  int64_t batch = 64;
  int64_t eval_tokens = 16384;
  int64_t h = 50;
};

std::string strategy_help() {
  std::string out = "communication strategy:";
  for (const auto& s : loco::optim::strategy_catalog()) {
    out += "\n  " + std::string(s.name) + ": " + std::string(s.summary);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loco-train: one LibTorch training peer of a loco swarm"};
  app.require_subcommand(1, 1);
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical or off (env LOCO_LOG_LEVEL; default info)");
  CLI::App* train = app.add_subcommand("train", "train one peer against a coordinator");
  Args a;
  loco::train::SessionConfig c;
  c.strategy.h = 50;
  loco::cli::add_swarm_flags(*train, a.swarm);
  train->add_option("--name", a.name, "peer name for logs [peer-<pid>]");
  train->add_option("--world", c.world, "wait for this many members before step 0")
      ->capture_default_str()->check(CLI::PositiveNumber);
  train->add_flag("--join", c.join,
                  "join a swarm that is already training: do not wait for --world; receive the "
                  "state (step, parameters or DiLoCo's global copy, optimizer state) from the "
                  "members through a state sync, then train from the swarm's step");
  train->add_option("--strategy", c.strategy.name, strategy_help())->capture_default_str();
  train->add_option("--H", a.h, "inner steps per sync (diloco, local-sgd)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  train->add_option("--outer-lr", c.strategy.outer_lr, "DiLoCo outer learning rate")->capture_default_str();
  train->add_option("--outer-momentum", c.strategy.outer_momentum, "DiLoCo outer momentum (0: none)")
      ->capture_default_str();
  train->add_option("--nesterov", c.strategy.nesterov, "DiLoCo outer Nesterov momentum (true/false)")
      ->capture_default_str();
  train->add_option("--outer-extra-momenta", c.strategy.extra_outer_momenta,
                    "DiLoCo multi-timescale outer momentum: extra coefficients, comma-separated "
                    "(e.g. 0.99; empty: classic)")
      ->delimiter(',');
  train->add_option("--warm-start", c.strategy.warm_start,
                    "DiLoCo: data-parallel steps (gradient all-reduce every step) before the first "
                    "inner round")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--topk-fraction", c.strategy.topk.fraction,
                    "ddp-topk: share of gradient elements each peer sends per step")
      ->capture_default_str();
  train->add_option("--topk-momentum", c.strategy.topk.momentum,
                    "ddp-topk: DGC momentum correction (0: off; > 0 needs --inner sgd)")
      ->capture_default_str();
  train->add_option("--ef-codec", c.strategy.topk.codec,
                    "ddp-topk: the error-fed compressor instead of top-k: randomk:fraction=F, "
                    "sign:block=B, or any codec spec")
      ->capture_default_str();
  train->add_option("--powersgd-rank", c.strategy.powersgd.rank, "ddp-powersgd: approximation rank")
      ->capture_default_str();
  train->add_option("--demo-chunk", c.strategy.demo.chunk, "demo: DCT chunk size (elements)")
      ->capture_default_str();
  train->add_option("--demo-topk", c.strategy.demo.topk, "demo: DCT coefficients sent per chunk")
      ->capture_default_str();
  train->add_option("--demo-decay", c.strategy.demo.decay, "demo: momentum decay")
      ->capture_default_str();
  train->add_option("--wire-codec", c.strategy.wire_codec,
                    "pseudo-gradient/all-reduce wire codec (diloco, local-sgd, ddp): fp16, bf16, "
                    "int8[:block=N], int4[:block=N]; empty = fp32");
  train->add_option("--model", c.model.kind, "transformer, mlp or cnn")->capture_default_str()
      ->check(CLI::IsMember({"transformer", "mlp", "cnn"}));
  train->add_option("--layers", c.model.layers, "transformer layers")->capture_default_str();
  train->add_option("--width", c.model.width, "transformer width")->capture_default_str();
  train->add_option("--heads", c.model.heads, "transformer attention heads")->capture_default_str();
  train->add_option("--context", c.model.context, "transformer context (bytes)")->capture_default_str();
  train->add_option("--data", a.data,
                    "fortunes, fashion-mnist or a PATH (a text file or a directory of fortune files "
                    "for the transformer; a directory of Fashion-MNIST idx .gz files for mlp/cnn) "
                    "[fortunes for transformer, fashion-mnist for mlp/cnn]");
  train->add_option("--steps", c.trainer.steps, "inner steps to train")->capture_default_str()
      ->check(CLI::PositiveNumber);
  train->add_option("--batch-tokens", a.batch_tokens, "transformer: tokens per peer step")
      ->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--batch", a.batch, "mlp/cnn: samples per peer step")->capture_default_str()
      ->check(CLI::PositiveNumber);
  train->add_option("--inner", a.inner, "inner optimizer: adamw or sgd")->capture_default_str()
      ->check(CLI::IsMember({"adamw", "sgd"}));
  train->add_option("--lr", c.trainer.inner.lr, "peak inner learning rate")->capture_default_str();
  train->add_option("--warmup", c.trainer.inner.warmup, "linear warmup steps")->capture_default_str();
  train->add_option("--min-lr-ratio", c.trainer.inner.min_lr_ratio, "cosine decays to lr times this")
      ->capture_default_str();
  train->add_option("--weight-decay", c.trainer.inner.weight_decay, "AdamW decoupled weight decay")
      ->capture_default_str();
  train->add_option("--clip", c.trainer.inner.clip, "global gradient-norm clip (0: off)")
      ->capture_default_str();
  train->add_option("--seed", c.seed, "model init seed (same on all peers); data order uses seed + rank")
      ->capture_default_str();
  train->add_option("--eval-every", c.trainer.eval_every, "validation every N steps (and at the end; 0: end only)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--eval-tokens", a.eval_tokens, "validation tokens (transformer) or samples (mlp/cnn)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--metrics", c.metrics_path, "append metrics here as JSON lines");
  train->add_option("--checkpoint-dir", a.checkpoint_dir, "directory for checkpoint.bin");
  train->add_option("--checkpoint-every", a.checkpoint_every, "save a checkpoint every N steps (0: never)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_flag("--resume", a.resume, "resume from <checkpoint-dir>/checkpoint.bin");
  train->add_flag("--check", c.check_only,
                  "check every option and the data set, print 'options ok' and exit (0) without joining");
  train->add_option("--threads", c.threads, "LibTorch intra-op threads")->capture_default_str()
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  loco::Status logging = loco::init_logging("loco-train");
  if (logging.ok() && !log_level.empty()) logging = loco::set_log_level(log_level);
  if (!logging.ok()) {
    std::cerr << "loco-train: " << logging.to_string() << "\n";
    return 2;
  }

  if (loco::Status s = loco::cli::apply_swarm_flags(a.swarm, c.swarm); !s.ok()) {
    std::cerr << "loco-train: " << s.message() << "\n";
    return 2;
  }
  c.swarm.peer.name = a.name.empty() ? "peer-" + std::to_string(::getpid()) : a.name;
  // A sync waits for the slowest peer, and peers drift apart between syncs (lo-fi syncs once, after
  // the whole run): give operations two minutes before calling a peer hung. Dead peers are still
  // noticed at once (their connections close).
  c.swarm.comm.deadline.base = std::chrono::seconds(120);
  c.strategy.h = a.h;
  c.data.source = a.data;
  c.data.batch_tokens = a.batch_tokens;
  c.data.batch = a.batch;
  c.data.eval_units = a.eval_tokens;
  c.data.seed = c.seed;
  c.trainer.inner.kind = a.inner;
  c.trainer.checkpoint_dir = a.checkpoint_dir;
  c.trainer.checkpoint_every = a.checkpoint_every;
  c.resume = a.resume;
  return loco::train::run_session(c);
}
