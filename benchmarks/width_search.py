"""Unmasked streaming loops: is the chunk width `tq.optimize` keeps the grid's cheapest of its neighbours?

Extraction picks a loop's chunk width by one core's mean item; the grid prices the whole chip (its cores' DRAM
share, the K/V reads shared between them, the launch). pipeline.optimize retries the neighbouring widths (x2 while
cheaper on the grid, else /2) of masked loops, and of unmasked ones whose grid time is over 2 % above both their
compute and the DRAM floor; this sweep asks whether the width it keeps for an unmasked loop is the grid's
cheapest of its neighbours (before unmasked loops were retried, 2 of 31 were >= 2 % dearer: benchmarks/README.md).

For each kernel the streaming form is optimized as the optimizer prices it (`form="streaming"`: its chosen width
and grid cycles), then at each neighbouring width extraction offers (x2 and /2 of the chosen, among
`bridge.chunk_widths`), extracted exactly (`chunks=(w,)`) at the chosen row-block height, and, as a check that the
forced extraction is the same program, at the chosen width too (`same` column). `ratio` is the cheapest
neighbour's grid cycles over the chosen's: below 1, a neighbour is cheaper.

Each kernel is first optimized as a user would (`tq.optimize`, form "auto": the `auto` columns, its form, chunk
width and cycles, and `opt s` its wall time: what a change to the search costs); when that splits the keys into
parts, the first kernel (the parts') is the one swept, as the optimizer prices it.

Kernels: full attention (B, H, S, d) on both archs, with the optimizer's grid and with 16 cores and 128-row
blocks; grouped-query attention (32 q heads over 8 K/V heads); decode-ish kernels (1 or 32 query rows against
long keys); rows of 8192 columns (a softmax, a log-sum-exp, a contraction x @ w); and fuzzed unmasked kernels
with batch axes that stream (`tools.fuzzlong`, a fixed seed, one kernel of each shape).

    python benchmarks/width_search.py [--only full,gqa,decode,rowwise,fuzz] [--fuzz 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import Arch
from tteqsat.egraph.bridge import chunk_widths
from tteqsat.frontend.batch import element_view
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzlong import long_cases

GAIN = 0.02  # a neighbour this much cheaper on the grid is worth retrying (the brief's threshold)


@dataclass
class Sweep:
    """One kernel to sweep: how it is built and optimized."""

    name: str
    family: str
    build: Callable[[], tq.Kernel]
    arch: str | Arch
    options: dict = field(default_factory=dict)  # cores, blocks, limits


def attention(b: int, h: int, s: int, d: int, kv_heads: int | None = None, rows: int | None = None) -> tq.Kernel:
    """softmax(q @ k.T / sqrt(d)) @ v with `rows` query rows (default S), K/V grouped when kv_heads < h."""
    q = tq.tensor("q", (b, h, rows or s, d))
    k, v = (tq.tensor(n, (b, kv_heads or h, s, d)) for n in "kv")
    if kv_heads and kv_heads != h:
        k, v = (tq.repeat(x, h // kv_heads, axis=1) for x in (k, v))
    return tq.kernel("attention", tq.softmax(q @ k.mT * d ** -0.5) @ v)


def rowwise(kind: str, h: int, rows: int, cols: int) -> tq.Kernel:
    """A kernel over long rows that streams them in chunks: a softmax, a log-sum-exp or a contraction x @ w."""
    x = tq.tensor("x", (1, h, rows, cols))
    if kind == "softmax":
        return tq.kernel("softmax", tq.softmax(x))
    if kind == "logsumexp":
        return tq.kernel("logsumexp", tq.logsumexp(x))
    return tq.kernel("contraction", x @ tq.tensor("w", (1, h, cols, 64)))


def sweeps(families: set[str], fuzz: int) -> list[Sweep]:
    out: list[Sweep] = []
    archs = ("wormhole_b0", "blackhole")
    if "full" in families:
        for shape in ((1, 4, 1024, 64), (1, 8, 2048, 128), (2, 8, 4096, 64), (1, 32, 4096, 128)):
            for arch in archs:
                out.append(Sweep(f"full {'x'.join(map(str, shape))}", "full", lambda s=shape: attention(*s), arch))
        for shape in ((1, 4, 1024, 64), (1, 8, 2048, 128)):
            for arch in archs:
                out.append(Sweep(f"full {'x'.join(map(str, shape))}", "full", lambda s=shape: attention(*s), arch,
                                 {"cores": 16, "blocks": (128,)}))
    if "gqa" in families:
        for arch in archs:
            out.append(Sweep("GQA 32/8 1x32x2048x128", "gqa", lambda: attention(1, 32, 2048, 128, kv_heads=8), arch))
            out.append(Sweep("GQA 32/8 32 rows x 8192 keys", "decode",
                             lambda: attention(1, 32, 8192, 128, kv_heads=8, rows=32), arch))
    if "decode" in families:
        for arch in archs:
            out.append(Sweep("decode 1x32 1 row x 8192 keys", "decode",
                             lambda: attention(1, 32, 8192, 128, rows=1), arch))
            out.append(Sweep("decode 1x8 32 rows x 4096 keys", "decode",
                             lambda: attention(1, 8, 4096, 64, rows=32), arch))
            out.append(Sweep("decode GQA 32/8 1 row x 16384 keys", "decode",
                             lambda: attention(1, 32, 16384, 128, kv_heads=8, rows=1), arch))
    if "rowwise" in families:
        for arch in archs:
            out.append(Sweep("softmax 1x16x256x8192", "rowwise", lambda: rowwise("softmax", 16, 256, 8192), arch))
            out.append(Sweep("logsumexp 1x16x256x8192", "rowwise", lambda: rowwise("logsumexp", 16, 256, 8192),
                             arch))
            out.append(Sweep("x @ w 1x16x256x8192 @ 8192x64", "rowwise", lambda: rowwise("matmul", 16, 256, 8192),
                             arch))
            out.append(Sweep("x @ w 1x4x128x4096 @ 4096x64", "rowwise", lambda: rowwise("matmul", 4, 128, 4096),
                             arch))
    if "fuzz" in families and fuzz:
        out += fuzz_sweeps(fuzz)
    return out


LONG_KEYS = (1024, 2048, 640, 800)  # tools.fuzzlong's longer rows: widths have neighbours to try
BATCHES = ((2,), (1, 2), (2, 2), (1, 4))  # batch axes: several work items


def fuzz_sweeps(n: int, seed_value: int = 7, draws: int = 400) -> list[Sweep]:
    """The first `n` fuzzed long-key kernels (tools.fuzzlong, seed `seed_value`) with no mask, batch axes
    (several work items, unless a group's heads stack into one) and an axis a chunk width divides."""
    found: list[fc.Case] = []
    kinds: set[tuple] = set()

    @seed(seed_value)
    @settings(max_examples=draws, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(long_cases(keys=LONG_KEYS, batches=BATCHES, forms=("streaming",)))
    def draw(case: fc.Case) -> None:
        if len(found) >= n or fc.dsl_error(case) is not None or any(e.op == "where" for e in fc.nodes(case)):
            return
        if len(case.inputs[0].shape) < 3 or case.iterations is not None:
            return
        kind = (tuple(i.shape for i in case.inputs), frozenset(e.op for e in fc.nodes(case)))
        if kind not in kinds and _long_axis(fc.to_kernel(case)):  # one of each: the generator repeats itself
            kinds.add(kind)
            found.append(case)

    draw()
    out = []
    for i, case in enumerate(found):
        kernel = fc.to_kernel(case)
        shape = " ".join("x".join(map(str, i.shape)) for i in case.inputs[:3])
        what = " ".join(sorted({e.op for e in fc.nodes(case)} & {"matmul", "softmax", "exp", "reduce", "repeat"}))
        out.append(Sweep(f"fuzz {i} {shape} {case.dtype} ({what})", "fuzz", lambda k=kernel: k, case.arch_spec(),
                         {"cores": case.cores}))
    return out


def _long_axis(kernel: tq.Kernel) -> bool:
    element = element_view(kernel).kernel
    axes = {d for node in element.nodes() for d in node.shape}
    return any(d % w == 0 and w < d for d in axes for w in chunk_widths(element))


def width(result: tq.Result) -> int | None:
    loop = result.schedule.loop
    return loop.streams[0].width if loop is not None and loop.streams else None


def optimize(kernel: tq.Kernel, arch, **kw) -> tuple[tq.Result | None, str, float]:
    """The result (None and why when nothing fits) and the seconds it took."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = tq.optimize(kernel, arch, **kw)
    except tq.KernelError as e:
        return None, str(e).splitlines()[0][:120], time.perf_counter() - start
    return res, "", time.perf_counter() - start


def sweep_one(sw: Sweep) -> dict:
    row: dict = {"kernel": sw.name, "family": sw.family, "arch": sw.arch if isinstance(sw.arch, str) else sw.arch.name,
                 "options": {k: v for k, v in sw.options.items() if v is not None}}
    kernel = sw.build()
    options = dict(sw.options)
    auto, why, seconds = optimize(kernel, sw.arch, **options)  # what the user gets, and its wall time
    row["optimize_s"] = round(seconds, 2)
    if auto is None:
        row["note"] = why
        return row
    row.update(auto_form=auto.chosen, auto_cycles=auto.cost_cycles, auto_width=width(auto),
               kv_parts=auto.split.kv.parts if auto.split is not None else 1)
    if auto.split is not None:  # split over keys: sweep the first kernel (the parts'), as the optimizer prices it
        kernel = auto.split.kv.partial
        options["split"] = False
    base, why, _ = optimize(kernel, sw.arch, form="streaming", **options)
    if base is None or width(base) is None:
        row["note"] = why or "no loop"
        return row
    chosen = width(base)
    others = {k: a.cycles for k, a in base.alternatives.items() if k != "streaming" and a.feasible and a.cycles}
    row.update(width=chosen, block=base.block, items=base.items, cores=base.chip.cores, cycles=base.chip.cycles,
               auto_picks_streaming=not others or base.chip.cycles <= min(others.values()),
               other_forms={k: round(v, 1) for k, v in others.items()})
    offered = set(chunk_widths(element_view(kernel).kernel))
    blocks = (base.block,) if base.block else ()
    forced = {k: v for k, v in options.items() if k != "blocks"}
    neighbours: dict[int, float | None] = {}
    t0 = time.perf_counter()
    for w in (chosen * 2, chosen // 2, chosen):
        if w not in offered:
            continue
        res, why, _ = optimize(kernel, sw.arch, form="streaming", chunks=(w,), blocks=blocks, **forced)
        cycles = res.chip.cycles if res is not None and width(res) == w else None
        if w == chosen:
            row["same"] = cycles == base.chip.cycles
        else:
            neighbours[w] = cycles
            if cycles is None:  # why not: its CBs overflow L1, or no axis streams in chunks this wide
                row.setdefault("misses", {})[str(w)] = "L1" if "L1" in why else "no loop"
    row["neighbours_s"] = round(time.perf_counter() - t0, 2)
    row["neighbours"] = {str(w): c for w, c in neighbours.items()}
    priced = {w: c for w, c in neighbours.items() if c is not None}
    if priced:
        best = min(priced, key=lambda w: (priced[w], w))
        row.update(best_neighbour=best, ratio=round(priced[best] / base.chip.cycles, 4))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="full,gqa,decode,rowwise,fuzz", help="families to sweep")
    ap.add_argument("--fuzz", type=int, default=10, help="fuzzed kernels to sweep")
    ap.add_argument("--json", metavar="PATH", help="write the rows as a JSON list")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    start = time.perf_counter()
    for sw in sweeps(set(args.only.split(",")), args.fuzz):
        rows.append(sweep_one(sw))
        print(json.dumps(rows[-1]), flush=True)
    total = time.perf_counter() - start
    table = Table(title=f"chunk width of unmasked streaming loops on the grid ({platform.machine()}, "
                        f"{platform.python_version()}, {total:.0f} s)", title_justify="left")
    for c in ("kernel", "arch", "grid", "auto", "auto cycles", "block", "items", "width", "cycles", "x2", "/2",
              "ratio", "same", "opt s"):
        table.add_column(c, justify="left" if c in ("kernel", "arch", "grid", "auto") else "right")
    for r in rows:
        nb = r.get("neighbours", {})
        w = r.get("width")

        def at(other: int | None, nb: dict = nb, r: dict = r) -> str:
            if other is None or str(other) not in nb:
                return "-"
            c = nb[str(other)]
            return {"L1": "no fit", "no loop": "n/a"}[r["misses"][str(other)]] if c is None else f"{c:,.0f}"

        grid = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "optimizer's"
        auto = "-" if "auto_form" not in r else r["auto_form"] + (
            f" {r['kv_parts']} parts" if r["kv_parts"] > 1 else "") + (f" {r['auto_width']}" if r["auto_width"] else "")
        ratio = r.get("ratio")
        table.add_row(r["kernel"], r["arch"], grid, auto, f"{r['auto_cycles']:,.0f}" if "auto_cycles" in r else "-",
                      str(r.get("block") or "rows"), str(r.get("items", "")), str(w or "-"),
                      f"{r['cycles']:,.0f}" if "cycles" in r else r.get("note", "-"), at(w * 2 if w else None),
                      at(w // 2 if w else None),
                      "-" if ratio is None else f"[bold]{ratio:.3f}[/]" if ratio < 1 - GAIN else f"{ratio:.3f}",
                      {True: "yes", False: "NO"}.get(r.get("same"), "-"), f"{r['optimize_s']:.1f}")
    Console(width=200).print(table)
    losing = [r for r in rows if r.get("ratio") is not None and r["ratio"] < 1 - GAIN]
    print(f"{len(losing)} of {sum(1 for r in rows if 'ratio' in r)} kernels are >= {GAIN:.0%} cheaper at a "
          f"neighbouring width; optimize (auto) {sum(r['optimize_s'] for r in rows):.1f} s over {len(rows)} kernels")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
