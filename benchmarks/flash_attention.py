"""Flash attention per core and on the whole chip: what equality saturation derives against the tt-metal
expert schedules and an honest bound, on the calibrated model (benchmarks/calibration.py).

Per core: one 64-row q block against Sq = Sk = S keys, head dim d, bf16, as one work item on one core
(`tq.optimize(..., blocks=())`); cycles as schedules are priced (compute, or data movement at one core's
own DRAM rate):
  derived    what tq.optimize chooses (fused or streaming form, its chunk)
  +packexp   the same with settings.exp_on_pack_thread (priced only: TTKernel cannot emit it)
  expert24   the 2024 tt-metal SDPA schedule (benchmarks/expert_sdpa.py) scheduled by tteqsat, at its best
             k chunk
  expert25   the 2025 variant (scale folded into exp, row sums by L1 accumulation), at its best k chunk
  ttm26      tt-metal's 2026 streaming kernel helper by helper (benchmarks/ttmetal_sdpa.py), at its best chunk
  bound      benchmarks/attention_bounds.py: max(math thread, unpack at peak, pack, this core's share of the
             chip's sustained DRAM rate with every core streaming its own q, k, v); `at share` is derived
             priced the same way, max(compute, DRAM share)
The gap table splits derived's compute cycles against the compute bound by thread. The lever table
measures, per 64 q rows, what each lever the model offers buys derived: the loop's chunk-only sections one
trip ahead (`in order`: settings.loop_lookahead off, as the expert programs run), exp on the pack thread, q blocks of
up to 256 rows (with the expert at the same q block sizes), and, for fp32 kernels (32-bit DST), the online
matmul accumulating onto the rescaled state instead of an SFPU add, and streams of one chunk (`double-buffered`:
settings.single_buffered_streams off, as the expert programs hold K and V); on the chip, sharing K/V among the cores
of a head. The pipeline table prices a core running 8 q blocks one after another with its reader and writer
(`kernel_cycles`): one block alone pays its first chunk's read before compute starts, and a stream of one chunk
lets the reader fetch the next block's first chunk only once this block's last trip popped the last.

On the chip: B = 1, H = 32 heads, every head's q blocks over the grid (tteqsat.cost.chip: DRAM shared by
the cores still reading, launch included):
  derived    tq.optimize on the (1, 32, S, d) kernel: q block, K chunk, cores and whether groups of cores of a
             head read K/V from DRAM once and multicast it to the others (settings.share_inputs, on by default;
             `share` is the cores per read) as it chooses (emitted)
  per-core   the same with settings.share_inputs off: every core reads its own K/V (benchmarks/kv_share.py
             compares the two)
  expert24/25  the expert per q chunk over the same grid at its best (q, k) chunks that fit L1 (q 64..512, k
             64..2048), no sharing
  bound      launch + max(the compute floor spread over every core, each tensor moved once at the sustained
             DRAM rate)

    python benchmarks/flash_attention.py [--sizes 1024,4096,16384] [--dims 64,128] [--scope core,chip]
                                         [--json PATH] [--verify]
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
import tteqsat.extraction.loops as loops
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.egraph.bridge import chunk_widths
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.timing import kernel_cycles, loop_trips, stages

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_bounds import chip_bound, core_bound, op_floor  # noqa: E402
from chip_attention import CHUNKS, expert_on_grid  # noqa: E402
from chip_attention import attention as batched_attention  # noqa: E402
from expert_sdpa import expert_program  # noqa: E402
from ttmetal_sdpa import sdpa_cost  # noqa: E402

Q_ROWS = 64
SCALE = 0.125
WIDTHS = (64, 128, 256, 512, 1024, 2048)
ITEMS = 8  # q blocks a core runs one after another in the pipeline table
EXPERT_WIDE = (1024, 2048)  # on the chip the expert may take K chunks this wide too, where they fit L1 (P over S)
Q_BLOCKS = (64, 128, 256)  # q block sizes the lever table tries (per 64 rows)
HEADS = 32


def attention(keys: int, d: int, rows: int = Q_ROWS, dtype: str = "bf16") -> tq.Kernel:
    q = tq.tensor("q", (rows, d), dtype)
    k = tq.tensor("k", (keys, d), dtype)
    v = tq.tensor("v", (keys, d), dtype)
    return tq.kernel("attention", tq.softmax(q @ k.T * SCALE, axis=-1) @ v)


def derived_core(keys: int, d: int, arch, rows: int = Q_ROWS, dtype: str = "bf16") -> tq.Result:
    """One q block as one work item on one core."""
    return tq.optimize(attention(keys, d, rows, dtype), arch, blocks=())


def without_matmul_accumulate(keys: int, d: int, arch) -> float:
    """fp32 derived with the loop update's SFPU add instead of the matmul accumulating onto the state (the
    form extraction/loops.py uses with a 32-bit DST): what that op form buys."""
    real = loops._accumulate
    loops._accumulate = lambda acc, value, shape, origin, alone, wide_dst=False: real(acc, value, shape, origin,
                                                                                       False, wide_dst)
    try:
        return derived_core(keys, d, arch, dtype="fp32").schedule.cost_cycles
    finally:
        loops._accumulate = real


def expert_best(keys: int, d: int, variant: str, arch, model, rows: int = Q_ROWS) -> tuple[float, int]:
    """The expert's cycles for one `rows`-row q block at its cheapest k chunk whose CBs fit L1."""
    best: tuple[float, int] | None = None
    for width in (w for w in WIDTHS if w <= keys and keys % w == 0):
        try:
            cycles = build_schedule(expert_program(rows, keys, d, width, SCALE, variant=variant), arch,
                                    model).cost_cycles
        except tq.KernelError:
            continue
        if best is None or cycles < best[0]:
            best = (cycles, width)
    if best is None:
        raise tq.KernelError(f"the {variant} expert fits L1 at no chunk for {rows} x {keys} x {d}")
    return best


