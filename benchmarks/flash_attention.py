"""Flash attention on one core: modeled cycles of every form, the expert schedules and an honest bound.

Per 64-row q block (one core's work; the whole attention is S/64 such blocks over the core grid),
Sq = Sk = S keys, head dim d, bf16, on the calibrated model (benchmarks/calibration.py):
  baseline   unfused: every op its own DST pass, every intermediate through a CB
  fused      the best two-pass form (no loop)            (priced even when it does not fit L1: "*")
  derived    the streaming form equality saturation derives (online softmax over key chunks)
  +packexp   the same with settings.exp_on_pack_thread (priced only: TTKernel cannot emit it)
  expert24   the 2024 tt-metal SDPA schedule (benchmarks/expert_sdpa.py) scheduled by tteqsat, at its best
  expert25   the 2025 variant (scale folded into exp, row sums by L1 accumulation), at its best chunk
  ttm26      tt-metal's 2026 streaming kernel helper by helper (benchmarks/ttmetal_sdpa.py: exp on the pack
             thread, SALAD corrections), at its best chunk
  bound      per core, max of: math thread (matmul tile MACs + one exp per score tile, unless exp may run
             on the pack thread), unpack (one SrcA tile per tile MAC, llk_unpack_AB_matmul, at the unpacker's
             peak), pack (P and the output once) and this core's share of DRAM with the whole grid
             streaming its own q, k, v and output. At every size here that share binds (each core reads all
             of K and V): `at share` prices derived the same way, max(compute, share); K and V shared by
             the cores of a head (tt-metal's chains, #55756) are a chip model's business.
  compute bound  the bound without DRAM; derived's compute cycles against it

Every cycles column but `at share` is priced as the schedules are: data movement at one core's own
rate. A second table explains the gap between derived's compute and the compute bound, thread by thread.

    python benchmarks/flash_attention.py [--sizes 1024,4096,16384] [--dims 64,128] [--verify]
"""

from __future__ import annotations

import argparse
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
from tteqsat.egraph import insert_kernel, serialize
from tteqsat.egraph.saturate import saturate
from tteqsat.extraction.greedy import extract
from tteqsat.rules import shipped_rulesets
from tteqsat.scheduling.build import build_schedule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from expert_sdpa import expert_program  # noqa: E402
from ttmetal_sdpa import sdpa_cost  # noqa: E402

Q_ROWS = 64
SCALE = 0.125
WIDTHS = (64, 128, 256, 512, 1024, 2048)


def attention(keys: int, d: int) -> tq.Kernel:
    q = tq.tensor("q", (Q_ROWS, d))
    k = tq.tensor("k", (keys, d))
    v = tq.tensor("v", (keys, d))
    return tq.kernel("attention", tq.softmax(q @ k.T * SCALE, axis=-1) @ v)


def fused_cycles(kernel: tq.Kernel, arch) -> tuple[float, bool]:
    """The two-pass form's modeled cycles, priced even where it does not fit L1."""
    from egglog import EGraph

    model = TensixCostModel(arch)
    eg = EGraph()
    insert_kernel(eg, kernel)
    saturate(eg, shipped_rulesets())
    prog = extract(serialize(eg), model, kernel.name, kernel.dtype, ["q", "k", "v"], "fused", respect_l1=False)
    try:
        return build_schedule(prog, arch, model).cost_cycles, True
    except tq.KernelError:
        return build_schedule(prog, arch, model, check_capacity=False).cost_cycles, False


def expert_best(keys: int, d: int, variant: str, arch, model) -> tuple[float, int]:
    """The expert's modeled cycles at its cheapest chunk width among those whose CBs fit L1."""
    best: tuple[float, int] | None = None
    for width in (w for w in WIDTHS if w <= keys and keys % w == 0):
        try:
            cycles = build_schedule(expert_program(Q_ROWS, keys, d, width, SCALE, variant=variant), arch,
                                    model).cost_cycles
        except tq.KernelError:
            continue
        if best is None or cycles < best[0]:
            best = (cycles, width)
    assert best is not None
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


