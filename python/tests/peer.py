"""peer.py: one peer process of the multi-process tests, run as /usr/bin/python3 peer.py MODE ...

It joins the coordinator at --address, does what MODE says, prints progress lines (STEP i, PARKED,
SYNCED) and finally one line `RESULT {json}` for the test to check. Modes:
  collectives  all-reduce (numpy or torch), out of place, avg/max, int8 wire, all-gather,
               broadcast, reduce-scatter, async on two tags; hashes of every result
  steps        --steps all-reduces with the retry idiom; --park-after K: after step K stop taking
               part (sleep until killed), the victim of the SIGKILL test
  state-early  a state member from the start (--world - 1 of them): sync at revision 1, then
               again once the late joiner makes --world peers
  state-late   a late joiner: sync receive-only and report what it received
"""

import argparse
import hashlib
import json
import sys
import time

import numpy as np

import loco


def digest(x):
    a = x.numpy() if hasattr(x, "numpy") else x
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def say(*words):
    print(*words, flush=True)


def make(lib, values):
    """float32 array of `values` as a numpy array or a torch tensor."""
    if lib == "torch":
        import torch
        return torch.tensor(values, dtype=torch.float32)
    return np.asarray(values, dtype=np.float32)


def run_collectives(comm, a):
    r, w, n = comm.rank, comm.world_size, 1000
    k = np.arange(n, dtype=np.float64)
    out = {"rank": r, "world": w}
    # Exact sums: (r + 1) + k / 1024 has few mantissa bits, so every order of summation agrees.
    x = make(a.lib, (r + 1) + k / 1024)
    stats = comm.all_reduce(x)
    out["sum"] = digest(x)
    out["sum_exact"] = bool(np.array_equal(np.asarray(x), (w * (w + 1) / 2 + w * k / 1024)
                                           .astype(np.float32)))
    out["stats"] = {"world_size": stats.world_size, "epoch": stats.epoch,
                    "bytes_sent": stats.bytes_sent}
    # Random values: not exact, but bit-identical on every peer (compared by the test).
    rnd = make(a.lib, np.random.default_rng(r).standard_normal(4097))
    src = make(a.lib, np.array(rnd))  # a copy
    comm.all_reduce(src, out=rnd, op="avg")     # out of place: src unchanged
    out["avg"] = digest(rnd)
    out["src_unchanged"] = digest(src) == digest(make(a.lib, np.random.default_rng(r)
                                                      .standard_normal(4097)))
    m = make(a.lib, np.full(10, float(r)))
    comm.all_reduce(m, op="max")
    out["max_ok"] = bool(np.all(np.asarray(m) == w - 1))
    q = make(a.lib, np.random.default_rng(100 + r).standard_normal(3000))
    comm.all_reduce(q, wire_codec="int8")
    out["int8"] = digest(q)
    # all-gather: each rank contributes its segment, filled with its rank.
    off, cnt = comm.segment(n)
    gathered = make(a.lib, np.zeros(n))
    comm.all_gather(make(a.lib, np.full(cnt, float(r))), gathered)
    expect = np.concatenate([np.full(comm.segment(n, rank=i)[1], float(i)) for i in range(w)])
    out["all_gather_ok"] = bool(np.array_equal(np.asarray(gathered), expect.astype(np.float32)))
    # broadcast from the last rank.
    b = make(a.lib, np.full(77, float(r) + 0.5))
    comm.broadcast(b, root=w - 1)
    out["broadcast_ok"] = bool(np.all(np.asarray(b) == w - 0.5))
    # reduce-scatter: this rank's segment of the sum of (rank + 1) * k.
    full = make(a.lib, (r + 1) * k)
    seg = make(a.lib, np.zeros(cnt))
    comm.reduce_scatter(full, seg)
    out["reduce_scatter_ok"] = bool(np.array_equal(np.asarray(seg),
                                                   (w * (w + 1) / 2 * k[off:off + cnt])
                                                   .astype(np.float32)))
    # async: two tags in flight at once while Python works.
    t1, t2 = make(a.lib, np.ones(50000)), make(a.lib, np.full(50000, 2.0))
    w1 = comm.all_reduce_async(t1, tag=1)
    w2 = comm.all_reduce_async(t2, tag=2)
    busy = sum(i * i for i in range(10000))
    s1, s2 = w1.wait(), w2.wait()
    out["async_ok"] = bool(np.all(np.asarray(t1) == w) and np.all(np.asarray(t2) == 2 * w)
                           and busy > 0 and (s1.tag, s2.tag) == (1, 2) and w1.done)
    out["async_wait_again"] = w1.wait() == s1
    say("RESULT", json.dumps(out))


def run_steps(comm, a):
    data = np.zeros(1 << 16, dtype=np.float32)
    errors, step = [], 0
    while step < a.steps:
        data[:] = step + 1
        epoch = comm.epoch
        try:
            comm.all_reduce(data, tag=7)
        except loco.RetryableError as e:
            errors.append({"type": type(e).__name__, "code": e.code, "retryable": e.retryable,
                           "message": str(e), "untouched": bool(np.all(data == step + 1))})
            if len(errors) > 10:
                raise
            try:
                comm.wait_for_epoch(epoch, timeout=10)
            except loco.DeadlineExceeded:
                pass
            continue
        say("STEP", step, comm.world_size)
        if a.park_after is not None and step == a.park_after:
            say("PARKED")
            time.sleep(600)
        step += 1
    say("RESULT", json.dumps({"rank": comm.rank, "world": comm.world_size, "errors": errors,
                              "last": float(data[0]), "hash": digest(data)}))


def state_buffers(a, fill):
    """The state: a float32 numpy array and a float64 array (a torch tensor with --lib torch)."""
    w = np.zeros(50000, dtype=np.float32)
    m = np.zeros(3000, dtype=np.float64)
    if fill:
        w[:] = np.arange(w.size, dtype=np.float32) * 0.5
        m[:] = np.linspace(-1, 1, m.size)
    if a.lib == "torch":
        import torch
        m = torch.from_numpy(m).clone()
    return w, m


def run_state(comm, a, late):
    w, m = state_buffers(a, fill=not late)
    state = loco.SharedState(comm, chunk_size=16384)
    state.add("w", w)
    state.add("m", m)
    if not late:
        state.revision = 1
        state.sync()
        say("SYNCED")
        comm.wait_for_world(a.world, timeout=30)
        world = comm.world_size  # before the sync: after it, the others may already have left
        stats = state.sync()
    else:
        world = comm.world_size
        stats = state.sync("receive_only")
    say("RESULT", json.dumps({"rank": comm.rank, "world": world,
                              "revision": state.revision, "w": digest(w), "m": digest(m),
                              "chunks_fetched": stats.chunks_fetched,
                              "w0": float(w[1]), "same_object": state["w"] is w}))
    state.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--address", required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--lib", default="numpy", choices=["numpy", "torch"])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--park-after", type=int)
    a = p.parse_args()
    if a.lib == "torch":
        import torch  # noqa: F401  (before loco touches any tensor)
    comm = loco.Communicator(a.address, connect_timeout=10).connect()
    # state-early peers start without the late joiner: --world counts it.
    comm.wait_for_world(a.world - 1 if a.mode == "state-early" else a.world, timeout=30)
    {"collectives": lambda: run_collectives(comm, a), "steps": lambda: run_steps(comm, a),
     "state-early": lambda: run_state(comm, a, late=False),
     "state-late": lambda: run_state(comm, a, late=True)}[a.mode]()
    comm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
