// swarm_runner.h: runs one strategy of a local training swarm: hosts a coordinator in this process,
// spawns N `loco-train train` children on loopback with their metrics files in a folder, shows
// their progress live (redrawn in place on a terminal, periodic plain lines otherwise), and
// returns every peer's events once all children have exited. A child that fails stops the others
// and its message comes back in the error; Ctrl-C (stop_requested) stops all children cleanly; a
// swarm that writes no metrics for `stall_timeout_s` is stopped as hung. Shared by `loco swarm`
// and `loco bench loss-per-byte`. Not here: option parsing, the run folder's files (run_folder.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "run_folder.h"

namespace loco::cli {

struct SwarmRunOptions {
  std::string trainer;              // path of the loco-train binary
  int peers = 2;
  StrategySpec spec;
  std::vector<std::string> trainer_args;  // appended to every child's command line
  std::filesystem::path dir;        // peer-<i>.jsonl (metrics) and peer-<i>.log (output) go here
  std::string position;             // shown in the display, e.g. "1/2"
  bool tty = false;                 // redraw in place with ANSI
  double plain_interval_s = 10;     // non-TTY: one aggregate line this often
  double stall_timeout_s = 300;
  nlohmann::json config = nlohmann::json::object();
};

// The trainer next to this executable: dirname(self_executable()) + "/loco-train".
std::string default_trainer_path();
// FAILED_PRECONDITION with an explanation when `path` is not an executable file.
Status check_trainer(const std::string& path);

// Exit codes: a child's exit 2 (bad options or data) comes back as INVALID_ARGUMENT, Ctrl-C as
// CANCELLED, a hang as DEADLINE_EXCEEDED, any other failure as ABORTED; the message names the peer
// and quotes the end of its output.
Result<StrategyRun> run_swarm_strategy(const SwarmRunOptions& options);

// The process exit code for a run_swarm_strategy error.
int exit_code_for(const Status& status);

// Several strategies one after the other, then the run folder and the table.
struct RunAllOptions {
  std::string command;                // "loco swarm", for messages
  std::vector<StrategySpec> specs;
  SwarmRunOptions base;               // trainer, peers, trainer_args, tty, timeouts
  nlohmann::json base_config = nlohmann::json::object();  // each run's config adds strategy and H
  std::filesystem::path out;          // the run folder; a sub-folder per strategy for peer files
  nlohmann::json run_info = nlohmann::json::object();
  std::string baseline;               // the table's baseline label
};
// Checks every spec's trainer options before anything starts (`loco-train train --check`, all
// specs at once): INVALID_ARGUMENT naming the entry and quoting the trainer's message.
Status check_specs(const RunAllOptions& options);
// Runs every spec (after check_specs); writes the run folder (also after a failure, with the runs that finished) and
// prints the table. Returns the process exit code; `summaries` gets the finished runs' summaries.
int run_all(const RunAllOptions& options, std::vector<StrategySummary>* summaries);

// True when stdout is a terminal that understands ANSI (not TERM=dumb).
bool stdout_is_tty();

}  // namespace loco::cli
