"""The pipeline, stage by stage: kernel -> e-graph -> saturation -> extraction -> schedule -> MLIR -> sim.

    insert     tteqsat.egraph.insert_kernel     the kernel's outputs under root markers
    saturate   tteqsat.saturate.saturate        staged, bounded rewriting with the rulesets of tteqsat.rules
    extract    tteqsat.extract.extract          cheapest hardware program under the cost model
    schedule   tteqsat.schedule.build_schedule  DST sections, slots, CB plan, loop (baseline: unfused)
    grid       tteqsat.cost.chip                each candidate's work items over the core grid, and sharing groups
    lower      tteqsat.lowering.mlir / .cpp     TTKernel MLIR and tt-metal C++
    verify     tteqsat.sim.simulate             the emitted MLIR run on a Tensix model vs the reference
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from egglog import EGraph

from tteqsat.arch import Arch, load_arch
from tteqsat.cost.chip import ChipCost, GridShape, price_grid, price_items
from tteqsat.cost.model import TensixCostModel
from tteqsat.egraph.bridge import KEY_PARTS, chunk_widths, insert_kernel, serialize
from tteqsat.egraph.saturate import Limits, RuleStats, SaturationReport, saturate
from tteqsat.errors import KernelError
from tteqsat.extraction.baseline import baseline_program
from tteqsat.extraction.greedy import call_extractor, extract
from tteqsat.extraction.program import Program
from tteqsat.extraction.semantics import evaluate_program
from tteqsat.frontend import reference
from tteqsat.frontend.batch import ElementView, element_view
from tteqsat.frontend.dsl import user_location
from tteqsat.frontend.ir import TILE, Kernel
from tteqsat.frontend.splitkv import MAX_FAN_IN, KvSplit, attention_keys, fan_ins, split_kv
from tteqsat.rulecheck.at_load import check_user_rules, rule_origin, shipped_rule_ids
from tteqsat.rules import RuleSet, load_rule_file, shipped_rulesets
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.grid import RANKED_SIZES, grid_plan, nested_runs, ranked_share
from tteqsat.scheduling.model import Schedule, block_order
from tteqsat.scheduling.timing import items_pipeline, rate_pipeline, share_handshake

if TYPE_CHECKING:
    from tteqsat.lowering.host import HostProgram
    from tteqsat.sim.timing import TimingReport

FORMS = ("auto", "baseline", "fused", "streaming")
# an unmasked loop's neighbouring chunk widths are priced on the grid when its grid time exceeds both its slowest
# core's compute (extraction ranked the widths by it) and the DRAM floor (every width moves the same bytes) by more
# than this share: a neighbour gains at most about that; 2 % is benchmarks/width_search.py's threshold of a gain
# worth a retry (each costs an extraction)
WAIT_RETRY = 0.02
# a split's part counts are optimized with their width retries deferred; the retries then run for the counts in order
# of price while a count's price, less this share, is below the cheapest retried so far: the most a retry bought a
# split's kernels is 4.6 % (Blackhole MQA decode, 32 q heads on one K/V head over 131072 keys: 32 parts, 268,773 ->
# 256,435 cycles; 16 parts 262,039 -> 250,786 where 8 parts, priced 0.03 % cheaper first, gained nothing)
SPLIT_RETRY_GAIN = 0.05
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
    stats: dict[str, object] = field(default_factory=dict, repr=False)  # op and CB counts: too long to print
    precision: str = "hardware"
    relative: dict[str, float] = field(default_factory=dict)  # output -> max |sim - ref| / max |ref|
    timing: TimingReport | None = field(default=None, repr=False)  # verify(timing=True): cycles per thread, stalls


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
    rulesets: list[RuleSet] = field(default_factory=list)  # what saturation ran (shipped and the user's)
    limits: Limits = field(default_factory=Limits)
    _rerun: Callable[[list[RuleSet]], Result] | None = field(default=None, repr=False)
    _mlir: str | None = None
    split: KeySplit | None = None          # this is the first of two kernels: the keys split into parts
    # optimize(_defer_widths=True): the result with the unmasked loops' neighbouring widths tried on the grid too
    _widen: Callable[[], Result] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # the dataclass's would print every field: 30 KB for one exp
        return f"<Result {self.kernel.name!r} on {self.arch.name}: {self.chosen}, {self.comparison()}>"

    def reoptimize(self, rulesets: list[RuleSet]) -> Result:
        """The same optimization (kernel, arch and overrides, limits, form, extractor) with other rulesets and no
        soundness check: how rule statistics and the derivation ablate one rule at a time."""
        if self._rerun is None:
            raise KernelError("this result does not know how it was optimized (it was not made by optimize)")
        return self._rerun(rulesets)

    @property
    def cost_cycles(self) -> float:
        """Whole-chip modeled cycles: the slowest core (and, split over keys, the merging and combining kernels
        after)."""
        own = self.chip.cycles if self.chip else self.schedule.cost_cycles
        return own + (sum(r.cost_cycles for r in self.split.after) if self.split else 0.0)

    @property
    def baseline_cycles(self) -> float:
        """The unfused baseline's modeled whole-chip cycles, also when it does not fit L1 (see `baseline_feasible`)."""
        return self.baseline_chip.cycles if self.baseline_chip else self.baseline.cost_cycles

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
        from tteqsat.lowering.host import grid_cores, host_program, share_layout

        plan = self.schedule.grid
        if plan is None or plan.items <= 1:
            return host_program(self.to_mlir())
        grid, cores = grid_cores(plan, self.schedule.kernel)
        semaphores, groups = share_layout(plan)
        return host_program(self.to_mlir(), grid=grid, cores=cores, semaphores=semaphores, share_groups=groups)

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
        element, blk = self.item_place(item)
        ins = view.element_inputs(inputs, element)
        want = element_outputs if element_outputs is not None else reference.evaluate(view.kernel, ins)
        take = self._rows(blk)
        blocked = {op.name for op in self.program.inputs if op.attrs.get("block")}
        return ({n: (a[take] if n in blocked else a) for n, a in ins.items()},
                {n: a[take] for n, a in want.items()})

    def kernel_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The user's inputs as the emitted kernel reads them from DRAM: cut into key parts when the kernel is
        split over keys, a group's heads stacked for grouped views, one item's slice when there is one item."""
        return self._dram_inputs(self.split.first_inputs(inputs) if self.split is not None else inputs)

    def _dram_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs of `self.kernel` (the first kernel's, when split) as its DRAM tensors hold them."""
        grid = self.schedule.grid
        if grid is not None and grid.items > 1:
            return (self.view or element_view(self.kernel)).as_read(inputs)
        return self.item_inputs(inputs, 0)[0]

    def item_place(self, item: int) -> tuple[int, int]:
        """The batch element and the row block work item `item` computes."""
        view = self.view or element_view(self.kernel)
        element, position = divmod(item, self.items // view.elements)
        grid = self.schedule.grid
        return element, grid.block_of(item) if grid is not None and grid.blocks > 1 else position

    def _rows(self, blk: int) -> slice:
        return slice(blk * self.block, (blk + 1) * self.block) if self.block else slice(None)

    def sample_cores(self) -> list[int]:
        """Cores that cover every distinct role of the split: the first, the last, and the first whose item
        count differs from the first's (an uneven tail); with sharing, the whole groups of those (a group's cores
        run together)."""
        grid = self.schedule.grid
        if grid is None:
            return [0]
        counts = [c for _, c in grid.cores]
        tail = next((n for n, c in enumerate(counts) if c != counts[0]), None)
        picked = {0, len(counts) - 1} | ({tail} if tail is not None else set())
        if grid.share is not None:
            picked = {m for n in picked for m in grid.share.groups[grid.share.group_of(n)]}
        return sorted(picked)

    def timing_cores(self, picked: Sequence[int] | None = None) -> tuple[list[int], list[float]]:
        """The cores the timing simulator runs to time the whole grid, and how many of the program's cores each
        stands for (`tteqsat.sim.simulate`'s ``core_weights``, for its work-conserving DRAM sharing): `picked`
        (default: `sample_cores`) and one of every class of alike cores, whole groups. Cores are alike when their
        items are the same row blocks in the same order, whatever batch element they compute (sharing groups:
        when their cores are alike one by one); a class's cores are spread evenly over those of it in the run."""
        grid = self.schedule.grid
        if grid is None or grid.items <= 1:
            return [0], [1.0]
        picked = sorted(set(self.sample_cores() if picked is None else picked))
        units = list(grid.share.groups) if grid.share is not None else []
        grouped = {m for unit in units for m in unit}
        units += [(n,) for n in range(len(grid.cores)) if n not in grouped]
        picked = sorted({m for unit in units if any(n in unit for n in picked) for m in unit})

        def key(unit: tuple[int, ...]) -> tuple:
            return tuple(tuple(self.item_place(i)[1] for i in grid.core_items(n)) for n in unit)

        classes: dict[tuple, list[tuple[int, ...]]] = {}
        for unit in units:
            classes.setdefault(key(unit), []).append(unit)
        run = set(picked)
        for members in classes.values():
            if not any(m in run for unit in members for m in unit):
                run.update(members[0])
        weight: dict[int, float] = {}
        for members in classes.values():
            inside = [unit for unit in members if unit[0] in run]
            for unit in inside:
                for m in unit:
                    weight[m] = len(members) / len(inside)
        cores = sorted(run)
        return cores, [weight[n] for n in cores]

    def streaming_cores(self) -> float:
        """How many cores' worth of the chip's DRAM bandwidth the busiest core shares with (the analytic check's
        static share, and the timing simulator's in its first run, or throughout with `dram_sharing="static"`):
        the program's cores, or, when groups share reads (receivers move
        only their own bytes), the program's DRAM bytes over the busiest core's (a sender's): its share in
        proportion to what it moves, as the chip model's fair sharing gives it when every core ends together."""
        grid = self.schedule.grid
        if grid is None:
            return 1
        chip = self.chip
        if grid.share is None or chip is None or not chip.items_per_core or not chip.item_bytes:
            return len(grid.cores)
        return min(len(grid.cores), max(1.0, chip.dram_bytes / (chip.items_per_core * chip.item_bytes)))

    def tolerance(self, precision: str = "hardware") -> float:
        """The documented tolerance of verify() for this kernel's dtype and math fidelity."""
        from tteqsat.sim.tolerance import tolerance_for

        return tolerance_for(precision, self.kernel.dtype, self.schedule.math_fidelity)

    def run(self, inputs: dict[str, np.ndarray], precision: str = "hardware") -> dict[str, np.ndarray]:
        """The emitted program run on the simulator over every core of its grid on the inputs of `self.kernel`
        (the first kernel's, when split over keys): its output tensors in the kernel's shapes."""
        return self._run_timed(inputs, precision, False)[0]

    def _run_timed(self, inputs: dict[str, np.ndarray], precision: str,
                   timing: bool) -> tuple[dict[str, np.ndarray], TimingReport | None]:
        """`run`, and with `timing` the timing simulator's report of the same run."""
        from tteqsat.sim import SimulationError, simulate

        try:
            sim = simulate(self.to_mlir(), self._dram_inputs(inputs), host=self.to_host(), precision=precision,
                           timing=timing, arch=self.arch, sharing_cores=self.streaming_cores())
        except SimulationError as e:
            raise VerificationError(
                f"kernel '{self.kernel.name}': the emitted MLIR fails on the Tensix model: {e}") from None
        return {name: sim.outputs[name].reshape(node.full_shape) for name, node in self.kernel.outputs}, sim.timing

    def _verify_split(self, seed: int, inputs: dict[str, np.ndarray] | None, precision: str,
                      tolerance: float | None, dist: str, timing: bool) -> Verification:
        """Every kernel of a split over keys: the first against its reference, each after it (the merges, then the
        combine) on the simulated outputs of the one before against its reference, and what they give together
        against the user's kernel.
        `timing` times the first kernel (the parts; the combining kernel is small)."""
        from tteqsat.sim.tolerance import compare

        split = self.split
        assert split is not None
        user = inputs or reference.random_inputs(split.kernel, seed, dist=dist)
        first_inputs = split.first_inputs(user)
        first, timed = self._run_timed(first_inputs, precision, timing)
        parts, stats = first, {}
        for kernel, result in zip(split.kv.kernels, split.after, strict=True):  # the merges, then the combine
            parts = split.kv.next_inputs(kernel, parts)
            check = result.verify(inputs=parts, precision=precision, tolerance=tolerance, cores="all")
            stats.update(check.stats if result is split.combine else {})
            parts = result.run(parts, precision)
        got = split.user_outputs(parts)
        want = reference.evaluate(split.kernel, user)
        own = reference.evaluate(self.kernel, first_inputs)
        tol = self.tolerance(precision) if tolerance is None else float(tolerance)
        errors = compare({**got, **{n: first[n] for n in own}}, {**want, **own})
        problems = [p for e in errors if (p := e.problem(tol))]
        if problems:
            raise VerificationError(f"kernel '{split.kernel.name}' split over {split.kv.parts} key parts "
                                    f"({precision} precision): " + "; ".join(problems))
        return Verification(max(e.max_abs for e in errors), max(e.relative for e in errors), tol,
                            {e.name: e.max_abs for e in errors}, {**stats, "split.parts": split.kv.parts},
                            precision, {e.name: e.relative for e in errors}, timed)

    def verify(self, seed: int = 0, inputs: dict[str, np.ndarray] | None = None, precision: str = "hardware",
               tolerance: float | None = None, dist: str = "normal",
               cores: Sequence[int] | str = "sample", timing: bool = False) -> Verification:
        """Run the emitted MLIR on the simulator and compare each output with the reference, relative to the
        output's own largest value; raise `VerificationError` on a mismatch.

        `precision`: "hardware" (the Tensix's arithmetic) or "exact"; `tolerance` defaults to the documented
        one for the precision, dtype and fidelity (tteqsat.sim.tolerance); `dist` draws the random inputs
        when `inputs` is not given. Over the grid the simulator runs the program on the chosen cores
        (`"all"`, `"sample"`: the first, the last and an uneven tail, or core numbers), each with its runtime
        args, against the whole tensors in a shared DRAM; every item those cores compute is compared with its
        rows of the reference, which runs on the item's whole batch element.

        `timing` also runs the timing simulator on those cores (priced from this result's arch, the program's
        cores sharing DRAM): `Verification.timing` has cycles per thread, the wall and the stalls."""
        from dataclasses import replace as with_fields

        from tteqsat.sim import SimulationError, simulate
        from tteqsat.sim.tolerance import compare, difference

        if precision not in PRECISIONS:
            raise KernelError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}")
        if tolerance is not None and not tolerance >= 0:  # a negative or NaN tolerance fails every kernel
            raise KernelError(f"tolerance {tolerance!r} must be a number >= 0 (an error relative to each output's "
                              "largest value, e.g. 0.05)")
        if inputs is not None:  # a missing or misshapen array named, not a KeyError from the simulator
            reference.check_inputs(self.split.kernel if self.split else self.kernel, inputs, "verify(inputs=...)",
                                   extra_ok=True)
        if self.split is not None:  # two kernels, run on every core (the second needs all of the first)
            return self._verify_split(seed, inputs, precision, tolerance, dist, timing)
        inputs = inputs or reference.random_inputs(self.kernel, seed, dist=dist)
        view = self.view or element_view(self.kernel)
        grid = self.schedule.grid if self.schedule.grid is not None and self.schedule.grid.items > 1 else None
        host = self.to_host()
        picked = [0]
        weights: list[float] | None = None  # timing: how many of the program's cores each picked one stands for
        items = list(range(self.items))
        if grid is not None:
            n_cores = len(grid.cores)
            if cores not in ("all", "sample") and not all(isinstance(n, numbers.Integral) and 0 <= n < n_cores
                                                          for n in cores):
                raise KernelError(f"verify(cores={cores!r}): give 'all', 'sample' or core numbers 0 to {n_cores - 1} "
                                  "(the program's cores)")
            picked = list(range(len(grid.cores))) if cores == "all" else (
                self.sample_cores() if cores == "sample" else sorted(set(cores)))  # type: ignore[arg-type]
            if grid.share is not None:  # a group's cores run together: sample whole groups
                picked = sorted({m for n in picked for m in grid.share.groups[grid.share.group_of(n)]})
            if timing:  # a core of every class of alike cores, each standing for its class
                picked, weights = self.timing_cores(picked)
            host = with_fields(host, cores=tuple(host.cores[n] for n in picked))
            items = [item for n in picked for item in grid.core_items(n)]
        per_element: dict[int, dict[str, np.ndarray]] = {}
        expected: dict[str, list[np.ndarray]] = {}
        for item in items:  # the extracted program first: an unsound rule, not the lowering, is to blame
            element, blk = self.item_place(item)
            if element not in per_element:
                per_element[element] = reference.evaluate(view.kernel, view.element_inputs(inputs, element))
            item_in, want = self.item_inputs(inputs, item, per_element[element])
            chosen = evaluate_program(self.program, item_in, blk)
            for name, w in want.items():
                finite = np.isfinite(w)
                scale = max(1.0, float(np.max(np.abs(w[finite]))) if finite.any() else 1.0)
                rules_err = float(np.max(difference(chosen[name], w))) / scale  # NaN where only one is NaN
                if not rules_err <= 1e-4:
                    raise VerificationError(f"output '{name}': the extracted program differs from the kernel by "
                                            f"{rules_err:.3g} in numpy; a rewrite rule is unsound"
                                            + self._suspects())
                expected.setdefault(name, []).append(w)
        start = time.perf_counter()
        try:
            sim = simulate(self.to_mlir(), self.kernel_inputs(inputs),
                           host=host, precision=precision, all_outputs=grid is None or len(picked) == len(grid.cores),
                           timing=timing, arch=self.arch, sharing_cores=self.streaming_cores(), core_weights=weights)
        except SimulationError as e:
            raise VerificationError(
                f"kernel '{self.kernel.name}': the emitted MLIR fails on the Tensix model: {e}") from None
        self.times["simulate"] = time.perf_counter() - start
        got: dict[str, list[np.ndarray]] = {}
        for item in items:
            element, blk = self.item_place(item)
            for name, out in sim.outputs.items():
                got.setdefault(name, []).append(out[view.element_index(element)][self._rows(blk)] if grid else out)
        tol = self.tolerance(precision) if tolerance is None else float(tolerance)
        errors = compare({n: np.stack(v) for n, v in got.items()}, {n: np.stack(v) for n, v in expected.items()})
        stats = {**sim.stats, "verify.cores": len(picked), "verify.items": len(items)}
        result = Verification(max(e.max_abs for e in errors), max(e.relative for e in errors), tol,
                              {e.name: e.max_abs for e in errors}, stats, precision,
                              {e.name: e.relative for e in errors}, sim.timing)
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
            "dst_capacity": s.dst_capacity, "wide_dst_chain": s.wide_dst_chain and s.wide_dst_chain.tiles,
            "enodes": self.saturation.enodes, "eclasses": self.eclasses,
            "saturation_iterations": self.saturation.iterations, "stopped_by": self.saturation.stopped_by,
            **self.chip_summary(), **self._split_sections(),
        }

    def _split_sections(self) -> dict[str, object]:
        """Split over keys: `sections` are the parts' kernel's, so `baseline_sections` is that kernel's own unfused
        baseline (not the user's kernel's, whose cycles `baseline_cycles` gives); the combining kernel's beside."""
        if self.split is None:
            return {}
        combine = self.split.combine
        return {"baseline_sections": len(self.split.part_baseline.sections),
                "combine_sections": len(combine.schedule.sections),
                "combine_baseline_sections": len(combine.baseline.sections),
                "unsplit_baseline_sections": len(self.baseline.sections)}

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
            "bound_by": chip.bound_by, "dram_bytes": chip.dram_bytes, "launch_cycles": chip.launch_cycles,
            "cores_per_shared_read": chip.shared, "shared_run_items": chip.share_run,
            **({"kv_parts": self.split.kv.parts, "combine_cycles": round(self.split.combine.cost_cycles, 1),
                "merge_cycles": [round(m.cost_cycles, 1) for m in self.split.merges],
                "unsplit_cycles": round(self.split.unsplit_cycles, 1)} if self.split else {}),
        }


