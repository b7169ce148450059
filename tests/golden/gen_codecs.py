#!/usr/bin/python3
"""gen_codecs.py: writes the codec golden files in tests/golden/codecs/ from an independent Python
reference of each format (docs/algorithms.md), using PyTorch (Debian's python3-torch) for the f32
arithmetic and the 16-bit conversions. tests/golden/codecs_golden_test.cc replays them against the
C++ codecs: encode(input) must give the reference bytes and decode(reference bytes) the reference
output, bit for bit.

Run with /usr/bin/python3 (the Debian interpreter that has torch):  tests/golden/gen_codecs.py
Each case is three small files, <name>.in (f32 input), <name>.enc (the encoded buffer) and
<name>.out (f32 decoded), plus a line '<name> <codec spec>' in cases.txt. Inputs come from a
seeded torch generator, so re-running gives the same files.
Not a test itself, and not the C++ algorithm translated line by line: each codec is written from
its definition (only the f32 operation order is shared, since bit-exactness needs it).
"""
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "codecs")
F32 = torch.float32
FLT_MIN = 2.0 ** -126
IDS = {"fp32": 1, "fp16": 2, "bf16": 3, "int8": 4, "int4": 5, "sign": 6, "topk": 7, "randomk": 8}
MASK64 = (1 << 64) - 1


def header(codec, block, count):
    return struct.pack("<BBHIQ", IDS[codec], 1, 0, block, count)


def f32_bytes(t):
    return t.contiguous().numpy().astype("<f4").tobytes()


# ---- 16-bit floats: torch's own conversions (round to nearest even) ----
def enc_half(x, dtype, codec):
    h = x.to(dtype)
    return header(codec, 0, x.numel()) + h.view(torch.int16).numpy().astype("<i2").tobytes(), h.to(F32)


# ---- block quantization: lo = min, scale = (max - lo) / L, q = trunc((x - lo) * (1/scale) + 0.5) ----
def f32(v):
    return torch.tensor(v, dtype=F32)


def enc_block(x, levels, block, codec):
    n = x.numel()
    params, codes, out = [], [], []
    L = f32(float(levels))
    for at in range(0, n, block):
        xb = x[at:at + block]
        lo, hi = xb.min(), xb.max()
        scale = (hi - lo) / L
        if not bool(scale >= FLT_MIN):
            scale = f32(0.0)
        lo = lo + f32(0.0)  # -0 minimum stored as +0
        while not bool(torch.isfinite(lo + L * scale)):
            scale = torch.nextafter(scale, f32(0.0))
        inv = f32(1.0) / scale if bool(scale > 0) else f32(0.0)
        t = (xb - lo) * inv + f32(0.5)
        t = torch.minimum(t, L)
        q = t.to(torch.int32)  # truncation toward zero; t >= 0.5 here
        params.append(struct.pack("<ff", float(lo), float(scale)))
        codes.extend(int(v) for v in q)
        out.append(lo + q.to(F32) * scale)
    if levels == 255:
        packed = bytes(codes)
    else:
        if len(codes) % 2:
            codes.append(0)
        packed = bytes(codes[i] | (codes[i + 1] << 4) for i in range(0, len(codes), 2))
    enc = header(codec, block, n) + b"".join(params) + packed
    return enc, torch.cat(out) if out else x.clone()


