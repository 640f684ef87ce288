"""README.md stays true: its Python blocks run as written (from the repository root), and every `tteqsat`
command it shows parses with the real command line's options."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest

from tteqsat.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    """`tteqsat ...` lines of the indented command blocks, comments removed, [optional] parts given."""
    found = []
    for line in README.splitlines():
        if line.startswith("    tteqsat "):
            text = re.sub(r"\s+#.*$", "", line.strip())
            found.append(re.sub(r"\[([^\]]*)\]", r"\1", text))
    return found


def test_every_command_parses() -> None:
    shown = commands()
    assert len(shown) == 8
    parser = build_parser()
    for line in shown:
        try:
            parser.parse_args(shlex.split(line)[1:])
        except SystemExit:
            pytest.fail(f"README command does not parse: {line}")


def _options(parser) -> set[str]:
    found = {o for action in parser._actions for o in action.option_strings}
    for action in parser._actions:
        if isinstance(action.choices, dict):  # a subcommand's parsers
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_option_the_prose_names_exists() -> None:
    named = set(re.findall(r"(?<![-\w])(--[a-z][a-z-]+)", README))
    known = _options(build_parser())
    assert {"--no-check-rules", "--summary-json", "--report", "--set"} <= named
    assert named <= known, sorted(named - known)


def test_python_blocks_run(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) == 2
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text in blocks:  # the DSL block defines `kernel`, the API block uses it
            exec(compile(text, "README.md", "exec"), namespace)
    res = namespace["res"]
    assert res.compared_with == "streaming" and res.speedup > 1 and res.baseline_feasible
