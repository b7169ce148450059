// ring_harness.h: N in-process peers for collective tests: each has its own Mesh (over real TCP on
// 127.0.0.1 port 0, or over an in-process LoopbackNetwork with a fault injector) and Communicator;
// they share one LocalVoter. form() installs an epoch on a chosen subset; each() runs a function on
// one thread per peer and joins. Also deterministic test data and the ring-order reference result.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collectives/communicator.h"
#include "common/half.h"
#include "collectives/mesh.h"
#include "collectives/reduce_kernels.h"
#include "collectives/ring_plan.h"
#include "common/rng.h"
#include "transport/loopback.h"

namespace loco::collectives::testing {

struct PeerSlot {
  std::unique_ptr<Mesh> mesh;
  std::unique_ptr<Communicator> comm;
  wire::Member member;
};

class Ring {
 public:
  // `network` null: TCP. Otherwise peers listen on it under the names "peer<i>".
  explicit Ring(size_t n, MeshOptions mesh_options = {}, CommunicatorOptions comm_options = {},
                std::shared_ptr<transport::LoopbackNetwork> network = nullptr)
      : network_(std::move(network)) {
    for (size_t i = 0; i < n; ++i) {
      PeerSlot p;
      if (network_) {
        const std::string name = "peer" + std::to_string(i);
        auto listener = network_->listen(name);
        EXPECT_TRUE(listener.ok()) << listener.status().to_string();
        auto net = network_;
        MeshDialer dialer = [net](const std::string& host, uint16_t, Deadline d) {
          return net->dial(host, d);
        };
        p.mesh = std::make_unique<Mesh>(std::move(*listener), dialer, mesh_options);
        p.member = {i + 1, name, name, 0};
      } else {
        auto mesh = Mesh::listen_tcp(mesh_options);
        EXPECT_TRUE(mesh.ok()) << mesh.status().to_string();
        p.mesh = std::move(*mesh);
        p.member = {i + 1, "peer" + std::to_string(i), "127.0.0.1", p.mesh->port()};
      }
      p.comm = std::make_unique<Communicator>(*p.mesh, voter, comm_options);
      peers.push_back(std::move(p));
    }
  }

  // Installs `epoch` on the peers `which` (indices), in that ring order.
  void form(uint64_t epoch, const std::vector<size_t>& which) {
    std::vector<wire::Member> ring;
    for (size_t i : which) ring.push_back(peers[i].member);
    voter.set_members(epoch, which.size());
    for (size_t i : which) {
      Status s = peers[i].mesh->set_epoch(epoch, peers[i].member.peer_id, ring);
      ASSERT_TRUE(s.ok()) << s.to_string();
    }
  }
  void form_all(uint64_t epoch) {
    std::vector<size_t> all;
    for (size_t i = 0; i < peers.size(); ++i) all.push_back(i);
    form(epoch, all);
  }

  // fn(index into `which`, i.e. the rank) on one thread each.
  void each(const std::vector<size_t>& which,
            const std::function<void(size_t rank, PeerSlot&)>& fn) {
    std::vector<std::thread> threads;
    for (size_t r = 0; r < which.size(); ++r) {
      threads.emplace_back([&, r] { fn(r, peers[which[r]]); });
    }
    for (auto& t : threads) t.join();
  }
  void each(const std::function<void(size_t rank, PeerSlot&)>& fn) {
    std::vector<size_t> all;
    for (size_t i = 0; i < peers.size(); ++i) all.push_back(i);
    each(all, fn);
  }

  LocalVoter voter;
  std::vector<PeerSlot> peers;

 private:
  std::shared_ptr<transport::LoopbackNetwork> network_;
};

// Deterministic input bytes for (rank, salt): values that keep every type's arithmetic finite.
inline std::vector<std::byte> make_input(DataType t, size_t count, size_t rank, uint64_t salt) {
  const size_t e = dtype_size(t);
  std::vector<std::byte> out(count * e);
  SplitMix64 rng(salt * 1000003 + rank * 7919 + static_cast<uint64_t>(t));
  for (size_t i = 0; i < count; ++i) {
    const uint64_t r = rng.next();
    const double v = static_cast<double>(static_cast<int64_t>(r % 2001) - 1000) / 8.0;
    std::byte* p = out.data() + i * e;
    switch (t) {
      case DataType::kF32: {
        float f = static_cast<float>(v);
        std::memcpy(p, &f, 4);
        break;
      }
      case DataType::kF64: {
        double d = v * 1.0000001;
        std::memcpy(p, &d, 8);
        break;
      }
      case DataType::kF16: {
        uint16_t h = float_to_half(static_cast<float>(v));
        std::memcpy(p, &h, 2);
        break;
      }
      case DataType::kBF16: {
        uint16_t b = float_to_bf16(static_cast<float>(v));
        std::memcpy(p, &b, 2);
        break;
      }
      default:
        std::memcpy(p, &r, e);
        break;  // integers: any bits (sums wrap)
    }
  }
  return out;
}

// make_input's f32 values as floats.
inline std::vector<float> f32_input(size_t count, size_t rank, uint64_t salt) {
  std::vector<std::byte> b = make_input(DataType::kF32, count, rank, salt);
  std::vector<float> out(count);
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

// The fault tests' ring: two stripes, quick link set-up.
inline MeshOptions two_stripes() {
  MeshOptions m;
  m.stripes = 2;
  m.connect_timeout = std::chrono::seconds(5);
  return m;
}

// The fault tests' deadlines: short (1.5 s base), with an assumed rate no loopback falls under.
inline CommunicatorOptions quick_deadlines() {
  CommunicatorOptions c;
  c.piece_bytes = 64 * 1024;
  c.deadline.base = std::chrono::milliseconds(1500);
  c.deadline.floor_bytes_per_sec = 1e9;
  return c;
}

// The statuses a collective fails with when a peer dies, hangs or the membership changes.
inline bool is_failure_code(StatusCode c) {
  return c == StatusCode::kAborted || c == StatusCode::kUnavailable ||
         c == StatusCode::kDeadlineExceeded;
}

// The all-reduce result the ring must produce, in its order: segment X is reduced starting at
// rank X+1, then X+2, ..., ending at X, and divided once for kAvg.
inline std::vector<std::byte> ring_reference(DataType t, ReduceOp op, size_t count,
                                             const std::vector<std::vector<std::byte>>& inputs) {
  const size_t world = inputs.size();
  const size_t e = dtype_size(t);
  std::vector<std::byte> out(count * e);
  for (size_t x = 0; x < world; ++x) {
    const Segment s = segment_of(count, world, x);
    if (s.count == 0) continue;
    std::byte* acc = out.data() + s.begin * e;
    std::memcpy(acc, inputs[(x + 1) % world].data() + s.begin * e, s.count * e);
    for (size_t k = 2; k <= world; ++k) {
      reduce_into(t, op, acc, inputs[(x + k) % world].data() + s.begin * e, s.count);
    }
    if (op == ReduceOp::kAvg) divide_into(t, acc, s.count, static_cast<uint32_t>(world));
  }
  return out;
}

}  // namespace loco::collectives::testing