@dataclass
class Prices:
    """Prices of programs already priced, by `Program.structure`: the fused schedule's compute cycles (None: it
    does not fit) and, with a number of work items, the grid's cost. One optimization and its re-runs with other
    rulesets (`Result.reoptimize`: the same kernel, arch, cost model and cores) share one, since leaving out one
    rule mostly leaves the programs extraction weighs as they were."""

    cycles: dict[tuple, float | None] = field(default_factory=dict)
    chips: dict[tuple[tuple, int], ChipCost] = field(default_factory=dict)


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
             cores: int | None = None, blocks: Sequence[int] | None = None, split: bool | int | None = None,
             progress=None, prices: Prices | None = None, chunks: Sequence[int] | None = None,
             _defer_widths: bool = False) -> Result:
    """Optimize `kernel` for `arch`: the cheapest schedule equality saturation finds under the cost model,
    over the chip's core grid.

    `rules` adds rulesets (RuleSet objects or rule files); rules that are not shipped are random-tested for
    soundness first and an unsound one is refused with its counterexample (`check_rules=False` skips that).
    `cores` caps how many cores it may use (the default lets cost decide); `blocks=(h, ...)` makes work items
    row blocks of these heights only, `blocks=()` one item per whole batch element; the default weighs whole
    elements and every height the e-graph offers. `split` over keys (attention whose work items leave cores
    idle, as decode does): None lets cost decide, False never, a number of parts forces it. `chunks=(w, ...)`: the
    only chunk widths (elements) a loop over a long axis may stream in (the default offers 128 to 2048 and
    extraction picks by cost; for cost-model experiments on one loop shape). `prices`: programs
    already priced for this kernel, arch, cost model and `cores` (re-runs of one optimization share them).
    `_defer_widths` (the kernels of a split over keys): an unmasked loop's neighbouring widths are tried later, by
    `Result._widen`, so a split pays them only for the part count it keeps.
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
    grid = GridShape.of(arch_obj)
    bad = [w for w in chunks or () if not isinstance(w, int) or w <= 0 or w % TILE]
    if bad or chunks is not None and not chunks:
        raise KernelError(f"chunks={tuple(chunks or ())} for kernel '{kernel.name}': a chunk width is a positive "
                          f"multiple of the {TILE}-element tile, and at least one is needed"
                          + (f" ({', '.join(map(str, bad))} is not)" if bad else ""), "optimize", user_location())
    if cores is not None and (isinstance(cores, bool) or not isinstance(cores, numbers.Integral)
                              or not 1 <= cores <= grid.cores):
        raise KernelError(f"cores={cores!r}: give a whole number of cores from 1 to {arch_obj.name}'s grid of "
                          f"{grid.cores}", "optimize", user_location())
    limits = limits or Limits()
    chosen_rules, notes = _rulesets(rules, shipped_rules, check_rules)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    model = cost_model or TensixCostModel(arch_obj)
    prices = prices if prices is not None else Prices()
    times: dict[str, float] = {}
    view = element_view(kernel)
    element = view.kernel

    def on_grid(schedule: Schedule, items: int) -> ChipCost:
        page = arch_obj.tile_bytes(schedule.input_format or schedule.dtype)  # one read request per input tile
        item_bytes = schedule.dram_bytes(arch_obj)
        use = min(cores, items) if cores else None
        blocks = schedule.blocks
        memo: dict = {}  # the pipelines' stages and runs, shared by every core priced here (timing.kernel_cycles)
        if blocks == 1 or items % blocks:
            # inputs every row block of an element reads whole (K and V of a head): shareable between its cores
            # when they run in lockstep, which needs every item to visit the same chunks (no mask skipping)
            shared = sum(a.n_tiles for a in schedule.args if a.role == "in" and not a.blocked) * page
            lockstep = schedule.loop is None or schedule.loop.live is None
            return price_grid(grid, items, schedule.compute_cycles, item_bytes, use, page_bytes=page,
                              fixed_cycles=schedule.setup_cycles, shared_bytes=shared if items > view.elements else 0,
                              group_items=items // view.elements, share=arch_obj.share_inputs and lockstep,
                              handshake=share_handshake(model, schedule, model.dram_rate(grid.cores)),
                              pipeline=functools.cache(lambda hops: rate_pipeline(model, schedule, hops, memo)))
        # items differ by row block: price the natural order and the paired one (short with long blocks), and
        # with sharing groups of cores whose sender's item visits every chunk its receivers' do
        costs = []
        pipelines = functools.cache(lambda own, hops: items_pipeline(model, schedule, own, hops, memo))
        sizes = [size for size in RANKED_SIZES
                 if arch_obj.share_inputs and items > view.elements and nested_runs(schedule, size)]
        handshake = share_handshake(model, schedule, model.dram_rate(grid.cores)) if sizes else None
        compute = [schedule.item_cycles(b) for b in range(blocks)]  # per row block, each block once
        moved = [schedule.item_dram_bytes(arch_obj, b) for b in range(blocks)]
        for paired in (False, True):
            order = [block_order(n % blocks, blocks, paired) for n in range(items)]
            chip = price_items(grid, [compute[b] for b in order], [moved[b] for b in order], use, page,
                               schedule.setup_cycles,
                               lambda run, order=order: pipelines(tuple(sorted(order[i] for i in run)), None))
            costs.append(dataclasses.replace(chip, paired=paired))
            for size in sizes:
                assert handshake is not None
                ranked = ranked_share(grid, schedule, arch_obj, items, paired, use, page, handshake, pipelines, size)
                if ranked is not None:
                    costs.append(dataclasses.replace(ranked, paired=paired))
        return min(costs, key=lambda c: (c.cycles, c.paired, c.shared))

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
    splitting = split is not False and form == "auto" and blocks is None  # the end of this function may split
    forced = isinstance(split, int) and not isinstance(split, bool)
    offer = tuple(sorted({*KEY_PARTS, split})) if forced else KEY_PARTS if splitting else ()  # type: ignore[arg-type]
    insert_kernel(egraph, element, offer, chunks)
    times["insert"] = time.perf_counter() - start

    if progress is not None and getattr(progress, "enabled", False):
        progress = _pricing(progress, egraph, chosen_rules, model, element, arch_obj,
                            lambda s: on_grid(s, view.elements).cycles)
    report = saturate(egraph, chosen_rules, limits, progress)
    times["saturate"] = report.seconds
    if report.warning:
        notes.append(report.warning)
        warnings.warn(report.warning, stacklevel=2)

    start = time.perf_counter()
    graph = serialize(egraph)
    del egraph  # egglog's e-graph must be dropped on the thread that made it (sweeps run on worker threads)
    input_order = [str(n.attr("name")) for n in element.inputs]
    times["extract"] = times["schedule"] = times["grid"] = 0.0
    alternatives: dict[str, Alternative] = {
        "baseline": Alternative("baseline", baseline_chip.cycles, baseline_error is None,
                                str(baseline_error) if baseline_error else "every op its own section")}
    candidates: list[Candidate] = []

    def price(program: Program) -> float | None:
        """Extraction's candidates ranked by the scheduler: compute cycles (every program of a kernel moves
        the same bytes, so data movement cannot tell them apart)."""
        key = program.structure()
        if key not in prices.cycles:
            try:
                prices.cycles[key] = build_schedule(program, arch_obj, model, fuse=True).compute_cycles
            except KernelError:
                prices.cycles[key] = None
        return prices.cycles[key]

    rows = graph.shapes[graph.outputs[0][1]][0]
    offered = graph.block_heights()
    heights = [h for h in offered if blocks is None or h in blocks]
    if blocks and not heights:
        raise KernelError(f"kernel '{kernel.name}' is not a map over row blocks of {', '.join(map(str, blocks))} rows"
                          f" (row-block heights it offers: {', '.join(map(str, offered)) or 'none'})", "optimize",
                          user_location())
    searches = ([] if blocks else [(None, graph)]) + [(h, graph.blocks(h)) for h in heights]

    def priced(prog: Program, sched: Schedule, label: str, block: int | None, items: int,
               apart: bool = False) -> Candidate:
        """A candidate priced on the grid (kept by program structure), and the best of its form so far. A
        schedule with interleaved passes is priced with its sections apart too (`apart`), both candidates: the
        scheduler interleaves by one core's compute, and the CB the pair doubles may cost a core of several
        items more on the chip (a stream's third chunk, a sharing group's slack) than the pair saves."""
        key = (prog.structure(), items, apart)
        if key not in prices.chips:
            t0 = time.perf_counter()
            prices.chips[key] = on_grid(sched, items)
            times["grid"] += time.perf_counter() - t0
        cand = Candidate(label, block, prog, sched, prices.chips[key])
        candidates.append(cand)
        best = alternatives.get(label)
        if best is None or best.cycles is None or cand.chip.cycles < best.cycles:
            alternatives[label] = Alternative(label, cand.chip.cycles, True, _describe(cand))
        if not apart and items > 1 and any(sec.interleaved for sec in sched.sections):
            try:
                separate = build_schedule(prog, apart_arch(), model, fuse=True)
            except KernelError:
                return cand
            other = priced(prog, separate, label, block, items, apart=True)
            return other if other.chip.cycles < cand.chip.cycles else cand
        return cand

    @functools.cache
    def apart_arch() -> Arch:
        return arch_obj.with_overrides({"settings.interleave_passes": False})

    def widen(label: str, roots, block: int | None, items: int, cand: Candidate) -> None:
        """The loop's neighbouring chunk widths, extracted exactly and priced on the grid (candidates of their
        own): wider while cheaper, else narrower."""
        offered, chosen = set(chunks or chunk_widths(element)), _chunk_width(cand.program)
        for step in (2, 0.5):  # wider while it gets cheaper, else narrower
            width = chosen
            while (width := int(width * step)) in offered:
                other = _search_form(label, roots, extractor, model, arch_obj, element, input_order, price,
                                     times, chunks, report.stopped_by, width=width)
                if isinstance(other, Alternative):
                    break
                tried = priced(*other, label, block, items)
                if tried.chip.cycles >= cand.chip.cycles:
                    break
                cand = tried
            if _chunk_width(cand.program) != chosen:
                break

    deferred: list[tuple[str, object, int | None, int, Candidate]] = []  # retries waiting for Result._widen
    for block, roots in searches:  # whole rows (unless heights are asked for), then each row-block height
        items = view.elements * (rows // block if block else 1)
        for label in ("fused", "streaming"):
            found = _search_form(label, roots, extractor, model, arch_obj, element, input_order, price, times,
                                 chunks, report.stopped_by)
            if isinstance(found, Alternative):  # keep the whole-rows reason; a block height's only if no other
                if block is None or label not in alternatives:
                    alternatives.setdefault(label, found)
                continue
            cand = priced(*found, label, block, items)
            loop = cand.schedule.loop
            # extraction chose the loop's chunk width by one core's mean item's compute; the grid prices the chip
            # (DRAM shared by the cores, reads shared between them, handshakes) and may order the widths otherwise.
            # Masked: narrow chunks skip more masked work, wider ones are read and shared with fewer handshakes (WH
            # causal 1x4x1024x64 on 16 cores, 256 -> 512 keys is 9 % cheaper). Unmasked: where the grid time is
            # more than WAIT_RETRY above its compute and its DRAM floor, e.g. WH x @ w 1x4x128x4096 @ 4096x64 on
            # 64-row blocks, 2048 -> 256 columns is 13 % cheaper; where compute sets the time (most blocks of full
            # attention) or DRAM does (decode), no neighbour priced 2 % cheaper in benchmarks/width_search.py
            cost = cand.chip
            floor = max(cost.core_compute_cycles, cost.dram_floor_cycles) + cost.launch_cycles
            waits = cost.cycles - floor > WAIT_RETRY * cost.cycles
            # a stream one chunk deep (build._single_buffer_streams) makes the reader wait for pops one core's
            # compute does not price: the grid does, and a narrower width two chunks deep may be cheaper there
            # (DRAM-bound decode H=8 1x8x1x131072 on Wormhole: 2048 keys one deep 2,344.5 us, 1024 two deep 2,331.5)
            single = loop is not None and any(cand.schedule.chunks_held(st) == 1 for st in loop.streams)
            if items > 1 and loop is not None and loop.live is not None:
                widen(label, roots, block, items, cand)
            elif items > 1 and loop is not None and (waits or single):
                # a split over keys optimizes every part count's kernels and keeps one count: their unmasked
                # retries (kernels 0.3-0.8 % cheaper) run for the kept count's kernels only (Result._widen), the
                # same result at 19 % less time in the split's kernels (benchmarks/README.md, width search)
                if _defer_widths:
                    deferred.append((label, roots, block, items, cand))
                else:
                    widen(label, roots, block, items, cand)

    if baseline_error is None:
        candidates.append(Candidate("baseline", None, unfused, baseline, baseline_chip))
    if not candidates:
        raise KernelError(_fits_nowhere(kernel.name, arch_obj, alternatives, report.stopped_by)) from None

    def reoptimize(rulesets: list[RuleSet]) -> Result:
        """The same optimization with other rulesets (for naming the rules a result depends on)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optimize(kernel, arch_obj, limits=limits, rules=rulesets, shipped_rules=False, check_rules=False,
                            cost_model=cost_model, extractor=extractor, form=form, cores=cores, blocks=blocks,
                            split=split, prices=prices, chunks=chunks)

    def choose() -> Result:
        """The cheapest candidate (of the asked form) as the Result, with the notes on how it runs."""
        pool = candidates
        if form != "auto":
            pool = [c for c in candidates if c.form == form]
            if not pool:
                alt = alternatives[form]
                raise KernelError(f"form '{form}' {alt.status} for kernel '{kernel.name}': {alt.detail}"
                                  + "".join(f"\n{hint}" for hint in _advice([alt], arch_obj, report.stopped_by)))
        best_cand = min(pool, key=lambda c: (c.chip.cycles, c.form != "streaming", -(c.block or 0)))
        if best_cand.chip.items > 1:
            best_cand.schedule.grid = grid_plan(best_cand.schedule, view, best_cand.block, best_cand.chip, arch_obj)
        chosen = best_cand.form
        said = list(notes)
        if best_cand.chip.shared > 1:
            chip = best_cand.chip
            per_element = chip.items // view.elements
            part = ("whole batch elements" if chip.share_run == per_element
                    else f"runs of {chip.share_run} of an element's {per_element}")
            ranked = best_cand.schedule.grid is not None and best_cand.schedule.grid.ranked
            pace = "together" if ranked else "in lockstep"
            said.append(f"settings.share_inputs: {len(chip.group_runs)} groups of {chip.shared} cores run row "
                        f"blocks ({part}) {pace}; in each group one core reads the whole inputs from DRAM and "
                        "multicasts them to the others over the NoC"
                        + ("; the items visit different chunks (the mask skips some), so each group's sender "
                           "multicasts every chunk of its run's widest block to all of them (each core pops those "
                           "its own block does not visit, and the cores take the dearer blocks in turn)"
                           if ranked else ""))
        elif (arch_obj.share_inputs and best_cand.schedule.loop is not None
              and best_cand.schedule.loop.live is not None):
            said.append("settings.share_inputs: this kernel's items visit different chunks (its mask skips some); "
                        "sharing them in groups of cores (every chunk of each run's widest block multicast to "
                        "the group) did not price cheaper, so each core reads its own inputs")
        if chosen == "baseline" and form == "auto":
            said.append("no optimized schedule models cheaper than the unfused baseline; using the baseline")
        return Result(kernel, arch_obj, best_cand.schedule, baseline, best_cand.program, report, len(graph.classes),
                      times, said, alternatives=dict(alternatives), chosen=chosen, reason=_why(chosen, alternatives),
                      rulesets=chosen_rules, limits=limits, _rerun=reoptimize, chip=best_cand.chip,
                      baseline_chip=baseline_chip, view=view, block=best_cand.block)

    def widened() -> Result:
        """The deferred retries run, and the cheapest candidate chosen again."""
        while deferred:
            widen(*deferred.pop(0))
        return choose()

    result = choose()
    result._widen = widened if deferred else None
    if not splitting:
        return result

    def run(part: Kernel) -> Result:  # its unmasked width retries deferred: _split_keys widens the chosen count's
        return optimize(part, arch_obj, limits=limits, rules=rules, shipped_rules=shipped_rules, check_rules=False,
                        cost_model=cost_model, extractor=extractor, cores=cores, split=False, prices=prices,
                        _defer_widths=True)

    return _split_keys(result, kernel, arch_obj, split, grid, run, graph.key_parts(),
                       view if view.group > 1 else None)


