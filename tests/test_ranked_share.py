"""Sharing K/V reads when a group's items visit different chunks (a causal mask's q blocks): ranked groups of
cores, the sender running the block that visits the most chunks and multicasting every one of them to all its
receivers, which pop those their own blocks skip. Priced, emitted, simulated, and shown to fail when the protocol
is broken."""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from cpp_check import check as check_cpp
from cpp_check import compile_cpp, needs_gxx

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.chip import CorePipeline, GridShape, price_items, price_shared_items
from tteqsat.frontend import reference
from tteqsat.lowering import dataflow
from tteqsat.lowering.conformance import check_module
from tteqsat.lowering.item_index import Integers, block_of, item_number, ranked_widest
from tteqsat.scheduling.grid import RANKED_SIZES, nested_runs
from tteqsat.scheduling.model import block_order
from tteqsat.sim import SimulationError, simulate
from tteqsat.tools.timing_check import result_cycles

DRAM_BOUND = {"dram.total_gb_per_s": 16.0}  # as in test_kv_share: sharing pays on 8 cores here
ROWS = 512


def causal(diagonal: int = 128, rows: int = ROWS) -> tq.Kernel:
    """Causal attention over 2 heads whose mask's diagonal sits 128 keys right of the main one: with 128-row
    blocks and 256-key chunks, block 0 visits one chunk and blocks 1-3 two, so a receiver may skip one."""
    q, k, v = (tq.tensor(n, (1, 2, rows, 64)) for n in "qkv")
    s = tq.where(tq.tri(rows, rows, k=diagonal), q @ k.mT * 0.125, -np.inf)
    return tq.kernel("causal", tq.softmax(s) @ v)


_CACHE: dict[tuple[bool, tuple[int, ...]], tq.Result] = {}


def result(share: bool = True, sizes: tuple[int, ...] = RANKED_SIZES) -> tq.Result:
    """The kernel on 4 cores (8 items: each core runs two, so a receiver's CBs must catch up with its sender's
    after an item), with ranked groups of `sizes` cores offered."""
    key = (share, sizes)
    if key not in _CACHE:
        with warnings.catch_warnings(), mock.patch("tteqsat.pipeline.RANKED_SIZES", sizes):
            warnings.simplefilter("ignore")
            arch = load_arch("wormhole_b0", {"settings.share_inputs": share, **DRAM_BOUND})
            _CACHE[key] = tq.optimize(causal(), arch, cores=4, form="streaming", blocks=(128,))
    return _CACHE[key]


def _without_catch_up(text: str) -> str:
    """The module with a receiver's pops of the chunks it does not visit (after each item) made loops of no trips."""
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if "pop the chunks its sender multicast" in line:  # the compute thread's pops: the next two loops
            loops = [m for m in range(n + 1, len(lines)) if '"scf.for"(' in lines[m]][:2]
            for m in loops:
                lines[m] = re.sub(r'"scf.for"\((%\w+), %\w+, ', r'"scf.for"(\1, \1, ', lines[m])
    out = "".join(lines)
    assert out != text
    return out


def _run(res: tq.Result, text: str) -> float:
    inputs = reference.random_inputs(res.kernel, 0)
    want = reference.evaluate(res.kernel, inputs)["out"]
    sim = simulate(text, res.kernel_inputs(inputs), host=res.to_host(), precision="exact")
    return float(np.max(np.abs(sim.outputs["out"].reshape(want.shape) - want)))


# -- the order and the price ------------------------------------------------------------------------------------
@pytest.mark.parametrize("blocks", [2, 4, 8, 16])
@pytest.mark.parametrize("paired", [False, True])
def test_ranked_order_is_a_permutation_with_each_runs_largest_first(blocks: int, paired: bool) -> None:
    order = [block_order(p, blocks, paired, 2) for p in range(blocks)]
    assert sorted(order) == list(range(blocks))
    assert all(order[p] == order[p + 1] + 1 for p in range(0, blocks, 2))  # sender: the larger of two neighbours
    emitted = [block_of(Integers(), p, blocks, paired, 2) for p in range(blocks)]
    assert emitted == order  # the index arithmetic the lowering emits computes the same


def test_a_pair_is_paced_by_its_longer_item_and_its_receiver_reads_only_its_own_bytes() -> None:
    grid = GridShape.of(load_arch("wormhole_b0"))
    # two runs of (sender, receiver) items: (300, 100) and (200, 200) cycles; 1,000 bytes each, 600 shared
    cost = price_shared_items(grid, [300.0, 100.0, 200.0, 200.0], [1000.0] * 4, [600.0] * 4, group_items=4,
                              cores=2)
    assert cost is not None and cost.shared == 2 and cost.share_run == 2 and cost.group_runs == (2,)
    assert cost.core_compute_cycles == 500.0  # 300 + 200 on both cores: the receiver waits for its sender
    assert cost.dram_bytes == 2 * 1000 + 2 * 400
    alone = price_items(grid, [300.0, 100.0, 200.0, 200.0], [1000.0] * 4, cores=2)
    assert alone.dram_bytes == 4000 and alone.core_compute_cycles == 400.0  # per-core reads: no waiting
    assert price_shared_items(grid, [1.0] * 3, [1.0] * 3, [1.0] * 3, group_items=3) is None  # no pairs


