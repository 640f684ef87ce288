"""The chip model prices each core the way the per-core pipeline does at the DRAM rate the core gets (its fill,
its reader's waits; a sharing group's sender reading for its group), with DRAM shared work-conservingly, and
agrees with the timing simulator on DRAM-bound kernels, shared and not (issue 10)."""

from __future__ import annotations

import warnings

import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.chip import CoreLoad, CorePipeline, GridShape, price_cores, price_grid
from tteqsat.cost.model import TensixCostModel
from tteqsat.scheduling.timing import kernel_cycles, rate_pipeline
from tteqsat.tools.timing_check import analytic_cycles, result_cycles

TOLERANCE = 0.10  # the chip model's core time against the timing simulator's wall, on DRAM-bound kernels
SLOW_DRAM = {"dram.total_gb_per_s": 16.0}  # tests/test_kv_share.py's chip: these small kernels saturate its DRAM


def fill_and_stream(fill_bytes: float, item_bytes: float, item_compute: float) -> CorePipeline:
    """A core that reads `fill_bytes` before its compute starts, then streams each item's bytes one item ahead of
    its compute, and computes the last item after its read (the pipeline's shape: linear in 1 / rate on each side
    of where compute and reads cross)."""
    def sample(items: int, rate: float) -> float:
        return fill_bytes / rate + items * max(item_compute, item_bytes / rate) + item_compute

    return CorePipeline(sample, tuple(40.0 / 2 ** (k / 2) for k in range(22, -1, -1)))


def test_a_pipeline_is_read_linearly_in_the_inverse_rate_and_extended_by_items() -> None:
    pipe = fill_and_stream(1000.0, 4000.0, 100.0)
    for rate in (40.0, 20.0, 2.5, 0.5):  # sampled rates: exact
        assert pipe.cycles(1, rate) == pytest.approx(1000 / rate + max(100, 4000 / rate) + 100)
    assert pipe.cycles(7, 4.0) == pytest.approx(1000 / 4 + 7 * 1000 + 100)  # between samples, both sides linear
    assert pipe.cycles(2, 80.0) == pipe.cycles(2, 40.0)  # no faster than the fastest rate it takes
    assert pipe.cycles(1, 0.001) == pytest.approx(5000 / 0.001 + 100)  # below the samples: the lowest segment
    with pytest.raises(ValueError, match="ascending positive rates"):
        CorePipeline(lambda n, r: 0.0, (2.0, 1.0))


def test_cores_at_one_share_cost_their_pipeline_at_that_share_plus_the_launch() -> None:
    """Every core alike: each gets the aggregate over the cores, and costs its pipeline there; the old model
    (compute against bytes) misses the fill, and says less."""
    grid = GridShape.of(load_arch("blackhole"))
    pipe = fill_and_stream(100_000.0, 200_000.0, 30_000.0)
    share = grid.dram_rate() / 64
    cost = price_cores(grid, [CoreLoad(2, 60_000.0, 500_000.0, pipeline=pipe)] * 64)
    assert cost.cycles == pytest.approx(grid.launch_cycles + pipe.cycles(2, share), rel=1e-9)
    assert cost.bound_by == "dram" and cost.core_data_cycles == pytest.approx(pipe.cycles(2, share))
    assert price_cores(grid, [CoreLoad(2, 60_000.0, 500_000.0)] * 64).cycles < 0.85 * cost.cycles


def test_a_pipeline_core_that_finishes_early_leaves_its_dram_share_to_the_rest() -> None:
    grid = GridShape.of(load_arch("wormhole_b0"))
    pipe = fill_and_stream(100_000.0, 200_000.0, 1000.0)
    rate = grid.dram_rate()
    loads = [CoreLoad(4, 4000.0, 900_000.0, pipeline=pipe)] + [CoreLoad(1, 1000.0, 300_000.0, pipeline=pipe)] * 9
    cost = price_cores(grid, loads)
    assert cost.items_per_core == 4
    assert pipe.cycles(4, rate) < cost.core_data_cycles < pipe.cycles(4, rate / 10)
    # a compute-bound core takes the share its pipeline can use: the fastest rate it reads at, not its mean
    fast = price_cores(grid, [CoreLoad(1, 1e6, 1000.0, pipeline=fill_and_stream(1000.0, 0.0, 1e6))])
    assert fast.bound_by == "compute" and fast.cycles == pytest.approx(grid.launch_cycles + 2e6 + 1000.0 / 40.0)


