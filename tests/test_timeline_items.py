"""A core's items as one pipeline, and loops extrapolated only from their steady state (tteqsat.cost.timeline).

A masked loop's row blocks visit different chunk counts; the core runs them back to back, the next item's
reads going ahead while this one computes. Pricing each distinct count as its own pipeline paid a fill per
count. And a loop extrapolated from its first trips took a transient (a previous item's tail, a reader
running ahead until its CB filled) for the per-trip increment: the model then said a faster DRAM made a
causal kernel 22 % slower.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tteqsat as tq
import tteqsat.cost.timeline as timeline
from tteqsat.cost.model import TensixCostModel
from tteqsat.cost.timeline import pipelined_cycles
from tteqsat.errors import KernelError
from tteqsat.scheduling.timing import kernel_cycles, kernel_stages, loop_trips

RATES = (1.0, 2.0, 3.65, 5.0, 7.3, 10.0, 16.0, 32.0)


def _causal(s: int = 2048, d: int = 64, chunks: tuple[int, ...] = (256,)) -> tq.Result:
    q, k, v = (tq.tensor(n, (1, 4, s, d)) for n in "qkv")
    scores = q @ k.mT * d ** -0.5
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(s, s), scores, -np.inf)) @ v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(kernel, "wormhole_b0", form="streaming", blocks=(256,), chunks=chunks)


@pytest.fixture(scope="module")
def causal() -> tq.Result:
    return _causal()


def _trips(result: tq.Result, blocks: list[int]) -> list[int]:
    loop = result.schedule.loop
    return sorted(loop_trips(result.schedule.sections, hi - lo) for lo, hi in (loop.range(b) for b in blocks))


def _exact(monkeypatch: pytest.MonkeyPatch, *args, **kwargs) -> float:
    """`pipelined_cycles` with every trip and item simulated (nothing extrapolated)."""
    with monkeypatch.context() as m:
        m.setattr(timeline, "STEADY_TRIPS", 10_000)
        m.setattr(timeline, "TRANSIENT_TRIPS", 10_000)
        return pipelined_cycles(*args, **kwargs)


def test_the_chunk_widths_asked_for_are_the_only_ones(causal: tq.Result) -> None:
    assert causal.schedule.loop.streams[0].width == 256
    assert _causal(chunks=(512,)).schedule.loop.streams[0].width == 512


@pytest.mark.parametrize("chunks", [(0,), (100,), ()])
def test_a_chunk_width_that_is_no_tile_multiple_is_refused(chunks: tuple[int, ...]) -> None:
    with pytest.raises(KernelError, match="chunk width is a positive multiple of the 32-element tile"):
        _causal(s=256, chunks=chunks)


def test_the_items_of_a_core_run_as_one_pipeline(causal: tq.Result) -> None:
    """The fills are paid once: one run over the items is cheaper than a pipeline per distinct count, and the
    same as simulating every trip of every item."""
    model = TensixCostModel(causal.arch)
    blocks = list(range(causal.schedule.blocks))
    trips = _trips(causal, blocks)
    assert len(set(trips)) == len(trips) > 4, "the test needs items that differ"
    for rate in (2.0, 7.3):
        pre, body, post = kernel_stages(model, causal.schedule, rate)
        one = pipelined_cycles(pre, body, trips, post, len(trips))
        separate = sum(pipelined_cycles(pre, body, t, post, 1) for t in trips)
        assert one < 0.97 * separate
        with pytest.MonkeyPatch.context() as mp:
            assert one == pytest.approx(_exact(mp, pre, body, trips, post, len(trips)), rel=1e-9)


@pytest.mark.parametrize("trips", [4, 12, 40])
def test_a_loop_is_extrapolated_from_its_steady_state(causal: tq.Result, trips: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Extrapolating a loop's trips and items gives what simulating all of them gives, at every rate."""
    model = TensixCostModel(causal.arch)
    for rate in RATES:
        pre, body, post = kernel_stages(model, causal.schedule, rate)
        for items in (1, 5):
            assert pipelined_cycles(pre, body, trips, post, items) == pytest.approx(
                _exact(monkeypatch, pre, body, trips, post, items), rel=1e-6), (rate, items)


def test_a_faster_dram_never_makes_a_core_slower(causal: tq.Result) -> None:
    model = TensixCostModel(causal.arch)
    blocks = list(range(causal.schedule.blocks))
    for own in (blocks, blocks[:2] + blocks[-2:], blocks[::3]):
        cycles = [kernel_cycles(model, causal.schedule, len(own), rate, own) for rate in RATES]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(cycles, cycles[1:], strict=False)), (own, cycles)
