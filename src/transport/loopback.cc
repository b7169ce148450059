// loopback.cc: the in-process transport (see loopback.h): pipes of encoded frames, listeners as
// queues of pending connections, and the fault injector's hooks on the send path.
#include "transport/loopback.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <utility>

namespace loco::transport {
namespace {

using wire::kFrameHeaderSize;

// One direction of a connection.
struct Pipe {
  struct Item {
    Bytes bytes;  // one encoded frame
    TimePoint deliver_at;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool writer_closed = false;  // the sender closed: the reader drains the queue, then UNAVAILABLE
  bool broken = false;         // cut, or the reader closed: UNAVAILABLE at once on both ends
};

void break_pipe(Pipe& p) {
  std::deque<Pipe::Item> dropped;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.broken = true;
    dropped.swap(p.queue);
  }
  p.cv.notify_all();
}

// Both directions of one connection; registered with the fault injector so it can be cut.
class Link final : public Cuttable {
 public:
  explicit Link(std::string endpoint) : endpoint_(std::move(endpoint)) {}
  void cut() override {
    cut_.store(true, std::memory_order_release);
    break_pipe(to_listener);
    break_pipe(to_dialer);
  }
  const std::string& endpoint() const override { return endpoint_; }
  bool is_cut() const { return cut_.load(std::memory_order_acquire); }

  Pipe to_listener;
  Pipe to_dialer;

 private:
  const std::string endpoint_;
  std::atomic<bool> cut_{false};
};

class LoopbackConnection final : public Connection {
 public:
  LoopbackConnection(std::shared_ptr<Link> link, bool dialer, std::shared_ptr<FaultInjector> faults,
                     uint32_t max_payload, std::string remote)
      : link_(std::move(link)),
        dialer_(dialer),
        in_(dialer ? link_->to_dialer : link_->to_listener),
        out_(dialer ? link_->to_listener : link_->to_dialer),
        faults_(std::move(faults)),
        max_payload_(max_payload),
        remote_(std::move(remote)) {}
  ~LoopbackConnection() override { close(); }

  Status send_parts(wire::MsgType type, std::span<const ByteSpan> parts,
                    Deadline /*deadline: sends never block*/) override {
    if (is_closed()) return closed_status();
    size_t payload = 0;
    for (ByteSpan p : parts) payload += p.size();
    if (payload > wire::kMaxDataPayload) {
      return InvalidArgument("frame payload of " + std::to_string(payload) + " bytes is too large");
    }
    FaultDecision d = faults_->decide(link_->endpoint(), dialer_, type);
    if (d.cut) {
      link_->cut();
      return Unavailable("connection to " + remote_ + " cut (fault injection)");
    }
    Bytes frame(kFrameHeaderSize + payload);
    std::byte header[kFrameHeaderSize];
    encode_header_parts(type, parts, header);
    std::memcpy(frame.data(), header, kFrameHeaderSize);
    size_t at = kFrameHeaderSize;
    for (ByteSpan p : parts) {
      if (!p.empty()) std::memcpy(frame.data() + at, p.data(), p.size());
      at += p.size();
    }
    if (d.corrupt) faults_->corrupt(frame);
    {
      std::lock_guard<std::mutex> lock(out_.mu);
      if (out_.broken || is_closed()) return closed_status();
      if (!d.drop) out_.queue.push_back(Pipe::Item{std::move(frame), now() + d.delay});
    }
    out_.cv.notify_all();
    bytes_sent_.fetch_add(kFrameHeaderSize + payload, std::memory_order_relaxed);
    frames_sent_.fetch_add(1, std::memory_order_relaxed);
    return OkStatus();
  }

