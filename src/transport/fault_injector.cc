// fault_injector.cc: rule matching and the cut registry for the loopback transport's faults.
#include "transport/fault_injector.h"

#include <algorithm>
#include <utility>

namespace loco::transport {

FaultRuleId FaultInjector::add_rule(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  FaultRuleId id = next_id_++;
  rules_.push_back(Entry{id, std::move(rule)});
  return id;
}

void FaultInjector::remove_rule(FaultRuleId id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(rules_, [id](const Entry& e) { return e.id == id; });
}

void FaultInjector::clear_rules() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

uint64_t FaultInjector::hits(FaultRuleId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& e : rules_) {
    if (e.id == id) return e.hits;
  }
  return 0;
}

void FaultInjector::track(std::weak_ptr<Cuttable> link) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(links_, [](const std::weak_ptr<Cuttable>& w) { return w.expired(); });
  links_.push_back(std::move(link));
}

std::vector<std::shared_ptr<Cuttable>> FaultInjector::live_links(const std::string* endpoint) {
  std::vector<std::shared_ptr<Cuttable>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& w : links_) {
    std::shared_ptr<Cuttable> l = w.lock();
    if (l && (endpoint == nullptr || l->endpoint() == *endpoint)) out.push_back(std::move(l));
  }
  return out;
}

// Links are cut outside mu_, so a link's locks are never taken while mu_ is held.
void FaultInjector::cut_all() {
  for (const auto& l : live_links(nullptr)) l->cut();
}

void FaultInjector::cut_endpoint(const std::string& endpoint) {
  for (const auto& l : live_links(&endpoint)) l->cut();
}

bool FaultInjector::matches(const FaultRule& r, const std::string& endpoint, bool from_dialer,
                            wire::MsgType type) const {
  if (r.type && *r.type != type) return false;
  if (!r.endpoint.empty() && r.endpoint != endpoint) return false;
  if (r.direction == FaultDirection::kFromDialer && !from_dialer) return false;
  if (r.direction == FaultDirection::kFromListener && from_dialer) return false;
  return true;
}

FaultDecision FaultInjector::decide(const std::string& endpoint, bool from_dialer,
                                    wire::MsgType type) {
  FaultDecision d;
  std::lock_guard<std::mutex> lock(mu_);
  for (Entry& e : rules_) {
    const FaultRule& r = e.rule;
    if (!matches(r, endpoint, from_dialer, type)) continue;
    if (e.seen++ < r.skip) continue;
    if (r.count >= 0 && e.hits >= static_cast<uint64_t>(r.count)) continue;
    if (r.probability <= 0.0) continue;
    if (r.probability < 1.0) {
      double u = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
      if (u >= r.probability) continue;
    }
    ++e.hits;
    switch (r.action) {
      case FaultAction::kDrop:
        d.drop = true;
        break;
      case FaultAction::kDelay:
        d.delay = std::max(d.delay, r.delay);
        break;
      case FaultAction::kCorrupt:
        d.corrupt = true;
        break;
      case FaultAction::kCut:
        d.cut = true;
        break;
    }
  }
  return d;
}

void FaultInjector::corrupt(Bytes& frame) {
  // Flip a bit of the payload, or of the checksum field (header bytes [16, 24)) when the payload
  // is empty: either way the header still decodes and only the checksum catches it.
  std::lock_guard<std::mutex> lock(mu_);
  size_t lo = wire::kFrameHeaderSize;
  if (frame.size() <= lo) lo = 16;
  if (frame.size() <= lo) return;
  uint64_t r = rng_.next();
  size_t at = lo + static_cast<size_t>(r % (frame.size() - lo));
  frame[at] ^= static_cast<std::byte>(1u << ((r >> 32) % 8));
}

}  // namespace loco::transport