def test_a_group_with_slack_lets_its_cores_take_the_dearer_items_in_turn() -> None:
    """Two runs of a pair, (300, 200) then (200, 300) cycles: in lockstep each run takes its slower item
    (600); with a CB's worth of slack (100 cycles here) the core that ended run 0 early starts run 1 that
    much before the other ends, and both end at their own sums (500)."""
    grid = GridShape.of(load_arch("wormhole_b0"))
    args = ([300.0, 200.0, 200.0, 300.0], [1000.0] * 4, [600.0] * 4)
    lockstep = price_shared_items(grid, *args, group_items=4, cores=2)
    slack = price_shared_items(grid, *args, group_items=4, cores=2, slack_cycles=100.0)
    short = price_shared_items(grid, *args, group_items=4, cores=2, slack_cycles=50.0)
    assert lockstep is not None and slack is not None and short is not None
    assert lockstep.core_compute_cycles == 600.0 and slack.core_compute_cycles == 500.0
    assert short.core_compute_cycles == 550.0  # half the lead fits: the other half is waited for


def test_causal_runs_nest_and_their_reverse_does_not() -> None:
    res = result()
    assert nested_runs(res.schedule, 2) and nested_runs(res.schedule, 4)
    loop = res.schedule.loop
    assert loop is not None and loop.live is not None
    assert loop.range(0) != loop.range(1)  # the test's premise: a pair's receiver visits fewer chunks
    # later blocks visiting fewer chunks (a mask above the diagonal): the larger block of a run would be its
    # sender, and it does not read the chunks its receiver needs
    upper = SimpleNamespace(blocks=4, loop=SimpleNamespace(range=lambda b: (b, 4)))
    assert not nested_runs(upper, 2)  # type: ignore[arg-type]


# -- what is chosen, emitted and simulated ----------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [RANKED_SIZES, (2,)])
def test_a_causal_kernel_shares_in_ranked_groups_and_verifies(sizes: tuple[int, ...]) -> None:
    res = result(sizes=sizes)
    grid = res.schedule.grid
    size = res.chip.shared
    assert grid is not None and grid.share is not None and grid.ranked == size
    assert size == (4 if sizes == RANKED_SIZES else 2)  # one group of all four cores where it is offered
    assert all(len(g) == size for g in grid.share.groups)
    assert any("multicasts every chunk of its run's widest block to all of them" in n for n in res.warnings)
    text = res.to_mlir()
    assert check_module(text) == [] and "pop the chunks its sender multicast beyond its own" in text
    check = res.verify(cores="all", precision="exact")
    assert check.max_abs_err < 0.05
    unshared = result(share=False)
    assert unshared.chip.shared == 1
    assert res.chip.dram_bytes < unshared.chip.dram_bytes
    moved = check.stats["ops.ttkernel.noc_async_read_tile"] + check.stats["ops.ttkernel.noc_async_write_tile"]
    assert res.chip.dram_bytes == moved * 2048  # the price counts what the simulated readers and writers move
    for n, (first, count) in enumerate(grid.cores):
        assert [item_number(Integers(), first, k, grid.run, grid.run_stride) for k in range(count)] == \
            grid.core_items(n)


def test_groups_of_four_price_below_pairs_here() -> None:
    assert result().chip.cycles < result(sizes=(2,)).chip.cycles


@pytest.mark.parametrize("blocks", [8, 4])  # two runs an element, or one (the runs alternate across elements)
@pytest.mark.parametrize("alternate", [False, True])
@pytest.mark.parametrize("item", range(16))
def test_every_core_of_a_group_follows_its_runs_widest_item(item: int, alternate: bool, blocks: int) -> None:
    widest = ranked_widest(Integers(), item, blocks, 4, alternate)
    run = range(item - item % 4, item - item % 4 + 4)
    assert widest in run  # the emitted arithmetic names an item of the same run ...
    order = [block_order(n, blocks, False, 4, alternate) for n in run]
    assert block_order(widest, blocks, False, 4, alternate) == max(order)  # ... the one with the last block
    assert [block_of(Integers(), n, blocks, False, 4, alternate) for n in run] == order  # emitted as priced
    if alternate:  # consecutive runs come largest and smallest first in turn, within an element or across
        assert order[0] == max(order) if item // 4 % 2 == 0 else order[-1] == max(order)