  Result<wire::FrameHeader> receive_header(Deadline deadline) override {
    if (is_closed()) return closed_status();
    if (pending_) return FailedPrecondition("receive_payload must follow receive_header");
    {
      std::unique_lock<std::mutex> lock(in_.mu);
      for (;;) {
        if (in_.broken || is_closed()) return closed_status();
        TimePoint wake = deadline.when();
        if (!in_.queue.empty()) {
          TimePoint ready = in_.queue.front().deliver_at;
          if (ready <= now()) break;
          wake = std::min(wake, ready);
        } else if (in_.writer_closed) {
          return Unavailable("connection closed by " + remote_);
        }
        if (deadline.expired()) return DeadlineExceeded("deadline passed on " + remote_);
        if (wake == TimePoint::max()) {
          in_.cv.wait(lock);
        } else {
          in_.cv.wait_until(lock, wake);
        }
      }
      current_ = std::move(in_.queue.front().bytes);
      in_.queue.pop_front();
    }
    Result<wire::FrameHeader> h = wire::decode_header(current_, max_payload());
    if (!h.ok()) return fail(h.status().with_context("frame from " + remote_));
    header_ = *h;
    pending_ = true;
    return header_;
  }

  Status receive_payload(MutableByteSpan out, Deadline /*deadline: the frame is whole*/) override {
    if (is_closed()) return closed_status();
    if (!pending_) return FailedPrecondition("receive_payload without a header");
    if (out.size() != header_.length) {
      return InvalidArgument("receive_payload buffer of " + std::to_string(out.size()) +
                             " bytes for a payload of " + std::to_string(header_.length));
    }
    pending_ = false;
    if (current_.size() != kFrameHeaderSize + out.size()) {
      return fail(DataLoss("frame from " + remote_ + " does not match its length"));
    }
    ByteSpan bytes(current_);
    Status s = wire::verify_payload(header_, bytes.first(kFrameHeaderSize),
                                    bytes.subspan(kFrameHeaderSize));
    if (!s.ok()) return fail(s.with_context("frame from " + remote_));
    if (!out.empty()) std::memcpy(out.data(), bytes.data() + kFrameHeaderSize, out.size());
    bytes_received_.fetch_add(current_.size(), std::memory_order_relaxed);
    frames_received_.fetch_add(1, std::memory_order_relaxed);
    return OkStatus();
  }

  void close() override {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    {
      std::lock_guard<std::mutex> lock(out_.mu);
      out_.writer_closed = true;
    }
    out_.cv.notify_all();
    break_pipe(in_);
  }
  bool is_closed() const override {
    return closed_.load(std::memory_order_acquire) || link_->is_cut();
  }

  std::string remote_address() const override { return remote_; }
  bool remote_is_loopback() const override { return true; }
  void set_max_payload(uint32_t bytes) override {
    max_payload_.store(bytes, std::memory_order_relaxed);
  }
  uint32_t max_payload() const override { return max_payload_.load(std::memory_order_relaxed); }
  ConnectionStats stats() const override {
    ConnectionStats s;
    s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
    s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
    s.frames_sent = frames_sent_.load(std::memory_order_relaxed);
    s.frames_received = frames_received_.load(std::memory_order_relaxed);
    s.progress_sent = s.bytes_sent;  // whole frames only
    s.progress_received = s.bytes_received;
    return s;
  }

 private:
  Status closed_status() const {
    if (link_->is_cut()) return Unavailable("connection to " + remote_ + " was cut");
    return Unavailable("connection to " + remote_ + " is closed");
  }
  Status fail(Status s) {
    close();
    return s;
  }

  const std::shared_ptr<Link> link_;
  const bool dialer_;
  Pipe& in_;
  Pipe& out_;
  const std::shared_ptr<FaultInjector> faults_;
  std::atomic<uint32_t> max_payload_;
  const std::string remote_;
  std::atomic<bool> closed_{false};

