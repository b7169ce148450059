// state_sync.cc: one peer's sync point: report, fetch, done, complete (see state_sync.h).
#include "state/state_sync.h"

#include <algorithm>

#include "common/log.h"

namespace loco::state {

Result<std::unique_ptr<StateSync>> StateSync::create(membership::PeerClient& client,
                                                     StateSyncOptions options) {
  std::unique_ptr<StateSync> s(new StateSync(client, std::move(options)));
  ChunkServerOptions so;
  so.listen_host = s->options_.listen_host;
  so.listen_port = s->options_.listen_port;
  so.listen_port_last = s->options_.listen_port_last;
  so.key = s->options_.key;
  so.encrypt = s->options_.encrypt;
  so.tcp = s->options_.tcp;
  auto server = ChunkServer::listen(so);
  if (!server.ok()) return server.status().with_context("state chunk server");
  s->server_ = std::move(server).value();
  return s;
}

StateSyncOptions state_sync_options_for(const collectives::SwarmPeerOptions& swarm,
                                        uint16_t data_port) {
  StateSyncOptions so;
  so.listen_host = swarm.mesh.listen_host;
  if (swarm.mesh.listen_port != 0) {
    // The data plane holds one port of the range; the chunk server takes the next free one.
    so.listen_port = swarm.mesh.listen_port;
    so.listen_port_last =
        std::max<uint16_t>(swarm.mesh.listen_port_last,
                           static_cast<uint16_t>(std::min(65535, swarm.mesh.listen_port + 1)));
  }
  if (swarm.advertise_port != 0) {
    so.serve_port_offset = static_cast<int32_t>(swarm.advertise_port) - data_port;
  }
  if (swarm.peer.key) so.key = swarm.peer.key->bytes;
  so.encrypt = swarm.peer.encrypt;
  return so;
}

StateSync::~StateSync() {
  if (server_) server_->shutdown();
}

Result<SyncResult> StateSync::sync(SharedState& state, SyncStrategy strategy, Duration timeout) {
  if (state.buffers().empty()) return InvalidArgument("the shared state has no buffers");
  const Deadline deadline = Deadline::after(timeout);
  LOCO_RETURN_IF_ERROR(client_.wait_for(
      [](const membership::MembershipView& v) { return v.rank >= 0; }, deadline));
  const uint64_t me = client_.peer_id();

  wire::StateReport report;
  report.report_id = next_report_++;
  report.strategy = strategy;
  report.revision = state.revision();
  report.layout_digest = state.layout_digest();
  report.serve_port = static_cast<uint16_t>(server_->port() + options_.serve_port_offset);
  report.chunk_hashes = state.hash_chunks();
  // Serve from now on: another peer may get its plan before this one does.
  if (strategy != SyncStrategy::kReceiveOnly) server_->open(&state, report.chunk_hashes, me);
  struct CloseOnExit {
    ChunkServer& s;
    ~CloseOnExit() { s.close(); }
  } close_on_exit{*server_};

  LOCO_ASSIGN_OR_RETURN(wire::StatePlan plan, client_.state_report(report, deadline));
  if (plan.code != StatusCode::kOk) {
    if (plan.round != 0) {
      // A refused peer is neither donor nor receiver: tell the round not to wait for it.
      Status done = client_.state_done(
          wire::StateDone{plan.round, plan.code, plan.message, {}}, false, deadline);
      done.ignore();
    }
    return Status(plan.code, "state sync refused: " + plan.message);
  }

  SyncResult result;
  result.round = plan.round;
  std::vector<FetchDonor> donors;
  for (const wire::StateDonor& d : plan.donors) donors.push_back(FetchDonor{d.peer_id, d.host, d.port});
  std::vector<FetchChunk> chunks;
  Status plan_ok;
  for (const wire::ChunkFetch& f : plan.fetches) {
    if (f.chunk >= state.chunks().size()) {
      plan_ok = DataLoss("the plan names chunk " + std::to_string(f.chunk) + " of " +
                         std::to_string(state.chunks().size()));
      break;
    }
    chunks.push_back(FetchChunk{f.chunk, f.hash, state.chunk_bytes(f.chunk), f.donors});
  }
  FetchReport fetched;
  const TimePoint t0 = now();
  if (plan_ok.ok() && !chunks.empty()) {
    FetchOptions fo;
    fo.my_peer_id = me;
    fo.key = options_.key;
    fo.encrypt = options_.encrypt;
    fo.tcp = options_.tcp;
    fo.pipeline_depth = options_.pipeline_depth;
    fetched = fetch_chunks(donors, std::move(chunks), fo, deadline);
  } else {
    fetched.status = plan_ok;
  }
  result.fetch_seconds = std::chrono::duration<double>(now() - t0).count();
  result.chunks_fetched = fetched.chunks;
  result.bytes_fetched = fetched.bytes;
  result.bad_donors = fetched.bad_donors;
  result.failed_donors = fetched.failed_donors;
  result.chunks_by_donor = fetched.chunks_by_donor;

  wire::StateDone done{plan.round, fetched.status.code(), fetched.status.message(),
                       fetched.bad_donors};
  // Keep serving until every participant is done.
  Status complete = client_.state_done(done, /*wait_complete=*/true, deadline);
  if (!fetched.status.ok()) return fetched.status.with_context("state sync fetch");
  LOCO_RETURN_IF_ERROR(complete);
  state.set_revision(plan.revision);
  result.revision = plan.revision;
  return result;
}

}  // namespace loco::state
