// main.cc: the `loco` command-line tool. Subcommands: coordinator, peer, swarm (the default job:
// a local swarm on loopback). See `loco --help` and `loco <command> --help`.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <string_view>

#include "cli_util.h"
#include "commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"loco: fault-tolerant collectives and low-communication training over poor networks"};
  app.require_subcommand(0, 1);
  std::string log_level = "";
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical or off (env LOCO_LOG_LEVEL; default info)");
  std::map<CLI::App*, loco::cli::Runner> runners;
  auto add = [&](const char* name, const char* help, auto adder) {
    CLI::App* sub = app.add_subcommand(name, help);
    runners[sub] = adder(*sub);
    return sub;
  };
  add("coordinator", "run a coordinator: admits peers, tracks heartbeats and epochs",
      loco::cli::add_coordinator_command);
  add("peer", "join a swarm as a peer and report the membership it sees",
      loco::cli::add_peer_command);
  add("swarm", "the main job: train with N peers on loopback under DDP and DiLoCo, live progress, "
      "run folder with metrics and a plot (default)",
      loco::cli::add_swarm_command);
  add("churn", "membership demo: a coordinator and N idle peers, one killed, one frozen, one added",
      loco::cli::add_churn_command);
  add("worker", "collective test worker: verified all-reduces with retry (for tests)",
      loco::cli::add_worker_command);
  add("bench", "benchmarks (`loco bench --help` lists them)", loco::cli::add_bench_command);
  // Internal commands: runnable, but not listed (CLI11 hides a subcommand whose group is empty).
  add("bench-worker", "one peer of `loco bench`", loco::cli::add_bench_worker_command)->group("");
  add("state-worker", "one peer of a shared-state swarm (tests and bench state)",
      loco::cli::add_state_worker_command)->group("");
  add("secret", "`loco secret new FILE`: write a fresh random swarm secret (mode 0600)",
      loco::cli::add_secret_command);
  add("train", "train one peer against a coordinator (runs loco-train; see `loco train --help`)",
      loco::cli::add_train_command);
  // `loco help` is `loco --help`; `loco help CMD` is `loco CMD --help`.
  if (argc >= 2 && std::string_view(argv[1]) == "help") {
    for (auto& [sub, run] : runners) {
      if (argc >= 3 && sub->get_name() == argv[2]) {
        std::cout << sub->help();
        return 0;
      }
    }
    if (argc >= 3) {
      std::cerr << "loco help: no command '" << argv[2] << "'\n\n" << app.help();
      return 2;
    }
    std::cout << app.help();
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    // An unknown subcommand (or a stray argument): say so and list what there is.
    app.exit(e);
    std::cerr << "\n" << app.help();
    return 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  loco::Status logging = loco::init_logging("loco");
  if (logging.ok() && !log_level.empty()) logging = loco::set_log_level(log_level);
  if (!logging.ok()) {
    std::cerr << "loco: " << logging.to_string() << "\n";
    return 2;
  }
  loco::cli::install_stop_handlers();
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) return run();
  }
  // No subcommand: the default job.
  for (auto& [sub, run] : runners) {
    if (sub->get_name() == "swarm") return run();
  }
  return 0;
}
