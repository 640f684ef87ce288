"""The main example: optimize attention, show the schedule, write MLIR and C++, verify on the Tensix model.

    python examples/flash_attention.py [--arch blackhole] [--dtype fp32] [--out out/flash_attention]
"""

import argparse
from pathlib import Path

from rich.console import Console

import tteqsat as tq
from tteqsat.report import render


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="wormhole_b0")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--out", default="out/flash_attention")
    args = ap.parse_args()

    q = tq.tensor("q", (64, 64), args.dtype)
    k = tq.tensor("k", (256, 64), args.dtype)
    v = tq.tensor("v", (256, 64), args.dtype)
    kernel = tq.kernel("attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)

    result = tq.optimize(kernel, args.arch)
    console = Console()
    fired = [r for r in result.saturation.rules.values() if r.matches]
    console.print(f"[bold]rules that fired[/bold] ({len(fired)} of {len(result.saturation.rules)}): "
                  + ", ".join(f"{r.name}x{r.matches}" for r in fired))
    render(result, console)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "attention.mlir").write_text(result.to_mlir())
    for name, text in result.to_cpp().items():
        (out / f"{name}.cpp").write_text(text)
    console.print(f"wrote {out}/attention.mlir and the reader/compute/writer C++ beside it")

    check = result.verify(seed=0)
    console.print(f"verified on the Tensix model: max abs error {check.max_abs_err:.3g} "
                  f"(relative {check.max_rel_err:.3g}, tolerance {check.tolerance})")


if __name__ == "__main__":
    main()
