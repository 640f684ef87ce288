"""The per-core op floor of attention (benchmarks/attention_bounds.op_floor) is a floor: no schedule the pipeline
builds, derived or the 2025 expert's, runs any thread faster than it says, and it holds at least the matmul-and-exp
math floor it refines. A floor above an achieved schedule would be wrong, so every thread is checked on its own."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.scheduling.build import build_schedule

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from attention_bounds import core_bound, op_floor  # noqa: E402
from expert_sdpa import expert_program  # noqa: E402
from flash_attention import SCALE, attention, op_floor_any, thread_totals  # noqa: E402

ARCHS = ("wormhole_b0", "blackhole")
# (keys, d, form, chunks): the fused form at one trip, and the streaming form at two chunk widths
SHAPES = ((256, 64, "auto", None), (512, 128, "streaming", (128,)), (1024, 64, "streaming", (256,)))


def _schedule(keys: int, d: int, form: str, chunks, arch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(attention(keys, d), arch, blocks=(), form=form, chunks=chunks).schedule


def _within(floor: dict[str, float], schedule, model) -> None:
    threads = thread_totals(schedule, model)
    for name in ("math", "unpack", "pack"):
        assert floor[name] <= threads[name], (name, floor[name], threads[name])
    assert floor["floor"] <= schedule.compute_cycles


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize(("keys", "d", "form", "chunks"), SHAPES)
def test_op_floor_below_derived_and_expert(arch_name, keys, d, form, chunks):
    arch = load_arch(arch_name)
    model = TensixCostModel(arch)
    sched = _schedule(keys, d, form, chunks, arch)
    chunk = sched.loop.streams[0].width if sched.loop is not None else keys
    floor = op_floor(64, keys, d, arch, model, chunk)
    _within(floor, sched, model)
    for width in (w for w in (128, 256) if w < keys):
        expert = build_schedule(expert_program(64, keys, d, width, SCALE, variant="2025"), arch, model)
        _within(op_floor(64, keys, d, arch, model, width), expert, model)
    # the floor refines core_bound's math term (tile MACs and one exp per score tile): never below it
    assert floor["math"] >= core_bound(64, keys, d, arch, model)["math"]
    assert floor["floor"] >= floor["math"]


def test_op_floor_over_every_chunk_below_derived():
    """The benchmark's column: the cheapest floor over the offered chunk widths (and one trip where the fused form
    fits), below the derived schedule whatever width it chose."""
    arch = load_arch("blackhole")
    model = TensixCostModel(arch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(attention(1024, 64), arch, blocks=(), form="streaming")
    floor, thread = op_floor_any(1024, 64, arch, model, res.alternatives["fused"].feasible)
    assert thread == "math"
    assert floor <= res.schedule.compute_cycles
    assert floor <= op_floor(64, 1024, 64, arch, model, res.schedule.loop.streams[0].width)["floor"]


def test_op_floor_with_exp_on_pack_thread_below_derived():
    arch = load_arch("wormhole_b0", {"settings.exp_on_pack_thread": True})
    model = TensixCostModel(arch)
    sched = _schedule(1024, 64, "streaming", (256,), arch)
    floor = op_floor(64, 1024, 64, arch, model, 256)
    assert floor["floor"] <= sched.compute_cycles
    assert floor["math"] < op_floor(64, 1024, 64, load_arch("wormhole_b0"), model, 256)["math"]


def test_a_floor_that_counts_too_much_fails_the_check(monkeypatch):
    """The per-thread check has teeth: a floor pricing the unpacker at half its rate (every unpack counted twice)
    exceeds the streaming schedule's unpack thread on Wormhole."""
    arch = load_arch("wormhole_b0")
    model = TensixCostModel(arch)
    sched = _schedule(1024, 64, "streaming", (256,), arch)
    real = model.unpack_tile
    monkeypatch.setattr(model, "unpack_tile", lambda fmt: 2 * real(fmt))
    with pytest.raises(AssertionError, match="unpack"):
        _within(op_floor(64, 1024, 64, arch, model, 256), sched, TensixCostModel(arch))


def test_op_floor_refuses_partial_tiles_and_ragged_chunks():
    arch = load_arch("wormhole_b0")
    model = TensixCostModel(arch)
    with pytest.raises(ValueError, match="chunk dividing the keys"):
        op_floor(64, 1024, 64, arch, model, 384)
    with pytest.raises(ValueError, match="whole tiles"):
        op_floor(48, 1024, 64, arch, model, 256)
