"""The structure of benchmarks/ttmetal_sdpa.py's model of tt-metal's SDPA against what the ablation builds measure
(tt-metal #55756, #55758): the streaming kernel's pack thread off the critical path (removing the softmax exp
changes nothing), alpha per P V row group as compute_streaming.hpp issues it, and K/V chains built and paced as the
factory builds them (KV_Chain_Forwarding.md), so the non-causal run is bound by its data path, as measured."""

from __future__ import annotations

import functools
import sys
import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import calibration  # noqa: E402
import ttmetal_sdpa as ts  # noqa: E402

from tteqsat.arch import load_arch  # noqa: E402
from tteqsat.cost import TensixCostModel  # noqa: E402

DATA = tomllib.loads(calibration.MEASUREMENTS.read_text())
SDPA = {r["id"]: r for r in DATA["sdpa"]}
NONCAUSAL = "sdpa_55758_ablation_noncausal_q128k128"


def _model() -> TensixCostModel:
    return TensixCostModel(load_arch("blackhole", {**calibration.P100A, "settings.math_fidelity": "hifi2"}))


@pytest.mark.parametrize("q_chunk", [128, 256, 512])
def test_removing_the_softmax_exp_leaves_the_streaming_step_as_measured(q_chunk: int) -> None:
    """#55758: without the softmax exp the runs at q128 and q256 (k128) are 0.0 to 0.3 % faster: the exp runs on
    the pack thread (exp_packthread_tile) and the pack thread has slack. The model's step moves less than 1 %,
    although the exp is still priced on the pack thread (its busy cycles drop by 70 per score tile)."""
    model = _model()
    full = ts.sdpa_cost(model, q_chunk, 128, 128, 16, "streaming")
    cut = ts.sdpa_cost(model, q_chunk, 128, 128, 16, "streaming", ablate=frozenset({"exp"}))
    assert full.pack - cut.pack == pytest.approx(model.sfpu_cycles("exp") * full.score_tiles)
    assert cut.step == pytest.approx(full.step, rel=0.01)
    assert full.pack < full.math  # the pack thread, exp included, is less busy than math (#55758's math busy)


def test_alpha_is_computed_per_row_group_beside_the_pv_matmuls() -> None:
    """compute_streaming.hpp, phase 2: per P V row group r >= 1, alpha of group r - 1, then P V of group r, then
    SALAD of group r - 1 (the last iteration also computes the last group's alpha first); each SALAD reads its own
    group's alpha only."""
    model = _model()
    names = [p.name for p in ts.step_phases(model, 8, 4, 4, "streaming", "bfp8")]
    phases = {p.name: p for p in ts.step_phases(model, 8, 4, 4, "streaming", "bfp8")}
    groups = 4  # q256: 8 q tiles in P V row groups of 2
    assert [n for n in names if n.startswith("alpha")] == [f"alpha{r}" for r in range(groups)]
    for r in range(1, groups):
        assert names.index(f"alpha{r - 1}") < names.index(f"pv{r}") < names.index(f"salad{r - 1}")
    for r in range(groups):
        assert phases[f"salad{r}"].waits_for == ((f"alpha{r}", 1),)


def test_kv_chains_are_built_as_the_factory_builds_them() -> None:
    """Non-causal S4096 q128 on 110 cores: 1024 q chunks, 10 on the first 34 cores and 9 on the rest, 32 per
    head. Head 0's chain is cores 0-3 (core 3 also holds 8 q chunks of head 1); head 1's starts at core 4, the
    first core whose work is all on head 1, so core 3 reads its head-1 chunks from DRAM. A core forwards only
    while its downstream core has q chunks of the head left."""
    run = ts.SdpaRun(1, 32, 4096, 4096, 128, 128, 128, False, chains=True)
    links, feeds = ts.kv_chains(run, 110), ts.core_feeds(run, 110)
    assert links[:5] == [ts.ChainLink(0, p, 4) for p in range(4)] + [ts.ChainLink(1, 0, 3)]
    assert feeds[0] == [ts.INJECT] * 10 and feeds[1] == [ts.RELAY] * 10
    assert feeds[2] == [ts.RELAY] * 2 + [ts.RECEIVE] * 8  # core 3 has 2 q chunks of head 0
    assert feeds[3] == [ts.RECEIVE] * 2 + [ts.DRAM] * 8
    assert sum(1 for link in links if link and link.position == 0) == 32  # one chain per head
    assert ts.kv_chains(ts.SdpaRun(1, 32, 4096, 4096, 128, 128, 128, True), 110) == [None] * 110  # causal: none


def test_a_chain_chunk_takes_its_slowest_reader() -> None:
    """Store-and-forward: the injector reads a chunk from DRAM and then writes it on; a middle core waits for the
    upstream write and writes it on. At a low DRAM rate the injector paces the chain, at a high one the relay's two
    link transfers do."""
    model = _model()
    tiles, link = 16, model.num("noc.bytes_per_cycle")
    write = tiles * model.arch.tile_bytes("bfp8") / link
    slow = ts.chain_chunk_cycles(model, "bfp8", 2.0, tiles)
    assert slow == pytest.approx(model.tile_transfer("bfp8", 2.0, tiles) + write + model.noc_latency(1))
    fast = ts.chain_chunk_cycles(model, "bfp8", 1e6, tiles)
    assert fast == pytest.approx(2 * write + 3 * model.noc_latency(1))


@functools.cache
def _noncausal(removed: tuple[str, ...] = ()) -> dict:
    r = SDPA[NONCAUSAL]
    return calibration.sdpa_run_chips(r, 128, 128, *calibration.ABLATION_KERNEL, ablate=frozenset(removed),
                                      dram_shares=("rate",))["rate"]


def test_the_noncausal_run_is_bound_by_its_data_path_as_measured() -> None:
    """#55758: 'removing every FPU and SFPU instruction of the step buys 0 to 11 percent. the wall in these
    regimes is the data path'; non-causal q128 k128 moves -0.0 % without exp, -2.0 % without matmuls and -0.2 %
    without both (#55756: -2.4 and -0.4). Under the default sharing rule the modeled run is bound by DRAM, its
    wall within 5 % of the measured one, and removing compute moves it by at most 6 points."""
    full = _noncausal()
    measured = SDPA[NONCAUSAL]["measured_us"] * 1350
    assert full.bound_by == "dram" and full.cycles == pytest.approx(measured, rel=0.05)
    for removed, bound in ((("exp",), 1.0), (("matmul",), 6.0), (("exp", "matmul"), 6.0)):
        delta = 100 * (_noncausal(removed).cycles / full.cycles - 1)
        assert -bound <= delta <= 0, (removed, delta)
