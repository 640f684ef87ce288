"""Kernels the fuzzer cannot compare on their inputs' whole ranges (bf16 rounding alone would use more than a quarter
of the tolerance) are still verified: on inputs drawn from part of their ranges (the middle, or the upper half), or,
when no part conditions a bf16 kernel, as its fp32 twin. Both checks fail on deliberately broken kernels: a causal
mask read one tile row off, an online softmax that drops its rescale, a reduce scaler 1 % off."""

from __future__ import annotations

import numpy as np
import pytest

import tteqsat.lowering.mlir as lowering_mlir
from tteqsat import pipeline
from tteqsat.extraction import loops
from tteqsat.lowering.mlir import ComputeEmitter
from tteqsat.sim import tolerance
from tteqsat.tools import fuzz
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzcase import Case


def _attention() -> Case:
    """silu(softmax(where(tri(128, 1024, 928), q @ k.T, -inf)) @ v), bf16, two heads of 128 q rows over 1024 keys,
    streaming in 64-row blocks on at most 6 cores (share seed 2 of `benchmarks/fuzz.py` drew it; it was skipped)."""
    q, k, v = (fc.tensor(n, s, False) for n, s in (("q", (2, 128, 64)), ("k", (2, 1024, 64)), ("v", (2, 1024, 64))))
    scores = fc.where(fc.tri((128, 1024), 928), "ts", (fc.matmul(q, fc.transpose(k)),), -np.inf)
    out = fc.unary("silu", fc.matmul(fc.softmax(scores), v))
    return Case((q, k, v), (("o", out),), "bf16", form="streaming", cores=6, blocks=(64,))


def _scores_softmax() -> Case:
    """softmax((v.T - 1) @ c.T) over rows of 256 in bf16 (default-keys seed 3 drew it): scores of 256 terms in
    [-2, 0] x [-1, 1] spread over +-15 or so, and their rounding moves the softmax by more than any part of the ranges
    repairs (on the inputs of seed 4; the middle eighth of seed 0's conditions it); in fp32 it is well conditioned."""
    v, c = fc.tensor("v", (256, 32), False), fc.tensor("c", (256, 256), False)
    shifted = fc.scalar("+", fc.transpose(v), -1.0, reflected=True)
    return Case((v, c), (("o", fc.softmax(fc.matmul(shifted, fc.transpose(c)), 1)),), "bf16", seed=4)


def _ill_conditioned(case: Case, parts: tuple[tuple[float, float], ...]) -> bool:
    limit = fuzz.CONDITIONING * tolerance.tolerance_for("exact", case.dtype, "hifi4")
    return all(fuzz._conditioning(case, fc.make_inputs(case, part)) > limit for part in parts)


def test_narrowed_inputs_are_a_subrange_and_keep_the_seed() -> None:
    case = _attention()
    whole, half = fc.make_inputs(case), fc.make_inputs(case, within=(0.25, 0.75))
    assert all(np.abs(half[n]).max() <= 0.5 < np.abs(whole[n]).max() for n in whole)
    assert all(np.array_equal(fc.make_inputs(case)[n], whole[n]) for n in whole)


def test_an_attention_skipped_before_is_verified_on_narrowed_inputs() -> None:
    case = _attention()
    assert _ill_conditioned(case, (fuzz.WHOLE,)) and not _ill_conditioned(case, ((0.25, 0.75),))
    outcome = fuzz.run_case(case)
    assert outcome.category == fuzz.OK_NARROWED, outcome
    assert {"loop over chunks", "mask tiles", "dead chunks skipped"} <= set(outcome.paths), outcome


def test_narrowed_inputs_catch_a_mask_read_one_tile_row_off(monkeypatch) -> None:
    right = lowering_mlir.mask_tile
    monkeypatch.setattr(lowering_mlir, "mask_tile", lambda ops, diag, block, chunk, i, j: right(
        ops, diag, block, chunk, ops.arith("addi", i, ops.const(1)), j))
    outcome = fuzz.run_case(_attention())
    assert outcome.category == "simulated MLIR differs from the reference", outcome
    assert "on inputs drawn from (0.25, 0.75) of their ranges" in outcome.detail


