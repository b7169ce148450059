"""_native.py: small helpers for calling the C API from the classes: versioned option structs,
C strings, timeouts in seconds.

Option structs carry a struct_size (loco.h): the library's *_init writes its own struct's size and
defaults. We allocate more than either side's struct could need, let the library initialize it, and
pass the smaller of the two sizes, so this package works with a library older or newer than the
header it was written against (fields the library does not know are then ignored).
"""

from ._lib import ffi

_SLACK = 1024  # bytes beyond our own struct for a newer library's larger one


def new_struct(ctype, init):
    """A `ctype *` (e.g. "loco_comm_options_t") initialized by the library's init function."""
    size = ffi.sizeof(ctype)
    raw = ffi.new("char[]", size + _SLACK)
    s = ffi.cast(ctype + " *", raw)
    init(s)
    s.struct_size = min(int(s.struct_size), size)
    return s, raw  # keep `raw` alive as long as `s` is used


def cstr(text, keep):
    """A char* for text (None: NULL); the cffi object is appended to `keep` to outlive the call."""
    if text is None:
        return ffi.NULL
    if not isinstance(text, (str, bytes)):
        raise TypeError(f"expected a string, not {type(text).__name__}")
    buf = ffi.new("char[]", text.encode() if isinstance(text, str) else text)
    keep.append(buf)
    return buf


def timeout_ms(seconds):
    """Seconds (None: forever) as the C API's int32 milliseconds (negative: forever)."""
    if seconds is None:
        return -1
    if seconds < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None (forever), not {seconds}")
    return min(int(round(seconds * 1000.0)), 2**31 - 1)


def ms(seconds, what):
    """Seconds as uint32 milliseconds for an option."""
    if seconds < 0:
        raise ValueError(f"{what} must be >= 0 seconds, not {seconds}")
    return min(int(round(seconds * 1000.0)), 2**32 - 1)
