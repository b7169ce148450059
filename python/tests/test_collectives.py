"""test_collectives.py: 3 peer processes on one coordinator run every collective on float32
numpy arrays and on torch tensors: exact results where the sum is exact, bit-identical results
on every peer where it is not (random values, avg, the int8 wire), and async operations on two
tags at once."""

import pytest

CHECKS = ["sum_exact", "src_unchanged", "max_ok", "all_gather_ok", "broadcast_ok",
          "reduce_scatter_ok", "async_ok", "async_wait_again"]
HASHES = ["sum", "avg", "int8"]


def run(peers, lib, world=3):
    procs = peers.start_many(world, "collectives", world, "--lib", lib)
    results = [p.result(timeout=90) for p in procs]
    assert sorted(r["rank"] for r in results) == list(range(world))
    for r in results:
        assert r["world"] == world
        assert r["stats"]["world_size"] == world and r["stats"]["bytes_sent"] > 0
        failed = [c for c in CHECKS if not r[c]]
        assert not failed, f"rank {r['rank']}: {failed}"
    for h in HASHES:  # bit parity
        assert len({r[h] for r in results}) == 1, f"{h} differs between peers: {results}"
    return results


def test_numpy_float32_three_peers(peers):
    run(peers, "numpy")


def test_torch_float32_three_peers(peers):
    pytest.importorskip("torch")
    torch_results = run(peers, "torch")
    assert len({r["sum"] for r in torch_results}) == 1


def test_numpy_and_torch_agree(coordinator, peers):
    """The same exact sum from numpy peers and torch peers has the same bytes."""
    pytest.importorskip("torch")
    a = peers.start("collectives", 2, "--lib", "numpy")
    b = peers.start("collectives", 2, "--lib", "torch")
    ra, rb = a.result(timeout=90), b.result(timeout=90)
    assert ra["sum"] == rb["sum"] and ra["sum_exact"] and rb["sum_exact"]