def test_narrowed_inputs_catch_a_dropped_rescale_in_the_simulator(monkeypatch) -> None:
    """The online softmax's accumulator not rescaled when the running max grows. The numpy check of the extracted
    program would catch it first; with that check blinded, the simulated MLIR on narrowed inputs catches it too."""
    right = loops._accumulate
    monkeypatch.setattr(loops, "_accumulate", lambda acc, value, shape, origin, alone, wide_dst=False: right(
        acc.operands[0 if acc.kind == "fpu" else 1] if origin == "online sum" else acc,  # alpha O_prev -> O_prev
        value, shape, origin, alone, wide_dst))
    assert fuzz.run_case(_attention()).category == "extracted program differs from the kernel"

    blind = object()  # the program check compares this with the reference: no difference
    measured = tolerance.difference
    monkeypatch.setattr(pipeline, "evaluate_program", lambda program, inputs, block: _Everything(blind))
    monkeypatch.setattr(tolerance, "difference", lambda got, want: np.zeros(np.shape(want)) if got is blind
                        else measured(got, want))
    outcome = fuzz.run_case(_attention())
    assert outcome.category == "simulated MLIR differs from the reference", outcome


class _Everything(dict):
    """Every output name maps to the same value."""

    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value

    def __getitem__(self, name: str) -> object:
        return self.value


def test_a_bf16_kernel_no_narrowing_conditions_is_verified_as_its_fp32_twin() -> None:
    case = _scores_softmax()
    assert _ill_conditioned(case, (fuzz.WHOLE, *fuzz.NARROWING))
    outcome = fuzz.run_case(case)
    assert outcome.category == fuzz.OK_FP32_TWIN, outcome
    assert "fp32 twin: " in outcome.detail


def test_the_fp32_twin_catches_a_reduce_scaler_one_percent_off(monkeypatch) -> None:
    """0.01 of a sum is far under bf16's tolerance of 0.04 but far over fp32's 1e-5: the twin sees it."""
    right = ComputeEmitter.fill
    monkeypatch.setattr(ComputeEmitter, "fill", lambda self, cb, tiles, value, what: right(
        self, cb, tiles, value * 1.01 if what.startswith("scaler") else value, what))
    outcome = fuzz.run_case(_scores_softmax())
    assert outcome.failed and outcome.category == "simulated MLIR differs from the reference", outcome
    assert outcome.detail.startswith("the case's fp32 twin"), outcome.detail


def _sum_of_means() -> Case:
    """x.mean(axis=1).sum(axis=-2) of a 96 x 96 fp32 x in [-1, 1] (default-keys seed 21 drew it, with two more
    outputs): 96 means of both signs cancel to 0.0057, so the kernel's fp32 accumulation of each 96-term row, not the
    rounding of each mean, sets the error (2.3e-5 of the output in the simulator, tolerance 1e-5)."""
    x = fc.tensor("x", (96, 96), False)
    return Case((x,), (("o", fc.reduce("sum", fc.reduce("mean", x, 1), -2)),), "fp32")


def test_a_sum_of_cancelling_means_is_verified_on_the_upper_half_of_its_range() -> None:
    """The conditioning measure rounds each partial sum of a tile's terms, as the kernel accumulates: it measured
    only each value's rounding (2.2e-6, under a quarter of 1e-5), so the case was compared and failed. Drawn from
    [0, 1], its means no longer cancel."""
    case = _sum_of_means()
    assert _ill_conditioned(case, (fuzz.WHOLE, *fuzz.NARROWING[:-1])) and not _ill_conditioned(case, ((0.5, 1.0),))
    outcome = fuzz.run_case(case)
    assert outcome.category == fuzz.OK_NARROWED, outcome


def test_the_upper_half_catches_a_mean_scaler_one_percent_off(monkeypatch) -> None:
    right = ComputeEmitter.fill
    monkeypatch.setattr(ComputeEmitter, "fill", lambda self, cb, tiles, value, what: right(
        self, cb, tiles, value * 1.01 if what.startswith("scaler") else value, what))
    outcome = fuzz.run_case(_sum_of_means())
    assert outcome.category == "simulated MLIR differs from the reference", outcome
    assert "on inputs drawn from (0.5, 1.0) of their ranges" in outcome.detail


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_what_no_part_nor_twin_conditions_is_still_not_compared(dtype: str) -> None:
    """(a + 1000) - 1000 loses a's digits in bf16 and (less) in fp32, on any part of a's range."""
    a = fc.tensor("a", (32, 32), False)
    case = Case((a,), (("o", fc.scalar("-", fc.scalar("+", a, 1000.0), 1000.0)),), dtype)
    outcome = fuzz.run_case(case)
    assert outcome.category == fuzz.ILL_CONDITIONED, outcome
    assert "on every part of the inputs' ranges tried too" in outcome.detail
