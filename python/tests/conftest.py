"""conftest.py: fixtures of the Python tests: an in-process Coordinator on port 0 with fast
heartbeats, and Peers, which runs peer.py processes (the same /usr/bin/python3, the same
PYTHONPATH and LOCO_LIBRARY) and reads their progress lines and RESULT.

The tests use the package from this checkout (python/) unless PYTHONPATH says otherwise, and the
libloco that CTest names in LOCO_LIBRARY (else loco._lib's search)."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # python/, for `import loco` without an install

import loco  # noqa: E402


@pytest.fixture
def coordinator():
    with loco.Coordinator(port=0, heartbeat_period=0.1, heartbeat_timeout=1.0,
                          join_window=0.05) as c:
        yield c


class Peer:
    """One peer.py process; its stdout lines are read on a thread into a queue."""

    def __init__(self, args, env):
        self.args = args
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "peer.py")] + args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.lines, self.seen = queue.Queue(), []
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    @staticmethod
    def _read(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_line(self, prefix, timeout=60):
        """The first stdout line starting with prefix (earlier ones are kept in .seen)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no '{prefix}' line within {timeout}s; {self.describe()}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait()
                raise AssertionError(f"exited ({self.proc.returncode}) before '{prefix}'; "
                                     f"{self.describe()}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def result(self, timeout=60):
        """The RESULT object; the process must then exit 0."""
        line = self.wait_line("RESULT", timeout)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"did not exit after RESULT; {self.describe()}")
        assert self.proc.returncode == 0, self.describe()
        return json.loads(line.split(" ", 1)[1])

    def describe(self):
        return (f"peer {' '.join(self.args)}: stdout {self.seen[-20:]}, stderr:\n"
                + "".join(self.stderr[-30:]))


class Peers:
    def __init__(self, coordinator):
        self.address = coordinator.address
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [os.path.dirname(HERE)] + [p for p in self.env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.env.setdefault("LOCO_LIBRARY", loco.library_path())
        self.all = []

    def start(self, mode, world, *extra):
        p = Peer([mode, "--address", self.address, "--world", str(world)] + list(extra), self.env)
        self.all.append(p)
        return p

    def start_many(self, n, mode, world, *extra):
        return [self.start(mode, world, *extra) for _ in range(n)]

    def stop(self):
        for p in self.all:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()


@pytest.fixture
def peers(coordinator):
    ps = Peers(coordinator)
    yield ps
    ps.stop()
