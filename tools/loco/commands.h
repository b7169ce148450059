// commands.h: the `loco` subcommands. Each registers its options on a CLI11 app and returns the
// function that runs it (its exit code).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace loco::cli {

using Runner = std::function<int()>;

Runner add_coordinator_command(CLI::App& app);
Runner add_peer_command(CLI::App& app);
Runner add_swarm_command(CLI::App& app);
Runner add_churn_command(CLI::App& app);
Runner add_worker_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_bench_worker_command(CLI::App& app);
Runner add_state_worker_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_secret_command(CLI::App& app);

// `loco bench <name>` subcommands register themselves from their own file (cmd_bench.cc adds them):
//   namespace { Runner add_state(CLI::App& sub) { /* sub.add_option(...) */ return [] { return 0; }; }
//   [[maybe_unused]] const bool kRegistered =
//       register_bench_subcommand("state", "what it measures", &add_state); }
// `add` receives the subcommand's app, registers its options there and returns its runner.
using SubcommandAdder = Runner (*)(CLI::App& sub);
bool register_bench_subcommand(const char* name, const char* help, SubcommandAdder add);

}  // namespace loco::cli
