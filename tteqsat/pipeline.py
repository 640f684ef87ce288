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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
from tteqsat.rules import RuleSet, load_rule_file, shipped_rulesets
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.model import Schedule

FORMS = ("auto", "baseline", "fused", "streaming")

# Documented tolerances of verify(): max |sim - reference| / max(1, max |reference|).
TOLERANCE = {"fp32": 2e-3, "bf16": 6e-2}


@dataclass
class Alternative:
    """One form the optimizer weighed: its modeled cycles, whether it fits, and what it is."""

    label: str
    cycles: float | None
    feasible: bool
    detail: str


class VerificationError(AssertionError):
    """The simulated kernel does not compute what the expression says."""


@dataclass
class Verification:
    max_abs_err: float
    max_rel_err: float
    tolerance: float
    per_output: dict[str, float]
    stats: dict[str, object] = field(default_factory=dict)


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
    _mlir: str | None = None

    @property
    def cost_cycles(self) -> float:
        return self.schedule.cost_cycles

    @property
    def baseline_cycles(self) -> float:
        return self.baseline.cost_cycles

    @property
    def speedup(self) -> float:
        return self.baseline_cycles / self.cost_cycles

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

    def verify(self, seed: int = 0, inputs: dict[str, np.ndarray] | None = None) -> Verification:
        """Run the emitted MLIR on the simulator and compare with the reference; raise on mismatch."""
        from tteqsat.sim import SimulationError, simulate

        inputs = inputs or reference.random_inputs(self.kernel, seed)
        expected = reference.evaluate(self.kernel, inputs)
        chosen = evaluate_program(self.program, inputs)
        start = time.perf_counter()
        try:
            sim = simulate(self.to_mlir(), inputs)
        except SimulationError as e:
            raise VerificationError(
                f"kernel '{self.kernel.name}': the emitted MLIR fails on the Tensix model: {e}") from None
        self.times["simulate"] = time.perf_counter() - start
        tol = TOLERANCE[self.kernel.dtype]
        per: dict[str, float] = {}
        worst_abs = worst_rel = 0.0
        for name, want in expected.items():
            scale = max(1.0, float(np.max(np.abs(want))))
            rules_err = float(np.max(np.abs(chosen[name] - want))) / scale
            if not rules_err <= 1e-4:
                raise VerificationError(f"output '{name}': the extracted program differs from the kernel by "
                                        f"{rules_err:.3g} in numpy; a rewrite rule is unsound")
            got = sim.outputs[name]
            err = float(np.max(np.abs(got.astype(np.float64) - want)))
            per[name] = err
            worst_abs = max(worst_abs, err)
            worst_rel = max(worst_rel, err / scale)
        result = Verification(worst_abs, worst_rel, tol, per, dict(sim.stats))
        if not worst_rel <= tol:
            raise VerificationError(f"kernel '{self.kernel.name}': simulated output differs from the reference by "
                                    f"{worst_abs:.4g} (relative {worst_rel:.4g} > tolerance {tol})")
        return result

    def summary(self) -> dict[str, object]:
        s = self.schedule
        return {
            "kernel": self.kernel.name, "arch": self.arch.name, "dtype": self.kernel.dtype,
            "cost_cycles": round(self.cost_cycles, 1), "baseline_cycles": round(self.baseline_cycles, 1),
            "compute_cycles": round(s.compute_cycles, 1), "data_movement_cycles": round(s.data_movement_cycles, 1),
            "speedup": round(self.speedup, 3), "sections": len(s.sections),
            "baseline_sections": len(self.baseline.sections), "cbs": len(s.cbs), "l1_bytes": self.l1_bytes,
            "dst_capacity": s.dst_capacity, "enodes": self.saturation.enodes, "eclasses": self.eclasses,
            "saturation_iterations": self.saturation.iterations, "stopped_by": self.saturation.stopped_by,
        }


def _rulesets(rules: Sequence[RuleSet | str | Path] | None, include_shipped: bool) -> list[RuleSet]:
    chosen = shipped_rulesets() if include_shipped else []
    for r in rules or ():
        chosen.extend([r] if isinstance(r, RuleSet) else load_rule_file(r))
    return chosen


