"""test_install.py: the package installs offline the documented way (pip, Debian's setuptools, no
build isolation, no index) and the installed copy finds libloco: through $LOCO_LIBRARY, through
the dynamic loader (LD_LIBRARY_PATH) without it, and fails with a clear ImportError otherwise.
pip runs on a copy of python/, so the checkout gets no build/ or egg-info."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

import loco

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, env, cwd):
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    # Looked up, not imported: importing setuptools inside pytest trips its distutils shim.
    for module in ("pip", "setuptools"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (apt-get install python3-{module})")
    tmp = tmp_path_factory.mktemp("install")
    src, target = tmp / "src", tmp / "target"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                        "--no-index", "--no-deps", "--quiet", "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return target


def clean_env(target, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("LOCO_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(target)
    env.update(extra)
    return env


def test_installed_copy_with_loco_library(installed, tmp_path):
    code = "import loco; print(loco.__file__); print(loco.api_version(), loco.library_path())"
    r = run_python(code, clean_env(installed, LOCO_LIBRARY=loco.library_path()), tmp_path)
    assert r.returncode == 0, r.stderr
    where, line = r.stdout.splitlines()
    assert where.startswith(str(installed)) and line == f"1 {loco.library_path()}"


def test_installed_copy_through_the_dynamic_loader(installed, tmp_path):
    libdir = os.path.dirname(os.path.abspath(loco.library_path()))
    r = run_python("import loco; print(loco.library_path(), loco.api_version())",
                   clean_env(installed, LD_LIBRARY_PATH=libdir), tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["libloco.so.1", "1"]


def test_bad_loco_library_is_a_clear_import_error(installed, tmp_path):
    r = run_python("import loco\ntry:\n loco.api_version()\nexcept ImportError as e:\n print(e)",
                   clean_env(installed, LOCO_LIBRARY=str(tmp_path / "nope.so")), tmp_path)
    assert r.returncode == 0 and "LOCO_LIBRARY=" in r.stdout and "does not load" in r.stdout