@dataclass
class KeySplit:
    """A result split over keys (flash-decode): the user's kernel, how it splits, and the kernels after the first
    (more than `MAX_FAN_IN` parts merge in groups first: `merges`, then `combine`)."""

    kernel: Kernel          # the user's kernel
    kv: KvSplit
    combine: Result         # the last kernel: combines the parts (or the merged groups)
    unsplit_cycles: float   # the best schedule without the split
    part_baseline: Schedule  # the first kernel's own unfused baseline (the Result's `baseline` is the user's kernel's)
    offered: tuple[int, ...] = ()  # the part counts the e-graph derived (SerializedEGraph.key_parts)
    stacked: ElementView | None = None  # grouped heads: `kv` splits this view's kernel (q heads stacked by rows)
    merges: tuple[Result, ...] = ()  # kernels merging groups of parts before the combine (kv.merges, in order)

    @property
    def after(self) -> tuple[Result, ...]:
        """The kernels that run after the first, in order: the merges, then the combine."""
        return (*self.merges, self.combine)

    def first_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The user's arrays as the first kernel reads them: a group's q heads stacked by rows (when grouped; the
        same bytes, see `ElementInput.as_read`, padded to whole tiles as tilizing pads them), then cut into key
        parts."""
        return self.kv.partial_inputs(self.stacked.padded_inputs(inputs) if self.stacked is not None else inputs)

    def user_outputs(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The combining kernel's outputs in the user's kernel's shapes (unstacked: a reshape of the same bytes)."""
        return self.stacked.user_outputs(outputs, self.kernel) if self.stacked is not None else outputs