def bound(keys: int, d: int, arch, model) -> dict[str, float]:
    """Per-core floors, each a thread or the core's DRAM share; `bound` is their maximum."""
    macs = 2 * (Q_ROWS // 32) * (keys // 32) * (d // 32)
    score_tiles = (Q_ROWS // 32) * (keys // 32)
    exp = model.sfpu_cycles("exp")
    mm = arch.num(f"matmul.{arch.math_fidelity}")
    on_pack = arch.exp_on_pack_thread
    peak = max(arch.num("unpack.peak_bytes_per_cycle"), arch.num("unpack.bytes_per_cycle"))
    out = {"math": macs * mm + (0 if on_pack else score_tiles * exp),
           "unpack": macs * arch.tile_bytes("bf16") / peak,
           "pack": (score_tiles + (Q_ROWS // 32) * (d // 32)) * model.pack + (score_tiles * exp if on_pack else 0),
           "dram": model.data_movement(bytes_moved(keys, d, model), share=True)}
    out["bound"] = max(out.values())
    return out


def busy(schedule, model) -> dict[str, float]:
    """Thread busy cycles of a schedule, summed over sections and trips, and its handshakes and inits."""
    rows = model.breakdown(schedule)
    sections = [r for r in rows if r["kind"] in ("section", "fill")]
    total = {k: sum(float(r[k]) for r in sections) for k in ("unpack", "math_fpu", "math_sfpu", "pack")}
    total["sync+init"] = sum(float(r["sync"]) + float(r["init"]) for r in sections)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--verify", action="store_true", help="also simulate the derived schedules")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    title = (f"flash attention per {Q_ROWS}-row q block, modeled cycles ({platform.machine()}, "
             f"{platform.python_version()})")
    table = Table(title=title, title_justify="left")
    for c in ("arch", "d", "S", "baseline", "fused", "derived", "+packexp", "expert24", "expert25", "ttm26",
              "derived/expert25", "derived/ttm26", "bound", "at share", "compute bound", "compute/bound",
              "chunks d/e25/t26", "opt s"):
        table.add_column(c, justify="left" if c == "arch" else "right")
    gaps = Table(title="where derived's compute cycles go against the compute bound (busy cycles per thread)",
                 title_justify="left")
    for c in ("arch", "d", "S", "derived compute", "compute bound", "math floor", "math busy (fpu+sfpu)",
              "unpack floor", "unpack busy", "pack floor", "pack busy", "sync+init", "waits"):
        gaps.add_column(c, justify="left" if c == "arch" else "right")
    # waits: compute - the busiest thread's work (math with its handshakes and inits): cycles that thread
    # spends waiting for data from another section or thread
    for arch_name in args.archs.split(","):
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        pack_arch = load_arch(arch_name, {"settings.exp_on_pack_thread": True})
        for d in map(int, args.dims.split(",")):
            for keys in map(int, args.sizes.split(",")):
                kernel = attention(keys, d)
                start = time.perf_counter()
                derived = tq.optimize(kernel, arch, form="streaming")
                seconds = time.perf_counter() - start
                packexp = tq.optimize(kernel, pack_arch, form="streaming").cost_cycles
                chunk = derived.schedule.loop.streams[0].width
                e24, _ = expert_best(keys, d, "2024", arch, model)
                e25, w25 = expert_best(keys, d, "2025", arch, model)
                t26, w26 = ttmetal_best(keys, d, model)
                fused, fits = fused_cycles(kernel, arch)
                b = bound(keys, d, arch, model)
                if args.verify:
                    derived.verify()
                cyc, compute = derived.cost_cycles, derived.schedule.compute_cycles
                floor = max(b["math"], b["unpack"], b["pack"])
                which = max(("math", "unpack", "pack"), key=lambda k: b[k])
                table.add_row(arch_name, str(d), str(keys), f"{derived.baseline_cycles:,.0f}"
                              + ("" if derived.alternatives["baseline"].feasible else "*"),
                              f"{fused:,.0f}" + ("" if fits else "*"), f"{cyc:,.0f}", f"{packexp:,.0f}",
                              f"{e24:,.0f}", f"{e25:,.0f}", f"{t26:,.0f}", f"{cyc / e25:.3f}", f"{cyc / t26:.3f}",
                              f"{b['bound']:,.0f}", f"{max(compute, b['dram']):,.0f}", f"{floor:,.0f} ({which})",
                              f"{compute / floor:.2f}", f"{chunk}/{w25}/{w26}", f"{seconds:.2f}")
                t = busy(derived.schedule, model)
                longest = max(t["unpack"], t["math_fpu"] + t["math_sfpu"] + t["sync+init"], t["pack"])
                gaps.add_row(arch_name, str(d), str(keys), f"{compute:,.0f}", f"{floor:,.0f} ({which})",
                             f"{b['math']:,.0f}",
                             f"{t['math_fpu'] + t['math_sfpu']:,.0f} ({t['math_fpu']:,.0f}+{t['math_sfpu']:,.0f})",
                             f"{b['unpack']:,.0f}", f"{t['unpack']:,.0f}", f"{b['pack']:,.0f}",
                             f"{t['pack']:,.0f}", f"{t['sync+init']:,.0f}",
                             f"{compute - longest:,.0f}")
    console = Console(width=260)
    console.print(table)
    print("* does not fit L1 (priced anyway)")
    console.print(gaps)


if __name__ == "__main__":
    main()
