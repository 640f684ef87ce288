"""Simulator speed: ops and TTKernel tile ops per CPU second on the demo's 32 x 32768 attention, per precision.

CPU time (process_time), best of --repeat runs, so a busy machine skews it less than wall time.

    python benchmarks/simulator_precision.py [--keys 32768] [--dtype bf16] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import time

from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs
from tteqsat.sim import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=32768)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    q = tq.tensor("q", (32, 64), args.dtype)
    k = tq.tensor("k", (args.keys, 64), args.dtype)
    v = tq.tensor("v", (args.keys, 64), args.dtype)
    kernel = tq.kernel("long_attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)
    text = tq.optimize(kernel).to_mlir()
    inputs = random_inputs(kernel, seed=0)
    table = Table(title=f"simulator, 32 x {args.keys} attention, {args.dtype} ({platform.machine()}, "
                        f"Python {platform.python_version()})", title_justify="left")
    for col in ("precision", "CPU s", "ops", "ops/s", "tile ops", "tile ops/s"):
        table.add_column(col, justify="left" if col == "precision" else "right")
    for precision in ("exact", "hardware"):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            stats = simulate(text, inputs, precision).stats
            best = min(best, time.process_time() - start)
        tile_ops = sum(n for key, n in stats.items() if key.startswith("ops.ttkernel."))
        table.add_row(precision, f"{best:.2f}", f"{stats['ops.total']:,}", f"{stats['ops.total'] / best:,.0f}",
                      f"{tile_ops:,}", f"{tile_ops / best:,.0f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
