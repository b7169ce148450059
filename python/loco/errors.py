"""errors.py: loco's status codes as Python exceptions, and check(), which raises them.

Every failing C call returns a loco_status_t; check() turns it into the matching LocoError
subclass carrying loco_last_error()'s message. The codes say what to do next (docs/errors.md):
RetryableError (Unavailable, Aborted, DeadlineExceeded) means "wait for the next epoch and retry
the step": the buffers are as they were before the call.
"""

from ._lib import ffi, lib


class LocoError(Exception):
    """A failed loco call. .code: the C status number; .status: its name; .message: what happened
    (loco_last_error()); .retryable: whether the retry idiom applies."""

    code = -1
    retryable = False

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def status(self):
        return ffi.string(lib().loco_status_name(self.code)).decode()

    def __str__(self):
        # loco_last_error() usually names the status already ("...: ABORTED: epoch 3 ended").
        if self.status in self.message:
            return self.message
        return f"{self.status}: {self.message}"


class RetryableError(LocoError):
    """The membership changed or a peer is unreachable or hung: wait_for_epoch() and retry."""

    retryable = True


class InvalidArgument(LocoError, ValueError):
    """The call itself is wrong: fix it; retrying cannot help."""
    code = 1


class FailedPrecondition(LocoError):
    """The object is in the wrong state for this call (not connected, not yet a member, ...)."""
    code = 2


class Unavailable(RetryableError):
    """A peer or the coordinator cannot be reached, or this peer was expelled."""
    code = 3


class Aborted(RetryableError):
    """The epoch changed during the operation: retry the step with the new membership."""
    code = 4


class DeadlineExceeded(RetryableError, TimeoutError):
    """A deadline passed (a timeout, a hung peer)."""
    code = 5


class Cancelled(LocoError):
    code = 6


class DataLoss(LocoError):
    """Bytes arrived corrupt or truncated; the connection was dropped."""
    code = 7


class ProtocolMismatch(LocoError):
    code = 8


class Unauthenticated(LocoError):
    """Wrong or missing swarm secret."""
    code = 9


class ResourceExhausted(LocoError):
    code = 10


class Unimplemented(LocoError):
    code = 11


class Internal(LocoError):
    """A bug in loco: please report it."""
    code = 12


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, FailedPrecondition, Unavailable, Aborted, DeadlineExceeded, Cancelled,
    DataLoss, ProtocolMismatch, Unauthenticated, ResourceExhausted, Unimplemented, Internal)}


def error_for(code, message):
    """The exception for a status code (LocoError itself for a number loco does not define)."""
    cls = _BY_CODE.get(int(code))
    return cls(message) if cls else LocoError(message, code=int(code))


def check(status, what=None):
    """Raises the exception for `status` unless it is LOCO_OK. Call it right after the C call, on
    the same thread: loco_last_error() is per thread."""
    status = int(status)
    if status == 0:
        return
    message = ffi.string(lib().loco_last_error()).decode(errors="replace")
    if what:
        message = f"{what}: {message}" if message else what
    raise error_for(status, message)
