"""The analytic model checked against the timing simulator: the same core's work priced both ways.

The analytic model prices one core's work items with their reads and writes
(`tteqsat.scheduling.timing.kernel_cycles`, at the core's share of the chip's DRAM bandwidth); the timing simulator
runs the emitted MLIR on that core (`tteqsat.sim.timing`). `benchmarks/timing.py` prints the comparison for the
examples, random kernels and alternatives of one kernel; `tests/test_timing_sim.py` holds it to
`TOLERANCE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tteqsat.arch import Arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.frontend import reference
from tteqsat.lowering.mlir import emit_module
from tteqsat.pipeline import Result
from tteqsat.scheduling.model import Schedule
from tteqsat.scheduling.timing import kernel_cycles
from tteqsat.sim import simulate
from tteqsat.sim.timing import TimingReport

TOLERANCE = 0.15  # the analytic model within +-15 % of the timing simulator's wall


@dataclass(frozen=True)
class Priced:
    """One piece of work priced both ways: the analytic model's cycles and the timing simulator's wall."""

    label: str
    analytic: float
    timed: float

    @property
    def ratio(self) -> float:
        return self.analytic / self.timed

    def agrees(self, tolerance: float = TOLERANCE) -> bool:
        return abs(self.ratio - 1.0) <= tolerance


def result_cycles(result: Result, timing_arch: Arch | None = None, seed: int = 0,
                  dram_sharing: str = "work-conserving") -> Priced:
    """The chosen schedule of `result`: the analytic cycles of the slowest of the cores `verify` samples and one
    of every class of alike cores (`Result.timing_cores`; each at its DRAM share with every core of the program
    streaming) against the timing simulator on those cores (`dram_sharing`: `tteqsat.sim.simulate`'s).
    `timing_arch` prices the simulator with other numbers (to show a mis-priced side is caught)."""
    report = _simulate_result(result, timing_arch or result.arch, seed, dram_sharing)
    return Priced(result.kernel.name, analytic_cycles(result), report.wall)


def analytic_cycles(result: Result) -> float:
    """The analytic model's cycles for the cores the timing simulator runs, the slowest of them: each core's own work
    items (a masked loop's items differ in live chunks) at its DRAM share with every core streaming
    (`Result.streaming_cores`)."""
    grid = result.schedule.grid
    model = TensixCostModel(result.arch)
    if grid is None or grid.items <= 1:
        return kernel_cycles(model, result.schedule)
    rate = model.dram_rate(result.streaming_cores())
    return max(kernel_cycles(model, result.schedule, len(items), rate, [result.item_place(i)[1] for i in items])
               for items in (grid.core_items(n) for n in result.timing_cores()[0]))


def _simulate_result(result: Result, arch: Arch, seed: int, dram_sharing: str = "work-conserving") -> TimingReport:
    """The timing simulator on the cores `verify` samples and a core of every class of cores that run alike
    (`Result.timing_cores`; outputs not compared: timing needs no numerics), the chip's DRAM shared by
    `dram_sharing` (`tteqsat.sim.simulate`)."""
    user = result.split.kernel if result.split is not None else result.kernel
    inputs = result.kernel_inputs(reference.random_inputs(user, seed))
    grid = result.schedule.grid
    host = result.to_host()
    weights = None
    if grid is not None and grid.items > 1:
        cores, weights = result.timing_cores()
        host = replace(host, cores=tuple(host.cores[n] for n in cores))
    run = simulate(result.to_mlir(), inputs, host=host, timing=True, arch=arch, all_outputs=grid is None,
                   sharing_cores=result.streaming_cores(), core_weights=weights, dram_sharing=dram_sharing)
    assert run.timing is not None
    return run.timing


def schedule_cycles(label: str, schedule: Schedule, arch: Arch, inputs: dict[str, np.ndarray],
                    timing_arch: Arch | None = None) -> Priced:
    """One work item of `schedule` on one core alone, priced both ways (`inputs`: the item's)."""
    analytic = kernel_cycles(TensixCostModel(arch), schedule)
    run = simulate(emit_module(schedule), inputs, timing=True, arch=timing_arch or arch)
    assert run.timing is not None
    return Priced(label, analytic, run.timing.wall)


def misranked(alternatives: list[Priced], tolerance: float = TOLERANCE) -> list[tuple[Priced, Priced, float]]:
    """Pairs the analytic model ranks one way and the timing simulator the other by more than `tolerance`: (the
    one the model prefers, the other, how much slower the preferred one runs)."""
    out = []
    for n, a in enumerate(alternatives):
        for b in alternatives[n + 1:]:
            better, worse = (a, b) if a.analytic <= b.analytic else (b, a)
            slower = better.timed / worse.timed
            if slower > 1.0 + tolerance and not math.isclose(a.analytic, b.analytic):
                out.append((better, worse, slower))
    return out
