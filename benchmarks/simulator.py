"""Simulator speed: executed ops per CPU second on each example kernel's emitted module (best of N runs).

    python benchmarks/simulator.py [--arch wormhole_b0] [--dtype bf16] [--repeat 5]

CPU time (``time.process_time``), not wall time, so other processes on a shared machine disturb it less.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs
from tteqsat.sim import simulate

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"


def trace(name: str, dtype: str) -> tq.Kernel:
    path = KERNELS / f"{name}.py"
    namespace: dict = {}
    exec(compile(path.read_text().replace('DTYPE = "bf16"', f'DTYPE = "{dtype}"'), str(path), "exec"), namespace)
    return namespace["kernel"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="wormhole_b0")
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    table = Table(title=f"simulator, {args.arch} {args.dtype}, best of {args.repeat} ({platform.machine()}, "
                        f"Python {platform.python_version()})", title_justify="left")
    for c in ("kernel", "form", "ops", "ttkernel ops", "CPU s", "ops/s", "ttkernel ops/s"):
        table.add_column(c, justify="left" if c in ("kernel", "form") else "right")
    warnings.simplefilter("ignore")
    for path in sorted(KERNELS.glob("*.py")):
        kernel = trace(path.stem, args.dtype)
        result = tq.optimize(kernel, args.arch)
        text, host, inputs = result.to_mlir(), result.to_host(), random_inputs(kernel, 0)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            stats = simulate(text, inputs, host=host).stats
            best = min(best, time.process_time() - start)
        ops = stats["ops.total"]
        tile = sum(v for k, v in stats.items() if k.startswith("ops.ttkernel."))
        table.add_row(path.stem, result.chosen, f"{ops:,}", f"{tile:,}", f"{best:.3f}", f"{ops / best:,.0f}",
                      f"{tile / best:,.0f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
