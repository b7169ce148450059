"""coordinator.py: Coordinator, a loco coordinator served from this process's threads.

The coordinator carries control traffic only (joins, heartbeats, epochs, votes); tensors move peer
to peer. Start one per swarm (`loco coordinator` on the command line does the same):

    with loco.Coordinator(port=0, secret="s3cret") as coord:
        print(coord.address)     # 127.0.0.1:40123: give this to every peer
"""

from ._lib import ffi, lib
from ._native import cstr, ms, new_struct
from .errors import check


class Coordinator:
    """A coordinator listening on host:port (port 0: a free one; see .port).

    secret / secret_file: the swarm secret peers must prove they know (neither: $LOCO_SECRET, and
    with no secret at all only loopback peers are accepted). heartbeat_period, heartbeat_timeout
    and join_window are in seconds. Raises InvalidArgument (bad option, unreadable secret file),
    FailedPrecondition (host:port in use) or Unavailable (cannot listen there)."""

    def __init__(self, host="127.0.0.1", port=0, *, secret=None, secret_file=None,
                 heartbeat_period=0.5, heartbeat_timeout=3.0, join_window=0.2):
        keep = []
        o, raw = new_struct("loco_coordinator_options_t", lib().loco_coordinator_options_init)
        o.host = cstr(host, keep)
        o.port = int(port)
        o.secret = cstr(secret, keep)
        o.secret_file = cstr(secret_file, keep)
        o.heartbeat_period_ms = ms(heartbeat_period, "heartbeat_period")
        o.heartbeat_timeout_ms = ms(heartbeat_timeout, "heartbeat_timeout")
        o.join_window_ms = ms(join_window, "join_window")
        out = ffi.new("loco_coordinator_t **")
        check(lib().loco_coordinator_create(o, out), "loco.Coordinator")
        self._handle = out[0]
        self.host = host
        del raw, keep

    @property
    def port(self):
        """The bound port."""
        return int(lib().loco_coordinator_port(self._live()))

    @property
    def address(self):
        """host:port for peers to connect to ([host]:port for IPv6)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def epoch(self):
        """The current membership epoch (0: no member yet)."""
        return int(lib().loco_coordinator_epoch(self._live()))

    def close(self):
        """Stops serving; the peers see UNAVAILABLE. Idempotent."""
        handle, self._handle = getattr(self, "_handle", ffi.NULL), ffi.NULL
        if handle != ffi.NULL:
            lib().loco_coordinator_destroy(handle)

    def _live(self):
        if self._handle == ffi.NULL:
            raise ValueError("the coordinator is closed")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        state = self.address if self._handle != ffi.NULL else "closed"
        return f"<loco.Coordinator {state}>"