def _split_keys(result: Result, kernel: Kernel, arch: Arch, split: bool | int | None, grid: GridShape,
                run: Callable[..., Result], offered: list[int], stacked: ElementView | None = None) -> Result:
    """`result`, or the kernel split over key parts when that models cheaper (or `split` asks for a number of
    parts): attention with fewer work items than cores (decode) leaves the grid idle unless each head's keys
    are shared out. `offered` are the part counts the e-graph derived (rules/streaming.py's
    `online-*-over-parts`, read back by `SerializedEGraph.key_parts`); frontend.splitkv builds the two kernels
    of one, and each is priced over the grid as the optimizer prices any kernel. `stacked`: the grouped view whose
    kernel (q heads of a group stacked by rows, K/V read once per group) is the one split."""
    forced = isinstance(split, int) and not isinstance(split, bool)
    user = kernel
    as_kernel = stacked.as_kernel() if stacked is not None else None
    if as_kernel is None:  # split as the user wrote it (the heads unstacked: each reads its K/V)
        stacked = None
    else:  # split the stacked kernel, so both kernels keep the group-stacked DRAM layout
        kernel = as_kernel
    keys = attention_keys(kernel)  # None: the frontend cannot build the two kernels (splitkv says why)
    if keys is None or not offered:
        if forced:
            why = _why_not_split(kernel) if keys is None else (
                "no fold over its keys splits into parts in the e-graph (the keys must stream as an online softmax "
                "over chunks, each part whole chunks: rules online-matmul-over-parts and online-rowsum-over-parts)")
            raise KernelError(f"kernel '{kernel.name}' cannot be split over its keys: {why}", "optimize",
                              user_location())
        return result
    if forced:
        usable = [p for p in offered if fan_ins(p) is not None]
        if split not in usable:
            raise KernelError(f"kernel '{kernel.name}': {keys} keys cannot split into {split} parts: the parts must "
                              f"be whole tiles, each a whole number of the chunks the keys stream in, and merge in "
                              f"groups of at most {MAX_FAN_IN} (a combining kernel reads each part it merges as its "
                              f"own input, one CB each; more parts merge in a tree of kernels); "
                              f"use one of {', '.join(map(str, usable)) or 'none'}",
                              "optimize", user_location())
        parts = [split]
    else:  # pruned before pricing (each count priced costs an optimization per kernel): counts whose parts
        # overfill the cores
        parts = [p for p in offered if fan_ins(p) is not None and result.items * p <= grid.cores]
    priced: list[tuple[float, Result, KvSplit, tuple[Result, ...]]] = []
    for p in parts:
        kv = split_kv(kernel, p)
        first, after = run(kv.partial), tuple(run(k) for k in kv.kernels)
        priced.append((first.cost_cycles + sum(r.cost_cycles for r in after), first, kv, after))
    best: tuple[float, Result, KvSplit, tuple[Result, ...]] | None = None
    for total, first, kv, after in sorted(priced, key=lambda t: (t[0], t[2].parts)):
        if best is not None and total * (1 - SPLIT_RETRY_GAIN) >= best[0]:
            break  # its retries cannot make it the cheapest, nor those of any dearer count
        first, after = _widened(first), tuple(map(_widened, after))
        total = first.cost_cycles + sum(r.cost_cycles for r in after)
        if best is None or total < best[0]:
            best = (total, first, kv, after)
    if best is None or not forced and best[0] >= result.cost_cycles:
        return result
    total, first, kv, after = best
    *merges, second = after
    first.split = KeySplit(user, kv, second, result.cost_cycles, first.baseline, tuple(offered), stacked,
                           tuple(merges))
    # what the user weighs: the split against the whole kernel's own forms (and its baseline), not the part's
    first.alternatives = {**result.alternatives, "split": Alternative(
        "split", total, True, f"the keys in {kv.parts} parts: {first.chosen} over {first.items} work items, then "
        + _merging(kv, merges) + f"a kernel combining the parts ({second.chosen})")}
    first.chosen = "split"
    first.baseline, first.baseline_chip = result.baseline, result.baseline_chip
    first._rerun = result._rerun  # ablations re-run the user's kernel, split and all
    # ... so they weigh every rule that matched on the way: the user's kernel's (the split's own rules among them)
    # and both kernels' (the e-graph size and iterations stay the first kernel's, whose program this is)
    first.saturation = dataclasses.replace(first.saturation, rules=_matched_in(result.saturation, first.saturation,
                                                                              second.saturation))
    first.reason = (f"the keys split over {kv.parts} parts (the e-graph derives {', '.join(map(str, offered))}): "
                    f"{first.items} work items where the unsplit kernel has "
                    f"{result.items} on {grid.cores} cores, then " + _merging(kv, merges)
                    + "a kernel combining the parts")
    return first


