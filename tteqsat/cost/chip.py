"""The chip: work items over the core grid, priced as the slowest core against shared DRAM.

A kernel over a grid is one program per core looping over its work items (batch elements times row
blocks). A core's time is what its pipeline takes at the DRAM rate it gets (`CorePipeline`, from the per-core
model `tteqsat.scheduling.timing.kernel_cycles`: the reads compute waits for before it starts, the reader's
waits for room, the writer's tail), or, for a caller without one, its items' compute or their DRAM traffic at
that rate, whichever is slower; the chip's time is its slowest core plus the launch, and never less than every
byte over the aggregate DRAM bandwidth. DRAM is shared: a core's rate is the lesser of one NoC link and its
share of the aggregate, so many cores reading at once each get less. With `settings.dram_share = "demand"` the
share follows demand: DRAM channels serve whichever cores have requests outstanding, so a core
whose pipeline reads in bursts between long computes leaves the bandwidth it does not use to the others' bursts;
the level every core reads at is the highest at which what the cores move on average fits the aggregate. This
is the mean of that arbitration (bursts that happen to coincide queue, which it does not price); "rate" (the
default) holds each core to an equal share while it streams, the other extreme, right when every core reads all
the time or the cores' bursts coincide.

The aggregate is what many readers of tile-sized pages sustain, not the datasheet peak: each DRAM channel's
endpoint accepts one read request per `dram_request_cycles` per NoC (tt-metal #55898), so pages smaller
than a channel moves in that time cannot fill it, and readers spread over the grid sustain a fraction of
the peak (`dram_sustained`, from a many-core decode measurement). The calibration (benchmarks/
calibration.py) checks this against whole SDPA runs on Blackhole.

Work items may differ (a causal q chunk visits fewer keys than the last one) and a caller may fix which
core runs which (`price_cores`, as tt-metal's SDPA factory does); `price_grid` prices equal items split
evenly. Bytes every item of a group reads alike (K and V of one head, read by each q block) may be shared
by a rectangle of cores that runs the group's items, or a contiguous run of them, in lockstep (`price_shared`,
`share=True`): one core reads them from DRAM and multicasts them over the NoC to the others, as the emitted
readers do (`tteqsat.lowering.dataflow`). Each core still receives them over its NoC link; only the DRAM
traffic shrinks. A receiver computes each shared chunk when its multicast lands, so it runs at its sender's pace
(`CoreLoad.lead`): the timing simulator, which runs a group's cores together, ends them within a percent."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from tteqsat.arch import Arch

BOUNDS = ("compute", "dram", "noc")


@dataclass(frozen=True)
class GridShape:
    """The cores a kernel may use, and the chip's shared data paths."""

    cores: int                       # Tensix cores of the compute grid
    clock_ghz: float
    dram_bytes_per_cycle: float      # aggregate peak over every DRAM channel
    noc_bytes_per_cycle: float       # one NoC link: the most one core's reads can move per cycle
    dram_channels: int = 1
    dram_request_cycles: float = 0.0  # a channel endpoint takes one read request per this many cycles per NoC
    dram_sustained: float = 1.0      # the fraction of the peak many readers of tile pages sustain
    launch_cycles: float = 0.0       # once per run: launch, the first reads, the tail
    cols: int = 0                    # the grid's columns and rows (where a rectangle of cores fits); 0: unknown
    rows: int = 0
    demand_share: bool = False       # DRAM shared by the cores' mean demand (settings.dram_share "demand"), or
    #                                  an equal share of the aggregate each while it streams ("rate")

    @classmethod
    def of(cls, arch: Arch) -> GridShape:
        clock = arch.clock_ghz
        return cls(int(arch.num("chip.grid_rows") * arch.num("chip.grid_cols")), clock,
                   arch.num("dram.total_gb_per_s") / clock, arch.num("noc.bytes_per_cycle"),
                   int(arch.num("dram.controllers")), arch.num("dram.request_cycles"),
                   arch.num("dram.sustained_fraction"), arch.num("chip.launch_cycles"),
                   int(arch.num("chip.grid_cols")), int(arch.num("chip.grid_rows")), arch.dram_share == "demand")

    def dram_rate(self, page_bytes: int = 0, nocs: int = 1) -> float:
        """Aggregate DRAM bytes per cycle that readers of `page_bytes` pages on `nocs` NoCs sustain: each
        channel moves the lesser of its share of the peak and one page per request interval per NoC."""
        per_channel = self.dram_bytes_per_cycle / self.dram_channels
        if page_bytes > 0 and self.dram_request_cycles > 0:
            per_channel = min(per_channel, nocs * page_bytes / self.dram_request_cycles)
        return self.dram_channels * per_channel * self.dram_sustained


