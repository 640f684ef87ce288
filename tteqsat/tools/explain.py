"""Why the optimizer chose what it chose: the rules the result depends on, and the alternatives it weighed.

The derivation comes from `tteqsat.rule_stats`: a rule belongs to it when leaving it out (and only it)
changes the optimized result.
"""

from __future__ import annotations

from dataclasses import dataclass

from tteqsat.egraph.saturate import Limits
from tteqsat.frontend.ir import Kernel
from tteqsat.pipeline import Result, optimize
from tteqsat.rules import rule_identity
from tteqsat.tools.rule_stats import Step, derivation


@dataclass
class Explanation:
    result: Result
    derivation: list[Step]


def explain(kernel: Kernel, arch: str = "wormhole_b0", limits: Limits | None = None,
            form: str = "auto") -> Explanation:
    """Optimize `kernel`, then find which rules the result depends on."""
    result = optimize(kernel, arch, limits=limits, form=form)
    return Explanation(result, derivation(kernel, arch, limits=limits))


def render(ex: Explanation, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from tteqsat.tools.report import render as render_schedule

    console = console or Console()
    r = ex.result
    alt = Table(title="alternatives weighed", title_justify="left")
    for col in ("form", "modeled cycles", "vs chosen", "fits", "what it is"):
        alt.add_column(col, justify="right" if col in ("modeled cycles", "vs chosen") else "left")
    chosen = r.alternatives[r.chosen].cycles or r.cost_cycles
    for a in r.alternatives.values():
        mark = " (chosen)" if a.label == r.chosen else ""
        ratio = f"{a.cycles / chosen:.2f}x" if a.cycles is not None else "-"
        alt.add_row(a.label + mark, f"{a.cycles:,.0f}" if a.cycles is not None else "-", ratio,
                    "yes" if a.feasible else "no", escape(a.detail))
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
