"""Attention at real sizes: N-D tensors, the batch axes and row blocks as parallel maps, the chip model."""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import replace

import numpy as np
import pytest
from egglog import EGraph, rewrite

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.chip import CoreLoad, GridShape, price_cores, price_grid
from tteqsat.egraph import binary, insert_kernel, rowblock, serialize
from tteqsat.egraph.saturate import saturate
from tteqsat.frontend.batch import element_view
from tteqsat.frontend.reference import evaluate, random_inputs
from tteqsat.rulecheck import check_rule
from tteqsat.rules import Rule, shipped_rulesets
from tteqsat.rules.vars import a, b
from tteqsat.rules.vars import n as height


def attention(shape_q, shape_kv, group: int = 1) -> tq.Kernel:
    q, k, v = tq.tensor("q", shape_q), tq.tensor("k", shape_kv), tq.tensor("v", shape_kv)
    if group > 1:
        k, v = tq.repeat(k, group, axis=1), tq.repeat(v, group, axis=1)
    return tq.kernel("attention", tq.softmax(q @ k.mT * shape_q[-1] ** -0.5) @ v)


@functools.cache
def optimized(shape_q, shape_kv, arch: str = "wormhole_b0", **kw) -> tq.Result:
    """`attention(shape_q, shape_kv)` optimized once per session: several tests here (and test_ragged.py's full
    attention at (1, 32, 4096, 128)) read the same result; one that patches the emitter re-emits a copy."""
    return tq.optimize(attention(shape_q, shape_kv), arch, **kw)


def numpy_attention(q, k, v, group: int = 1):
    """Written independently of tteqsat: plain numpy on the full arrays."""
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s = q.astype(np.float64) @ np.swapaxes(k, -1, -2) * q.shape[-1] ** -0.5
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


# -- the DSL ---------------------------------------------------------------------------------------------
def test_nd_tensors_follow_numpy() -> None:
    kernel = attention((2, 4, 64, 32), (2, 2, 128, 32), group=2)
    assert kernel.batch == (2, 4) and kernel.outputs[0][1].full_shape == (2, 4, 64, 32)
    inputs = random_inputs(kernel, seed=1)
    want = numpy_attention(inputs["q"], inputs["k"], inputs["v"], group=2)
    assert np.allclose(evaluate(kernel, inputs)["out"], want, rtol=1e-5, atol=1e-6)


def test_batch_axes_broadcast_like_numpy() -> None:
    x, b = tq.tensor("x", (3, 1, 32, 64)), tq.tensor("b", (5, 1, 64))
    y = tq.exp(x) + b
    assert y.shape == (3, 5, 32, 64)
    inputs = {"x": np.ones((3, 1, 32, 64), np.float32), "b": np.arange(5 * 64, dtype=np.float32).reshape(5, 1, 64)}
    out = evaluate(tq.kernel("k", y), inputs)["out"]
    assert np.allclose(out, np.exp(inputs["x"]) + inputs["b"])


@pytest.mark.parametrize("build, message", [
    (lambda: tq.tensor("x", (2, 32, 32)).T, "use `.mT`"),
    (lambda: tq.tensor("x", (2, 32, 32)).sum(axis=0), "axis 0 is a batch axis"),
    (lambda: tq.repeat(tq.tensor("x", (2, 32, 32)), 2, axis=-1), "not a batch axis"),
    (lambda: tq.repeat(tq.tensor("x", (2, 32, 32)), 0, axis=0), "positive integer"),
    (lambda: tq.tensor("x", (2, 32, 32)) + tq.tensor("y", (3, 32, 32)), "batch axes do not broadcast"),
    (lambda: tq.kernel("k", {"a": tq.exp(tq.tensor("x", (2, 32, 32))), "b": tq.exp(tq.tensor("y", (32, 32)))}),
     "share their batch axes"),
])
def test_nd_mistakes_name_the_problem(build, message: str) -> None:
    with pytest.raises(tq.KernelError, match=message) as info:
        build()
    assert "test_grid.py" in str(info.value)  # the user's line


def test_numpy_scalars_are_scalars() -> None:
    x = tq.tensor("x", (32, 32))
    y = x * np.float32(0.5) + np.float64(1.0)
    assert y.node.op == "add_s" and y.node.inputs[0].op == "mul_s"


