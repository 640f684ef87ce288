"""Cores sharing K/V reads over NoC multicast (settings.share_inputs): priced, emitted, simulated, and checked
to fail when the protocol is broken."""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
from cpp_check import check as check_cpp
from cpp_check import compile_cpp, needs_gxx

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.chip import GridShape, price_grid, price_shared, sharing_rects
from tteqsat.frontend import reference
from tteqsat.lowering.conformance import check_module
from tteqsat.lowering.host import HostProgram
from tteqsat.lowering.item_index import Integers, item_number
from tteqsat.lowering.mlir import emit_module
from tteqsat.mlir_text.parser import parse_module
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.timing import TimingReport, reached
from tteqsat.tools.timing_check import analytic_cycles, result_cycles

DRAM_BOUND = {"dram.total_gb_per_s": 16.0}
"""A chip whose DRAM these small kernels saturate on 8 or 16 cores: sharing pays there (fewer DRAM bytes) and is
chosen; on the real chips they are compute-bound, and the multicast handshake makes sharing slower."""
SHARE = {"settings.share_inputs": True, **DRAM_BOUND}
APART = {"settings.share_inputs": False, **DRAM_BOUND}
"""Per-core reads (sharing is on by default): the baseline sharing is measured against."""


def attention(q_heads: int = 4, kv_heads: int = 4, rows: int = 256, causal: bool = False) -> tq.Kernel:
    q = tq.tensor("q", (1, q_heads, rows, 64))
    k, v = (tq.tensor(n, (1, kv_heads, rows, 64)) for n in "kv")
    if kv_heads != q_heads:
        k, v = (tq.repeat(x, q_heads // kv_heads, axis=1) for x in (k, v))
    s = q @ k.mT * 0.125
    if causal:
        s = tq.where(tq.tri(rows, rows), s, -np.inf)
    return tq.kernel("gqa" if kv_heads != q_heads else "attention", tq.softmax(s) @ v)


def optimize(kernel: tq.Kernel, arch: str, share: bool, **kw) -> tq.Result:
    """The fused form (K and V read whole per q block; Blackhole would run the unfused baseline here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(kernel, load_arch(arch, SHARE if share else APART), blocks=(64,), cores=8,
                           **{"form": "fused", **kw})


_CACHE: dict[tuple, tq.Result] = {}


def result(arch: str = "wormhole_b0", share: bool = True, kv_heads: int = 4) -> tq.Result:
    key = (arch, share, kv_heads)
    if key not in _CACHE:
        _CACHE[key] = optimize(attention(kv_heads=kv_heads), arch, share)
    return _CACHE[key]


def run(res: tq.Result, text: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """`text` (the result's module, maybe broken) on every core with the result's host program."""
    sim = simulate(text, res.kernel_inputs(inputs), host=res.to_host(), precision="exact")
    return sim.outputs["out"].reshape(1, 4, 256, 64)


# -- pricing --------------------------------------------------------------------------------------------------
def test_a_shared_group_prices_one_dram_read_per_chunk_on_its_sender() -> None:
    grid = GridShape.of(load_arch("wormhole_b0"))
    cost = price_shared(grid, 16, 1000.0, 10_000, size=4, groups=2, fixed_cycles=0.0, page_bytes=2048,
                        shared_bytes=8_000, group_items=4)
    # 4 elements, 2 per group; each core runs one row block of each: the sender reads all 10 KB per item,
    # the three receivers their own 2 KB
    assert cost.shared == 4 and cost.group_runs == (2, 2) and cost.share_run == 4 and cost.core_items == (2,) * 8
    assert cost.dram_bytes == 2 * (2 * 10_000 + 3 * 2 * 2_000)
    alone = price_grid(grid, 16, 1000.0, 10_000, cores=8)
    assert alone.dram_bytes == 16 * 10_000 > cost.dram_bytes


def test_a_group_may_run_part_of_an_element() -> None:
    """Runs of 8 of an element's 16 items: 4 runs over 4 groups of 2 cores, each core 4 items of its run."""
    grid = GridShape.of(load_arch("blackhole"))
    cost = price_shared(grid, 32, 1000.0, 10_000, size=2, groups=4, fixed_cycles=0.0, page_bytes=2048,
                        shared_bytes=8_000, group_items=16, run=8)
    assert cost.group_runs == (1, 1, 1, 1) and cost.share_run == 8 and cost.core_items == (4,) * 8
    assert cost.dram_bytes == 4 * (4 * 10_000 + 4 * 2_000)
    with pytest.raises(ValueError, match="the group size must divide the run"):
        price_shared(grid, 32, 1000.0, 10_000, size=3, groups=4, fixed_cycles=0.0, page_bytes=2048,
                     shared_bytes=8_000, group_items=16, run=8)


def test_blackhole_dram_bound_heads_share_with_more_groups_than_heads() -> None:
    """B=1, H=32, S=4096, d=64 in 256-row q blocks: 16 blocks a head, 512 items. Whole-head groups cannot keep
    the 13x10 grid busy (32 heads, and at most 8 rectangles of 16 fit), so groups take part of a head (runs
    shorter than its 16 blocks) and most of the grid works, K/V read from DRAM once per group."""
    grid = GridShape.of(load_arch("blackhole"))
    kv, own = 2 * 4096 * 64 * 2, 2 * 256 * 64 * 2
    alone = price_grid(grid, 512, 400_000.0, kv + own, cores=128, shared_bytes=kv, group_items=16)
    shared = price_grid(grid, 512, 400_000.0, kv + own, shared_bytes=kv, group_items=16, share=True)
    assert alone.bound_by == "dram" and alone.shared == 1
    assert shared.shared > 1 and shared.share_run < 16 and len(shared.group_runs) * shared.shared >= 120
    assert sum(shared.group_runs) * shared.share_run == 512
    assert shared.cycles < alone.cycles and shared.dram_bytes < alone.dram_bytes


def test_groups_are_rectangles_that_tile_the_grid() -> None:
    def shapes(size: int, cols: int, rows: int) -> list[tuple[int, int]]:
        rects = sharing_rects(size, cols, rows)
        cells = [(x + i, y + j) for x, y, w, h in rects for i in range(w) for j in range(h)]
        assert len(cells) == len(set(cells)) == size * len(rects)  # disjoint, each of `size` cores ...
        assert all(0 <= x < cols and 0 <= y < rows for x, y in cells)  # ... on the grid
        return [(w, h) for _, _, w, h in rects]

    assert shapes(4, 8, 8) == [(4, 1)] * 16
    assert shapes(16, 8, 8) == [(8, 2)] * 4
    assert shapes(4, 13, 10) == [(4, 1)] * 30 + [(1, 4)] * 2  # Blackhole: the last column holds two more
    assert shapes(2, 13, 10) == [(1, 2)] * 65  # one shape where it holds as many
    assert sharing_rects(11, 8, 8) == ()
    assert sharing_rects(4, 13, 10)[30:] == ((12, 0, 1, 4), (12, 4, 1, 4))


def test_sharing_is_not_priced_where_no_group_fits_the_cores_asked_for() -> None:
    """One core asked for: no group of two fits, so the split is the one core's (this raised on an empty
    list of groups once the grid's rectangles became a list)."""
    grid = GridShape.of(load_arch("wormhole_b0"))
    cost = price_grid(grid, 4, 100.0, 1000, cores=1, shared_bytes=600, group_items=4, share=True,
                      handshake=lambda hops: (0.0, 0.0, 0.0))
    assert cost.cores == 1 and cost.shared == 1


def test_blackhole_groups_in_its_last_column_verify() -> None:
    """32 heads of causal attention in runs of four 256-row blocks: 32 groups of 4, the last two 1 x 4 in the
    grid's 13th column, whose cores the sampled verification runs (with their multicasts)."""
    q, k, v = (tq.tensor(n, (1, 32, 1024, 64)) for n in "qkv")
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(1024, 1024), q @ k.mT * 0.125, -np.inf)) @ v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(kernel, "blackhole", blocks=(256,), chunks=(512,))
    grid = res.schedule.grid
    assert grid is not None and grid.share is not None and res.chip.shared == 4
    assert grid.share.rects[-2:] == ((12, 0, 12, 3), (12, 4, 12, 7))
    n = len(grid.cores)
    assert res.verify(cores=list(range(n - 8, n)), precision="exact").max_abs_err < 0.05
    bad = replace(res, _mlir=None)  # the last group's multicast rectangle one core short
    bad.schedule = copy.copy(res.schedule)
    bad.schedule.grid = replace(grid, share=replace(grid.share, rects=grid.share.rects[:-1] + ((12, 4, 12, 6),)))
    with pytest.raises(tq.VerificationError, match="holds 2 cores besides the sender"):
        bad.verify(cores=list(range(n - 8, n)), precision="exact")


# -- emitted, parsed, conformant, simulated -------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_shared_attention_emits_the_multicast_protocol_and_verifies(arch: str) -> None:
    res = result(arch)
    grid = res.schedule.grid
    assert res.chip.shared > 1 and grid is not None and grid.share is not None
    text = res.to_mlir()
    ops = [op.name for f in parse_module(text).funcs() for op in _walk(f.regions[0].ops)]
    for name in ("noc_async_write_multicast", "noc_semaphore_set_multicast", "noc_semaphore_inc",
                 "experimental.semaphore_wait", "get_semaphore"):
        assert "ttkernel." + name in ops
    assert check_module(text) == []
    assert any("multicasts them" in n for n in res.warnings) and not any("priced only" in n for n in res.warnings)
    check = res.verify(cores="all", precision="exact")
    assert check.stats["verify.cores"] == len(grid.cores)
    unshared = result(arch, share=False)
    reads = unshared.verify(cores="all", precision="exact").stats["ops.ttkernel.noc_async_read_tile"]
    assert check.stats["ops.ttkernel.noc_async_read_tile"] < reads / 2  # K/V read once per group
    assert res.chip.dram_bytes < unshared.chip.dram_bytes
    # the price describes what runs: every tile the simulated readers and writers move, and no more
    moved = check.stats["ops.ttkernel.noc_async_read_tile"] + check.stats["ops.ttkernel.noc_async_write_tile"]
    assert res.chip.dram_bytes == moved * 2048


def test_hardware_precision_verifies_and_sampling_takes_whole_groups() -> None:
    res = result()
    grid = res.schedule.grid
    assert grid is not None and grid.share is not None
    check = res.verify(cores=[1])
    assert check.stats["verify.cores"] == len(grid.share.groups[0])


@needs_gxx
def test_shared_reader_compiles_and_maps_back_to_its_ops(tmp_path) -> None:
    res = result("blackhole")
    cpp = res.to_cpp()
    assert "noc_async_write_multicast(" in cpp["attention_reader"]
    assert check_cpp(res.to_mlir(), cpp) == []
    done = compile_cpp(tmp_path, cpp)
    assert done.returncode == 0, done.stderr


def test_host_program_declares_semaphores_and_groups_and_round_trips() -> None:
    res = result()
    host = res.to_host()
    assert len(host.semaphores) == 2 and host.share_groups
    assert HostProgram.from_json(host.to_json()) == host
    sender = host.cores[0].runtime_args["attention_reader"]
    receiver = host.cores[1].runtime_args["attention_reader"]
    assert sender[2] == 1 and receiver[2] == 0 and sender[3:] == receiver[3:]


def test_host_program_marks_the_core_coordinate_args_as_noc_coordinates_of_logical_cores() -> None:
    res = result()
    host = res.to_host()
    marked = {c.name: (c.kernel, c.x, c.y) for c in host.core_coordinates}
    assert marked == {"sender": ("attention_reader", 3, 4), "mcast_start": ("attention_reader", 5, 6),
                      "mcast_end": ("attention_reader", 7, 8)}
    doc = json.loads(host.to_json())["noc_coordinate_args"]
    assert doc["meaning"].startswith("NoC coordinates of logical core (x, y)")
    assert "worker_core_from_logical_core" in doc["meaning"]
    share = res.schedule.grid.share
    for core in host.cores:  # the marked args hold logical cores: the sender and its rectangle's corners
        args = core.runtime_args["attention_reader"]
        group = share.groups[next(g for g, m in enumerate(share.groups) if share.coords.index((core.x, core.y)) in m)]
        assert (args[3], args[4]) == share.coords[group[0]]
        assert (*args[5:7], *args[7:9]) == share.rects[share.groups.index(group)]
    unshared = result(share=False).to_host()
    assert unshared.core_coordinates == () and "noc_coordinate_args" not in unshared.to_json()
    off = list(host.cores[0].runtime_args["attention_reader"])
    off[3] = 99  # a sender outside the grid
    bad = replace(host, cores=(replace(host.cores[0], runtime_args={**host.cores[0].runtime_args,
                                                                     "attention_reader": tuple(off)}),
                               *host.cores[1:]))
    assert any("sender (99, 0) of kernel attention_reader is not a logical core" in p for p in bad.problems())


def test_a_shared_result_reoptimizes_with_its_own_settings() -> None:
    """The rule derivation (CLI --report, rule_stats) re-runs the optimization: the sharing note once
    overwrote the `blocks` argument the re-run passes on ("argument of type 'int' is not iterable")."""
    res = result()
    again = res.reoptimize(res.rulesets)
    assert again.chip.shared == res.chip.shared > 1 and again.cost_cycles == res.cost_cycles


def test_the_html_report_says_the_cores_share_their_reads() -> None:
    from tteqsat.tools.html_report import render_html

    res = result()
    text = render_html(res)
    assert f"groups of {res.chip.shared}: one core of each reads" in text
    assert "groups of" not in render_html(result(share=False)).split("<h2>Grid</h2>")[1].split("</p>")[0]


def test_gqa_shares_k_and_v_among_the_cores_of_a_kv_group() -> None:
    """Four q heads over one kv head: the element view stacks a kv group's q heads (one element), whose row
    blocks spread over a group of cores that reads K and V once."""
    res = result(kv_heads=1)
    grid = res.schedule.grid
    assert res.chip.shared > 1 and grid is not None and grid.share is not None
    assert res.view is not None and res.view.group == 4
    assert res.chip.dram_bytes < result(share=False, kv_heads=1).chip.dram_bytes
    check = res.verify(cores="all", precision="exact")
    assert check.stats["ops.ttkernel.noc_async_write_multicast"] > 0
    moved = check.stats["ops.ttkernel.noc_async_read_tile"] + check.stats["ops.ttkernel.noc_async_write_tile"]
    assert res.chip.dram_bytes == moved * 2048


PARTIAL = {**SHARE, "dram.total_gb_per_s": 64.0, "chip.grid_cols": 6, "chip.grid_rows": 3}
"""A 6x3 grid whose DRAM (4x the test chip's) makes sharing pay with runs of part of a head."""


def partial() -> tq.Result:
    """(1, 2, 1024, 64) attention, 16 blocks a head, on up to 16 cores of a 6x3 grid: whole-head groups would
    need two 8-core rectangles (one fits) or one of 16 (none fits), so groups take runs of a head's blocks (on
    Blackhole 3 groups of 4 cores over runs of 4, on Wormhole 8 groups of 2 over runs of 2), several items a core
    (so the run arithmetic matters). Blackhole's streaming form is pinned: its fused form (1.08x cheaper since
    the packer's measured rates, one group of 8 over whole runs of 8) does not cover part of a head."""
    key = ("partial", "blackhole")
    if key not in _CACHE:
        arch = load_arch("blackhole", PARTIAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE[key] = tq.optimize(attention(2, 2, rows=1024), arch, blocks=(64,), cores=16, form="streaming")
    return _CACHE[key]


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_groups_that_cover_part_of_a_head_verify_and_move_what_is_priced(arch: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = (partial() if arch == "blackhole" else
               tq.optimize(attention(2, 2, rows=1024), load_arch(arch, PARTIAL), blocks=(64,), cores=16))
    grid = res.schedule.grid
    assert grid is not None and grid.share is not None and grid.blocks == 16
    assert res.chip.share_run < grid.blocks and len(grid.share.groups) > 2  # more groups than heads
    assert grid.run_stride == res.chip.share_run
    assert any(f"runs of {res.chip.share_run} of an element's 16" in n for n in res.warnings)
    check = res.verify(cores="all", precision="exact")
    assert check.stats["verify.cores"] == len(grid.cores) >= 12
    assert check.stats["ops.ttkernel.noc_async_write_multicast"] > 0
    moved = check.stats["ops.ttkernel.noc_async_read_tile"] + check.stats["ops.ttkernel.noc_async_write_tile"]
    assert res.chip.dram_bytes == moved * 2048
    unshared = tq.optimize(attention(2, 2, rows=1024),
                           load_arch(arch, {**PARTIAL, "settings.share_inputs": False}),
                           blocks=(64,), cores=16)
    assert res.chip.dram_bytes < unshared.chip.dram_bytes / 1.5


def test_part_of_a_head_with_whole_head_arithmetic_fails() -> None:
    """The checks above can fail: emitting the partial plan with a run stride of a whole head makes cores
    compute some items twice (or past the end) and others never."""
    res = partial()
    grid = res.schedule.grid
    assert grid is not None and grid.stride
    wrong = replace(grid, stride=0)
    assert any(wrong.core_items(n) != grid.core_items(n) for n in range(len(grid.cores)))
    text = emit_module(replace(res.schedule, grid=wrong))
    inputs = res.kernel_inputs(reference.random_inputs(res.kernel, 0))
    with pytest.raises(SimulationError, match=r"\d+ of 128 tiles never written"):
        simulate(text, inputs, host=res.to_host(), precision="exact")


@pytest.mark.parametrize("which", ["whole heads", "part of a head"])
def test_the_emitted_item_arithmetic_is_the_plans(which: str) -> None:
    res = result() if which == "whole heads" else partial()
    grid = res.schedule.grid
    assert grid is not None and grid.run
    for n, (first, count) in enumerate(grid.cores):
        got = [item_number(Integers(), first, k, grid.run, grid.run_stride) for k in range(count)]
        assert got == grid.core_items(n)
    covered = sorted(i for n in range(len(grid.cores)) for i in grid.core_items(n))
    assert covered == list(range(res.items))


def test_a_causal_kernel_that_skips_chunks_shares_in_ranked_groups() -> None:
    """Its items visit different chunks, so groups are ranked, their sender running the longest block
    (tests/test_ranked_share.py has the rest); with the handshake priced dear, each core reads its own."""
    res = optimize(attention(causal=True), "wormhole_b0", True, form="streaming")
    assert res.schedule.loop is not None and res.schedule.loop.live is not None  # items visit different chunks
    grid = res.schedule.grid
    assert res.chip.shared > 1 and grid is not None and grid.ranked == res.chip.shared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dear = tq.optimize(attention(causal=True), load_arch("wormhole_b0", {**SHARE, "noc.write_latency": 1e6}),
                           blocks=(64,), cores=8, form="streaming")
    assert dear.chip.shared == 1 and dear.schedule.grid is not None and dear.schedule.grid.share is None
    assert any("did not price cheaper" in n for n in dear.warnings)


# -- timing ----------------------------------------------------------------------------------------------------
def timed(res: tq.Result, text: str | None = None, arch=None) -> TimingReport:
    """The timing simulator on every core of `res` (its module, or `text`)."""
    inputs = res.kernel_inputs(reference.random_inputs(res.kernel, 0))
    sim = simulate(text or res.to_mlir(), inputs, host=res.to_host(), timing=True, arch=arch)
    assert sim.timing is not None
    return sim.timing


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_a_shared_kernel_is_timed_core_by_core_with_semaphore_stalls(arch: str) -> None:
    res = result(arch)
    share = res.schedule.grid.share
    report = timed(res)
    assert [c.core for c in report.cores] == [tuple(xy) for xy in share.coords]  # every core, its own clocks
    assert report.wall == max(c.wall for c in report.cores)
    senders = {share.coords[g[0]] for g in share.groups}
    for core in report.cores:
        reader = core.thread("reader").stalls
        if core.core in senders:  # it waits for its multicasts' acknowledgements, never for valid
            assert reader["noc multicast (transfer, latency and acknowledgements)"] > 0
            assert "semaphore 1" not in reader
        else:  # a receiver waits for the sender's valid (semaphore 1) once per shared block
            assert reader["semaphore 1"] > 0 and "noc multicast (transfer, latency and acknowledgements)" not in reader


def test_the_timing_simulator_gives_a_sender_the_share_of_dram_its_bytes_need() -> None:
    """Without `sharing_cores` (`tteqsat sim --timing --host`), a shared program's cores split the bandwidth by
    what they move, as Result.streaming_cores and the chip model do; an even split over every core starved the
    senders (the CLI timed Blackhole's shared (1, 32, 1024, 128) attention at 265,239 cycles, verify at 200,137).
    With a static share the simulator runs the program again at that share; work-conservingly (the default) the
    cores' transfers in a first run at the even split give it (`tteqsat.sim.dram_share`), within 1 %."""
    res = result()
    inputs = res.kernel_inputs(reference.random_inputs(res.kernel, 0))
    cores = len(res.schedule.grid.cores)

    def timed(**kw) -> TimingReport:
        report = simulate(res.to_mlir(), inputs, host=res.to_host(), timing=True, arch=res.arch, **kw).timing
        assert report is not None
        return report

    report = timed(dram_sharing="static")
    assert report.sharing_cores == pytest.approx(res.streaming_cores())
    assert report.sharing_cores < cores
    senders = {res.schedule.grid.share.coords[g[0]] for g in res.schedule.grid.share.groups}
    assert all(c.dram_bytes > 0 for c in report.cores)
    assert min(c.dram_bytes for c in report.cores if c.core in senders) > max(
        c.dram_bytes for c in report.cores if c.core not in senders)
    even = timed(dram_sharing="static", sharing_cores=cores)
    shared = timed()
    assert shared.runs > 1 and shared.wall == pytest.approx(report.wall, rel=0.01)
    assert shared.wall < 0.5 * even.wall


def test_a_semaphore_wait_takes_the_earliest_time_its_value_held() -> None:
    """Writes the functional run made in one order may land in another: the history, not the last write, says
    when the awaited value held from the waiter's clock on."""
    history = [(0, 10.0), (1, 50.0), (0, 60.0), (1, 200.0)]
    assert reached(history, 1, 55.0) == 55.0  # 1 held from 50 to 60
    assert reached(history, 1, 70.0) == 200.0  # it ended at 60; the next 1 lands at 200
    assert reached(history, 0, 300.0) == 300.0 and reached([], 3, 5.0) == 5.0


@pytest.mark.parametrize(("arch", "kv_heads"), [("wormhole_b0", 4), ("blackhole", 4), ("wormhole_b0", 1)])
def test_the_analytic_model_prices_shared_kernels_within_tolerance(arch: str, kv_heads: int) -> None:
    res = result(arch, kv_heads=kv_heads)
    assert res.schedule.grid.share is not None
    priced = result_cycles(res)
    assert priced.agrees(), priced


def test_a_mispriced_handshake_is_caught_by_the_check() -> None:
    """The timing simulator with NoC writes 100x slower than the analytic model's: outside the tolerance."""
    res = result()
    slow = res.arch.with_overrides({"noc.write_latency": 4000.0})
    assert not result_cycles(res, timing_arch=slow).agrees()


def test_the_handshake_is_in_the_analytic_price() -> None:
    res = result()
    dear = res.arch.with_overrides({"noc.write_latency": 1e6})
    assert analytic_cycles(replace(res, arch=dear)) > analytic_cycles(res) + 1e6
    grid = GridShape.of(res.arch)
    args = (grid, 16, 1000.0, 10_000, 4, 2, 0.0, 2048, 8_000, 4)
    assert price_shared(*args, sync_cycles=1e6).cycles > price_shared(*args).cycles + 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        costly = tq.optimize(attention(), load_arch("wormhole_b0", {**SHARE, "noc.write_latency": 1e6}),
                             blocks=(64,), cores=8)
    assert costly.chip.shared == 1 and result().chip.shared == 4  # too dear to share: per-core reads win


def test_a_broken_protocol_still_fails_when_timed() -> None:
    res = result()
    broken = _drop(res.to_mlir(), '"ttkernel.noc_semaphore_inc"(%sender_ready')
    with pytest.raises(SimulationError, match="deadlock.*for semaphore 0 to equal"):
        timed(res, broken)
    no_barrier = _drop(res.to_mlir(), '"ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()\n', count=1)
    with pytest.raises(SimulationError, match="before noc_async_write_barrier completed the multicast"):
        timed(res, no_barrier)


def test_a_partial_group_is_refused() -> None:
    res = result()
    host = res.to_host()
    inputs = reference.random_inputs(res.kernel, 0)
    with pytest.raises(SimulationError, match="a group runs whole|run whole share groups"):
        simulate(res.to_mlir(), res.kernel_inputs(inputs), host=replace(host, cores=host.cores[:1]))


# -- broken protocols fail ------------------------------------------------------------------------------------
def _drop(text: str, needle: str, count: int = -1) -> str:
    lines = text.splitlines(keepends=True)
    hits = [n for n, line in enumerate(lines) if needle in line]
    assert hits, needle
    drop = set(hits if count < 0 else hits[:count])
    return "".join(line for n, line in enumerate(lines) if n not in drop)


def test_the_intact_module_matches_the_oracle() -> None:
    res = result()
    inputs = reference.random_inputs(res.kernel, 0)
    want = reference.evaluate(res.kernel, inputs)["out"]
    got = run(res, res.to_mlir(), inputs)
    assert np.max(np.abs(got - want)) < 0.05


def test_a_receiver_that_does_not_wait_for_the_data_fails() -> None:
    res = result()
    broken = _drop(res.to_mlir(), '"ttkernel.experimental.semaphore_wait"(%sem_valid_ptr, %c1)')
    inputs = reference.random_inputs(res.kernel, 0)
    want = reference.evaluate(res.kernel, inputs)["out"]
    try:
        got = run(res, broken, inputs)
    except SimulationError as e:  # the sender's count of ready receivers overshoots, or its data lands late
        assert "deadlock" in str(e) or "has not reserved" in str(e)
    else:
        assert np.max(np.abs(got - want)) > 0.5


def test_a_sender_that_does_not_wait_for_the_receivers_fails() -> None:
    res = result()
    broken = _drop(res.to_mlir(), '"ttkernel.experimental.semaphore_wait"(%sem_ready_ptr, %receivers)')
    with pytest.raises(SimulationError, match="which that core has not reserved"):
        run(res, broken, reference.random_inputs(res.kernel, 0))


def test_a_multicast_to_the_wrong_address_fails() -> None:
    res = result()
    text = res.to_mlir()
    wrong = text.replace("%mcast_y_end, %l1_1, %noc)", "%mcast_y_end, %dst_wrong, %noc)").replace(
        '    %bytes1 = "arith.muli"', '    %dst_wrong = "arith.addi"(%l1_1, %ts1) : (i32, i32) -> i32\n'
        '    %bytes1 = "arith.muli"', 1)
    assert wrong != text and "%dst_wrong, %noc)" in wrong
    with pytest.raises(SimulationError, match="past the end of cb|has not reserved"):
        run(res, wrong, reference.random_inputs(res.kernel, 0))


def test_a_sender_that_pushes_before_its_multicast_completed_fails() -> None:
    res = result()
    broken = _drop(res.to_mlir(), '"ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()\n', count=1)
    with pytest.raises(SimulationError, match="before noc_async_write_barrier completed the multicast"):
        run(res, broken, reference.random_inputs(res.kernel, 0))


def test_receivers_that_never_signal_deadlock_with_a_clear_message() -> None:
    res = result()
    broken = _drop(res.to_mlir(), '"ttkernel.noc_semaphore_inc"(%sender_ready')
    with pytest.raises(SimulationError, match="deadlock.*for semaphore 0 to equal"):
        run(res, broken, reference.random_inputs(res.kernel, 0))


def _walk(ops):
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


def test_a_receiver_that_pushes_before_the_data_landed_fails() -> None:
    """It signals ready once per block, as it should, but waits for nothing (valid is 0 right after it clears
    it): its compute reads the pages before the sender's multicast fills them, and it runs ahead signalling
    ready for blocks the sender has not sent (the sender's count passes the number it waits for)."""
    res = result()
    text = res.to_mlir()
    early = text.replace('"ttkernel.experimental.semaphore_wait"(%sem_valid_ptr, %c1)',
                         '"ttkernel.experimental.semaphore_wait"(%sem_valid_ptr, %c0)')
    assert early != text
    inputs = reference.random_inputs(res.kernel, 0)
    want = reference.evaluate(res.kernel, inputs)["out"]
    try:
        got = run(res, early, inputs)
    except SimulationError as e:
        assert "has not reserved" in str(e) or "for semaphore 0 to equal 3 (it is" in str(e)
    else:
        assert np.max(np.abs(got - want)) > 0.5
