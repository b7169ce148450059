// The training loop with an in-process strategy and reducer (world 1): loss falls, metrics lines,
// a retryable failure is retried after a new membership with unchanged results, a fatal one stops
// training, and a checkpoint resumes bit-identically (parameters, optimizer, strategy state, data).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "support/swarm_harness.h"
#include "train/batches.h"
#include "train/trainer.h"

namespace loco::train {
namespace {

using loco::testing::TempDir;

// Averaging over a world of one, counting bytes; fails the calls listed in `fail_calls`.
class LocalReducer final : public optim::Reducer {
 public:
  Status all_reduce_avg(std::span<float> data) override {
    ++calls_;
    if (fail_calls_.count(calls_) != 0) return fail_with_;
    sent_ += data.size_bytes();
    return OkStatus();
  }
  int world_size() const override { return 1; }
  uint64_t bytes_sent() const override { return sent_; }
  uint64_t bytes_received() const override { return sent_; }
  std::set<int> fail_calls_;
  Status fail_with_ = Aborted("test: epoch replaced");
  int calls_ = 0;
  uint64_t sent_ = 0;
};

// Every H steps: params <- (params + anchor) / 2 after an all-reduce, anchor <- params. The
// anchor is state a checkpoint must carry; every step's gradients go through the reducer too.
class AnchorStrategy final : public optim::Strategy {
 public:
  explicit AnchorStrategy(int64_t h) : h_(h) {}
  std::string name() const override { return "anchor"; }
  Status init(std::span<const float> params) override {
    anchor_.assign(params.begin(), params.end());
    return OkStatus();
  }
  Status on_gradients(std::span<float> grads, int64_t, optim::Reducer& r) override {
    return r.all_reduce_avg(grads);
  }
  Status after_inner_step(std::span<float> params, int64_t step, optim::Reducer& r) override {
    if (!syncs_after(step)) return OkStatus();
    LOCO_RETURN_IF_ERROR(r.all_reduce_avg(params));
    for (size_t i = 0; i < params.size(); ++i) {
      params[i] = 0.5f * (params[i] + anchor_[i]);
      anchor_[i] = params[i];
    }
    return OkStatus();
  }
  Status finish(std::span<float> params, optim::Reducer& r) override { return r.all_reduce_avg(params); }
  bool syncs_after(int64_t step) const override { return (step + 1) % h_ == 0; }
  std::vector<optim::StateBuffer> state_buffers() override { return {{"anchor", anchor_}}; }

