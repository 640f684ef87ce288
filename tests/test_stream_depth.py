"""Chunk streams three chunks deep where L1 has room (`settings.stream_depth`, scheduling/build.py
`_deepen_streams`): the CBs the schedule, the emitted MLIR and the simulators hold, what the per-core model and the
chip model charge, and that the timing simulator, running the emitted code, finds the deeper stream faster where
the model says so (a causal kernel whose ranked sharing groups drift apart as far as their streams let them)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.errors import KernelError
from tteqsat.scheduling.timing import kernel_cycles, pipeline_rates
from tteqsat.tools.timing_check import result_cycles


def attention(heads: int = 2, rows: int = 512, d: int = 64, causal: bool = False) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (1, heads, rows, d)) for n in "qkv")
    scores = q @ k.mT * d ** -0.5
    if causal:
        scores = tq.where(tq.tri(rows, rows), scores, -np.inf)
    return tq.kernel("attention", tq.softmax(scores) @ v)


def streaming(arch: str = "wormhole_b0", overrides: dict | None = None, **kw) -> tq.Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(attention(**kw), load_arch(arch, overrides or {}), form="streaming", blocks=(64,),
                           chunks=(128,), cores=1)


def depths(result: tq.Result) -> list[int]:
    schedule = result.schedule
    assert schedule.loop is not None
    return [schedule.chunks_held(st) for st in schedule.loop.streams]


def cb_capacities(result: tq.Result) -> list[int]:
    """Tiles of every CB the emitted MLIR declares (`!ttkernel.cb<tiles, ...>`)."""
    return [int(n) for n in re.findall(r"!ttkernel\.cb<(\d+),", result.to_mlir())]


def test_streams_hold_three_chunks_where_l1_has_room_and_verify() -> None:
    res = streaming()
    assert depths(res) == [3, 3]  # K and V
    chunk = res.schedule.loop.streams[0].tiles
    assert 3 * chunk in cb_capacities(res) and 2 * chunk not in cb_capacities(res)
    assert res.verify(precision="exact").max_abs_err < 0.05


def test_two_chunks_when_asked_or_when_l1_has_no_room_for_the_third() -> None:
    assert depths(streaming(overrides={"settings.stream_depth": 2})) == [2, 2]
    deep = streaming()
    arch = deep.arch
    spare = arch.l1_budget - deep.schedule.l1_bytes(arch)  # what the third chunks left
    third = sum(st.tiles for st in deep.schedule.loop.streams) * arch.tile_bytes("bf16")
    tight = {"l1.bytes": int(arch.num("l1.bytes")) - spare - third + 1024}  # room for less than one more chunk each
    shallow = streaming(overrides=tight)
    assert depths(shallow) == [2, 2]
    assert shallow.schedule.l1_bytes(shallow.arch) <= shallow.arch.l1_budget


def test_stream_depth_names_the_values_it_takes() -> None:
    with pytest.raises(KernelError, match=r"settings.stream_depth must be 2, 3 or 4 .* got 5"):
        load_arch("wormhole_b0", {"settings.stream_depth": 5})


def test_a_deeper_stream_never_prices_dearer_on_one_core() -> None:
    """The reader of a three-chunk stream waits for the trip two before, not the last: at every DRAM rate the core
    may get it is no slower. (On one core with steady trips it is no faster either: the reads of a trip take what
    they take; what the third chunk buys is slack between the cores of a ranked group, below.)"""
    deep, shallow = streaming(heads=4), streaming(heads=4, overrides={"settings.stream_depth": 2})
    model = TensixCostModel(deep.arch)
    for rate in pipeline_rates(model):
        a, b = (kernel_cycles(model, r.schedule, 4, rate) for r in (deep, shallow))
        assert a <= b * (1 + 1e-9), (rate, a, b)


@pytest.fixture(scope="module")
def ranked() -> dict[int, tq.Result]:
    """Blackhole causal attention (8 heads of 1024 x 128) on 32 cores in 128-row blocks and 512-key chunks, at
    each stream depth: the cores of a ranked group take their runs' blocks in turn, as far apart as the streams
    let them drift (`grid.ranked_share`'s slack)."""
    out = {}
    for depth in (2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[depth] = tq.optimize(attention(8, 1024, 128, causal=True),
                                     load_arch("blackhole", {"settings.stream_depth": depth}), cores=32,
                                     form="streaming", blocks=(128,), chunks=(512,))
    return out


def test_a_ranked_causal_kernel_runs_faster_with_deeper_streams_in_the_timing_simulator(ranked) -> None:
    """Measured when written: chip model 104,080 -> 103,307 cycles (pairs of 4 cores -> groups of 8: a third
    chunk is slack enough for them), timing simulator 109,190 -> 106,494 (-2.5 %)."""
    shallow, deep = ranked[2], ranked[3]
    assert depths(shallow) == [2, 2] and depths(deep) == [3, 3]
    timed = {d: result_cycles(r).timed for d, r in ranked.items()}
    assert timed[3] < 0.985 * timed[2], timed
    assert deep.chip.cycles < shallow.chip.cycles  # the chip model ranks them as the simulator does
    for d, r in ranked.items():
        assert abs(r.chip.cycles / timed[d] - 1) < 0.15, (d, r.chip.cycles, timed[d])


def test_the_deeper_ranked_kernel_verifies_on_its_sampled_cores(ranked) -> None:
    deep = ranked[3]
    assert deep.chip.shared > 1 and deep.schedule.grid is not None and deep.schedule.grid.ranked
    assert deep.verify(cores="sample", precision="exact").max_abs_err < 0.05
