"""ops.py: one collective through loco_collective / loco_collective_async: the descriptor, the
statistics (OpStats) and the handle of an operation in flight (Work).

The Communicator's methods (communicator.py) validate shapes and call start() here. The C calls
release the GIL (cffi does for every call), so other Python threads run while an operation
blocks, and an async operation runs on loco's threads while Python computes.
"""

from dataclasses import dataclass

from ._lib import ffi, lib
from ._native import cstr, new_struct
from .errors import check

ALL_REDUCE, REDUCE_SCATTER, ALL_GATHER, BROADCAST = 1, 2, 3, 4
_KIND_NAMES = {ALL_REDUCE: "all_reduce", REDUCE_SCATTER: "reduce_scatter",
               ALL_GATHER: "all_gather", BROADCAST: "broadcast"}

SUM, AVG, MIN, MAX = 0, 1, 2, 3
_OPS = {"sum": SUM, "avg": AVG, "mean": AVG, "min": MIN, "max": MAX}


def reduce_op(op):
    """loco_reduce_op_t of "sum" / "avg" (or "mean") / "min" / "max" or of loco.SUM ..."""
    if isinstance(op, str):
        if op.lower() not in _OPS:
            raise ValueError(f"unknown reduce op {op!r}; one of {', '.join(_OPS)}")
        return _OPS[op.lower()]
    if op in (SUM, AVG, MIN, MAX):
        return int(op)
    raise ValueError(f"unknown reduce op {op!r}")


@dataclass(frozen=True)
class OpStats:
    """What one operation cost: its (epoch, tag, seq), the world it ran in, bytes on the wire
    (headers included; encoded bytes for a wire codec) and time (vote_ms of duration_ms waiting
    for the commit vote)."""

    epoch: int
    tag: int
    seq: int
    world_size: int
    bytes_sent: int
    bytes_received: int
    duration_ms: float
    vote_ms: float

    @classmethod
    def _from(cls, s):
        return cls(int(s.epoch), int(s.tag), int(s.seq), int(s.world_size), int(s.bytes_sent),
                   int(s.bytes_received), float(s.duration_ms), float(s.vote_ms))


class Work:
    """An operation in flight (from a *_async method). wait() blocks until it ends and returns its
    OpStats or raises its error; the arrays must not be touched until then. The Work keeps them
    alive; if it is dropped without wait(), it waits while being collected, since loco still
    writes into them."""

    def __init__(self, handle, keep, kind, comm):
        self._handle, self._keep, self._kind, self._comm = handle, keep, kind, comm
        self._result = None

    def wait(self):
        """Blocks until the operation ends: its OpStats, or its LocoError (Aborted, Unavailable,
        DeadlineExceeded: retry in the next epoch; the inputs are as they were). Calling it again
        gives the same result."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            stats = ffi.new("loco_op_stats_t *")
            try:
                check(lib().loco_op_wait(handle, stats), _KIND_NAMES[self._kind])
                self._result = OpStats._from(stats)
            except Exception as e:  # keep it for a second wait()
                self._result = e
            finally:
                self._keep = None
                if self._comm is not None:
                    self._comm._forget(self)
                    self._comm = None
        if isinstance(self._result, Exception):
            raise self._result
        return self._result

    @property
    def done(self):
        """True once wait() has returned or raised (loco has no non-blocking poll)."""
        return self._handle is None

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            try:
                self.wait()
            except Exception:
                pass


def start(comm, kind, inp, out, count, dtype, *, op=SUM, root=0, tag=0, wire_codec=None,
          async_op=False):
    """Runs (or, async_op, starts) one collective on the comm's handle. inp/out are Buffers (inp
    None: in place). Returns OpStats, or a Work."""
    keep = [inp, out]
    d, raw = new_struct("loco_op_desc_t", lib().loco_op_desc_init)
    keep.append(raw)
    d.kind = kind
    setattr(d, "in", inp.ptr if inp is not None else ffi.NULL)  # "in" is a Python keyword
    d.out = out.ptr
    d.count = int(count)
    d.dtype = dtype
    d.op = op
    d.root = int(root)
    d.tag = int(tag)
    if wire_codec:
        d.wire_codec = cstr(wire_codec, keep)
    handle = comm._live()
    if not async_op:
        stats = ffi.new("loco_op_stats_t *")
        check(lib().loco_collective(handle, d, stats), _KIND_NAMES[kind])
        return OpStats._from(stats)
    pop = ffi.new("loco_op_t **")
    check(lib().loco_collective_async(handle, d, pop), _KIND_NAMES[kind])
    work = Work(pop[0], keep, kind, comm)
    comm._track(work)
    return work
