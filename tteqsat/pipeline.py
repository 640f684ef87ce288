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
from tteqsat.cost.chip import ChipCost, GridShape, price_grid
from tteqsat.cost.model import TensixCostModel
from tteqsat.egraph.bridge import insert_kernel, serialize
from tteqsat.egraph.saturate import Limits, SaturationReport, saturate
from tteqsat.errors import KernelError
from tteqsat.extraction.baseline import baseline_program
from tteqsat.extraction.greedy import call_extractor, extract
from tteqsat.extraction.program import Program
from tteqsat.extraction.semantics import evaluate_program
from tteqsat.frontend import reference
from tteqsat.frontend.batch import ElementView, element_view
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
    chip: ChipCost | None = None           # the chosen schedule over the grid
    baseline_chip: ChipCost | None = None  # the unfused baseline over the grid
    view: ElementView | None = None        # the kernel one batch element at a time
    block: int | None = None               # rows of the row block one work item computes (None: all rows)
    _mlir: str | None = None

    @property
    def cost_cycles(self) -> float:
        """Whole-chip modeled cycles: the slowest core."""
        return self.chip.cycles if self.chip else self.schedule.cost_cycles

    @property
    def baseline_cycles(self) -> float:
        return self.baseline_chip.cycles if self.baseline_chip else self.baseline.cost_cycles

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

    @property
    def items(self) -> int:
        """Work items over the grid: batch elements times row blocks."""
        return self.chip.items if self.chip else 1

    def item_inputs(self, inputs: dict[str, np.ndarray], item: int,
                    element_outputs: dict[str, np.ndarray] | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """What work item `item` reads (its element's slices; its rows of the row-blocked inputs), and the
        reference outputs it must produce: its rows of its element's outputs (`element_outputs` if given,
        else evaluated here on the whole element, never on the sliced rows)."""
        view = self.view or element_view(self.kernel)
        element, blk = divmod(item, self.items // view.elements)
        ins = view.element_inputs(inputs, element)
        want = element_outputs if element_outputs is not None else reference.evaluate(view.kernel, ins)
        take = slice(blk * self.block, (blk + 1) * self.block) if self.block else slice(None)
        blocked = {op.name for op in self.program.inputs if op.attrs.get("block")}
        return ({n: (a[take] if n in blocked else a) for n, a in ins.items()},
                {n: a[take] for n, a in want.items()})

    def verify(self, seed: int = 0, inputs: dict[str, np.ndarray] | None = None,
               items: Sequence[int] | None = None) -> Verification:
        """Run the emitted MLIR on the simulator and compare with the reference; raise on mismatch.

        One program serves every work item; `items` chooses which to run (default: all of them up to four,
        else the first, the last and one between). The reference runs on each chosen item's whole batch
        element."""
        inputs = inputs or reference.random_inputs(self.kernel, seed)
        view = self.view or element_view(self.kernel)
        total = self.items
        chosen = list(items) if items is not None else (
            list(range(total)) if total <= 4 else sorted({0, total // 2, total - 1}))
        per_element: dict[int, dict[str, np.ndarray]] = {}
        results = []
        for i in chosen:
            element = i // (total // view.elements)
            if element not in per_element:
                per_element[element] = reference.evaluate(view.kernel, view.element_inputs(inputs, element))
            results.append(self._verify_item(*self.item_inputs(inputs, i, per_element[element])))
        worst = max(results, key=lambda r: r.max_rel_err)
        return Verification(max(r.max_abs_err for r in results), worst.max_rel_err, worst.tolerance,
                            {k: max(r.per_output[k] for r in results) for k in worst.per_output}, worst.stats)

    def _verify_item(self, inputs: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> Verification:
        from tteqsat.sim import SimulationError, simulate

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
            **self.chip_summary(),
        }

    def chip_summary(self) -> dict[str, object]:
        """The whole kernel over the grid: time, the split, traffic and what bounds it."""
        chip = self.chip
        if chip is None:
            return {}
        loop = self.schedule.loop
        return {
            "chip_us": round(chip.microseconds, 3), "cores": chip.cores, "work_items": chip.items,
            "items_per_core": chip.items_per_core, "core_cycles": round(chip.core_compute_cycles, 1),
            "q_block": self.block or self.schedule.args[-1].shape[0],  # rows of one work item
            "k_chunk": loop.streams[0].width if loop and loop.streams else None,
            "bound_by": chip.bound_by, "dram_bytes": chip.dram_bytes,
        }


def _rulesets(rules: Sequence[RuleSet | str | Path] | None, include_shipped: bool) -> list[RuleSet]:
    chosen = shipped_rulesets() if include_shipped else []
    for r in rules or ():
        chosen.extend([r] if isinstance(r, RuleSet) else load_rule_file(r))
    return chosen


def optimize(kernel: Kernel, arch: str | Arch = "wormhole_b0", *, limits: Limits | None = None,
             rules: Sequence[RuleSet | str | Path] | None = None, shipped_rules: bool = True,
             overrides: dict[str, object] | None = None, cost_model: TensixCostModel | None = None,
             extractor=extract, form: str = "auto", cores: int | None = None,
             blocks: Sequence[int] | None = None, progress=None) -> Result:
    """Optimize `kernel` for `arch`: the cheapest schedule equality saturation finds under the cost model,
    over the chip's core grid. `cores` caps how many cores it may use (the default lets cost decide);
    `blocks` limits the row-block heights of work items to these (`()`: one item per batch element; the
    default: every height the e-graph offers)."""
    if not isinstance(kernel, Kernel):
        raise KernelError(f"optimize expects a tq.Kernel, got {type(kernel).__name__}")
    try:
        arch_obj = load_arch(arch, overrides)
    except KernelError as e:
        raise KernelError(str(e), "optimize", user_location()) from None
    if form not in FORMS:
        raise KernelError(f"form '{form}' is not available for kernel '{kernel.name}': "
                          f"known forms: {', '.join(FORMS)}")
    grid = GridShape.of(arch_obj)
    if cores is not None and not 1 <= cores <= grid.cores:
        raise KernelError(f"cores={cores} is outside {arch_obj.name}'s grid of {grid.cores} cores", "optimize",
                          user_location())
    model = cost_model or TensixCostModel(arch_obj)
    times: dict[str, float] = {}
    notes: list[str] = []
    view = element_view(kernel)
    element = view.kernel

    def on_grid(schedule: Schedule, items: int) -> ChipCost:
        item_bytes = sum(a.n_tiles for a in schedule.args) * arch_obj.tile_bytes(schedule.dtype)
        return price_grid(grid, items, schedule.compute_cycles, item_bytes, min(cores, items) if cores else None)

    start = time.perf_counter()
    baseline_error: KernelError | None = None
    unfused = baseline_program(element)
    try:
        baseline = build_schedule(unfused, arch_obj, model, fuse=False)
    except KernelError as e:  # priced anyway; only an error if nothing else fits either
        baseline_error = e
        baseline = build_schedule(unfused, arch_obj, model, fuse=False, check_capacity=False)
    baseline_chip = on_grid(baseline, view.elements)
    times["baseline"] = time.perf_counter() - start

    start = time.perf_counter()
    egraph = EGraph()
    insert_kernel(egraph, element)
    times["insert"] = time.perf_counter() - start

    chosen_rules = _rulesets(rules, shipped_rules)
    if progress is not None and getattr(progress, "enabled", False):
        progress = _pricing(progress, egraph, chosen_rules, model, element, arch_obj,
                            lambda s: on_grid(s, view.elements).cycles)
    report = saturate(egraph, chosen_rules, limits or Limits(), progress)
    times["saturate"] = report.seconds
    if report.warning:
        notes.append(report.warning)
        warnings.warn(report.warning, stacklevel=2)

    start = time.perf_counter()
    graph = serialize(egraph)
    del egraph  # egglog's e-graph must be dropped on the thread that made it (sweeps run on worker threads)
    input_order = [str(n.attr("name")) for n in element.inputs]
    times["extract"] = times["schedule"] = 0.0
    alternatives: dict[str, Alternative] = {
        "baseline": Alternative("baseline", baseline_chip.cycles, baseline_error is None,
                                str(baseline_error) if baseline_error else "every op its own section")}
    candidates: list[Candidate] = []

    def price(program: Program) -> float | None:
        try:
            return build_schedule(program, arch_obj, model, fuse=True).cost_cycles
        except KernelError:
            return None

    rows = graph.shapes[graph.outputs[0][1]][0]
    heights = [h for h in graph.block_heights() if blocks is None or h in blocks]
    searches = [(None, graph)] + [(h, graph.blocks(h)) for h in heights]
    for block, roots in searches:  # whole rows, then each row-block height the e-graph offers
        items = view.elements * (rows // block if block else 1)
        for label in ("fused", "streaming"):
            found = _search_form(label, roots, extractor, model, arch_obj, element, input_order, price, times)
            if isinstance(found, KernelError):
                if block is None or label not in alternatives:
                    alternatives.setdefault(label, Alternative(label, None, False, str(found)))
                continue
            prog, sched = found
            cand = Candidate(label, block, prog, sched, on_grid(sched, items))
            candidates.append(cand)
            best = alternatives.get(label)
            if best is None or best.cycles is None or cand.chip.cycles < best.cycles:
                alternatives[label] = Alternative(label, cand.chip.cycles, True, _describe(cand))
    if baseline_error is None:
        candidates.append(Candidate("baseline", None, unfused, baseline, baseline_chip))
    if not candidates:
        raise KernelError(f"kernel '{kernel.name}' cannot be scheduled even unfused: {baseline_error}") from None
    if form != "auto":
        forced = [c for c in candidates if c.form == form]
        if not forced:
            raise KernelError(f"form '{form}' is not available for kernel '{kernel.name}': "
                              f"{alternatives[form].detail}")
        candidates = forced
    best_cand = min(candidates, key=lambda c: (c.chip.cycles, c.form != "streaming", -(c.block or 0)))
    chosen = best_cand.form
    if chosen == "baseline":
        notes.append("no optimized schedule models cheaper than the unfused baseline; using the baseline")
    reason = _why(chosen, alternatives)
    return Result(kernel, arch_obj, best_cand.schedule, baseline, best_cand.program, report, len(graph.classes),
                  times, notes, alternatives=alternatives, chosen=chosen, reason=reason, chip=best_cand.chip,
                  baseline_chip=baseline_chip, view=view, block=best_cand.block)


@dataclass
class Candidate:
    """One priced alternative: a form, the row-block height of its work items, its schedule on one core
    and its cost over the grid."""

    form: str
    block: int | None
    program: Program
    schedule: Schedule
    chip: ChipCost


def _search_form(label: str, graph, extractor, model: TensixCostModel, arch: Arch, element: Kernel,
                 input_order: list[str], price, times: dict[str, float]) -> tuple[Program, Schedule] | KernelError:
    """The best program of one form (fused or streaming) and its schedule; a chunk whose CBs do not fit L1
    is retried at half the width."""
    max_chunk: int | None = None
    while True:
        t0 = time.perf_counter()
        try:
            prog = call_extractor(extractor, graph, model, element.name, element.dtype, input_order, label,
                                  max_chunk=max_chunk, price=price)
        except KernelError as e:
            return e
        finally:
            times["extract"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            sched = build_schedule(prog, arch, model, fuse=True)
        except KernelError as e:
            width = _chunk_width(prog)
            if width and "L1" in str(e) and width > 32:
                max_chunk = width // 2
                continue
            return e
        finally:
            times["schedule"] += time.perf_counter() - t0
        if label == "streaming" and sched.loop is None:
            return KernelError("extraction chose no fold at this size")
        return prog, sched


def _pricing(progress, egraph: EGraph, rulesets: list[RuleSet], model: TensixCostModel, kernel: Kernel,
             arch: Arch, chip_cycles):
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
            progress.best_cost = chip_cycles(build_schedule(program, arch, model))
        except KernelError:
            pass  # nothing fits yet: keep the last price
        finally:
            egraph.pop()
        progress(iteration, enodes)

    return report


def _chunk_width(program: Program) -> int:
    return max((int(op.attrs["width"]) for op in program.ops() if op.kind == "chunk"), default=0)  # type: ignore[call-overload]


def _describe(cand: Candidate) -> str:
    schedule, chip = cand.schedule, cand.chip
    grid = (f"; {chip.items} work item{'s' if chip.items > 1 else ''}"
            + (f" of {cand.block} rows" if cand.block else "") + f" on {chip.cores} core{'s' if chip.cores > 1 else ''}"
            + f", {chip.bound_by}-bound")
    if schedule.loop is None:
        return f"{len(schedule.sections)} sections, no loop" + grid
    body = sum(1 for s in schedule.sections if s.in_loop)
    width = schedule.loop.streams[0].width if schedule.loop.streams else 0
    return (f"{len(schedule.sections)} sections, loop of {schedule.loop.trips} trips over chunks of {width} "
            f"with {body} sections per trip" + grid)


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
