"""test_fault.py: SIGKILL of one of 3 peers while the other two wait inside an all-reduce for it.

The victim completes step K and then stops taking part (peer.py --park-after K); the survivors
enter step K+1 and block in it; the test kills the victim. Both survivors must see a
RetryableError (Aborted, Unavailable or DeadlineExceeded) with their buffer untouched, wait for the
next epoch, retry, and finish every step in a world of 2 with identical bytes, in bounded time."""

import signal
import time

import loco

STEPS, PARK = 12, 4


def test_survivors_retry_after_sigkill(peers):
    survivors = peers.start_many(2, "steps", 3, "--steps", str(STEPS))
    victim = peers.start("steps", 3, "--steps", str(STEPS), "--park-after", str(PARK))
    victim.wait_line("PARKED", timeout=60)
    for p in survivors:
        p.wait_line(f"STEP {PARK} ", timeout=30)
    time.sleep(0.5)  # the survivors are now inside step PARK + 1, waiting for the victim
    killed = time.monotonic()
    victim.proc.send_signal(signal.SIGKILL)
    results = [p.result(timeout=60) for p in survivors]
    elapsed = time.monotonic() - killed
    assert elapsed < 20, f"the survivors took {elapsed:.1f}s after the kill"
    retryable = {c.__name__: c.code for c in (loco.Aborted, loco.Unavailable, loco.DeadlineExceeded)}
    for r in results:
        assert r["world"] == 2 and r["last"] == 2.0 * STEPS, r
        assert r["errors"], f"rank {r['rank']} saw no error: the kill was not mid-operation"
        for e in r["errors"]:
            assert e["type"] in retryable and e["code"] == retryable[e["type"]], e
            assert e["retryable"] and e["untouched"], e
    assert results[0]["hash"] == results[1]["hash"]
    print(f"survivors finished {elapsed:.2f}s after the SIGKILL; errors: "
          f"{[[e['type'] for e in r['errors']] for r in results]}")
