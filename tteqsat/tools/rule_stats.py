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
from dataclasses import dataclass, replace
from pathlib import Path

from egglog import EGraph, ruleset, run

from tteqsat.arch import Arch
from tteqsat.egraph.bridge import insert_kernel
from tteqsat.egraph.saturate import Limits, saturate
from tteqsat.errors import KernelError
from tteqsat.frontend.ir import Kernel
from tteqsat.pipeline import Result, optimize
from tteqsat.rulecheck.at_load import check_user_rules
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


def resolve_rulesets(rulesets: Rulesets, check_rules: bool = True) -> list[RuleSet]:
    """The rulesets to study: the shipped ones by default; paths are rule files. Rules that are not shipped
    are soundness-checked once here (not in every ablation run) unless `check_rules` is False."""
    if rulesets is None:
        return shipped_rulesets()
    out: list[RuleSet] = []
    for r in rulesets:
        out.extend([r] if isinstance(r, RuleSet) else load_rule_file(r))
    if check_rules:
        for note in check_user_rules(out):
            warnings.warn(note, stacklevel=2)
    return out


def _without(rulesets: list[RuleSet], rule: Rule) -> list[RuleSet]:
    out = []
    for rs in rulesets:
        kept = tuple(r for r in rs.rules if r is not rule)
        if kept:
            out.append(rs if len(kept) == len(rs.rules) else replace(rs, rules=kept))
    return out


def _rerun(full: Result, rulesets: list[RuleSet]) -> Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return full.reoptimize(rulesets)


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
    if full.chosen != ablated.chosen:
        return f"chooses {ablated.chosen} instead of {full.chosen} at equal cost"
    if full.fingerprint() != ablated.fingerprint():
        return "other op forms at equal cost"
    return ""


def rule_stats(kernel: Kernel, arch: str | Arch = "wormhole_b0", rulesets: Rulesets = None,
               limits: Limits | None = None,
               on_rule: Callable[[int, int, str], None] | None = None, *,
               overrides: dict[str, object] | None = None, check_rules: bool = True) -> list[RuleStat]:
    """Statistics of every rule of `rulesets` (default: the shipped ones) on `kernel`, in ruleset order.

    `arch` is a name, an arch file or an Arch, with `overrides` applied (as `tteqsat.optimize` takes them).
    `on_rule(done, total, name)` is called before each ablation run, for a progress display.
    """
    chosen = resolve_rulesets(rulesets, check_rules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = optimize(kernel, arch, limits=limits, rules=chosen, shipped_rules=False, check_rules=False,
                        overrides=overrides)
    return stats_of(full, on_rule)


def stats_of(full: Result, on_rule: Callable[[int, int, str], None] | None = None,
             measure: bool = True) -> list[RuleStat]:
    """Statistics of every rule `full` was optimized with, each ablation re-run with `full`'s own settings.
    Without `measure`, only `used` and `change` (what the derivation reads) are computed: `seconds` and
    `enodes_added` stay 0, sparing the timing runs and, where the ablation fails, the extra saturation."""
    kernel, chosen, limits = full.kernel, full.rulesets, full.limits
    report = full.saturation
    timed = any(s.seconds > 0 for s in report.rules.values())
    isolated = {} if timed or not measure else _isolated_seconds(kernel, chosen, limits)
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
                ablated = _rerun(full, others)
                added, change = report.enodes - ablated.saturation.enodes, _change(full, ablated)
            except KernelError as e:
                first = str(e).splitlines()[0].rstrip(":")  # "fits in no form" lists every form below
                added = report.enodes - _enodes(kernel, others, limits) if measure else 0
                change = f"fails: {first}"
        stats.append(RuleStat(rule.name, rs.name, rs.stage, matches, seconds, added, bool(change), change,
                              describe(rule)))
    return stats


def derivation(kernel: Kernel, arch: str | Arch = "wormhole_b0", rulesets: Rulesets = None,
               limits: Limits | None = None, stats: list[RuleStat] | None = None, *,
               overrides: dict[str, object] | None = None, check_rules: bool = True) -> list[Step]:
    """The rules the chosen schedule depends on, in stage order (then ruleset and rule order)."""
    stats = stats if stats is not None else rule_stats(kernel, arch, rulesets, limits, overrides=overrides,
                                                       check_rules=check_rules)
    return steps_of(stats)


def derivation_of(result: Result, on_rule: Callable[[int, int, str], None] | None = None) -> list[Step]:
    """The rules `result` depends on: each matched rule left out in turn, with `result`'s own settings."""
    return steps_of(stats_of(result, on_rule, measure=False))


def steps_of(stats: list[RuleStat]) -> list[Step]:
    """The used rules of `stats` as derivation steps, in stage order (stable within a stage)."""
    used = [s for s in stats if s.used]
    used.sort(key=lambda s: STAGES.index(s.stage) if s.stage in STAGES else len(STAGES))  # stable
    return [Step(s.name, s.ruleset, s.stage, s.rewrite, s.matches, s.change) for s in used]
