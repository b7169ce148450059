// swarm_runner.cc: the I/O shell that runs one strategy's swarm of loco-train children (see
// swarm_runner.h). Polls every 100 ms: tails the metrics files, redraws the display, checks the
// children, the stop flag and the stall watchdog.
#include "swarm_runner.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli_util.h"
#include "common/log.h"
#include "common/process.h"
#include "membership/coordinator.h"
#include "progress.h"

namespace loco::cli {

namespace {

double seconds_since(TimePoint start) {
  return std::chrono::duration<double>(now() - start).count();
}

// The last `n` non-empty lines of a child's output file, indented, for error messages.
std::string output_tail(const std::filesystem::path& path, size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "\n    " + l;
  return out.empty() ? "\n    (no output)" : out;
}

// SIGTERM every running child, wait up to `grace`, then SIGKILL the rest.
void stop_children(std::vector<ChildProcess>& children, std::chrono::seconds grace) {
  for (auto& c : children) {
    if (c.running()) c.signal(SIGTERM).ignore();
  }
  Deadline deadline = Deadline::after(grace);
  for (auto& c : children) {
    if (!c.wait(deadline).ok()) {
      c.signal(SIGKILL).ignore();
      c.wait(Deadline::after(std::chrono::seconds(5))).status().ignore();
    }
  }
}

// What the closing line names: only files with content. With no finished strategy the merged
// metrics, plot and tables have nothing in them, so a failed first run names summary.json and the
// failed strategy's folder of peer logs instead.
std::string run_folder_contents(const std::filesystem::path& out, size_t finished,
                                const std::filesystem::path& failed_dir) {
  std::string names;
  for (const std::string f : {"metrics.jsonl", "summary.json", "plot.svg", "table.md"}) {
    std::error_code ec;
    if (finished == 0 && f != "summary.json") continue;
    const auto size = std::filesystem::file_size(out / f, ec);
    if (ec || size == 0) continue;
    names += (names.empty() ? "" : ", ") + f;
  }
  if (!failed_dir.empty()) {
    names += (names.empty() ? "" : "; ") + std::string("the failed run's peer logs in ") +
             failed_dir.filename().string() + "/";
  }
  return names;
}

// One child's `loco-train train` command line.
std::vector<std::string> trainer_argv(const SwarmRunOptions& o, uint16_t port, const std::string& name,
                                      const std::string& metrics) {
  std::vector<std::string> argv = {o.trainer, "train",
                                   "--coordinator", "127.0.0.1:" + std::to_string(port),
                                   "--name", name,
                                   "--world", std::to_string(o.peers),
                                   "--strategy", o.spec.strategy,
                                   "--metrics", metrics};
  if (o.spec.H > 0) {
    argv.push_back("--H");
    argv.push_back(std::to_string(o.spec.H));
  }
  const std::vector<std::string> args = apply_spec_options(o.trainer_args, o.spec);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// loco-train's complaint without CLI11's "Run with --help" line, which names loco-train's help
// to a user who typed `loco swarm`.
std::string trainer_complaint(const std::string& output) {
  std::string out;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    if (nl == std::string::npos) nl = output.size();
    std::string line = output.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line.find("Run with --help") != std::string::npos) continue;
    if (line.rfind("loco-train: ", 0) == 0) line = line.substr(12);
    out += (out.empty() ? "" : "; ") + line;
  }
  return out.empty() ? "it exited without a message" : out;
}

}  // namespace

Status check_specs(const RunAllOptions& o) {
  struct Check {
    std::string label, log;
    ChildProcess child;
  };
  std::vector<Check> checks;
  const std::string stem = (std::filesystem::temp_directory_path() /
                            ("loco-check-" + std::to_string(::getpid()) + "-")).string();
  Status failure;
  for (size_t i = 0; i < o.specs.size() && failure.ok(); ++i) {
    SwarmRunOptions r = o.base;
    r.spec = o.specs[i];
    std::vector<std::string> argv = trainer_argv(r, 1, "check", stem + "metrics");
    argv.push_back("--check");
    Check c{r.spec.label, stem + std::to_string(i) + ".log", {}};
    auto child = ChildProcess::spawn(argv, c.log);
    if (!child.ok()) {
      failure = child.status().with_context("start " + o.base.trainer + " to check the options");
      break;
    }
    c.child = std::move(child).value();
    checks.push_back(std::move(c));
  }
  for (Check& c : checks) {
    auto exit = c.child.wait(Deadline::after(std::chrono::seconds(120)));
    std::ifstream in(c.log);
    const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::error_code ec;
    std::filesystem::remove(c.log, ec);
    if (!failure.ok()) continue;
    if (!exit.ok()) {
      failure = exit.status().with_context("checking the options of '" + c.label + "'");
    } else if (!exit->exited || exit->code != 0) {
      failure = InvalidArgument("--strategies entry '" + c.label + "': " + trainer_complaint(output) +
                                " (the trainer's options: `loco-train train --help`)");
    }
  }
  return failure;
}

