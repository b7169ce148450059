"""test_state.py: shared state with a late joiner. Two peers sync a numpy float32 array and a
float64 array (numpy, or a torch tensor) at revision 1; a third joins with zeros, syncs
receive-only, and must end with the others' bytes and revision, received in place."""

import pytest


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_late_joiner_receives_state(peers, lib):
    if lib == "torch":
        pytest.importorskip("torch")
    early = peers.start_many(2, "state-early", 3, "--lib", lib)
    for p in early:
        p.wait_line("SYNCED", timeout=60)
    late = peers.start("state-late", 3, "--lib", lib)
    results = [p.result(timeout=60) for p in early + [late]]
    joined = results[-1]
    assert joined["world"] == 3 and joined["revision"] == 1
    assert joined["chunks_fetched"] > 0 and joined["w0"] == 0.5 and joined["same_object"]
    assert len({r["w"] for r in results}) == 1 and len({r["m"] for r in results}) == 1, results
    assert all(r["revision"] == 1 and r["chunks_fetched"] == 0 for r in results[:2]), results
