"""Attention over the whole chip: the derived schedule against the 2025 tt-metal SDPA schedule on the same grid.

For B = 1, H = 32 heads, Sq = Sk = S and head dim d, both priced by the same chip model (work items = heads x
q blocks over the arch's compute grid; a core's time is its pipeline (reads, compute, writes) at its share of
DRAM, or for the causal variant's unequal items their compute or their bytes at that share, whichever is slower;
the chip's time is the slowest core):
  derived   what `tq.optimize` chooses: q block (row-block height), K chunk, cores
  expert25  the 2025 tt-metal SDPA pipeline (benchmarks/expert_sdpa.py) per q chunk, at tt_transformers'
            usual chunks (256/256 at S >= 2048, else 64/64 [derived from tt_transformers' model config]) and
            at its best chunks that fit L1 (every q and k chunk in 64..512)
Then the variants users run (the `causal`, `kv_heads` and `decode` keys of each JSON row):
  causal    tq.where(tq.tri(S, S), s, -inf): derived skips the chunks above the diagonal (and may share K/V
            in ranked groups of cores, the sender running the longest q block: `ranked_group` in JSON, the
            group size, 0 when not ranked); expert25 visits
            keys up to its q chunk's diagonal, adds a mask tile on diagonal chunks (add_block_inplace, its own
            pass) and pairs q chunks i and N-1-i on a core, as tt-metal's causal SDPA balances them
  GQA       32 q heads over 8 K/V heads (tq.repeat), and both kernels again with K/V multicast between the
            cores of a group (settings.share_inputs); expert25 reads each q head's K/V (the 2025 kernel shares
            nothing between the heads of a group)
  decode    one query row per head against long keys; expert25 as tt-metal's decode kernel: the keys split
            over the cores a K/V head gets, each part the 2025 pipeline on a 32-row q tile, plus the combining
            kernel tteqsat emits (tt-metal reduces on a reducer core: [estimate], priced with ours, one kernel of
            at most 8 parts: not our tree of merging kernels when derived splits into more). Grouped
            decode (32 q heads over 8 K/V heads, and MQA: one): derived stacks a group's single-row q heads into
            one tile row (the host tilizes q as (B, H/g, g, d)), so each K/V head is read once per group, as
            tt-metal's decode reads it (q [1, B, heads, d], one K/V head's cores per group)

    python benchmarks/chip_attention.py [--sizes 1024,4096,16384] [--dims 64,128] [--variants causal,gqa,decode]
                                        [--json rows.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.cost.chip import ChipCost, CorePipeline, GridShape, price_grid, price_items
from tteqsat.extraction.program import HwOp, Program
from tteqsat.frontend.splitkv import MAX_FAN_IN
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.model import block_order
from tteqsat.scheduling.timing import kernel_cycles, pipeline_rates, rate_pipeline

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
                      page_bytes=page, pipeline=_pipeline(model, sched))


def _pipeline(model, sched) -> Callable[[int | None], CorePipeline]:
    """The expert's cores priced as tq.optimize prices the derived kernel's (their pipeline at their DRAM share)."""
    return functools.cache(lambda hops: rate_pipeline(model, sched, hops))


def masked_attention(b: int, h: int, s: int, d: int, kv_heads: int | None = None, causal: bool = False,
                     rows: int | None = None) -> tq.Kernel:
    """Attention with `rows` query rows per head (default S), optionally causal and grouped (kv_heads < h)."""
    rows = rows or s
    q = tq.tensor("q", (b, h, rows, d))
    k, v = (tq.tensor(n, (b, kv_heads or h, s, d)) for n in "kv")
    if kv_heads and kv_heads != h:
        k, v = (tq.repeat(x, h // kv_heads, axis=1) for x in (k, v))
    scores = q @ k.mT * d ** -0.5
    if causal:
        scores = tq.where(tq.tri(rows, s), scores, -np.inf)
    return tq.kernel("attention", tq.softmax(scores) @ v)


def _expert_item(q_chunk: int, keys: int, d: int, k_chunk: int, arch, model):
    try:
        return build_schedule(expert_program(q_chunk, keys, d, k_chunk, d ** -0.5, "bf16", "2025"), arch, model)
    except tq.KernelError:
        return None


def _mask_pass(q_chunk: int, k_chunk: int, arch, model) -> float:
    """The 2025 kernel's add_block_inplace of a mask tile block: an FPU add pass of its own, packed back."""
    s = HwOp("input", "input", (), (q_chunk, k_chunk), {"name": "s"})
    m = HwOp("input", "input", (), (q_chunk, k_chunk), {"name": "mask"})
    return build_schedule(Program("mask_add", "bf16", [s, m], [("out", HwOp("fpu", "add", (s, m), s.shape))]),
                          arch, model).compute_cycles


