// trainer.cc: the training loop, retries, evaluation and checkpoints (see trainer.h).
#include "train/trainer.h"

#include <torch/torch.h>

#include <cstring>

#include "common/clock.h"
#include "common/log.h"
#include "train/checkpoint.h"

namespace loco::train {

namespace {

double seconds_since(TimePoint t0) { return std::chrono::duration<double>(now() - t0).count(); }

}  // namespace

Result<std::unique_ptr<Trainer>> Trainer::make(Model& model, TrainData& data,
                                               optim::Strategy& strategy, optim::Reducer& reducer,
                                               SwarmPort* swarm, MetricsWriter* metrics,
                                               TrainerOptions options) {
  if (options.steps < 1) return InvalidArgument("--steps must be at least 1");
  if (options.eval_every < 0 || options.checkpoint_every < 0) {
    return InvalidArgument("--eval-every and --checkpoint-every must be >= 0");
  }
  if (options.checkpoint_every > 0 && options.checkpoint_dir.empty()) {
    return InvalidArgument("--checkpoint-every needs --checkpoint-dir");
  }
  options.inner.total_steps = options.steps;
  int64_t count = 0;
  for (const auto& p : model.module().parameters()) count += p.numel();
  LOCO_ASSIGN_OR_RETURN(auto inner, InnerOptimizer::make(options.inner, static_cast<size_t>(count)));
  return std::unique_ptr<Trainer>(new Trainer(model, data, strategy, reducer, swarm, metrics,
                                              std::move(options), std::move(inner)));
}

Trainer::Trainer(Model& model, TrainData& data, optim::Strategy& strategy, optim::Reducer& reducer,
                 SwarmPort* swarm, MetricsWriter* metrics, TrainerOptions options,
                 InnerOptimizer inner)
    : model_(model),
      data_(data),
      strategy_(strategy),
      reducer_(reducer),
      swarm_(swarm),
      metrics_(metrics),
      options_(std::move(options)),
      flat_(model.module()),
      inner_(std::move(inner)),
      guard_(reducer) {}

void Trainer::write(const std::string& event, int64_t step, nlohmann::json fields) {
  if (metrics_ == nullptr) return;
  metrics_->set_world(reducer_.world_size());
  metrics_->write(event, step, std::move(fields));
}

template <typename Call>
Status Trainer::with_retry(const char* what, SyncPoint point, int64_t step, Call&& call) {
  for (int attempt = 1;; ++attempt) {
    const uint64_t epoch = swarm_ != nullptr ? swarm_->epoch() : 0;
    guard_.clear_tripped();
    Status s = call();
    if (s.ok()) return s;
    if (!is_retryable(s.code()) || swarm_ == nullptr ||
        attempt >= options_.max_retries) {
      return s.with_context(std::string(what) + " at step " + std::to_string(step));
    }
    // The guard refused the call before anything was sent: the membership changed since this
    // peer's last state sync, which comes next. Otherwise a real failure: wait for a new epoch.
    if (!guard_.tripped()) {
      LOCO_LOG_WARN("{} at step {} failed ({}); retrying with the next membership", what, step,
                    s.to_string());
      Status waited = swarm_->wait_after(epoch);
      // The new epoch's links may fail too (another change on the way): try again with that one.
      // No new membership in time (DEADLINE_EXCEEDED) stays fatal; a lost coordinator ends
      // within max_retries attempts.
      if (!waited.ok() && waited.code() != StatusCode::kAborted &&
          waited.code() != StatusCode::kUnavailable) {
        return waited;
      }
      ++retries_;
      write("retry", step, {{"status", s.to_string()}, {"call", what}, {"attempt", attempt + 1}});
    }
    if (rendezvous_ != nullptr) {
      auto synced = sync_state(SyncPosition{step, point});
      if (!synced.ok()) {
        const Status& e = synced.status();
        if (!is_retryable(e.code()) || attempt + 1 >= options_.max_retries) {
          return e.with_context(std::string("state sync before ") + what + " at step " +
                                std::to_string(step));
        }
        LOCO_LOG_WARN("state sync before {} at step {} failed ({}); retrying", what, step,
                      e.to_string());
      }
    }
  }
}

Result<SyncPosition> Trainer::sync_state(SyncPosition here) {
  return rendezvous_->sync(here, [&](const SyncRecord& r) {
    write("state_sync", r.position.step,
          {{"revision", r.result.revision}, {"role", wire::sync_strategy_name(r.role)},
           {"call", sync_point_name(r.position.point)}, {"epoch", r.epoch},
           {"chunks_fetched", r.result.chunks_fetched}, {"bytes_fetched", r.result.bytes_fetched},
           {"fetch_ms", r.result.fetch_seconds * 1e3}, {"ms", r.ms},
           {"shared_bytes", rendezvous_->state().shared_bytes()}});
  });
}

Status Trainer::enable_state_sync(bool joiner) {
  if (swarm_ == nullptr) return FailedPrecondition("state sync needs a swarm (Trainer::make)");
  LOCO_RETURN_IF_ERROR(init());
  LOCO_ASSIGN_OR_RETURN(rendezvous_,
                        StateRendezvous::make(*swarm_, strategy_, flat_.params(), inner_, joiner));
  guard_.arm(swarm_, rendezvous_->synced_epoch());
  joiner_ = joiner;
  return OkStatus();
}

Status Trainer::join_swarm() {
  SyncPosition pos;
  for (int attempt = 1;; ++attempt) {
    auto r = sync_state(SyncPosition{step_, SyncPoint::kOnGradients});
    if (r.ok()) {
      pos = *r;
      break;
    }
    if (!is_retryable(r.status().code()) || attempt >= options_.max_retries) {
      return r.status().with_context("receiving the swarm's state");
    }
    LOCO_LOG_WARN("receiving the swarm's state failed ({}); retrying", r.status().to_string());
  }
  if (pos.step > options_.steps || (pos.point != SyncPoint::kFinish && pos.step >= options_.steps)) {
    return FailedPrecondition("the swarm is at step " + std::to_string(pos.step) +
                              ", beyond this peer's --steps " + std::to_string(options_.steps));
  }
  step_ = pos.step;
  if (pos.point == SyncPoint::kFinish) {
    step_ = options_.steps;
  } else if (pos.point == SyncPoint::kAfterInnerStep) {
    // The swarm is about to finish step pos.step: take part in its communication without an inner
    // step (DiLoCo: a zero pseudo-gradient, see trainer.h), then train from the next step.
    const uint64_t sent_before = reducer_.bytes_sent();
    LOCO_RETURN_IF_ERROR(with_retry("after_inner_step", SyncPoint::kAfterInnerStep, pos.step, [&] {
      return strategy_.after_inner_step(flat_.params(), pos.step, guard_);
    }));
    step_ = pos.step + 1;
    if (reducer_.bytes_sent() != sent_before) {
      write("sync", pos.step, {{"bytes_sent", reducer_.bytes_sent()}, {"seconds", 0.0},
                               {"params_hash", params_hash(flat_.params())}, {"joined", true}});
    }
  }
  return OkStatus();
}

Status Trainer::init() {
  if (initialized_) return OkStatus();
  LOCO_RETURN_IF_ERROR(strategy_.init(flat_.params()));
  initialized_ = true;
  return OkStatus();
}

Status Trainer::run() {
  LOCO_RETURN_IF_ERROR(init());
  write("start", step_, {{"params", static_cast<int64_t>(flat_.size())}, {"model", model_.name()},
                         {"steps", options_.steps}, {"join", joiner_}});
  if (joiner_ && rendezvous_ != nullptr) LOCO_RETURN_IF_ERROR(join_swarm());
  LOCO_RETURN_IF_ERROR(run_steps(options_.steps));
  return finish();
}

Status Trainer::run_steps(int64_t until) {
  LOCO_RETURN_IF_ERROR(init());
  until = std::min(until, options_.steps);
  for (; step_ < until;) {
    const int64_t step = step_;
    const TimePoint t0 = now();
    flat_.zero_grads();
    Batch batch = data_.train_batch(data_position_);
    torch::Tensor loss = model_.loss(batch);
    loss.backward();
    last_loss_ = loss.item<double>();
    compute_s_ += seconds_since(t0);

    // Clipping: of the averaged gradient (as data-parallel training does), or of the local one
    // when the strategy outputs a fixed-scale direction (DeMo's signs).
    const bool clip_first = strategy_.clip_before_on_gradients();
    if (clip_first) clip_grad_norm(flat_.grads(), options_.inner.clip);
    const uint64_t sent_before = reducer_.bytes_sent();
    TimePoint c0 = now();
    LOCO_RETURN_IF_ERROR(with_retry("on_gradients", SyncPoint::kOnGradients, step, [&] {
      return strategy_.on_gradients(flat_.grads(), step, guard_);
    }));
    double comm = seconds_since(c0);

    const TimePoint t1 = now();
    if (!clip_first) clip_grad_norm(flat_.grads(), options_.inner.clip);
    const double lr = scheduled_lr(inner_.options(), step);
    inner_.step(flat_.params(), flat_.grads(), lr);
    compute_s_ += seconds_since(t1);

    c0 = now();
    LOCO_RETURN_IF_ERROR(with_retry("after_inner_step", SyncPoint::kAfterInnerStep, step, [&] {
      return strategy_.after_inner_step(flat_.params(), step, guard_);
    }));
    comm += seconds_since(c0);
    comm_s_ += comm;

    ++data_position_;
    tokens_ += batch.units;
    step_ = step + 1;

    if (reducer_.bytes_sent() != sent_before) {
      write("sync", step, {{"bytes_sent", reducer_.bytes_sent()}, {"seconds", comm},
                           {"params_hash", params_hash(flat_.params())}});
    }
    const double t = metrics_ != nullptr ? metrics_->elapsed_s() : 0.0;
    if (step == 0 || step_ == options_.steps || t - last_step_line_t_ >= options_.step_line_interval_s) {
      last_step_line_t_ = t;
      write("step", step, {{"loss", last_loss_}, {"lr", lr}, {"tokens", tokens_},
                           {"bytes_sent", reducer_.bytes_sent()},
                           {"bytes_received", reducer_.bytes_received()},
                           {"compute_s", compute_s_}, {"comm_s", comm_s_}});
    }
    if (options_.eval_every > 0 && step_ % options_.eval_every == 0 && step_ < options_.steps) {
      last_eval_ = evaluate();
      nlohmann::json f = {{"val_loss", last_eval_.loss}, {"bytes_sent", reducer_.bytes_sent()},
                          {"tokens", tokens_}};
      if (last_eval_.accuracy >= 0) f["val_acc"] = last_eval_.accuracy;
      write("eval", step_, std::move(f));
    }
    if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) {
      LOCO_RETURN_IF_ERROR(save(checkpoint_path(options_.checkpoint_dir)));
    }
  }
  return OkStatus();
}

