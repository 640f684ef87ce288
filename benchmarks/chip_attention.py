"""Attention over the whole chip: the derived schedule against the 2025 tt-metal SDPA schedule on the same grid.

For B = 1, H = 32 heads, Sq = Sk = S and head dim d, both priced by the same chip model (work items = heads x
q blocks over the arch's compute grid; a core's time is its items' compute or its share of DRAM, whichever is
slower; the chip's time is the slowest core, plus the launch):
  derived   what `tq.optimize` chooses: q block (row-block height), K chunk, cores
  expert25  the 2025 tt-metal SDPA pipeline (benchmarks/expert_sdpa.py) per q chunk, at tt_transformers'
            usual chunks (256/256 at S >= 2048, else 64/64 [derived from tt_transformers' model config]) and
            at its best chunks that fit L1 (every q and k chunk in 64..512)
  floor     benchmarks/attention_bounds.py: launch + max(the compute floor spread over every core, q, k, v and
            the output moved once at the sustained DRAM rate)

    python benchmarks/chip_attention.py [--sizes 1024,4096,16384] [--dims 64,128] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.cost.chip import ChipCost, GridShape, price_grid
from tteqsat.scheduling.build import build_schedule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_bounds import chip_bound  # noqa: E402
from expert_sdpa import expert_program  # noqa: E402

CHUNKS = (64, 128, 256, 512)


def attention(b: int, h: int, s: int, d: int) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (b, h, s, d)) for n in "qkv")
    return tq.kernel("attention", tq.softmax(q @ k.mT * d ** -0.5) @ v)


def expert_on_grid(b: int, h: int, s: int, d: int, q_chunk: int, k_chunk: int, arch, model,
                   variant: str = "2025") -> ChipCost | None:
    """The expert (2024 or 2025) with these chunks over the grid, each q chunk reading its own K and V (the
    2025 kernel has no K/V chains), or None when its CBs do not fit L1."""
    if s % q_chunk or s % k_chunk:
        return None
    try:
        sched = build_schedule(expert_program(q_chunk, s, d, k_chunk, d ** -0.5, "bf16", variant), arch, model)
    except tq.KernelError:
        return None
    page = arch.tile_bytes("bf16")
    return price_grid(GridShape.of(arch), b * h * (s // q_chunk), sched.compute_cycles, sched.dram_bytes(arch),
                      page_bytes=page)


def usual_chunks(s: int) -> tuple[int, int]:
    return (256, 256) if s >= 2048 else (64, 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--json", metavar="PATH", help="write the rows as a JSON list")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    b, h = 1, args.heads
    table = Table(title=f"attention B={b} H={h}, whole-chip modeled time ({platform.machine()}, "
                        f"{platform.python_version()})", title_justify="left")
    for c in ("arch", "d", "S", "q blk", "k chk", "cores", "core cycles", "bound", "derived us", "expert chunks",
              "expert us", "best chunks", "best us", "derived/best", "floor us", "derived/floor", "opt s"):
        table.add_column(c, justify="left" if c in ("arch", "bound") else "right")
    rows = []
    for arch_name in args.archs.split(","):
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        for d in map(int, args.dims.split(",")):
            for s in map(int, args.sizes.split(",")):
                start = time.perf_counter()
                res = tq.optimize(attention(b, h, s, d), arch)
                seconds = time.perf_counter() - start
                chip = res.chip
                assert chip is not None
                q_block = res.block or s
                k_chunk = res.schedule.loop.streams[0].width if res.schedule.loop else s
                usual = usual_chunks(s)
                expert = expert_on_grid(b, h, s, d, *usual, arch, model)
                tried = {(qc, kc): expert_on_grid(b, h, s, d, qc, kc, arch, model) for qc in CHUNKS for kc in CHUNKS}
                fits = {k: v for k, v in tried.items() if v is not None}
                best_chunks, best = min(fits.items(), key=lambda kv: kv[1].cycles)
                floor = chip_bound(b, h, s, d, arch, model)["bound"]
                row = {"arch": arch_name, "B": b, "H": h, "S": s, "d": d, "q_block": q_block, "k_chunk": k_chunk,
                       "cores": chip.cores, "core_cycles": round(chip.core_compute_cycles, 1),
                       "bound_by": chip.bound_by, "dram_bytes": chip.dram_bytes,
                       "derived_us": round(chip.microseconds, 2),
                       "expert_chunks": list(usual), "expert_us": round(expert.microseconds, 2) if expert else None,
                       "expert_best_chunks": list(best_chunks), "expert_best_us": round(best.microseconds, 2),
                       "derived_over_expert_best": round(chip.cycles / best.cycles, 3),
                       "floor_us": round(floor / (arch.clock_ghz * 1e3), 2),
                       "derived_over_floor": round(chip.cycles / floor, 3),
                       "optimize_seconds": round(seconds, 2)}
                rows.append(row)
                table.add_row(arch_name, str(d), str(s), str(q_block), str(k_chunk), str(chip.cores),
                              f"{chip.core_compute_cycles:,.0f}", chip.bound_by, f"{chip.microseconds:,.1f}",
                              "{}/{}".format(*usual), f"{expert.microseconds:,.1f}" if expert else "no fit",
                              "{}/{}".format(*best_chunks), f"{best.microseconds:,.1f}",
                              f"{chip.cycles / best.cycles:.3f}", f"{floor / (arch.clock_ghz * 1e3):,.1f}",
                              f"{chip.cycles / floor:.2f}", f"{seconds:.1f}")
    Console(width=200).print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
