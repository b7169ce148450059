// cmd_bench.cc: the `loco bench` command and its registry of benchmark subcommands. Each benchmark
// lives in its own file(s) and registers itself there (see register_bench_subcommand in
// commands.h); `loco bench` adds every registered one, sorted by name, and runs the one chosen.
// Not here: any benchmark (cmd_bench_allreduce.cc is `loco bench allreduce`).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"

namespace loco::cli {

namespace {

struct BenchEntry {
  std::string name;
  std::string help;
  SubcommandAdder add;
};

// Function-local, so registrations from other files' static initializers find it constructed.
std::vector<BenchEntry>& registry() {
  static std::vector<BenchEntry> entries;
  return entries;
}

}  // namespace

bool register_bench_subcommand(const char* name, const char* help, SubcommandAdder add) {
  registry().push_back({name, help, add});
  return true;
}

Runner add_bench_command(CLI::App& app) {
  app.require_subcommand(1, 1);
  std::vector<BenchEntry> entries = registry();
  std::sort(entries.begin(), entries.end(),
            [](const BenchEntry& a, const BenchEntry& b) { return a.name < b.name; });
  auto runners = std::make_shared<std::vector<std::pair<CLI::App*, Runner>>>();
  for (const BenchEntry& e : entries) {
    CLI::App* sub = app.add_subcommand(e.name, e.help);
    runners->emplace_back(sub, e.add(*sub));
  }
  return [runners]() -> int {
    for (auto& [sub, run] : *runners) {
      if (sub->parsed()) return run();
    }
    return 2;
  };
}

}  // namespace loco::cli