# ---- sign: s = f32(mean |x| summed in double in 8 lanes), bit = f32 sign bit ----
def enc_sign(x, block):
    n = x.numel()
    vals = [float(v) for v in x]
    signs = [struct.unpack("<I", struct.pack("<f", v))[0] >> 31 for v in vals]
    scales, out = [], []
    for at in range(0, n, block):
        blk = vals[at:at + block]
        lanes = [0.0] * 8
        for i, v in enumerate(blk):
            lanes[i % 8] += abs(v)
        total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
        s = float(torch.tensor(total / len(blk), dtype=torch.float64).to(F32))
        scales.append(struct.pack("<f", s))
        out.extend(-s if signs[i] else s for i in range(at, at + len(blk)))
    bits = bytearray((n + 7) // 8)
    for i, b in enumerate(signs):
        bits[i // 8] |= b << (i % 8)
    return header("sign", block, n) + b"".join(scales) + bytes(bits), torch.tensor(out, dtype=F32)


def k_for(fraction, n):
    return 0 if n == 0 else max(1, min(n, math.ceil(fraction * n)))


# ---- top-k: the k largest |x| (inputs here have no ties), indices ascending ----
def enc_topk(x, fraction):
    n = x.numel()
    k = k_for(fraction, n)
    idx = torch.sort(torch.topk(x.abs(), k).indices).values
    out = torch.zeros_like(x)
    out[idx] = x[idx]
    enc = header("topk", 0, n) + struct.pack("<I", k) + idx.to(torch.int64).numpy().astype("<u4").tobytes() + f32_bytes(x[idx])
    return enc, out


# ---- random-k: Floyd's sampling driven by SplitMix64(seed) ----
class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def random_k_indices(seed, n, k):
    rng, chosen = SplitMix64(seed), set()
    for j in range(n - k, n):
        t = ((rng.next() >> 32) * (j + 1)) >> 32
        chosen.add(j if t in chosen else t)
    return sorted(chosen)


def enc_randomk(x, fraction, seed):
    n = x.numel()
    k = k_for(fraction, n)
    idx = torch.tensor(random_k_indices(seed, n, k), dtype=torch.int64)
    out = torch.zeros_like(x)
    out[idx] = x[idx]
    return header("randomk", 0, n) + struct.pack("<QI", seed, k) + f32_bytes(x[idx]), out


def wide_exponents(g, n, lo_exp, hi_exp):
    mant = torch.rand(n, generator=g, dtype=F32) * 2 - 1
    exps = torch.randint(lo_exp, hi_exp, (n,), generator=g).to(F32)
    return mant * torch.pow(f32(2.0), exps)


def cases():
    g = torch.Generator().manual_seed(20261202)
    inf, nan = float("inf"), float("nan")
    specials = f32([0.0, -0.0, 1.0, -1.0, inf, -inf, nan, -nan, 65504.0, 65519.0, 65520.0, 1e9,
                    2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 2.0 ** -14, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
                    3.4028234663852886e38, 1e-40, -1e-45, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8])
    fp16_in = torch.cat([specials, wide_exponents(g, 240, -30, 18)])
    bf16_in = torch.cat([specials[torch.logical_not(torch.isnan(specials))], wide_exponents(g, 240, -140, 128)])
    # int8/int4: gaussian blocks, an offset block, a constant block, a denormal block (scale 0), a
    # block at the top of f32 (for int8 the scale steps down an ulp), and a tail shorter than a block.
    blocks = [torch.randn(128, generator=g), 1000 + 1e-3 * torch.randn(64, generator=g),
              torch.full((64,), -2.5), 1e-40 * torch.rand(64, generator=g),
              # lo = 1.208162292860719e36 with max = FLT_MAX: lo + 255 * scale rounds past FLT_MAX
              torch.cat([f32([3.4028234663852886e38, 1.208162292860719e36]),
                         1e37 + 3e38 * torch.rand(62, generator=g)]),
              torch.randn(45, generator=g)]
    quant_in = torch.cat(blocks).to(F32)
    sign_in = torch.cat([f32([-0.0, 0.0]), torch.randn(201, generator=g) * 3]).to(F32)
    sparse_in = torch.randn(500, generator=g).to(F32)
    return [
        ("fp16_specials", "fp16", fp16_in, lambda x: enc_half(x, torch.float16, "fp16")),
        ("bf16_values", "bf16", bf16_in, lambda x: enc_half(x, torch.bfloat16, "bf16")),
        ("int8_b64", "int8:block=64", quant_in, lambda x: enc_block(x, 255, 64, "int8")),
        ("int8_b256", "int8:block=256", quant_in[:300], lambda x: enc_block(x, 255, 256, "int8")),
        ("int4_b32", "int4:block=32", quant_in[:257], lambda x: enc_block(x, 15, 32, "int4")),
        ("int4_b64", "int4:block=64", quant_in, lambda x: enc_block(x, 15, 64, "int4")),
        ("sign_b64", "sign:block=64", sign_in, lambda x: enc_sign(x, 64)),
        ("topk_f005", "topk:fraction=0.05", sparse_in, lambda x: enc_topk(x, 0.05)),
        ("randomk_f01", "randomk:fraction=0.1,seed=12345", sparse_in[:400],
         lambda x: enc_randomk(x, 0.1, 12345)),
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, spec, x, encode in cases():
        x = x.to(F32).contiguous()
        enc, out = encode(x)
        for ext, data in ((".in", f32_bytes(x)), (".enc", enc), (".out", f32_bytes(out.to(F32)))):
            with open(os.path.join(OUT, name + ext), "wb") as f:
                f.write(data)
        lines.append(f"{name} {spec}\n")
        print(f"{name}: {x.numel()} elements, {len(enc)} encoded bytes")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# <name> <codec spec>: written by tests/golden/gen_codecs.py\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
