"""The differential fuzzer's check of one case, and a shrinker for the long run's repros.

Each case is judged four ways: the DSL accepts it exactly when the documented rules say it is valid (and
rejects it with a KernelError otherwise); the reference (`tteqsat.frontend.reference`) agrees with the
case's own numpy; the emitted MLIR, simulated, agrees with the reference (`Result.verify`, which also
checks the extracted program in numpy); and in the auto form the optimized schedule models no more cycles
than the baseline. Anything else that raises is a crash.

A kernel whose own rounding (every value rounded to its dtype as numpy makes it; in fp32, sums and matmuls
accumulated a tile at a time) would use more than a quarter of
the tolerance cannot be judged on its inputs: the simulator's different but equally legitimate roundings could
fail it. Such a kernel is compared on inputs drawn from part of their ranges (the middle half, quarter, eighth, then
the upper half: the generator's bounds still hold; a softmax's scores shrink, a sum's cancellation lifts), the first
part that conditions it; a bf16 kernel that no part conditions is judged again as its fp32 twin. Only what neither
conditions (an fp32 kernel, a value that overflows) goes uncompared, still lowered.

Masked kernels follow numpy: a softmax along a line that a mask leaves with no live element is 0/0, NaN, in
numpy, so the DSL accepts such a kernel and its outputs must be NaN exactly there (and finite elsewhere, within
the tolerance); `sim.tolerance.difference` counts both-NaN as agreement and one-sided NaN as a mismatch, both
here and in `Result.verify`.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from tteqsat.egraph.saturate import Limits
from tteqsat.errors import KernelError
from tteqsat.frontend import reference
from tteqsat.pipeline import VerificationError, optimize
from tteqsat.scheduling.model import block_order
from tteqsat.sim.tolerance import compare, difference, tolerance_for
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzcase import Case, Expr

# outcomes that are not failures
OK = "ok"
OK_NARROWED = "ok on narrowed inputs"  # verified, on inputs drawn from the middle of their ranges
OK_FP32_TWIN = "ill-conditioned in bf16, its fp32 twin ok"  # the bf16 schedule lowered, the fp32 one verified
REJECTED = "invalid kernel rejected"
UNAVAILABLE = "form unavailable"
ILL_CONDITIONED = "ill-conditioned (sim not compared)"
TOO_BIG = "does not fit the core (L1 or CB count)"
VERIFIED = (OK, OK_NARROWED)  # the case's own schedule simulated and compared with the reference
PASSING = (OK, OK_NARROWED, OK_FP32_TWIN, REJECTED, UNAVAILABLE, ILL_CONDITIONED, TOO_BIG)
REFERENCE_AGREEMENT = 1e-5   # |reference - numpy| / max(1, |numpy|): both are float64 math
CONDITIONING = 0.25          # a kernel whose own rounding uses more than this share of the tolerance is not compared
# parts of each input's range tried, in order, for a kernel ill-conditioned on the whole ranges: the first whose
# own rounding fits CONDITIONING is compared. The middle half, quarter, eighth shrink a softmax's scores; the upper
# half lifts a sum of values of both signs off its cancellation
NARROWING = ((0.25, 0.75), (0.375, 0.625), (0.4375, 0.5625), (0.5, 1.0))
WHOLE = (0.0, 1.0)
# how the conditioning measure accumulates sums and matmuls: an fp32 kernel's a tile at a time in fp32 (rounding each
# value once missed a sum of 96 means cancelling to 0.0057, 10x off in fp32); a bf16 kernel's 16-bit DST rounds its
# partial sums to bf16, which would bar most long bf16 attention from comparison at CONDITIONING, although the bf16
# tolerance was measured on such runs; bf16 kernels keep the per-value measure, which their campaigns bear out
ACCUMULATION: dict[str, str | None] = {"fp32": "fp32", "bf16": None}

# Known failures owned elsewhere, each with its reason: (category, substring of the detail) -> reason.
# Cases that match are reported as "expected failure: <reason>" instead of failing.
EXPECTED_FAILURES: dict[tuple[str, str], str] = {
    # the DSL and the reference take numpy's where(mask, a, b) whole; the optimizer has hardware forms only for
    # where(M, x, -inf) and where(M, x, 0) (rules/hardware.py mask-to-neg-inf, mask-to-zero; the baseline alike)
    # (nor where(M, c, x) or where(M, x, y)): the message names which
    ("optimize rejected a valid kernel", "where has a hardware form only as"):
        "where(M, x, c), c not -inf or 0, has no hardware form",
}


@dataclass(frozen=True)
class Outcome:
    category: str
    detail: str = ""
    paths: tuple[str, ...] = ()  # the machinery the chosen schedule used (`paths`), once optimize returned one

    @property
    def failed(self) -> bool:
        return self.category not in PASSING and not self.category.startswith("expected failure")


def _max_error(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> float:
    """The largest |got - want| / max(1, max |want|) over the outputs; inf where only one side is NaN (both NaN,
    or the same infinity, agree)."""
    worst = 0.0
    for name, w in want.items():
        w = np.asarray(w, dtype=np.float64)
        diff = difference(got[name], w)
        finite = np.isfinite(w)
        scale = max(1.0, float(np.max(np.abs(w[finite]))) if finite.any() else 1.0)
        worst = max(worst, float(np.max(diff)) / scale if not np.isnan(diff).any() else np.inf)
    return worst


def _relative_error(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> float:
    """The largest error relative to each output's own largest value: the measure `Result.verify` holds to its
    tolerance (an output of small values, a mean of many, has no floor of 1 there)."""
    return max(e.relative if not e.nan_mismatch else np.inf for e in compare(got, want))


def run_case(case: Case) -> Outcome:
    """Judge one case; never raises."""
    try:
        return _expected(_judge(case))
    except Exception as e:  # noqa: BLE001 - a crash of the tool under test is an outcome, not our error
        return _expected(Outcome("crash", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-4)}"))


def _expected(outcome: Outcome) -> Outcome:
    for (category, text), reason in EXPECTED_FAILURES.items():
        if outcome.category == category and text in outcome.detail:
            return Outcome(f"expected failure: {reason}", outcome.detail)
    return outcome


def _judge(case: Case) -> Outcome:
    why_invalid = fc.dsl_error(case)
    try:
        kernel = fc.to_kernel(case)
    except KernelError as e:
        if why_invalid is None:
            return Outcome("valid kernel rejected by the DSL", str(e))
        return Outcome(REJECTED, f"{why_invalid}: {e}")
    if why_invalid is not None:
        return Outcome("invalid kernel accepted by the DSL", why_invalid)

    inputs = fc.make_inputs(case)
    exact = fc.evaluate(case, inputs)
    ref = reference.evaluate(kernel, inputs)
    disagreement = _max_error(ref, exact)
    if not disagreement <= REFERENCE_AGREEMENT:
        return Outcome("reference differs from numpy", f"relative {disagreement:.3g}")
    tol = tolerance_for("exact", case.dtype, "hifi4")  # exact arithmetic: the fidelity does not matter
    conditioning = _conditioning(case, inputs, exact)
    within = WHOLE
    for part in NARROWING if conditioning > CONDITIONING * tol else ():
        trial = fc.make_inputs(case, within=part)
        own = _conditioning(case, trial)
        if own <= CONDITIONING * tol:
            inputs, conditioning, within = trial, own, part
            break
    well_conditioned = conditioning <= CONDITIONING * tol

    try:
        limits = Limits() if case.iterations is None else Limits(iterations=case.iterations)
        with warnings.catch_warnings():  # a saturation limit warns; the case still judges the result
            warnings.simplefilter("ignore")
            result = optimize(kernel, case.arch_spec(), form=case.form, limits=limits, cores=case.cores,
                              blocks=case.blocks)
    except KernelError as e:
        text = str(e)
        if "internal" in text:
            return Outcome("internal error", text)
        if case.form != "auto" and text.startswith(f"form '{case.form}' does not"):  # apply, or fit
            return Outcome(UNAVAILABLE, text)
        if "bytes of L1" in text or "circular buffers" in text:  # a limit of the core, named with its numbers
            return Outcome(TOO_BIG, text)
        return Outcome("optimize rejected a valid kernel", text)
    # the baseline is priced also where it does not fit L1: only one that fits is a schedule optimize could pick
    if case.form == "auto" and result.baseline_feasible and result.cost_cycles > result.baseline_cycles + 1e-6:
        return Outcome("optimized cost above the baseline", f"{result.cost_cycles} > {result.baseline_cycles}")
    used = paths(result)  # named by failures too: which machinery a failing schedule used
    if not well_conditioned:
        result.to_mlir()  # still lowered: emission must not crash
        why = (f"own rounding error {conditioning:.3g} of tolerance {tol}, on every part of the inputs' ranges "
               f"tried too" if np.isfinite(conditioning) else
               f"a value overflows {case.dtype} or is infinite")
        return _fp32_twin(case, why, used)
    try:
        result.verify(inputs=inputs, precision="exact")
    except VerificationError as e:
        text = str(e) + (f" (on inputs drawn from {within} of their ranges: fuzzcase.make_inputs(case, "
                         f"within={within}))" if within != WHOLE else "")
        if "rewrite rule is unsound" in text:
            return Outcome("extracted program differs from the kernel", text, used)
        if "fails on the Tensix model" in text:
            return Outcome("simulation fails", text, used)
        return Outcome("simulated MLIR differs from the reference", f"{result.chosen}: {text}", used)
    found = result.chosen + _mask_paths(result) + _pipelined(result)
    return Outcome(OK if within == WHOLE else OK_NARROWED, found, used)


def _conditioning(case: Case, inputs: dict[str, np.ndarray], exact: dict[str, np.ndarray] | None = None) -> float:
    """How far the case's outputs move when every value is rounded to its dtype as it is made, in the measure
    `Result.verify` holds to its tolerance. NaN is compared as a value (numpy's softmax of a row with no live key is
    NaN, and so must the kernel's be); an infinity in an exact output (which the generator never leaves) is inf."""
    exact = fc.evaluate(case, inputs) if exact is None else exact
    if any(np.isinf(v).any() for v in exact.values()):
        return np.inf
    return _relative_error(fc.evaluate(case, inputs, rounding=case.dtype, accumulation=ACCUMULATION[case.dtype]),
                           exact)


def _fp32_twin(case: Case, why: str, used: tuple[str, ...]) -> Outcome:
    """The outcome of a case whose own rounding no narrowing brings within the tolerance: a bf16 case is judged
    again in fp32 (the same kernel, form, blocks, cores and chip: its data flow, if not its bf16 schedule, is
    checked); a failure there is the case's failure. An fp32 case, or a twin ill-conditioned too, is not compared."""
    if case.dtype != "bf16":
        return Outcome(ILL_CONDITIONED, why, used)
    twin = _judge(replace(case, dtype="fp32"))
    if twin.category in VERIFIED:
        return Outcome(OK_FP32_TWIN, f"{why}; fp32 twin: {twin.detail}", used)
    if twin.failed:
        return Outcome(twin.category, f"the case's fp32 twin ({why} in bf16): {twin.detail}", twin.paths)
    return Outcome(ILL_CONDITIONED, f"{why}; fp32 twin: {twin.category}", used)


def paths(result) -> tuple[str, ...]:
    """The streaming and grid machinery a result's schedule uses: a loop over chunks (and which form chose it),
    sections one trip ahead, two sections' passes interleaved, values waited for row block by row block, streams of
    one chunk, a value packed over the one it was computed from, inputs streamed pass by pass, a bf16 kernel's
    32-bit DST for a long sum, dead chunks skipped, dead tiles skipped on the diagonal, mask tiles, a grid of
    more than one core, cores running several work items, reads shared by cores (lockstep groups, or ranked groups
    under a skipping mask, and whether some receiver visits fewer chunks than its sender: the chunks beyond its own
    it is sent and pops unread after its item), keys split over cores."""
    sched = result.schedule
    loop = sched.loop
    out = []
    if loop is not None:
        out.append("loop over chunks")
    if any(sec.ahead for sec in sched.sections):
        out.append("sections one trip ahead")
    if any(sec.interleaved for sec in sched.sections):
        out.append("passes interleaved")
    if any(sec.row_waits for sec in sched.sections):
        out.append("row waits")
    if loop is not None and any(sched.chunks_held(st) == 1 for st in loop.streams):
        out.append("streams one chunk deep")
    if any(sec.packed_over for sec in sched.sections):
        out.append("packed over its input")
    if any(sec.pass_waits for sec in sched.sections):
        out.append("inputs streamed pass by pass")
    if sched.wide_dst_chain is not None:
        out.append("32-bit DST for a long sum")
    if any(cb.role == "mask" for cb in sched.cbs):
        out.append("mask tiles")
    if loop is not None and loop.live is not None:
        out.append("dead chunks skipped")
    if loop is not None and loop.ragged is not None:
        out.append("dead tiles skipped")
    if sched.grid is not None and len(sched.grid.cores) > 1:
        out.append("grid")
    if sched.grid is not None and any(count > 1 for _, count in sched.grid.cores):
        out.append("several items a core")
    if sched.grid is not None and sched.grid.share is not None:
        out.append("reads shared in ranked groups" if sched.grid.ranked else "reads shared by groups")
        if sched.grid.ranked:
            out.append(f"ranked groups of {sched.grid.ranked}")
        if sched.grid.ranked and _receivers_skip(sched):
            out.append("receivers skip chunks")
    if result.split is not None:
        out.append("keys split over cores")
    return tuple(out)


def _receivers_skip(sched) -> bool:
    """Whether a ranked group's receiver visits fewer chunks than its sender (its run's blocks in `block_order`)."""
    grid, loop = sched.grid, sched.loop
    size = grid.ranked
    runs = ([loop.range(block_order(p + i, grid.blocks, grid.paired, size, grid.alternate)) for i in range(size)]
            for p in range(0, grid.blocks, size))
    return any(len(set(run)) > 1 for run in runs)


def sharing_kind(used: tuple[str, ...]) -> str:
    """How a schedule's cores read K/V, from its `paths`: each its own, in lockstep groups, or in ranked groups."""
    if "reads shared in ranked groups" in used:
        return "ranked groups"
    return "lockstep groups" if "reads shared by groups" in used else "no sharing"


def _pipelined(result) -> str:
    """Whether the loop runs sections one trip ahead (scheduling.lookahead)."""
    return " (sections one trip ahead)" if any(sec.ahead for sec in result.schedule.sections) else ""


def _mask_paths(result) -> str:
    """Which masked paths the schedule takes (for the long run's table): mask tiles, dead chunks skipped per
    row block, dead tiles skipped inside masked trips."""
    if not any(cb.role == "mask" for cb in result.schedule.cbs):
        return ""
    loop = result.schedule.loop
    if loop is None or loop.live is None:
        return " (mask tiles)"
    return " (mask tiles, dead chunks skipped" + (", dead tiles skipped)" if loop.ragged is not None else ")")


# -- shrinking a failing case ---------------------------------------------------------------------------
def _rebuild(case: Case, swap: Callable[[Expr], Expr | None]) -> Case:
    """The case with `swap` applied to every value (None: keep it), operands rebuilt bottom up."""
    memo: dict[int, Expr] = {}

    def visit(e: Expr) -> Expr:
        if id(e) in memo:
            return memo[id(e)]
        new = swap(e)
        if new is None:
            args = tuple(visit(a) for a in e.args)
            new = e if all(x is y for x, y in zip(args, e.args, strict=True)) else _remake(e, args)
        memo[id(e)] = new
        return new

    outputs = tuple((name, visit(e)) for name, e in case.outputs)
    used = {id(e) for e in fc.nodes(replace(case, outputs=outputs))}
    inputs = tuple(i for i in case.inputs if id(i) in used)
    return replace(case, inputs=inputs, outputs=outputs)


def _remake(e: Expr, args: tuple[Expr, ...]) -> Expr:
    if e.op == "unary":
        return fc.unary(e.fn, args[0])
    if e.op == "binary":
        return fc.binary(e.fn, *args)
    if e.op == "scalar":
        return fc.scalar(e.fn, args[0], e.s, e.reflected, e.numpy)
    if e.op == "matmul":
        return fc.matmul(*args)
    if e.op in ("T", "mT"):
        return fc.transpose(args[0])
    if e.op == "repeat":
        return fc.repeat(args[0], e.repeats, e.axis)
    if e.op == "reduce":
        return fc.reduce(e.fn, args[0], e.axis)
    if e.op == "where":
        return fc.where(e.mask, e.branches, args, e.s)
    return fc.softmax(args[0], e.axis)


def _smaller(case: Case):
    """Candidate simplifications, biggest first: fewer outputs, a value replaced by one of its operands of
    the same shape (or an output by any operand), simpler settings."""
    if len(case.outputs) > 1:
        for n in range(len(case.outputs)):
            yield replace(case, outputs=case.outputs[:n] + case.outputs[n + 1:])
    for _, out in case.outputs:
        for a in out.args:
            if a.op != "input":
                yield _rebuild(case, lambda e, out=out, a=a: a if e is out else None)
    for e in reversed(fc.nodes(case)):
        for a in e.args:
            if a.shape == e.shape:
                yield _rebuild(case, lambda x, e=e, a=a: a if x is e else None)
    for e in reversed(fc.nodes(case)):  # a compound mask replaced by one of its parts
        for part in e.mask.args if e.mask is not None else ():
            yield _rebuild(case, lambda x, e=e, part=part: fc.where(part, e.branches, x.args, e.s) if x is e else None)
    for field_, simple in (("form", "auto"), ("dtype", "fp32"), ("arch", "wormhole_b0"), ("iterations", None),
                           ("blocks", None), ("cores", None), ("overrides", ())):
        if getattr(case, field_) != simple:
            yield replace(case, **{field_: simple})


def shrink(case: Case, outcome: Outcome, budget: int = 200) -> tuple[Case, Outcome]:
    """A smaller case with the same outcome category (greedy: take the first simplification that keeps it,
    repeat), within `budget` runs."""
    runs = 0
    improved = True
    while improved and runs < budget:
        improved = False
        for smaller in _smaller(case):
            if fc.dsl_error(smaller) is not None and fc.dsl_error(case) is None:
                continue
            runs += 1
            got = run_case(smaller)
            if got.category == outcome.category:
                case, outcome, improved = smaller, got, True
                break
            if runs >= budget:
                break
    return case, outcome
