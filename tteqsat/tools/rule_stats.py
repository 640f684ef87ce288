"""Per-rule statistics for one kernel, and the derivation: the rules its chosen schedule depends on.

    matches       how often the rule fired during saturation (`SaturationReport.rules`)
    seconds       the rule's search-and-apply time from the same report; egglog 13.2 reports zero for every
                  rule, so when the report has no times this is the wall time of one search-and-apply of the
                  rule alone over the saturated e-graph (what the rule costs to match, measured in isolation)
    enodes_added  e-nodes of the full run minus e-nodes of a run without the rule (ablation), so it counts
                  what the rule enabled other rules to add as well; it can be negative when a limit stops
                  the run, because the back-off scheduler then spends its iterations differently
    used          the result depends on the rule: without it the modeled cost or the chosen op forms change

Ablation re-runs `tteqsat.optimize` once per rule that matched; a rule that never matched cannot have changed
the e-graph (saturation is deterministic), so it is reported unused without a re-run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from egglog import EGraph, ruleset, run

from tteqsat.egraph.bridge import insert_kernel
from tteqsat.egraph.saturate import Limits, saturate
from tteqsat.errors import KernelError
from tteqsat.frontend.ir import Kernel
from tteqsat.pipeline import Result, optimize
from tteqsat.rulecheck.claims import describe
from tteqsat.rules import STAGES, Rule, RuleSet, load_rule_file, shipped_rulesets

Rulesets = Sequence[RuleSet | str | Path] | None  # None: the shipped rulesets; a path: a user's rule file


@dataclass(frozen=True)
class RuleStat:
    name: str
    ruleset: str
    stage: str
    matches: int
    seconds: float
    enodes_added: int
    used: bool
    change: str    # what changes without the rule ("" when nothing does)
    rewrite: str   # lhs -> rhs


@dataclass(frozen=True)
class Step:
    """One rule of the derivation and what it rewrote."""

    rule: str
    ruleset: str
    stage: str
    rewrite: str
    matches: int
    change: str


def resolve_rulesets(rulesets: Rulesets) -> list[RuleSet]:
    """The rulesets to study: the shipped ones by default; paths are rule files."""
    if rulesets is None:
        return shipped_rulesets()
    out: list[RuleSet] = []
    for r in rulesets:
        out.extend([r] if isinstance(r, RuleSet) else load_rule_file(r))
    return out


def _fingerprint(res: Result) -> tuple[float, str, tuple[str, ...]]:
    """Modeled cost, the form chosen (fused, streaming, baseline) and the op forms of the chosen program."""
    forms = sorted(op.label() for op in res.program.ops() if op.kind != "input")
    return round(res.cost_cycles, 6), str(getattr(res, "chosen", "")), tuple(forms)


def _without(rulesets: list[RuleSet], rule: Rule) -> list[RuleSet]:
    out = []
    for rs in rulesets:
        kept = tuple(r for r in rs.rules if r is not rule)
        if kept:
            out.append(rs if len(kept) == len(rs.rules) else RuleSet(rs.name, rs.description, rs.stage, kept))
    return out


def _optimize(kernel: Kernel, arch: str, rulesets: list[RuleSet], limits: Limits | None) -> Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optimize(kernel, arch, limits=limits, rules=rulesets, shipped_rules=False)


def _enodes(kernel: Kernel, rulesets: list[RuleSet], limits: Limits | None) -> int:
    egraph = EGraph()
    insert_kernel(egraph, kernel)
    return saturate(egraph, rulesets, limits or Limits()).enodes


def _isolated_seconds(kernel: Kernel, rulesets: list[RuleSet], limits: Limits | None) -> dict[int, float]:
    """Wall time of one search-and-apply of each rule alone over the saturated e-graph, keyed by id(rule)."""
    egraph = EGraph()
    insert_kernel(egraph, kernel)
    saturate(egraph, rulesets, limits or Limits())
    out: dict[int, float] = {}
    for i, rule in enumerate(r for rs in rulesets for r in rs.rules):
        alone = ruleset(rule.rewrite, name=f"tteqsat_stats_{i}")
        egraph.push()
        start = time.perf_counter()
        egraph.run(run(alone))
        out[id(rule)] = time.perf_counter() - start
        egraph.pop()
    return out


def _change(full: Result, ablated: Result) -> str:
    if abs(full.cost_cycles - ablated.cost_cycles) > 1e-6:
        return f"cost {full.cost_cycles:,.0f} -> {ablated.cost_cycles:,.0f} cycles"
    if getattr(full, "chosen", "") != getattr(ablated, "chosen", ""):
        return f"chooses {getattr(ablated, 'chosen', '')} instead of {getattr(full, 'chosen', '')} at equal cost"
    if _fingerprint(full) != _fingerprint(ablated):
        return "other op forms at equal cost"
    return ""


def rule_stats(kernel: Kernel, arch: str = "wormhole_b0", rulesets: Rulesets = None,
               limits: Limits | None = None,
               on_rule: Callable[[int, int, str], None] | None = None) -> list[RuleStat]:
    """Statistics of every rule of `rulesets` (default: the shipped ones) on `kernel`, in ruleset order.

    `on_rule(done, total, name)` is called before each ablation run, for a progress display.
    """
    chosen = resolve_rulesets(rulesets)
    full = _optimize(kernel, arch, chosen, limits)
    report = full.saturation
    timed = any(s.seconds > 0 for s in report.rules.values())
    isolated = {} if timed else _isolated_seconds(kernel, chosen, limits)
    pairs = [(rs, r) for rs in chosen for r in rs.rules]
    stats: list[RuleStat] = []
    for i, (rs, rule) in enumerate(pairs):
        if on_rule:
            on_rule(i, len(pairs), rule.name)
        entry = report.rules.get(rule.name)
        matches = entry.matches if entry else 0
        seconds = entry.seconds if entry and timed else isolated.get(id(rule), 0.0)
        added, change = 0, ""
        if matches:
            others = _without(chosen, rule)
            try:
                ablated = _optimize(kernel, arch, others, limits)
                added, change = report.enodes - ablated.saturation.enodes, _change(full, ablated)
            except KernelError as e:
                added, change = report.enodes - _enodes(kernel, others, limits), f"fails: {e}"
        stats.append(RuleStat(rule.name, rs.name, rs.stage, matches, seconds, added, bool(change), change,
                              describe(rule)))
    return stats


def derivation(kernel: Kernel, arch: str = "wormhole_b0", rulesets: Rulesets = None,
               limits: Limits | None = None, stats: list[RuleStat] | None = None) -> list[Step]:
    """The rules the chosen schedule depends on, in stage order (then ruleset and rule order)."""
    stats = stats if stats is not None else rule_stats(kernel, arch, rulesets, limits)
    used = [s for s in stats if s.used]
    used.sort(key=lambda s: STAGES.index(s.stage) if s.stage in STAGES else len(STAGES))  # stable
    return [Step(s.name, s.ruleset, s.stage, s.rewrite, s.matches, s.change) for s in used]