def expert_causal_on_grid(b: int, h: int, s: int, d: int, q_chunk: int, k_chunk: int, arch, model
                          ) -> ChipCost | None:
    """The 2025 expert on causal attention: q chunk i visits the keys up to its last row's diagonal, adds the
    mask on the chunks the diagonal crosses, and the chunks of a head run in tt-metal's pairs."""
    if s % q_chunk or s % k_chunk:
        return None
    blocks = s // q_chunk
    cycles, nbytes, scheds, masks = [], [], [], []
    mask = _mask_pass(q_chunk, k_chunk, arch, model)
    for i in range(blocks):
        keys = min(s, -(-(i + 1) * q_chunk // k_chunk) * k_chunk)
        sched = _expert_item(q_chunk, keys, d, k_chunk, arch, model)
        if sched is None:
            return None
        diagonal = sum(1 for j in range(keys // k_chunk) if (j + 1) * k_chunk > i * q_chunk + 1)
        cycles.append(sched.compute_cycles + diagonal * mask)
        nbytes.append(sched.dram_bytes(arch))
        scheds.append(sched)
        masks.append(diagonal * mask)
    order = [block_order(n % blocks, blocks, True) for n in range(b * h * blocks)]
    alone = functools.cache(lambda i, n, rate: kernel_cycles(model, scheds[i], n, rate))  # shared by every core
    pipelines = functools.cache(lambda own: _items_pipeline(model, alone, masks, own))
    return price_items(GridShape.of(arch), [cycles[i] for i in order], [nbytes[i] for i in order],
                       page_bytes=arch.tile_bytes("bf16"),
                       pipeline=lambda run: pipelines(tuple(order[i] for i in run)))


def _items_pipeline(model, alone: Callable[[int, int, float], float], masks: list[float], own: tuple[int, ...]
                    ) -> CorePipeline:
    """A core running the expert's q chunks `own` (each its own program: its keys end at its diagonal), priced
    as the derived kernel's cores are: the first chunk's pipeline at the rate, then each other's steady-state
    increment (its second run less its first), and the mask passes. `alone(chunk, runs, rate)` is one chunk's
    program run that many times at that rate."""
    def sample(_items: int, rate: float) -> float:
        first, *rest = own
        total = alone(first, 1, rate) + sum(masks[i] for i in own)
        return total + sum(alone(i, 2, rate) - alone(i, 1, rate) for i in rest)

    return CorePipeline(sample, pipeline_rates(model))


def expert_decode_on_grid(b: int, kv_heads: int, keys: int, d: int, k_chunk: int, combine_cycles: float, arch,
                          model) -> tuple[ChipCost, int] | None:
    """tt-metal's decode: each K/V head's keys split over the cores it gets, the 2025 pipeline per part on one
    32-row q tile (q is [1, b, heads, d]: up to 32 q heads, a group's among them, in one tile row), then the
    parts combined (priced as tteqsat's combining kernel). Grouped heads read each K/V head once: tt-metal gives
    every K/V head cores_per_batch / num_kv_heads cores (sdpa_decode_program_factory.cpp), so the items are
    b * kv_heads * parts, as for MHA with kv_heads heads."""
    grid = GridShape.of(arch)
    h = kv_heads
    parts = max(1, grid.cores // (b * h))
    while parts > 1 and keys % (parts * k_chunk):
        parts -= 1
    sched = _expert_item(32, keys // parts, d, k_chunk, arch, model)
    if sched is None:
        return None
    chip = price_grid(grid, b * h * parts, sched.compute_cycles, sched.dram_bytes(arch),
                      page_bytes=arch.tile_bytes("bf16"), pipeline=_pipeline(model, sched))
    return dataclasses.replace(chip, cycles=chip.cycles + (combine_cycles if parts > 1 else 0.0)), parts


def usual_chunks(s: int) -> tuple[int, int]:
    return (256, 256) if s >= 2048 else (64, 64)


COLUMNS = ("arch", "variant", "d", "S", "keys", "q blk", "k chk", "cores", "bound", "derived us", "best chunks",
           "best us", "derived/best", "floor us", "note", "opt s")


def derived_row(res: tq.Result, seconds: float, arch_name: str, b: int, h: int, kv_heads: int, rows: int,
                keys: int, d: int, causal: bool, decode: bool) -> dict:
    chip = res.chip
    assert chip is not None
    return {"arch": arch_name, "B": b, "H": h, "kv_heads": kv_heads, "S": rows, "keys": keys, "d": d,
            "causal": causal, "decode": decode, "q_block": res.block or rows,
            "k_chunk": res.schedule.loop.streams[0].width if res.schedule.loop else keys,
            "kv_parts": res.split.kv.parts if res.split else 1, "cores": chip.cores,
            "core_cycles": round(chip.core_compute_cycles, 1), "bound_by": chip.bound_by,
            "dram_bytes": chip.dram_bytes + (sum(r.chip.dram_bytes for r in res.split.after) if res.split else 0),
            "derived_cycles": round(res.cost_cycles, 1),
            "derived_us": round(res.cost_cycles / (chip.clock_ghz * 1e3), 2), "optimize_seconds": round(seconds, 2),
            "cores_per_shared_read": chip.shared,
            "ranked_group": res.schedule.grid.ranked if res.schedule.grid is not None else 0}


def with_expert(row: dict, usual: tuple[int, int] | None, expert: ChipCost | None, best_chunks, best: ChipCost,
                clock: float) -> dict:
    row.update({"expert_chunks": list(usual) if usual else None,
                "expert_us": round(expert.cycles / (clock * 1e3), 2) if expert else None,
                "expert_best_chunks": list(best_chunks), "expert_best_us": round(best.cycles / (clock * 1e3), 2),
                "derived_over_expert_best": round(row["derived_cycles"] / best.cycles, 3)})
    return row


def timed(kernel: tq.Kernel, arch) -> tuple[tq.Result, float]:
    start = time.perf_counter()
    res = tq.optimize(kernel, arch)
    return res, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--variants", default="causal,gqa,decode", help="rows besides full attention ('' for none)")
    ap.add_argument("--decode-keys", type=int, default=131072)
    ap.add_argument("--json", metavar="PATH", help="write the rows as a JSON list")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    b, h = 1, args.heads
    variants = [v for v in args.variants.split(",") if v]
    sizes = [int(x) for x in args.sizes.split(",")]
    table = Table(title=f"attention B={b} H={h}, whole-chip modeled time ({platform.machine()}, "
                        f"{platform.python_version()})", title_justify="left")
    for c in COLUMNS:
        table.add_column(c, justify="left" if c in ("arch", "variant", "bound", "note") else "right")
    rows = []

    def show(row: dict, variant: str, note: str = "", floor: float | None = None) -> None:
        rows.append(row)
        table.add_row(row["arch"], variant, str(row["d"]), str(row["S"]), str(row["keys"]), str(row["q_block"]),
                      str(row["k_chunk"]) + (f" x{row['kv_parts']}" if row["kv_parts"] > 1 else ""),
                      str(row["cores"]), row["bound_by"], f"{row['derived_us']:,.1f}",
                      "{}/{}".format(*row["expert_best_chunks"]), f"{row['expert_best_us']:,.1f}",
                      f"{row['derived_over_expert_best']:.3f}", f"{floor:,.1f}" if floor else "", note,
                      f"{row['optimize_seconds']:.1f}")

    for arch_name in args.archs.split(","):
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        clock = arch.clock_ghz
        for d in map(int, args.dims.split(",")):
            full_cycles = {}
            for s in sizes:
                res, seconds = timed(attention(b, h, s, d), arch)
                usual = usual_chunks(s)
                expert = expert_on_grid(b, h, s, d, *usual, arch, model)
                tried = {(qc, kc): expert_on_grid(b, h, s, d, qc, kc, arch, model) for qc in CHUNKS for kc in CHUNKS}
                best_chunks, best = min(((k, v) for k, v in tried.items() if v is not None),
                                        key=lambda kv: kv[1].cycles)
                floor = chip_bound(b, h, s, d, arch, model)["bound"]
                row = with_expert(derived_row(res, seconds, arch_name, b, h, h, s, s, d, False, False), usual, expert,
                                  best_chunks, best, clock)
                row.update({"floor_us": round(floor / (clock * 1e3), 2),
                            "derived_over_floor": round(res.cost_cycles / floor, 3)})
                full_cycles[s] = res.cost_cycles
                show(row, "full", floor=floor / (clock * 1e3))
            if "causal" in variants:
                for s in sizes:
                    if s < 1024:
                        continue
                    res, seconds = timed(masked_attention(b, h, s, d, causal=True), arch)
                    tried = {(qc, kc): expert_causal_on_grid(b, h, s, d, qc, kc, arch, model)
                             for qc in CHUNKS for kc in CHUNKS}
                    best_chunks, best = min(((k, v) for k, v in tried.items() if v is not None),
                                            key=lambda kv: kv[1].cycles)
                    usual = usual_chunks(s)
                    row = with_expert(derived_row(res, seconds, arch_name, b, h, h, s, s, d, True, False), usual,
                                      tried.get(usual), best_chunks, best, clock)
                    row["over_full"] = round(res.cost_cycles / full_cycles[s], 3)
                    row["paired"] = bool(res.chip.paired)
                    share = f", K/V shared in ranked groups of {row['ranked_group']}" if row["ranked_group"] else (
                        f", K/V shared by {row['cores_per_shared_read']}" if row["cores_per_shared_read"] > 1 else "")
                    show(row, "causal", f"{row['over_full']:.3f} of full" + (", paired" if row["paired"] else "")
                         + share)
        if "gqa" in variants:
            d, kv = 128, 8
            for s, rows_q in ((sizes[min(1, len(sizes) - 1)], None), (8192, 32)):
                apart = load_arch(arch_name, {"settings.share_inputs": False})  # per-core reads
                res, seconds = timed(masked_attention(b, h, s, d, kv_heads=kv, rows=rows_q), apart)
                mha, _ = timed(masked_attention(b, h, s, d, rows=rows_q), apart)
                rq = rows_q or s
                tried = {(qc, kc): expert_on_grid(b, h, rq, d, qc, kc, arch, model) if rq == s else
                         _expert_rows_on_grid(b, h, rq, s, d, kc, arch, model)
                         for qc in (CHUNKS if rq == s else (rq,)) for kc in CHUNKS}
                best_chunks, best = min(((k, v) for k, v in tried.items() if v is not None),
                                        key=lambda kv2: kv2[1].cycles)
                row = with_expert(derived_row(res, seconds, arch_name, b, h, kv, rq, s, d, False, rows_q is not None),
                                  None, None, best_chunks, best, clock)
                row["dram_over_mha"] = round(row["dram_bytes"] / mha.chip.dram_bytes, 3)
                row["over_mha"] = round(res.cost_cycles / mha.cost_cycles, 3)
                # with K/V multicast between the cores of a group (settings.share_inputs), each kernel at its best
                shared = load_arch(arch_name, {"settings.share_inputs": True})  # the default, spelled out
                gqa_shared, _ = timed(masked_attention(b, h, s, d, kv_heads=kv, rows=rows_q), shared)
                mha_shared, _ = timed(masked_attention(b, h, s, d, rows=rows_q), shared)
                row["shared_dram_over_mha"] = round(gqa_shared.chip.dram_bytes / mha_shared.chip.dram_bytes, 3)
                row["shared_us"] = round(gqa_shared.cost_cycles / clock / 1000, 1)
                show(row, f"GQA {h}/{kv}", f"DRAM {row['dram_over_mha']:.2f} of MHA, "
                     f"{row['shared_dram_over_mha']:.2f} shared")
        if "decode" in variants:
            d, keys = 128, args.decode_keys
            for heads, kv in ((h, h), (8, 8), (h, 8), (h, 1)):  # MHA, then grouped: GQA and MQA (q stacked)
                kernel = masked_attention(b, heads, keys, d, kv_heads=kv, rows=1)
                res, seconds = timed(kernel, arch)
                combine = res.split.combine.cost_cycles if res.split and not res.split.merges else 0.0
                if not combine:  # price tt-metal's reduction (one reducer core merges every part, no tree) as
                    # tteqsat's one combining kernel: for 4 parts when derived does not split, for the most one
                    # kernel merges (8) when derived merges its parts in a tree of kernels
                    combine = tq.optimize(kernel, arch, split=MAX_FAN_IN if res.split else 4).split.combine.cost_cycles
                tried = {(32, kc): expert_decode_on_grid(b, kv, keys, d, kc, combine, arch, model)
                         for kc in CHUNKS}
                best_chunks, (best, parts) = min(((k, v) for k, v in tried.items() if v is not None),
                                                 key=lambda kv2: kv2[1][0].cycles)
                row = with_expert(derived_row(res, seconds, arch_name, b, heads, kv, 1, keys, d, False, True),
                                  None, None, best_chunks, best, clock)
                row["unsplit_us"] = round((res.split.unsplit_cycles if res.split else res.cost_cycles) / (clock * 1e3),
                                          2)
                row["split_gain"] = round(row["unsplit_us"] / row["derived_us"], 3)
                row["expert_parts"] = parts
                label = f"decode H={heads}" if kv == heads else f"decode {heads}/{kv}" + (" MQA" if kv == 1 else "")
                show(row, label, f"split {row['split_gain']:.2f}x vs unsplit"
                     + ("" if kv == heads else f", DRAM {row['dram_bytes'] / 1e6:,.1f} MB"))
    Console(width=220).print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {args.json}")


def _expert_rows_on_grid(b: int, h: int, rows: int, keys: int, d: int, k_chunk: int, arch, model) -> ChipCost | None:
    """The 2025 expert with `rows` query rows per head (one q chunk) against `keys` keys."""
    if keys % k_chunk:
        return None
    sched = _expert_item(rows, keys, d, k_chunk, arch, model)
    if sched is None:
        return None
    return price_grid(GridShape.of(arch), b * h, sched.compute_cycles, sched.dram_bytes(arch),
                      page_bytes=arch.tile_bytes("bf16"), pipeline=_pipeline(model, sched))


if __name__ == "__main__":
    main()
