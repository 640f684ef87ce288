"""The analytic model against the timing simulator, and what timing costs the simulator.

    python benchmarks/timing.py [--random 100] [--seed 0] [--skip-grid] [--shared-only]

Tables:

* the example kernels as `tq.optimize` chooses them: the chip model's cycles (what the optimizer compares
  today, compute against DRAM bytes), the analytic model of the busiest core's work with its reads and writes
  (`scheduling.timing.kernel_cycles` at its DRAM share) and the timing simulator's wall;
* batched attention and an elementwise kernel over several cores (several work items per core at 4 cores);
* attention and GQA with `settings.share_inputs` on against off (`--shared-only` for just this table): the
  timing simulator times a sharing group's cores together; the line under it lists kernels that share where
  the timing simulator says sharing is slower;
* `--random` fuzz kernels (`tools.fuzzgen`, no planted mistakes): the ratio's spread and the worst cases;
* the alternatives of three kernels (unfused baseline, fused, streaming at each chunk width; one work item
  on one core) and the pairs the two rank the other way round by more than 15 %;
* the simulator's CPU time with and without timing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from egglog import EGraph
from hypothesis import HealthCheck, Phase, given, seed, settings
from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.egraph.bridge import insert_kernel, serialize
from tteqsat.egraph.saturate import Limits, saturate
from tteqsat.errors import KernelError
from tteqsat.extraction.baseline import baseline_program
from tteqsat.extraction.greedy import extract
from tteqsat.frontend import reference
from tteqsat.frontend.loader import load_kernel
from tteqsat.rules import shipped_rulesets
from tteqsat.scheduling.build import build_schedule
from tteqsat.sim import simulate
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzgen import cases
from tteqsat.tools.timing_check import TOLERANCE, Priced, misranked, result_cycles, schedule_cycles

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
EXAMPLES = ("attention", "dst_pressure", "elementwise_chain", "long_attention", "row_softmax", "ten_ops", "two_matmuls")


def _optimize(kernel: tq.Kernel, **kwargs) -> tq.Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(kernel, **kwargs)


def _row(table: Table, label: str, result: tq.Result, priced: Priced) -> None:
    chip = result.chip
    assert chip is not None
    table.add_row(label, str(chip.cores), str(chip.items_per_core), f"{chip.cycles:,.0f}", f"{priced.analytic:,.0f}",
                  f"{priced.timed:,.0f}", f"{chip.cycles / priced.timed:.2f}", f"{priced.ratio:.3f}")


def _results_table(title: str) -> Table:
    table = Table(title=title)
    for col in ("kernel", "cores", "items/core", "chip model", "analytic", "timing wall", "chip/timing",
                "analytic/timing"):
        table.add_column(col, justify="left" if col == "kernel" else "right")
    return table


def examples(console: Console) -> None:
    table = _results_table("examples as optimize chooses them")
    for name in EXAMPLES:
        result = _optimize(load_kernel(str(KERNELS / f"{name}.py")))
        _row(table, name, result, result_cycles(result))
    console.print(table)


def grid(console: Console) -> None:
    def attention(b: int, h: int, s: int, d: int, keys: int) -> tq.Kernel:
        q, k, v = tq.tensor("q", (b, h, s, d)), tq.tensor("k", (b, h, keys, d)), tq.tensor("v", (b, h, keys, d))
        return tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v)

    a, b = tq.tensor("a", (1, 16, 256, 64)), tq.tensor("b", (1, 16, 256, 64))
    kernels = [("attention 1x8x256x64", attention(1, 8, 256, 64, 256)),
               ("attention 1x4x512x64", attention(1, 4, 512, 64, 512)),
               ("attention 2x8x128x64, 1024 keys", attention(2, 8, 128, 64, 1024)),
               ("exp(a*b)+a 1x16x256x64", tq.kernel("ew", tq.exp(a * b) + a))]
    table = _results_table("over the core grid (the busiest core; every core sharing DRAM)")
    for label, kernel in kernels:
        for cores in (None, 4):
            result = _optimize(kernel, cores=cores)
            _row(table, label + ("" if cores is None else f", cores={cores}"), result, result_cycles(result))
    console.print(table)


SLOW_DRAM = {"dram.total_gb_per_s": 16.0}
"""A chip whose DRAM these kernels saturate on a few cores (tests/test_kv_share.py's): where sharing pays."""


def shared(console: Console) -> None:
    """Kernels with settings.share_inputs on, against the same kernels with it off: the chip model, the analytic
    model and the timing simulator (which times a sharing group's cores together), and whether sharing is chosen
    where the timing simulator says it is slower."""

    def attention(hq: int, hkv: int, s: int = 1024, d: int = 64, causal: bool = False) -> tq.Kernel:
        q = tq.tensor("q", (1, hq, s, d))
        k, v = (tq.tensor(n, (1, hkv, s, d)) for n in "kv")
        if hkv != hq:
            k, v = (tq.repeat(x, hq // hkv, axis=1) for x in (k, v))
        scores = q @ k.mT * 0.125
        if causal:  # items visit different chunks: cores share in ranked groups (tests/test_ranked_share.py)
            scores = tq.where(tq.tri(s, s), scores, -np.inf)
        return tq.kernel("attention", tq.softmax(scores) @ v)

    runs = [("attention 1x8x1024x64", attention(8, 8), 8, {}, {}),
            ("GQA 8q/2kv 1x8x1024x64", attention(8, 2), 16, {}, {}),
            ("attention 1x32x1024x64", attention(32, 32), None, {}, {}),
            ("attention 1x8x1024x64, 16 GB/s DRAM", attention(8, 8), 8, SLOW_DRAM, {}),
            ("GQA 8q/2kv 1x8x1024x64, 16 GB/s DRAM", attention(8, 2), 16, SLOW_DRAM, {}),
            ("attention 1x4x256x64 fused, 64-row blocks, 16 GB/s DRAM", attention(4, 4, 256), 8, SLOW_DRAM,
             {"form": "fused", "blocks": (64,)}),
            ("causal 1x8x1024x64 streaming, 16 GB/s DRAM", attention(8, 8, causal=True), 16, SLOW_DRAM,
             {"form": "streaming"}),
            ("causal 1x32x1024x128", attention(32, 32, d=128, causal=True), None, {}, {})]
    table = Table(title="sharing K/V over NoC multicast (share_inputs on) against per-core reads (off); the "
                  "sampled cores, whole groups")
    for col in ("arch", "kernel", "cores", "group", "chip model", "analytic", "timing", "analytic/timing",
                "chip/timing", "chip, off", "timing, off", "chip/timing, off", "on/off"):
        table.add_column(col, justify="left" if col in ("arch", "kernel") else "right")
    worse = []
    for arch_name in ("wormhole_b0", "blackhole"):
        for label, kernel, cores, overrides, kw in runs:
            on = _optimize(kernel, arch=load_arch(arch_name, {**overrides, "settings.share_inputs": True}),
                           cores=cores, **kw)
            off = _optimize(kernel, arch=load_arch(arch_name, {**overrides, "settings.share_inputs": False}),
                            cores=cores, **kw)
            p_on, p_off = result_cycles(on), result_cycles(off)
            assert on.chip is not None and off.chip is not None
            group = str(on.chip.shared) if on.chip.shared > 1 else "-"
            table.add_row(arch_name, label, str(on.chip.cores), group, f"{on.chip.cycles:,.0f}",
                          f"{p_on.analytic:,.0f}", f"{p_on.timed:,.0f}", f"{p_on.ratio:.3f}",
                          f"{on.chip.cycles / p_on.timed:.3f}", f"{off.chip.cycles:,.0f}", f"{p_off.timed:,.0f}",
                          f"{off.chip.cycles / p_off.timed:.3f}", f"{p_on.timed / p_off.timed:.3f}")
            if on.chip.shared > 1 and p_on.timed > p_off.timed * 1.001:
                worse.append(f"{arch_name} {label} ({p_on.timed / p_off.timed:.3f}x)")
    console.print(table)
    console.print("sharing chosen where the timing simulator says it is slower: " + (", ".join(worse) or "none"))


def random_kernels(console: Console, n: int, seed_value: int) -> None:
    found: list[tuple[Priced, str]] = []

    @seed(seed_value)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(max_ops=6, flaws=False))
    def run(case) -> None:
        try:
            limits = Limits() if case.iterations is None else Limits(iterations=case.iterations)
            result = _optimize(fc.to_kernel(case), arch=case.arch, form=case.form, limits=limits)
            found.append((result_cycles(result), f"{case.arch} {case.dtype} {result.chosen}"))
        except KernelError:
            return  # does not fit, or the form does not apply
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - a kernel the simulator rejects is reported, not timed
            console.print(f"[yellow]not timed ({type(e).__name__}): {str(e)[:160]}[/]")

    run()
    ratios = [p.ratio for p, _ in found]
    outside = sum(not p.agrees() for p, _ in found)
    table = Table(title=f"{len(found)} random kernels (seed {seed_value}): analytic / timing")
    for col in ("min", "median", "max", f"outside +-{TOLERANCE:.0%}"):
        table.add_column(col, justify="right")
    table.add_row(f"{min(ratios):.3f}", f"{statistics.median(ratios):.3f}", f"{max(ratios):.3f}", str(outside))
    console.print(table)
    worst = Table(title="the five furthest from 1")
    for col in ("case", "analytic", "timing wall", "ratio"):
        worst.add_column(col, justify="left" if col == "case" else "right")
    for p, what in sorted(found, key=lambda f: -abs(f[0].ratio - 1))[:5]:
        worst.add_row(what, f"{p.analytic:,.0f}", f"{p.timed:,.0f}", f"{p.ratio:.3f}")
    console.print(worst)


def alternatives(console: Console) -> None:
    arch = load_arch("wormhole_b0")
    model = TensixCostModel(arch)

    def logsumexp() -> tq.Kernel:
        x = tq.tensor("x", (32, 2048))
        m = x.max(axis=-1)
        return tq.kernel("logsumexp", m + tq.log(tq.exp(x - m).sum(axis=-1)))

    def attention(rows: int, keys: int) -> tq.Kernel:
        q, k, v = tq.tensor("q", (rows, 64)), tq.tensor("k", (keys, 64)), tq.tensor("v", (keys, 64))
        return tq.kernel("attention", tq.softmax(q @ k.T * 0.125) @ v)

    table = Table(title="alternatives, one work item on one core")
    for col in ("kernel", "alternative", "analytic", "timing wall", "analytic/timing"):
        table.add_column(col, justify="left" if col in ("kernel", "alternative") else "right")
    flips = []
    for name, kernel in (("logsumexp 32x2048", logsumexp()), ("attention 32x1024", attention(32, 1024)),
                         ("attention 64x512", attention(64, 512))):
        egraph = EGraph()
        insert_kernel(egraph, kernel)
        saturate(egraph, shipped_rulesets(), Limits())
        graph = serialize(egraph)
        names = [str(n.attr("name")) for n in kernel.inputs]
        schedules = {"baseline": build_schedule(baseline_program(kernel), arch, model, fuse=False),
                     "fused": build_schedule(extract(graph, model, kernel.name, kernel.dtype, names, "fused"), arch,
                                             model)}
        for width in (128, 256, 512, 1024):
            try:
                s = build_schedule(extract(graph, model, kernel.name, kernel.dtype, names, "streaming",
                                           max_chunk=width), arch, model)
            except KernelError:
                continue
            if s.loop is not None:
                schedules[f"chunks of {s.loop.streams[0].width}"] = s
        inputs = reference.random_inputs(kernel, 0)
        priced = [schedule_cycles(label, s, arch, inputs) for label, s in schedules.items()]
        for p in priced:
            table.add_row(name, p.label, f"{p.analytic:,.0f}", f"{p.timed:,.0f}", f"{p.ratio:.3f}")
        flips += [(name, a.label, b.label, x) for a, b, x in misranked(priced)]
    console.print(table)
    console.print(f"pairs ranked the other way round by more than {TOLERANCE:.0%}: "
                  + (", ".join(f"{k}: {a} vs {b} ({x:.2f}x)" for k, a, b, x in flips) or "none"))


def overhead(console: Console) -> None:
    table = Table(title="simulator CPU seconds (best of 3), without and with timing")
    for col in ("kernel", "functional", "with timing", "ratio"):
        table.add_column(col, justify="left" if col == "kernel" else "right")
    for name in ("attention", "elementwise_chain", "long_attention"):
        result = _optimize(load_kernel(str(KERNELS / f"{name}.py")))
        text, host = result.to_mlir(), result.to_host()
        inputs = reference.random_inputs(result.kernel, 0)
        if result.schedule.grid is None or result.schedule.grid.items <= 1:
            inputs = result.item_inputs(inputs, 0)[0]
        best = {}
        for timing in (False, True):
            runs = []
            for _ in range(3):
                start = time.process_time()
                simulate(text, inputs, host=host, timing=timing, arch=result.arch)
                runs.append(time.process_time() - start)
            best[timing] = min(runs)
        table.add_row(name, f"{best[False]:.3f}", f"{best[True]:.3f}", f"{best[True] / best[False]:.2f}x")
    console.print(table)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--random", type=int, default=100, help="random kernels (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-grid", action="store_true")
    p.add_argument("--shared-only", action="store_true", help="only the table of kernels sharing K/V reads")
    args = p.parse_args()
    console = Console(width=200)
    console.print(f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}")
    if args.shared_only:
        shared(console)
        return
    examples(console)
    if not args.skip_grid:
        grid(console)
        shared(console)
    if args.random:
        random_kernels(console, args.random, args.seed)
    alternatives(console)
    overhead(console)


if __name__ == "__main__":
    main()