@dataclass(frozen=True, eq=False)
class CorePipeline:
    """A core's cycles for its work items against the DRAM rate its reader and writer get, as the per-core
    pipeline prices them (`tteqsat.scheduling.timing.rate_pipeline`: the fill before compute's first wait is
    met, the reader's waits for room, the writer's tail). `sample(items, rate)` prices one, two or three items at
    one of `rates` (ascending; the last is the most one core can take, one link or one controller); samples are
    taken when first needed and kept. Between samples the cycles are linear in 1 / rate: the pipeline's time is
    the longest of its paths, each a sum of fixed cycles and bytes over the rate, so convex and piecewise linear
    in 1 / rate. Above the last rate they are constant; below the first the first segment goes on (the steepest
    path, all reads, binds there). More items add the third's increment each (the steady state, as the pipeline
    extrapolates them). Compared by identity: one object per core program."""

    sample: Callable[[int, float], float]
    rates: tuple[float, ...]
    _known: dict[tuple[int, float], float] = field(default_factory=dict, repr=False)
    _cycles: dict[tuple[int, float], float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.rates) < 2 or self.rates[0] <= 0 or \
                any(b <= a for a, b in zip(self.rates, self.rates[1:], strict=False)):
            raise ValueError("a core pipeline needs at least two ascending positive rates")

    @property
    def most_rate(self) -> float:
        """The fastest rate the core can take (the last sample)."""
        return self.rates[-1]

    def cycles(self, items: int, rate: float) -> float:
        """`items` items at `rate` bytes per cycle (kept: the chip model asks again at every step of its DRAM
        sharing)."""
        key = (items, rate)
        known = self._cycles.get(key)
        if known is None:
            known = self._cycles[key] = self._interpolated(items, rate)
        return known

    def _interpolated(self, items: int, rate: float) -> float:
        if items <= 0:
            return 0.0
        at = self._at(min(items, 3), rate)
        return at if items <= 3 else at + (items - 3) * (at - self._at(2, rate))

    def _at(self, items: int, rate: float) -> float:
        """The samples of `items` items read at `rate`, linearly in 1 / rate."""
        if rate >= self.rates[-1]:
            return self._sampled(items, len(self.rates) - 1)
        k = max(1, bisect_right(self.rates, rate))  # rates[k - 1] <= rate < rates[k], or the first segment
        lo, hi = self._sampled(items, k - 1), self._sampled(items, k)
        x0, x1, x = 1 / self.rates[k - 1], 1 / self.rates[k], 1 / rate
        return hi + (lo - hi) * (x - x1) / (x0 - x1)

    def _sampled(self, items: int, index: int) -> float:
        return self.known(items, self.rates[index])

    def known(self, items: int, rate: float) -> float:
        """`sample(items, rate)`, taken once and kept (a sample runs the per-core pipeline: milliseconds)."""
        key = (items, rate)
        if key not in self._known:
            self._known[key] = self.sample(items, rate)
        return self._known[key]


@dataclass(frozen=True)
class CoreLoad:
    """What one core runs: its work items' compute, and the bytes it takes from DRAM and over its NoC link."""

    items: int
    compute_cycles: float
    dram_bytes: float
    noc_bytes: float | None = None  # bytes through the core's link; its DRAM bytes unless shared reads arrive
    sync_cycles: float = 0.0        # its reader's time moving no DRAM bytes: shared blocks' multicast handshakes
    pipeline: CorePipeline | None = None  # its time at a DRAM rate as the per-core pipeline prices it; None: the
    #                                       slower of its compute and its bytes at that rate (no fill, no waits)
    lead: CoreLoad | None = None  # a receiver of a sharing group: its sender's load, whose multicasts pace it

    def __post_init__(self) -> None:
        if self.lead is not None and (self.pipeline is not None or self.lead.lead is not None):
            raise ValueError("a receiver of a sharing group is paced by its sender's pipeline: give it no pipeline "
                             "of its own, and a sender that is not a receiver")


