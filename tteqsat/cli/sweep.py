"""`tteqsat sweep`: the command line of tools.sweep."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tteqsat.errors import KernelError
from tteqsat.tools.sweep import KEY_TITLE, schedule_key, sweep, write_outputs


def _parse_values(text: str) -> tuple[str, list[object]]:
    if "=" not in text:
        raise KernelError(f"--set {text!r}: expected KEY=V1,V2,..., e.g. sfpu.exp=70,560")
    key, values = text.split("=", 1)

    def parse(v: str) -> object:
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v

    return key, [parse(v) for v in values.split(",") if v != ""]


def cmd_sweep(args) -> int:
    grid = dict(_parse_values(s) for s in args.set or [])
    archs = [a for a in args.arch.split(",") if a]
    start = time.perf_counter()
    rows = sweep(args.file, grid, archs, args.processes, args.dask)
    seconds = time.perf_counter() - start
    for row in rows:
        values = " ".join(f"{k}={row[k]}" for k in grid)
        result = row["error"] or f"{row['cost_cycles']:>10} cycles, {row['sections']} sections, {row['schedule_id']}"
        print(f"{row['arch']:12s} {values}: {result}")
    key = schedule_key(rows)
    if key:
        print(f"{KEY_TITLE}:")
        print("\n".join(f"  {line}" for line in key))
    written = write_outputs(rows, list(grid), Path(args.out), Path(args.file).stem)
    print(f"{len(rows)} points in {seconds:.1f} s")
    for path in written:
        print(f"wrote {path}")
    if len(written) == 1:
        print("no plot: matplotlib is not installed (pip install -e '.[sweep]')")
    return 0


def add_sweep_command(subparsers) -> None:
    """Register `tteqsat sweep KERNEL.py --set KEY=V1,V2 ... --arch A,B --out DIR`."""
    p = subparsers.add_parser("sweep", help="optimize a kernel over a grid of arch values; CSV and plot")
    p.add_argument("file", help="a Python file defining `kernel = tq.kernel(...)`")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2",
                   help="values of one arch key (or dst_tiles) to sweep; repeat for a grid")
    p.add_argument("--arch", default="wormhole_b0", help="comma-separated archs or .toml files")
    p.add_argument("--out", default="sweep_out", help="directory for the CSV and PNG (default: sweep_out)")
    p.add_argument("--processes", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--dask", metavar="ADDRESS", default=None, help="run on an existing Dask scheduler")
    p.set_defaults(run=cmd_sweep)
