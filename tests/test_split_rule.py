"""The split over keys as rewrite rules: an online fold over chunks equals partial folds, each with its own max
and sum, combined by a rescaling reduction. The rules fire only where the keys meet nothing but that fold, the
soundness checker rejects the combine without its rescale, and the e-graph's part counts are what the pipeline
prices and verifies."""

from __future__ import annotations

import numpy as np
import pytest
from egglog import EGraph, i64, rule, union

import tteqsat as tq
from tteqsat.egraph import combine_parts, key_parts, online_sum, part_fold, part_max, reduce, running_max
from tteqsat.egraph.bridge import insert_kernel, serialize
from tteqsat.egraph.saturate import Limits, saturate
from tteqsat.frontend.batch import element_view
from tteqsat.rulecheck import check_rule
from tteqsat.rules import Rule, shipped_rulesets
from tteqsat.rules import streaming as st

SPLIT_RULES = ("online-matmul-over-parts", "online-rowsum-over-parts")


def decode(heads: int = 2, keys: int = 4096, d: int = 64) -> tq.Kernel:
    q = tq.tensor("q", (1, heads, 1, d))
    k, v = (tq.tensor(n, (1, heads, keys, d)) for n in "kv")
    return tq.kernel("decode", tq.softmax(q @ k.mT * (1 / np.sqrt(d))) @ v)


def saturated(kernel: tq.Kernel):
    egraph = EGraph()
    insert_kernel(egraph, element_view(kernel).kernel)
    report = saturate(egraph, shipped_rulesets(), Limits(), None)
    return serialize(egraph), {name: report.rules[name].matches if name in report.rules else 0 for name in SPLIT_RULES}


def test_the_split_rules_fire_on_decode_and_offer_its_part_counts() -> None:
    graph, fired = saturated(decode())
    assert all(n > 0 for n in fired.values()), fired
    assert graph.key_parts() == [2, 4, 8, 16, 32]  # 4096 keys stream in at most 32 chunks: 64 and 128 parts do not
    assert any(n.op == "combine_parts" for nodes in graph.classes.values() for n in nodes)


def test_keys_that_meet_anything_but_the_fold_offer_no_split() -> None:
    q = tq.tensor("q", (64, 64))
    k, v = (tq.tensor(n, (1024, 64)) for n in "kv")
    causal, fired = saturated(tq.kernel("c", tq.softmax(tq.where(tq.tri(64, 1024), q @ k.T, -np.inf)) @ v))
    assert fired == {name: 0 for name in SPLIT_RULES} and causal.key_parts() == []  # a mask counts global keys
    for kern in (tq.kernel("s", {"out": tq.softmax(q @ k.T) @ v, "m": (q @ k.T).max(axis=-1)}),  # a second output
                 tq.kernel("p", tq.softmax(q @ k.T) @ v + (q @ k.T).sum(axis=-1))):  # a row sum over all keys
        graph, fired = saturated(kern)
        assert fired["online-matmul-over-parts"] > 0  # its fold splits, but the output is more than the fold
        assert graph.key_parts() == [], kern.name


def _split_rule(scale: float | None) -> Rule:
    """online-matmul-over-parts, with the combine's rescale exp(s (m_q - max m)) at `scale` instead of s."""
    x, y, e, w, t, p, s = st.x, st.y, st.e, st.w, st.t, st.p, st.s
    m = reduce("rowmax", x)
    body = st.matmul(st._P(x, running_max(m, t), w, s), y)
    combined = combine_parts(part_fold(body, m, s, t, p), part_max(m, t, p), s if scale is None else scale, p)
    return Rule("over-parts", rule(e == online_sum(body, m, s, t), key_parts(p), t % p == i64(0),
                                   name="over-parts").then(union(e).with_(combined)))


def test_the_checker_passes_the_split_and_rejects_it_without_the_rescale() -> None:
    assert check_rule(_split_rule(None), "mine", samples=30).sound
    bad = check_rule(_split_rule(0.0), "mine", samples=30)  # exp(0 (m_q - max m)) == 1: parts added as they are
    assert not bad.sound and bad.worst_error > 0.1
    assert bad.counterexample and "p = " in bad.counterexample and "lhs[" in bad.counterexample


@pytest.fixture(scope="module")
def split_result() -> tq.Result:
    return tq.optimize(decode(), "wormhole_b0")


def test_decode_splits_into_a_count_the_egraph_derives_and_verifies(split_result: tq.Result) -> None:
    r = split_result
    assert r.split is not None and r.split.offered == (2, 4, 8, 16, 32) and r.split.kv.parts in r.split.offered
    assert r.chosen == "split" and "the e-graph derives 2, 4, 8, 16, 32" in r.reason
    assert all(r.saturation.rules[name].matches > 0 for name in SPLIT_RULES)  # so a derivation ablates them
    check = r.verify()
    assert check.max_rel_err <= check.tolerance and check.stats["split.parts"] == r.split.kv.parts


def test_without_the_split_rules_decode_does_not_split(split_result: tq.Result) -> None:
    """The e-graph, not a pattern match, makes the split available: ablate its rules and none is priced."""
    rulesets = [rs.without(SPLIT_RULES[0]).without(SPLIT_RULES[1]) for rs in shipped_rulesets()]
    r = tq.optimize(decode(), "wormhole_b0", rules=rulesets, shipped_rules=False, check_rules=False)
    assert r.split is None and r.cost_cycles > split_result.cost_cycles
    with pytest.raises(tq.KernelError, match="cannot be split over its keys: no fold over its keys splits"):
        tq.optimize(decode(), "wormhole_b0", rules=rulesets, shipped_rules=False, check_rules=False, split=4)
