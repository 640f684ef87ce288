"""Why the optimizer chose what it chose: the rules the result depends on, and the alternatives it weighed.

A rule is in the derivation when taking it out (and only it) makes the optimized result model slower or
changes the chosen form: that is checked by re-optimizing without it, for every rule that fired.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .ir import Kernel
from .pipeline import Result, optimize
from .rules import STAGES, RuleSet, rule_identity, shipped_rulesets


@dataclass
class Step:
    rule: str
    ruleset: str
    stage: str
    identity: str
    matches: int
    cycles_without: float | None  # modeled cycles when the rule is left out (None: no schedule at all)


@dataclass
class Explanation:
    result: Result
    derivation: list[Step]


def explain(kernel: Kernel, arch: str = "wormhole_b0", **options) -> Explanation:
    """Optimize `kernel`, then find which fired rules the result depends on."""
    rulesets = shipped_rulesets()
    result = optimize(kernel, arch, **options)
    fired = [(rs, r) for rs in rulesets for r in rs.rules if result.saturation.rules[r.name].matches]
    steps: list[Step] = []
    for rs, rule in fired:
        reduced: list[RuleSet] = [x.without(rule.name) if x is rs else x for x in rulesets]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                other = optimize(kernel, arch, rules=reduced, shipped_rules=False, **options)
            without: float | None = other.cost_cycles
            changed = other.cost_cycles > result.cost_cycles + 1e-6 or other.chosen != result.chosen
        except Exception:  # without this rule nothing schedules: the result depends on it
            without, changed = None, True
        if changed:
            steps.append(Step(rule.name, rs.name, rs.stage, rule_identity(rule.name),
                              result.saturation.rules[rule.name].matches, without))
    steps.sort(key=lambda s: STAGES.index(s.stage))
    return Explanation(result, steps)


def render(ex: Explanation, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .report import render as render_schedule

    console = console or Console()
    r = ex.result
    alt = Table(title="alternatives weighed", title_justify="left")
    for col in ("form", "modeled cycles", "vs chosen", "fits", "what it is"):
        alt.add_column(col, justify="right" if col in ("modeled cycles", "vs chosen") else "left")
    chosen = r.alternatives[r.chosen].cycles or r.cost_cycles
    for a in r.alternatives.values():
        mark = " (chosen)" if a.label == r.chosen else ""
        alt.add_row(a.label + mark, f"{a.cycles:,.0f}" if a.cycles is not None else "-",
                    f"{a.cycles / chosen:.2f}x" if a.cycles is not None else "-", "yes" if a.feasible else "no",
                    escape(a.detail))
    console.print(alt)
    console.print(escape(r.reason))
    der = Table(title="derivation: rules the chosen form depends on, input to result", title_justify="left")
    for col in ("#", "stage", "rule", "identity", "matches", "cycles without it"):
        der.add_column(col, justify="right" if col in ("#", "matches", "cycles without it") else "left")
    for n, s in enumerate(ex.derivation, 1):
        der.add_row(str(n), s.stage, s.rule, escape(s.identity), str(s.matches),
                    f"{s.cycles_without:,.0f}" if s.cycles_without is not None else "no schedule")
    console.print(der)
    render_schedule(r, console)
