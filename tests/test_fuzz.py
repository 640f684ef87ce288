"""The differential fuzzer: a bounded run over the whole DSL, and its checks shown to fail on broken parts.

The long run is `python benchmarks/fuzz.py --n 10000` (results in benchmarks/README.md).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings

from tteqsat import pipeline
from tteqsat.errors import KernelError
from tteqsat.extraction import loops
from tteqsat.lowering import mlir
from tteqsat.tools import fuzz, fuzzcase
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzz import run_case, shrink
from tteqsat.tools.fuzzcase import Case, to_source
from tteqsat.tools.fuzzgen import cases

BOUNDED = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])


@BOUNDED
@given(cases(max_ops=6, mask_sizes=((64, 128), (256, 160))))  # masked attention kept small: CI time
def test_random_kernels_agree_with_numpy_and_the_reference(case: Case) -> None:
    outcome = run_case(case)
    assert not outcome.failed, f"{outcome.category}: {outcome.detail}\n\nrepro:\n{to_source(case)}"


# -- the checks are not vacuous: each fails on a deliberately broken part -----------------------------------
def _case(build, *inputs: tuple[str, tuple[int, int]], form: str = "auto", dtype: str = "fp32") -> Case:
    made = [fc.tensor(name, shape, positive=False) for name, shape in inputs]
    return Case(tuple(made), (("o", build(*made)),), dtype=dtype, form=form)


def _chain() -> Case:
    return _case(lambda a, b: fc.unary("exp", fc.binary("*", fc.unary("tanh", a), b)), ("a", (32, 64)),
                 ("b", (32, 64)))


def test_a_passing_case_is_ok() -> None:
    assert run_case(_chain()).category == fuzz.OK


def test_a_wrong_reference_is_caught(monkeypatch) -> None:
    monkeypatch.setitem(fuzzcase.NUMPY_UNARY, "exp", np.exp2)  # the case's own numpy now disagrees
    assert run_case(_chain()).category == "reference differs from numpy"


def test_wrong_emitted_code_is_caught(monkeypatch) -> None:
    monkeypatch.setitem(mlir.SFPU_BINARY, "max", "binary_min_tile")  # max has no FPU form: always this one
    monkeypatch.setitem(mlir.SFPU_BINARY, "min", "binary_max_tile")
    case = _case(lambda a, b: fc.binary("maximum", fc.unary("exp", a), fc.unary("exp", b)), ("a", (32, 32)),
                 ("b", (32, 32)), form="fused")
    assert run_case(case).category == "simulated MLIR differs from the reference"


def test_issue_1_is_caught_when_exports_share_the_input_namespace(monkeypatch) -> None:
    def kernel() -> Case:
        x0, x1, x2, x3 = (fc.tensor(f"x{n}", s, False) for n, s in
                          enumerate([(32, 32), (32, 256), (256, 32), (1, 32)]))
        return Case((x0, x1, x2, x3), (("o", fc.binary("*", fc.matmul(fc.matmul(x0, x1), x2), x3)),),
                    form="streaming")

    assert run_case(kernel()).category == fuzz.OK
    monkeypatch.setattr(loops, "EXPORT_PREFIX", "x")  # the old naming
    assert run_case(kernel()).failed


def test_a_cost_above_the_baseline_is_caught(monkeypatch) -> None:
    real = pipeline.optimize

    def cheap_baseline(*args, **kwargs):
        result = real(*args, **kwargs)
        result.baseline_chip = replace(result.baseline_chip, cycles=1.0)  # the whole-chip baseline
        return result

    monkeypatch.setattr(fuzz, "optimize", cheap_baseline)
    assert run_case(_chain()).category == "optimized cost above the baseline"


def test_crashes_and_internal_errors_are_caught(monkeypatch) -> None:
    def crash(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(fuzz, "optimize", crash)
    outcome = run_case(_chain())
    assert outcome.category == "crash" and "IndexError" in outcome.detail

    def internal(*args, **kwargs):
        raise KernelError("internal: sections depend on each other in a cycle")

    monkeypatch.setattr(fuzz, "optimize", internal)
    assert run_case(_chain()).category == "internal error"


def test_the_dsl_verdict_is_checked_both_ways(monkeypatch) -> None:
    a, b = fc.tensor("a", (32, 64), False), fc.tensor("b", (64, 64), False)
    bad = Case((a, b), (("o", fc.binary("+", a, b)),))
    assert run_case(bad).category == fuzz.REJECTED
    monkeypatch.setattr(fuzzcase, "dsl_error", lambda case: None)  # a predictor that calls everything valid
    assert run_case(bad).category == "valid kernel rejected by the DSL"
    monkeypatch.setattr(fuzzcase, "dsl_error", lambda case: "made up")
    assert run_case(_chain()).category == "invalid kernel accepted by the DSL"


def test_an_ill_conditioned_kernel_is_not_compared() -> None:
    """(a + 1000) - 1000 in bf16 loses a's digits in the kernel's own rounding: no verdict on the simulator."""
    case = _case(lambda a: fc.scalar("-", fc.scalar("+", a, 1000.0), 1000.0), ("a", (32, 32)), dtype="bf16")
    assert run_case(case).category == fuzz.ILL_CONDITIONED


def test_shrinking_keeps_the_failure_and_drops_the_rest(monkeypatch) -> None:
    monkeypatch.setitem(fuzzcase.NUMPY_UNARY, "exp", np.exp2)
    a, b = fc.tensor("a", (32, 64), False), fc.tensor("b", (32, 64), False)
    big = fc.scalar("*", fc.unary("relu", fc.binary("+", fc.unary("exp", fc.unary("tanh", a)), b)), 0.5)
    case = Case((a, b), (("o", big), ("p", fc.unary("sigmoid", b))), dtype="bf16", arch="blackhole", form="fused")
    outcome = run_case(case)
    small, same = shrink(case, outcome)
    assert same.category == outcome.category == "reference differs from numpy"
    ops = [e for e in fuzzcase.nodes(small) if e.op != "input"]
    assert len(small.outputs) == 1 and len(ops) <= 2 and any(e.fn == "exp" for e in ops)
    assert (small.dtype, small.arch, small.form) == ("fp32", "wormhole_b0", "auto")
    assert "tq.exp(" in to_source(small)


def test_the_repro_is_a_script_that_runs() -> None:
    case = _chain()
    namespace: dict = {}
    exec(compile(to_source(case), "<repro>", "exec"), namespace)
    assert namespace["result"].chosen in ("fused", "baseline")
    slow = replace(case, overrides=(("dram.total_gb_per_s", 16.0),), cores=2)  # other settings, fewer cores
    namespace = {}
    exec(compile(to_source(slow), "<repro>", "exec"), namespace)
    assert namespace["result"].arch.num("dram.total_gb_per_s") == 16.0 and "cores=2" in to_source(slow)


# -- masks: the case's own numpy, NaN rows, and the checks failing on a broken mask -------------------------
def _masked_attention(mask, rows: int = 64, keys: int = 256, form: str = "auto") -> Case:
    q, k, v = fc.tensor("q", (rows, 32), False), fc.tensor("k", (keys, 32), False), fc.tensor("v", (keys, 32), False)
    scores = fc.scalar("*", fc.matmul(q, fc.transpose(k)), 0.125)
    return Case((q, k, v), (("o", fc.matmul(fc.softmax(fc.where(mask, "ts", (scores,), -np.inf)), v)),), form=form)


def test_the_cases_own_masks_are_numpys_tri() -> None:
    shape = (70, 90)
    for k in (-80, -3, 0, 5, 95):
        assert np.array_equal(fc.tri(shape, k).matrix(), np.tri(*shape, k, dtype=bool))
    window = fc.mask_and(fc.tri(shape, 4), fc.mask_not(fc.tri(shape, -30)))
    either = fc.mask_or(fc.tri(shape, -50), fc.mask_not(fc.tri(shape, 10)))
    assert np.array_equal(window.matrix(), np.tri(*shape, 4, dtype=bool) & ~np.tri(*shape, -30, dtype=bool))
    assert np.array_equal(either.matrix(), np.tri(*shape, -50, dtype=bool) | ~np.tri(*shape, 10, dtype=bool))
    assert window.source() == "(tq.tri(70, 90, k=4) & ~tq.tri(70, 90, k=-30))"


def test_rows_with_no_live_key_are_nan_and_compared_as_such(monkeypatch) -> None:
    """tri(k=-40) leaves the first 40 query rows with no key: numpy's softmax is NaN there, so must the kernel's
    be. The case says it may hold NaN; a kernel that writes 0 instead fails."""
    case = _masked_attention(fc.tri((64, 256), -40), form="fused")
    assert case.outputs[0][1].nan and not _masked_attention(fc.tri((64, 256), 0)).outputs[0][1].nan
    assert run_case(case).category == fuzz.OK
    import tteqsat.sim as sim

    real = sim.simulate

    def nan_to_zero(*args, **kwargs):  # the emitted kernel's outputs with their NaN replaced by 0
        out = real(*args, **kwargs)
        for value in out.outputs.values():
            value[np.isnan(value)] = 0.0
        return out

    monkeypatch.setattr(sim, "simulate", nan_to_zero)
    outcome = run_case(case)
    assert outcome.category == "simulated MLIR differs from the reference"
    assert "NaN at 1280 elements where the other is not" in outcome.detail  # 40 rows of 32


def test_a_wrong_mask_in_the_cases_numpy_is_caught(monkeypatch) -> None:
    case = _masked_attention(fc.mask_and(fc.tri((64, 256), 0), fc.mask_not(fc.tri((64, 256), -100))))
    monkeypatch.setattr(fc.MaskSpec, "matrix", lambda self: np.tri(*self.shape, self.k + 1, dtype=bool)
                        if self.op == "tri" else ~np.tri(*self.shape, self.args[0].k, dtype=bool))
    assert run_case(case).category == "reference differs from numpy"


def test_mask_misuse_is_rejected_and_unsupported_fills_are_expected_failures() -> None:
    a = fc.tensor("a", (64, 64), False)
    wrong_shape = Case((a,), (("o", fc.where(fc.tri((96, 64), 0), "ts", (a,), 0.0)),))
    cond = fc.tensor("c", (64, 64), False)
    tensor_condition = Case((a, cond), (("o", fc.where(None, "ts", (a, cond), 0.0)),))
    for case, why in ((wrong_shape, "does not broadcast to its mask"), (tensor_condition, "condition is a tensor")):
        outcome = run_case(case)
        assert outcome.category == fuzz.REJECTED and why in outcome.detail
    fill = Case((a,), (("o", fc.where(fc.tri((64, 64), 3), "ts", (a,), -1.0)),))
    assert run_case(fill).category.startswith("expected failure: where(M, x, c), c not -inf or 0")