@dataclass(frozen=True)
class ChipCost:
    """What the grid costs: the split, the slowest core, and which resource bounds it."""

    items: int                  # work items (batch elements x row blocks)
    cores: int                  # cores that get work
    items_per_core: int         # on the slowest core
    item_cycles: float          # compute of one item on the slowest core (its mean)
    item_bytes: int             # DRAM bytes one item reads and writes, unshared
    core_compute_cycles: float  # the slowest core's compute
    core_data_cycles: float     # the slowest core's traffic at its DRAM share or over its NoC link
    dram_floor_cycles: float    # every byte over the aggregate DRAM bandwidth
    cycles: float               # the chip's time: the launch and the slowest core (or the floor)
    bound_by: str               # compute | dram | noc
    clock_ghz: float
    core_items: tuple[int, ...] = ()  # items of each core that gets work, in core order
    total_dram_bytes: int = 0   # what DRAM moves (shared reads counted once per group of cores)
    launch_cycles: float = 0.0
    shared: int = 1             # cores that share one DRAM read of the shared bytes (1: none)
    paired: bool = False        # items in paired row-block order (GridPlan.paired)
    group_runs: tuple[int, ...] = ()  # shared: runs of `share_run` items each group of `shared` cores runs, in order
    share_run: int = 0          # shared: consecutive items of one batch element a group runs in lockstep

    @property
    def microseconds(self) -> float:
        return self.cycles / (self.clock_ghz * 1e3)

    @property
    def dram_bytes(self) -> int:
        return self.total_dram_bytes

    def per_core_items(self) -> list[int]:
        """Items of each core that gets work."""
        return list(self.core_items)


def price_cores(grid: GridShape, loads: Sequence[CoreLoad], page_bytes: int = 0, nocs: int = 1,
                item_bytes: int = 0, shared: int = 1) -> ChipCost:
    """The chip running `loads` (one per core that gets work, in core order).

    DRAM is shared work-conservingly: while cores stream, the aggregate rate for `page_bytes` pages on `nocs`
    NoCs is split among those still reading, none faster than it can use (a load without a pipeline: its bytes
    over its compute, or over its NoC link's time, as a reader cannot run further ahead of compute than its
    buffers; with one: the fastest rate its pipeline takes), so a core that finishes early leaves its share to
    the rest. With `grid.demand_share` a pipeline core reading at rate r moves its bytes over its pipeline's
    time at r on average, and the common rate is the highest whose mean demand fits the aggregate; without, the
    rates themselves are split max-min fairly (a core holds its share whether it reads or computes). A load
    without a pipeline ends when its compute and its bytes are both done; one with a pipeline
    (`CoreLoad.pipeline`) advances at each moment by the share of its work its pipeline does per cycle at the
    rate it then gets (fill and waits included). The chip ends when its slowest core ends, plus the launch."""
    active = [ld for ld in loads if ld.items > 0]
    if not active:
        raise ValueError("a grid needs at least one work item")
    aggregate = grid.dram_rate(page_bytes, nocs)
    link = grid.noc_bytes_per_cycle
    groups: dict[_Group, int] = {}
    for ld in active:
        key = _group(ld)
        groups[key] = groups.get(key, 0) + 1
    done = _share_dram(groups, aggregate, link, grid.demand_share)
    # ties: a sender before the receivers it paces, then the first such group (dict order)
    slowest_key = max(groups, key=lambda k: (done[k], k[6] is None, k[:5]))
    compute, dram, noc, sync, items, pipeline, lead = slowest_key
    if lead is not None:  # a receiver its own bytes made slower than its sender
        data_cycles = core = done[slowest_key]
        bound = "noc" if noc / link + sync >= core * (1 - 1e-9) else "dram"
    elif pipeline is not None:
        data_cycles = core = done[slowest_key]
        alone = pipeline.cycles(items, pipeline.most_rate)
        bound = "compute" if core <= alone * (1 + SHARE_SLOWDOWN) else "dram"
    else:
        data_cycles = max(noc / link + sync, done[slowest_key] if dram else 0.0)
        core = max(compute, data_cycles)
        if compute >= data_cycles * (1 - 1e-9):
            bound = "compute"
        else:
            bound = "noc" if noc / link + sync >= data_cycles * (1 - 1e-9) else "dram"
    total = sum(ld.dram_bytes for ld in active)
    floor = total / aggregate
    slowest = next(ld for ld in active if ld.compute_cycles == compute and float(ld.dram_bytes) == dram)
    return ChipCost(sum(ld.items for ld in active), len(active), slowest.items, compute / slowest.items, item_bytes,
                    compute, data_cycles, floor, grid.launch_cycles + core, bound, grid.clock_ghz,
                    tuple(ld.items for ld in active), round(total), grid.launch_cycles, shared)