Status Trainer::finish() {
  const uint64_t sent_before = reducer_.bytes_sent();
  const TimePoint c0 = now();
  LOCO_RETURN_IF_ERROR(with_retry("finish", SyncPoint::kFinish, step_, [&] {
    return strategy_.finish(flat_.params(), guard_);
  }));
  const double comm = seconds_since(c0);
  comm_s_ += comm;
  if (reducer_.bytes_sent() != sent_before) {
    write("sync", step_, {{"bytes_sent", reducer_.bytes_sent()}, {"seconds", comm},
                          {"params_hash", params_hash(flat_.params())}, {"final", true}});
  }
  last_eval_ = evaluate();
  nlohmann::json eval = {{"val_loss", last_eval_.loss}, {"bytes_sent", reducer_.bytes_sent()},
                         {"tokens", tokens_}};
  if (last_eval_.accuracy >= 0) eval["val_acc"] = last_eval_.accuracy;
  write("eval", step_, eval);
  nlohmann::json done = {{"val_loss", last_eval_.loss},
                         {"bytes_sent", reducer_.bytes_sent()},
                         {"bytes_received", reducer_.bytes_received()},
                         {"tokens", tokens_},
                         {"wall_s", metrics_ != nullptr ? metrics_->elapsed_s() : 0.0},
                         {"compute_s", compute_s_},
                         {"comm_s", comm_s_},
                         {"retries", retries_},
                         {"params_hash", params_hash(flat_.params())}};
  if (last_eval_.accuracy >= 0) done["val_acc"] = last_eval_.accuracy;
  write("done", step_, std::move(done));
  if (options_.checkpoint_every > 0) LOCO_RETURN_IF_ERROR(save(checkpoint_path(options_.checkpoint_dir)));
  return OkStatus();
}