def optimize(kernel: Kernel, arch: str | Arch = "wormhole_b0", *, limits: Limits | None = None,
             rules: Sequence[RuleSet | str | Path] | None = None, shipped_rules: bool = True,
             overrides: dict[str, object] | None = None, cost_model: TensixCostModel | None = None,
             extractor=extract, form: str = "auto", progress=None) -> Result:
    """Optimize `kernel` for `arch`: the cheapest schedule equality saturation finds under the cost model."""
    if not isinstance(kernel, Kernel):
        raise KernelError(f"optimize expects a tq.Kernel, got {type(kernel).__name__}")
    try:
        arch_obj = load_arch(arch, overrides)
    except KernelError as e:
        raise KernelError(str(e), "optimize", user_location()) from None
    if form not in FORMS:
        raise KernelError(f"form '{form}' is not available for kernel '{kernel.name}': "
                          f"known forms: {', '.join(FORMS)}")
    model = cost_model or TensixCostModel(arch_obj)
    times: dict[str, float] = {}
    notes: list[str] = []

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

    chosen_rules = _rulesets(rules, shipped_rules)
    if progress is not None and getattr(progress, "enabled", False):
        progress = _pricing(progress, egraph, chosen_rules, model, kernel, arch_obj)
    report = saturate(egraph, chosen_rules, limits or Limits(), progress)
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
        """Extraction's candidates ranked by the scheduler: compute cycles (every program of a kernel moves
        the same bytes, so data movement cannot tell them apart)."""
        try:
            return build_schedule(program, arch_obj, model, fuse=True).compute_cycles
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
                alternatives[label] = Alternative(label, None, False, str(e))
                width = _chunk_width(prog)
                if width and "L1" in str(e) and width > 32:
                    max_chunk = width // 2
                    continue
                break
            finally:
                times["schedule"] += time.perf_counter() - t0
            if label == "streaming" and sched.loop is None:
                alternatives[label] = Alternative(label, None, False, "extraction chose no fold at this size")
            else:
                alternatives[label] = Alternative(label, sched.cost_cycles, True, _describe(sched))
                candidates.append((sched.cost_cycles, label, prog, sched))
            break
    if baseline_error is None:
        candidates.append((baseline.cost_cycles, "baseline", unfused, baseline))
    if not candidates:
        raise KernelError(f"kernel '{kernel.name}' cannot be scheduled even unfused: {baseline_error}") from None
    if form != "auto":
        forced = [c for c in candidates if c[1] == form]
        if not forced:
            raise KernelError(f"form '{form}' is not available for kernel '{kernel.name}': "
                              f"{alternatives[form].detail}")
        candidates = forced
    cost, chosen, program, schedule = min(candidates, key=lambda c: (c[0], c[1] != "streaming"))
    if chosen == "baseline":
        notes.append("no optimized schedule models cheaper than the unfused baseline; using the baseline")
    reason = _why(chosen, alternatives)
    return Result(kernel, arch_obj, schedule, baseline, program, report, len(graph.classes), times, notes,
                  alternatives=alternatives, chosen=chosen, reason=reason)


def _pricing(progress, egraph: EGraph, rulesets: list[RuleSet], model: TensixCostModel, kernel: Kernel,
             arch: Arch):
    """Wrap a live progress display so it also shows the best fused schedule so far: each iteration the
    hardware forms are added in a pushed e-graph, priced, and popped again."""
    from egglog import run

    from tteqsat.egraph.bridge import shape_analysis
    from tteqsat.egraph.saturate import combine

    names = [str(n.attr("name")) for n in kernel.inputs]
    hardware = combine([rs for rs in rulesets if rs.stage == "hardware"])

    def price(program: Program) -> float | None:  # as optimize() prices extraction's candidates
        try:
            return build_schedule(program, arch, model, fuse=True).compute_cycles
        except KernelError:
            return None

    def report(iteration: int, enodes: int) -> None:
        egraph.push()
        try:
            if hardware is not None:
                egraph.run((run(hardware) + shape_analysis.saturate()).saturate())
            program = extract(serialize(egraph), model, kernel.name, kernel.dtype, names, "fused", price=price)
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
        if a.cycles is None or not a.feasible:
            parts.append(f"{a.label} is infeasible ({a.detail})")
        else:
            parts.append(f"{a.label} models {a.cycles:,.0f} cycles ({a.cycles / won.cycles:.2f}x)")
    return f"chose {chosen} at {won.cycles:,.0f} modeled cycles: " + "; ".join(parts)
