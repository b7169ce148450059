// The shared-state rendezvous without a network: the layout per strategy, the sync role, the epoch
// guard in front of the reducer, and the sync loop against a fake port whose "sync" copies the
// chunks that differ from a donor state (as StateSync does for a receiver): a joiner adopts the
// position, the parameters or DiLoCo's global copy and the inner optimizer's state; a member whose
// position differs from the swarm's is refused; a sync repeats while the epoch moves on.
#include <gtest/gtest.h>

#include <cstring>

#include "optim/ddp.h"
#include "optim/diloco.h"
#include "optim/local_sgd.h"
#include "optim/lofi.h"
#include "train/state_rendezvous.h"

namespace loco::train {
namespace {

using state::SyncStrategy;

class CountingReducer final : public optim::Reducer {
 public:
  Status all_reduce_avg(std::span<float> data) override {
    ++calls;
    sent += data.size_bytes();
    return OkStatus();
  }
  Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override {
    ++calls;
    all.assign(mine.begin(), mine.end());
    return OkStatus();
  }
  Status all_reduce_avg_quantized(std::span<float> data, const optim::WireCodec& codec) override {
    ++calls;
    last_codec = codec ? std::string(codec->name()) : "";
    sent += data.size();
    return OkStatus();
  }
  int world_size() const override { return 1; }
  uint64_t bytes_sent() const override { return sent; }
  uint64_t bytes_received() const override { return sent; }
  int calls = 0;
  uint64_t sent = 0;
  std::string last_codec;
};

// A sync copies every shared chunk that differs from `donor` (when set; else nothing changes) and
// agrees on the revision reported; `bump_epoch_on_sync` moves the epoch on during the first N syncs.
class FakePort final : public SwarmPort {
 public:
  uint64_t epoch() const override { return epoch_; }
  uint64_t data_epoch() const override { return data_epoch_; }
  int world() const override { return 2; }
  Result<state::SyncResult> sync(state::SharedState& st, SyncStrategy role) override {
    roles.push_back(role);
    revisions.push_back(st.revision());
    state::SyncResult r;
    if (donor != nullptr) {
      if (donor->layout_digest() != st.layout_digest()) return FailedPrecondition("layout differs");
      for (size_t c = 0; c < st.chunks().size(); ++c) {
        if (st.hash_chunk(c) == donor->hash_chunk(c)) continue;
        auto dst = st.chunk_bytes(c);
        auto src = donor->chunk_bytes(c);
        std::memcpy(dst.data(), src.data(), dst.size());
        ++r.chunks_fetched;
        r.bytes_fetched += dst.size();
      }
    }
    r.revision = role == SyncStrategy::kReceiveOnly && donor != nullptr ? donor->revision() : st.revision();
    st.set_revision(r.revision);
    if (bump_epoch_on_sync > 0) {
      --bump_epoch_on_sync;
      ++epoch_;
    }
    return r;
  }
  Status wait_after(uint64_t) override { return Unimplemented("the rendezvous never waits for an epoch"); }
  Status wait_links() override {
    ++links_waits;
    data_epoch_ = epoch_;
    return OkStatus();
  }

