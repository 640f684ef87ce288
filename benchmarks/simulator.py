"""Simulator speed: executed ops and tile ops per CPU second, on attention cases and on every example kernel.

    python benchmarks/simulator.py [--repeat 5] [--skip-examples] [--skip-verify]

Three tables:

* cases (issue 12): one 512-row q block against 4096 keys as a single work item on one core, the same kernel
  over the core grid, long_attention (32 rows x 32768 keys), and (1, 8, 1024, 128) attention on every core,
  each in exact and hardware precision;
* ``verify(cores="all")`` of (1, 8, 1024, 128) attention: wall and CPU seconds, and the part spent in the
  simulator (the rest is the numpy reference and the extracted program per work item);
* every example kernel's emitted module as `tq.optimize` chooses it (exact precision).

Rates use CPU time (``time.process_time``), best of ``--repeat`` runs, so other processes on a shared machine
disturb them less; each run includes parsing the module. A *tile op* is a TTKernel op that moves or computes
tile data (`is_tile_op`): what the rates in issue 12 count.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs
from tteqsat.lowering.host import HostProgram
from tteqsat.sim import simulate

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
_TILE_OPS_NOT_NAMED_SO = ("matmul_block", "unary_bcast", "copy_dest_values")


def is_tile_op(name: str) -> bool:
    """A TTKernel op that moves or computes tile data: ``*_tile``/``*_tiles`` ops but their inits (copy, FPU and
    SFPU math, reduce, pack, the NoC tile reads and writes) and matmul_block, unary_bcast, copy_dest_values."""
    if not name.startswith("ttkernel."):
        return False
    short = name.removeprefix("ttkernel.")
    return not short.endswith("_init") and (short.endswith(("_tile", "_tiles")) or short in _TILE_OPS_NOT_NAMED_SO)


def tile_ops(stats: dict[str, int]) -> int:
    """Tile ops executed, from a `SimResult`'s ``ops.<name>`` counts."""
    return sum(v for k, v in stats.items() if k.startswith("ops.") and is_tile_op(k.removeprefix("ops.")))


def trace(name: str, dtype: str = "bf16") -> tq.Kernel:
    path = KERNELS / f"{name}.py"
    namespace: dict = {}
    exec(compile(path.read_text().replace('DTYPE = "bf16"', f'DTYPE = "{dtype}"'), str(path), "exec"), namespace)
    return namespace["kernel"]


def attention(shape_q: tuple[int, ...], shape_kv: tuple[int, ...]) -> tq.Kernel:
    q, k, v = tq.tensor("q", shape_q), tq.tensor("k", shape_kv), tq.tensor("v", shape_kv)
    return tq.kernel("attention", tq.softmax(q @ k.mT * shape_q[-1] ** -0.5) @ v)


def prepared(result: tq.Result, kernel: tq.Kernel) -> tuple[str, HostProgram, dict[str, np.ndarray]]:
    """What verify() hands the simulator: the module, the host program (every core) and the inputs."""
    inputs = random_inputs(kernel, 0)
    grid = result.schedule.grid
    if grid is None or grid.items == 1:
        inputs = result.item_inputs(inputs, 0)[0]
    return result.to_mlir(), result.to_host(), inputs


def best_run(text: str, host: HostProgram, inputs: dict[str, np.ndarray], precision: str,
             repeat: int) -> tuple[float, dict[str, int]]:
    best, stats = float("inf"), {}
    for _ in range(repeat):
        start = time.process_time()
        stats = simulate(text, inputs, host=host, precision=precision).stats
        best = min(best, time.process_time() - start)
    return best, stats


def cases() -> list[tuple[str, tq.Result, tq.Kernel]]:
    one = attention((512, 128), (4096, 128))
    long = trace("long_attention")
    grid = attention((1, 8, 1024, 128), (1, 8, 1024, 128))
    return [
        ("512 x 4096 keys, 1 item", tq.optimize(one, blocks=()), one),
        ("512 x 4096 keys, grid", tq.optimize(one), one),
        ("long_attention", tq.optimize(long), long),
        ("(1, 8, 1024, 128), all", tq.optimize(grid), grid),
    ]


def case_table(repeat: int) -> tuple[Table, tq.Result]:
    table = Table(title=f"simulator cases, best CPU time of {repeat}", title_justify="left")
    for c in ("case", "precision", "cores", "ops", "tile ops", "CPU s", "ops/s", "tile ops/s"):
        table.add_column(c, justify="left" if c in ("case", "precision") else "right")
    last = None
    for label, result, kernel in cases():
        text, host, inputs = prepared(result, kernel)
        for precision in ("exact", "hardware"):
            seconds, stats = best_run(text, host, inputs, precision, repeat)
            ops, tile = stats["ops.total"], tile_ops(stats)
            table.add_row(label, precision, str(stats["cores"]), f"{ops:,}", f"{tile:,}", f"{seconds:.3f}",
                          f"{ops / seconds:,.0f}", f"{tile / seconds:,.0f}")
        last = result
    assert last is not None
    return table, last


def verify_table(result: tq.Result) -> Table:
    table = Table(title='verify(cores="all") of (1, 8, 1024, 128) attention', title_justify="left")
    for c in ("precision", "cores", "wall s", "CPU s", "simulate s (wall)"):
        table.add_column(c, justify="left" if c == "precision" else "right")
    for precision in ("exact", "hardware"):
        wall, cpu = time.perf_counter(), time.process_time()
        ver = result.verify(cores="all", precision=precision)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        table.add_row(precision, str(ver.stats["verify.cores"]), f"{wall:.2f}", f"{cpu:.2f}",
                      f"{result.times['simulate']:.2f}")
    return table


def example_table(repeat: int) -> Table:
    table = Table(title=f"simulator, example kernels, exact precision, best CPU time of {repeat}",
                  title_justify="left")
    for c in ("kernel", "form", "cores", "ops", "tile ops", "CPU s", "ops/s", "tile ops/s"):
        table.add_column(c, justify="left" if c in ("kernel", "form") else "right")
    for path in sorted(KERNELS.glob("*.py")):
        kernel = trace(path.stem)
        result = tq.optimize(kernel)
        text, host, inputs = prepared(result, kernel)
        seconds, stats = best_run(text, host, inputs, "exact", repeat)
        ops, tile = stats["ops.total"], tile_ops(stats)
        table.add_row(path.stem, result.chosen, str(stats["cores"]), f"{ops:,}", f"{tile:,}", f"{seconds:.3f}",
                      f"{ops / seconds:,.0f}", f"{tile / seconds:,.0f}")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-examples", action="store_true")
    ap.add_argument("--skip-verify", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    console = Console(width=120)
    console.print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                  f"numpy {np.__version__}")
    table, grid_result = case_table(args.repeat)
    console.print(table)
    if not args.skip_verify:
        console.print(verify_table(grid_result))
    if not args.skip_examples:
        console.print(example_table(args.repeat))


if __name__ == "__main__":
    main()
