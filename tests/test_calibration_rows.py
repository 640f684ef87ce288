"""The cost model against published measurements (benchmarks/calibration.py): every calibrated row within
+-20 %, so a change to a constant or to the engine model that breaks one fails here."""

from __future__ import annotations

import functools
import json
import runpy
import sys
import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import calibration  # noqa: E402

DATA = tomllib.loads(calibration.MEASUREMENTS.read_text())


@functools.cache
def run_rows() -> list:
    """`calibration.sdpa_run_rows(DATA)` as shipped, once per session (two tests read it; a test that patches
    the calibration computes its own rows)."""
    return calibration.sdpa_run_rows(DATA)


@pytest.mark.parametrize("group", ["gemm", "sdpa step"])
def test_every_calibrated_row_is_within_tolerance(group: str) -> None:
    rows = calibration.gemm_rows(DATA) if group == "gemm" else calibration.sdpa_step_rows(DATA)
    checked = [r for r in rows if r.status == "calibrated"]
    assert len(checked) >= (50 if group == "gemm" else 10)
    off = [(r.what, round(r.ratio, 3)) for r in checked if not r.passed]
    assert not off, off
    for r in rows:
        assert r.source and r.measured > 0 and r.modeled and r.modeled > 0
        assert r.status == "calibrated" or r.status.startswith("excluded: ")


def test_a_wrong_constant_takes_rows_out_of_tolerance(monkeypatch) -> None:
    """The check can fail: price Wormhole's unpacker at half its calibrated rate and the bf16 HiFi2 GEMM
    rows, which it binds, leave the band."""
    from tteqsat.arch import Arch, load_arch

    real = load_arch

    def slow_unpacker(name, overrides=None):
        arch = real(name, overrides)
        return arch.with_overrides({"unpack.bytes_per_cycle": 23}) if isinstance(arch, Arch) and \
            arch.name == "wormhole_b0" else arch

    monkeypatch.setattr(calibration, "load_arch", slow_unpacker)
    rows = [r for r in calibration.gemm_rows(DATA) if r.status == "calibrated" and "bf16 HiFi2" in r.what
            and r.what.startswith("n150")]
    assert rows and all(not r.passed for r in rows)


def test_whole_runs_on_the_chip_model_and_json_has_the_fields(tmp_path: Path, monkeypatch) -> None:
    runs = run_rows()
    checked = [r for r in runs if r.status == "calibrated"]
    assert len(checked) >= 10 and all(r.passed for r in checked), [(r.id, r.ratio) for r in checked]
    assert any("bound by dram" in r.note for r in checked) and any("bound by compute" in r.note for r in checked)
    assert all(r.status == "calibrated" or r.status.startswith("excluded: ") for r in runs)
    out = tmp_path / "rows.json"
    monkeypatch.setattr(sys, "argv", ["calibration.py", "--only", "sdpa", "--json", str(out)])
    runpy.run_path(str(BENCH / "calibration.py"), run_name="__main__")
    rows = json.loads(out.read_text())
    assert rows and all({"source", "measured", "modeled", "ratio"} <= set(r) for r in rows)


def test_dram_at_its_datasheet_peak_takes_the_bandwidth_bound_runs_out_of_tolerance(monkeypatch) -> None:
    """The chip model's DRAM terms matter: at the p100a's peak (no request-rate limit, every byte of the
    448 GB/s) the DRAM-bound causal q128 k128 runs come out more than 20 % fast."""
    real = calibration.load_arch

    def peak(name, overrides=None):
        return real(name, {**(overrides or {}), "dram.sustained_fraction": 1.0, "dram.request_cycles": 0})

    monkeypatch.setattr(calibration, "load_arch", peak)
    bound = [r for r in calibration.sdpa_run_rows(DATA) if "bound by dram" in r.note and r.status == "calibrated"]
    assert len(bound) >= 3 and sum(not r.passed for r in bound) >= 2, [(r.id, round(r.ratio, 3)) for r in bound]


def test_whole_runs_price_each_core_by_its_pipeline_as_the_optimizer_does() -> None:
    """Each core of a whole run carries its pipeline (`CoreLoad.pipeline`: its q chunks' helpers with the reader
    and writer around them at its DRAM share), as `tq.optimize` prices a core; it costs at least its compute (the
    fill and the reader's waits come on top), and its DRAM bytes at its share set it when they bind."""
    from ttmetal_sdpa import SdpaRun, core_pipeline, sdpa_cost

    from tteqsat.arch import load_arch
    from tteqsat.cost import TensixCostModel

    model = TensixCostModel(load_arch("blackhole", {**calibration.P100A, "settings.math_fidelity": "hifi2"}))
    run = SdpaRun(1, 32, 4096, 4096, 128, 128, 128, True)
    one = core_pipeline(model, run, [16], "streaming")
    top = one.most_rate
    compute = sdpa_cost(model, 128, 128, 128, 16, "streaming").chunk
    fill = model.tile_transfer("bfp8", top, 16) * 3 + model.tile_transfer("bfp8", top)  # Q, K, V; the last tile out
    assert compute < one.cycles(1, top) <= compute + fill
    chunks = [4, 29, 9]  # k steps of a core's q chunks (one and a half causal pairs)
    pipe = core_pipeline(model, run, chunks, "streaming")
    fast = pipe.cycles(3, top)
    assert fast >= sum(sdpa_cost(model, 128, 128, 128, n, "streaming").chunk for n in chunks)
    q_kv_out = (2 * 4 + 2 * 4 * sum(chunks)) * model.arch.tile_bytes("bfp8") * 4  # tiles of Q and output, K and V
    slow = pipe.most_rate / 64
    assert pipe.cycles(3, slow) >= q_kv_out / slow > fast
    rows = {r.id: r for r in run_rows()}
    r = DATA["sdpa"][[x["id"] for x in DATA["sdpa"]].index("sdpa_anchor_causal_q128k128_S4096")]
    chip = calibration.sdpa_run_chip(r, 128, 128, "HiFi2", False, True, True)
    assert chip.cycles == rows["sdpa_anchor_causal_q128k128_S4096"].modeled
    assert chip.cycles != calibration.sdpa_run_chip(r, 128, 128, "HiFi2", False, True, True, pipeline=False).cycles


def test_a_chains_cores_take_their_kv_forwarded_not_each_from_dram(monkeypatch) -> None:
    """The non-causal run forwards each head's K and V along the chain of cores that run it (#55756,
    KV_Chain_Forwarding.md): only the chain's first core reads them from DRAM. Priced as if every core read its
    own at its DRAM share, its wall comes out 1.6 x the measured one."""
    real = calibration.SdpaRun
    monkeypatch.setattr(calibration, "SdpaRun", lambda *a, chains=False, **k: real(*a, **k))
    rows = {r.id: r for r in calibration.sdpa_run_rows(DATA)}
    assert rows["sdpa_55756_wall_noncausal_q128k128"].ratio > 1.5
    assert rows["sdpa_anchor_causal_q128k128_S4096"].passed  # causal runs have no chains
