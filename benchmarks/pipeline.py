"""Per-stage seconds, e-graph size and modeled cycles for each acceptance kernel.

    python benchmarks/pipeline.py [--arch wormhole_b0] [--dtype bf16]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tteqsat as tq

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
CASES = ["ten_ops", "elementwise_chain", "two_matmuls", "row_softmax", "attention", "dst_pressure"]


def trace(name: str, dtype: str) -> tq.Kernel:
    path = KERNELS / f"{name}.py"
    namespace: dict = {}
    exec(compile(path.read_text().replace('DTYPE = "bf16"', f'DTYPE = "{dtype}"'), str(path), "exec"), namespace)
    return namespace["kernel"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="wormhole_b0")
    ap.add_argument("--dtype", default="bf16")
    args = ap.parse_args()
    table = Table(title=f"pipeline stages, {args.arch} {args.dtype} ({platform.machine()}, "
                        f"Python {platform.python_version()})", title_justify="left")
    cols = ["kernel", "ops", "trace s", "saturate s", "extract s", "schedule s", "lower s", "simulate s",
            "e-nodes", "e-classes", "cycles", "baseline", "ratio"]
    for c in cols:
        table.add_column(c, justify="left" if c == "kernel" else "right")
    for name in CASES:
        start = time.perf_counter()
        kernel = trace(name, args.dtype)
        traced = time.perf_counter() - start
        result = tq.optimize(kernel, args.arch)
        result.to_mlir()
        result.verify(seed=0)
        t = result.times
        table.add_row(name, str(kernel.op_count()), f"{traced:.3f}", f"{t['saturate']:.3f}", f"{t['extract']:.3f}",
                      f"{t['schedule'] + t['baseline']:.3f}", f"{t['lower']:.3f}", f"{t['simulate']:.3f}",
                      str(result.saturation.enodes), str(result.eclasses), f"{result.cost_cycles:,.0f}",
                      f"{result.baseline_cycles:,.0f}", f"{result.baseline_cycles / result.cost_cycles:.2f}x")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