def test_a_receiver_that_visits_only_its_own_chunks_fails(monkeypatch) -> None:
    """Were a receiver to take part only in its own item's chunks, the sender's multicast of a chunk beyond them
    would land on pages that receiver has not reserved (or its next item's first chunk would be counted ready
    for this one)."""
    res = result()
    assert _run(res, res.to_mlir()) < 0.05
    monkeypatch.setattr(dataflow, "ranked_widest", lambda ix, item, blocks, ranked, alternate: item)
    bad = dataclasses.replace(res, _mlir=None)  # the text emitted anew
    with pytest.raises(SimulationError, match="has not reserved"):
        _run(bad, bad.to_mlir())


def test_a_receiver_that_does_not_pop_the_chunks_it_skips_fails() -> None:
    """After an item the group's CBs of K and V have advanced over the chunks a receiver skipped; the next
    item's first chunk is multicast to the sender's write pointer, so the receiver must stand there too."""
    res = result()
    assert all(count == 2 for _, count in res.schedule.grid.cores)  # two items a core: the case that needs it
    with pytest.raises(SimulationError, match="pushed but never popped|has not reserved"):
        _run(res, _without_catch_up(res.to_mlir()))


def test_the_timing_simulator_runs_it_and_the_analytic_price_agrees() -> None:
    priced = result_cycles(result())
    assert priced.agrees(), priced


@needs_gxx
def test_the_group_multicast_compiles(tmp_path) -> None:
    res = result()
    cpp = res.to_cpp()
    assert check_cpp(res.to_mlir(), cpp) == []
    done = compile_cpp(tmp_path, cpp)
    assert done.returncode == 0, done.stderr


def test_the_html_report_says_the_groups_are_ranked() -> None:
    from tteqsat.tools.html_report import render_html

    grid_text = render_html(result()).split("<h2>Grid</h2>")[1].split("</p>")[0]
    assert "groups of 4: one core of each reads" in grid_text and "the groups are ranked" in grid_text


def test_items_that_differ_are_priced_by_their_cores_pipelines() -> None:
    """Each core's load carries the pipeline of its own items (`price_items`, `price_shared_items`' senders):
    here a pipeline of 1,000 cycles per item whatever the DRAM rate, against items of 1 cycle of compute."""
    grid = GridShape.of(load_arch("wormhole_b0"))
    asked: list[tuple[int, ...]] = []

    def pipeline(run) -> CorePipeline:
        asked.append(tuple(run))
        cycles = 1000.0 * len(run)
        return CorePipeline(lambda _items, _rate: cycles, (1.0, 2.0))

    cost = price_items(grid, [1.0] * 6, [10.0] * 6, cores=2, pipeline=pipeline)
    assert cost.cycles - cost.launch_cycles == pytest.approx(3000.0)  # three items a core, the pipeline's time
    assert sorted(asked) == [(0, 1, 2), (3, 4, 5)]
    shared = price_shared_items(grid, [1.0] * 8, [10.0] * 8, [5.0] * 8, group_items=8, cores=4, sender=pipeline)
    assert shared is not None and shared.cycles - shared.launch_cycles == pytest.approx(2000.0)  # 2 runs a group


