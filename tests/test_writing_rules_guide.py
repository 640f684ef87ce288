"""docs/writing-rules.md stays true: its rule file is examples/rules/my_rules.py verbatim, and every file,
command and Python block in it runs with the results the guide describes."""

from __future__ import annotations

import argparse
import re
import shlex
import warnings
from pathlib import Path

import pytest

from tteqsat.cli import main as tteqsat_main
from tteqsat.cli.rules import add_rules_commands

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-rules.md"
MY_RULES = ROOT / "examples" / "rules" / "my_rules.py"


def blocks(lang: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"```(\w+)\n(.*?)```", GUIDE.read_text(), re.S) if m.group(1) == lang]


def files() -> dict[str, str]:
    """Python blocks that open with `# NAME.py` are files the reader saves."""
    out = {}
    for text in blocks("python"):
        m = re.match(r"# (\w+\.py)\n", text)
        if m:
            out[m.group(1)] = text
    return out


def test_the_guide_shows_the_example_rule_file_verbatim() -> None:
    assert MY_RULES.read_text() in blocks("python")


def test_every_python_block_compiles() -> None:
    for text in blocks("python"):
        compile(text, "<guide>", "exec")


def run_tteqsat(argv: list[str]) -> int:
    if argv[0] != "rules":
        return tteqsat_main(argv)
    parser = argparse.ArgumentParser(prog="tteqsat")  # until tteqsat.cli wires in the rules commands
    add_rules_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "my_rules.py").write_text(MY_RULES.read_text())
    for name, text in files().items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_command_in_the_guide_runs(workdir: Path, capsys) -> None:
    commands = [line for text in blocks("shell") for line in text.splitlines() if line.startswith("tteqsat ")]
    assert len(commands) == 4
    for line in commands:
        argv = shlex.split(line)[1:]
        for arg in argv:
            assert not arg.endswith(".py") or (workdir / arg).is_file(), f"{line}: the guide never shows {arg}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = run_tteqsat(argv)
        out = capsys.readouterr().out
        if "bad_rules.py" in line:  # the guide's wrong rule: exit 1, named, with a counterexample
            assert status == 1 and "UNSOUND: rule 'rowmax-of-scale'" in out and "s = -" in out
        else:
            assert status == 0, f"{line}\n{out}"
        if line.startswith("tteqsat rules check --rules my_rules.py"):
            assert "exp-product" in out and "double-as-scale" in out and "2 of 2 rules passed" in out
        if line.startswith("tteqsat rules stats"):
            derivation = out[out.index("derivation"):]
            assert "exp-product" in derivation and "double-as-scale" not in derivation  # matched, unused


def test_the_python_block_lowers_the_modeled_cost(workdir: Path) -> None:
    [api] = [t for t in blocks("python") if "rules=[\"my_rules.py\"]" in t]
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(api, str(GUIDE), "exec"), namespace)
    before, after = namespace["before"], namespace["after"]
    assert after.cost_cycles < before.cost_cycles
    kinds = [op.kind for op in after.program.ops()]
    assert kinds.count("exp_scaled") + kinds.count("sfpu") == 1 and kinds.count("fpu") == 2  # one exp; adds on the FPU
