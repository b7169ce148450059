// cmd_bench_worker.cc: `loco bench-worker`, one peer of `loco bench allreduce` (hidden from help;
// the launcher in cmd_bench.cc starts N of these). It joins the swarm through SwarmPeer, waits for
// the whole world, and for each size runs --warmup all-reduces (fp32 sum; the first is verified
// exactly against the members of its epoch) and --iters timed ones, then writes its per-iteration
// times to <out>.<index>.json. Fault mode (--victim-rank/--victim-op): the peer of that rank asks
// the launcher to SIGKILL it (a request file) just before that op and waits to die; the others
// record the failing op's status and times and retry with the next epoch (the retry idiom).
// Not here: launching, statistics, baselines.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "cli_util.h"
#include "collectives/swarm_peer.h"
#include "commands.h"
#include "swarm_flags.h"

namespace loco::cli {

namespace {

struct BenchWorkerArgs {
  SwarmFlags swarm;
  std::string out;    // results go to <out>.<index>.json
  int index = 0;      // the launcher's number for this process
  int world = 2;
  std::string sizes;  // comma-separated bytes (suffixes allowed)
  int warmup = 2;
  int iters = 20;
  size_t stripes = 2;
  size_t piece_bytes = 0;  // 0: the communicator's default
  bool out_of_place = false;
  std::string payload_checksum = "remote";
  int victim_rank = -1;
  int victim_op = 0;
  std::string kill_request;  // file the victim writes its index to
  std::string all_done;      // the launcher creates it once every peer wrote its results
};

int64_t steady_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double ms_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Exact check of an all-reduce result against the inputs of `members` (peer ids).
bool verify(const std::vector<float>& buf, const std::vector<uint64_t>& members) {
  if (members.empty()) return false;
  float expect[13];
  for (size_t j = 0; j < 13; ++j) {
    expect[j] = 0;
    for (uint64_t id : members) expect[j] += bench::contribution(id, j);
  }
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != expect[i % 13]) return false;
  }
  return true;
}

class BenchWorker {
 public:
  explicit BenchWorker(BenchWorkerArgs args) : args_(std::move(args)) {}
  // The peer goes first: its epoch callback uses mu_ and epochs_.
  ~BenchWorker() { peer_.reset(); }
  int run();

 private:
  Result<collectives::OpStats> all_reduce();
  std::vector<uint64_t> members_of(uint64_t epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    return epochs_[epoch];
  }
  // Runs timed op `k` of the first size in fault mode: refills the inputs, retries after failures.
  int run_fault_op(int k, nlohmann::json& result);

  BenchWorkerArgs args_;
  std::mutex mu_;
  std::map<uint64_t, std::vector<uint64_t>> epochs_;  // epoch -> member peer ids
  std::unique_ptr<collectives::SwarmPeer> peer_;
  std::vector<float> buf_, in_, pristine_;
  nlohmann::json fault_ = nlohmann::json::object();
};

Result<collectives::OpStats> BenchWorker::all_reduce() {
  if (args_.out_of_place) {
    return peer_->comm().all_reduce(in_.data(), buf_.data(), buf_.size(),
                                    collectives::DataType::kF32, collectives::ReduceOp::kSum, 1);
  }
  return peer_->comm().all_reduce(buf_.data(), buf_.size(), collectives::DataType::kF32,
                                  collectives::ReduceOp::kSum, 1);
}