# -- senders alternating where a run's blocks visit the same chunks ---------------------------------------------
@pytest.mark.parametrize("blocks", [4, 8, 16])
@pytest.mark.parametrize("paired", [False, True])
def test_alternating_runs_are_a_permutation_and_the_lowering_computes_the_same(blocks: int, paired: bool) -> None:
    order = [block_order(p, blocks, paired, 2, alternate=True) for p in range(blocks)]
    assert sorted(order) == list(range(blocks))
    plain = [block_order(p, blocks, paired, 2) for p in range(blocks)]
    for p in range(0, blocks, 2):  # the same pairs; odd runs smallest first
        assert order[p:p + 2] == (plain[p:p + 2][::-1] if p // 2 % 2 else plain[p:p + 2])
    assert [block_of(Integers(), p, blocks, paired, 2, alternate=True) for p in range(blocks)] == order


_ALTERNATE: list[tq.Result] = []


def aligned() -> tq.Result:
    """The main diagonal with 128-row blocks and 256-key chunks: blocks 2k and 2k + 1 visit the same k + 1
    chunks, but 2k + 1 ends on the diagonal's last tile of its last chunk and 2k halfway, skipping more."""
    if not _ALTERNATE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arch = load_arch("wormhole_b0", {"settings.share_inputs": True, **DRAM_BOUND})
            with mock.patch("tteqsat.pipeline.RANKED_SIZES", (2,)):
                _ALTERNATE.append(tq.optimize(causal(diagonal=0), arch, cores=4, form="streaming", blocks=(128,),
                                              chunks=(256,)))
    return _ALTERNATE[0]


def test_equal_runs_alternate_their_sender_balance_the_pair_and_verify() -> None:
    res = aligned()
    grid, sched = res.schedule.grid, res.schedule
    assert grid is not None and grid.ranked == 2 and grid.alternate
    loop = sched.loop
    assert all(loop.range(2 * k) == loop.range(2 * k + 1) for k in range(sched.blocks // 2))
    # the sender's items alternate between the larger and the smaller block of their runs
    for group in grid.share.groups:
        sender = [grid.block_of(i) for i in grid.core_items(group[0])]
        assert {b % 2 for b in sender} == {0, 1}
    # ...which makes the pair's two cores cost alike, where largest-first loads the sender with the dearer ones
    work = [sum(sched.item_cycles(grid.block_of(i)) for i in grid.core_items(n)) for n in range(len(grid.cores))]
    plain = dataclasses.replace(grid, alternate=False)
    before = [sum(sched.item_cycles(plain.block_of(i)) for i in plain.core_items(n)) for n in range(len(grid.cores))]
    assert max(work) - min(work) < max(before) - min(before)
    check = res.verify(cores="all", precision="exact")
    assert check.max_abs_err < 0.05


def test_alternating_runs_whose_blocks_visit_different_chunks_follow_the_widest(monkeypatch) -> None:
    """Over 1,024 rows the shifted diagonal's second run differs (block 2 visits two chunks, block 3 three). Odd
    runs come smallest first, so there the widest block sits on the receiver: every core's reader follows it
    and the sender pops the chunk its own block skips. Were the readers to follow the run's first item (the
    sender's) instead, the receiver would wait for a chunk nobody sends."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arch = load_arch("wormhole_b0", {"settings.share_inputs": True, **DRAM_BOUND})
        with mock.patch("tteqsat.pipeline.RANKED_SIZES", (2,)):
            res = tq.optimize(causal(rows=1024), arch, cores=8, form="streaming", blocks=(128,), chunks=(256,))
    grid = res.schedule.grid
    assert grid is not None and grid.ranked == 2 and grid.alternate
    assert nested_runs(res.schedule, 2)
    assert _run(res, res.to_mlir()) < 0.05
    widest = dataflow.ranked_widest
    monkeypatch.setattr(dataflow, "ranked_widest",
                        lambda ix, item, blocks, ranked, alternate: widest(ix, item, blocks, ranked, False))
    bad = dataclasses.replace(res, _mlir=None)  # the text emitted anew
    with pytest.raises(SimulationError, match="deadlock"):
        _run(bad, bad.to_mlir())


# -- cores take the dearer blocks in turn -----------------------------------------------------------------------
def _rotating() -> tq.Result:
    """Causal attention whose runs of four 128-row blocks visit (1, 1, 2, 2) and (3, 3, 4, 4) 256-key chunks."""
    q, k, v = (tq.tensor(n, (1, 2, 1024, 64)) for n in "qkv")
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(1024, 1024), q @ k.mT * 0.125, -np.inf)) @ v)
    with warnings.catch_warnings(), mock.patch("tteqsat.pipeline.RANKED_SIZES", (4,)):
        warnings.simplefilter("ignore")
        arch = load_arch("wormhole_b0", {"settings.share_inputs": True, **DRAM_BOUND})
        return tq.optimize(kernel, arch, cores=4, form="streaming", blocks=(128,), chunks=(256,))


def test_cores_that_take_the_dearer_blocks_in_turn_end_together_in_the_timing_simulator() -> None:
    """Every core runs one block of each run: with the runs alternating largest and smallest first, core 0 runs
    blocks 3 and 4 (2 + 3 chunks), core 3 blocks 0 and 7 (1 + 4). Each pops what it skips as the chunks land,
    so a core that ends a run early starts the next: the group takes 5 chunks a core where lockstep takes 2 + 4.
    The timing simulator, running the emitted code, shows it; the chip model prices it within 15 %."""
    res = _rotating()
    grid = res.schedule.grid
    assert grid is not None and grid.ranked == 4 and grid.alternate
    assert [[grid.block_of(i) for i in grid.core_items(n)] for n in range(4)] == \
        [[3, 4, 3, 4], [2, 5, 2, 5], [1, 6, 1, 6], [0, 7, 0, 7]]
    assert res.verify(cores="all", precision="exact").max_abs_err < 0.05
    rotating = result_cycles(res)
    lockstep_res = dataclasses.replace(res, _mlir=None)  # every run largest first: the sender always the dearest
    lockstep_res.schedule = copy.copy(res.schedule)
    lockstep_res.schedule.grid = dataclasses.replace(grid, alternate=False)
    lockstep = result_cycles(lockstep_res)
    assert rotating.timed < 0.9 * lockstep.timed, (rotating, lockstep)
    assert abs(res.chip.cycles / rotating.timed - 1) < 0.15, (res.chip.cycles, rotating)
