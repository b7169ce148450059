// connection.h: the transport interface every layer above uses. A Connection carries whole frames
// (wire/frame.h) in order, with deadlines, and reports failures as Status values:
//   UNAVAILABLE        the connection is closed or broken (peer gone, reset, close() called)
//   DEADLINE_EXCEEDED  the deadline passed. If no byte of the frame had moved yet the connection is
//                      still usable; if it expired mid-frame the stream is desynchronized and the
//                      connection is closed (later calls return UNAVAILABLE).
//   DATA_LOSS / PROTOCOL_MISMATCH / RESOURCE_EXHAUSTED  a bad frame arrived (see frame.h). The
//                      receive side is closed for good (later receives return UNAVAILABLE), but
//                      the send side stays open so the receiver can answer with a REJECT saying
//                      why; call close() after that.
// Threading: one thread may send while another receives; concurrent senders are serialized;
// close() may be called from any thread and wakes blocked calls.
// Implementations: tcp.h (Asio sockets) and loopback.h (in-process, with a fault injector).
// This file is not the place for striping, retries or membership: those are built on top.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/status.h"
#include "wire/frame.h"
#include "wire/sealed_frame.h"

namespace loco::transport {

struct ConnectionStats {
  uint64_t bytes_sent = 0;      // frame bytes, headers included
  uint64_t bytes_received = 0;  // frame bytes, headers included
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  // Bytes that moved through the socket so far, partial frames included: they advance while a long
  // frame is still on its way, so a slow link is told apart from a hung peer (collectives'
  // progress deadlines). Implementations without partial frames count whole frames.
  uint64_t progress_sent = 0;
  uint64_t progress_received = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Sends one frame whose payload is the concatenation of `parts` (gathered without copying).
  virtual Status send_parts(wire::MsgType type, std::span<const ByteSpan> parts,
                            Deadline deadline) = 0;
  Status send(wire::MsgType type, ByteSpan payload, Deadline deadline) {
    ByteSpan parts[1] = {payload};
    return send_parts(type, parts, deadline);
  }

  // Receives the next frame's header (validated against max_payload()); the caller must then call
  // receive_payload() with a buffer of exactly header.length bytes before the next receive_header().
  // This two-step form lets the data plane receive straight into its own buffers.
  virtual Result<wire::FrameHeader> receive_header(Deadline deadline) = 0;
  // Reads the payload announced by the last header into `out` and verifies the checksum.
  virtual Status receive_payload(MutableByteSpan out, Deadline deadline) = 0;
  // Convenience: one whole frame into a fresh buffer.
  Result<wire::Frame> receive(Deadline deadline);

  // Closes the connection; idempotent; wakes blocked calls, which return UNAVAILABLE.
  virtual void close() = 0;
  virtual bool is_closed() const = 0;

  // "127.0.0.1:43210" or a loopback name.
  virtual std::string remote_address() const = 0;
  // True when the remote end is on this host (127.0.0.0/8, ::1, or an in-process loopback).
  virtual bool remote_is_loopback() const = 0;

  // A data-plane piece: two DATA frames, `header` then `body`, back to back. The header frame is
  // always fully checksummed; the body frame's payload is too unless set_data_payload_checksum
  // (false) was called, in which case it carries wire::kFlagHeaderChecksumOnly and relies on the
  // transport's own integrity checks (TCP's). The TCP implementation writes both frames with one
  // sendmsg; this default sends them one after the other, always fully checksummed.
  virtual Status send_piece(ByteSpan header, ByteSpan body, Deadline deadline) {
    LOCO_RETURN_IF_ERROR(send(wire::MsgType::kData, header, deadline));
    return send(wire::MsgType::kData, body, deadline);
  }
  // See send_piece. Implementations without the option ignore it. Receivers accept both forms.
  virtual void set_data_payload_checksum(bool /*on*/) {}

  // Sealed sessions (wire/sealed_frame.h, docs/protocol.md 2.2). seal_receive: every frame
  // received from now on must be sealed under `key` (an unsealed one is DATA_LOSS). seal_send:
  // every frame sent from now on is sealed under `key` with `cipher`. Each is called once, by the
  // handshake's owner, when no frame is in flight in that direction. Once sending is sealed, a
  // send that fails for any reason (a deadline included) closes the connection, since its
  // sequence number is spent. The in-process loopback ignores both (nothing crosses a socket).
  virtual Status seal_receive(const wire::SealKey& /*key*/) { return OkStatus(); }
  virtual Status seal_send(const wire::SealKey& /*key*/, wire::SealCipher /*cipher*/) {
    return OkStatus();
  }
  Status start_sealing(const wire::SealKeys& keys) {
    LOCO_RETURN_IF_ERROR(seal_receive(keys.receive));
    return seal_send(keys.send, keys.cipher);
  }
  // True once sending is sealed.
  virtual bool sealed() const { return false; }

  virtual void set_max_payload(uint32_t bytes) = 0;
  virtual uint32_t max_payload() const = 0;
  virtual ConnectionStats stats() const = 0;
};

// Writes the 24 header bytes of a frame whose payload is the concatenation of `parts` (the checksum
// covers them in order), so a sender can gather the parts without copying them into one buffer.
// Equivalent to wire::encode_header on the concatenated payload. With
// flags == wire::kFlagHeaderChecksumOnly (DATA frames only) the checksum covers the header alone.
void encode_header_parts(wire::MsgType type, std::span<const ByteSpan> parts,
                         std::byte (&out)[wire::kFrameHeaderSize], uint32_t flags = 0);

class Listener {
 public:
  virtual ~Listener() = default;
  // Waits for the next incoming connection. UNAVAILABLE after close().
  virtual Result<std::unique_ptr<Connection>> accept(Deadline deadline) = 0;
  // The bound port (the real one when 0 was requested), or 0 for in-process listeners.
  virtual uint16_t port() const = 0;
  virtual std::string address() const = 0;
  // Stops accepting; idempotent; wakes a blocked accept().
  virtual void close() = 0;
};

}  // namespace loco::transport
