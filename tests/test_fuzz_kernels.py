"""Seeded random kernels (elementwise chains, row/column reductions, vectors, softmax, divides, matmuls,
several outputs) through the whole path, against numpy. Seed 121 once caught a reduce accumulating into a
DST slot another op had used earlier in the same pass."""

from __future__ import annotations

import random

import pytest

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs

UNARY = [tq.exp, tq.relu, tq.sigmoid, tq.tanh, tq.abs, lambda x: -x, tq.silu, tq.gelu]
BINARY = [lambda p, q: p + q, lambda p, q: p - q, lambda p, q: p * q, tq.maximum, tq.minimum]


def random_kernel(seed: int) -> tuple[tq.Kernel, str, str]:
    rng = random.Random(seed)
    dtype = rng.choice(["fp32", "bf16"])
    rows, cols = 32 * rng.randint(1, 3), 32 * rng.randint(1, 4)
    values = [tq.tensor(f"x{i}", (rows, cols), dtype) for i in range(3)]
    col = tq.tensor("col", (rows, 1), dtype)
    row = tq.tensor("row", (1, cols), dtype)
    for _ in range(rng.randint(3, 14)):
        a = rng.choice(values)
        k = rng.random()
        if k < 0.25:
            values.append(rng.choice(UNARY)(a))
        elif k < 0.5:
            values.append(rng.choice(BINARY)(a, rng.choice(values)))
        elif k < 0.6:
            values.append(a * rng.choice([0.5, -2.0]) + 1.0)
        elif k < 0.7:
            values.append(a - a.max(axis=-1) if rng.random() < 0.5 else a + a.sum(axis=0))
        elif k < 0.8:
            values.append(a * col + row)
        elif k < 0.9:
            values.append(tq.softmax(a))
        else:
            values.append(a / (tq.abs(rng.choice(values)) + 1.0))
    outputs = {"o": values[-1]}
    if rng.random() < 0.3:
        outputs["m"] = values[-1] @ tq.tensor("w", (cols, 32 * rng.randint(1, 2)), dtype)
    if rng.random() < 0.2:
        outputs["r"] = values[rng.randrange(len(values))].mean(axis=-1)
    arch = rng.choice(["wormhole_b0", "blackhole"])
    form = rng.choice(["auto", "auto", "fused", "baseline"])
    return tq.kernel("fuzz", outputs), arch, form


@pytest.mark.parametrize("seed", [121, *range(12)])
def test_random_kernel_matches_numpy(seed: int) -> None:
    kernel, arch, form = random_kernel(seed)
    result = tq.optimize(kernel, arch, form=form)
    result.verify(inputs=random_inputs(kernel, seed, 0.5), precision="exact")
    assert result.cost_cycles <= result.baseline_cycles or form == "fused"
