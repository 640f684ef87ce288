"""Greedy extraction settles only the classes its roots can reach: the same programs as settling every class of
the e-graph (which it did before), on random e-graphs and on each search optimize makes on a kernel's e-graph."""

from __future__ import annotations

import pytest
from conftest import load_example
from egglog import EGraph

from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.egraph.bridge import KEY_PARTS, SerializedEGraph, insert_kernel, serialize
from tteqsat.egraph.random_graph import input_names, random_egraph
from tteqsat.egraph.saturate import saturate
from tteqsat.errors import KernelError
from tteqsat.extraction import greedy
from tteqsat.extraction.greedy import extract
from tteqsat.rules import shipped_rulesets
from tteqsat.scheduling.build import build_schedule

WH = TensixCostModel(load_arch("wormhole_b0"))


def everywhere(graph: SerializedEGraph, facts) -> set[str]:
    """Extraction's class set before: every class of the e-graph, reachable or not."""
    return set(graph.classes)


def program_or_error(graph: SerializedEGraph, *args, **options) -> tuple:
    """What extraction returns, comparable: each value's class, form and attributes, or the error's text."""
    try:
        return greedy._signature(extract(graph, *args, **options))
    except KernelError as e:
        return ("error", str(e))


def test_some_random_graphs_have_classes_out_of_reach() -> None:
    graphs = [random_egraph(seed, classes=60, outputs=1, back_edges=0.1) for seed in range(12)]
    assert sum(len(greedy._reachable(g, greedy._facts(g, "any"))) < len(g.classes) for g in graphs) >= 3


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_extract_the_same_program_from_their_reachable_classes(seed: int, monkeypatch) -> None:
    # one output of many classes: the classes below the other outputs' roots are out of its reach
    g = random_egraph(seed, classes=60, outputs=1, back_edges=0.1)
    reachable = program_or_error(g, WH, "r", "bf16", input_names(g))
    monkeypatch.setattr(greedy, "_reachable", everywhere)
    assert program_or_error(SerializedEGraph(g.classes, g.shapes, g.outputs), WH, "r", "bf16",
                            input_names(g)) == reachable


def test_every_search_of_a_kernel_extracts_the_same_program(monkeypatch) -> None:
    """optimize searches whole rows and each row-block height, fused and streaming, each priced by the
    scheduler; a row-block view reaches only its height's classes."""
    kernel = load_example("attention")
    egraph = EGraph()
    insert_kernel(egraph, kernel, KEY_PARTS)
    saturate(egraph, shipped_rulesets())
    graph = serialize(egraph)
    names = [str(n.attr("name")) for n in kernel.inputs]

    def price(program) -> float | None:
        try:
            return build_schedule(program, WH.arch, WH, fuse=True).compute_cycles
        except KernelError:
            return None

    def searches(g: SerializedEGraph) -> list[tuple]:
        views = [g] + [g.blocks(h) for h in g.block_heights()]
        return [program_or_error(v, WH, kernel.name, kernel.dtype, names, mode, price=price)
                for v in views for mode in ("fused", "streaming")]

    heights = graph.block_heights()
    assert heights, "the example offers row blocks, so some views reach only part of the e-graph"
    reach = greedy._reachable(graph.blocks(heights[0]), greedy._facts(graph, "fused"))
    assert len(reach) < len(graph.classes)
    now = searches(graph)
    monkeypatch.setattr(greedy, "_reachable", everywhere)
    before = searches(SerializedEGraph(graph.classes, graph.shapes, graph.outputs))
    assert now == before
    assert sum(s[0] != "error" for s in now) >= 2
