"""Flash attention: modeled cycles of every form against the hand-written expert and a lower bound.

Per 64-row q block (one core's work; the whole attention is S/64 such blocks over the core grid),
Sq = Sk = S keys, head dim d:
  baseline   unfused: every op its own DST pass, every intermediate through a CB
  fused      the best two-pass form (no loop)            (priced even when it does not fit L1: "*")
  derived    the streaming form equality saturation derives (online softmax over key chunks)
  expert24   the 2024 tt-metal SDPA schedule (benchmarks/expert_sdpa.py), same chunk width
  expert25   the 2025 variant (scale folded into exp)
  bound      max(matmul math cycles at the arch's fidelity, bytes of q, k, v, out over one NoC link)

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

Q_ROWS = 64
SCALE = 0.125


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


def expert_schedule(keys: int, d: int, chunk: int, variant: str, arch, model):
    """The expert at the derived chunk width, or the widest narrower one whose CBs fit L1."""
    while True:
        try:
            return build_schedule(expert_program(Q_ROWS, keys, d, chunk, SCALE, variant=variant), arch, model)
        except tq.KernelError:
            if chunk <= 32:
                raise
            chunk //= 2


def lower_bound(keys: int, d: int, arch) -> float:
    per_tile = arch.num(f"matmul.{arch['settings.math_fidelity']}")
    tiles = (Q_ROWS // 32) * (keys // 32) * (d // 32)
    math = 2 * tiles * per_tile
    data = (2 * Q_ROWS * d + 2 * keys * d) * 2 / arch.num("noc.bytes_per_cycle")
    return max(math, data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--verify", action="store_true", help="also simulate the derived and expert schedules")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    table = Table(title=f"flash attention per {Q_ROWS}-row q block, modeled cycles ({platform.machine()}, "
                        f"{platform.python_version()})", title_justify="left")
    for c in ("arch", "d", "S", "baseline", "fused", "derived", "expert24", "expert25", "bound",
              "derived/expert25", "derived/bound", "chunk", "opt s"):
        table.add_column(c, justify="left" if c == "arch" else "right")
    for arch_name in args.archs.split(","):
        arch = load_arch(arch_name)
        model = TensixCostModel(arch)
        for d in map(int, args.dims.split(",")):
            for keys in map(int, args.sizes.split(",")):
                kernel = attention(keys, d)
                start = time.perf_counter()
                derived = tq.optimize(kernel, arch, form="streaming")
                seconds = time.perf_counter() - start
                chunk = derived.schedule.loop.streams[0].width
                experts = {variant: expert_schedule(keys, d, chunk, variant, arch, model)
                           for variant in ("2024", "2025")}
                fused, fits = fused_cycles(kernel, arch)
                bound = lower_bound(keys, d, arch)
                if args.verify:
                    derived.verify()
                cyc = derived.cost_cycles
                table.add_row(arch_name, str(d), str(keys), f"{derived.baseline_cycles:,.0f}"
                              + ("" if derived.alternatives["baseline"].feasible else "*"),
                              f"{fused:,.0f}" + ("" if fits else "*"), f"{cyc:,.0f}",
                              f"{experts['2024'].cost_cycles:,.0f}", f"{experts['2025'].cost_cycles:,.0f}",
                              f"{bound:,.0f}", f"{cyc / experts['2025'].cost_cycles:.3f}", f"{cyc / bound:.2f}",
                              str(chunk), f"{seconds:.2f}")
    Console(width=170).print(table)
    print("* does not fit L1 (priced anyway)")


if __name__ == "__main__":
    main()