SHARE_SLOWDOWN = 0.01
"""A pipeline core is bound by DRAM when its share makes it more than this much slower than with DRAM to itself:
a pipeline's time falls smoothly as its rate rises (its fill's reads), so a sub-percent difference is no bound."""

_Group = tuple[float, float, float, float, int, "CorePipeline | None", "_Group | None"]
"""Identical cores: compute, DRAM bytes, NoC bytes, sync cycles, items (with a pipeline; else 0), pipeline, and a
receiver's sender's group (else None)."""


def _group(ld: CoreLoad) -> _Group:
    """The key of the cores identical to `ld`."""
    noc = ld.dram_bytes if ld.noc_bytes is None else ld.noc_bytes
    return (ld.compute_cycles, float(ld.dram_bytes), float(noc), ld.sync_cycles,
            ld.items if ld.pipeline is not None else 0, ld.pipeline, None if ld.lead is None else _group(ld.lead))


def _share_dram(groups: dict[_Group, int], aggregate: float, link: float, by_demand: bool = False
                ) -> dict[_Group, float]:
    """When each group of identical cores (-> count) ends, DRAM shared max-min fairly among the cores still reading
    (`by_demand`: at the common rate their mean demand allows, `_demand_fill`). A core without a pipeline moves its
    bytes at its rate, capped at its bytes over its time without contention; its reader also spends its sync cycles
    moving no DRAM bytes, so it ends that much after its last byte. A core with a pipeline does, per cycle at rate
    r, 1 / (its pipeline's cycles at r) of its work, capped at the fastest rate its pipeline takes: its reads wait
    on compute and compute on its reads as the pipeline has them, and a later rate change speeds up or slows down
    what is left alike. A receiver of a sharing group (its sender's group in its key) computes each chunk when its
    sender's multicast lands, so it ends no earlier than its sender; it moves only its own bytes, spread over the
    time its sender's pipeline takes alone (its compute is its sender's pipeline's when the sender has one: the
    group runs in lockstep), and ends later than its sender only when those bytes at its share take longer."""
    keys = list(groups)  # the groups by position: their keys (nested tuples) are slow to hash at every step
    end: dict[int, float] = {}
    left: dict[int, float] = {}  # bytes (no pipeline) or the share of the work (pipeline) still to do
    cap: dict[int, float] = {}
    for i, key in enumerate(keys):
        compute, dram, noc, sync, items, pipeline, lead = key
        if lead is not None:
            paced = _alone(lead, link)
            alone = max(paced if lead[5] is not None else compute, noc / link + sync)
            if dram <= 0 or alone <= 0:
                end[i] = alone
            else:
                left[i], cap[i] = dram, dram / max(alone - sync, 1e-9)
            continue
        if pipeline is not None:
            if dram <= 0 or pipeline.cycles(items, pipeline.most_rate) <= 0:
                end[i] = pipeline.cycles(items, pipeline.most_rate)
            else:
                left[i], cap[i] = 1.0, pipeline.most_rate
            continue
        alone = max(compute, noc / link + sync)
        if dram <= 0 or alone <= 0:
            end[i] = alone
        else:
            left[i], cap[i] = dram, dram / max(alone - sync, 1e-9)

    pipes = [k[5] for k in keys]
    counts = [k[4] for k in keys]

    def demand(i: int, rate: float) -> float:  # bytes per cycle a core reading at `rate` moves on average
        pipeline = keys[i][5]
        return min(rate, keys[i][1] / pipeline.cycles(keys[i][4], rate)) if pipeline is not None else rate

    now = 0.0
    while left:
        if by_demand:
            rates = _demand_fill({i: cap[i] for i in left}, {i: groups[keys[i]] for i in left}, aggregate, demand)
        else:
            rates = _water_fill({i: cap[i] for i in left}, {i: groups[keys[i]] for i in left}, aggregate)
        # cycles each group needs to finish at its rate; the first to finish ends the step
        step = min(left[i] * pipes[i].cycles(counts[i], rates[i]) if pipes[i] is not None else left[i] / rates[i]
                   for i in left)
        now += step
        for i in list(left):
            pipeline = pipes[i]
            if pipeline is not None:
                left[i] -= step / pipeline.cycles(counts[i], rates[i])
                if left[i] <= 1e-9:
                    end[i] = now
                    del left[i]
            else:
                left[i] -= rates[i] * step
                if left[i] <= 1e-9 * max(1.0, keys[i][1]):
                    end[i] = now + keys[i][3]
                    del left[i]
    done = {keys[i]: t for i, t in end.items()}
    for k in done:
        if k[6] is not None:  # in lockstep with its sender
            done[k] = max(done[k], done[k[6]])
    return done


