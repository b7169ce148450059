"""test_buffers.py: which numpy arrays and torch tensors loco takes, zero copy (the pointer is the
array's own), and the TypeError / ValueError, with what to do, for the rest. No C call."""

import numpy as np
import pytest

from loco import as_buffer
from loco._lib import ffi
from loco import buffers as b


def addr(buf):
    return int(ffi.cast("uintptr_t", buf.ptr))


@pytest.mark.parametrize("dtype,code", [(np.float32, b.F32), (np.float64, b.F64),
                                        (np.float16, b.F16), (np.int8, b.I8), (np.uint8, b.U8),
                                        (np.int32, b.I32), (np.uint32, b.U32), (np.int64, b.I64),
                                        (np.uint64, b.U64)])
def test_numpy_dtypes(dtype, code):
    a = np.zeros((3, 4), dtype=dtype)
    buf = as_buffer(a)
    assert (buf.dtype, buf.count, addr(buf), buf.obj is a) == (code, 12, a.ctypes.data, True)


def test_numpy_view_points_into_its_base():
    a = np.zeros(100, dtype=np.float32)
    assert addr(as_buffer(a[10:20])) == a.ctypes.data + 40


@pytest.mark.parametrize("dtype", [bool, np.complex64, ">f4", "<M8[s]", object])
def test_numpy_bad_dtypes(dtype):
    with pytest.raises(TypeError, match="astype"):
        as_buffer(np.zeros(4, dtype=dtype))


def test_numpy_layouts():
    with pytest.raises(ValueError, match="ascontiguousarray"):
        as_buffer(np.zeros(10, np.float32)[::2])
    with pytest.raises(ValueError, match="ascontiguousarray"):
        as_buffer(np.zeros((3, 4), np.float32, order="F"))
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        as_buffer(ro)
    assert as_buffer(ro, writable=False).count == 4


def test_not_an_array():
    for x in ([1.0], 3.0, b"bytes", memoryview(b"xx")):
        with pytest.raises(TypeError, match="numpy.ndarray or a torch.Tensor"):
            as_buffer(x)


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    for dtype, code in [(torch.float32, b.F32), (torch.float64, b.F64), (torch.float16, b.F16),
                        (torch.bfloat16, b.BF16), (torch.int8, b.I8), (torch.uint8, b.U8),
                        (torch.int32, b.I32), (torch.int64, b.I64)]:
        t = torch.zeros(2, 5, dtype=dtype)
        buf = as_buffer(t)
        assert (buf.dtype, buf.count, addr(buf)) == (code, 10, t.data_ptr())
    base = torch.zeros(100)
    assert addr(as_buffer(base[10:20])) == base.data_ptr() + 40
    assert as_buffer(torch.zeros(3, requires_grad=True)).count == 3


def test_torch_refusals():
    torch = pytest.importorskip("torch")
    for dtype in (torch.bool, torch.complex64, torch.int16):
        with pytest.raises(TypeError, match="dtype"):
            as_buffer(torch.zeros(3, dtype=dtype))
    with pytest.raises(ValueError, match=r"t\.contiguous\(\)"):
        as_buffer(torch.zeros(3, 4).t())
    with pytest.raises(ValueError, match=r"\.cpu\(\)"):
        as_buffer(torch.zeros(3, device="meta"))  # what a CUDA tensor gets too
    with pytest.raises(ValueError, match="dense"):
        as_buffer(torch.zeros(3, 3).to_sparse())
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            as_buffer(torch.zeros(3, device="cuda"))
