"""A user's rules are random-tested when they are loaded: an unsound rule is refused with its name and a
counterexample (unless the check is skipped), and a failed verification names the user's rules the result
depends on."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs
from tteqsat.rules import load_rule_file

ROOT = Path(__file__).resolve().parent.parent
MY_RULES = ROOT / "examples" / "rules" / "my_rules.py"
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
KERNEL = '''
import tteqsat as tq
x = tq.tensor("x", (64, 64))
y = tq.tensor("y", (64, 64))
kernel = tq.kernel("exp_product", tq.exp(x) * tq.exp(y))
'''


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(BAD_RULES)
    return path


def exp_product() -> tq.Kernel:
    x, y = tq.tensor("x", (64, 64)), tq.tensor("y", (64, 64))
    return tq.kernel("exp_product", tq.exp(x) * tq.exp(y))


def test_unsound_rule_file_is_refused_with_its_counterexample(bad: Path) -> None:
    with pytest.raises(tq.KernelError) as e:
        tq.optimize(exp_product(), rules=[bad])
    msg = str(e.value)
    assert msg.startswith(f"rule 'exp-mul-wrong' (ruleset bad in {bad}) is unsound: counterexample a = [[")
    assert "lhs[0, 0] = " in msg and "but rhs[0, 0] = " in msg and "--no-check-rules" in msg


def test_unsound_ruleset_object_is_refused_too(bad: Path) -> None:
    [rs] = load_rule_file(bad)
    assert rs.source == str(bad)
    with pytest.raises(tq.KernelError, match="rule 'exp-mul-wrong' .* is unsound"):
        tq.optimize(exp_product(), rules=[rs])


def test_sound_rules_load_without_notes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a rule the checker could not test would warn
        result = tq.optimize(exp_product(), rules=[MY_RULES])
    assert not result.warnings
    assert result.unshipped_rules_used() == [f"'exp-product' (ruleset my_rules in {MY_RULES})"]
    result.verify()


def test_a_rule_the_checker_cannot_test_loads_with_a_note(tmp_path: Path) -> None:
    odd = tmp_path / "odd.py"
    odd.write_text('''
from egglog import String, rewrite, vars_
from tteqsat import rules
from tteqsat.egraph import TensorExpr, binary, unary
a, b = vars_("a b", TensorExpr)
(op,) = vars_("op", String)
RULESET = rules.RuleSet("odd", "an op name used as unary and as binary", "grow", (
    rules.Rule("odd-rule", rewrite(unary(op, binary(op, a, b))).to(binary(op, a, b))),
))
''')
    with pytest.warns(UserWarning, match="was not checked for soundness"):
        result = tq.optimize(exp_product(), rules=[odd])
    assert result.warnings == [f"rule 'odd-rule' (ruleset odd in {odd}) was not checked for soundness: no op is "
                               "valid for op at every position it appears"]


def test_skipping_the_check_gives_a_wrong_kernel_that_verify_traces_to_the_rule(bad: Path) -> None:
    result = tq.optimize(exp_product(), rules=[bad], check_rules=False)
    assert result.unshipped_rules_used() == [f"'exp-mul-wrong' (ruleset bad in {bad})"]
    with pytest.raises(tq.VerificationError) as e:
        result.verify(inputs=random_inputs(result.kernel, seed=0, scale=0.25))
    msg = str(e.value)
    assert "a rewrite rule is unsound" in msg
    assert f"the result depends on rules that are not shipped: 'exp-mul-wrong' (ruleset bad in {bad})" in msg


def test_a_tolerance_failure_names_the_user_rules_too() -> None:
    with pytest.raises(tq.VerificationError) as e:  # no bf16 kernel matches numpy exactly
        tq.optimize(exp_product(), rules=[MY_RULES]).verify(tolerance=0.0)
    assert "differs from the reference" in str(e.value) and "'exp-product' (ruleset my_rules in " in str(e.value)
    with pytest.raises(tq.VerificationError) as e:
        tq.optimize(exp_product()).verify(tolerance=0.0)  # shipped rules only: nothing to name
    assert "not shipped" not in str(e.value)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tteqsat.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_refuses_the_rule_and_the_flag_skips_the_check(tmp_path: Path, bad: Path) -> None:
    kernel = tmp_path / "exp_product.py"
    kernel.write_text(KERNEL)
    refused = run_cli("optimize", str(kernel), "--rules", str(bad))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("tteqsat: error: rule 'exp-mul-wrong' (ruleset bad in ")
    assert "counterexample" in refused.stderr and refused.stderr.count("\n") == 1
    skipped = run_cli("optimize", str(kernel), "--rules", str(bad), "--no-check-rules", "--verify")
    assert skipped.returncode == 1
    failed = next(ln for ln in skipped.stdout.splitlines() if ln.startswith("verification FAILED"))
    assert "'exp-mul-wrong' (ruleset bad in " in failed and "tteqsat rules check --rules FILE" in failed
