"""The soundness checker: every shipped rule passes; wrong rules are caught by name with a counterexample."""

from __future__ import annotations

import math

import pytest
from egglog import f64, function, i64, rewrite, rule, union, var, vars_

from tteqsat import egraph as eg
from tteqsat import rules
from tteqsat.egraph import TensorExpr, bcast, binary, hw_fpu, hw_fpu_bcast, hw_reuse, matmul, reduce, scalar, unary
from tteqsat.rulecheck import check_rule, check_ruleset
from tteqsat.rulecheck.claims import describe

a, b, v, y = vars_("a b v y", TensorExpr)
s = var("s", f64)
n, w = vars_("n w", i64)


@function
def mystery(x: TensorExpr) -> TensorExpr:  # type: ignore[empty-body]
    """A constructor the checker has no semantics for."""


def one(name: str, rw) -> rules.Rule:
    return rules.Rule(name, rw)


@pytest.mark.parametrize("rs", rules.shipped_rulesets(), ids=lambda rs: rs.name)
def test_every_shipped_rule_passes(rs: rules.RuleSet) -> None:
    checks = check_ruleset(rs, samples=20, seed=0)
    assert [c.name for c in checks] == [r.name for r in rs.rules]
    failed = [f"{c.name}: {c.counterexample or c.note}" for c in checks if not c.sound]
    assert not failed, "\n".join(failed)
    assert all(c.samples >= 20 and c.worst_error < 1e-9 for c in checks)


def test_wrong_exp_product_is_caught_with_a_counterexample() -> None:
    c = check_rule(one("exp-times-exp", rewrite(binary("mul", unary("exp", a), unary("exp", b)))
                       .to(unary("exp", binary("mul", a, b)))), "mine")
    assert (c.name, c.ruleset, c.sound) == ("exp-times-exp", "mine", False)
    assert c.counterexample and "a = [[" in c.counterexample and "b = [[" in c.counterexample
    assert "lhs[" in c.counterexample and "rhs[" in c.counterexample
    assert c.worst_error > 0.1


def test_a_missing_condition_is_caught_and_the_condition_fixes_it() -> None:
    lhs, rhs = reduce("rowmax", scalar("mul_s", a, s)), scalar("mul_s", reduce("rowmax", a), s)
    bad = check_rule(one("rowmax-scale", rewrite(lhs).to(rhs)))
    assert not bad.sound and bad.counterexample and "s = -" in bad.counterexample  # only s < 0 breaks it
    good = check_rule(one("rowmax-scale", rewrite(lhs).to(rhs, s > 0.0)))
    assert good.sound and good.samples == 20 and good.counterexample is None


def test_overflow_the_right_side_introduces_in_bf16_is_caught() -> None:
    # exp(a - 1) == exp(a) * e^-1 exactly, but exp(a) overflows fp32/bf16 for a in (88.7, 89.7)
    c = check_rule(one("exp-shift", rewrite(unary("exp", scalar("add_s", a, -1.0)))
                       .to(scalar("mul_s", unary("exp", a), math.exp(-1.0)))), samples=40)
    assert not c.sound and c.counterexample and "float32" in c.counterexample


@pytest.mark.parametrize("rw, says", [
    (rewrite(matmul(a, b)).to(matmul(b, a)), "rhs"),                         # wrong values or wrong shape
    (rewrite(binary("sub", a, b)).to(hw_reuse("sub", a, b, "srcb")), "rhs["),  # srcb computes CB - DST
    (rewrite(binary("div", a, b)).to(hw_fpu("div", a, b)), "hw_fpu has no op 'div'"),
    (rewrite(a).to(binary("mul", unary("sqrt", a), unary("sqrt", a))), "nan"),  # only for a >= 0
    (rewrite(binary("sub", bcast("cols", v, n), a)).to(hw_fpu_bcast("sub", a, bcast("cols", v, i64(32)), "cols")),
     "rhs"),  # a - bcast(v) is not bcast(v) - a
    (rewrite(binary("sub", a, bcast("cols", v, n))).to(hw_fpu_bcast("sub", a, bcast("cols", v, n), "cols")),
     "one tile along cols"),  # the broadcast operand must be one tile wide
])
def test_wrong_forms_are_caught(rw, says: str) -> None:
    c = check_rule(one("wrong", rw))
    assert not c.sound and c.counterexample and says in c.counterexample


def test_a_streaming_fold_with_the_wrong_trip_count_is_caught() -> None:
    body = (y == reduce("rowsum", a), eg.whole(a), n == eg.cols(a), eg.chunk_width(w), w < n, n % w == i64(0))
    chunked = reduce("rowsum", eg.kchunk(a, w))
    right = rule(*body, name="rowsum-chunks").then(union(y).with_(eg.fold_sum(chunked, n / w)))
    wrong = rule(*body, name="rowsum-chunks-1").then(union(y).with_(eg.fold_sum(chunked, n / w - 1)))
    assert check_rule(one("rowsum-chunks", right)).sound
    c = check_rule(one("rowsum-chunks-1", wrong))
    assert not c.sound and c.counterexample and "w = " in c.counterexample


def test_what_cannot_be_checked_is_not_called_sound() -> None:
    unknown = check_rule(one("mystery", rewrite(mystery(a)).to(a)))
    assert not unknown.sound and unknown.counterexample is None and "mystery" in (unknown.note or "")
    typo = check_rule(one("typo", rewrite(unary("exp2", a)).to(a)))
    assert not typo.sound and "never matches" in (typo.note or "")


def test_deterministic_for_a_seed() -> None:
    rs = rules.shipped_rulesets()[1]
    assert check_ruleset(rs, samples=5, seed=3) == check_ruleset(rs, samples=5, seed=3)


def test_describe_reads_like_the_dsl() -> None:
    by_name = {r.name: r for rs in rules.shipped_rulesets() for r in rs.rules}
    assert describe(by_name["exp-of-scaled"]) == "exp(a * s) -> exp_scaled(a, s)"
    assert describe(by_name["rowmax-of-scaled"]) == "rowmax(a * s) -> rowmax(a) * s  if s > 0.0"
    assert describe(by_name["defer-row-normalization"]) == (
        "(a * bcast_cols(v, m)) @ b -> (a @ b) * bcast_cols(v, n)  if n == cols(b)")
