"""state.py: SharedState, a named list of arrays with a revision kept bit-identical across peers.

At sync() every member reports its revision and per-chunk hashes; the coordinator takes the most
common content per chunk, and peers that differ fetch exactly those chunks from several donors,
verified by hash, straight into the registered arrays (no copy through Python). A peer that joins
late syncs with strategy "receive_only" and ends with the others' values:

    state = loco.SharedState(comm)
    state.add("weights", model_weights)        # numpy array or CPU tensor, used in place
    state.revision = step
    state.sync()                                # every member of the epoch must call it
"""

from dataclasses import dataclass

from ._lib import ffi, lib
from ._native import cstr, timeout_ms
from .buffers import as_buffer
from .errors import check

ENFORCE_MAJORITY, RECEIVE_ONLY, SEND_ONLY = 1, 2, 3
_STRATEGIES = {"enforce_majority": ENFORCE_MAJORITY, "majority": ENFORCE_MAJORITY,
               "receive_only": RECEIVE_ONLY, "send_only": SEND_ONLY}


def sync_strategy(strategy):
    """loco_sync_strategy_t of "enforce_majority" (or "majority"), "receive_only", "send_only"."""
    if isinstance(strategy, str):
        key = strategy.lower().replace("-", "_")
        if key not in _STRATEGIES:
            raise ValueError(f"unknown sync strategy {strategy!r}; one of {', '.join(_STRATEGIES)}")
        return _STRATEGIES[key]
    if strategy in (ENFORCE_MAJORITY, RECEIVE_ONLY, SEND_ONLY):
        return int(strategy)
    raise ValueError(f"unknown sync strategy {strategy!r}")


@dataclass(frozen=True)
class SyncStats:
    """One sync: its round, the revision after it, what this peer fetched and from how many
    donors (bad_donors: peers that served bytes not matching the hash, reported and evicted)."""

    round: int
    revision: int
    chunks_fetched: int
    bytes_fetched: int
    donors_used: int
    bad_donors: int
    fetch_ms: float


class SharedState:
    """Shared state served by this peer. chunk_size: bytes per hashed chunk (0: 4 MiB; valid 4 KiB
    .. 64 MiB). Raises InvalidArgument, FailedPrecondition (comm not connected), Unavailable."""

    def __init__(self, comm, chunk_size=0):
        out = ffi.new("loco_state_t **")
        check(lib().loco_state_create(comm._live(), int(chunk_size), out), "loco.SharedState")
        self._handle = out[0]
        self._comm = comm        # the state must go before the comm: keep it alive
        self._arrays = {}        # name -> array: loco reads and writes them until close()
        comm._states.add(self)

    def add(self, name, tensor, *, per_peer=False):
        """Registers `tensor` (numpy array or CPU tensor, C-contiguous) under a unique name.
        per_peer: may differ between peers (a data-loader position): excluded from parity. Every
        peer must add the same names, dtypes and sizes in the same order. Raises TypeError /
        ValueError for an unusable array, InvalidArgument (empty or repeated name)."""
        buf = as_buffer(tensor, f"state buffer {name!r}")
        keep = []
        check(lib().loco_state_add_buffer(self._live(), cstr(name, keep), buf.dtype, buf.ptr,
                                          buf.count, 1 if per_peer else 0), f"add {name!r}")
        self._arrays[name] = tensor
        return tensor

    @property
    def revision(self):
        """Advance it by one after each step that changes the state, before the sync."""
        return int(lib().loco_state_revision(self._live()))

    @revision.setter
    def revision(self, value):
        check(lib().loco_state_set_revision(self._live(), int(value)), "set revision")

    def set_revision(self, value):
        self.revision = value

    def sync(self, strategy="enforce_majority", timeout=None):
        """One sync point, blocking (timeout in seconds; None: loco's default, two minutes). Every
        member of the epoch must call it. Returns SyncStats. Raises InvalidArgument (no buffers),
        FailedPrecondition (revision ahead of the swarm's, a different layout, send_only and
        different; the state is untouched), Unavailable (retry), DeadlineExceeded (a member never
        synced), DataLoss (this peer was evicted for serving bad chunks)."""
        stats = ffi.new("loco_sync_stats_t *")
        check(lib().loco_state_sync(self._live(), sync_strategy(strategy), timeout_ms(timeout),
                                    stats), "sync")
        return SyncStats(int(stats.round), int(stats.revision), int(stats.chunks_fetched),
                         int(stats.bytes_fetched), int(stats.donors_used), int(stats.bad_donors),
                         float(stats.fetch_ms))

    def __getitem__(self, name):
        return self._arrays[name]

    def names(self):
        return list(self._arrays)

    def close(self):
        """Stops serving and frees the state (not the arrays). Idempotent."""
        handle, self._handle = getattr(self, "_handle", ffi.NULL), ffi.NULL
        if handle != ffi.NULL:
            lib().loco_state_destroy(handle)
            self._arrays = {}

    def _live(self):
        if self._handle == ffi.NULL:
            raise ValueError("the shared state is closed")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