def ttmetal_best(keys: int, d: int, model) -> tuple[float, int]:
    """tt-metal's 2026 streaming kernel, one 64-row q chunk, at its cheapest chunk width; data movement
    at the single-core rate, as tteqsat's schedules have it."""
    dm = model.data_movement(bytes_moved(keys, d, model))
    options = [(max(sdpa_cost(model, Q_ROWS, w, d, keys // w, "streaming", "bf16").chunk, dm), w)
               for w in WIDTHS if w <= keys and keys % w == 0 and w <= 512]
    return min(options)


def bytes_moved(keys: int, d: int, model) -> int:
    return (2 * Q_ROWS * d + 2 * keys * d) // 1024 * model.arch.tile_bytes("bf16")


def busy(schedule, model) -> dict[str, float]:
    """Thread busy cycles of a schedule, summed over sections and trips, and its handshakes and inits."""
    rows = model.breakdown(schedule)
    sections = [r for r in rows if r["kind"] in ("section", "fill")]
    total = {k: sum(float(r[k]) for r in sections) for k in ("unpack", "math_fpu", "math_sfpu", "pack")}
    total["sync+init"] = sum(float(r["sync"]) + float(r["init"]) for r in sections)
    return total


def thread_floor(schedule, model) -> tuple[float, str]:
    """The busiest thread of the schedule as the pipeline runs it (each stage's per-pass cycles, math's waits for
    the unpacker inside a pass included, times its passes and trips, plus set-ups): no order of the same sections
    runs faster. (busiest cycles, which thread)"""
    total = thread_totals(schedule, model)
    which = max(total, key=lambda k: total[k])
    return total[which], which


def thread_totals(schedule, model) -> dict[str, float]:
    """Each compute thread's cycles over the schedule as the pipeline runs it (`thread_floor`), by thread."""
    pre, body, post = stages(model, schedule.sections)
    trips = loop_trips(schedule.sections, schedule.loop.trips) if schedule.loop is not None else 0
    total = {"unpack": 0.0, "math": 0.0, "pack": 0.0}
    for part, runs in ((pre, 1), (body, trips), (post, 1)):
        for st in part:
            total["unpack"] += runs * (st.passes * st.unpack + st.setup_unpack)
            total["math"] += runs * (st.passes * st.math + st.setup_math)
            total["pack"] += runs * (st.passes * st.pack + st.setup_pack)
    return total


def op_floor_any(keys: int, d: int, arch, model, fused_fits: bool) -> tuple[float, str]:
    """attention_bounds.op_floor at its cheapest over the chunk widths the streaming rules offer (the widest is the
    cheapest: fewest online rescales; whether it fits L1 is not asked, which only lowers the floor) and over one
    trip (no rescale) where the fused form fits L1: what no program of tteqsat's op forms for this q block beats.
    (floor cycles, the busiest thread's name)"""
    widths = [w for w in chunk_widths(attention(keys, d)) if w < keys and keys % w == 0]
    if fused_fits or not widths:
        widths.append(keys)
    f = min((op_floor(Q_ROWS, keys, d, arch, model, w) for w in widths), key=lambda f: f["floor"])
    return f["floor"], max(("math", "unpack", "pack"), key=lambda k: f[k])


def table(title: str, columns: tuple[str, ...]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, justify="left" if c in ("arch", "form", "bound by") else "right")
    return t


def core_rows(archs, dims, sizes, verify: bool, out: list[dict]) -> list[Table]:
    main = table(f"flash attention per {Q_ROWS}-row q block on one core, modeled cycles ({platform.machine()}, "
                 f"{platform.python_version()})",
                 ("arch", "d", "S", "derived", "form", "+packexp", "expert24", "expert25", "ttm26", "derived/expert25",
                  "op floor", "op floor/expert25", "bound", "bound by", "at share", "at share/bound",
                  "compute/compute bound", "chunks d/e25/t26", "opt s"))
    gaps = table("where derived's compute cycles go against the compute bound (busy cycles per thread)",
                 ("arch", "d", "S", "derived compute", "compute bound", "math floor", "math busy (fpu+sfpu)",
                  "unpack floor", "unpack busy", "pack floor", "pack busy", "sync+init", "waits", "busiest thread",
                  "derived/busiest", "expert25/its busiest"))
    levers = table(f"levers per core, cycles per {Q_ROWS} q rows (one q block of that many rows on one core)",
                   ("arch", "d", "S", "derived", "in order", "ahead gain", "+packexp", "derived q128", "derived q256",
                    "expert25 q128", "expert25 q256", "best derived/best expert25", "fp32 derived", "fp32 with add",
                    "acc gain", "double-buffered", "wide gain"))
    items = table(f"a core running {ITEMS} q blocks one after another (its reader fetching the next block's K and V "
                  "while compute works), cycles per block",
                  ("arch", "d", "S", "derived", "derived 1 block", f"derived {ITEMS} blocks", "expert25",
                   "expert25 1 block", f"expert25 {ITEMS} blocks", "derived/expert25", "1 block", f"{ITEMS} blocks",
                   "streams held"))
    for arch_name in archs:
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        pack_arch = load_arch(arch_name, {"settings.exp_on_pack_thread": True})
        in_order_arch = load_arch(arch_name, {"settings.loop_lookahead": False})
        double_arch = load_arch(arch_name, {"settings.single_buffered_streams": False})
        for d in dims:
            for keys in sizes:
                start = time.perf_counter()
                res = derived_core(keys, d, arch)
                seconds = time.perf_counter() - start
                if verify:
                    res.verify()
                sched = res.schedule
                cyc, compute = sched.cost_cycles, sched.compute_cycles
                chunk = sched.loop.streams[0].width if sched.loop else keys
                packexp = derived_core(keys, d, pack_arch).schedule.cost_cycles
                e24, w24 = expert_best(keys, d, "2024", arch, model)
                e25, w25 = expert_best(keys, d, "2025", arch, model)
                t26, w26 = ttmetal_best(keys, d, model)
                b = core_bound(Q_ROWS, keys, d, arch, model)
                floor_op, floor_op_by = op_floor_any(keys, d, arch, model, res.alternatives["fused"].feasible)
                which = max(("math", "unpack", "pack", "dram"), key=lambda k: b[k])
                at_share = max(compute, b["dram"])
                main.add_row(arch_name, str(d), str(keys), f"{cyc:,.0f}", res.chosen, f"{packexp:,.0f}",
                             f"{e24:,.0f}", f"{e25:,.0f}", f"{t26:,.0f}", f"{cyc / e25:.3f}",
                             f"{floor_op:,.0f} ({floor_op_by})", f"{floor_op / e25:.3f}", f"{b['bound']:,.0f}",
                             which, f"{at_share:,.0f}", f"{at_share / b['bound']:.2f}",
                             f"{compute / b['compute']:.2f}", f"{chunk}/{w25}/{w26}", f"{seconds:.1f}")
                t = busy(sched, model)
                floor, floor_thread = thread_floor(sched, model)
                e25_sched = build_schedule(expert_program(Q_ROWS, keys, d, w25, SCALE, variant="2025"), arch, model)
                e25_compute, (e25_floor, _) = e25_sched.compute_cycles, thread_floor(e25_sched, model)
                longest = max(t["unpack"], t["math_fpu"] + t["math_sfpu"] + t["sync+init"], t["pack"])
                floor_by = max(("math", "unpack", "pack"), key=lambda k: b[k])
                gaps.add_row(arch_name, str(d), str(keys), f"{compute:,.0f}", f"{b['compute']:,.0f} ({floor_by})",
                             f"{b['math']:,.0f}",
                             f"{t['math_fpu'] + t['math_sfpu']:,.0f} ({t['math_fpu']:,.0f}+{t['math_sfpu']:,.0f})",
                             f"{b['unpack']:,.0f}", f"{t['unpack']:,.0f}", f"{b['pack']:,.0f}", f"{t['pack']:,.0f}",
                             f"{t['sync+init']:,.0f}", f"{compute - longest:,.0f}", f"{floor:,.0f} ({floor_thread})",
                             f"{compute / floor:.3f}", f"{e25_compute / e25_floor:.3f}")
                per64 = {}
                for rows in Q_BLOCKS[1:]:
                    try:
                        per64[("d", rows)] = derived_core(keys, d, arch, rows).schedule.cost_cycles * Q_ROWS / rows
                    except tq.KernelError:
                        per64[("d", rows)] = None
                    try:
                        per64[("e", rows)] = expert_best(keys, d, "2025", arch, model, rows)[0] * Q_ROWS / rows
                    except tq.KernelError:
                        per64[("e", rows)] = None
                best_d = min(v for v in [cyc, packexp] + [per64[("d", r)] for r in Q_BLOCKS[1:]] if v)
                best_e = min(v for v in [e25] + [per64[("e", r)] for r in Q_BLOCKS[1:]] if v)

                def show(v: float | None) -> str:
                    return "no fit" if v is None else f"{v:,.0f}"

                fp32 = derived_core(keys, d, arch, dtype="fp32").schedule.cost_cycles
                fp32_add = without_matmul_accumulate(keys, d, arch)
                in_order = derived_core(keys, d, in_order_arch).schedule.cost_cycles
                double = derived_core(keys, d, double_arch).schedule.cost_cycles
                d1, dn = (kernel_cycles(model, sched, n) / n for n in (1, ITEMS))
                e1, en = (kernel_cycles(model, e25_sched, n) / n for n in (1, ITEMS))
                held = "/".join(str(sched.chunks_held(st)) for st in sched.loop.streams) if sched.loop else "-"
                items.add_row(arch_name, str(d), str(keys), f"{cyc:,.0f}", f"{d1:,.0f}", f"{dn:,.0f}", f"{e25:,.0f}",
                              f"{e1:,.0f}", f"{en:,.0f}", f"{cyc / e25:.3f}", f"{d1 / e1:.3f}", f"{dn / en:.3f}", held)
                levers.add_row(arch_name, str(d), str(keys), f"{cyc:,.0f}", f"{in_order:,.0f}",
                               f"{1 - cyc / in_order:.1%}", f"{packexp:,.0f}",
                               show(per64[("d", 128)]), show(per64[("d", 256)]), show(per64[("e", 128)]),
                               show(per64[("e", 256)]), f"{best_d / best_e:.3f}", f"{fp32:,.0f}",
                               f"{fp32_add:,.0f}", f"{1 - fp32 / fp32_add:.1%}", f"{double:,.0f}",
                               f"{1 - cyc / double:.1%}")
                out.append({"scope": "core", "arch": arch_name, "d": d, "S": keys, "q_rows": Q_ROWS,
                            "derived_cycles": round(cyc, 1), "derived_form": res.chosen, "derived_chunk": chunk,
                            "derived_compute_cycles": round(compute, 1), "packexp_cycles": round(packexp, 1),
                            "expert24_cycles": round(e24, 1), "expert24_chunk": w24,
                            "expert25_cycles": round(e25, 1), "expert25_chunk": w25,
                            "ttm26_cycles": round(t26, 1), "ttm26_chunk": w26,
                            "bound_cycles": round(b["bound"], 1), "bound_by": which,
                            "op_floor_cycles": round(floor_op, 1), "op_floor_by": floor_op_by,
                            "op_floor_over_expert25": round(floor_op / e25, 3),
                            "compute_bound_cycles": round(b["compute"], 1), "dram_share_cycles": round(b["dram"], 1),
                            "derived_at_share_cycles": round(at_share, 1),
                            "derived_over_expert25": round(cyc / e25, 3),
                            "derived_at_share_over_bound": round(at_share / b["bound"], 3),
                            "best_q_block_derived_per64": round(best_d, 1),
                            "best_q_block_expert25_per64": round(best_e, 1),
                            "fp32_derived_cycles": round(fp32, 1), "fp32_with_add_cycles": round(fp32_add, 1),
                            "in_order_cycles": round(in_order, 1), "double_buffered_cycles": round(double, 1),
                            "streams_held": held, f"derived_{ITEMS}_blocks_per_block": round(dn, 1),
                            f"expert25_{ITEMS}_blocks_per_block": round(en, 1),
                            "derived_1_block_kernel_cycles": round(d1, 1),
                            "expert25_1_block_kernel_cycles": round(e1, 1),
                            "busiest_thread_cycles": round(floor, 1),
                            "busiest_thread": floor_thread, "expert25_busiest_thread_cycles": round(e25_floor, 1),
                            "optimize_seconds": round(seconds, 2)})
    return [main, gaps, levers, items]


def chip_rows(archs, dims, sizes, out: list[dict]) -> Table:
    t = table(f"attention B=1 H={HEADS} on the whole chip, modeled cycles ({platform.machine()}, "
              f"{platform.python_version()})",
              ("arch", "d", "S", "derived", "q blk/k chk/cores", "share", "bound by", "per-core", "expert24",
               "expert25", "e25 chunks", "bound", "derived/expert25", "per-core/expert25", "derived/bound",
               "opt s"))
    for arch_name in archs:
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        apart_arch = load_arch(arch_name, {"settings.share_inputs": False})
        for d in dims:
            for s in sizes:
                start = time.perf_counter()
                res = tq.optimize(batched_attention(1, HEADS, s, d), arch)
                seconds = time.perf_counter() - start
                apart = tq.optimize(batched_attention(1, HEADS, s, d), apart_arch)
                chip, sh = res.chip, apart.chip
                assert chip is not None and sh is not None
                k_chunk = res.schedule.loop.streams[0].width if res.schedule.loop else s
                experts = {}
                for variant in ("2024", "2025"):
                    tried = {(qc, kc): expert_on_grid(1, HEADS, s, d, qc, kc, arch, model, variant)
                             for qc in CHUNKS for kc in CHUNKS + EXPERT_WIDE if kc <= s}
                    experts[variant] = min(((c, v) for c, v in tried.items() if v is not None),
                                           key=lambda cv: cv[1].cycles)
                (c24, e24), (c25, e25) = experts["2024"], experts["2025"]
                b = chip_bound(1, HEADS, s, d, arch, model)
                t.add_row(arch_name, str(d), str(s), f"{chip.cycles:,.0f}",
                          f"{res.block or s}/{k_chunk}/{chip.cores}", str(chip.shared), chip.bound_by,
                          f"{sh.cycles:,.0f}",
                          f"{e24.cycles:,.0f}", f"{e25.cycles:,.0f}", "{}/{}".format(*c25), f"{b['bound']:,.0f}",
                          f"{chip.cycles / e25.cycles:.3f}", f"{sh.cycles / e25.cycles:.3f}",
                          f"{chip.cycles / b['bound']:.2f}", f"{seconds:.1f}")
                out.append({"scope": "chip", "arch": arch_name, "d": d, "S": s, "heads": HEADS,
                            "derived_cycles": round(chip.cycles, 1), "derived_q_block": res.block or s,
                            "derived_k_chunk": k_chunk, "derived_cores": chip.cores, "derived_bound_by": chip.bound_by,
                            "derived_cores_per_read": chip.shared,
                            "per_core_reads_cycles": round(sh.cycles, 1), "per_core_reads_q_block": apart.block or s,
                            "expert24_cycles": round(e24.cycles, 1), "expert24_chunks": list(c24),
                            "expert25_cycles": round(e25.cycles, 1), "expert25_chunks": list(c25),
                            "bound_cycles": round(b["bound"], 1), "bound_compute_cycles": round(b["compute"], 1),
                            "bound_dram_cycles": round(b["dram"], 1),
                            "derived_over_expert25": round(chip.cycles / e25.cycles, 3),
                            "per_core_reads_over_expert25": round(sh.cycles / e25.cycles, 3),
                            "derived_over_bound": round(chip.cycles / b["bound"], 3),
                            "optimize_seconds": round(seconds, 2)})
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--scope", default="core,chip", help="core, chip or both (comma-separated)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the rows as a JSON list")
    ap.add_argument("--verify", action="store_true", help="also simulate the derived per-core schedules")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    archs, dims, sizes = args.archs.split(","), [int(x) for x in args.dims.split(",")], \
        [int(x) for x in args.sizes.split(",")]
    scopes = set(args.scope.split(","))
    rows: list[dict] = []
    console = Console(width=260)
    if "core" in scopes:
        for t in core_rows(archs, dims, sizes, args.verify, rows):
            console.print(t)
    if "chip" in scopes:
        console.print(chip_rows(archs, dims, sizes, rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {len(rows)} rows to {args.json}")


if __name__ == "__main__":
    main()