def test_element_view_slices_each_input_as_numpy_would() -> None:
    q, k = tq.tensor("q", (2, 4, 32, 32)), tq.tensor("k", (2, 2, 32, 32))
    both = q @ tq.repeat(k, 2, axis=1).mT + tq.exp(q.sum(axis=-1))
    kernel = tq.kernel("k", both @ tq.repeat(k, 2, axis=1))
    view = element_view(kernel)
    assert view.batch == (2, 2) and view.group == 2  # every op is row-wise: the two q heads of a K head stack
    inputs = random_inputs(kernel, seed=3)
    full = view.output_as_written(evaluate(kernel, inputs)["out"])
    for n in range(view.elements):
        got = evaluate(view.kernel, view.element_inputs(inputs, n))["out"]
        assert np.array_equal(got, full[view.element_index(n)])


def test_an_input_read_two_ways_becomes_two_element_inputs() -> None:
    k = tq.tensor("k", (1, 2, 32, 32))
    kernel = tq.kernel("k", tq.repeat(k, 2, axis=1) + tq.exp(tq.repeat(k, 2, axis=1)) + tq.repeat(tq.exp(k), 2, 1))
    assert [e.tensor for e in element_view(kernel).inputs] == ["k"]  # one index map: one element input
    direct_and_repeated = tq.kernel("d", tq.repeat(k, 2, axis=1) + tq.tensor("z", (1, 4, 32, 32)) * tq.sqrt(
        tq.repeat(tq.tensor("w", (1, 1, 32, 32)), 4, axis=1)))
    assert [e.name for e in element_view(direct_and_repeated).inputs] == ["k", "z", "w"]
    twice = tq.kernel("t", tq.tensor("u", (2, 32, 32)) + tq.repeat(tq.tensor("u2", (1, 32, 32)), 2, 0))
    assert len(element_view(twice).inputs) == 2
    mixed = tq.kernel("m", tq.exp(tq.tensor("x", (1, 4, 32, 32))) + tq.repeat(tq.tensor("y", (1, 2, 32, 32)), 2, 1))
    assert [(e.name, e.axes[1].divisor) for e in element_view(mixed).inputs] == [("x", 1), ("y", 2)]


# -- row maps in the e-graph -------------------------------------------------------------------------------
def _graph(kernel: tq.Kernel):
    eg = EGraph()
    insert_kernel(eg, kernel)
    saturate(eg, shipped_rulesets())
    return serialize(eg)


def test_row_separable_outputs_are_maps_over_row_blocks() -> None:
    graph = _graph(attention((256, 64), (512, 64)))
    assert graph.block_heights() == [32, 64, 128]


def test_an_output_that_needs_every_row_is_not_mapped() -> None:
    x = tq.tensor("x", (256, 64))
    assert _graph(tq.kernel("k", tq.exp(x).sum(axis=0))).block_heights() == []


def test_the_soundness_checker_refuses_a_wrong_row_block_rule() -> None:
    swapped = binary("sub", rowblock(b, height), rowblock(a, height))  # the operands the wrong way round
    bad = Rule("block-of-sub-swapped", rewrite(rowblock(binary("sub", a, b), height)).to(swapped))
    result = check_rule(bad)
    assert not result.sound and result.counterexample


# -- the chip model ----------------------------------------------------------------------------------------
def test_uneven_splits_and_fewer_items_than_cores_are_priced() -> None:
    grid = GridShape.of(load_arch("wormhole_b0"))
    assert grid.cores == 64 and grid.launch_cycles > 0
    uneven = price_grid(grid, 130, 1000.0, 0)  # 3 items on the slowest core; 44 cores manage that too
    assert uneven.items_per_core == 3 and uneven.cycles == grid.launch_cycles + 3000.0 and uneven.cores == 44
    assert sum(uneven.per_core_items()) == 130 and max(uneven.per_core_items()) == 3
    assert price_grid(grid, 130, 1000.0, 0, cores=64).per_core_items()[:3] == [3, 3, 2]
    few = price_grid(grid, 5, 1000.0, 0)
    assert few.cores == 5 and few.cycles == grid.launch_cycles + 1000.0


def test_shared_dram_bounds_a_wide_grid() -> None:
    grid = GridShape.of(load_arch("wormhole_b0"))
    one = price_grid(grid, 64, 1000.0, 100_000, cores=1)
    wide = price_grid(grid, 64, 1000.0, 100_000, cores=64)
    assert wide.bound_by == "dram" and one.bound_by == "noc"
    assert wide.cycles == pytest.approx(grid.launch_cycles + 64 * 100_000 / grid.dram_rate())
    per_item = {c.cores: c.core_data_cycles / c.items_per_core for c in (one, wide)}
    assert per_item[64] > 4 * per_item[1]  # each core's share of DRAM shrinks as more cores read at once