  uint64_t epoch_ = 3;
  uint64_t data_epoch_ = 3;
  const state::SharedState* donor = nullptr;
  int bump_epoch_on_sync = 0;
  int links_waits = 0;
  std::vector<SyncStrategy> roles;
  std::vector<uint64_t> revisions;
};

InnerOptimizer adamw(size_t n) {
  InnerOptions o;
  o.total_steps = 100;
  auto inner = InnerOptimizer::make(o, n);
  EXPECT_TRUE(inner.ok());
  return std::move(inner).value();
}

TEST(StateLayout, PerStrategy) {
  optim::Ddp ddp;
  EXPECT_TRUE(plan_state_layout(ddp).params);
  EXPECT_FALSE(plan_state_layout(ddp).strategy_buffers);
  EXPECT_TRUE(plan_state_layout(ddp).joinable());
  for (int64_t h : {1, 5}) {
    optim::DilocoOptions o;
    o.h = h;
    optim::Diloco diloco(o);
    EXPECT_FALSE(plan_state_layout(diloco).params) << "H=" << h;  // params are local at a sync
    EXPECT_TRUE(plan_state_layout(diloco).strategy_buffers);
    EXPECT_TRUE(plan_state_layout(diloco).joinable());
  }
  optim::LocalSgdOptions lo;
  lo.h = 4;
  optim::LocalSgd local(lo);
  EXPECT_FALSE(plan_state_layout(local).params);
  EXPECT_FALSE(plan_state_layout(local).joinable());
  optim::Lofi lofi;
  EXPECT_FALSE(plan_state_layout(lofi).params);
  EXPECT_FALSE(plan_state_layout(lofi).strategy_buffers);
  EXPECT_FALSE(plan_state_layout(lofi).joinable());
}

TEST(StateLayout, SyncRole) {
  EXPECT_EQ(sync_role(true, 0), SyncStrategy::kReceiveOnly);
  EXPECT_EQ(sync_role(true, 1), SyncStrategy::kEnforceMajority);
  EXPECT_EQ(sync_role(false, 0), SyncStrategy::kEnforceMajority);
}

TEST(GuardedReducer, RefusesOperationsUntilTheEpochIsSynced) {
  CountingReducer inner;
  GuardedReducer guard(inner);
  std::vector<float> v(4, 1.0f);
  EXPECT_TRUE(guard.all_reduce_avg(v).ok());  // not armed: pass-through
  FakePort port;
  uint64_t synced = 2;
  guard.arm(&port, &synced);
  Status s = guard.all_reduce_avg(v);
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_TRUE(guard.tripped());
  std::vector<std::byte> all;
  EXPECT_EQ(guard.all_gather_bytes(std::as_bytes(std::span<float>(v)), all).code(), StatusCode::kAborted);
  EXPECT_EQ(guard.all_reduce_avg_quantized(v, optim::parse_strategy_codec("int8").value()).code(), StatusCode::kAborted);
  EXPECT_EQ(inner.calls, 1);  // nothing reached the reducer
  synced = 3;
  guard.clear_tripped();
  EXPECT_TRUE(guard.all_reduce_avg(v).ok());
  EXPECT_FALSE(guard.tripped());
  EXPECT_EQ(inner.calls, 2);
  // The quantized all-reduce reaches the reducer's own quantized path with its codec (not the
  // fp32 fallback of the Reducer base class).
  EXPECT_TRUE(guard.all_reduce_avg_quantized(v, optim::parse_strategy_codec("int8:block=256").value()).ok());
  EXPECT_EQ(inner.calls, 3);
  EXPECT_EQ(inner.last_codec, "int8:block=256");
  EXPECT_EQ(guard.bytes_sent(), inner.bytes_sent());
}

TEST(StateRendezvous, DilocoJoinerAdoptsGlobalCopyMomentumAndStep) {
  constexpr size_t n = 3000;
  optim::DilocoOptions o;
  o.h = 5;
  // The member: trained for a while (its global copy and momentum are not the initial ones).
  std::vector<float> member_params(n, 0.5f);
  optim::Diloco member(o);
  ASSERT_TRUE(member.init(member_params).ok());
  for (auto& b : member.state_buffers()) {
    for (size_t i = 0; i < b.data.size(); ++i) b.data[i] = 0.25f + 0.001f * static_cast<float>(i);
  }
  InnerOptimizer member_inner = adamw(n);
  FakePort member_port;
  auto m = StateRendezvous::make(member_port, member, member_params, member_inner, false);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_TRUE((*m)->needed());
  auto here = (*m)->sync({14, SyncPoint::kAfterInnerStep}, nullptr);
  ASSERT_TRUE(here.ok()) << here.status().to_string();
  EXPECT_EQ(here->step, 14);
  EXPECT_FALSE((*m)->needed());
  EXPECT_EQ(member_port.roles, std::vector<SyncStrategy>{SyncStrategy::kEnforceMajority});
  EXPECT_EQ(member_port.revisions, std::vector<uint64_t>{1});  // last agreed (none) + 1

  // The joiner: fresh parameters and strategy.
  std::vector<float> joiner_params(n, -1.0f);
  optim::Diloco joiner(o);
  ASSERT_TRUE(joiner.init(joiner_params).ok());
  InnerOptimizer joiner_inner = adamw(n);
  joiner_inner.set_steps_taken(7);
  FakePort port;
  port.donor = &(*m)->state();
  auto j = StateRendezvous::make(port, joiner, joiner_params, joiner_inner, true);
  ASSERT_TRUE(j.ok());
  int records = 0;
  auto pos = (*j)->sync({0, SyncPoint::kOnGradients}, [&](const SyncRecord& r) {
    ++records;
    EXPECT_EQ(r.role, SyncStrategy::kReceiveOnly);
    EXPECT_GT(r.result.bytes_fetched, 0u);
    EXPECT_EQ(r.position.step, 14);
  });
  ASSERT_TRUE(pos.ok()) << pos.status().to_string();
  EXPECT_EQ(records, 1);
  EXPECT_EQ(pos->step, 14);
  EXPECT_EQ(pos->point, SyncPoint::kAfterInnerStep);
  EXPECT_EQ(port.roles, std::vector<SyncStrategy>{SyncStrategy::kReceiveOnly});
  auto mb = member.state_buffers();
  auto jb = joiner.state_buffers();
  ASSERT_EQ(mb.size(), jb.size());
  for (size_t b = 0; b < mb.size(); ++b) {
    EXPECT_EQ(0, std::memcmp(mb[b].data.data(), jb[b].data.data(), mb[b].data.size_bytes())) << mb[b].name;
  }
  // Parameters <- the global copy (not the member's local parameters, which are not shared).
  EXPECT_EQ(0, std::memcmp(joiner_params.data(), joiner.global_params().data(), n * sizeof(float)));
  EXPECT_NE(joiner_params[0], member_params[0]);
  EXPECT_EQ(joiner_inner.steps_taken(), 0);  // fresh moments, fresh bias correction

  // The joiner is a member afterwards: the next epoch's sync votes with revision + 1.
  port.donor = nullptr;
  ++port.epoch_;
  EXPECT_TRUE((*j)->needed());
  ASSERT_TRUE((*j)->sync({19, SyncPoint::kAfterInnerStep}, nullptr).ok());
  EXPECT_EQ(port.roles.back(), SyncStrategy::kEnforceMajority);
  EXPECT_EQ(port.revisions.back(), 2u);
}

TEST(StateRendezvous, DdpJoinerAdoptsParamsAndInnerOptimizer) {
  constexpr size_t n = 2000;
  optim::Ddp ddp_m, ddp_j;
  std::vector<float> mp(n), jp(n, 0.0f), g(n);
  for (size_t i = 0; i < n; ++i) {
    mp[i] = static_cast<float>(i) * 0.01f;
    g[i] = static_cast<float>(i % 7) - 3.0f;
  }
  ASSERT_TRUE(ddp_m.init(mp).ok());
  ASSERT_TRUE(ddp_j.init(jp).ok());
  InnerOptimizer mi = adamw(n), ji = adamw(n);
  for (int s = 0; s < 3; ++s) mi.step(mp, g, 1e-3);
  FakePort mport;
  auto m = StateRendezvous::make(mport, ddp_m, mp, mi, false);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->sync({3, SyncPoint::kOnGradients}, nullptr).ok());
  FakePort jport;
  jport.donor = &(*m)->state();
  auto j = StateRendezvous::make(jport, ddp_j, jp, ji, true);
  ASSERT_TRUE(j.ok());
  auto pos = (*j)->sync({0, SyncPoint::kOnGradients}, nullptr);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->step, 3);
  EXPECT_EQ(pos->point, SyncPoint::kOnGradients);
  EXPECT_EQ(0, std::memcmp(mp.data(), jp.data(), n * sizeof(float)));
  EXPECT_EQ(ji.steps_taken(), 3);
  auto mb = mi.state_buffers();
  auto jb = ji.state_buffers();
  ASSERT_EQ(mb.size(), 2u);
  for (size_t b = 0; b < mb.size(); ++b) {
    EXPECT_EQ(0, std::memcmp(mb[b].data.data(), jb[b].data.data(), mb[b].data.size_bytes()));
  }
  // The same update from here on keeps them identical.
  mi.step(mp, g, 1e-3);
  ji.step(jp, g, 1e-3);
  EXPECT_EQ(0, std::memcmp(mp.data(), jp.data(), n * sizeof(float)));
}

