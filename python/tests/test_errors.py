"""test_errors.py: statuses become exceptions with the right class, .code, .retryable and
loco_last_error()'s message; argument errors are caught in Python before any C call; blocking C
calls release the GIL. One process, an in-process coordinator."""

import socket
import threading
import time

import numpy as np
import pytest

import loco
from loco.errors import error_for

CODES = {1: loco.InvalidArgument, 2: loco.FailedPrecondition, 3: loco.Unavailable,
         4: loco.Aborted, 5: loco.DeadlineExceeded, 6: loco.Cancelled, 7: loco.DataLoss,
         8: loco.ProtocolMismatch, 9: loco.Unauthenticated, 10: loco.ResourceExhausted,
         11: loco.Unimplemented, 12: loco.Internal}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def comm(coordinator):
    with loco.connect(coordinator, world=1, timeout=10) as c:
        yield c


def test_every_code_has_its_class():
    for code, cls in CODES.items():
        e = error_for(code, "why")
        assert type(e) is cls and e.code == code and isinstance(e, loco.LocoError)
        assert e.retryable == (code in (3, 4, 5)) == isinstance(e, loco.RetryableError)
        assert e.status.isupper() and e.status in str(e)
    assert isinstance(error_for(5, ""), TimeoutError)
    assert isinstance(error_for(1, ""), ValueError)
    unknown = error_for(99, "odd")
    assert type(unknown) is loco.LocoError and unknown.code == 99 and unknown.status == "UNKNOWN"


def test_wait_for_world_timeout_is_deadline_exceeded(comm):
    t0 = time.monotonic()
    with pytest.raises(loco.DeadlineExceeded) as info:
        comm.wait_for_world(2, timeout=0.3)
    assert 0.25 < time.monotonic() - t0 < 5
    e = info.value
    assert e.code == 5 and e.retryable and e.status == "DEADLINE_EXCEEDED"
    assert "wait_for_world" in str(e) and len(e.message) > len("wait_for_world: ")


def test_connect_to_nothing_is_unavailable():
    c = loco.Communicator(("127.0.0.1", free_port()), connect_timeout=2)
    with pytest.raises(loco.Unavailable) as info:
        c.connect()
    assert info.value.code == 3 and info.value.retryable
    c.close()


def test_wrong_secret_is_unauthenticated():
    with loco.Coordinator(port=0, secret="right") as coord:
        c = loco.Communicator(coord, secret="wrong", connect_timeout=5)
        with pytest.raises(loco.Unauthenticated) as info:
            c.connect()
        assert info.value.code == 9 and not info.value.retryable
        c.close()
        with loco.connect(coord, secret="right", world=1, timeout=10) as ok:
            assert ok.world_size == 1 and ok.rank == 0


def test_busy_port_is_failed_precondition(coordinator):
    with pytest.raises(loco.FailedPrecondition) as info:
        loco.Coordinator(port=coordinator.port)
    assert str(coordinator.port) in str(info.value)


def test_bad_options_are_invalid_argument():
    with pytest.raises(loco.InvalidArgument):
        loco.Communicator(("127.0.0.1", 0))            # coordinator_port 0
    with pytest.raises(loco.InvalidArgument):
        loco.Communicator(("127.0.0.1", 1), stripes=0)
    with pytest.raises(ValueError):
        loco.Communicator("no port here")
    with pytest.raises(loco.InvalidArgument):
        loco.Coordinator(port=0, heartbeat_period=1.0, heartbeat_timeout=0.5)


def test_collective_before_connect_is_failed_precondition(coordinator):
    c = loco.Communicator(coordinator)
    with pytest.raises(loco.FailedPrecondition):
        c.all_reduce(np.ones(4, dtype=np.float32))
    with pytest.raises(loco.FailedPrecondition):
        c.wait_for_world(1, timeout=0.1)
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.all_reduce(np.ones(4, dtype=np.float32))


def test_wire_codec_errors_are_invalid_argument(comm):
    with pytest.raises(loco.InvalidArgument):
        comm.all_reduce(np.ones(64, dtype=np.float32), wire_codec="bogus")
    with pytest.raises(loco.InvalidArgument):
        comm.all_reduce(np.ones(64, dtype=np.float64), wire_codec="int8")
    x = np.ones(64, dtype=np.float32)
    comm.all_reduce(x, wire_codec="bf16")
    assert np.all(x == 1)


def test_python_side_argument_errors(comm):
    with pytest.raises(TypeError, match="dtype"):
        comm.all_reduce(np.zeros(4, dtype=bool))
    with pytest.raises(TypeError, match="numpy.ndarray or a torch.Tensor"):
        comm.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="contiguous"):
        comm.all_reduce(np.zeros(8, dtype=np.float32)[::2])
    with pytest.raises(ValueError, match="elements"):
        comm.all_reduce(np.zeros(4, np.float32), out=np.zeros(5, np.float32))
    with pytest.raises(TypeError, match="float64"):
        comm.all_reduce(np.zeros(4, np.float32), out=np.zeros(4, np.float64))
    with pytest.raises(ValueError, match="owns"):
        comm.reduce_scatter(np.zeros(10, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="reduce op"):
        comm.all_reduce(np.zeros(4, np.float32), op="median")


def test_writes_land_in_the_callers_memory(comm):
    """Zero copy: the output is a view into a larger array, written through its pointer."""
    big = np.zeros(300, dtype=np.float32)
    src = np.arange(100, dtype=np.float32)
    comm.all_gather(src, big[100:200])             # world 1: the one segment is all of it
    assert np.array_equal(big[100:200], src) and not big[:100].any() and not big[200:].any()
    torch = pytest.importorskip("torch")
    t = torch.zeros(300)
    comm.broadcast(t[50:60], root=0)
    comm.all_gather(torch.full((10,), 7.0), t[50:60])
    assert t[50:60].eq(7).all() and t[:50].eq(0).all() and t[60:].eq(0).all()


def test_blocking_calls_release_the_gil(comm):
    ticks, done = [0], threading.Event()

    def blocked():
        try:
            comm.wait_for_world(2, timeout=1.0)
        except loco.DeadlineExceeded:
            pass
        done.set()

    th = threading.Thread(target=blocked)
    th.start()
    while not done.is_set():
        ticks[0] += 1
    th.join()
    assert ticks[0] > 10000, f"the main thread ran only {ticks[0]} loops during a 1 s C call"


def test_work_dropped_without_wait_is_waited_for(comm):
    x = np.ones(1 << 16, dtype=np.float32)
    w = comm.all_reduce_async(x)
    del w                                           # waits in __del__: x stays valid
    assert np.all(x == 1)
    w = comm.all_reduce_async(x)
    assert not w.done and w.wait().world_size == 1 and w.done


def test_ops_and_stats(comm):
    x = np.full(1000, 3.0, dtype=np.float32)
    stats = comm.all_reduce(x, op=loco.MAX, tag=5)
    assert isinstance(stats, loco.OpStats) and stats.tag == 5 and stats.world_size == 1
    assert stats.epoch == comm.epoch and comm.segment(1000) == (0, 1000)
    assert comm.peer_id > 0 and "Communicator" in repr(comm)
