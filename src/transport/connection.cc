// connection.cc: the convenience half of the Connection interface.
#include "transport/connection.h"

namespace loco::transport {

Result<wire::Frame> Connection::receive(Deadline deadline) {
  LOCO_ASSIGN_OR_RETURN(wire::FrameHeader h, receive_header(deadline));
  wire::Frame f;
  f.type = h.type;
  f.flags = h.flags;
  f.payload.resize(h.length);
  LOCO_RETURN_IF_ERROR(receive_payload(f.payload, deadline));
  return f;
}

}  // namespace loco::transport
