"""Monotonicity: does a dearer engine ever yield a cheaper chosen schedule? Sweeps engine costs and prints
every sweep where compute cycles fall as the cost rises.

Two kinds of sweep on the example kernels: whole engine classes (unpack, FPU, SFPU, pack, handshakes and
inits) scaled 0.25x-4x with `tteqsat.cost.perturb.ScaledEngines`, and single arch keys. Extraction lets the
scheduler choose among candidate programs, which include the ones extracted with each engine class twice as
dear, so doubling a whole class is covered by construction; single keys and factors below 1 are not.
tests/test_consistency.py checks the covered part.

    python benchmarks/monotonicity.py [--kernels attention,row_softmax] [--archs wormhole_b0,blackhole]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.cost.perturb import ENGINE_CLASSES, ScaledEngines
from tteqsat.frontend.loader import load_kernel

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
# values from cheap to dear (unpack.bytes_per_cycle is a rate: dearer as it falls)
KEYS = {"pack.cycles_per_tile": (8, 20, 45, 90), "unpack.bytes_per_cycle": (92, 46, 23), "sfpu.exp": (35, 70, 140),
        "matmul.hifi2": (16.8, 33.6, 67.2), "sync.init": (0, 35, 70, 140), "sync.section": (0, 40, 80),
        "pack.l1_acc_cycles_per_tile": (40, 80, 160), "sfpu.binary": (56, 112, 224)}


def rising(costs: list[float]) -> bool:
    return all(a <= b + 1e-6 for a, b in zip(costs, costs[1:], strict=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", default="attention,row_softmax,long_attention,two_matmuls,ten_ops")
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print("| arch | kernel | swept | values (low to high) | compute cycles |")
    print("| --- | --- | --- | --- | --- |")
    sweeps = bad = 0
    for arch_name in args.archs.split(","):
        arch = load_arch(arch_name)
        base = TensixCostModel(arch)
        for name in args.kernels.split(","):
            kernel = load_kernel(str(KERNELS / f"{name}.py"))
            for engine in ENGINE_CLASSES:
                costs = [tq.optimize(kernel, arch, cost_model=ScaledEngines(base, engine, f)).schedule.compute_cycles
                         for f in FACTORS]
                sweeps += 1
                if not rising(costs):
                    bad += 1
                    print(f"| {arch_name} | {name} | {engine} x | {', '.join(map(str, FACTORS))} | "
                          f"{', '.join(f'{c:,.0f}' for c in costs)} |")
            for key, values in KEYS.items():
                costs = [tq.optimize(kernel, arch, overrides={key: v}).schedule.compute_cycles for v in values]
                sweeps += 1
                if not rising(costs):
                    bad += 1
                    print(f"| {arch_name} | {name} | {key} | {', '.join(map(str, values))} | "
                          f"{', '.join(f'{c:,.0f}' for c in costs)} |")
    print(f"\n{bad} of {sweeps} sweeps not monotone; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
