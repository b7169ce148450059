"""communicator.py: Communicator, one peer of a swarm: joining, membership, and the collectives
(all_reduce, reduce_scatter, all_gather, broadcast; each also *_async).

    comm = loco.Communicator("127.0.0.1:7000", secret="s3cret").connect()
    comm.wait_for_world(2, timeout=30)
    comm.all_reduce(tensor)            # in place, bit-identical on every peer

Arrays are numpy.ndarray or torch.Tensor (CPU, C-contiguous), used in place (buffers.py). When the
membership changes during an operation it raises a RetryableError (Aborted, Unavailable,
DeadlineExceeded) on every survivor with every input as it was: wait_for_epoch() and run it again.
A Communicator is not thread-safe: one thread at a time, or one per tag with the async forms.
"""

import weakref

from ._lib import ffi, lib
from ._native import cstr, ms, new_struct, timeout_ms
from .buffers import as_buffer
from .errors import check
from . import ops


def _parse_address(coordinator):
    """(host, port) of "host:port", "[v6]:port", (host, port), a port number or a Coordinator."""
    if hasattr(coordinator, "address") and hasattr(coordinator, "port"):
        coordinator = coordinator.address
    if isinstance(coordinator, int):
        return "127.0.0.1", coordinator
    if isinstance(coordinator, tuple) and len(coordinator) == 2:
        return str(coordinator[0]), int(coordinator[1])
    if isinstance(coordinator, str):
        host, sep, port = coordinator.rpartition(":")
        if sep and port.isdigit():
            return (host[1:-1] if host.startswith("[") else host) or "127.0.0.1", int(port)
    raise ValueError(f"coordinator must be 'host:port', (host, port), a port or a Coordinator, "
                     f"not {coordinator!r}")