TEST(StateRendezvous, MemberAtAnotherPointIsRefused) {
  constexpr size_t n = 100;
  optim::Ddp a, b;
  std::vector<float> pa(n, 1.0f), pb(n, 1.0f);
  ASSERT_TRUE(a.init(pa).ok());
  ASSERT_TRUE(b.init(pb).ok());
  InnerOptimizer ia = adamw(n), ib = adamw(n);
  FakePort pa_port;
  auto ra = StateRendezvous::make(pa_port, a, pa, ia, false);
  ASSERT_TRUE(ra.ok());
  ASSERT_TRUE((*ra)->sync({8, SyncPoint::kOnGradients}, nullptr).ok());
  FakePort pb_port;
  pb_port.donor = &(*ra)->state();  // the majority is at step 8
  auto rb = StateRendezvous::make(pb_port, b, pb, ib, false);
  ASSERT_TRUE(rb.ok());
  auto r = (*rb)->sync({9, SyncPoint::kOnGradients}, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().to_string();
}

TEST(StateRendezvous, SyncsAgainWhileTheEpochMovesOn) {
  constexpr size_t n = 64;
  optim::Ddp d;
  std::vector<float> p(n, 1.0f);
  ASSERT_TRUE(d.init(p).ok());
  InnerOptimizer inner = adamw(n);
  FakePort port;
  port.bump_epoch_on_sync = 2;
  port.data_epoch_ = 2;
  auto r = StateRendezvous::make(port, d, p, inner, false);
  ASSERT_TRUE(r.ok());
  int records = 0;
  ASSERT_TRUE((*r)->sync({5, SyncPoint::kFinish}, [&](const SyncRecord&) { ++records; }).ok());
  EXPECT_EQ(port.roles.size(), 3u);  // epochs 3, 4 and 5
  EXPECT_EQ(records, 3);
  EXPECT_EQ(*(*r)->synced_epoch(), 5u);
  EXPECT_EQ(port.data_epoch_, 5u);
  EXPECT_FALSE((*r)->needed());
  EXPECT_EQ(port.revisions, (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace loco::train