std::string default_trainer_path() {
  return (std::filesystem::path(self_executable()).parent_path() / "loco-train").string();
}

Status check_trainer(const std::string& path) {
  if (::access(path.c_str(), X_OK) != 0) {
    return FailedPrecondition(
        "the trainer '" + path +
        "' is missing or not executable. loco-train is built only with LibTorch: install it "
        "(apt-get install libtorch-dev, or scripts/setup) and rebuild, or pass --trainer PATH");
  }
  return OkStatus();
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition: return 2;
    case StatusCode::kCancelled: return 130;
    default: return 1;
  }
}

Result<StrategyRun> run_swarm_strategy(const SwarmRunOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return FailedPrecondition("cannot create '" + o.dir.string() + "': " + ec.message());

  membership::CoordinatorOptions copts;
  // The trainer's peers may be busy computing for a while between heartbeats on 2 loaded cores.
  copts.config.heartbeat_timeout = std::chrono::seconds(10);
  // A loopback-only swarm needs no secret; the coordinator's warning about that is noise here.
  auto level = spdlog::get_level();
  if (level < spdlog::level::err) spdlog::set_level(spdlog::level::err);
  auto started = membership::Coordinator::start(copts);
  spdlog::set_level(level);
  if (!started.ok()) return started.status().with_context("start coordinator");
  std::unique_ptr<membership::Coordinator> coord = std::move(started).value();

  const TimePoint start = now();
  std::vector<ChildProcess> children;
  std::vector<MetricsTail> tails;
  std::vector<std::string> names;
  std::vector<std::filesystem::path> logs;
  for (int i = 0; i < o.peers; ++i) {
    std::string name = "peer-" + std::to_string(i);
    auto metrics = o.dir / (name + ".jsonl");
    auto log = o.dir / (name + ".log");
    std::filesystem::remove(metrics, ec);
    std::filesystem::remove(log, ec);
    const std::vector<std::string> argv = trainer_argv(o, coord->port(), name, metrics.string());
    auto child = ChildProcess::spawn(argv, log.string());
    if (!child.ok()) {
      stop_children(children, std::chrono::seconds(5));
      coord->stop();
      return child.status().with_context("start " + name);
    }
    children.push_back(std::move(child).value());
    tails.emplace_back(metrics.string());
    names.push_back(name);
    logs.push_back(log);
  }

  ProgressView view;
  view.label = o.spec.label + (o.position.empty() ? "" : " (" + o.position + ")");
  view.names = names;
  view.peers.resize(children.size());
  std::vector<std::vector<MetricEvent>> events(children.size());
  std::vector<bool> exited(children.size(), false);
  size_t drawn_lines = 0;
  double last_draw = -1, last_plain = 0, last_event = 0;
  Status failure;

  auto poll_metrics = [&]() {
    for (size_t i = 0; i < tails.size(); ++i) {
      for (MetricEvent& ev : tails[i].poll()) {
        apply_event(view.peers[i], ev);
        events[i].push_back(std::move(ev));
        last_event = seconds_since(start);
      }
    }
  };
  auto draw = [&](bool force) {
    double t = seconds_since(start);
    view.elapsed_s = t;
    if (o.tty) {
      if (force || t - last_draw >= 0.5) {
        auto lines = format_progress(view);
        std::cout << ansi_redraw(lines, drawn_lines) << std::flush;
        drawn_lines = lines.size();
        last_draw = t;
      }
    } else if (force || t - last_plain >= o.plain_interval_s) {
      std::cout << view.label << "  " << format_duration(t) << "  " << format_aggregate(view)
                << std::endl;
      last_plain = t;
    }
  };

  if (!o.tty) {
    std::cout << view.label << ": " << o.peers << " peers started, coordinator 127.0.0.1:"
              << coord->port() << ", logs in " << o.dir.string() << std::endl;
  }
  while (true) {
    poll_metrics();
    if (stop_requested()) {
      failure = Cancelled("interrupted: stopped all peers");
      break;
    }
    size_t running = 0;
    for (size_t i = 0; i < children.size(); ++i) {
      if (exited[i]) continue;
      if (children[i].running()) {
        ++running;
        continue;
      }
      exited[i] = true;
      auto info = children[i].wait(Deadline::after(std::chrono::seconds(1)));
      if (info.ok() && info->exited && info->code == 0) continue;
      // Ctrl-C on a terminal reaches the children too: their death by SIGINT is the interrupt.
      if (info.ok() && !info->exited && (info->signal == SIGINT || info->signal == SIGTERM)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (stop_requested()) {
          failure = Cancelled("interrupted: stopped all peers");
          break;
        }
      }
      std::string what = info.ok() ? info->to_string() : info.status().to_string();
      std::string msg = names[i] + " " + what + "; the end of its output (" + logs[i].string() +
                        "):" + output_tail(logs[i], 12);
      if (info.ok() && info->exited && info->code == 2) {
        failure = InvalidArgument(msg);
      } else {
        failure = Aborted(msg);
      }
      break;
    }
    if (!failure.ok()) break;
    if (running == 0) break;
    if (seconds_since(start) - last_event > o.stall_timeout_s) {
      failure = DeadlineExceeded("no metrics from any peer for " +
                                 std::to_string(static_cast<int>(o.stall_timeout_s)) +
                                 " s: stopped the swarm as hung; peer output in " + o.dir.string() +
                                 ", e.g.:" + output_tail(logs[0], 8));
      break;
    }
    draw(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!failure.ok()) stop_children(children, std::chrono::seconds(10));
  poll_metrics();
  draw(true);
  if (o.tty) std::cout << std::flush;
  coord->stop();
  if (!failure.ok()) return failure;

  StrategyRun run;
  run.label = o.spec.label;
  run.strategy = o.spec.strategy;
  run.config = o.config;
  run.wall_s = seconds_since(start);
  // Read the files again whole: the final lines were written just before the children exited.
  for (size_t i = 0; i < children.size(); ++i) {
    auto file = read_metrics_file((o.dir / (names[i] + ".jsonl")).string());
    run.peer_events.push_back(file.ok() ? std::move(file->events) : std::move(events[i]));
  }
  return run;
}

bool stdout_is_tty() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && !(term != nullptr && std::string(term) == "dumb");
}