def _widened(result: Result) -> Result:
    """`result` with the width retries optimize(_defer_widths=True) left for later run (itself when none were)."""
    return result._widen() if result._widen is not None else result


def _merging(kv: KvSplit, merges: Sequence[Result]) -> str:
    """The merge levels of a split, as a clause ('' when one kernel combines every part)."""
    if not merges:
        return ""
    levels = [f"{r.items} work items merging {k} parts each ({r.chosen})"
              for r, k in zip(merges, kv.fan_ins, strict=False)]
    return "kernels merging groups of parts (" + "; ".join(levels) + "), then "


def _matched_in(*reports: SaturationReport) -> dict[str, RuleStats]:
    """Each rule's matches and seconds summed over several saturations (in first-seen order)."""
    merged: dict[str, RuleStats] = {}
    for report in reports:
        for name, st in report.rules.items():
            seen = merged.setdefault(name, RuleStats(st.name, st.ruleset))
            seen.matches += st.matches
            seen.seconds += st.seconds
    return merged


def _why_not_split(kernel: Kernel) -> str:
    from tteqsat.frontend.splitkv import _keys_of

    try:
        _keys_of(kernel)
    except KernelError as e:
        return str(e)
    return "it is not softmax(S) @ V"


@dataclass
class Candidate:
    """One priced alternative: a form, the row-block height of its work items, its schedule on one core
    and its cost over the grid."""

    form: str
    block: int | None
    program: Program
    schedule: Schedule
    chip: ChipCost


