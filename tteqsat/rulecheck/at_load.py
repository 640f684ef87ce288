"""The soundness check a user's rules get when they are loaded: refuse a rule with a counterexample.

Shipped rules are checked by the test suite (`tests/test_soundness.py`), not at every load. A user's rule
is random-tested here with the same checker as `tteqsat rules check`; the check is quick (tens of
milliseconds per rule), and a pass means no counterexample was found, not a proof.
"""

from __future__ import annotations

from collections.abc import Iterable

from tteqsat.errors import KernelError
from tteqsat.rulecheck.sampling import check_rule
from tteqsat.rules import RuleSet, shipped_rulesets

SKIP_HINT = "pass --no-check-rules (API: check_rules=False) to load it anyway"


def shipped_rule_ids() -> set[int]:
    """Identities of the shipped Rule objects (a ruleset rebuilt from them, as ablation does, stays shipped)."""
    return {id(r) for rs in shipped_rulesets() for r in rs.rules}


def rule_origin(rs: RuleSet) -> str:
    """`ruleset NAME` or `ruleset NAME in FILE`: where a user's rule came from."""
    return f"ruleset {rs.name}" + (f" in {rs.source}" if rs.source else "")


def check_user_rules(rulesets: Iterable[RuleSet], samples: int = 20, seed: int = 0) -> list[str]:
    """Random-test every rule that is not shipped; raise a KernelError naming the first unsound rule and its
    counterexample. Returns a note for each rule the checker cannot test (those are loaded, with the note)."""
    shipped = shipped_rule_ids()
    notes: list[str] = []
    for rs in rulesets:
        for rule in rs.rules:
            if id(rule) in shipped:
                continue
            verdict = check_rule(rule, rs.name, samples, seed)
            if verdict.counterexample:
                raise KernelError(f"rule '{rule.name}' ({rule_origin(rs)}) is unsound: counterexample "
                                  f"{verdict.counterexample}; fix the rule, or {SKIP_HINT}")
            if not verdict.sound:
                why = (verdict.note or "").removeprefix("cannot check: ")
                notes.append(f"rule '{rule.name}' ({rule_origin(rs)}) was not checked for soundness: {why}")
    return notes
