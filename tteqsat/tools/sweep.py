"""Parameter sweeps: optimize one kernel over a grid of arch values, in parallel, into a CSV and a plot.

Grid keys are dotted arch keys (`sfpu.exp`, `settings.math_fidelity`) or the shorthand `dst_tiles`
(tteqsat.arch.SHORTHANDS). Points run in a process pool by default, or on an existing Dask cluster. Each
row names the schedule the optimizer chose by its sections' ops, so a sweep shows where the choice flips.
Output files are deterministic: same kernel, grid and archs give byte-identical CSV (no timings in it).
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import os
import tempfile
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tteqsat.arch import Arch, load_arch
from tteqsat.errors import KernelError

RESULT_COLUMNS = ("cost_cycles", "baseline_cycles", "compute_cycles", "data_movement_cycles", "speedup",
                  "compared_with", "baseline_feasible", "sections", "chosen", "schedule_id", "schedule", "error")


KEY_TITLE = "schedules (sections in order, ' | ' between them; L: runs in the loop)"


def schedule_key(rows: list[dict[str, object]]) -> list[str]:
    """`S1: fused, 5 sections: matmul | ...` for each schedule id, in id order: what the plot's ids mean."""
    first: dict[str, dict[str, object]] = {}
    for r in rows:
        if not r["error"]:
            first.setdefault(str(r["schedule_id"]), r)
    ids = sorted(first, key=lambda s: int(s[1:]))
    return [f"{i}: {first[i]['chosen']}, {first[i]['sections']} sections: {first[i]['schedule']}" for i in ids]


def grid_points(grid: dict[str, Sequence[object]]) -> list[dict[str, object]]:
    """Every combination of the grid's values, keys in the order given, values in the order given."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def schedule_signature(schedule) -> str:
    """The chosen form in one line: each section's ops joined by '+', sections by ' | ' (loop body: 'L:')."""
    parts = []
    for sec in schedule.sections:
        ops = "+".join(op.kind if op.kind in ("matmul", "copy", "transpose") else f"{op.kind}.{op.op}"
                       for op in sec.ops)
        parts.append(("L:" if getattr(sec, "in_loop", False) else "") + ops)
    return " | ".join(parts)


def _run_point(task: tuple[str, str, Arch, dict[str, object]]) -> dict[str, object]:
    """One grid point in a worker: the kernel file's text is sent along, so workers need no shared disk."""
    from tteqsat.frontend.loader import load_kernel
    from tteqsat.pipeline import optimize

    name, source, arch, point = task
    row: dict[str, object] = {"arch": arch.name, **point}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(source)
        try:
            kernel = load_kernel(str(path))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = optimize(kernel, arch, overrides=point)
        except KernelError as e:
            return {**row, **dict.fromkeys(RESULT_COLUMNS, ""), "error": str(e).replace(str(path), name)}
    s = res.schedule
    return {**row, "cost_cycles": round(res.cost_cycles, 1), "baseline_cycles": round(res.baseline_cycles, 1),
            "compute_cycles": round(s.compute_cycles, 1), "data_movement_cycles": round(s.data_movement_cycles, 1),
            "speedup": "" if res.speedup is None else round(res.speedup, 3), "compared_with": res.compared_with or "",
            "baseline_feasible": res.baseline_feasible, "sections": len(s.sections), "chosen": res.chosen,
            "schedule_id": "", "schedule": schedule_signature(s), "error": ""}


def sweep(kernel_file: str | Path, grid: dict[str, list], archs: list[str], processes: int | None = None,
          dask_address: str | None = None, out: str | Path | None = None) -> list[dict[str, object]]:
    """Optimize `kernel_file` at every grid point on every arch; rows in (arch, grid) order.

    `processes`: pool size (None: one per core; 1: run here, no pool). `dask_address`: run on that
    existing cluster instead. `out`: a directory for `<kernel>_sweep.csv` and `<kernel>_sweep.png`
    (`write_outputs` writes them and returns their paths).
    """
    file = Path(kernel_file)
    if not file.is_file():
        raise KernelError(f"{kernel_file}: no such file")
    if not grid:
        raise KernelError("sweep: give at least one parameter to vary, e.g. --set sfpu.exp=70,560")
    points = grid_points(grid)
    arch_objs = [load_arch(a) for a in archs]
    for arch in arch_objs:
        for point in points:
            arch.with_overrides(point)  # a bad key fails here, once, not in every worker
    tasks = [(file.name, file.read_text(), arch, point) for arch in arch_objs for point in points]
    if dask_address:
        from dask.distributed import Client

        with Client(dask_address, timeout="10s") as client:
            rows = client.gather(client.map(_run_point, tasks, pure=False))
    elif processes == 1:
        rows = [_run_point(t) for t in tasks]
    else:
        # spawn, not fork: a forked child of a process that has run egglog (Rust threads) can hang
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=processes or os.cpu_count(), mp_context=context) as pool:
            rows = list(pool.map(_run_point, tasks))
    ids: dict[str, str] = {}
    for row in rows:
        if row["schedule"]:
            row["schedule_id"] = ids.setdefault(str(row["schedule"]), f"S{len(ids) + 1}")
    if out is not None:
        write_outputs(rows, list(grid), Path(out), file.stem)
    return rows


def write_outputs(rows: list[dict[str, object]], params: list[str], out: Path, stem: str) -> list[Path]:
    """The CSV, and the PNG when matplotlib is installed; returns the paths written. `speedup` in the CSV is
    against `compared_with`, the best other form that fits (empty when none fits)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}_sweep.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["arch", *params, *RESULT_COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    written = [path]
    try:
        from tteqsat.tools.sweep_plot import plot_sweep
    except ImportError:  # matplotlib is an optional extra
        return written
    key = schedule_key(rows)
    written.append(plot_sweep(rows, params, out / f"{stem}_sweep.png", stem, [f"{KEY_TITLE}:", *key] if key else []))
    return written


# -- command line ------------------------------------------------------------------------------------------