def _no_loop(element: Kernel, widths: Sequence[int] | None, stopped_by: str | None = None) -> str:
    """Why a streaming form was not found: no axis a chunk width divides (streaming rules chunk an axis only by
    a width that divides it and is shorter), saturation stopped before the streaming rules fired, or
    extraction's choice."""
    offered = sorted(set(widths)) if widths else list(chunk_widths(element))
    axes = sorted({d for node in element.nodes() for d in node.shape})
    if not any(d % w == 0 and w < d for d in axes for w in offered):
        return (f"no chunk width offered ({', '.join(map(str, offered))}) divides an axis of this kernel longer than "
                f"it (its axes: {', '.join(map(str, axes))}), so there is nothing to stream in chunks"
                + (": ask for widths that divide one with optimize(chunks=(w, ...))" if widths
                   else ": it fits whole (the fused form); optimize(chunks=(32, ...)) offers narrower chunks"))
    if stopped_by is not None:
        return (f"saturation stopped at its {stopped_by} limit before the rules derived a loop over chunks: raise "
                f"Limits({stopped_by}=...)")
    return "extraction chose no loop over chunks for this kernel"


def _search_form(label: str, graph, extractor, model: TensixCostModel, arch: Arch, element: Kernel,
                 input_order: list[str], price, times: dict[str, float], widths: Sequence[int] | None = None,
                 stopped_by: str | None = None, width: int | None = None) -> tuple[Program, Schedule] | Alternative:
    """The best program of one form (fused or streaming) and its schedule, or why there is none; a chunk
    whose CBs do not fit L1 is retried at half the width. `width`: streaming in chunks of exactly that width."""
    max_chunk: int | None = width
    while True:
        t0 = time.perf_counter()
        try:
            prog = call_extractor(extractor, graph, model, element.name, element.dtype, input_order, label,
                                  max_chunk=max_chunk, price=price, **({} if width is None else {"min_chunk": width}))
        except KernelError as e:
            return Alternative(label, None, False, str(e))
        finally:
            times["extract"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            sched = build_schedule(prog, arch, model, fuse=True)
        except KernelError as e:
            chunk = _chunk_width(prog)
            if chunk and "L1" in str(e) and chunk > 32 and width is None:
                max_chunk = chunk // 2
                continue
            narrowest = f" (with chunks of {chunk}, the narrowest tried)" if chunk and max_chunk else ""
            return Alternative(label, None, False, f"{e}{narrowest}")
        finally:
            times["schedule"] += time.perf_counter() - t0
        if label == "streaming" and (sched.loop is None or width is not None and _chunk_width(prog) != width):
            return Alternative(label, None, False, _no_loop(element, widths, stopped_by), applies=False)
        return prog, sched


CLI_LIMITS = {"iterations": "--max-iterations", "enodes": "--max-enodes", "seconds": "--timeout"}
FORM_NAMES = {"baseline": "the unfused baseline", "fused": "fused", "streaming": "streaming",
              "split": "split over keys"}


def _form_name(label: str) -> str:
    return FORM_NAMES.get(label, label)


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _fits_nowhere(name: str, arch: Arch, alternatives: dict[str, Alternative], stopped_by: str | None = None
                  ) -> str:
    """Why no form fits, one line per form, and what the user can change."""
    what = {"baseline": "baseline (every op its own section)", "fused": "fused (no loop)",
            "streaming": "streaming (a loop over chunks)"}
    lines = [f"kernel '{name}' fits in no form on {arch.name} ({arch.l1_budget:,} bytes of L1 free for CBs):"]
    lines += [f"  {what.get(a.label, a.label)}: {a.detail}" for a in alternatives.values()]
    return "\n".join(lines + _advice(list(alternatives.values()), arch, stopped_by))


def _advice(failed: list[Alternative], arch: Arch, stopped_by: str | None = None) -> list[str]:
    """What the user can change, for the kinds of failure seen (L1 space, CB count, ops without a form), and when
    saturation was cut short by a limit (`stopped_by`), that forms the rules would have derived later were not
    weighed: a time limit cut short on a loaded machine can turn a form that fits into one that does not."""
    text = " ".join(a.detail for a in failed)
    hints = []
    if stopped_by is not None and any(a.applies for a in failed):
        hints.append(f"saturation stopped at its {stopped_by} limit, so forms the rules derive later were not "
                     f"weighed: raise Limits({stopped_by}=...) ({CLI_LIMITS[stopped_by]} on the command line) and "
                     "optimize again")
    if "L1" in text:
        hints.append("to fit: give each kernel call less data (e.g. fewer rows of the output per call); only a "
                     "reduction or matmul over a long axis streams in chunks, and an input one elementwise pass "
                     "reads tile for tile streams pass by pass, while outputs, loop state and values read whole "
                     "stay in L1; or model a part with more L1 (--set l1.bytes=N or --arch FILE.toml; in "
                     "Python, overrides={'l1.bytes': N})")
    if "circular buffers" in text:
        hints.append(f"to fit: {arch.name} has {int(arch.num('cb.max_cbs'))} circular buffers; split the kernel "
                     "into smaller kernels")
    if "no hardware form" in text:
        hints.append("to fit: write that op with supported ones, or add a hardware rule for it "
                     "(docs/writing-rules.md)")
    return hints


def _pricing(progress, egraph: EGraph, rulesets: list[RuleSet], model: TensixCostModel, kernel: Kernel,
             arch: Arch, chip_cycles):
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
        if not a.applies:
            parts.append(f"{a.label} does not apply ({a.detail})")
        elif a.cycles is None or not a.feasible:
            parts.append(f"{a.label} is infeasible ({a.detail})")
        else:
            parts.append(f"{a.label} models {a.cycles:,.0f} cycles ({a.cycles / won.cycles:.2f}x)")
    return f"chose {chosen} at {won.cycles:,.0f} modeled cycles: " + "; ".join(parts)