def test_the_sender_of_a_group_carries_the_pipeline_and_receivers_do_not() -> None:
    """`price_grid` with a pipeline: an even split prices every core's pipeline alone, a shared split its
    senders' pipelines at the group's hops, and the group's time is its sender's."""
    grid = GridShape.of(load_arch("blackhole", SLOW_DRAM))
    asked: list[int | None] = []

    def pipeline(hops: int | None) -> CorePipeline:
        asked.append(hops)
        return fill_and_stream(20_000.0, 40_000.0 + (hops or 0) * 1000, 10_000.0)

    alone = price_grid(grid, 16, 10_000.0, 40_000, cores=8, pipeline=pipeline)
    shared = price_grid(grid, 16, 10_000.0, 40_000, cores=8, shared_bytes=30_000, group_items=4, share=True,
                        pipeline=pipeline)
    assert asked[0] is None and any(h is not None and h >= 1 for h in asked)
    assert alone.cycles == pytest.approx(grid.launch_cycles + fill_and_stream(20_000.0, 40_000.0, 10_000.0).cycles(
        2, grid.dram_rate() / 8), rel=1e-9)
    assert shared.shared > 1 and shared.cycles < alone.cycles


def test_rate_pipeline_is_kernel_cycles_at_its_samples() -> None:
    """The chip model's view of a schedule is the per-core pipeline's (`kernel_cycles`), sampled lazily."""
    arch = load_arch("wormhole_b0")
    model = TensixCostModel(arch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(attention(), arch, blocks=(64,), cores=8, form="fused")
    pipe = rate_pipeline(model, res.schedule)
    assert pipe.most_rate == model.dram_rate()
    for items, rate in ((1, pipe.rates[-1]), (3, pipe.rates[10]), (5, pipe.rates[3])):
        assert pipe.cycles(items, rate) == pytest.approx(kernel_cycles(model, res.schedule, items, rate), rel=1e-9)
    assert len(pipe._known) <= 7  # only what was asked: a sample at the top, two around each other rate


def attention(q_heads: int = 4, kv_heads: int = 4, rows: int = 256) -> tq.Kernel:
    q = tq.tensor("q", (1, q_heads, rows, 64))
    k, v = (tq.tensor(n, (1, kv_heads, rows, 64)) for n in "kv")
    if kv_heads != q_heads:
        k, v = (tq.repeat(x, q_heads // kv_heads, axis=1) for x in (k, v))
    return tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v)


_CACHE: dict[tuple[str, bool], tq.Result] = {}  # (arch or 'fill', sharing)


def dram_bound(arch: str, share: bool) -> tq.Result:
    """tests/test_kv_share.py's kernel on its slow-DRAM chip (fused, 64-row blocks, 8 cores: two items a core)."""
    if (arch, share) not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE[arch, share] = tq.optimize(
                attention(), load_arch(arch, {**SLOW_DRAM, "settings.share_inputs": share}), blocks=(64,), cores=8,
                form="fused")
    return _CACHE[arch, share]


def one_item_each(share: bool) -> tq.Result:
    """Attention 1x4x1024x64 on Blackhole's own DRAM, fused with 64-row blocks over 64 cores: one q block a core,
    which reads K (and V) whole before computing, a fill as long as a third of its compute at its share."""
    if ("fill", share) not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE["fill", share] = tq.optimize(attention(rows=1024), load_arch("blackhole", {
                "settings.share_inputs": share}), blocks=(64,), cores=64, form="fused")
    return _CACHE["fill", share]


CASES = {"wormhole_b0": lambda share: dram_bound("wormhole_b0", share),
         "blackhole": lambda share: dram_bound("blackhole", share), "blackhole, one item a core": one_item_each}


@pytest.mark.parametrize("share", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_the_chip_model_is_within_tolerance_of_the_timing_simulator_when_dram_binds(case: str, share: bool) -> None:
    """The chip's time (launch aside: the timing simulator starts at the first instruction) against the timing
    simulator's wall on the sampled cores. Before the chip model priced each core's pipeline, the slow-DRAM rows
    were 1.16 to 1.27 (it paced bytes at the sustained rate, the simulator at the peak) and the shared one item a
    core 0.84 (its fill was missing: every core reads K before computing)."""
    res = CASES[case](share)
    chip = res.chip
    assert chip is not None and (chip.shared > 1) == share
    timed = result_cycles(res).timed
    assert abs((chip.cycles - chip.launch_cycles) / timed - 1) <= TOLERANCE, (chip.cycles, timed)


@pytest.mark.parametrize("case", list(CASES))
def test_the_chip_model_ranks_sharing_as_the_timing_simulator_does(case: str) -> None:
    """Whichever of sharing or not the chip model prefers, the timing simulator does not find slower by more than
    the tolerance (here both say sharing)."""
    on, off = CASES[case](True), CASES[case](False)
    assert on.chip is not None and off.chip is not None
    preferred, other = (on, off) if on.chip.cycles <= off.chip.cycles else (off, on)
    assert result_cycles(preferred).timed <= (1 + TOLERANCE) * result_cycles(other).timed


def test_the_chip_core_time_is_the_analytic_models_at_the_same_share() -> None:
    """Every core alike with two work items each (no early finisher to leave bandwidth): the chip model's core time
    is the per-core pipeline at the static share `verify(timing=True)` gives it."""
    res = dram_bound("blackhole", False)
    chip = res.chip
    assert chip is not None and set(chip.core_items) == {2}
    assert chip.cycles - chip.launch_cycles == pytest.approx(analytic_cycles(res), rel=0.02)


# -- settings.dram_share = "demand": DRAM shared by the cores' mean demand ----------------------------------------
def demand_grid(arch: str = "blackhole", **overrides) -> GridShape:
    return GridShape.of(load_arch(arch, {"settings.dram_share": "demand", **overrides}))


def test_equal_bursty_cores_by_demand_take_the_chips_dram_floor_not_their_pipeline_at_a_share() -> None:
    """64 cores alike, each a fill and two items' reads around 30k cycles of compute: held to a 64th of the
    aggregate ("rate") each also pays its fill's compute tail; by demand the cores' reads fill the time others
    compute, and the chip takes its bytes over the aggregate."""
    pipe = fill_and_stream(100_000.0, 200_000.0, 30_000.0)
    loads = [CoreLoad(2, 60_000.0, 500_000.0, pipeline=pipe)] * 64
    rate, demand = GridShape.of(load_arch("blackhole")), demand_grid()
    assert not rate.demand_share and demand.demand_share
    by_rate, by_demand = price_cores(rate, loads), price_cores(demand, loads)
    floor = 64 * 500_000.0 / demand.dram_rate()
    assert by_demand.cycles - demand.launch_cycles == pytest.approx(floor, rel=1e-6)
    assert by_rate.cycles - rate.launch_cycles == pytest.approx(pipe.cycles(2, rate.dram_rate() / 64), rel=1e-9)
    assert by_demand.bound_by == "dram" and by_demand.cycles < by_rate.cycles


def test_by_demand_a_computing_core_leaves_the_bandwidth_it_does_not_use() -> None:
    """One DRAM-hungry core beside 63 that read little and compute long: by rate the hungry core gets a 64th of
    the aggregate until the others end; by demand it takes what they leave, up to what its pipeline can use."""
    grid = demand_grid()
    hungry = fill_and_stream(0.0, 4_000_000.0, 1_000.0)
    quiet = fill_and_stream(1_000.0, 1_000.0, 2_000_000.0)
    loads = [CoreLoad(1, 1_000.0, 4e6, pipeline=hungry)] + [CoreLoad(1, 2e6, 1000.0, pipeline=quiet)] * 63
    by_demand = price_cores(grid, loads)
    by_rate = price_cores(GridShape.of(load_arch("blackhole")), loads)
    assert by_demand.cycles < by_rate.cycles
    # the quiet cores bound the chip by demand: the hungry one reads at its pipeline's top rate beside them
    assert by_demand.cycles - grid.launch_cycles == pytest.approx(quiet.cycles(1, quiet.most_rate), rel=1e-3)


def test_demand_is_never_dearer_than_rate_and_equal_when_every_core_reads_all_the_time() -> None:
    grid, demand = GridShape.of(load_arch("wormhole_b0", SLOW_DRAM)), demand_grid("wormhole_b0", **SLOW_DRAM)
    streaming = fill_and_stream(0.0, 400_000.0, 10.0)  # reads all the time at any rate it gets here
    for loads in ([CoreLoad(4, 40.0, 1.6e6, pipeline=streaming)] * 16,
                  [CoreLoad(2, 20.0, 8e5, pipeline=streaming)] * 8 + [CoreLoad(4, 40.0, 1.6e6, pipeline=streaming)] * 8,
                  [CoreLoad(2, 60_000.0, 5e5, pipeline=fill_and_stream(1e5, 2e5, 3e4))] * 16):
        assert price_cores(demand, loads).cycles <= price_cores(grid, loads).cycles * (1 + 1e-9)
    saturated = [CoreLoad(4, 40.0, 1.6e6, pipeline=streaming)] * 16
    assert price_cores(demand, saturated).cycles == pytest.approx(price_cores(grid, saturated).cycles, rel=1e-3)