class Communicator:
    """One peer. Creating it does no I/O; connect() joins the swarm.

    coordinator: "host:port", (host, port), a port on 127.0.0.1, or a loco.Coordinator.
    secret / secret_file: the swarm secret (neither: $LOCO_SECRET, else none). name: a label for
    logs. connect_timeout: seconds. data_host, data_port, data_port_last, advertise_host,
    advertise_port, stripes: the data plane, as in loco.h's loco_comm_options_t.
    Raises InvalidArgument for a bad option."""

    def __init__(self, coordinator, *, secret=None, secret_file=None, name=None,
                 connect_timeout=10.0, data_host=None, data_port=0, data_port_last=0,
                 advertise_host=None, advertise_port=0, stripes=2):
        self._handle = ffi.NULL
        self._pending = weakref.WeakSet()  # Works in flight: waited for before the comm goes
        self._states = weakref.WeakSet()   # SharedStates: destroyed before the comm
        host, port = _parse_address(coordinator)
        keep = []
        o, raw = new_struct("loco_comm_options_t", lib().loco_comm_options_init)
        o.coordinator_host = cstr(host, keep)
        o.coordinator_port = port
        o.secret = cstr(secret, keep)
        o.secret_file = cstr(secret_file, keep)
        o.name = cstr(name, keep)
        o.connect_timeout_ms = ms(connect_timeout, "connect_timeout")
        o.data_host = cstr(data_host, keep)
        o.data_port = int(data_port)
        o.stripes = int(stripes)
        o.data_port_last = int(data_port_last)
        o.advertise_host = cstr(advertise_host, keep)
        o.advertise_port = int(advertise_port)
        out = ffi.new("loco_comm_t **")
        check(lib().loco_comm_create(o, out), "loco.Communicator")
        self._handle = out[0]
        self.coordinator = (host, port)
        del raw, keep

    # ---- membership ---------------------------------------------------------------------------

    def connect(self):
        """Joins the swarm (connect, authenticate, heartbeats); the peer becomes a member at the
        next epoch (wait_for_world). Returns self. Raises Unavailable (coordinator unreachable),
        Unauthenticated (secret), ProtocolMismatch, DeadlineExceeded (connect_timeout),
        FailedPrecondition (already connected), or a listen error of the data plane."""
        check(lib().loco_comm_connect(self._live()), "connect")
        return self

    def wait_for_world(self, min_world=1, timeout=None):
        """Blocks until this peer is a member of an epoch with at least min_world members (timeout
        in seconds; None: forever). Returns the world size. Raises DeadlineExceeded, Unavailable
        (coordinator lost, or this peer expelled), FailedPrecondition (not connected)."""
        check(lib().loco_comm_wait_for_world(self._live(), int(min_world), timeout_ms(timeout)),
              "wait_for_world")
        return self.world_size

    def wait_for_epoch(self, after_epoch=None, timeout=None):
        """Blocks until the epoch is newer than after_epoch (default: the current one): the retry
        idiom after a RetryableError. Returns the new epoch. Raises as wait_for_world does."""
        if after_epoch is None:
            after_epoch = self.epoch
        check(lib().loco_comm_wait_for_epoch(self._live(), int(after_epoch), timeout_ms(timeout)),
              "wait_for_epoch")
        return self.epoch

    def _query(self, fn, ctype, what):
        out = ffi.new(ctype)
        check(fn(self._live(), out), what)
        return int(out[0])

    @property
    def world_size(self):
        """Members of the current epoch (raises Unavailable once the coordinator is gone)."""
        return self._query(lib().loco_comm_world_size, "int32_t *", "world_size")

    @property
    def rank(self):
        """This peer's place in the ring; -1 while not yet a member."""
        return self._query(lib().loco_comm_rank, "int32_t *", "rank")

    @property
    def epoch(self):
        """The current membership epoch."""
        return self._query(lib().loco_comm_epoch, "uint64_t *", "epoch")

    @property
    def peer_id(self):
        """This peer's id, unique within the coordinator's lifetime (0 before connect)."""
        return int(lib().loco_comm_peer_id(self._live()))

    def segment(self, count, rank=None, world_size=None):
        """(offset, length) of the part of a count-element buffer a rank owns in reduce_scatter
        and all_gather (default: this rank in the current world)."""
        rank = self.rank if rank is None else rank
        world_size = self.world_size if world_size is None else world_size
        off, n = ffi.new("size_t *"), ffi.new("size_t *")
        lib().loco_segment(int(count), int(world_size), max(int(rank), 0), off, n)
        return int(off[0]), int(n[0])

    # ---- collectives --------------------------------------------------------------------------

    def all_reduce(self, tensor, op="sum", *, out=None, tag=0, wire_codec=None, async_op=False):
        """Reduces `tensor` over every peer: in place, or into `out` (same dtype and size; tensor
        is then only read). op: "sum", "avg", "min", "max". wire_codec: None (raw), "fp16",
        "bf16", "int8[:block=N]", "int4[:block=N]" (float32, sum or avg; still bit-identical on
        every peer). Returns OpStats (async_op: a Work). Raises InvalidArgument, FailedPrecondition
        (not a member yet), a RetryableError (retry in the next epoch), DataLoss."""
        src = as_buffer(tensor, "tensor", writable=out is None)
        dst = src if out is None else as_buffer(out, "out")
        self._same(src, dst, "tensor", "out")
        return ops.start(self, ops.ALL_REDUCE, None if out is None else src, dst, src.count,
                         src.dtype, op=ops.reduce_op(op), tag=tag, wire_codec=wire_codec,
                         async_op=async_op)

    def reduce_scatter(self, input, output, op="sum", *, tag=0, async_op=False):
        """Reduces `input` (count elements) over every peer; `output` receives this rank's segment
        (self.segment(count) long). Raises as all_reduce does."""
        src = as_buffer(input, "input", writable=False)
        dst = as_buffer(output, "output")
        self._segment_matches(src.count, dst, "output")
        self._same_dtype(src, dst, "input", "output")
        return ops.start(self, ops.REDUCE_SCATTER, src, dst, src.count, src.dtype,
                         op=ops.reduce_op(op), tag=tag, async_op=async_op)

    def all_gather(self, input, output, *, tag=0, async_op=False):
        """Every rank's `input` (its segment of `output`, self.segment(output count) long) lands in
        `output` in ring order. Raises as all_reduce does."""
        src = as_buffer(input, "input", writable=False)
        dst = as_buffer(output, "output")
        self._segment_matches(dst.count, src, "input")
        self._same_dtype(src, dst, "input", "output")
        return ops.start(self, ops.ALL_GATHER, src, dst, dst.count, dst.dtype, tag=tag,
                         async_op=async_op)

    def broadcast(self, tensor, root=0, *, tag=0, async_op=False):
        """`tensor` becomes the root rank's on every peer. Raises as all_reduce does."""
        buf = as_buffer(tensor, "tensor")
        return ops.start(self, ops.BROADCAST, None, buf, buf.count, buf.dtype, root=root, tag=tag,
                         async_op=async_op)

    def all_reduce_async(self, tensor, op="sum", **kw):
        """all_reduce(..., async_op=True): a Work; call .wait()."""
        return self.all_reduce(tensor, op, async_op=True, **kw)

    def reduce_scatter_async(self, input, output, op="sum", **kw):
        return self.reduce_scatter(input, output, op, async_op=True, **kw)

    def all_gather_async(self, input, output, **kw):
        return self.all_gather(input, output, async_op=True, **kw)

    def broadcast_async(self, tensor, root=0, **kw):
        return self.broadcast(tensor, root, async_op=True, **kw)

    @staticmethod
    def _same_dtype(a, b, na, nb):
        if a.dtype != b.dtype:
            raise TypeError(f"{na} is {a.dtype_name} but {nb} is {b.dtype_name}")

    def _same(self, a, b, na, nb):
        self._same_dtype(a, b, na, nb)
        if a.count != b.count:
            raise ValueError(f"{na} has {a.count} elements but {nb} has {b.count}")

    def _segment_matches(self, count, seg, what):
        # The C API takes the whole count and sizes the segment from the epoch it runs in; an
        # epoch change between this check and the call makes the operation fail (ABORTED) only if
        # it changes during it, so the check uses the freshest world the peer knows.
        _, n = self.segment(count)
        if seg.count != n:
            raise ValueError(f"{what} has {seg.count} elements but rank {self.rank} of "
                             f"{self.world_size} owns {n} of {count} (see Communicator.segment)")

    # ---- lifetime -----------------------------------------------------------------------------

    def _live(self):
        if self._handle == ffi.NULL:
            raise ValueError("the communicator is closed")
        return self._handle

    def _track(self, work):
        self._pending.add(work)

    def _forget(self, work):
        self._pending.discard(work)

    def close(self):
        """Waits for operations in flight, closes its shared states, leaves the swarm gracefully
        and frees the peer. Idempotent."""
        if getattr(self, "_handle", ffi.NULL) == ffi.NULL:
            return
        for work in list(self._pending):
            try:
                work.wait()
            except Exception:
                pass
        for state in list(self._states):
            state.close()
        handle, self._handle = self._handle, ffi.NULL
        lib().loco_comm_destroy(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        if self._handle == ffi.NULL:
            return "<loco.Communicator closed>"
        return f"<loco.Communicator peer {self.peer_id} of {self.coordinator[0]}:{self.coordinator[1]}>"