 private:
  int64_t h_;
  std::vector<float> anchor_;
};

// A membership for retries only (the trainer runs no state sync with it).
class CountingWaiter final : public SwarmPort {
 public:
  uint64_t epoch() const override { return epoch_; }
  Status wait_after(uint64_t e) override {
    waited_.push_back(e);
    epoch_ = e + 1;
    return OkStatus();
  }
  uint64_t data_epoch() const override { return epoch_; }
  int world() const override { return 1; }
  Status wait_links() override { return OkStatus(); }
  Result<state::SyncResult> sync(state::SharedState&, state::SyncStrategy) override {
    return Unimplemented("no state sync here");
  }
  uint64_t epoch_ = 3;
  std::vector<uint64_t> waited_;
};

// A small transformer on a text file with some structure to learn.
struct TextSetup {
  TempDir dir;
  std::unique_ptr<DataSource> source;
  std::unique_ptr<TrainData> data;
  ModelConfig model_config;
  TextSetup() {
    std::string text;
    const char* words[] = {"the cat sat on the mat. ", "a dog ran in the park. ",
                           "birds sing in the morning. ", "loco trains over poor networks. "};
    for (int i = 0; i < 3000; ++i) text += words[(i * 7 + i / 3) % 4];
    std::ofstream(dir.file("text.txt")) << text;
    model_config.layers = 1;
    model_config.width = 32;
    model_config.heads = 2;
    model_config.context = 32;
    DataConfig d;
    d.source = dir.file("text.txt");
    d.batch_tokens = 256;
    d.eval_units = 2048;
    auto s = load_data(d, model_config);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    source = std::move(s).value();
    auto shard = source->shard(0, 1);
    EXPECT_TRUE(shard.ok());
    data = std::move(shard).value();
  }
  TrainerOptions options(int64_t steps) const {
    TrainerOptions o;
    o.steps = steps;
    o.eval_every = 10;
    o.inner.lr = 1e-2;
    o.inner.warmup = 5;
    return o;
  }
};

TEST(Trainer, LossFallsAndMetricsLinesHaveTheContractFields) {
  TextSetup s;
  auto model = make_model(s.model_config, 1);
  ASSERT_TRUE(model.ok());
  AnchorStrategy strategy(5);
  LocalReducer reducer;
  auto metrics = MetricsWriter::open(s.dir.file("m.jsonl"));
  ASSERT_TRUE(metrics.ok());
  (*metrics)->set_strategy("anchor");
  auto trainer = Trainer::make(**model, *s.data, strategy, reducer, nullptr, metrics->get(), s.options(40));
  ASSERT_TRUE(trainer.ok()) << trainer.status().to_string();
  const double before = (*trainer)->evaluate().loss;
  EXPECT_NEAR(before, std::log(256.0), 0.3);  // untrained: about uniform over bytes
  ASSERT_TRUE((*trainer)->run().ok());
  EXPECT_LT((*trainer)->last_eval().loss, before - 1.5);
  EXPECT_EQ((*trainer)->step(), 40);
  EXPECT_EQ((*trainer)->tokens(), 40 * 256);

  auto lines = loco::testing::read_reports(s.dir.file("m.jsonl"));
  std::map<std::string, int> count;
  for (auto& l : lines) {
    for (const char* f : {"event", "t", "rank", "world", "strategy", "step"}) {
      EXPECT_TRUE(l.contains(f)) << f << " in " << l.dump();
    }
    count[l["event"]]++;
    if (l["event"] == "step") {
      for (const char* f : {"loss", "lr", "tokens", "bytes_sent", "bytes_received", "compute_s", "comm_s"}) {
        EXPECT_TRUE(l.contains(f)) << f;
      }
    }
    if (l["event"] == "sync") {
      EXPECT_TRUE(l.contains("params_hash") && l.contains("seconds") && l.contains("bytes_sent"));
    }
  }
  EXPECT_EQ(count["start"], 1);
  EXPECT_EQ(count["sync"], 41);  // every step (gradients) plus the finish
  EXPECT_EQ(count["eval"], 4);   // steps 10, 20, 30 and the final one
  EXPECT_EQ(count["done"], 1);
  EXPECT_GE(count["step"], 2);
  EXPECT_EQ(lines.back()["event"], "done");
  EXPECT_EQ(lines.back()["params_hash"], params_hash((*trainer)->params()));
  EXPECT_EQ(lines.back()["bytes_sent"].get<uint64_t>(), reducer.bytes_sent());
}

std::vector<float> train_with(TextSetup& s, int64_t steps, LocalReducer& reducer, SwarmPort* waiter,
                              Status* status_out = nullptr, int64_t* retries = nullptr) {
  auto model = make_model(s.model_config, 1);
  AnchorStrategy strategy(4);
  auto trainer = Trainer::make(**model, *s.data, strategy, reducer, waiter, nullptr, s.options(steps));
  Status st = (*trainer)->run();
  if (status_out != nullptr) *status_out = st;
  if (retries != nullptr) *retries = (*trainer)->retries();
  auto p = (*trainer)->params();
  return {p.begin(), p.end()};
}

TEST(Trainer, RetryableFailureIsRetriedAfterTheNextMembership) {
  TextSetup s;
  LocalReducer clean;
  auto expected = train_with(s, 12, clean, nullptr);
  LocalReducer flaky;
  flaky.fail_calls_ = {3, 9, 10};  // gradients of step 2, then of step 6 twice in a row
  CountingWaiter waiter;
  Status st;
  int64_t retries = 0;
  auto got = train_with(s, 12, flaky, &waiter, &st, &retries);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(retries, 3);
  EXPECT_EQ(waiter.waited_, (std::vector<uint64_t>{3, 4, 5}));
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0);

  LocalReducer broken;
  broken.fail_calls_ = {2};
  broken.fail_with_ = Internal("test: not retryable");
  CountingWaiter w2;
  train_with(s, 12, broken, &w2, &st);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_NE(st.message().find("on_gradients at step 1"), std::string::npos) << st.message();
  EXPECT_TRUE(w2.waited_.empty());
  LocalReducer no_waiter;
  no_waiter.fail_calls_ = {2};
  train_with(s, 12, no_waiter, nullptr, &st);
  EXPECT_EQ(st.code(), StatusCode::kAborted);  // without a membership to wait for: fatal
}

// A membership for the trainer's state rendezvous in a world of one: the epoch moves on when the
// test says so; a "sync" changes nothing (this peer is the whole majority) but records where the
// trainer was; the links follow the view at wait_links.
class FakeSwarm final : public SwarmPort {
 public:
  uint64_t epoch() const override { return epoch_; }
  Status wait_after(uint64_t e) override {
    waited_.push_back(e);
    epoch_ = std::max(epoch_, e + 1);
    return OkStatus();
  }
  uint64_t data_epoch() const override { return data_epoch_; }
  int world() const override { return 1; }
  Result<state::SyncResult> sync(state::SharedState& st, state::SyncStrategy role) override {
    roles_.push_back(role);
    state::SyncResult r;
    r.revision = st.revision();
    return r;
  }
  Status wait_links() override {
    data_epoch_ = epoch_;
    return OkStatus();
  }
  uint64_t epoch_ = 7;
  uint64_t data_epoch_ = 7;
  std::vector<uint64_t> waited_;
  std::vector<state::SyncStrategy> roles_;
};

// Moves the fake swarm to a new epoch right after its `at`-th all-reduce (which succeeds).
class EpochBumpingReducer final : public optim::Reducer {
 public:
  EpochBumpingReducer(FakeSwarm& swarm, std::set<int> at) : swarm_(swarm), at_(std::move(at)) {}
  Status all_reduce_avg(std::span<float> data) override {
    Status s = inner_.all_reduce_avg(data);
    if (at_.count(inner_.calls_) != 0) {
      ++swarm_.epoch_;
      ++swarm_.data_epoch_;
    }
    return s;
  }
  int world_size() const override { return 1; }
  uint64_t bytes_sent() const override { return inner_.bytes_sent(); }
  uint64_t bytes_received() const override { return inner_.bytes_received(); }