EvalResult Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  EvalResult r;
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (const Batch& b : data_.validation()) {
    auto logits = model_.logits(b.x);
    auto flat_logits = logits.reshape({-1, logits.size(-1)});
    auto target = b.y.reshape({-1});
    loss_sum += torch::nn::functional::cross_entropy(
                    flat_logits, target,
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    if (model_.is_classifier()) correct += flat_logits.argmax(-1).eq(target).sum().item<int64_t>();
    r.units += b.units;
  }
  if (r.units > 0) {
    r.loss = loss_sum / static_cast<double>(r.units);
    if (model_.is_classifier()) r.accuracy = static_cast<double>(correct) / static_cast<double>(r.units);
  }
  return r;
}

Status Trainer::save(const std::string& path) {
  Checkpoint c;
  c.scalars["step"] = step_;
  c.scalars["data_position"] = data_position_;
  c.scalars["tokens"] = tokens_;
  c.scalars["inner_steps_taken"] = inner_.steps_taken();
  auto params = flat_.params();
  c.buffers["params"].assign(params.begin(), params.end());
  for (auto& b : inner_.state_buffers()) c.buffers[b.name].assign(b.data.begin(), b.data.end());
  for (auto& b : strategy_.state_buffers()) {
    c.buffers["strategy." + b.name].assign(b.data.begin(), b.data.end());
  }
  return write_checkpoint(path, c);
}

