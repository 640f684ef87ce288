"""The chip's DRAM bandwidth shared work-conservingly among the cores still requesting it (the timing simulator's).

The DRAM controllers serve whichever cores have requests outstanding; a core that has finished its transfers
requests nothing, so the cores still reading split the chip's bandwidth among fewer. The simulator runs the
cores one after another (a sharing group's together), so it cannot see the other cores' requests as it books a
transfer; it runs the program again instead, each run's transfers at the shares the previous run's transfers
give:

- the run splits into phases at the times a core made its last transfer (the previous run's): in a phase the
  cores whose last transfer comes later are the ones requesting;
- in a phase those cores share the chip's sustained bandwidth as the static share does over a whole run
  (`TensixCostModel.dram_rate`, never more than one NoC link or one DRAM controller): each gets the rate of one
  of S cores, S the bytes they moved in the phase over the most one of them moved (a sharing group's receiver,
  which moves only its own bytes, counts for the fraction of the sender's bytes it moves; equal cores count
  one each).

A simulated core stands for the program's cores that run the same work (its weight, `Timing`'s ``weights``):
a program's cores are sampled, and cores whose items differ only in which batch element they compute run
alike. Equal cores end together, so they see one phase, the static share.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

from tteqsat.cost.model import TensixCostModel

Core = tuple[int, int]
Moved = list[tuple[float, float]]
"""A core's DRAM transfers in one run: (when the transfer's bytes were through, its bytes), in booking order."""


class DramShare:
    """The DRAM rate of every core over time, from the transfers of the previous run's cores (`moved`, by core)
    weighted by the cores each stands for (`weights`)."""

    def __init__(self, model: TensixCostModel, weights: Mapping[Core, float], moved: Mapping[Core, Moved]) -> None:
        self.model = model
        last = {core: max(t for t, _ in m) for core, m in moved.items() if m}
        self.bounds = sorted(set(last.values()))  # phase k ends at bounds[k]
        self.streaming: list[float] = []  # S of each phase
        start = 0.0
        for end in self.bounds:
            moving = {core: sum(b for t, b in moved[core] if start <= t < end or t == end == last[core])
                      for core in sorted(last) if last[core] >= end}
            most = max(moving.values())
            self.streaming.append(max(1.0, sum(weights[c] * b for c, b in moving.items()) / most) if most else 1.0)
            start = end
        self.rates = [model.dram_rate(s) for s in self.streaming]  # type: ignore[arg-type]

    def rate_at(self, t: float) -> tuple[float, float]:
        """Bytes per cycle a core gets from `t` on, and until when (the phase's end; after the last phase, the
        last phase's rate)."""
        k = bisect_right(self.bounds, t)
        if k >= len(self.bounds):
            return self.rates[-1], float("inf")
        return self.rates[k], self.bounds[k]

    def same_as(self, other: DramShare | None, tolerance: float) -> bool:
        """Whether `other` gives every core the same rates at the same times, to within `tolerance` (relative)."""
        if other is None or len(other.bounds) != len(self.bounds):
            return False
        scale = max(self.bounds[-1], 1.0) if self.bounds else 1.0
        return all(abs(a - b) <= tolerance * scale for a, b in zip(self.bounds, other.bounds, strict=True)) and all(
            abs(a - b) <= tolerance * b for a, b in zip(self.rates, other.rates, strict=True))


def static_rates(share: DramShare, rate: float) -> bool:
    """Whether `share` gives every core `rate` at every time (the static share)."""
    return all(r == rate for r in share.rates)

