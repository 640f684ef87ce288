"""Per-rule statistics and the derivation: which rules a kernel's result depends on, and a user rule file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from conftest import load_example

import tteqsat as tq
from tteqsat import rules
from tteqsat.rulecheck.claims import describe
from tteqsat.tools.rule_stats import Step, derivation, derivation_of, rule_stats

MY_RULES = Path(__file__).resolve().parent.parent / "examples" / "rules" / "my_rules.py"


def small_attention() -> tq.Kernel:
    """Attention at one q tile row over four key tiles, d = 32: the smallest at which every rule these tests name
    still matches and changes the modeled cost, and each stage has a used rule. rule_stats re-optimizes once per
    rule that matched; here that costs about a seventh of the attention example's 64x256x64."""
    q = tq.tensor("q", (32, 32))
    k = tq.tensor("k", (128, 32))
    v = tq.tensor("v", (128, 32))
    return tq.kernel("attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)


@pytest.fixture(scope="module")
def attention_stats():
    return rule_stats(small_attention())


def test_attention_depends_on_its_key_rewrites(attention_stats) -> None:
    stats = {s.name: s for s in attention_stats}
    assert list(stats) == [r.name for rs in rules.shipped_rulesets() for r in rs.rules]
    for name in ("softmax-expand", "exp-of-scaled", "defer-row-normalization"):
        s = stats[name]
        assert s.used and s.matches > 0 and "cycles" in s.change, s
    assert stats["exp-of-scaled"].rewrite == "exp(a * s) -> exp_scaled(a, s)"
    assert stats["softmax-expand"].enodes_added > 0  # without the expansion most of the e-graph never exists
    for s in attention_stats:
        if s.matches == 0:  # never fired: cannot have changed anything
            assert not s.used and s.enodes_added == 0


def test_derivation_is_the_used_rules_in_stage_order(attention_stats) -> None:
    steps = derivation(small_attention(), stats=attention_stats)
    assert [s.rule for s in steps] == [
        s.name for stage in rules.STAGES for s in attention_stats if s.used and s.stage == stage]
    assert steps[0].rule == "softmax-expand" and steps[0].stage == "expand"
    assert {s.stage for s in steps} == {"expand", "grow", "hardware"}
    assert all(" -> " in s.rewrite for s in steps)


def guide_kernel() -> tq.Kernel:
    x = tq.tensor("x", (64, 64))
    y = tq.tensor("y", (64, 64))
    p = tq.exp(x) * tq.exp(y)
    return tq.kernel("exp_product", p + p)


def test_a_user_rule_file_changes_the_result() -> None:
    kernel = guide_kernel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shipped = tq.optimize(kernel)
        mine = tq.optimize(kernel, rules=[str(MY_RULES)])
    assert mine.cost_cycles < shipped.cost_cycles
    assert len(mine.schedule.sections) < len(shipped.schedule.sections)
    ops = [op.kind for sec in mine.schedule.sections for op in sec.ops]
    assert ops.count("sfpu") + ops.count("exp_scaled") == 1  # one exp
    mine.verify()


def test_stats_see_the_user_rules() -> None:
    stats = {s.name: s for s in rule_stats(guide_kernel(), rulesets=rules.shipped_rulesets() + [str(MY_RULES)])}
    # double-as-scale matches, but an SFPU scale (64 cycles a tile) loses to an FPU add in a second pass
    assert stats["exp-product"].used and stats["double-as-scale"].matches >= 1 and not stats["double-as-scale"].used
    assert stats["exp-product"].ruleset == "my_rules" and stats["exp-product"].matches >= 1


def derivation_as_before(kernel: tq.Kernel) -> list[Step]:
    """The derivation as it was computed before `derivation_of` was made cheaper: every matched rule left out in
    its own fresh `tq.optimize` (no prices shared between the runs), whose extraction settles every class of the
    e-graph (not only those its roots reach), and each run measured (e-nodes, seconds) as `rule_stats` does."""
    from tteqsat.extraction import greedy
    from tteqsat.tools.rule_stats import RuleStat, _change, _without, steps_of

    def everywhere(graph, facts) -> set[str]:
        return set(graph.classes)

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.setattr(greedy, "_reachable", everywhere)
        warnings.simplefilter("ignore")
        full = tq.optimize(kernel)
        stats = []
        for rs in full.rulesets:
            for rule in rs.rules:
                matches = full.saturation.rules[rule.name].matches
                change = ""
                if matches:
                    try:
                        ablated = tq.optimize(kernel, rules=_without(full.rulesets, rule), shipped_rules=False,
                                              check_rules=False)
                        change = _change(full, ablated)
                    except tq.KernelError as e:
                        change = f"fails: {str(e).splitlines()[0].rstrip(':')}"
                stats.append(RuleStat(rule.name, rs.name, rs.stage, matches, 0.0, 0, bool(change), change,
                                      describe(rule)))
    return steps_of(stats)


@pytest.mark.parametrize("kernel", [guide_kernel, lambda: load_example("ten_ops")], ids=["exp_product", "ten_ops"])
def test_the_derivation_is_the_one_fresh_runs_without_each_rule_give(kernel) -> None:
    """derivation_of shares prices between its re-runs and extracts from reachable classes only: the same steps,
    word for word, as one fresh optimization per left-out rule."""
    steps = derivation_of(tq.optimize(kernel()))
    assert steps == derivation_as_before(kernel())
    assert len(steps) >= 3 and any(s.change.startswith("cost") for s in steps)