 private:
  FakeSwarm& swarm_;
  std::set<int> at_;
  LocalReducer inner_;
};

TEST(Trainer, EpochChangeRunsAStateSyncAtTheNextCollective) {
  TextSetup s;
  LocalReducer clean;
  auto expected = train_with(s, 12, clean, nullptr);

  auto model = make_model(s.model_config, 1);
  AnchorStrategy strategy(4);
  FakeSwarm swarm;
  // Real calls: gradients of steps 0-3 are calls 1-4, step 3's sync is call 5, gradients of
  // steps 4-7 are calls 6-9, step 7's sync is call 10 (refused calls do not count).
  EpochBumpingReducer reducer(swarm, {5, 9});
  auto metrics = MetricsWriter::open(s.dir.file("sync.jsonl"));
  ASSERT_TRUE(metrics.ok());
  auto trainer = Trainer::make(**model, *s.data, strategy, reducer, &swarm, metrics->get(), s.options(12));
  ASSERT_TRUE(trainer.ok());
  ASSERT_TRUE((*trainer)->enable_state_sync(/*joiner=*/false).ok());
  ASSERT_TRUE((*trainer)->run().ok());
  // Training is unchanged, nobody waited for a membership and no retry was counted.
  auto p = (*trainer)->params();
  ASSERT_EQ(p.size(), expected.size());
  EXPECT_EQ(std::memcmp(p.data(), expected.data(), p.size() * sizeof(float)), 0);
  EXPECT_TRUE(swarm.waited_.empty());
  EXPECT_EQ((*trainer)->retries(), 0);
  std::vector<std::pair<int64_t, std::string>> syncs;
  for (auto& l : loco::testing::read_reports(s.dir.file("sync.jsonl"))) {
    EXPECT_NE(l["event"], "retry");
    if (l["event"] == "state_sync") {
      syncs.emplace_back(l["step"].get<int64_t>(), l["call"].get<std::string>());
      EXPECT_EQ(l["role"], "enforce-majority");
      EXPECT_EQ(l["bytes_fetched"], 0);
    }
  }
  // The first collective, then the first collective after each epoch change: after call 5 (step
  // 3's sync) comes step 4's gradients; after call 9 (step 7's gradients), step 7's sync.
  const std::vector<std::pair<int64_t, std::string>> want = {
      {0, "on_gradients"}, {4, "on_gradients"}, {7, "after_inner_step"}};
  EXPECT_EQ(syncs, want);
  EXPECT_EQ(swarm.roles_.size(), 3u);
}

// A strategy that outputs signs (as DeMo does) and says whether the trainer must clip before it.
class SignStrategy final : public optim::Strategy {
 public:
  explicit SignStrategy(bool clip_first) : clip_first_(clip_first) {}
  std::string name() const override { return "sign"; }
  Status init(std::span<const float>) override { return OkStatus(); }
  Status on_gradients(std::span<float> grads, int64_t, optim::Reducer&) override {
    for (float& g : grads) g = g < 0 ? -1.0f : 1.0f;
    return OkStatus();
  }
  Status after_inner_step(std::span<float>, int64_t, optim::Reducer&) override { return OkStatus(); }
  Status finish(std::span<float>, optim::Reducer&) override { return OkStatus(); }
  bool syncs_after(int64_t) const override { return false; }
  bool clip_before_on_gradients() const override { return clip_first_; }
  std::vector<optim::StateBuffer> state_buffers() override { return {}; }

