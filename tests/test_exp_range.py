"""Which exps keep the approximate exp: those whose argument is bounded above (extraction.exp_range).

The fast approximate exp turns arguments above about 88.7 into a NaN pattern (tt-llk ckernel_sfpu_exp.h; the
simulator does the same), so an exp of an unbounded value takes the accurate exp, which saturates to inf.
"""

from __future__ import annotations

import re

import numpy as np
from conftest import optimized_example

from tteqsat.extraction.exp_range import mark_unbounded_exps, value_bounds
from tteqsat.extraction.program import HwOp, Program


def _exp_approx_flags(text: str) -> list[str]:
    return re.findall(r'"ttkernel\.exp_tile"\(%\w+\) <\{approx = (\w+)', text)


def test_ten_ops_verifies_on_its_default_inputs() -> None:
    """Its inputs are positive (it takes square roots), so q @ k.T - m is about 100: exp overflows. numpy goes
    through inf (exp -> inf, rsqrt -> 0, exp -> 1); the approximate exp gave NaN, the accurate exp gives inf."""
    result = optimized_example("ten_ops")
    check = result.verify()  # hardware precision, normal inputs: was "differs from the reference by nan"
    assert check.max_rel_err <= check.tolerance
    flags = _exp_approx_flags(result.to_mlir())
    assert flags == ["false"] * len(flags) and len(flags) == 6  # three exps, two tiles each


def test_the_approximate_exp_would_give_nan_there() -> None:
    """The same kernel with its exps forced back to approx = true: the simulator's NaN is the hardware's."""
    result = optimized_example("ten_ops")
    text = result.to_mlir().replace("approx = false", "approx = true")
    from tteqsat.frontend.reference import random_inputs
    from tteqsat.sim import simulate
    out = simulate(text, result.kernel_inputs(random_inputs(result.kernel, 0)), host=result.to_host(),
                   precision="hardware").outputs["out"]
    assert np.isnan(out).mean() > 0.9


def test_softmax_exps_stay_approximate() -> None:
    """exp(s (x - max x)) and the split combine's exp(lse_i - max lse) are at most 1: approximate; only the
    online rescale factor (accurate for its own reason: exp(0) = 0.98) is not."""
    attention = optimized_example("attention")
    assert set(_exp_approx_flags(attention.to_mlir())) == {"true"}
    long = optimized_example("long_attention")
    assert long.split is not None
    part_flags = _exp_approx_flags(long.to_mlir())
    assert "true" in part_flags and part_flags.count("false") <= part_flags.count("true")
    assert set(_exp_approx_flags(long.split.combine.to_mlir())) == {"true"}


def _leaf(name: str, shape: tuple[int, int] = (32, 64)) -> HwOp:
    return HwOp("input", "input", (), shape, {"name": name})


def test_bounds_of_the_forms() -> None:
    x = _leaf("x")
    rowmax = HwOp("reduce", "rowmax", (x,), (32, 1), {"s": 1.0})
    wide = HwOp("bcast", "cols", (rowmax,), x.shape, {"n": 64})
    centred = HwOp("reuse", "sub", (wide, x), x.shape, {"reuse": "srcb"})  # x - max(x)
    backwards = HwOp("reuse", "sub", (wide, x), x.shape, {"reuse": "srca"})  # max(x) - x: unbounded
    soft = HwOp("exp_scaled", "exp", (centred,), x.shape, {"s": 0.125})
    negative_scale = HwOp("exp_scaled", "exp", (centred,), x.shape, {"s": -1.0})
    raw = HwOp("sfpu", "exp", (x,), x.shape)
    squashed = HwOp("sfpu", "exp", (HwOp("sfpu", "sigmoid", (x,), x.shape),), x.shape)
    other = HwOp("reduce", "rowmax", (_leaf("y"),), (32, 1), {"s": 1.0})  # the max of another tensor
    foreign = HwOp("sfpu", "exp", (HwOp("fpu", "sub", (x, HwOp("bcast", "cols", (other,), x.shape, {"n": 64})),
                                        x.shape),), x.shape)
    outs = [soft, negative_scale, raw, squashed, foreign, HwOp("sfpu", "exp", (backwards,), x.shape)]
    program = Program("k", "bf16", [x, other.operands[0]], [(f"o{n}", op) for n, op in enumerate(outs)])
    bounds = value_bounds(program)
    assert bounds[id(centred)][1] == 0.0 and bounds[id(squashed)] == (1.0, np.e)
    marked = mark_unbounded_exps(program)
    assert [op for op in outs if op in marked] == [negative_scale, raw, foreign, outs[-1]]
    assert mark_unbounded_exps(program) == []  # idempotent