int BenchWorker::run_fault_op(int k, nlohmann::json& result) {
  if (static_cast<int>(peer_->comm().rank()) == args_.victim_rank && fault_.empty()) {
    // Ask the launcher to kill this process now, and wait for it: the survivors are inside op k.
    {
      std::ofstream req(args_.kill_request + ".tmp");
      req << args_.index << "\n";
    }
    std::filesystem::rename(args_.kill_request + ".tmp", args_.kill_request);
    std::this_thread::sleep_for(std::chrono::seconds(30));
    std::cerr << "loco bench-worker: asked to be killed, but still alive\n";
    return 7;
  }
  for (int attempt = 1;; ++attempt) {
    buf_ = pristine_;
    in_ = pristine_;
    const uint64_t epoch = peer_->view().epoch;
    const TimePoint t0 = now();
    auto r = all_reduce();
    const TimePoint t1 = now();
    if (r.ok()) {
      result["times_ms"].push_back(ms_between(t0, t1));
      if (fault_.contains("fail_ns") && !fault_.contains("success_ns")) {
        fault_["success_ns"] = steady_ns(t1);
        fault_["success_op_ms"] = ms_between(t0, t1);
        fault_["success_epoch"] = r->op.epoch;
        fault_["success_world"] = r->world_size;
        fault_["attempts"] = attempt;
        fault_["retry_verified"] = verify(buf_, members_of(r->op.epoch));
        if (!fault_["retry_verified"].get<bool>()) return 4;
      }
      return 0;
    }
    const bool untouched =
        args_.out_of_place
            ? std::memcmp(in_.data(), pristine_.data(), in_.size() * sizeof(float)) == 0
            : std::memcmp(buf_.data(), pristine_.data(), buf_.size() * sizeof(float)) == 0;
    if (!fault_.contains("fail_ns")) {
      fault_["op"] = k;
      fault_["status"] = std::string(status_code_name(r.status().code()));
      fault_["message"] = r.status().message();
      fault_["fail_op_ms"] = ms_between(t0, t1);
      fault_["fail_ns"] = steady_ns(t1);
      fault_["failed_epoch"] = epoch;
      fault_["buffer_untouched"] = untouched;
    }
    if (!untouched) return 5;
    if (!is_retryable(r.status().code()) || attempt >= 20) {
      std::cerr << "loco bench-worker: " << r.status().to_string() << "\n";
      return 6;
    }
    Status next = peer_->wait_next_epoch(epoch, Deadline::after(std::chrono::seconds(30)));
    if (!next.ok()) {
      std::cerr << "loco bench-worker: " << next.to_string() << "\n";
      return 3;
    }
  }
}

