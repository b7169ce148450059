#!/usr/bin/python3
"""gen_outer.py: writes the outer-optimizer golden files in tests/golden/outer/ with PyTorch's own
torch.optim.SGD (Debian's python3-torch), the optimizer DiLoCo's outer step is defined by.
tests/golden/outer_sgd_golden_test.cc replays them against src/optim/outer_sgd (OuterSgd): the
same start, the same pseudo-gradients, and after every step the parameters must match torch's.

Run with /usr/bin/python3 (the Debian interpreter that has torch):  tests/golden/gen_outer.py
Each case is one file <name>.f32 (little-endian float32): x0 (n values), then for each of `steps`
steps the pseudo-gradient g_t (n) and torch's parameters after the step x_t (n); and a line
'<name> <lr> <momentum> <nesterov 0|1> <steps> <n>' in cases.txt. Inputs come from a seeded torch
generator, so re-running gives the same files.
Not a test itself. torch's kernels may fuse x + (-lr) * d into one rounding (FMA) where loco
rounds twice, so the test allows a few ulps, not bit equality.
"""
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outer")
CASES = [
    # name, lr, momentum, nesterov: the DiLoCo paper's outer step, heavy ball, and plain SGD
    ("nesterov_paper", 0.7, 0.9, True),
    ("nesterov_lr1_m08", 1.0, 0.8, True),
    ("heavy_ball", 0.7, 0.9, False),
    ("plain_sgd", 0.5, 0.0, False),
]
STEPS = 6
N = 67  # not a multiple of any vector width: both the vector and the scalar tail paths run


def f32_bytes(t):
    return t.detach().contiguous().numpy().astype("<f4").tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for i, (name, lr, mu, nesterov) in enumerate(CASES):
        gen = torch.Generator().manual_seed(1000 + i)
        x = torch.nn.Parameter(torch.randn(N, generator=gen, dtype=torch.float32))
        opt = torch.optim.SGD([x], lr=lr, momentum=mu, nesterov=nesterov, dampening=0.0)
        blob = f32_bytes(x)
        for _ in range(STEPS):
            # A pseudo-gradient of the size DiLoCo meets (parameter drift over H inner steps).
            g = torch.randn(N, generator=gen, dtype=torch.float32) * 0.05
            x.grad = g.clone()
            opt.step()
            blob += f32_bytes(g) + f32_bytes(x)
        with open(os.path.join(OUT, name + ".f32"), "wb") as f:
            f.write(blob)
        lines.append(f"{name} {lr!r} {mu!r} {int(nesterov)} {STEPS} {N}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write(f"# written by tests/golden/gen_outer.py with torch {torch.__version__}\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
