"""The grid split as part of the schedule: which work items each core runs, and where each kernel argument's
tiles lie in its DRAM tensor for an item.

The chip model (`tteqsat.cost.chip`) chose how many cores share the items; this records the split it priced
(an even share, the remainder on the first cores) and, from the kernel's element view, the slice of each DRAM
tensor an item reads or writes, which the lowering turns into tile offsets computed from the item index.
When the chip model chose to share the whole inputs' reads (`settings.share_inputs`), the split puts each
group of cores that shares on a rectangle of the grid and gives them the row blocks of the same batch elements
(whole, or a contiguous run of an element's blocks) in lockstep (`SharePlan`).
"""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost.chip import ChipCost, sharing_rect
from tteqsat.frontend.batch import ElementView
from tteqsat.scheduling.model import GridPlan, Schedule, SharePlan, TensorLayout


def grid_plan(schedule: Schedule, view: ElementView, block: int | None, chip: ChipCost, arch: Arch) -> GridPlan:
    """The split `chip` priced, for `schedule` (the program of one work item)."""
    grid = (int(arch.num("chip.grid_cols")), int(arch.num("chip.grid_rows")))
    blocks = chip.items // view.elements
    if chip.shared > 1:
        return _shared_plan(schedule, view, block, chip, grid, blocks)
    counts = chip.per_core_items()
    firsts = [sum(counts[:n]) for n in range(len(counts))]
    return GridPlan(view.batch, blocks, block or 0, list(zip(firsts, counts, strict=True)), grid,
                    _layouts(schedule, view, block), chip.paired)


def _layouts(schedule: Schedule, view: ElementView, block: int | None) -> dict[str, TensorLayout]:
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
    return layouts


def _shared_plan(schedule: Schedule, view: ElementView, block: int | None, chip: ChipCost, grid: tuple[int, int],
                 blocks: int) -> GridPlan:
    """The split `price_shared` priced: group g (a w x h rectangle, tiled row-major from the grid's corner)
    runs its runs of `chip.share_run` consecutive row blocks (a whole batch element's, or a contiguous part
    of one's) one after another; its core i runs blocks i*per .. (i+1)*per - 1 of each run, per = run / size."""
    size = chip.shared
    rect = sharing_rect(size, *grid)
    assert rect is not None, "the chip model prices only groups that fit the grid"
    w, h, _ = rect
    across = grid[0] // w
    stride = chip.share_run or blocks
    assert blocks % stride == 0 and stride % size == 0, "the chip model prices runs that tile an element's blocks"
    per = stride // size
    cores: list[tuple[int, int]] = []
    coords: list[tuple[int, int]] = []
    groups, rects = [], []
    first_run = 0  # runs are numbered in item order: run u covers items u*stride .. u*stride + stride - 1
    for g, runs in enumerate(chip.group_runs):
        x0, y0 = (g % across) * w, (g // across) * h
        members = []
        for i in range(size):
            members.append(len(cores))
            cores.append((first_run * stride + i * per, runs * per))
            coords.append((x0 + i % w, y0 + i // w))
        groups.append(tuple(members))
        rects.append((x0, y0, x0 + w - 1, y0 + h - 1))
        first_run += runs
    share = SharePlan(tuple(groups), tuple(coords), tuple(rects))
    return GridPlan(view.batch, blocks, block or 0, cores, grid, _layouts(schedule, view, block), chip.paired,
                    run=per, share=share, stride=0 if stride == blocks else stride)
