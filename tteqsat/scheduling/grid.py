"""The grid split as part of the schedule: which work items each core runs, and where each kernel argument's
tiles lie in its DRAM tensor for an item.

The chip model (`tteqsat.cost.chip`) chose how many cores share the items; this records the split it priced
(an even share, the remainder on the first cores) and, from the kernel's element view, the slice of each DRAM
tensor an item reads or writes, which the lowering turns into tile offsets computed from the item index.
"""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost.chip import ChipCost
from tteqsat.frontend.batch import ElementView
from tteqsat.scheduling.model import GridPlan, Schedule, TensorLayout


def grid_plan(schedule: Schedule, view: ElementView, block: int | None, chip: ChipCost, arch: Arch) -> GridPlan:
    """The split `chip` priced, for `schedule` (the program of one work item)."""
    counts = chip.per_core_items()
    firsts = [sum(counts[:n]) for n in range(len(counts))]
    sources = {e.name: e for e in view.inputs}
    outputs = dict(view.kernel.outputs)
    layouts: dict[str, TensorLayout] = {}
    for arg in schedule.args:
        if arg.role == "in":
            src = sources[arg.name]
            rows, cols = next(n.shape for n in view.kernel.inputs if n.attr("name") == arg.name)
            axes = tuple((-1, a.index) if a.kernel_axis is None else (a.kernel_axis, a.divisor) for a in src.axes)
            layouts[arg.name] = TensorLayout(src.tensor, src.batch + (rows, cols), axes, arg.blocked)
        else:
            node = outputs[arg.name]
            identity = tuple((i, 1) for i in range(len(view.batch)))
            layouts[arg.name] = TensorLayout(arg.name, view.batch + node.shape, identity, block is not None)
    grid = (int(arch.num("chip.grid_cols")), int(arch.num("chip.grid_rows")))
    return GridPlan(view.batch, chip.items // view.elements, block or 0, list(zip(firsts, counts, strict=True)),
                    grid, layouts, chip.paired)
