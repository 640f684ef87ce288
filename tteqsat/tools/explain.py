"""Why the optimizer chose what it chose: the rules the result depends on, and the alternatives it weighed.

The derivation comes from `tteqsat.tools.rule_stats`: a rule belongs to it when leaving it out (and only it)
changes the optimized result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tteqsat.arch import Arch
from tteqsat.egraph.saturate import Limits
from tteqsat.frontend.ir import Kernel
from tteqsat.pipeline import Result, optimize
from tteqsat.rules import RuleSet, rule_identity
from tteqsat.tools.console import console_for
from tteqsat.tools.rule_stats import Step, derivation_of


@dataclass
class Explanation:
    result: Result
    derivation: list[Step]


def explain(kernel: Kernel, arch: str | Arch = "wormhole_b0", limits: Limits | None = None,
            form: str = "auto", *, overrides: dict[str, object] | None = None,
            rules: Sequence[RuleSet | str | Path] | None = None, check_rules: bool = True) -> Explanation:
    """Optimize `kernel` (shipped rules plus `rules`), then find which rules the result depends on, each
    left out in turn with the same settings."""
    result = optimize(kernel, arch, limits=limits, form=form, overrides=overrides, rules=rules,
                      check_rules=check_rules)
    return Explanation(result, derivation_of(result))


def render(ex: Explanation, console=None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from tteqsat.tools.report import render as render_schedule

    console = console or console_for()
    r = ex.result
    alt = Table(title="alternatives weighed", title_justify="left")
    for col in ("form", "modeled cycles", "vs chosen", "fits L1", "what it is, or why it does not fit"):
        alt.add_column(col, justify="right" if col in ("modeled cycles", "vs chosen") else "left")
    chosen = r.alternatives[r.chosen].cycles or r.cost_cycles
    for a in r.alternatives.values():
        mark = " (chosen)" if a.label == r.chosen else ""
        ratio = f"{a.cycles / chosen:.2f}x" if a.cycles is not None and a.feasible else "-"
        alt.add_row(a.label + mark, f"{a.cycles:,.0f}" if a.cycles is not None else "-", ratio,
                    a.status, escape(a.detail))
    console.print(alt)
    console.print(escape(r.reason))
    der = Table(title="derivation: rules the chosen form depends on, input to result", title_justify="left")
    for col in ("#", "stage", "rule", "identity", "matches", "without it"):
        der.add_column(col, justify="right" if col in ("#", "matches") else "left")
    for n, s in enumerate(ex.derivation, 1):
        identity = rule_identity(s.rule) or s.rewrite
        change = "nothing fits" if s.change.startswith("fails") else s.change
        der.add_row(str(n), s.stage, s.rule, escape(identity), str(s.matches), escape(change))
    console.print(der)
    render_schedule(r, console)
