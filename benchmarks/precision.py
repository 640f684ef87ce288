"""Relative error of the simulated kernels against numpy, per precision mode, dtype and math fidelity.

The numbers the documented verification tolerances (tteqsat.sim.tolerance.TOLERANCES) are set from: for
every example kernel (and the streaming ones of the tests), the largest max|sim - ref| / max|ref| over its
outputs, seeds and input distributions. Prints one table per precision mode and the worst case per column.

    python benchmarks/precision.py [--arch wormhole_b0] [--seeds 3] [--dists normal,uniform] [--long]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import FIDELITIES
from tteqsat.frontend.reference import evaluate, random_inputs
from tteqsat.sim import simulate
from tteqsat.sim.tolerance import TOLERANCES, compare

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
EXAMPLES = ["ten_ops", "elementwise_chain", "two_matmuls", "row_softmax", "attention", "dst_pressure"]


def trace(name: str, dtype: str) -> tq.Kernel:
    path = KERNELS / f"{name}.py"
    namespace: dict = {}
    exec(compile(path.read_text().replace('DTYPE = "bf16"', f'DTYPE = "{dtype}"'), str(path), "exec"), namespace)
    return namespace["kernel"]


def streaming(name: str, dtype: str, keys: int) -> tq.Kernel:
    """The streaming kernels of tests/test_streaming.py and the acceptance logsumexp."""
    q = tq.tensor("q", (32 if keys > 4096 else 64, 64), dtype)
    k = tq.tensor("k", (keys, 64), dtype)
    s = q @ k.T * 0.125
    if name == "lse":
        m = s.max(axis=-1)
        return tq.kernel("lse", {"m": m, "lse": m + tq.log(tq.exp(s - m).sum(axis=-1))})
    v = tq.tensor("v", (keys, 64), dtype)
    return tq.kernel("attention", tq.softmax(s, axis=-1) @ v)


def cases(long: bool) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    for dtype in ("bf16", "fp32"):
        out += [(name, dtype, lambda n=name, d=dtype: (trace(n, d), "auto")) for name in EXAMPLES]
        out.append(("attention 2048 keys", dtype, lambda d=dtype: (streaming("attn", d, 2048), "streaming")))
        out.append(("max + lse 8192 keys", dtype, lambda d=dtype: (streaming("lse", d, 8192), "streaming")))
        if long:
            out.append(("attention 32768 keys", dtype, lambda d=dtype: (streaming("attn", d, 32768), "auto")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="wormhole_b0")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--dists", default="normal,uniform")
    ap.add_argument("--long", action="store_true", help="also the 32 x 32768 attention (slow)")
    args = ap.parse_args()
    dists = args.dists.split(",")
    console = Console(width=140)
    worst: dict[tuple[str, str, str], float] = {}
    rows: dict[str, list[tuple[str, str, list[str]]]] = {"exact": [], "hardware": []}
    start = time.perf_counter()
    for name, dtype, make in cases(args.long):
        kernel, form = make()
        per_mode: dict[str, list[str]] = {"exact": [], "hardware": []}
        for fidelity in FIDELITIES:
            result = tq.optimize(kernel, args.arch, form=form, overrides={"settings.math_fidelity": fidelity})
            text = result.to_mlir()
            for mode in ("exact", "hardware"):
                err = 0.0
                for dist in dists:
                    for seed in range(args.seeds):
                        inputs = random_inputs(kernel, seed, dist=dist)
                        got = simulate(text, inputs, mode).outputs
                        err = max(err, max(e.relative for e in compare(got, evaluate(kernel, inputs))))
                key = (mode, dtype, fidelity)
                worst[key] = max(worst.get(key, 0.0), err)
                per_mode[mode].append(f"{err:.2e}")
        for mode in per_mode:
            rows[mode].append((name, dtype, per_mode[mode]))
    for mode in ("exact", "hardware"):
        table = Table(title=f"{mode} precision: max over outputs, seeds 0..{args.seeds - 1} and {', '.join(dists)} "
                            f"inputs of max|sim - ref| / max|ref| ({args.arch})", title_justify="left")
        for col in ("kernel", "dtype", *FIDELITIES):
            table.add_column(col, justify="left" if col in ("kernel", "dtype") else "right")
        for name, dtype, errs in rows[mode]:
            table.add_row(name, dtype, *errs)
        for dtype in ("bf16", "fp32"):
            table.add_row("worst", dtype, *[f"{worst[(mode, dtype, f)]:.2e}" for f in FIDELITIES], style="bold")
            table.add_row("tolerance", dtype, *[f"{TOLERANCES[mode][dtype][f]:g}" for f in FIDELITIES])
        console.print(table)
    console.print(f"{time.perf_counter() - start:.0f} s on {platform.machine()}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