int BenchWorker::run() {
  collectives::SwarmPeerOptions opts;
  if (Status s = apply_swarm_flags(args_.swarm, opts); !s.ok()) {
    std::cerr << "loco bench-worker: " << s.message() << "\n";
    return 2;
  }
  auto sizes = bench::parse_sizes(args_.sizes);
  if (sizes.empty()) {
    std::cerr << "loco bench-worker: bad --sizes '" << args_.sizes << "'\n";
    return 2;
  }
  opts.peer.name = "bench-" + std::to_string(args_.index);
  opts.mesh.stripes = args_.stripes;
  opts.mesh.payload_checksum = args_.payload_checksum == "always"  ? collectives::PayloadChecksum::kAlways
                               : args_.payload_checksum == "never" ? collectives::PayloadChecksum::kNever
                                                                   : collectives::PayloadChecksum::kRemoteOnly;
  if (args_.piece_bytes > 0) opts.comm.piece_bytes = args_.piece_bytes;
  opts.peer.on_epoch = [this](const membership::MembershipView& v) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& ids = epochs_[v.epoch];
    ids.clear();
    for (const auto& m : v.members) ids.push_back(m.peer_id);
  };
  auto joined = collectives::SwarmPeer::join(opts);
  if (!joined.ok()) {
    std::cerr << "loco bench-worker: " << joined.status().to_string() << "\n";
    return 1;
  }
  peer_ = std::move(joined).value();
  Status ready = peer_->wait_for_world(args_.world, Deadline::after(std::chrono::seconds(60)));
  if (!ready.ok()) {
    std::cerr << "loco bench-worker: " << ready.to_string() << "\n";
    return 1;
  }
  nlohmann::json report = {{"index", args_.index},
                           {"rank", peer_->comm().rank()},
                           {"world", peer_->comm().world_size()},
                           {"peer_id", peer_->peer_id()},
                           {"results", nlohmann::json::array()}};
  const bool fault_mode = args_.victim_rank >= 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    const size_t count = sizes[s] / sizeof(float);
    pristine_.assign(count, 0.0f);
    for (size_t i = 0; i < count; ++i) pristine_[i] = bench::contribution(peer_->peer_id(), i);
    buf_ = pristine_;
    in_ = pristine_;
    nlohmann::json result = {{"bytes", count * sizeof(float)}, {"times_ms", nlohmann::json::array()}};
    for (int w = 0; w < args_.warmup; ++w) {
      auto r = all_reduce();
      if (!r.ok()) {
        std::cerr << "loco bench-worker: warm-up all-reduce: " << r.status().to_string() << "\n";
        return 1;
      }
      if (w == 0) {
        result["verified"] = verify(buf_, members_of(r->op.epoch));
        result["world"] = r->world_size;
      }
      // Out of place, feed the result back in so both forms see the same growing values.
      if (args_.out_of_place) std::swap(in_, buf_);
    }
    const double cpu0 = bench::cpu_seconds();
    for (int k = 0; k < args_.iters; ++k) {
      if (fault_mode && s == 0 && k >= args_.victim_op && !fault_.contains("success_ns")) {
        int rc = run_fault_op(k, result);
        if (rc != 0) return rc;
        continue;
      }
      const TimePoint t0 = now();
      auto r = all_reduce();
      const TimePoint t1 = now();
      if (!r.ok()) {
        std::cerr << "loco bench-worker: timed all-reduce " << k << ": " << r.status().to_string()
                  << "\n";
        return 1;
      }
      result["times_ms"].push_back(ms_between(t0, t1));
      if (args_.out_of_place) std::swap(in_, buf_);
    }
    result["cpu_s"] = bench::cpu_seconds() - cpu0;
    report["results"].push_back(result);
  }
  if (fault_mode) report["fault"] = fault_;
  const std::string path = args_.out + "." + std::to_string(args_.index) + ".json";
  {
    std::ofstream f(path + ".tmp");
    f << report.dump() << "\n";
  }
  std::filesystem::rename(path + ".tmp", path);
  // Leave only once every peer has its results: a peer that leaves while another is still waiting
  // for the last operation's commit would turn that commit into ABORTED for the slower peer.
  const Deadline until = Deadline::after(std::chrono::seconds(120));
  while (!args_.all_done.empty() && !std::filesystem::exists(args_.all_done) && !until.expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  peer_->leave("bench finished");
  return 0;
}

}  // namespace

Runner add_bench_worker_command(CLI::App& app) {
  app.group("");  // hidden from `loco --help`: started by `loco bench`
  auto args = std::make_shared<BenchWorkerArgs>();
  add_swarm_flags(app, args->swarm);
  app.add_option("--out", args->out, "results go to <out>.<index>.json")->required();
  app.add_option("--index", args->index, "this worker's number");
  app.add_option("--world", args->world, "peers to wait for");
  app.add_option("--sizes", args->sizes, "comma-separated sizes in bytes")->required();
  app.add_option("--warmup", args->warmup, "warm-up all-reduces per size")->check(CLI::Range(1, 1000));
  app.add_option("--iters", args->iters, "timed all-reduces per size")->check(CLI::Range(1, 100000));
  app.add_option("--stripes", args->stripes, "TCP connections per ring link");
  app.add_option("--piece-bytes", args->piece_bytes, "pipeline piece size (0: default)");
  app.add_flag("--out-of-place", args->out_of_place, "use the out-of-place all-reduce");
  app.add_option("--payload-checksum", args->payload_checksum, "always, remote or never")
      ->check(CLI::IsMember({"always", "remote", "never"}));
  app.add_option("--victim-rank", args->victim_rank, "fault mode: the rank to be killed");
  app.add_option("--victim-op", args->victim_op, "fault mode: the timed op it dies at");
  app.add_option("--all-done", args->all_done, "wait for this file before leaving");
  app.add_option("--kill-request", args->kill_request, "fault mode: the victim's request file");
  return [args]() -> int {
    BenchWorker worker(*args);
    return worker.run();
  };
}

}  // namespace loco::cli
