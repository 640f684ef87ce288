"""The main example: flash attention derived by rewriting.

Optimizes softmax(q @ k.T * 0.125) @ v three times: a 64-row q block against 256 keys (short: the two-pass
fused form wins by cost), a 32-row q block against 32768 keys (long: only the streaming online-softmax
form fits L1, and with one work item for 64 cores the keys split over cores, each part streaming, then
kernels merging and combining the parts) and a whole layer's attention, 32 heads of 4096 x 128, over the
chip's core grid, then the same layer causal.
For the long one it prints the alternatives weighed, the derivation (the rules the result depends on) and the
schedule, writes the TTKernel MLIR, tt-metal C++ and host program of each kernel, and verifies them on the
Tensix model against numpy; for the whole layer it prints how the work spreads over the cores and verifies a
sample of them.

    python examples/flash_attention.py [--arch blackhole] [--dtype fp32] [--keys 32768] [--out out/flash_attention]
"""

import argparse
from pathlib import Path

import numpy as np
from rich.rule import Rule

import tteqsat as tq
from tteqsat.tools.console import console_for
from tteqsat.tools.explain import explain, render
from tteqsat.tools.report import chip_line


def attention(rows: int, keys: int, dtype: str) -> tq.Kernel:
    q = tq.tensor("q", (rows, 64), dtype)
    k = tq.tensor("k", (keys, 64), dtype)
    v = tq.tensor("v", (keys, 64), dtype)
    return tq.kernel("flash_attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)


def layer_attention(heads: int, seq: int, d: int, dtype: str, causal: bool = False) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (1, heads, seq, d), dtype) for n in "qkv")
    s = q @ k.mT * d ** -0.5
    if causal:  # the mask is an index function: the kernel builds its tiles and skips what it leaves dead
        return tq.kernel("causal_attention", tq.softmax(tq.where(tq.tri(seq, seq), s, -np.inf)) @ v)
    return tq.kernel("attention", tq.softmax(s) @ v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="wormhole_b0")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--keys", type=int, default=32768, help="keys of the long case (a multiple of 2048)")
    ap.add_argument("--out", default="out/flash_attention")
    args = ap.parse_args()
    console = console_for()  # the terminal's width, or unwrapped in a pipe or log

    short = tq.optimize(attention(64, 256, args.dtype), args.arch)
    console.print(Rule("short: 64 q rows x 256 keys"), width=min(console.width, 120))
    console.print(short.reason)

    console.print(Rule(f"long: 32 q rows x {args.keys} keys"), width=min(console.width, 120))
    ex = explain(attention(32, args.keys, args.dtype), args.arch)
    render(ex, console)
    result = ex.result

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for part in [result, *(result.split.after if result.split else ())]:  # split over keys: parts, merges, combine
        name = part.kernel.name
        (out / f"{name}.mlir").write_text(part.to_mlir())
        for func, text in part.to_cpp().items():
            (out / f"{func}.cpp").write_text(text)
        (out / f"{name}.host.json").write_text(part.to_host().to_json())
        console.print(f"wrote {out}/{name}.mlir, its reader/compute/writer C++ and its host program beside it")

    check = result.verify(seed=0)
    console.print(f"verified on the Tensix model in {check.precision} precision: max abs error "
                  f"{check.max_abs_err:.3g} (relative {check.max_rel_err:.3g}, tolerance {check.tolerance})")

    console.print(Rule("the whole layer: 32 heads of 4096 x 128 over the core grid"), width=min(console.width, 120))
    layer = tq.optimize(layer_attention(32, 4096, 128, args.dtype), args.arch)
    console.print(layer.reason)
    console.print(chip_line(layer))
    check = layer.verify(seed=0)  # the first and the last core (and any with an uneven share), all their items
    console.print(f"verified {check.stats['verify.items']} work items on {check.stats['verify.cores']} cores of "
                  f"{len(layer.schedule.grid.cores)} in {check.precision} precision: relative error "
                  f"{check.max_rel_err:.3g} (tolerance {check.tolerance})")

    console.print(Rule("the same layer, causal"), width=min(console.width, 120))
    causal = tq.optimize(layer_attention(32, 4096, 128, args.dtype, causal=True), args.arch)
    console.print(chip_line(causal))
    loop = causal.schedule.loop
    console.print(f"{causal.cost_cycles / layer.cost_cycles:.3f} of full attention's modeled time: each q block's "
                  "loop stops at its diagonal chunk"
                  + (" and the chunks on the diagonal compute only their live tiles" if loop and loop.ragged else "")
                  + "; no mask is read from DRAM")
    check = causal.verify(seed=0, cores=[0])  # core 0 holds the shortest and the longest q blocks of its heads
    console.print(f"verified {check.stats['verify.items']} work items on core 0 in {check.precision} precision: "
                  f"relative error {check.max_rel_err:.3g} (tolerance {check.tolerance})")


if __name__ == "__main__":
    main()