def test_small_pages_pay_the_dram_request_rate() -> None:
    """tt-metal #55898: a Blackhole DRAM endpoint takes one read request per ~16 cycles per NoC, so bfp4 tiles
    (576 B) cannot fill a channel from one NoC, bf16 tiles can; a second NoC doubles the request rate."""
    grid = GridShape.of(load_arch("blackhole"))
    full = grid.dram_rate(2048)
    assert grid.dram_rate(576) < 0.8 * full and grid.dram_rate(576, nocs=2) == pytest.approx(full)
    assert full == pytest.approx(grid.dram_bytes_per_cycle * grid.dram_sustained)


def test_a_core_that_finishes_early_leaves_its_dram_share_to_the_rest() -> None:
    """Work-conserving DRAM: one core with twice the bytes of the others ends sooner than at a fixed 1/n
    share (the others stop reading halfway) and later than its bytes alone at the whole rate."""
    grid = GridShape.of(load_arch("wormhole_b0"))
    rate = grid.dram_rate()
    loads = [CoreLoad(2, 10.0, 2e6)] + [CoreLoad(1, 10.0, 1e6)] * 9
    cost = price_cores(grid, loads)
    fixed_share = 2e6 / (rate / 10)
    assert cost.bound_by == "dram" and cost.items_per_core == 2
    assert 2e6 / min(rate, grid.noc_bytes_per_cycle) < cost.core_data_cycles < fixed_share
    assert cost.core_data_cycles == pytest.approx(10 * 1e6 / rate + 1e6 / min(rate, grid.noc_bytes_per_cycle))


def test_sharing_k_and_v_among_the_cores_of_a_head_cuts_dram_not_noc_traffic() -> None:
    grid = GridShape.of(load_arch("blackhole"))
    # 32 heads x 64 q blocks; each block reads 1 MB of K/V (shared by its head) and 64 KB of its own
    alone = price_grid(grid, 32 * 64, 20_000.0, 1_064_000, cores=grid.cores, shared_bytes=1_000_000, group_items=64)
    shared = price_grid(grid, 32 * 64, 20_000.0, 1_064_000, cores=grid.cores, shared_bytes=1_000_000,
                        group_items=64, share=True)
    assert alone.bound_by == "dram" and alone.shared == 1
    assert shared.shared > 1 and sum(shared.group_runs) * shared.share_run == 32 * 64 and 64 % shared.shared == 0
    assert shared.cores == shared.shared * len(shared.group_runs) <= grid.cores
    assert shared.dram_bytes < alone.dram_bytes / 2 and shared.cycles < alone.cycles
    assert shared.core_data_cycles >= shared.items_per_core * 1_064_000 / grid.noc_bytes_per_cycle


# -- whole attention over the grid ---------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
@pytest.mark.parametrize("shape", [(1, 32, 4096, 128), (1, 8, 16384, 64)])
def test_real_attention_shapes_optimize_over_the_grid(shape, arch: str) -> None:
    """(How long it takes is a benchmark's business: benchmarks/chip_attention.py prints it.)"""
    res = optimized(shape, shape, arch)
    assert res.chip is not None and res.chip.cores > 1 and res.block and res.block < shape[-2]
    assert res.cost_cycles < res.baseline_cycles or not res.alternatives["baseline"].feasible
    summary = res.summary()
    for key in ("chip_us", "cores", "q_block", "k_chunk", "bound_by", "dram_bytes"):
        assert key in summary


def test_bigger_q_blocks_cut_dram_traffic() -> None:
    kernel = attention((1, 8, 1024, 64), (1, 8, 1024, 64))
    traffic = {}
    for h in (32, 256):
        res = tq.optimize(kernel, load_arch("wormhole_b0", {"settings.share_inputs": False}), form="streaming",
                          blocks=(h,))  # per-core reads: shared, K and V are read once per group whatever the block
        assert res.block == h
        traffic[h] = res.chip.dram_bytes
    assert traffic[256] < traffic[32] / 3  # K and V are read once per q block


