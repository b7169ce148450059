"""loco for Python: fault-tolerant collectives and shared state over TCP, for numpy and PyTorch.

    import loco, torch
    comm = loco.connect("127.0.0.1:7000", world=2, timeout=30)
    grad = torch.ones(1024)
    comm.all_reduce(grad, op="avg")                  # in place, bit-identical on every peer

Why cffi in ABI mode over loco's C API (include/loco/loco.h), and not a C++ extension:
  * the C API is loco's stable seam: numbered status codes, versioned option structs, symbols
    that only ever gain entries. A binding over it keeps working across loco releases;
  * nothing is compiled against LibTorch's (or numpy's) C++ ABI, so the package works with any
    torch or numpy version (and without either), and installs without a compiler;
  * arrays cross as a data pointer (tensor.data_ptr(), arr.ctypes.data): zero copy, and cffi
    releases the GIL for every C call, so a blocking collective does not stall other threads.

Where libloco comes from: $LOCO_LIBRARY, else the installed libloco.so.1, else a build tree of
this checkout (see loco._lib). Errors are LocoError subclasses (loco.errors) with .code,
.status, .retryable and loco_last_error()'s message.
"""

from ._lib import library_path
from ._lib import lib as _lib
from .buffers import as_buffer
from .communicator import Communicator
from .coordinator import Coordinator
from .errors import (Aborted, Cancelled, DataLoss, DeadlineExceeded, FailedPrecondition,
                     Internal, InvalidArgument, LocoError, ProtocolMismatch, ResourceExhausted,
                     RetryableError, Unauthenticated, Unavailable, Unimplemented)
from .ops import AVG, MAX, MIN, SUM, OpStats, Work
from .state import ENFORCE_MAJORITY, RECEIVE_ONLY, SEND_ONLY, SharedState, SyncStats

__version__ = "0.1.0"


def api_version():
    """LOCO_API_VERSION of the libloco actually loaded."""
    return int(_lib().loco_api_version())


def connect(coordinator, *, world=None, timeout=None, **options):
    """A connected Communicator (options as Communicator's); with world, also waits (timeout
    seconds) until it is a member of an epoch of at least that many peers."""
    comm = Communicator(coordinator, **options).connect()
    if world is not None:
        comm.wait_for_world(world, timeout=timeout)
    return comm


__all__ = [
    "Aborted", "AVG", "Cancelled", "Communicator", "Coordinator", "DataLoss", "DeadlineExceeded",
    "ENFORCE_MAJORITY", "FailedPrecondition", "Internal", "InvalidArgument", "LocoError", "MAX",
    "MIN", "OpStats", "ProtocolMismatch", "RECEIVE_ONLY", "ResourceExhausted", "RetryableError",
    "SEND_ONLY", "SUM", "SharedState", "SyncStats", "Unauthenticated", "Unavailable",
    "Unimplemented", "Work", "api_version", "as_buffer", "connect", "library_path",
]
