"""Extraction and scheduling price the same things, so a cheaper engine never yields a dearer schedule."""

from __future__ import annotations

import functools

import pytest
from conftest import load_example, optimized_example

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import Engines, TensixCostModel
from tteqsat.cost.perturb import ENGINE_CLASSES, ScaledEngines
from tteqsat.scheduling.build import build_schedule

WH = load_arch("wormhole_b0")


def test_a_faster_packer_keeps_the_default_schedule_or_finds_a_better_one() -> None:
    """Issue 10: with pack.cycles_per_tile = 8 the chosen schedule was dearer (523,320) than the default's
    program repriced (470,584): extraction preferred a row sum by reduce that the scheduler prices dearer."""
    default = optimized_example("long_attention")
    fast = tq.optimize(load_example("long_attention"), WH, overrides={"pack.cycles_per_tile": 8})
    repriced = build_schedule(default.program, fast.arch).cost_cycles  # one core, no launch: the schedules'
    assert fast.schedule.cost_cycles <= repriced < default.schedule.cost_cycles


@pytest.mark.parametrize("case", ["attention", "long_attention", "two_matmuls"])
@pytest.mark.parametrize("engine", ENGINE_CLASSES)
def test_a_dearer_engine_never_gives_a_cheaper_schedule(case: str, engine: str) -> None:
    """Each engine class (unpack, FPU, SFPU, pack, handshakes and inits) at 1x, 2x and 4x its cost. Before
    the scheduler chose among extraction's candidates, attention's chosen schedule got cheaper when its
    packer or SFPU got dearer."""
    costs = [_compute_cycles(case, engine if f != 1.0 else "", f) for f in (1.0, 2.0, 4.0)]
    assert costs == sorted(costs), costs


@functools.cache
def _compute_cycles(case: str, engine: str, factor: float) -> float:
    """The chosen schedule's compute cycles with `engine` `factor` times dearer (at 1x, one run for every engine).
    A kernel split over its keys is compared by what the optimizer weighs, the parts and their merges in total:
    at another part count the part kernel's item is another item (long_attention: 16 parts at 1x, 32 at 2x,
    each part half as long)."""
    if not engine:  # the default model: the session's shared result
        res = optimized_example(case)
    else:
        res = tq.optimize(load_example(case), WH, cost_model=ScaledEngines(TensixCostModel(WH), engine, factor))
    return res.cost_cycles if res.split is not None else res.schedule.compute_cycles


def test_scaled_engines_scale_only_their_engine() -> None:
    e = Engines(unpack=10, math=30, pack=40, sfpu=20, unpack_b=5, pack_sfpu=15)
    base = TensixCostModel(WH)
    assert ScaledEngines(base, "sfpu", 2)._s(e) == Engines(10, 50, 55, 40, 5, 30)
    assert ScaledEngines(base, "fpu", 2)._s(e) == Engines(10, 40, 40, 20, 5, 15)
    assert ScaledEngines(base, "pack", 2)._s(e) == Engines(10, 30, 65, 20, 5, 15)
    assert ScaledEngines(base, "unpack", 2)._s(e) == Engines(20, 30, 40, 20, 10, 15)
    dear = ScaledEngines(base, "overhead", 2)
    assert dear.arch.num("sync.init") == 2 * WH.num("sync.init")
    with pytest.raises(ValueError, match="engine must be one of"):
        ScaledEngines(base, "noc")


class CostlyPasses(TensixCostModel):
    """Every pass costs 2,000 cycles more: a custom section price extraction must see."""

    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float:
        return super().section(per_iteration, iterations, inits_hoisted, inits_per_iteration) + 2000 * iterations


def test_a_custom_section_price_reaches_extraction() -> None:
    """Extraction prices a new pass with the model's section(), so a model that makes passes dear gets a
    program with fewer CB round trips (values kept in DST) from extraction itself."""
    from egglog import EGraph

    from tteqsat.egraph import insert_kernel, serialize
    from tteqsat.egraph.saturate import saturate
    from tteqsat.extraction.greedy import extract
    from tteqsat.rules import shipped_rulesets

    kernel = load_example("elementwise_chain")
    eg = EGraph()
    insert_kernel(eg, kernel)
    saturate(eg, shipped_rulesets())
    graph = serialize(eg)
    names = [str(n.attr("name")) for n in kernel.inputs]

    def cb_reads(model) -> int:
        prog = extract(graph, model, kernel.name, kernel.dtype, names, "fused")
        return sum(1 for op in prog.ops() for o, loc in zip(op.operands, op.locs, strict=True)
                   if loc == "cb" and o.kind != "input")

    assert cb_reads(CostlyPasses(WH)) < cb_reads(TensixCostModel(WH))