def test_one_head_written_in_2d_works() -> None:
    res = tq.optimize(attention((4096, 128), (4096, 128)), "wormhole_b0")
    assert res.chip.cores > 1
    assert res.verify(cores=[0]).stats["verify.items"] >= 1


def test_small_batched_attention_verifies_on_every_core() -> None:
    res = optimized((1, 2, 256, 64), (1, 2, 256, 64))
    grid = res.schedule.grid
    assert grid is not None and len(grid.cores) > 1
    ver = res.verify(cores="all")
    assert ver.stats["verify.items"] == res.items and ver.max_rel_err < ver.tolerance


def test_every_core_of_a_medium_attention_verifies_within_a_minute() -> None:
    res = tq.optimize(attention((1, 8, 1024, 128), (1, 8, 1024, 128)))
    start = time.perf_counter()
    ver = res.verify(cores="all")
    assert time.perf_counter() - start < 60
    assert ver.stats["verify.cores"] == len(res.schedule.grid.cores) > 8


def test_an_uneven_split_runs_several_items_per_core_and_verifies() -> None:
    res = optimized((1, 3, 256, 64), (1, 3, 256, 64), cores=5, blocks=(32,))  # 24 items, 5 cores
    counts = [c for _, c in res.schedule.grid.cores]
    assert len(counts) == 5 and max(counts) == 5 and min(counts) == 4
    assert res.sample_cores() == [0, 4] and counts[4] != counts[0]
    ver = res.verify()
    assert ver.stats["verify.cores"] == 2 and ver.stats["verify.items"] == counts[0] + counts[-1]


def test_a_wrong_item_offset_fails_verification(monkeypatch) -> None:
    """The check is not vacuous: a reader that ignores the batch element reads head 0 for every head."""
    import tteqsat.lowering.mlir as mlir

    res = replace(optimized((1, 2, 256, 64), (1, 2, 256, 64)), _mlir=None)  # emitted anew under the patch
    real = mlir._item_tiles

    def element_zero(schedule, name):  # keep the block offset, forget the batch element's matrix
        tiles = real(schedule, name)
        return tiles and replace(tiles, terms=())

    monkeypatch.setattr(mlir, "_item_tiles", element_zero)
    with pytest.raises(tq.VerificationError, match="16 of 32 tiles never written"):  # head 1's rows
        res.verify(cores="all")


def test_grouped_query_attention_verifies() -> None:
    kernel = attention((2, 8, 2048, 64), (2, 2, 2048, 64), group=4)
    res = tq.optimize(kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ver = res.verify()
    assert ver.max_rel_err < ver.tolerance
    assert {a.tensor for a in res.schedule.grid.layouts.values()} == {"q", "k", "v", "out"}


@pytest.mark.parametrize("name", ["softmax", "rmsnorm"])
def test_row_ops_over_a_big_matrix_split_over_the_grid(name: str) -> None:
    x, w = tq.tensor("x", (8192, 4096)), tq.tensor("w", (1, 4096))
    out = tq.softmax(x) if name == "softmax" else x * tq.rsqrt((x * x).mean(axis=-1) + 1e-6) * w
    res = tq.optimize(tq.kernel(name, out), "wormhole_b0")
    assert res.block and res.chip.cores > 1
    ver = res.verify()
    assert ver.max_rel_err < ver.tolerance


def test_the_reports_show_the_grid() -> None:
    from tteqsat.tools.html_report import render_html
    from tteqsat.tools.report import chip_line

    res = optimized((1, 3, 256, 64), (1, 3, 256, 64), cores=5, blocks=(32,))
    line = chip_line(res)
    assert line.startswith("grid: 24 work items (row blocks of 32) on 5 of 64 cores, 5 on the first 4, 4 on the rest")
    assert f"bound by {res.chip.bound_by}" in line and f"{res.chip.dram_bytes:,} DRAM bytes" in line
    html = render_html(res)
    assert "<h2>Grid</h2>" in html and 'id="cores"' in html and "of the whole chip" in html
    assert chip_line(tq.optimize(attention((32, 64), (64, 64)))) == ""  # one item on one core: nothing to say


def test_asking_for_a_height_the_kernel_does_not_offer_says_so() -> None:
    x = tq.tensor("x", (256, 64))
    with pytest.raises(tq.KernelError, match=r"not a map over row blocks of 32 rows \(row-block heights it offers: "
                                             r"none\)"):
        tq.optimize(tq.kernel("k", tq.exp(x).sum(axis=0)), blocks=(32,))
