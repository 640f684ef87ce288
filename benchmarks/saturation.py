"""Saturation scaling: e-graph size, time and peak memory of optimize() against expression size.

    python benchmarks/saturation.py [--sizes 10,50,100,200,500] [--write-readme]

Two families, built with the tteqsat DSL and a fixed seed: `mix`, random elementwise mixes (unary, binary,
scalar and broadcast ops over four 64x64 inputs and a column vector), and `chain`, structured chains of
blocks with matmuls and reductions (scaled scores, row softmax, a matmul with V, a row mean and rsqrt
normalization, a residual add). Every case runs with the default `tq.Limits()` in a fresh process, so
peak memory is that process's alone: a launcher process runs the worker and reads
`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` (egglog allocates in Rust, which tracemalloc cannot see).
Seconds are wall time of saturation + extraction + scheduling (tq.optimize minus tracing); the `vs baseline`
column is the baseline's modeled cycles over the chosen schedule's, and `no worse` says whether the best
optimized (non-baseline) schedule models at most the unfused baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve()
README = HERE.parent / "README.md"
HEADING = "## Saturation scaling"


# -- kernels -------------------------------------------------------------------------------------------
def build_mix(ops: int, seed: int = 0, width: int = 4):
    """A random elementwise DAG of `ops` ops over a sliding window of `width` live values, all reaching the
    output (a wider DAG needs more circular buffers than the core has, even unfused)."""
    import numpy as np

    import tteqsat as tq

    rng = np.random.default_rng(seed)
    inputs = [tq.tensor(n, (64, 64)) for n in ("x0", "x1", "x2", "x3")]
    col = tq.tensor("c", (64, 1))
    unary = [lambda t: tq.exp(t * 0.125), lambda t: tq.sqrt(tq.abs(t) + 1.0),
             lambda t: tq.recip(tq.abs(t) + 1.0), tq.tanh, tq.relu, tq.sigmoid, lambda t: -t]
    binary = [lambda p, q: p + q, lambda p, q: p - q, lambda p, q: p * q, tq.maximum]
    live = list(inputs)
    while True:
        x = live.pop(0)
        kind = rng.choice(["unary", "binary", "scalar", "bcast"], p=[0.3, 0.4, 0.2, 0.1])
        if kind == "unary":
            v = unary[int(rng.integers(len(unary)))](x)
        elif kind == "binary":
            v = binary[int(rng.integers(len(binary)))](x, live[int(rng.integers(len(live)))])
        elif kind == "scalar":
            v = x * float(rng.choice([0.5, 2.0, -1.5])) if rng.random() < 0.5 else x + float(rng.normal())
        else:
            v = x * col if rng.random() < 0.5 else x / (tq.abs(col) + 1.0)
        live.append(v)
        if len(live) > width:  # fold the oldest into the newest: the window stays narrow
            live.append(live.pop(0) + live.pop())
        out = live[0]
        for other in live[1:]:
            out = out + other
        kernel = tq.kernel("mix", out)
        if kernel.op_count() >= ops:
            return kernel


def build_chain(ops: int, seed: int = 0):
    """Attention and normalization blocks over shared weights, cut after the step that reaches `ops` ops."""
    import tteqsat as tq

    x = tq.tensor("x", (64, 64))
    wq, wk, v = (tq.tensor(n, (64, 64)) for n in ("wq", "wk", "v"))
    h = x
    while True:
        s = (h @ wq) @ (h @ wk).T * 0.125               # scaled scores: three matmuls, a transpose
        p = tq.softmax(s, axis=-1) @ v                  # row softmax, matmul with V
        c = p - p.mean(axis=-1)                         # centre each row
        r = tq.rsqrt((c * c).mean(axis=-1) + 1e-5)      # inverse row deviation
        h = c * r + h                                   # normalize, residual add
        for out in (s, p, c, c * r, h):                 # the block so far, step by step
            kernel = tq.kernel("chain", out)
            if kernel.op_count() >= ops:
                return kernel


BUILDERS = {"mix": build_mix, "chain": build_chain}


# -- one case in a fresh process -------------------------------------------------------------------------
def worker(family: str, ops: int) -> dict[str, object]:
    import tteqsat as tq

    start = time.perf_counter()
    kernel = BUILDERS[family](ops)
    traced = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(kernel)
    total = time.perf_counter() - start
    alts = getattr(res, "alternatives", {})
    optimized = [a.cycles for k, a in alts.items() if k != "baseline" and a.feasible and a.cycles is not None]
    best = min(optimized) if optimized else None
    return {
        "family": family, "ops": kernel.op_count(), "trace_s": traced, "seconds": total,
        "saturate_s": res.times.get("saturate", 0.0), "extract_s": res.times.get("extract", 0.0),
        "schedule_s": res.times.get("schedule", 0.0) + res.times.get("baseline", 0.0),
        "enodes": res.saturation.enodes, "eclasses": res.eclasses, "iterations": res.saturation.iterations,
        "stopped_by": res.saturation.stopped_by, "cycles": res.cost_cycles, "baseline": res.baseline_cycles,
        "chosen": getattr(res, "chosen", ""), "no_worse": best is not None and best <= res.baseline_cycles,
        "why": "; ".join(f"{k}: {a.detail}" for k, a in alts.items() if k != "baseline" and not a.feasible),
    }


def launch(family: str, ops: int) -> dict[str, object]:
    """Run the worker in a child and report its peak RSS (this launcher has no other children)."""
    proc = subprocess.run([sys.executable, str(HERE), "--worker", family, str(ops)], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode:
        return {"family": family, "ops": ops, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return out


def measure(family: str, ops: int) -> dict[str, object]:
    """A fresh launcher per case, so RUSAGE_CHILDREN holds this case's worker only."""
    proc = subprocess.run([sys.executable, str(HERE), "--launch", family, str(ops)], capture_output=True,
                          text=True, timeout=1000)
    if proc.returncode:
        return {"family": family, "ops": ops, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the table -------------------------------------------------------------------------------------------
COLUMNS = ("case", "ops", "e-nodes", "e-classes", "iters", "stopped by", "seconds", "saturate s", "extract s",
           "schedule s", "peak MB", "chosen", "vs baseline", "no worse")


def row(r: dict[str, object]) -> list[str]:
    if "error" in r:
        return [f"{r['family']} {r['ops']}", str(r["ops"])] + ["-"] * (len(COLUMNS) - 3) + [f"error: {r['error']}"]
    return [f"{r['family']}", str(r["ops"]), f"{r['enodes']:,}", f"{r['eclasses']:,}", str(r["iterations"]),
            str(r["stopped_by"] or "saturated"), f"{r['seconds']:.2f}", f"{r['saturate_s']:.2f}",
            f"{r['extract_s']:.2f}", f"{r['schedule_s']:.2f}", f"{r['peak_mb']:.0f}", str(r["chosen"]),
            f"{float(r['baseline']) / float(r['cycles']):.2f}x",  # type: ignore[arg-type]
            "yes" if r["no_worse"] else "no"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return (f"{os.cpu_count()}-core {platform.machine()} ({cpu}), Linux {platform.release()}, "
            f"Python {platform.python_version()}, egglog {version('egglog')}")


def markdown(results: list[dict[str, object]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines)


def notes(results: list[dict[str, object]]) -> list[str]:
    """Where the time goes when a case takes over a second, and why a case has no optimized schedule."""
    out = []
    for r in results:
        if "error" in r:
            continue
        total = float(r["seconds"])  # type: ignore[arg-type]
        stages = {k: float(r[f"{k}_s"]) for k in ("saturate", "extract", "schedule")}  # type: ignore[arg-type]
        top = max(stages, key=lambda k: stages[k])
        if total > 1.0:
            out.append(f"{r['family']} {r['ops']}: {top} takes {stages[top] / total:.0%} of {total:.1f} s")
        if not r["no_worse"]:
            out.append(f"{r['family']} {r['ops']}: no optimized schedule beats the baseline ({r['why']})")
    return out


def write_readme(results: list[dict[str, object]], when: str) -> None:
    """Replace (or append) this benchmark's section of benchmarks/README.md; other sections stay."""
    section = (f"{HEADING}\n\n`python benchmarks/saturation.py --write-readme` on {machine()}, {when}; default "
               f"limits (`tq.Limits()`), one fresh process per case.\n\n{markdown(results)}\n\n"
               "`seconds` is tq.optimize wall time (saturation + extraction of both forms + scheduling, "
               "baseline included); `peak MB` is the worker process's maximum RSS (Python, numpy and egglog "
               "included); `vs baseline` is baseline cycles / chosen cycles; `no worse` is whether the best "
               "optimized schedule models at most the unfused baseline.\n")
    found = notes(results)
    if found:
        section += "\n" + "\n".join(f"- {n}" for n in found) + "\n"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    start = text.find(HEADING + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    README.write_text(text)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("--worker", "--launch"):
        fn = worker if sys.argv[1] == "--worker" else launch
        print(json.dumps(fn(sys.argv[2], int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,50,100,200,500")
    ap.add_argument("--families", default="mix,chain")
    ap.add_argument("--write-readme", action="store_true", help=f"write the table under '{HEADING}'")
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table

    results = []
    table = Table(title=f"saturation scaling, default limits ({machine()})", title_justify="left")
    for c in COLUMNS:
        table.add_column(c, justify="left" if c in ("case", "stopped by", "chosen") else "right")
    console = Console(width=200)
    for family in args.families.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            r = measure(family, size)
            results.append(r)
            table.add_row(*row(r))
            console.print(f"{family} {size}: {r.get('seconds', 0):.2f} s", style="dim")
    console.print(table)
    for n in notes(results):
        console.print(n, soft_wrap=True)
    if args.write_readme:
        write_readme(results, time.strftime("%Y-%m-%d"))
        console.print(f"wrote {README.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