def _alone(key: _Group, link: float) -> float:
    """The cycles of a group's core with DRAM to itself (its pipeline at the fastest rate it takes)."""
    compute, _, noc, sync, items, pipeline, _ = key
    return pipeline.cycles(items, pipeline.most_rate) if pipeline is not None else max(compute, noc / link + sync)


def _demand_fill(caps: dict, counts: dict, total: float, demand: Callable) -> dict:
    """Rates min(cap, level) at the highest common level whose mean demand (`demand(key, rate)`: what a core
    reading at that rate when it reads moves per cycle on average, at most that rate) fits in `total`: never
    below the level of an equal share each (`_water_fill`'s, where every core reads all the time)."""
    def used(level: float) -> float:
        return sum(counts[k] * demand(k, min(caps[k], level)) for k in caps)

    top = max(caps.values())
    if used(top) <= total:
        return dict(caps)
    lo, hi = total / sum(counts.values()), top
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if used(mid) <= total else (lo, mid)
    return {k: min(caps[k], lo) for k in caps}


def _water_fill(caps: dict, counts: dict, total: float) -> dict:
    """Max-min fair rates: every core gets min(its cap, a common level) and the rates sum to `total` unless
    every core is at its cap."""
    rates = {}
    remaining, cores = total, sum(counts.values())
    for key in sorted(caps, key=lambda k: caps[k]):
        level = remaining / cores
        rates[key] = min(caps[key], level)
        remaining -= rates[key] * counts[key]
        cores -= counts[key]
    return rates


