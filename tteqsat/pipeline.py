"""The pipeline, stage by stage: kernel -> e-graph -> saturation -> extraction -> schedule -> MLIR -> sim.

    insert     tteqsat.egraph.insert_kernel     the kernel's outputs under root markers
    saturate   tteqsat.saturate.saturate        staged, bounded rewriting with the rulesets of tteqsat.rules
    extract    tteqsat.extract.extract          cheapest hardware program under the cost model
    schedule   tteqsat.schedule.build_schedule  DST sections, slots, CB plan, loop (baseline: unfused)
    lower      tteqsat.lowering.mlir / .cpp     TTKernel MLIR and tt-metal C++
    verify     tteqsat.sim.simulate             the emitted MLIR run on a Tensix model vs the reference
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from egglog import EGraph

from tteqsat.arch import Arch, load_arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.egraph.bridge import insert_kernel, serialize
from tteqsat.egraph.saturate import Limits, SaturationReport, saturate
from tteqsat.errors import KernelError
from tteqsat.extraction.baseline import baseline_program
from tteqsat.extraction.greedy import call_extractor, extract
from tteqsat.extraction.program import Program
from tteqsat.extraction.semantics import evaluate_program
from tteqsat.frontend import reference
from tteqsat.frontend.dsl import user_location
from tteqsat.frontend.ir import Kernel
from tteqsat.rulecheck.at_load import check_user_rules, rule_origin, shipped_rule_ids
from tteqsat.rules import RuleSet, load_rule_file, shipped_rulesets
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.model import Schedule

if TYPE_CHECKING:
    from tteqsat.lowering.host import HostProgram

FORMS = ("auto", "baseline", "fused", "streaming")
PRECISIONS = ("hardware", "exact")  # verify(): the simulator's arithmetic (tteqsat.sim.numerics)


@dataclass
class Alternative:
    """One form the optimizer weighed: its modeled cycles, whether it fits, and what it is (or why it fails)."""

    label: str
    cycles: float | None
    feasible: bool
    detail: str
    applies: bool = True  # False: the form does not arise for this kernel (streaming when nothing folds)

    @property
    def status(self) -> str:
        """`fits`, `does not fit` or `does not apply`, for tables and sentences."""
        return "fits" if self.feasible else "does not fit" if self.applies else "does not apply"


class VerificationError(AssertionError):
    """The simulated kernel does not compute what the expression says."""


@dataclass
class Verification:
    """What verify() measured: per output, max |sim - ref| and that relative to max |ref|."""

    max_abs_err: float
    max_rel_err: float
    tolerance: float
    per_output: dict[str, float]          # output -> max |sim - ref|
    stats: dict[str, object] = field(default_factory=dict)
    precision: str = "hardware"
    relative: dict[str, float] = field(default_factory=dict)  # output -> max |sim - ref| / max |ref|


@dataclass
class Result:
    """What `optimize` found: the schedule, its modeled cost against the baseline, and the artifacts."""

    kernel: Kernel
    arch: Arch
    schedule: Schedule
    baseline: Schedule
    program: Program
    saturation: SaturationReport
    eclasses: int
    times: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    alternatives: dict[str, Alternative] = field(default_factory=dict)
    chosen: str = ""
    reason: str = ""
    rulesets: list[RuleSet] = field(default_factory=list)  # what saturation ran (shipped and the user's)
    limits: Limits = field(default_factory=Limits)
    _rerun: Callable[[list[RuleSet]], Result] | None = field(default=None, repr=False)
    _mlir: str | None = None

    def reoptimize(self, rulesets: list[RuleSet]) -> Result:
        """The same optimization (kernel, arch and overrides, limits, form, extractor) with other rulesets and no
        soundness check: how rule statistics and the derivation ablate one rule at a time."""
        if self._rerun is None:
            raise KernelError("this result does not know how it was optimized (it was not made by optimize)")
        return self._rerun(rulesets)

    @property
    def cost_cycles(self) -> float:
        return self.schedule.cost_cycles

    @property
    def baseline_cycles(self) -> float:
        """The unfused baseline's modeled cycles, also when it does not fit L1 (see `baseline_feasible`)."""
        return self.baseline.cost_cycles

    @property
    def baseline_feasible(self) -> bool:
        """Whether the unfused baseline fits L1 (its CBs and the CB count)."""
        alt = self.alternatives.get("baseline")
        return alt.feasible if alt else True

    @property
    def compared_with(self) -> str | None:
        """The cheapest other form that fits: what `speedup` is against (None when no other form fits)."""
        others = [a for a in self.alternatives.values()
                  if a.label != self.chosen and a.feasible and a.cycles is not None]
        return min(others, key=lambda a: (a.cycles, a.label)).label if others else None

    @property
    def best_feasible_alternative_cycles(self) -> float | None:
        other = self.compared_with
        return self.alternatives[other].cycles if other else None

    @property
    def speedup(self) -> float | None:
        """Modeled cycles of the best other form that fits over the chosen one's (None when none fits)."""
        other = self.best_feasible_alternative_cycles
        return other / self.cost_cycles if other else None

    @property
    def baseline_speedup(self) -> float:
        """Baseline over chosen cycles; meaningful only when `baseline_feasible`."""
        return self.baseline_cycles / self.cost_cycles

    def comparison(self) -> str:
        """One honest sentence: the chosen schedule's modeled cycles against the best other form that fits, and
        against the unfused baseline only when that fits too (it is modeled either way)."""
        head = f"modeled cycles {self.cost_cycles:,.0f}" + (" (the unfused baseline)" if self.chosen == "baseline"
                                                             else "")
        other = self.compared_with
        if other is None:
            parts = ["the only form that fits, so there is nothing to compare it with"]
        else:
            parts = [f"{self.speedup:.2f}x vs {_form_name(other)} at {self.best_feasible_alternative_cycles:,.0f}, "
                     "the best other form that fits"]
        if "baseline" not in (self.chosen, other):
            if self.baseline_feasible:
                parts.append(f"{self.baseline_speedup:.2f}x vs the unfused baseline at {self.baseline_cycles:,.0f}")
            else:
                parts.append(f"the unfused baseline does not fit ({self.baseline_misfit()})")
        return f"{head}: " + "; ".join(parts)

    def baseline_misfit(self) -> str:
        """Why the unfused baseline does not fit, in bytes of L1 when that is the reason."""
        need, have = self.baseline.l1_bytes(self.arch), self.arch.l1_budget
        if need > have:
            return f"it needs {need:,} bytes of L1 for its CBs, {self.arch.name} has {have:,} free"
        alt = self.alternatives.get("baseline")
        return alt.detail if alt else "it does not fit"

    @property
    def l1_bytes(self) -> int:
        return self.schedule.l1_bytes(self.arch)

    def to_mlir(self) -> str:
        if self._mlir is None:
            from tteqsat.lowering.mlir import emit_module

            start = time.perf_counter()
            self._mlir = emit_module(self.schedule)
            self.times["lower"] = time.perf_counter() - start
        return self._mlir

    def to_cpp(self) -> dict[str, str]:
        from tteqsat.lowering.cpp import translate_to_cpp

        return translate_to_cpp(self.to_mlir())

    def to_host(self) -> HostProgram:
        """The host program next to the kernels: tensors, CB configs, each kernel's compile-time and runtime
        args, the compute config and the cores (`tteqsat.lowering.host`); ``.to_json()`` for the file."""
        from tteqsat.lowering.host import host_program

        return host_program(self.to_mlir())

    def tolerance(self, precision: str = "hardware") -> float:
        """The documented tolerance of verify() for this kernel's dtype and math fidelity."""
        from tteqsat.sim.tolerance import tolerance_for

        return tolerance_for(precision, self.kernel.dtype, self.schedule.math_fidelity)

    def verify(self, seed: int = 0, inputs: dict[str, np.ndarray] | None = None, precision: str = "hardware",
               tolerance: float | None = None, dist: str = "normal") -> Verification:
        """Run the emitted MLIR on the simulator and compare each output with the reference, relative to the
        output's own largest value; raise `VerificationError` on a mismatch.

        `precision`: "hardware" (the Tensix's arithmetic) or "exact"; `tolerance` defaults to the documented
        one for the precision, dtype and fidelity (tteqsat.sim.tolerance); `dist` draws the random inputs
        when `inputs` is not given."""
        from tteqsat.sim import SimulationError, simulate
        from tteqsat.sim.tolerance import compare

        if precision not in PRECISIONS:
            raise KernelError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}")
        inputs = inputs or reference.random_inputs(self.kernel, seed, dist=dist)
        expected = reference.evaluate(self.kernel, inputs)
        chosen = evaluate_program(self.program, inputs)
        for name, want in expected.items():
            scale = max(1.0, float(np.max(np.abs(want))))
            rules_err = float(np.max(np.abs(chosen[name] - want))) / scale
            if not rules_err <= 1e-4:
                raise VerificationError(f"output '{name}': the extracted program differs from the kernel by "
                                        f"{rules_err:.3g} in numpy; a rewrite rule is unsound"
                                        + self._suspects())
        start = time.perf_counter()
        try:
            sim = simulate(self.to_mlir(), inputs, host=self.to_host(), precision=precision)
        except SimulationError as e:
            raise VerificationError(
                f"kernel '{self.kernel.name}': the emitted MLIR fails on the Tensix model: {e}") from None
        self.times["simulate"] = time.perf_counter() - start
        tol = self.tolerance(precision) if tolerance is None else float(tolerance)
        errors = compare(sim.outputs, expected)
        result = Verification(max(e.max_abs for e in errors), max(e.relative for e in errors), tol,
                              {e.name: e.max_abs for e in errors}, dict(sim.stats), precision,
                              {e.name: e.relative for e in errors})
        problems = [p for e in errors if (p := e.problem(tol))]
        if problems:
            raise VerificationError(f"kernel '{self.kernel.name}' ({precision} precision): " + "; ".join(problems)
                                    + self._suspects())
        return result

    def fingerprint(self) -> tuple[float, str, tuple[str, ...]]:
        """Modeled cost, the form chosen and the op forms of the chosen program: what a rule can change."""
        forms = sorted(op.label() for op in self.program.ops() if op.kind != "input")
        return round(self.cost_cycles, 6), self.chosen, tuple(forms)

    def unshipped_rules_used(self) -> list[str]:
        """The rules that are not shipped and that this result depends on (each that matched is left out in
        turn; the result changes, or nothing fits, without it), as `'name' (ruleset R in FILE)`."""
        shipped = shipped_rule_ids()
        found = []
        for rs in self.rulesets:
            for rule in rs.rules:
                fired = self.saturation.rules.get(rule.name)
                if id(rule) in shipped or fired is None or not fired.matches:
                    continue
                without = [replace(r, rules=tuple(x for x in r.rules if x is not rule)) for r in self.rulesets]
                try:
                    depends = self.reoptimize(without).fingerprint() != self.fingerprint()
                except KernelError:
                    depends = True
                if depends:
                    found.append(f"'{rule.name}' ({rule_origin(rs)})")
        return found

    def _suspects(self) -> str:
        """For a failed verification: the user's rules the result depends on, the first place to look."""
        names = self.unshipped_rules_used() if self._rerun is not None else []
        if not names:
            return ""
        return (f"; the result depends on rules that are not shipped: {', '.join(names)} (test them with "
                "`tteqsat rules check --rules FILE`)")

    def summary(self) -> dict[str, object]:
        s = self.schedule
        return {
            "kernel": self.kernel.name, "arch": self.arch.name, "dtype": self.kernel.dtype,
            "cost_cycles": round(self.cost_cycles, 1), "baseline_cycles": round(self.baseline_cycles, 1),
            "compute_cycles": round(s.compute_cycles, 1), "data_movement_cycles": round(s.data_movement_cycles, 1),
            "speedup": None if self.speedup is None else round(self.speedup, 3),
            "compared_with": self.compared_with, "baseline_feasible": self.baseline_feasible,
            "best_feasible_alternative_cycles": _rounded(self.best_feasible_alternative_cycles),
            "baseline_speedup": round(self.baseline_speedup, 3), "chosen": self.chosen, "sections": len(s.sections),
            "baseline_sections": len(self.baseline.sections), "cbs": len(s.cbs), "l1_bytes": self.l1_bytes,
            "dst_capacity": s.dst_capacity, "enodes": self.saturation.enodes, "eclasses": self.eclasses,
            "saturation_iterations": self.saturation.iterations, "stopped_by": self.saturation.stopped_by,
        }