  // Receive state, owned by the receiving thread.
  Bytes current_;
  wire::FrameHeader header_;
  bool pending_ = false;

  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> frames_sent_{0};
  std::atomic<uint64_t> frames_received_{0};
};

struct Backlog {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Connection>> pending;
  bool closed = false;
};

}  // namespace

struct LoopbackNetwork::State {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Backlog>> listeners;
  uint32_t max_payload = wire::kMaxControlPayload;
  uint64_t next_conn = 1;
};

namespace {

class LoopbackListener final : public Listener {
 public:
  LoopbackListener(std::shared_ptr<LoopbackNetwork::State> net, std::shared_ptr<Backlog> backlog,
                   std::string name)
      : net_(std::move(net)), backlog_(std::move(backlog)), name_(std::move(name)) {}
  ~LoopbackListener() override { close(); }

  Result<std::unique_ptr<Connection>> accept(Deadline deadline) override {
    std::unique_lock<std::mutex> lock(backlog_->mu);
    for (;;) {
      if (backlog_->closed) return Unavailable("listener " + address() + " is closed");
      if (!backlog_->pending.empty()) break;
      if (deadline.expired())
        return DeadlineExceeded("accept on " + address() + ": deadline passed");
      if (deadline.is_never()) {
        backlog_->cv.wait(lock);
      } else {
        backlog_->cv.wait_until(lock, deadline.when());
      }
    }
    std::unique_ptr<Connection> c = std::move(backlog_->pending.front());
    backlog_->pending.pop_front();
    return c;
  }

  uint16_t port() const override { return 0; }
  std::string address() const override { return "loopback:" + name_; }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(net_->mu);
      auto it = net_->listeners.find(name_);
      if (it != net_->listeners.end() && it->second == backlog_) net_->listeners.erase(it);
    }
    // Connections never accepted are closed, so their dialers see UNAVAILABLE.
    std::deque<std::unique_ptr<Connection>> orphans;
    {
      std::lock_guard<std::mutex> lock(backlog_->mu);
      backlog_->closed = true;
      orphans.swap(backlog_->pending);
    }
    backlog_->cv.notify_all();
  }

 private:
  const std::shared_ptr<LoopbackNetwork::State> net_;
  const std::shared_ptr<Backlog> backlog_;
  const std::string name_;
};

}  // namespace

LoopbackNetwork::LoopbackNetwork(std::shared_ptr<FaultInjector> faults, uint32_t max_payload)
    : faults_(faults ? std::move(faults) : std::make_shared<FaultInjector>()),
      state_(std::make_shared<State>()) {
  state_->max_payload = max_payload;
}

LoopbackNetwork::~LoopbackNetwork() = default;

Result<std::unique_ptr<Listener>> LoopbackNetwork::listen(const std::string& name) {
  auto backlog = std::make_shared<Backlog>();
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->listeners.count(name) != 0) {
      return FailedPrecondition("loopback name '" + name + "' is already listening");
    }
    state_->listeners.emplace(name, backlog);
  }
  return std::unique_ptr<Listener>(std::make_unique<LoopbackListener>(state_, backlog, name));
}

Result<std::unique_ptr<Connection>> LoopbackNetwork::dial(const std::string& name,
                                                          Deadline /*deadline: never waits*/,
                                                          std::shared_ptr<FaultInjector> faults) {
  if (!faults) faults = faults_;
  auto link = std::make_shared<Link>(name);
  std::unique_ptr<Connection> mine;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->listeners.find(name);
    if (it == state_->listeners.end()) {
      return Unavailable("no loopback listener named '" + name + "'");
    }
    std::string dialer_name = "loopback:" + name + "#" + std::to_string(state_->next_conn++);
    mine = std::make_unique<LoopbackConnection>(link, /*dialer=*/true, faults, state_->max_payload,
                                                "loopback:" + name);
    auto theirs = std::make_unique<LoopbackConnection>(link, /*dialer=*/false, faults,
                                                       state_->max_payload, dialer_name);
    Backlog& b = *it->second;
    {
      std::lock_guard<std::mutex> blk(b.mu);
      b.pending.push_back(std::move(theirs));
    }
    b.cv.notify_all();
  }
  faults->track(link);
  return mine;
}

}  // namespace loco::transport
