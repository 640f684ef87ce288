"""The command line: tables, emitted files, summaries, and exit codes (0 ok, 1 mismatch, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES

from tteqsat.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tteqsat.cli", *args], capture_output=True, text=True, timeout=120)


def test_optimize_verify_emit_and_summary(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    proc = run_cli("optimize", str(EXAMPLES / "attention.py"), "--verify", "--emit", "mlir,cpp,json",
                   "--out", str(tmp_path / "out"), "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr
    assert "modeled cycles" in proc.stdout and "verified on the Tensix model" in proc.stdout
    data = json.loads(summary.read_text())
    for key in ("kernel", "arch", "cost_cycles", "baseline_cycles", "sections", "cbs", "l1_bytes", "verified",
                "max_abs_err"):
        assert key in data
    assert data["verified"] is True and data["cost_cycles"] < data["baseline_cycles"]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "attention.mlir" in files and "attention.schedule.json" in files
    assert any(f.endswith("_compute.cpp") for f in files)
    schedule = json.loads((tmp_path / "out" / "attention.schedule.json").read_text())
    assert len(schedule["sections"]) == data["sections"]


def test_file_without_kernel_exits_2_with_one_line(tmp_path: Path) -> None:
    f = tmp_path / "nothing.py"
    f.write_text("import tteqsat as tq\nx = 1\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "defines no kernel" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_kernel_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.py"
    f.write_text("import tteqsat as tq\n"
                 "a = tq.tensor('a', (64, 64))\n"
                 "kernel = tq.kernel('k', a + tq.tensor('b', (64, 96)))\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2
    assert "shape mismatch" in proc.stderr and f"{f}:3" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_arch_and_missing_file_exit_2(capsys) -> None:
    assert main(["optimize", str(EXAMPLES / "attention.py"), "--arch", "grayskull"]) == 2
    assert "unknown arch" in capsys.readouterr().err
    assert main(["optimize", "/nonexistent/k.py"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_verification_failure_exits_1(tmp_path: Path, capsys) -> None:
    # no bf16 kernel matches numpy exactly
    assert main(["optimize", str(EXAMPLES / "attention.py"), "--verify", "--tolerance", "0"]) == 1
    assert "verification FAILED" in capsys.readouterr().out


def test_verify_on_given_inputs_distribution_and_precision(tmp_path: Path, capsys) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    good = tmp_path / "in.npz"
    np.savez(good, q=rng.standard_normal((64, 64)), k=rng.standard_normal((256, 64)), v=rng.standard_normal((256, 64)))
    kernel = str(EXAMPLES / "attention.py")
    assert main(["optimize", kernel, "--verify", "--inputs", str(good), "--precision", "exact"]) == 0
    assert "tolerance 0.04" in capsys.readouterr().out
    assert main(["optimize", kernel, "--verify", "--input-dist", "uniform"]) == 0
    assert "tolerance 0.1" in capsys.readouterr().out
    bad = tmp_path / "bad.npz"
    np.savez(bad, q=np.zeros((64, 64)), k=np.zeros((255, 64)), v=np.zeros((256, 64)))
    assert main(["optimize", kernel, "--verify", "--inputs", str(bad)]) == 2
    assert "array 'k' has shape (255, 64), the kernel's input is (256, 64)" in capsys.readouterr().err
    missing = tmp_path / "missing.npz"
    np.savez(missing, q=np.zeros((64, 64)))
    assert main(["optimize", kernel, "--verify", "--inputs", str(missing)]) == 2
    assert "no array 'k' (the kernel's inputs are q, k, v; the file has q)" in capsys.readouterr().err


def test_protocol_violation_in_emitted_mlir_is_a_verification_failure(monkeypatch, capsys) -> None:
    import tteqsat.pipeline as pipeline

    original = pipeline.Result.to_mlir

    def broken(self) -> str:  # drop every tile_regs_commit: the simulator must refuse the kernel
        return "\n".join(line for line in original(self).splitlines() if "tile_regs_commit" not in line) + "\n"

    monkeypatch.setattr(pipeline.Result, "to_mlir", broken)
    assert main(["optimize", str(EXAMPLES / "attention.py"), "--verify"]) == 1
    out = capsys.readouterr().out
    assert "fails on the Tensix model" in out and "tile_regs_wait" in out


def test_emit_to_stdout_like_mlir_tools() -> None:
    """`--out -` writes the one emitted artifact to stdout (parseable MLIR) and the report to stderr."""
    from conftest import parse_with_xdsl

    proc = run_cli("optimize", str(EXAMPLES / "ten_ops.py"), "--emit", "mlir", "--out", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("module attributes")
    parse_with_xdsl(proc.stdout)
    assert "modeled cycles" in proc.stderr and "modeled cycles" not in proc.stdout
    bad = run_cli("optimize", str(EXAMPLES / "ten_ops.py"), "--emit", "mlir,cpp", "--out", "-")
    assert bad.returncode == 2 and "exactly one --emit format" in bad.stderr
