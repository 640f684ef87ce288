"""The timing simulator shares the chip's DRAM bandwidth work-conservingly: a core that has made its last transfer
requests nothing, and the cores still reading split the bandwidth among fewer (`tteqsat.sim.dram_share`)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.frontend import reference
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.dram_share import DramShare
from tteqsat.sim.timing import Port, TimingReport
from tteqsat.tools.timing_check import _simulate_result

WH = load_arch("wormhole_b0")
SLOW_DRAM = {"dram.total_gb_per_s": 8.0, "settings.share_inputs": False}
"""A chip whose DRAM these small causal kernels saturate on 8 cores."""


def causal(heads: int, rows: int) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (1, heads, rows, 64)) for n in "qkv")
    return tq.kernel("causal", tq.softmax(tq.where(tq.tri(rows, rows), q @ k.mT * 0.125, -np.inf)) @ v)


_CACHE: dict[str, tq.Result] = {}


def uneven() -> tq.Result:
    """Causal attention with one 128-row block per core on 8 cores in 256-key chunks: the cores of blocks 0 and 1
    read and compute far less than those of blocks 2 and 3 (their q rows see fewer keys), and DRAM binds. (Left to
    choose, the optimizer takes 128-key chunks here: 4 block lengths, 8 % faster in the timing simulator.)"""
    if "uneven" not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE["uneven"] = tq.optimize(causal(2, 512), load_arch("wormhole_b0", SLOW_DRAM), cores=8,
                                           form="streaming", blocks=(128,), chunks=(256,))
    return _CACHE["uneven"]


def equal() -> tq.Result:
    """Full attention, two equal items per core on 4 cores, DRAM-bound."""
    if "equal" not in _CACHE:
        q, k, v = (tq.tensor(n, (1, 2, 512, 64)) for n in "qkv")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE["equal"] = tq.optimize(tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v),
                                          load_arch("wormhole_b0", SLOW_DRAM), cores=4, form="streaming",
                                          blocks=(128,))
    return _CACHE["equal"]


def walls(report: TimingReport) -> dict[tuple[int, int], float]:
    return {c.core: c.wall for c in report.cores}


def test_the_short_cores_bandwidth_goes_to_the_long_ones() -> None:
    """With a static share each core streams at an eighth of the chip's bandwidth to its end, so the long cores
    run 1.65x as long as the short ones. Work-conservingly the short cores end about when they did, and the long
    ones then stream at a quarter: they end 15-25 % sooner, and the simulator meets the chip model (which shares
    DRAM so; 0.81-0.83 of the static-share simulator, within 5 % of the work-conserving one: 1.01-1.03 as the
    chip model's masked trips were priced in session 8)."""
    res = uneven()
    grid = res.schedule.grid
    assert grid is not None and [len(grid.core_items(n)) for n in range(8)] == [1] * 8
    assert res.chip is not None and res.chip.bound_by == "dram"
    static = _simulate_result(res, res.arch, 0, "static")
    shared = _simulate_result(res, res.arch, 0)
    assert static.runs == 1 and static.dram_sharing == "static"
    assert shared.dram_sharing == "work-conserving" and shared.runs > 1
    short = [c for c in static.cores if c.wall < 0.7 * static.wall]
    long = [c for c in static.cores if c not in short]
    assert short and long
    before, after = walls(static), walls(shared)
    for c in short:
        assert after[c.core] == pytest.approx(before[c.core], rel=0.05)
    for c in long:
        assert 0.75 * before[c.core] < after[c.core] < 0.85 * before[c.core]

    def meets_the_chip_model(report: TimingReport) -> bool:
        return abs(res.chip.cycles - res.chip.launch_cycles - report.wall) <= 0.05 * report.wall

    assert meets_the_chip_model(shared)
    assert not meets_the_chip_model(static)  # the check fails on the static share


def test_a_sampled_core_stands_for_the_cores_that_run_alike() -> None:
    """The sampled cores (one of each block, weighted by the cores running it) time the grid as all 8 do."""
    res = uneven()
    cores, weights = res.timing_cores()
    assert len(cores) < 8 and sum(weights) == 8
    inputs = res.kernel_inputs(reference.random_inputs(res.kernel, 0))
    whole = simulate(res.to_mlir(), inputs, host=res.to_host(), timing=True, arch=res.arch).timing
    sampled = _simulate_result(res, res.arch, 0)
    assert whole is not None and len(whole.cores) == 8
    assert sampled.wall == pytest.approx(whole.wall, rel=1e-9)
    assert walls(sampled) == pytest.approx({xy: w for xy, w in walls(whole).items() if xy in walls(sampled)})


def test_equal_cores_keep_the_static_share() -> None:
    """Cores that run alike end together: one run, at the static share, the same times to the cycle."""
    res = equal()
    grid = res.schedule.grid
    assert grid is not None and len({len(grid.core_items(n)) for n in range(len(grid.cores))}) == 1
    static = _simulate_result(res, res.arch, 0, "static")
    shared = _simulate_result(res, res.arch, 0)
    assert shared.runs == 1
    assert res.arch.num("dram.total_gb_per_s") == 8.0 and TensixCostModel(res.arch).dram_rate(4) < \
        TensixCostModel(res.arch).dram_rate(1)  # the chip's bandwidth binds
    assert {**static.to_json(), "dram_sharing": ""} == {**shared.to_json(), "dram_sharing": ""}


def test_work_conserving_timing_is_deterministic() -> None:
    res = uneven()
    docs = [json.dumps(_simulate_result(res, res.arch, 0).to_json(), sort_keys=True) for _ in range(2)]
    assert docs[0] == docs[1]


def test_phases_split_at_the_cores_last_transfers() -> None:
    """Two classes of 4 cores (weights), one moving bytes until 100 cycles, the other until 300: until 100 the 8
    share the bandwidth, then the 4 still requesting do; a receiver-like core moving a quarter of another's
    bytes counts as a quarter of a core."""
    model = TensixCostModel(WH.with_overrides({"dram.total_gb_per_s": 8.0}))
    share = DramShare(model, {(0, 0): 4.0, (1, 0): 4.0},
                      {(0, 0): [(50.0, 2048.0), (100.0, 2048.0)], (1, 0): [(60.0, 2048.0), (90.0, 2048.0),
                                                                            (300.0, 2048.0)]})
    assert share.bounds == [100.0, 300.0] and share.streaming == [8.0, 4.0]
    assert share.rate_at(10.0) == (model.dram_rate(8), 100.0)
    assert share.rate_at(100.0) == (model.dram_rate(4), 300.0)
    assert share.rate_at(1e6) == (model.dram_rate(4), float("inf"))
    group = DramShare(model, {(0, 0): 1.0, (1, 0): 1.0}, {(0, 0): [(100.0, 4096.0)], (1, 0): [(100.0, 1024.0)]})
    assert group.streaming == [1.25]


def test_a_port_serves_bytes_at_a_rate_that_changes() -> None:
    """2 bytes per cycle until 10, then 1: 30 bytes from 0 take 10 + 10 cycles; behind a busy interval the
    free time is served at the rate of its time."""
    def rate_at(t: float) -> tuple[float, float]:
        return (2.0, 10.0) if t < 10 else (1.0, float("inf"))

    port = Port()
    assert port.serve_bytes(0.0, 30, rate_at) == 20.0
    assert port.serve_bytes(5.0, 4, rate_at) == 24.0  # after the first transfer, at 1 byte per cycle
    assert (port.starts, port.ends) == ([0.0], [24.0])


def test_bad_sharing_settings_are_reported() -> None:
    res = uneven()
    inputs = res.kernel_inputs(reference.random_inputs(res.kernel, 0))
    host = res.to_host()
    with pytest.raises(SimulationError, match="unknown DRAM sharing 'fair': use one of work-conserving, static"):
        simulate(res.to_mlir(), inputs, host=host, timing=True, dram_sharing="fair")
    with pytest.raises(SimulationError, match="2 core weights for the host program's 8 cores: give one per core"):
        simulate(res.to_mlir(), inputs, host=host, timing=True, core_weights=[1.0, 2.0])
    with pytest.raises(SimulationError, match="core weight 0 of core 1: a core stands for at least one core"):
        simulate(res.to_mlir(), inputs, host=host, timing=True, core_weights=[1.0, 0.0] + [1.0] * 6)


def test_tteqsat_sim_shares_dram_work_conservingly_unless_told(tmp_path, capsys) -> None:
    from tteqsat.cli.main import main

    res = uneven()
    module, host = tmp_path / "causal.mlir", tmp_path / "causal.host.json"
    module.write_text(res.to_mlir())
    host.write_text(res.to_host().to_json())
    args = ["sim", str(module), "--host", str(host), "--timing", "--arch", "wormhole_b0", "--set",
            "dram.total_gb_per_s=8"]
    assert main([*args, "--dram-sharing", "static"]) == 0
    static = capsys.readouterr().out
    assert main([*args, "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "8 cores sharing it; static)" in static
    assert doc["timing"]["dram_sharing"] == "work-conserving" and doc["timing"]["runs"] > 1
    assert doc["timing"]["wall"] == pytest.approx(_simulate_result(res, res.arch, 0).wall, rel=0.01)
    assert f"{round(_simulate_result(res, res.arch, 0, 'static').wall):,}" in static
