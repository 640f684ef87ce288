"""The chip: work items over the core grid, priced as the slowest core against shared DRAM.

A kernel over a grid is one program per core looping over its work items (batch elements times row
blocks). A core's time is its items' compute, or its items' DRAM traffic at the rate it gets, whichever is
slower (the reader prefetches while compute runs); the chip's time is its slowest core. DRAM is shared: a
core's rate is the lesser of one NoC link and its share of the aggregate DRAM bandwidth, so many cores
reading at once each get less (tt-metal measured non-causal SDPA on Blackhole bound by the K/V data path,
reference section 7). The single-core model prices one item; this prices the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from tteqsat.arch import Arch

BOUNDS = ("compute", "dram", "noc")


@dataclass(frozen=True)
class GridShape:
    """The cores a kernel may use, and the chip's shared data paths."""

    cores: int                     # Tensix cores of the compute grid
    clock_ghz: float
    dram_bytes_per_cycle: float    # aggregate over every DRAM controller
    noc_bytes_per_cycle: float     # one NoC link: the most one core's reads can move per cycle

    @classmethod
    def of(cls, arch: Arch) -> GridShape:
        clock = arch.clock_ghz
        return cls(int(arch.num("chip.grid_rows") * arch.num("chip.grid_cols")), clock,
                   arch.num("dram.total_gb_per_s") / clock, arch.num("noc.bytes_per_cycle"))


@dataclass(frozen=True)
class ChipCost:
    """What the grid costs: the split, the slowest core, and which resource bounds it."""

    items: int                  # work items (batch elements x row blocks)
    cores: int                  # cores that get work
    items_per_core: int         # on the slowest core (the first ones when the split is uneven)
    item_cycles: float          # compute of one item on one core
    item_bytes: int             # DRAM bytes one item reads and writes
    core_compute_cycles: float  # the slowest core's compute
    core_data_cycles: float     # the slowest core's DRAM traffic at its rate
    dram_floor_cycles: float    # every item's bytes over the aggregate DRAM bandwidth
    cycles: float               # the chip's time: the slowest core
    bound_by: str               # compute | dram | noc
    clock_ghz: float

    @property
    def microseconds(self) -> float:
        return self.cycles / (self.clock_ghz * 1e3)

    @property
    def dram_bytes(self) -> int:
        return self.items * self.item_bytes

    def per_core_items(self) -> list[int]:
        """Items of each core that gets work: an even split, the remainder on the first cores."""
        base, extra = divmod(self.items, self.cores)
        return [base + (1 if c < extra else 0) for c in range(self.cores)]


def price_grid(grid: GridShape, items: int, item_cycles: float, item_bytes: int, cores: int | None = None,
               fixed_cycles: float = 0.0) -> ChipCost:
    """The cheapest split of `items` over at most `grid.cores` cores (or exactly `cores`); `fixed_cycles`
    is paid once per core (setup before its first item). Fewer cores win only when they are not slower:
    ties go to fewer cores, which leaves DRAM bandwidth to the rest."""
    if items < 1:
        raise ValueError("a grid needs at least one work item")
    counts = [cores] if cores is not None else range(1, min(items, grid.cores) + 1)
    best: ChipCost | None = None
    for c in counts:
        cost = _split(grid, items, item_cycles, item_bytes, c, fixed_cycles)
        if best is None or cost.cycles < best.cycles * (1 - 1e-9):
            best = cost
    assert best is not None
    return best


def _split(grid: GridShape, items: int, item_cycles: float, item_bytes: int, cores: int,
           fixed_cycles: float) -> ChipCost:
    per_core = -(-items // cores)
    share = grid.dram_bytes_per_cycle / cores
    rate = min(grid.noc_bytes_per_cycle, share)
    compute = fixed_cycles + per_core * item_cycles
    data = per_core * item_bytes / rate
    floor = items * item_bytes / grid.dram_bytes_per_cycle
    cycles = max(compute, data, floor)
    if compute >= max(data, floor):
        bound = "compute"
    else:
        bound = "noc" if grid.noc_bytes_per_cycle < share else "dram"
    return ChipCost(items, cores, per_core, item_cycles, item_bytes, compute, data, floor, cycles, bound,
                    grid.clock_ghz)
