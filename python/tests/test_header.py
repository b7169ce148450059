"""test_header.py: the package's cffi declarations (loco/_cdef.py) match include/loco/loco.h:
the same functions with the same types, enum values, struct sizes and field offsets, and the same
LOCO_API_VERSION. cffi reads the header itself once the preprocessor lines are taken out."""

import os
import re

import pytest
from cffi import FFI

import loco
from loco import _cdef
from loco._lib import ffi as ours

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "include", "loco", "loco.h")


@pytest.fixture(scope="module")
def header():
    if not os.path.exists(HEADER):
        pytest.skip("include/loco/loco.h is not next to this package (an installed copy)")
    with open(HEADER) as f:
        text = f.read()
    body = "\n".join(l for l in text.splitlines()
                     if not l.lstrip().startswith("#") and "extern \"C\"" not in l)
    theirs = FFI()
    theirs.cdef(body)
    version = int(re.search(r"#define LOCO_API_VERSION (\d+)", text).group(1))
    functions = sorted(set(re.findall(r"\b(loco_\w+)\(", re.sub(r"/\*.*?\*/", "", text, flags=re.S))))
    return theirs, version, functions


def test_api_version(header):
    _, version, _ = header
    assert _cdef.API_VERSION == version == loco.api_version()


def layout(ffi, ctype):
    """(field, offset, C type) of every field of a struct."""
    return [(name, ffi.offsetof(ctype, name), field.type.cname) for name, field in ctype.fields]


def test_structs_and_enums(header):
    theirs, _, _ = header
    for name in ("loco_coordinator_options_t", "loco_comm_options_t", "loco_op_desc_t",
                 "loco_op_stats_t", "loco_sync_stats_t"):
        t_ours, t_theirs = ours.typeof(name), theirs.typeof(name)
        assert ours.sizeof(t_ours) == theirs.sizeof(t_theirs), name
        assert layout(ours, t_ours) == layout(theirs, t_theirs), name
    for name in ("loco_status_t", "loco_dtype_t", "loco_reduce_op_t", "loco_op_kind_t",
                 "loco_sync_strategy_t"):
        assert ours.typeof(name).relements == theirs.typeof(name).relements, name


def test_functions(header):
    theirs, _, functions = header
    lib_theirs = theirs.dlopen(loco.library_path())
    lib_ours = loco._lib()
    for name in functions:
        assert hasattr(lib_ours, name), f"{name} is in loco.h but not in loco/_cdef.py"
        assert ours.typeof(getattr(lib_ours, name)).cname == \
            theirs.typeof(getattr(lib_theirs, name)).cname, name