Status Trainer::resume(const std::string& path) {
  LOCO_RETURN_IF_ERROR(init());
  LOCO_ASSIGN_OR_RETURN(Checkpoint c, read_checkpoint(path));
  auto bad = [&](const std::string& what) {
    return InvalidArgument("checkpoint " + path + " does not fit this run: " + what);
  };
  // Every destination with its size, checked before anything is written.
  std::vector<optim::StateBuffer> dest = {{"params", flat_.params()}};
  for (auto& b : inner_.state_buffers()) dest.push_back(b);
  for (auto& b : strategy_.state_buffers()) dest.push_back({"strategy." + b.name, b.data});
  for (const auto& d : dest) {
    auto it = c.buffers.find(d.name);
    if (it == c.buffers.end()) return bad("no buffer '" + d.name + "'");
    if (it->second.size() != d.data.size()) {
      return bad("buffer '" + d.name + "' has " + std::to_string(it->second.size()) +
                 " floats, this model needs " + std::to_string(d.data.size()));
    }
  }
  for (const char* k : {"step", "data_position", "tokens", "inner_steps_taken"}) {
    if (c.scalars.find(k) == c.scalars.end()) return bad(std::string("no scalar '") + k + "'");
  }
  for (const auto& d : dest) {
    const auto& src = c.buffers[d.name];
    std::memcpy(d.data.data(), src.data(), src.size() * sizeof(float));
  }
  step_ = c.scalars["step"];
  data_position_ = c.scalars["data_position"];
  tokens_ = c.scalars["tokens"];
  inner_.set_steps_taken(c.scalars["inner_steps_taken"]);
  return OkStatus();
}

}  // namespace loco::train
