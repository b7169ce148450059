"""_lib.py: finds libloco and opens it with cffi in ABI mode (dlopen, nothing compiled).

Search order (the first that loads wins):
  1. $LOCO_LIBRARY: a path to libloco.so[.1] (an error if it does not load);
  2. the installed library: "libloco.so.1" through the dynamic loader (LD_LIBRARY_PATH, the
     ld.so cache: `cmake --install` to /usr/local then `ldconfig`), then <prefix>/lib and
     <prefix>/lib/<multiarch> for sys.prefix, /usr/local and /usr;
  3. a build tree of the source checkout this package sits in (<repo>/build/*/src/capi),
     preferring build/dev.
Not thread-safe on first use only in the harmless sense that two threads may both try to load.
"""

import glob
import os
import sys
import sysconfig

from cffi import FFI

from ._cdef import CDEF

ffi = FFI()
ffi.cdef(CDEF)

_SONAME = "libloco.so.1"
_lib = None
_path = None


def _installed_candidates():
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    seen = []
    for prefix in (sys.prefix, "/usr/local", "/usr"):
        for sub in ("lib", os.path.join("lib", multiarch) if multiarch else None, "lib64"):
            if sub:
                path = os.path.join(prefix, sub, _SONAME)
                if path not in seen:
                    seen.append(path)
    return seen


def _build_tree_candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))  # python/loco -> python -> repository root
    found = sorted(glob.glob(os.path.join(repo, "build", "*", "src", "capi", _SONAME)))
    found.sort(key=lambda p: 0 if os.sep + "dev" + os.sep in p else 1)
    return found


def _load():
    global _lib, _path
    explicit = os.environ.get("LOCO_LIBRARY")
    if explicit:
        if os.sep in explicit:  # a path (not a bare soname): absolute, for child processes
            explicit = os.path.abspath(explicit)
        try:
            _lib, _path = ffi.dlopen(explicit), explicit
            return
        except OSError as e:
            raise ImportError(f"LOCO_LIBRARY={explicit} does not load: {e}") from e
    tried = []
    for candidate in [_SONAME] + _installed_candidates() + _build_tree_candidates():
        if candidate != _SONAME and not os.path.exists(candidate):
            continue
        try:
            _lib, _path = ffi.dlopen(candidate), candidate
            return
        except OSError as e:
            tried.append(f"{candidate}: {e}")
    raise ImportError(
        "libloco not found. Set LOCO_LIBRARY=/path/to/libloco.so.1, install loco "
        "(cmake --install build/dev; ldconfig), or build it (scripts/setup). Tried:\n  "
        + "\n  ".join(tried or ["(no candidate exists)"]))


def lib():
    """The loaded library (cffi ABI-mode handle); loads it on first use."""
    if _lib is None:
        _load()
    return _lib


def library_path():
    """The path (or soname) libloco was loaded from."""
    lib()
    return _path