int run_all(const RunAllOptions& o, std::vector<StrategySummary>* summaries) {
  // A typo in the last strategy's options must not cost the runs before it.
  if (Status s = check_specs(o); !s.ok()) {
    std::cerr << o.command << ": " << s.message() << "\n";
    return 2;
  }
  std::vector<StrategyRun> runs;
  int code = 0;
  const TimePoint start = now();
  std::filesystem::path failed_dir;
  for (size_t i = 0; i < o.specs.size(); ++i) {
    SwarmRunOptions r = o.base;
    r.spec = o.specs[i];
    r.dir = o.out / label_slug(r.spec.label);
    r.position = std::to_string(i + 1) + "/" + std::to_string(o.specs.size());
    r.config = o.base_config;
    r.config["strategy"] = r.spec.strategy;
    if (r.spec.H > 0) r.config["H"] = r.spec.H;
    for (const auto& [key, value] : r.spec.options) r.config["options"][key] = value;
    auto run = run_swarm_strategy(r);
    if (!run.ok()) {
      std::cerr << o.command << ": " << r.spec.label << " failed: " << run.status().to_string() << "\n";
      code = exit_code_for(run.status());
      failed_dir = r.dir;
      break;
    }
    runs.push_back(std::move(run).value());
  }
  nlohmann::json info = o.run_info;
  info["wall_s"] = seconds_since(start);
  info["complete"] = code == 0;
  Status written = write_run_folder(o.out.string(), runs, info, o.baseline);
  if (!written.ok()) {
    std::cerr << o.command << ": " << written.to_string() << "\n";
    if (code == 0) code = 1;
  }
  std::vector<StrategySummary> sums;
  for (const auto& run : runs) sums.push_back(summarize(run));
  if (!sums.empty()) {
    std::cout << "\n" << table_text(sums, o.baseline);
  }
  if (written.ok()) {
    std::cout << (code == 0 ? "run folder: " : "partial run folder: ") << o.out.string()
              << " (" << run_folder_contents(o.out, runs.size(), failed_dir) << ")" << std::endl;
  }
  if (summaries != nullptr) *summaries = std::move(sums);
  return code;
}

}  // namespace loco::cli
