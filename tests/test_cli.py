"""The command line: tables, emitted files, summaries, and exit codes (0 ok, 1 mismatch, 2 bad input)."""

from __future__ import annotations

import json
import re
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


def test_split_over_keys_prints_and_emits_both_kernels(tmp_path: Path) -> None:
    """One query block against 32768 keys splits over cores: the CLI says so and writes the combining kernel's
    files next to the first's; --split off keeps one kernel; a bad --split value exits 2 naming the choices."""
    proc = run_cli("optimize", str(EXAMPLES / "long_attention.py"), "--split", "4", "--verify", "--emit",
                   "mlir,host", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "the keys split over 4 parts" in proc.stdout and "verified on the Tensix model" in proc.stdout
    assert re.search(r"then long_attention_combine: [\d,]+ modeled cycles over 1 work item, merging the 4 parts",
                     proc.stdout)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["long_attention_combine.host.json", "long_attention_combine.mlir",
                     "long_attention_part.host.json", "long_attention_part.mlir"]
    off = run_cli("optimize", str(EXAMPLES / "long_attention.py"), "--split", "off")
    assert off.returncode == 0 and "split" not in off.stdout.split("\n", 1)[0] and "then " not in off.stdout
    bad = run_cli("optimize", str(EXAMPLES / "long_attention.py"), "--split", "1")
    assert bad.returncode == 2 and "--split '1': use auto" in bad.stderr


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


# -- errors that name the user's file and line -----------------------------------------------------------------
def test_crash_in_kernel_file_names_its_line(tmp_path: Path) -> None:
    f = tmp_path / "crash.py"
    f.write_text("import tteqsat as tq\n"
                 "def build():\n"
                 "    raise ValueError('boom')\n"
                 "x = tq.tensor('x', (32, 32))\n"
                 "kernel = build()\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"tteqsat: error: {f}:3: failed to run: ValueError: boom"


def test_crash_in_a_library_names_the_users_line_and_where_it_was_raised(tmp_path: Path) -> None:
    f = tmp_path / "lib_crash.py"
    f.write_text("import json\nimport tteqsat as tq\n\njson.loads('{')\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2
    assert f"{f}:4: failed to run: JSONDecodeError" in proc.stderr and "(raised in " in proc.stderr
    assert "json/decoder.py" in proc.stderr


def test_syntax_error_names_its_line(tmp_path: Path) -> None:
    f = tmp_path / "syntax.py"
    f.write_text("import tteqsat as tq\nx = tq.tensor('x', (32, 32)\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2 and f"{f}:2: syntax error: '(' was never closed" in proc.stderr


def test_cli_errors_do_not_point_into_the_runner() -> None:
    """Through `python -m` (runpy) and through the installed console script: no location that is not the user's."""
    script = Path(sys.executable).parent / "tteqsat"
    runners = [[sys.executable, "-m", "tteqsat.cli"]] + ([[str(script)]] if script.is_file() else [])
    for runner in runners:
        proc = subprocess.run([*runner, "optimize", str(EXAMPLES / "attention.py"), "--arch", "grayskull"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        assert proc.stderr.strip() == ("tteqsat: error: unknown arch 'grayskull' "
                                       "(known: blackhole, wormhole_b0, or a .toml file)"), runner


def test_no_form_fits_lists_each_forms_reason(tmp_path: Path) -> None:
    f = tmp_path / "too_big.py"
    f.write_text("import tteqsat as tq\n"
                 "q = tq.tensor('q', (32, 64))\n"
                 "k = tq.tensor('k', (32768, 64))\n"
                 "kernel = tq.kernel('too_big', tq.exp(q @ k.T))\n")
    proc = run_cli("optimize", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("tteqsat: error: kernel 'too_big' fits in no form on wormhole_b0")
    assert [ln.split(":")[0].strip() for ln in lines[1:4]] == [
        "baseline (every op its own section)", "fused (no loop)", "streaming (a loop over chunks)"]
    assert f"{f}:3" in lines[1] and lines[-1].startswith("to fit: ")


# -- comparisons against what fits -----------------------------------------------------------------------------
def test_summary_compares_with_the_best_feasible_alternative(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    proc = run_cli("optimize", str(EXAMPLES / "attention.py"), "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    # attention: fused wins; streaming also fits and is the next best, the baseline fits too
    assert data["chosen"] == "fused" and data["compared_with"] == "streaming" and data["baseline_feasible"] is True
    assert data["best_feasible_alternative_cycles"] > data["cost_cycles"]
    assert data["speedup"] == round(data["best_feasible_alternative_cycles"] / data["cost_cycles"], 3)
    assert data["baseline_speedup"] == round(data["baseline_cycles"] / data["cost_cycles"], 3)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("modeled cycles"))
    shown = {m.group(2): float(m.group(1)) for m in re.finditer(r"(\d+\.\d\d)x vs (streaming|the unfused)", line)}
    assert abs(shown["streaming"] - data["speedup"]) <= 0.006 and "the best other form that fits" in line
    assert abs(shown["the unfused"] - data["baseline_speedup"]) <= 0.006


def test_an_infeasible_baseline_is_not_a_speedup(tmp_path: Path) -> None:
    """ten_ops with L1 cut so the unfused baseline (45,056 B of CBs) does not fit but the fused form (28,672 B)
    does: no ratio against the baseline anywhere, and the JSON says what it compares with (nothing)."""
    summary = tmp_path / "s.json"
    report = tmp_path / "r.html"
    proc = run_cli("optimize", str(EXAMPLES / "ten_ops.py"), "--set", "l1.bytes=140576",
                   "--summary-json", str(summary), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    assert data["baseline_feasible"] is False and data["compared_with"] is None and data["speedup"] is None
    assert data["best_feasible_alternative_cycles"] is None and data["baseline_cycles"] > data["cost_cycles"]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("modeled cycles"))
    assert line.startswith(f"modeled cycles {data['cost_cycles']:,.0f}: the only form that fits")
    assert ("the unfused baseline does not fit (it needs 45,056 bytes of L1 for its CBs, wormhole_b0 has 36,864 "
            "free)" in line)
    assert "x vs" not in line
    headline = report.read_text().split("id='headline'>")[1].split("</p>")[0]
    assert "the only form that fits" in headline and "does not fit" in headline and "x vs" not in headline


# -- output for logs and pipes ---------------------------------------------------------------------------------
def test_piped_output_is_not_wrapped_and_labels_per_run_and_total_cycles() -> None:
    from conftest import load_example

    from tteqsat.pipeline import optimize
    from tteqsat.tools.report import schedule_rows

    proc = run_cli("optimize", str(EXAMPLES / "long_attention.py"), "--split", "off")  # stdout is a pipe here
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(ln) for ln in lines) > 200  # the reason line would have wrapped at 80 or 120 columns
    reason = [ln for ln in lines if ln.startswith("chose streaming")]
    assert len(reason) == 1 and reason[0].endswith("bytes of L1 free)")
    header = next(ln for ln in lines if "ops in order" in ln)
    assert "cycles per run" in header and "total cycles" in header
    result = optimize(load_example("long_attention"), split=False)
    body = [ln for ln in lines if ln.startswith("│")]
    assert len(body) == len(result.schedule.sections)  # one line per section: no cell wrapped
    trips = result.schedule.loop.trips
    for line, row, sec in zip(body, schedule_rows(result), result.schedule.sections, strict=True):
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells == row
        runs = trips if sec.in_loop else 1
        assert cells[-1] == f"{sec.cycles * runs:,.0f}" and cells[-2] == f"{sec.cycles:,.0f}"
    assert any(sec.in_loop for sec in result.schedule.sections)
    assert f"cycles per run is one trip, total cycles all {trips}" in proc.stdout
