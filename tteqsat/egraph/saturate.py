"""Bounded, staged equality saturation with a per-rule report.

Stages: expansions to saturation; growing rules one iteration at a time under a back-off scheduler, with
the shape analysis saturated between iterations; hardware op forms last. Limits stop the growing stage
and the result so far is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from egglog import EGraph, back_off, run

from tteqsat.egraph.bridge import shape_analysis
from tteqsat.errors import KernelError
from tteqsat.rules import RuleSet, check_unique_names


@dataclass(frozen=True)
class Limits:
    """Bounds on the growing stage. Hitting one keeps the e-graph so far and says which."""

    iterations: int = 12
    enodes: int = 50_000
    seconds: float = 20.0
    match_limit: int = 1000  # back-off: a rule matching more than this in one iteration is banned a while
    ban_length: int = 5

    def __post_init__(self) -> None:
        """A negative limit (a typo) would stop at once and look like a result; say which one instead."""
        for name, option in (("iterations", "--max-iterations"), ("enodes", "--max-enodes"),
                             ("seconds", "--timeout"), ("match_limit", ""), ("ban_length", "")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                shown = f"{option} (Limits.{name})" if option else f"Limits.{name}"
                raise KernelError(f"{shown} must be a number >= 0, got {value!r}")

    @staticmethod
    def add_arguments(parser) -> None:
        """The command-line options every saturating command takes."""
        d = Limits()
        parser.add_argument("--max-iterations", type=int, default=d.iterations, help="saturation iteration limit")
        parser.add_argument("--max-enodes", type=int, default=d.enodes, help="saturation e-node limit")
        parser.add_argument("--timeout", type=float, default=d.seconds, help="saturation time limit in seconds")

    @classmethod
    def from_arguments(cls, args) -> Limits:
        return cls(iterations=args.max_iterations, enodes=args.max_enodes, seconds=args.timeout)


@dataclass
class RuleStats:
    name: str
    ruleset: str
    matches: int = 0
    seconds: float = 0.0


@dataclass
class SaturationReport:
    iterations: int = 0
    enodes: int = 0
    seconds: float = 0.0
    stopped_by: str | None = None  # "iterations", "enodes", "seconds", or None when saturated
    rules: dict[str, RuleStats] = field(default_factory=dict)

    @property
    def warning(self) -> str | None:
        if self.stopped_by is None:
            return None
        return f"saturation stopped at the {self.stopped_by} limit; using the best schedule found so far"


def count_enodes(egraph: EGraph) -> int:
    return sum(size for fn, size in egraph.all_function_sizes() if str(fn) not in ("rows", "cols"))


def saturate(egraph: EGraph, rulesets: Sequence[RuleSet], limits: Limits = Limits(),
             progress: Callable[[int, int], None] | None = None) -> SaturationReport:
    """Run the rulesets on `egraph` in stages within `limits`."""
    check_unique_names(list(rulesets))
    report = SaturationReport()
    names = {}
    for rs in rulesets:
        for r in rs.rules:
            names[r.rewrite.decl] = (r.name, rs.name)
            report.rules[r.name] = RuleStats(r.name, rs.name)
    start = time.perf_counter()
    by_stage = {st: [rs for rs in rulesets if rs.stage == st] for st in ("expand", "grow", "hardware")}

    def absorb(run_report) -> None:
        for decl, count in run_report.num_matches_per_rule.items():
            if decl in names:
                report.rules[names[decl][0]].matches += int(count)
        for decl, spent in run_report.search_and_apply_time_per_rule.items():
            if decl in names:
                report.rules[names[decl][0]].seconds += spent.total_seconds()

    egraph.run(shape_analysis.saturate())
    expand = combine(by_stage["expand"])
    if expand is not None:
        absorb(egraph.run((shape_analysis.saturate() + run(expand)).saturate()))
    grow = combine(by_stage["grow"])
    if grow is not None:
        scheduler = back_off(match_limit=limits.match_limit, ban_length=limits.ban_length)
        while True:
            if report.iterations >= limits.iterations:
                report.stopped_by = "iterations"
                break
            if time.perf_counter() - start > limits.seconds:
                report.stopped_by = "seconds"
                break
            step = egraph.run(run(grow, scheduler=scheduler))
            absorb(step)
            egraph.run(shape_analysis.saturate())
            report.iterations += 1
            report.enodes = count_enodes(egraph)
            if progress:
                progress(report.iterations, report.enodes)
            if report.enodes > limits.enodes:
                report.stopped_by = "enodes"
                break
            if not step.updated:
                break
    hardware = combine(by_stage["hardware"])
    if hardware is not None:
        absorb(egraph.run((run(hardware) + shape_analysis.saturate()).saturate()))
    report.enodes = count_enodes(egraph)
    report.seconds = time.perf_counter() - start
    return report


def combine(rulesets: list[RuleSet]):
    if not rulesets:
        return None
    combined = rulesets[0].egg()
    for rs in rulesets[1:]:
        combined = combined | rs.egg()
    return combined