 private:
  bool clip_first_;
};

TEST(Trainer, FixedScaleDirectionsAreNotClipped) {
  // With clip 1.0 and inner SGD at lr 1e-2 (no warmup), one step of a sign strategy that clips
  // first moves every parameter by exactly 1e-2; if the trainer clipped the signs instead, the
  // step would shrink by sqrt(parameter count).
  for (bool clip_first : {true, false}) {
    TextSetup s;
    auto model = make_model(s.model_config, 1);
    ASSERT_TRUE(model.ok());
    SignStrategy strategy(clip_first);
    LocalReducer reducer;
    TrainerOptions o = s.options(1);
    o.inner.kind = "sgd";
    o.inner.warmup = 0;
    o.inner.clip = 1.0;
    auto trainer = Trainer::make(**model, *s.data, strategy, reducer, nullptr, nullptr, o);
    ASSERT_TRUE(trainer.ok()) << trainer.status().to_string();
    ASSERT_TRUE((*trainer)->init().ok());
    std::vector<float> before((*trainer)->params().begin(), (*trainer)->params().end());
    ASSERT_TRUE((*trainer)->run().ok());
    auto after = (*trainer)->params();
    double min_step = 1e9, max_step = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      const double d = std::fabs(static_cast<double>(after[i]) - before[i]);
      min_step = std::min(min_step, d);
      max_step = std::max(max_step, d);
    }
    const double lr = scheduled_lr(o.inner, 0);
    if (clip_first) {
      EXPECT_NEAR(min_step, lr, 1e-4 * lr + 1e-6);
      EXPECT_NEAR(max_step, lr, 1e-4 * lr + 1e-6);
    } else {
      const double shrunk = lr / std::sqrt(static_cast<double>(before.size()));
      EXPECT_NEAR(max_step, shrunk, 0.01 * shrunk + 1e-7);
    }
  }
}

TEST(Trainer, CheckpointResumeContinuesBitIdentically) {
  TextSetup s;
  LocalReducer r1;
  auto straight = train_with(s, 30, r1, nullptr);

  const std::string ckpt = s.dir.file("ck/checkpoint.bin");
  {
    auto model = make_model(s.model_config, 1);
    AnchorStrategy strategy(4);
    LocalReducer r;
    auto t = Trainer::make(**model, *s.data, strategy, r, nullptr, nullptr, s.options(30));
    ASSERT_TRUE((*t)->run_steps(14).ok());  // mid-way between syncs (anchor state matters)
    ASSERT_TRUE((*t)->save(ckpt).ok());
  }
  auto model = make_model(s.model_config, 99);  // a different init: the checkpoint must overwrite it
  AnchorStrategy strategy(4);
  LocalReducer r;
  auto t = Trainer::make(**model, *s.data, strategy, r, nullptr, nullptr, s.options(30));
  ASSERT_TRUE((*t)->init().ok());
  ASSERT_TRUE((*t)->resume(ckpt).ok());
  EXPECT_EQ((*t)->step(), 14);
  EXPECT_EQ((*t)->data_position(), 14);
  ASSERT_TRUE((*t)->run_steps(30).ok());
  ASSERT_TRUE((*t)->finish().ok());
  auto p = (*t)->params();
  ASSERT_EQ(p.size(), straight.size());
  EXPECT_EQ(std::memcmp(p.data(), straight.data(), p.size() * sizeof(float)), 0);

  // A checkpoint of another model shape is refused with a clear message.
  ModelConfig other = s.model_config;
  other.width = 16;
  auto small = make_model(other, 1);
  AnchorStrategy st2(4);
  auto t2 = Trainer::make(**small, *s.data, st2, r, nullptr, nullptr, s.options(30));
  Status bad = (*t2)->resume(ckpt);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("params"), std::string::npos) << bad.message();
}

TEST(Trainer, MlpLearnsFashionMnistShard) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no dataset";
  ModelConfig mc;
  mc.kind = "mlp";
  DataConfig d;
  d.batch = 64;
  d.eval_units = 2000;
  auto source = load_data(d, mc);
  ASSERT_TRUE(source.ok()) << source.status().to_string();
  auto data = (*source)->shard(1, 3);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)->shard_size(), 20000u);
  auto model = make_model(mc, 1);
  AnchorStrategy strategy(1000);
  LocalReducer r;
  TrainerOptions o;
  o.steps = 60;
  o.eval_every = 0;
  o.inner.lr = 3e-3;
  o.inner.warmup = 5;
  auto t = Trainer::make(**model, **data, strategy, r, nullptr, nullptr, o);
  ASSERT_TRUE((*t)->run().ok());
  EXPECT_GT((*t)->last_eval().accuracy, 0.6);
  EXPECT_EQ((*t)->last_eval().units, 2000);
  // Wrong pairings of model and data are refused before any training.
  ModelConfig lm;
  DataConfig fm;
  fm.source = "fashion-mnist";
  EXPECT_FALSE(load_data(fm, lm).ok());
  DataConfig fortunes;
  fortunes.source = "fortunes";
  EXPECT_FALSE(load_data(fortunes, mc).ok());
}

}  // namespace
}  // namespace loco::train
