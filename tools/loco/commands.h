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
Runner add_worker_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_bench_worker_command(CLI::App& app);

}  // namespace loco::cli