def _rulesets(rules: Sequence[RuleSet | str | Path] | None, include_shipped: bool,
              check_rules: bool) -> tuple[list[RuleSet], list[str]]:
    """The shipped rulesets and the user's (files are loaded); the user's rules random-tested for soundness
    unless `check_rules` is False. Returns the rulesets and notes on rules the checker could not test."""
    chosen = shipped_rulesets() if include_shipped else []
    user: list[RuleSet] = []
    for r in rules or ():
        user.extend([r] if isinstance(r, RuleSet) else load_rule_file(r))
    notes = check_user_rules(user) if check_rules else []
    return chosen + user, notes


def optimize(kernel: Kernel, arch: str | Arch = "wormhole_b0", *, limits: Limits | None = None,
             rules: Sequence[RuleSet | str | Path] | None = None, shipped_rules: bool = True,
             check_rules: bool = True, overrides: dict[str, object] | None = None,
             cost_model: TensixCostModel | None = None, extractor=extract, form: str = "auto",
             progress=None) -> Result:
    """Optimize `kernel` for `arch`: the cheapest schedule equality saturation finds under the cost model.

    `rules` adds rulesets (RuleSet objects or rule files); rules that are not shipped are random-tested for
    soundness first and an unsound one is refused with its counterexample (`check_rules=False` skips that).
    """
    if not isinstance(kernel, Kernel):
        raise KernelError(f"optimize expects a tq.Kernel, got {type(kernel).__name__}")
    try:
        arch_obj = load_arch(arch, overrides)
    except KernelError as e:
        raise KernelError(str(e), None, user_location()) from None
    if form not in FORMS:
        raise KernelError(f"form '{form}' is not available for kernel '{kernel.name}': "
                          f"known forms: {', '.join(FORMS)}")
    limits = limits or Limits()
    chosen_rules, notes = _rulesets(rules, shipped_rules, check_rules)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    model = cost_model or TensixCostModel(arch_obj)
    times: dict[str, float] = {}

    start = time.perf_counter()
    baseline_error: KernelError | None = None
    unfused = baseline_program(kernel)
    try:
        baseline = build_schedule(unfused, arch_obj, model, fuse=False)
    except KernelError as e:  # priced anyway; only an error if nothing else fits either
        baseline_error = e
        baseline = build_schedule(unfused, arch_obj, model, fuse=False, check_capacity=False)
    times["baseline"] = time.perf_counter() - start

    start = time.perf_counter()
    egraph = EGraph()
    insert_kernel(egraph, kernel)
    times["insert"] = time.perf_counter() - start

    if progress is not None and getattr(progress, "enabled", False):
        progress = _pricing(progress, egraph, chosen_rules, model, kernel, arch_obj)
    report = saturate(egraph, chosen_rules, limits, progress)
    times["saturate"] = report.seconds
    if report.warning:
        notes.append(report.warning)
        warnings.warn(report.warning, stacklevel=2)

    start = time.perf_counter()
    graph = serialize(egraph)
    del egraph  # egglog's e-graph must be dropped on the thread that made it (sweeps run on worker threads)
    input_order = [str(n.attr("name")) for n in kernel.inputs]
    times["extract"] = times["schedule"] = 0.0
    alternatives: dict[str, Alternative] = {
        "baseline": Alternative("baseline", baseline.cost_cycles, baseline_error is None,
                                str(baseline_error) if baseline_error else "every op its own section")}
    candidates: list[tuple[float, str, Program, Schedule]] = []
    def price(program: Program) -> float | None:
        try:
            return build_schedule(program, arch_obj, model, fuse=True).cost_cycles
        except KernelError:
            return None

    for mode, label in (("fused", "fused"), ("streaming", "streaming")):
        max_chunk: int | None = None
        while True:  # a chunk whose CBs do not fit L1 is retried at half the width
            t0 = time.perf_counter()
            try:
                prog = call_extractor(extractor, graph, model, kernel.name, kernel.dtype, input_order, mode,
                                      max_chunk=max_chunk, price=price)
            except KernelError as e:
                alternatives[label] = Alternative(label, None, False, str(e))
                break
            finally:
                times["extract"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            try:
                sched = build_schedule(prog, arch_obj, model, fuse=True)
            except KernelError as e:
                width = _chunk_width(prog)
                if width and "L1" in str(e) and width > 32:
                    max_chunk = width // 2
                    continue
                narrowest = f" (with chunks of {width}, the narrowest tried)" if width and max_chunk else ""
                alternatives[label] = Alternative(label, None, False, f"{e}{narrowest}")
                break
            finally:
                times["schedule"] += time.perf_counter() - t0
            if label == "streaming" and sched.loop is None:
                alternatives[label] = Alternative(label, None, False, "extraction chose no loop over chunks for "
                                                  "this kernel", applies=False)
            else:
                alternatives[label] = Alternative(label, sched.cost_cycles, True, _describe(sched))
                candidates.append((sched.cost_cycles, label, prog, sched))
            break
    if baseline_error is None:
        candidates.append((baseline.cost_cycles, "baseline", unfused, baseline))
    if not candidates:
        raise KernelError(_fits_nowhere(kernel.name, arch_obj, alternatives)) from None
    if form != "auto":
        forced = [c for c in candidates if c[1] == form]
        if not forced:
            alt = alternatives[form]
            raise KernelError(f"form '{form}' {alt.status} for kernel '{kernel.name}': {alt.detail}"
                              + "".join(f"\n{hint}" for hint in _advice([alt], arch_obj)))
        candidates = forced
    cost, chosen, program, schedule = min(candidates, key=lambda c: (c[0], c[1] != "streaming"))
    if chosen == "baseline" and form == "auto":
        notes.append("no optimized schedule models cheaper than the unfused baseline; using the baseline")
    reason = _why(chosen, alternatives)

    def reoptimize(rulesets: list[RuleSet]) -> Result:
        """The same optimization with other rulesets (for naming the rules a result depends on)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optimize(kernel, arch_obj, limits=limits, rules=rulesets, shipped_rules=False, check_rules=False,
                            cost_model=cost_model, extractor=extractor, form=form)

    return Result(kernel, arch_obj, schedule, baseline, program, report, len(graph.classes), times, notes,
                  alternatives=alternatives, chosen=chosen, reason=reason, rulesets=chosen_rules, limits=limits,
                  _rerun=reoptimize)


FORM_NAMES = {"baseline": "the unfused baseline", "fused": "fused", "streaming": "streaming"}


def _form_name(label: str) -> str:
    return FORM_NAMES.get(label, label)


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _fits_nowhere(name: str, arch: Arch, alternatives: dict[str, Alternative]) -> str:
    """Why no form fits, one line per form, and what the user can change."""
    what = {"baseline": "baseline (every op its own section)", "fused": "fused (no loop)",
            "streaming": "streaming (a loop over chunks)"}
    lines = [f"kernel '{name}' fits in no form on {arch.name} ({arch.l1_budget:,} bytes of L1 free for CBs):"]
    lines += [f"  {what.get(a.label, a.label)}: {a.detail}" for a in alternatives.values()]
    return "\n".join(lines + _advice(list(alternatives.values()), arch))


def _advice(failed: list[Alternative], arch: Arch) -> list[str]:
    """What the user can change, for the kinds of failure seen (L1 space, CB count, ops without a form)."""
    text = " ".join(a.detail for a in failed)
    hints = []
    if "L1" in text:
        hints.append("to fit: give each kernel call less data (e.g. fewer rows of the output per call); only a "
                     "reduction or matmul over a long axis streams in chunks, while outputs, loop state and values "
                     "read whole stay in L1; or model a part with more L1 (--set l1.bytes=N or --arch FILE.toml; in "
                     "Python, overrides={'l1.bytes': N})")
    if "circular buffers" in text:
        hints.append(f"to fit: {arch.name} has {int(arch.num('cb.max_cbs'))} circular buffers; split the kernel "
                     "into smaller kernels")
    if "no hardware form" in text:
        hints.append("to fit: write that op with supported ones, or add a hardware rule for it "
                     "(docs/writing-rules.md)")
    return hints


def _pricing(progress, egraph: EGraph, rulesets: list[RuleSet], model: TensixCostModel, kernel: Kernel,
             arch: Arch):
    """Wrap a live progress display so it also shows the best fused schedule so far: each iteration the
    hardware forms are added in a pushed e-graph, priced, and popped again."""
    from egglog import run

    from tteqsat.egraph.bridge import shape_analysis
    from tteqsat.egraph.saturate import combine

    names = [str(n.attr("name")) for n in kernel.inputs]
    hardware = combine([rs for rs in rulesets if rs.stage == "hardware"])

    def report(iteration: int, enodes: int) -> None:
        egraph.push()
        try:
            if hardware is not None:
                egraph.run((run(hardware) + shape_analysis.saturate()).saturate())
            program = extract(serialize(egraph), model, kernel.name, kernel.dtype, names, "fused")
            progress.best_cost = build_schedule(program, arch, model).cost_cycles
        except KernelError:
            pass  # nothing fits yet: keep the last price
        finally:
            egraph.pop()
        progress(iteration, enodes)

    return report


def _chunk_width(program: Program) -> int:
    return max((int(op.attrs["width"]) for op in program.ops() if op.kind == "chunk"), default=0)  # type: ignore[call-overload]


def _describe(schedule: Schedule) -> str:
    if schedule.loop is None:
        return f"{len(schedule.sections)} sections, no loop"
    body = sum(1 for s in schedule.sections if s.in_loop)
    width = schedule.loop.streams[0].width if schedule.loop.streams else 0
    return (f"{len(schedule.sections)} sections, loop of {schedule.loop.trips} trips over chunks of {width} "
            f"with {body} sections per trip")


def _why(chosen: str, alternatives: dict[str, Alternative]) -> str:
    """One sentence: why the chosen form won, in the model's numbers."""
    won = alternatives[chosen]
    others = [a for a in alternatives.values() if a.label != chosen]
    parts = []
    for a in others:
        if not a.applies:
            parts.append(f"{a.label} does not apply ({a.detail})")
        elif a.cycles is None or not a.feasible:
            parts.append(f"{a.label} is infeasible ({a.detail})")
        else:
            parts.append(f"{a.label} models {a.cycles:,.0f} cycles ({a.cycles / won.cycles:.2f}x)")
    return f"chose {chosen} at {won.cycles:,.0f} modeled cycles: " + "; ".join(parts)
