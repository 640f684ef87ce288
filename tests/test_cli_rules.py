"""`tteqsat rules list|check|stats` on a parser of our own (the subparsers tteqsat.cli wires in), and the
saturation progress display."""

from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path

import pytest
from conftest import EXAMPLES, load_example
from rich.console import Console

import tteqsat as tq
from tteqsat import rules
from tteqsat.cli.rules import add_rules_commands
from tteqsat.tools.progress import SaturationProgress

BAD_RULES = '''
from egglog import rewrite, vars_
from tteqsat import rules
from tteqsat.egraph import TensorExpr, binary, unary
a, b = vars_("a b", TensorExpr)
RULESET = rules.RuleSet("bad", "wrong on purpose", "grow", (
    rules.Rule("exp-mul-wrong", rewrite(binary("mul", unary("exp", a), unary("exp", b)))
               .to(unary("exp", binary("mul", a, b)))),
))
'''


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tteqsat")
    add_rules_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.run(args)


def test_list_names_every_shipped_ruleset_with_its_count(capsys) -> None:
    assert run("rules", "list") == 0
    out = capsys.readouterr().out
    for rs in rules.shipped_rulesets():
        assert any(rs.name in line and f" {len(rs.rules)} " in line for line in out.splitlines()), rs.name


def test_list_verbose_shows_rewrites(capsys) -> None:
    assert run("rules", "list", "--verbose") == 0
    assert "exp(a * s) -> exp_scaled(a, s)" in capsys.readouterr().out


def test_check_shipped_ruleset_passes(capsys) -> None:
    assert run("rules", "check", "--ruleset", "reductions", "--samples", "5") == 0
    out = capsys.readouterr().out
    count = len(next(rs for rs in rules.shipped_rulesets() if rs.name == "reductions").rules)
    assert "defer-row-normalization" in out and f"{count} of {count} rules passed" in out and "UNSOUND" not in out


def test_check_names_an_unsound_rule_and_its_counterexample(tmp_path: Path, capsys) -> None:
    f = tmp_path / "bad.py"
    f.write_text(BAD_RULES)
    assert run("rules", "check", "--rules", str(f)) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("UNSOUND"))
    assert "'exp-mul-wrong'" in line and "counterexample a = [[" in line and "lhs[" in line


@pytest.mark.parametrize("argv, says", [
    (("rules", "check", "--ruleset", "nope"), "unknown ruleset 'nope'"),
    (("rules", "check", "--samples", "0"), "--samples must be at least 1"),
    (("rules", "check", "--rules", "/no/such/rules.py"), "does not exist"),
    (("rules", "stats", "/no/such/kernel.py"), "no such file"),
])
def test_bad_input_exits_2_with_one_line(argv, says: str, capsys) -> None:
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tteqsat: error: ") and says in err


def test_stats_table_and_derivation(capsys) -> None:
    assert run("rules", "stats", str(EXAMPLES / "ten_ops.py")) == 0
    out = capsys.readouterr().out
    assert "rules on ten_ops (wormhole_b0)" in out and "e-nodes added" in out
    assert "derivation: the rules the chosen schedule depends on" in out
    assert "recip(sqrt(a)) -> rsqrt(a)" in out  # ten_ops has recip(sqrt(x)) twice; rsqrt is cheaper


def test_progress_shows_iterations_on_a_terminal_and_nothing_otherwise(capsys) -> None:
    screen = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with SaturationProgress(console=Console(file=screen, force_terminal=True), enabled=True) as shown:
            result = tq.optimize(load_example("attention"), progress=shown, blocks=())
        with SaturationProgress() as quiet:  # pytest's stdout is not a terminal
            tq.optimize(load_example("attention"), progress=quiet)
    assert shown.calls >= 1 and shown.enodes > 0
    assert f"iteration {shown.iteration}/{tq.Limits().iterations}" in screen.getvalue()
    assert "e-nodes" in screen.getvalue() and f"best {result.cost_cycles:,.0f} cycles" in screen.getvalue()
    assert not quiet.enabled and quiet.calls == shown.calls and capsys.readouterr().out == ""


def test_stats_takes_an_arch_file_and_overrides(tmp_path: Path, capsys) -> None:
    arch = tmp_path / "slow_exp.toml"
    arch.write_text('base = "wormhole_b0"\nname = "slow_exp"\n[sfpu]\nexp = 560\n')
    assert run("rules", "stats", str(EXAMPLES / "ten_ops.py"), "--arch", str(arch), "--set", "dst_tiles=4") == 0
    out = capsys.readouterr().out
    assert "rules on ten_ops (slow_exp, dst_tiles=4)" in out
    full = tq.optimize(load_example("ten_ops"), str(arch), overrides={"dst_tiles": 4})
    rsqrt = next(ln for ln in out.splitlines() if "recip-sqrt-to-rsqrt" in ln and "cost" in ln)
    assert f"cost {full.cost_cycles:,.0f} ->" in rsqrt  # the ablation ran with the file and the override
    assert run("rules", "stats", str(EXAMPLES / "ten_ops.py"), "--set", "nope=1") == 2
    assert "has no parameter 'nope'" in capsys.readouterr().err


def test_stats_refuses_an_unsound_rule_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "bad.py"
    f.write_text(BAD_RULES)
    assert run("rules", "stats", str(EXAMPLES / "ten_ops.py"), "--rules", str(f)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tteqsat: error: rule 'exp-mul-wrong'") and "is unsound" in err
