"""A cost model of your own in a few lines: here the packer is ten times slower than measured.

Packing a value to a CB is what splitting a DST section costs, so with a slow packer the optimizer keeps
more values in DST and fuses into fewer sections. The script prints both chosen fused schedules (the form
fixed, so their sections compare), and prices the default schedule under the custom model to show the new
choice really is cheaper there. Run:

    python examples/custom_cost_model.py [examples/kernels/elementwise_chain.py] [wormhole_b0]
"""

from __future__ import annotations

import sys
from pathlib import Path

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import Engines, TensixCostModel
from tteqsat.frontend.loader import load_kernel
from tteqsat.scheduling.build import build_schedule


class SlowPacker(TensixCostModel):
    """Like the default model, but every pack to a CB takes 10x the measured packer cycles."""

    def pack_tile(self) -> Engines:
        return Engines(pack=10 * self.pack)


def show(title: str, result: tq.Result) -> None:
    print(f"{title}: {result.cost_cycles:,.0f} modeled cycles, {len(result.schedule.sections)} sections")
    for sec in result.schedule.sections:
        ops = " -> ".join(op.op if op.kind in ("fpu", "sfpu", "sfpu2", "reduce", "bcast") else op.kind
                          for op in sec.ops)
        print(f"  section {sec.index}: {sec.grid[0]}x{sec.grid[1]} tiles, {sec.slots} DST slots, "
              f"{len(sec.packs)} packs: {ops}")


def main() -> None:
    here = Path(__file__).resolve().parent
    kernel = load_kernel(sys.argv[1] if len(sys.argv) > 1 else str(here / "kernels" / "elementwise_chain.py"))
    arch = load_arch(sys.argv[2] if len(sys.argv) > 2 else "wormhole_b0")
    model = SlowPacker(arch)
    default = tq.optimize(kernel, arch, form="fused")
    custom = tq.optimize(kernel, arch, cost_model=model, form="fused")
    show("default model", default)
    show("slow packer", custom)
    before = build_schedule(default.program, arch, model).cost_cycles
    print(f"the default schedule under the slow-packer model: {before:,.0f} cycles; "
          f"the one chosen for it: {custom.cost_cycles:,.0f}")
    custom.verify()  # a different schedule, still the same kernel
    print("the slow-packer schedule verifies on the simulator")


if __name__ == "__main__":
    main()
