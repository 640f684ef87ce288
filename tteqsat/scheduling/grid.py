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

from collections.abc import Callable

from tteqsat.arch import Arch
from tteqsat.cost.chip import ChipCost, CorePipeline, GridShape, price_shared_items, rect_hops, sharing_rects
from tteqsat.frontend.batch import ElementView
from tteqsat.scheduling.model import GridPlan, Schedule, SharePlan, TensorLayout, block_order

RANKED_SIZES = (2, 4, 8)
"""Cores in a group sharing reads when its items visit different chunks: a sender and its receivers. Every
receiver takes part in every chunk its sender's item visits, its own or not (`lowering.dataflow`), so the
handshake's count of ready receivers on one semaphore is exact."""


def grid_plan(schedule: Schedule, view: ElementView, block: int | None, chip: ChipCost, arch: Arch) -> GridPlan:
    """The split `chip` priced, for `schedule` (the program of one work item)."""
    grid = (int(arch.num("chip.grid_cols")), int(arch.num("chip.grid_rows")))
    blocks = chip.items // view.elements
    if chip.shared > 1:  # ranked groups when the items differ (priced by `ranked_share`: runs of the group size)
        ranked = chip.shared if chip.share_run == chip.shared and _ranked(schedule) else 0
        return _shared_plan(schedule, view, block, chip, grid, blocks, ranked, bool(ranked))
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


def _ranked(schedule: Schedule) -> bool:
    """Whether a schedule's items differ by row block (its loop skips the chunks its mask leaves dead)."""
    return schedule.loop is not None and schedule.loop.live is not None


def nested_runs(schedule: Schedule, size: int) -> bool:
    """Whether runs of `size` consecutive row blocks have every block's chunks a prefix of the run's last
    block's (its widest, whichever core runs it: `lowering.item_index.ranked_widest`): then the run's sender
    reads every chunk any core of the group needs, and each core's CBs stand where the others' do at each chunk
    it is sent (it pops the rest unread after)."""
    loop = schedule.loop
    blocks = schedule.blocks
    if loop is None or blocks % size or blocks < size:
        return False
    for first in range(0, blocks, size):
        lo, hi = loop.range(first + size - 1)
        if any(not (a == lo and b <= hi) for a, b in map(loop.range, range(first, first + size - 1)) if a < b):
            return False
    return True


def ranked_share(grid: GridShape, schedule: Schedule, arch: Arch, items: int, paired: bool, cores: int | None,
                 page: int, handshake: Callable[[int], tuple[float, float, float]],
                 pipelines: Callable[[tuple[int, ...], int | None], CorePipeline] | None = None,
                 size: int = 2) -> ChipCost | None:
    """`schedule`'s items (row blocks that visit different chunks) over groups of `size` cores sharing
    the reads every block of an element makes alike (K and V): each block's shared bytes are its live chunks'
    of the streamed inputs that are not row-blocked, and the whole inputs'. `pipelines(blocks, hops)` is the
    pipeline of a core running those row blocks (the sender's, with its multicast `hops`)."""
    loop = schedule.loop
    assert loop is not None
    blocks = schedule.blocks
    streamed = {st.arg for st in loop.streams}
    whole = sum(a.n_tiles for n, a in enumerate(schedule.args)
                if a.role == "in" and not a.blocked and n not in streamed) * page
    chunked = sum(schedule.args[st.arg].n_tiles for st in loop.streams if not schedule.args[st.arg].blocked) * page
    rects = sharing_rects(size, grid.cols or grid.cores, grid.rows or 1)[:(cores or grid.cores) // size]
    if not rects or not chunked:
        return None
    hops = rect_hops(rects)
    reader = handshake(hops)[2]
    order = [block_order(n, blocks, paired, size, True) for n in range(items)]
    live_of = [max(0, hi - lo) / loop.trips for lo, hi in map(loop.range, range(blocks))]  # each block once
    live = [live_of[b] for b in order]
    sender = None if pipelines is None else lambda own: pipelines(tuple(sorted(order[i] for i in own)), hops)
    depth = min(schedule.chunks_held(st) for st in loop.streams if not schedule.args[st.arg].blocked)
    compute = [schedule.item_cycles(b) for b in range(blocks)]  # per row block, each block once
    moved = [schedule.item_dram_bytes(arch, b) for b in range(blocks)]
    return price_shared_items(grid, [compute[b] for b in order], [moved[b] for b in order],
                              [whole + chunked * f for f in live], blocks, size, cores, page,
                              schedule.setup_cycles, [reader * f for f in live], sender,
                              max(depth - 1, 0) * loop.trip_cycles)


def _shared_plan(schedule: Schedule, view: ElementView, block: int | None, chip: ChipCost, grid: tuple[int, int],
                 blocks: int, ranked: int = 0, alternate: bool = False) -> GridPlan:
    """The split `price_shared` priced: group g (the g-th rectangle of `cost.chip.sharing_rects`) runs its runs of
    `chip.share_run` consecutive row blocks (a whole batch element's, or a contiguous part of one's) one after
    another; its core i runs blocks i*per .. (i+1)*per - 1 of each run, per = run / size."""
    size = chip.shared
    placed = sharing_rects(size, *grid)
    assert len(placed) >= len(chip.group_runs), "the chip model prices only groups that fit the grid"
    stride = chip.share_run or blocks
    assert blocks % stride == 0 and stride % size == 0, "the chip model prices runs that tile an element's blocks"
    per = stride // size
    cores: list[tuple[int, int]] = []
    coords: list[tuple[int, int]] = []
    groups, rects = [], []
    first_run = 0  # runs are numbered in item order: run u covers items u*stride .. u*stride + stride - 1
    for (x0, y0, w, h), runs in zip(placed, chip.group_runs, strict=False):
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
                    run=per, share=share, stride=0 if stride == blocks else stride, ranked=ranked, alternate=alternate)
