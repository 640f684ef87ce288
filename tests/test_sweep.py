"""Sweeps: every grid point on every arch, in-process, in a process pool and on a Dask cluster; the CSV is
byte-for-byte reproducible; the CLI hook parses comma lists."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest

import tteqsat as tq
from tteqsat.cli.sweep import add_sweep_command
from tteqsat.tools.sweep import grid_points, sweep

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"
GRID = {"dst_tiles": [2, 8]}  # dst_pressure: 2 DST tiles split it into more sections than 8


def test_grid_points_keep_the_order_given() -> None:
    assert grid_points({"b": [1, 2], "a": ["x"]}) == [{"b": 1, "a": "x"}, {"b": 2, "a": "x"}]


def test_sweep_in_process_writes_a_reproducible_csv(tmp_path: Path) -> None:
    rows = sweep(KERNELS / "dst_pressure.py", GRID, ["wormhole_b0"], processes=1, out=tmp_path / "a")
    assert [(r["arch"], r["dst_tiles"]) for r in rows] == [("wormhole_b0", 2), ("wormhole_b0", 8)]
    small, big = rows
    assert small["sections"] > big["sections"] and small["schedule_id"] != big["schedule_id"]
    assert small["schedule"] and all(not r["error"] for r in rows)
    text = (tmp_path / "a" / "dst_pressure_sweep.csv").read_text()
    header = next(csv.reader([text.splitlines()[0]]))
    assert header[:4] == ["arch", "dst_tiles", "cost_cycles", "baseline_cycles"] and "schedule" in header
    sweep(KERNELS / "dst_pressure.py", GRID, ["wormhole_b0"], processes=1, out=tmp_path / "b")
    for name in ("dst_pressure_sweep.csv", "dst_pressure_sweep.png"):
        if (tmp_path / "a" / name).exists():
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_sweep_in_a_process_pool_matches_in_process() -> None:
    grid = {"sfpu.exp": [70, 560]}
    here = sweep(KERNELS / "two_matmuls.py", grid, ["blackhole"], processes=1)
    pool = sweep(KERNELS / "two_matmuls.py", grid, ["blackhole"], processes=2)
    assert pool == here


def test_dask_cluster_on_loopback() -> None:
    distributed = pytest.importorskip("dask.distributed")
    grid = {"sfpu.exp": [70, 560]}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        rows = sweep(KERNELS / "row_softmax.py", grid, ["wormhole_b0"], dask_address=cluster.scheduler_address)
    assert rows == sweep(KERNELS / "row_softmax.py", grid, ["wormhole_b0"], processes=1)
    assert rows[1]["cost_cycles"] > rows[0]["cost_cycles"]


def test_bad_keys_fail_once_before_any_work() -> None:
    with pytest.raises(tq.KernelError, match="no parameter 'sfpu.expp'"):
        sweep(KERNELS / "two_matmuls.py", {"sfpu.expp": [1]}, ["wormhole_b0"], processes=1)


def test_cli_hook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tteqsat")
    add_sweep_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", str(KERNELS / "two_matmuls.py"), "--set", "settings.math_fidelity=lofi,hifi4",
                              "--arch", "blackhole", "--out", str(tmp_path), "--processes", "1"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "settings.math_fidelity=lofi" in out and "2 points" in out
    rows = list(csv.DictReader((tmp_path / "two_matmuls_sweep.csv").open()))
    assert float(rows[1]["cost_cycles"]) > float(rows[0]["cost_cycles"])  # HiFi4 on Blackhole is math-bound


def test_cli_names_every_file_it_writes_and_what_the_schedule_ids_are(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser(prog="tteqsat")
    add_sweep_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", str(KERNELS / "dst_pressure.py"), "--set", "dst_tiles=2,8",
                              "--out", str(tmp_path), "--processes", "1"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'dst_pressure_sweep.csv'}" in out
    assert f"wrote {tmp_path / 'dst_pressure_sweep.png'}" in out and (tmp_path / "dst_pressure_sweep.png").is_file()
    rows = list(csv.DictReader((tmp_path / "dst_pressure_sweep.csv").open()))
    for row in rows:  # every id the rows use is explained, with the schedule it stands for
        assert f"  {row['schedule_id']}: {row['chosen']}, {row['sections']} sections: {row['schedule']}" in out
    assert {r["compared_with"] for r in rows} <= {"baseline", "fused", "streaming"}
    assert all(r["baseline_feasible"] == "True" for r in rows)


def test_plot_legends_sit_outside_the_data_and_the_key_explains_the_ids() -> None:
    pytest.importorskip("matplotlib")
    from tteqsat.tools.sweep import KEY_TITLE, schedule_key
    from tteqsat.tools.sweep_plot import sweep_figure

    rows = sweep(KERNELS / "dst_pressure.py", {"dst_tiles": [2, 8], "sfpu.exp": [70, 560]}, ["wormhole_b0"],
                 processes=1)
    key = schedule_key(rows)
    fig = sweep_figure(rows, ["dst_tiles", "sfpu.exp"], "dst_pressure", [f"{KEY_TITLE}:", *key])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax.get_window_extent(renderer) for ax in fig.axes]
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 2
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(panel) for panel in panels)
    texts = "\n".join(t.get_text() for t in fig.texts)
    ids = sorted({str(r["schedule_id"]) for r in rows})
    assert len(ids) == 2 and all(f"{i}: fused" in texts for i in ids)
