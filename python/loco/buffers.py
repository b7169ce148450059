"""buffers.py: a numpy array or torch tensor seen as (pointer, element count, loco dtype), zero copy.

loco reads and writes the caller's memory in place through the data pointer (numpy: arr.ctypes.data,
torch: tensor.data_ptr()), so an array must be C-contiguous, in host (CPU) memory, of a dtype loco
knows, and writable when loco writes it. Anything else is refused here with a TypeError (not an
array, wrong dtype) or a ValueError (layout, device, read-only) that says what to do, before any C
call. numpy and torch are imported only if the caller has imported them: loco needs neither.
Writes go around autograd, as torch.distributed's do.
"""

import sys

from ._lib import ffi

# loco_dtype_t
F32, F64, F16, BF16, I8, U8, I32, U32, I64, U64 = range(10)
_NAMES = {F32: "float32", F64: "float64", F16: "float16", BF16: "bfloat16", I8: "int8",
          U8: "uint8", I32: "int32", U32: "uint32", I64: "int64", U64: "uint64"}
_NUMPY = {"float32": F32, "float64": F64, "float16": F16, "int8": I8, "uint8": U8,
          "int32": I32, "uint32": U32, "int64": I64, "uint64": U64}
_TORCH = {"torch.float32": F32, "torch.float64": F64, "torch.float16": F16,
          "torch.bfloat16": BF16, "torch.int8": I8, "torch.uint8": U8, "torch.int32": I32,
          "torch.int64": I64}


class Buffer:
    """A validated view: .ptr (void*), .count (elements), .dtype (loco_dtype_t), .obj (the array,
    kept alive while the buffer is)."""

    __slots__ = ("ptr", "count", "dtype", "obj")

    def __init__(self, ptr, count, dtype, obj):
        self.ptr, self.count, self.dtype, self.obj = ptr, count, dtype, obj

    @property
    def dtype_name(self):
        return _NAMES[self.dtype]


def dtype_name(code):
    return _NAMES[code]


def _is_torch(x):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _is_numpy(x):
    np = sys.modules.get("numpy")
    return np is not None and isinstance(x, np.ndarray)


def _from_numpy(a, what, writable):
    dtype = _NUMPY.get(a.dtype.name)
    if dtype is None or not a.dtype.isnative:
        raise TypeError(f"{what} has dtype {a.dtype.str}; loco takes native-endian "
                        f"{', '.join(_NUMPY)} (convert with a.astype(np.float32))")
    if not a.flags.c_contiguous:
        raise ValueError(f"{what} is not C-contiguous; pass b = np.ascontiguousarray(a) "
                         "(a copy: copy the result back with a[...] = b)")
    if writable and not a.flags.writeable:
        raise ValueError(f"{what} is read-only and loco writes the result into it; pass a "
                         "writable array (a.copy())")
    return Buffer(ffi.cast("void*", a.ctypes.data), int(a.size), dtype, a)


def _from_torch(t, what, writable):
    import torch  # already imported by the caller

    if t.device.type != "cpu":
        raise ValueError(f"{what} is on {t.device}; loco moves host memory: copy it to the CPU "
                         "(h = t.cpu(), or a pinned buffer), run the collective on h, then "
                         "t.copy_(h)")
    if t.layout != torch.strided:
        raise ValueError(f"{what} has layout {t.layout}; loco takes dense tensors "
                         "(t.to_dense())")
    dtype = _TORCH.get(str(t.dtype))
    if dtype is None:
        raise TypeError(f"{what} has dtype {t.dtype}; loco takes "
                        f"{', '.join(k[6:] for k in _TORCH)} (convert with t.float())")
    if not t.is_contiguous():
        raise ValueError(f"{what} is not contiguous; pass c = t.contiguous() (a copy: copy the "
                         "result back with t.copy_(c))")
    if t.is_conj() or t.is_neg():
        raise ValueError(f"{what} has a lazy conjugate/negative bit; call t.resolve_conj() or "
                         "t.resolve_neg() first")
    return Buffer(ffi.cast("void*", t.data_ptr()), int(t.numel()), dtype, t)


def as_buffer(x, what="tensor", writable=True):
    """The Buffer of a numpy.ndarray or torch.Tensor; TypeError/ValueError if loco cannot use it."""
    if _is_torch(x):
        return _from_torch(x, what, writable)
    if _is_numpy(x):
        return _from_numpy(x, what, writable)
    raise TypeError(f"{what} must be a numpy.ndarray or a torch.Tensor, not {type(x).__name__}")