def price_grid(grid: GridShape, items: int, item_cycles: float, item_bytes: int, cores: int | None = None,
               fixed_cycles: float = 0.0, page_bytes: int = 0, shared_bytes: int = 0, group_items: int = 0,
               share: bool = False, handshake: Callable[[int], tuple[float, float, float]] | None = None,
               pipeline: Callable[[int | None], CorePipeline] | None = None) -> ChipCost:
    """The cheapest even split of `items` equal items over at most `grid.cores` cores (or exactly `cores`);
    `fixed_cycles` is paid once per core (setup before its first item). Fewer cores win only when they are
    not slower: ties go to fewer cores, which leaves DRAM bandwidth to the rest.

    `shared_bytes` of each item's `item_bytes` are read alike by every item of its group of `group_items`
    consecutive items (K and V by the q blocks of one head); with `share`, splits where a rectangle of cores
    runs a contiguous run of a group's items in lockstep are priced too (`price_shared`: one core reads the
    shared bytes and multicasts them; every group size, run length and group count that fits); the faster
    wins, and on a tie the one that moves fewer DRAM bytes (at most `cores` cores then). `handshake(hops)` is what
    sharing adds (what compute waits for once per core and per item, what the reader spends per item), its shared
    blocks' multicast handshakes with the farthest receiver `hops` NoC hops from the sender
    (`tteqsat.scheduling.timing.share_handshake`); none: nothing. `pipeline(hops)` is a core's pipeline
    (`CoreLoad.pipeline`: its cycles against its DRAM rate), alone (None) or as the sender of a sharing group whose
    farthest receiver is `hops` hops away (`tteqsat.scheduling.timing.rate_pipeline`), which paces its receivers;
    none: each core the slower of its compute and its bytes."""
    if items < 1:
        raise ValueError("a grid needs at least one work item")
    counts = [cores] if cores is not None else range(1, min(items, grid.cores) + 1)
    alone = pipeline(None) if pipeline is not None else None
    best = _cheapest(_even(grid, items, item_cycles, item_bytes, c, fixed_cycles, page_bytes, alone) for c in counts)
    if share and shared_bytes and group_items > 1:
        for size in range(2, group_items + 1):
            rects = sharing_rects(size, grid.cols or grid.cores, grid.rows or 1)
            if group_items % size or not rects:
                continue
            for run in range(size, group_items + 1, size):  # a group's run of an element's items: size | run | all
                if group_items % run:
                    continue
                most = min(items // run, (cores or grid.cores) // size, len(rects))
                if most < 1:
                    continue
                hops = rect_hops(rects[:most])
                fill, exposed, sync = handshake(hops) if handshake is not None else (0.0,) * 3
                sender = pipeline(hops) if pipeline is not None else None
                for groups in range(1, most + 1):
                    cost = price_shared(grid, items, item_cycles + exposed, item_bytes, size, groups,
                                        fixed_cycles + fill, page_bytes, shared_bytes, group_items, run, sync,
                                        sender)
                    faster = cost.cycles < best.cycles * (1 - 1e-9)
                    if faster or cost.cycles <= best.cycles * (1 + 1e-9) and cost.dram_bytes < best.dram_bytes:
                        best = cost
    return best


Rect = tuple[int, int, int, int]
"""A sharing group's cores: (x0, y0, width, height) on the grid."""


def sharing_rects(size: int, cols: int, rows: int) -> tuple[Rect, ...]:
    """Rectangles of `size` cores for sharing groups on a `cols` x `rows` grid (NoC multicast reaches a
    rectangle): one shape tiled row-major from the corner, then the strips it leaves on the right and at the
    bottom tiled with whichever shape fits most there (Blackhole's 13 x 10 grid holds 30 groups of 4 as 2 x 2
    or 4 x 1, and two more as 1 x 4 in its last column). The tiling with the most rectangles; of those, the one
    whose main shape covers most of them, then the widest; empty when no rectangle of `size` fits."""
    def shapes(width: int, height: int) -> list[tuple[int, int]]:
        return [(size // h, h) for h in range(1, height + 1) if not size % h and size // h <= width]

    def tile(x0: int, y0: int, width: int, height: int, w: int, h: int) -> list[Rect]:
        return [(x0 + i * w, y0 + j * h, w, h) for j in range(height // h) for i in range(width // w)]

    def strip(x0: int, y0: int, width: int, height: int) -> list[Rect]:
        return max((tile(x0, y0, width, height, w, h) for w, h in shapes(width, height)), key=len, default=[])

    best: tuple[tuple[int, int, int], list[Rect]] = ((0, 0, 0), [])
    for w, h in shapes(cols, rows):
        main_w, main_h = cols // w * w, rows // h * h
        main = tile(0, 0, cols, rows, w, h)
        rects = main + strip(main_w, 0, cols - main_w, rows) + strip(0, main_h, main_w, rows - main_h)
        key = (len(rects), len(main), w)  # the most groups; of those, one shape where it can be, the widest
        if key > best[0]:
            best = (key, rects)
    return tuple(best[1])


def rect_hops(rects: Sequence[Rect]) -> int:
    """NoC hops from a group's sender (its rectangle's corner) to its farthest core, the largest over `rects`."""
    return max(w + h - 2 for _, _, w, h in rects)


def price_shared(grid: GridShape, items: int, item_cycles: float, item_bytes: int, size: int, groups: int,
                 fixed_cycles: float, page_bytes: int, shared_bytes: int, group_items: int, run: int = 0,
                 sync_cycles: float = 0.0, sender: CorePipeline | None = None) -> ChipCost:
    """`groups` groups of `size` cores sharing the bytes every item of a batch element reads alike (its
    `group_items` items). The items split into runs of `run` consecutive items of one element (`group_items`,
    whole elements, by default; `size` | `run` | `group_items`), spread evenly over the groups: every core of a
    group runs `run / size` consecutive items of each of its group's runs, in lockstep with the others, so at
    each step they read the same shared chunk. A run shorter than an element lets more groups work than there
    are elements. The group's first core (the sender) reads it from DRAM and multicasts it over the NoC to the
    rest: the sender moves every byte of its items from DRAM, a receiver only its own (`item_bytes -
    shared_bytes`); every core still takes all of them through its NoC link. `sync_cycles` per item is what the
    multicast handshake adds to every core's reader (the group runs in lockstep, at its sender's pace). `sender`:
    the sender's pipeline (`CoreLoad.pipeline`, its reads and their handshakes included); the receivers
    (`CoreLoad.lead`), which read only their own bytes and compute each chunk when the sender's multicast lands,
    take the sender's time, or longer where their own bytes at their DRAM share take longer."""
    run = run or group_items
    if run % size or group_items % run:
        raise ValueError(f"a group of {size} cores over runs of {run} items of {group_items}-item elements: "
                         "the group size must divide the run and the run the element's items")
    per_core = run // size
    base, extra = divmod(items // run, groups)
    per_group = tuple(base + (1 if g < extra else 0) for g in range(groups))
    loads: list[CoreLoad] = []
    for runs in per_group:
        n = runs * per_core
        lead = CoreLoad(n, fixed_cycles + n * item_cycles, n * item_bytes, n * item_bytes, n * sync_cycles, sender)
        loads.append(lead)
        loads += [CoreLoad(n, fixed_cycles + n * item_cycles, n * (item_bytes - shared_bytes), n * item_bytes,
                           n * sync_cycles, lead=lead)] * (size - 1)
    cost = price_cores(grid, loads, page_bytes, item_bytes=item_bytes, shared=size)
    return replace(cost, group_runs=per_group, share_run=run)


def price_shared_items(grid: GridShape, item_cycles: Sequence[float], item_bytes: Sequence[float],
                       shared_bytes: Sequence[float], group_items: int, size: int = 2, cores: int | None = None,
                       page_bytes: int = 0, fixed_cycles: float = 0.0, sync_cycles: Sequence[float] = (),
                       sender: Callable[[Sequence[int]], CorePipeline] | None = None,
                       slack_cycles: float = 0.0) -> ChipCost | None:
    """Like `price_shared` for items that differ (a causal mask gives later q blocks more chunks): runs of
    `size` consecutive items of one batch element (`group_items` each) go to groups of `size` cores, core i of
    a group taking item i of each of its runs. The group's sender (core 0) reads the chunks of each run's widest
    item (the most shared bytes: every other item's chunks are a prefix of them) and multicasts each one to all
    the group's cores, which pop those their own items do not visit. The sender moves from DRAM its items'
    unshared bytes and every run's widest shared ones, a receiver only its items' unshared ones; through its NoC
    link each core takes its own unshared bytes and every shared byte the sender moves. `sync_cycles` per item
    is what the multicast handshakes add to the reader (the widest item's, which every core takes part in).

    A group is not in lockstep item by item: a core whose item visits fewer chunks pops the rest as they land
    and starts its next item while the others finish, as far as its CBs let the stream run ahead of the
    slowest core (`slack_cycles`: the compute of the chunks a stream's CB holds beyond the one in use). So a
    core's next item starts when its own ends or `slack_cycles` before the group's slowest core ends this one,
    whichever is later (`_group_ends`); with no slack every run takes its slowest item's time. The item order
    (`block_order`'s alternate runs) lets cores take the dearer items in turn, so their sums come out alike.
    `sender(indices)` is the pipeline of a core running those items (`CoreLoad.pipeline`, as `price_shared`'s):
    the group's slowest core's items, with the waits the stream imposes on it spread over them; the receivers
    are paced by it (`CoreLoad.lead`). Every group count is priced without it, the cheapest and the most groups
    again with it. None when no group fits the grid."""
    items = len(item_cycles)
    rects = sharing_rects(size, grid.cols or grid.cores, grid.rows or 1)
    if items % size or group_items % size or not rects or size < 2:
        return None
    sync = list(sync_cycles) or [0.0] * items
    runs = items // size
    widest = [max(range(u * size, u * size + size), key=lambda n: (shared_bytes[n], -n)) for u in range(runs)]
    most = min(runs, (cores or grid.cores) // size, len(rects))
    if most < 1:
        return None

    def priced(groups: int, with_pipeline: bool) -> ChipCost:
        base, extra = divmod(runs, groups)
        per_group = tuple(base + (1 if g < extra else 0) for g in range(groups))
        loads: list[CoreLoad] = []
        first = 0
        for count in per_group:
            span = range(first, first + count)
            ends = _group_ends([[item_cycles[u * size + i] for i in range(size)] for u in span], slack_cycles)
            paced = fixed_cycles + max(ends)
            handshakes = sum(sync[widest[u]] for u in span)
            sent = sum(shared_bytes[widest[u]] for u in span)  # every core takes all its sender multicasts
            lead = None
            for i in range(size):
                own = [u * size + i for u in span]
                unshared = sum(item_bytes[n] - shared_bytes[n] for n in own)
                if i == 0:
                    pipeline = None
                    if with_pipeline and sender is not None:
                        slowest = max(range(size), key=lambda c: (ends[c], -c))
                        alone = sum(item_cycles[u * size + slowest] for u in span)
                        pipeline = _with_waits(sender([u * size + slowest for u in span]),
                                               (ends[slowest] - alone) / count)
                    lead = CoreLoad(count, paced, unshared + sent, unshared + sent, handshakes, pipeline)
                    loads.append(lead)
                else:
                    loads.append(CoreLoad(count, paced, unshared, unshared + sent, handshakes, lead=lead))
            first += count
        cost = price_cores(grid, loads, page_bytes, item_bytes=round(sum(item_bytes) / items), shared=size)
        return replace(cost, group_runs=per_group, share_run=size)

    best = _cheapest(priced(g, False) for g in range(1, most + 1))
    if sender is None:
        return best
    return _cheapest(priced(g, True) for g in sorted({len(best.group_runs), most}))


def _group_ends(runs: Sequence[Sequence[float]], slack: float) -> list[float]:
    """When each core of a sharing group ends its items, `runs[u][i]` the compute of core i's item in run u: a
    core starts run u + 1 when it ends run u, but no sooner than `slack` before the group's slowest core ends
    run u (the shared stream runs at most that far ahead of its slowest consumer)."""
    ends = [0.0] * len(runs[0]) if runs else []
    for work in runs:
        last = max(ends)
        ends = [max(end, last - slack) + w for end, w in zip(ends, work, strict=True)]
    return ends


def _with_waits(pipeline: CorePipeline, per_item: float) -> CorePipeline:
    """`pipeline` with `per_item` cycles of waiting added to each item (none: itself)."""
    if per_item <= 1e-9:
        return pipeline
    return CorePipeline(lambda n, rate: pipeline.known(n, rate) + n * per_item, pipeline.rates)


def price_items(grid: GridShape, item_cycles: Sequence[float], item_bytes: Sequence[float], cores: int | None = None,
                page_bytes: int = 0, fixed_cycles: float = 0.0,
                pipeline: Callable[[Sequence[int]], CorePipeline] | None = None) -> ChipCost:
    """Like `price_grid` for items that differ (a causal mask gives later q blocks more keys): each core gets
    a contiguous run of items, as many as under an even split, and its load is theirs summed (and
    `fixed_cycles` once). `pipeline(indices)` is the pipeline of a core running those items (`CoreLoad.pipeline`);
    each core count is priced without it, and the cheapest count and the most cores again with it (a pipeline
    is priced per distinct set of items, so not at every count)."""
    items = len(item_cycles)
    if items < 1:
        raise ValueError("a grid needs at least one work item")
    counts = [cores] if cores is not None else list(range(1, min(items, grid.cores) + 1))
    mean_bytes = round(sum(item_bytes) / items)

    def priced(c: int, with_pipeline: bool) -> ChipCost:
        base, extra = divmod(items, c)
        loads, first = [], 0
        for n in (base + (1 if k < extra else 0) for k in range(c)):
            if n:
                run = range(first, first + n)
                loads.append(CoreLoad(n, fixed_cycles + sum(item_cycles[first:first + n]),
                                      sum(item_bytes[first:first + n]),
                                      pipeline=pipeline(run) if with_pipeline and pipeline is not None else None))
            first += n
        return price_cores(grid, loads, page_bytes, item_bytes=mean_bytes)

    best = _cheapest(priced(c, False) for c in counts)
    if pipeline is None:
        return best
    return _cheapest(priced(c, True) for c in sorted({best.cores, counts[-1]}))


def _cheapest(costs: Iterable[ChipCost]) -> ChipCost:
    """The first of the cheapest (a later one wins only when it is cheaper by more than rounding)."""
    best: ChipCost | None = None
    for cost in costs:
        if best is None or cost.cycles < best.cycles * (1 - 1e-9):
            best = cost
    assert best is not None
    return best


def _even(grid: GridShape, items: int, item_cycles: float, item_bytes: int, cores: int, fixed_cycles: float,
          page_bytes: int, pipeline: CorePipeline | None = None) -> ChipCost:
    base, extra = divmod(items, cores)
    counts = [base + (1 if c < extra else 0) for c in range(cores)]
    loads = [CoreLoad(n, fixed_cycles + n * item_cycles, n * item_bytes, pipeline=pipeline) for n in counts if n]
    return price_cores(grid, loads, page_bytes, item_bytes=item_bytes)
