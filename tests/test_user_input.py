"""What a user trips over: settings, scalars and numpy calls that must fail with a clear error (or work), never
with a traceback from inside tteqsat (found by using the tool as the README teaches)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.arch import load_arch


def _small() -> tq.Kernel:
    return tq.kernel("k", tq.exp(tq.tensor("x", (32, 32))))


def test_unknown_arch_key_without_a_close_match_lists_the_tables() -> None:
    """`--set x.y=1` raised IndexError in the suggestion code (the top-level key `name` has no dot)."""
    with pytest.raises(tq.KernelError, match=r"no parameter 'x\.y' \(its tables: cb, chip, .*'sfpu\.exp'"):
        load_arch("wormhole_b0", {"x.y": 1})
    with pytest.raises(tq.KernelError, match=r"no parameter 'sfpu\.foo' \(did you mean"):
        load_arch("wormhole_b0", {"sfpu.foo": 1})


@pytest.mark.parametrize("key, value, says", [
    ("sfpu.exp", -5, "must be a finite number >= 0"),
    ("sfpu.exp", math.nan, "must be a finite number >= 0"),
    ("pack.cycles_per_tile", math.inf, "must be a finite number >= 0"),
    ("dram.bytes_per_cycle", 0, "must be a number > 0"),
    ("chip.clock_ghz", 0, "must be a number > 0"),
    ("tile.bytes_bf16", 0, "must be a number > 0"),
    ("chip.grid_rows", 0, "must be a whole number >= 1"),
    ("dram.controllers", 2.5, "must be a whole number >= 1"),
    ("l1.bytes", 10, r"leaves no L1 for CBs: it must be larger than l1\.reserved_base"),
])
def test_arch_values_the_model_cannot_use_are_refused_naming_the_key(key: str, value: float, says: str) -> None:
    """Zero rates divided by zero (a ZeroDivisionError traceback), NaN, infinite and negative costs made
    tq.optimize hang, and an L1 smaller than its reserved base reported "-103,702 bytes of L1 free"."""
    with pytest.raises(tq.KernelError, match=f"'{key}'.*{says}" if key != "l1.bytes" else says):
        tq.optimize(_small(), overrides={key: value})


def test_zero_cost_of_an_op_is_an_experiment_not_an_error() -> None:
    res = tq.optimize(_small(), overrides={"sfpu.exp": 0})
    assert 0 < res.cost_cycles <= tq.optimize(_small()).cost_cycles


RULE_FILE = '''
from egglog import rewrite, var
from tteqsat import rules
from tteqsat.egraph import TensorExpr, unary
a = var("a", TensorExpr)
RULESET = rules.RuleSet("{ruleset}", "a user's rules", "grow", (
    rules.Rule("{rule}", rewrite(unary("recip", unary("recip", a))).to(a)),
))
'''


@pytest.mark.parametrize("ruleset, rule, says", [
    ("algebra", "recip-twice", r"two rulesets are named 'algebra' \(shipped and in .*mine\.py\)"),
    ("mine", "neg-neg", r"two rules are named 'neg-neg' \(ruleset algebra shipped and ruleset mine in .*mine\.py\)"),
])
def test_a_user_ruleset_or_rule_named_like_a_shipped_one_is_refused(tmp_path, ruleset: str, rule: str,
                                                                     says: str) -> None:
    """A user ruleset named 'algebra' made egglog panic (pyo3 PanicException, a Rust backtrace)."""
    path = tmp_path / "mine.py"
    path.write_text(RULE_FILE.format(ruleset=ruleset, rule=rule))
    with pytest.raises(tq.KernelError, match=says):
        tq.optimize(_small(), rules=[str(path)])
    path.write_text(RULE_FILE.format(ruleset="mine", rule="recip-twice"))
    assert tq.optimize(_small(), rules=[str(path)]).cost_cycles > 0


@pytest.mark.parametrize("build, says", [
    (lambda x: x * 1e300, r"the scalar 1e\+300 is beyond float32's range .* in op 'mul'"),
    (lambda x: x - 3.5e38, r"the scalar 3\.5e\+38 is beyond float32's range .* in op 'sub'"),
    (lambda x: x / 1e-39, r"the scalar 1 / 1e-39 \(dividing by 1e-39\) is beyond float32's range .* in op 'div'"),
    (lambda x: tq.where(tq.tri(32, 32), x, 1e39), r"the scalar 1e\+39 is beyond float32's range .* in op 'where'"),
])
def test_a_scalar_beyond_float32_is_refused_where_it_is_written(build, says: str) -> None:
    """The kernel holds scalars as fp32: `x * 1e300` got through the optimizer and crashed lowering with
    `OverflowError: float too large to pack with f format`."""
    with pytest.raises(tq.KernelError, match=says + r" at .*test_user_input\.py"):
        build(tq.tensor("x", (32, 32)))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # numpy's float32 of 1e40 x
def test_infinite_scalars_are_values_and_scales_multiplied_past_float32_stay_apart() -> None:
    """`x * inf` is numpy's. `(x * 1e20) * 1e20` folded (rule scale-scale) to one scale of 1e40, which lowering
    could not pack (OverflowError); the fold now needs a product within fp32, so the kernel computes what numpy's
    float32 does, and a scale past fp32 that reaches lowering anyway is fp32's inf, as numpy's cast rounds it."""
    from tteqsat.lowering.mlir import f32_bits

    x = tq.tensor("x", (32, 32))
    tq.optimize(tq.kernel("k", x * math.inf)).verify()
    tq.optimize(tq.kernel("k", (x * 1e20) * 1e20)).verify(dist="uniform")
    assert f32_bits(1e40) == 0x7F800000 and f32_bits(-1e40) == -0x00800000 and f32_bits(2.0) == 0x40000000


def test_numpy_scalars_trace_from_either_side() -> None:
    a = tq.tensor("a", (32, 32))
    X = np.linspace(0.5, 2.0, 32 * 32).reshape(32, 32)
    exprs = {"np.float32(2) + a": (np.float32(2.0) + a, 2.0 + X), "np.int64(1) - a": (np.int64(1) - a, 1 - X),
             "np.float32(1) / a": (np.float32(1.0) / a, 1.0 / X), "a * np.array(2.0)": (a * np.array(2.0), 2 * X),
             "np.float64(2) ** a": (np.float64(2.0) ** a, 2.0 ** X), "np.negative(a)": (np.negative(a), -X)}
    for text, (t, want) in exprs.items():
        got = tq.evaluate(tq.kernel("k", t), {"a": X})["out"]
        np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=text)


@pytest.mark.parametrize("build, says", [
    (lambda a: np.exp(a), r"numpy's np\.exp does not trace a tteqsat tensor; use tq\.exp in op 'exp'"),
    (lambda a: np.abs(a), r"np\.absolute .*; write tq\.abs\(x\)"),
    (lambda a: np.sum(a), r"np\.sum .*; write x\.sum\(axis=-1\)"),
    (lambda a: np.sin(a), r"np\.sin .*; the DSL's ops are listed in README\.md"),
    (lambda a: a > 0, r"a tensor comparison \(x > 0, x == y\) is not an op of the DSL: masks come from tq\.tri"),
    (lambda a: np.float32(0) < a, r"a tensor comparison"),
    (lambda a: a + np.ones((32, 32)), r"a numpy array of shape \(32, 32\): an array the kernel reads is an input"),
    (lambda a: a.sum(), r"x\.sum\(\) needs an axis: numpy's x\.sum\(\) reduces every element to one number"),
    (lambda a: a.mean(), r"x\.mean\(\) needs an axis"),
    (lambda a: a.max(), r"x\.max\(\) needs an axis"),
])
def test_numpy_calls_the_dsl_does_not_trace_name_the_tq_spelling(build, says: str) -> None:
    """np.exp(x) failed inside numpy ("loop of ufunc does not support argument 0 of type Tensor"), `x > 0`
    with Python's TypeError, and `x.sum()` silently summed each row where numpy sums every element."""
    with pytest.raises(tq.KernelError, match=says + r".* at .*test_user_input\.py"):
        build(tq.tensor("a", (32, 32)))


@pytest.mark.parametrize("limits, says", [
    (dict(iterations=-3), r"--max-iterations \(Limits\.iterations\) must be a number >= 0, got -3"),
    (dict(seconds=-1.0), r"--timeout \(Limits\.seconds\) must be a number >= 0"),
    (dict(seconds=math.nan), r"--timeout \(Limits\.seconds\) must be a number >= 0, got nan"),
    (dict(enodes=-1), r"--max-enodes"),
])
def test_negative_limits_are_refused_not_taken_as_an_early_stop(limits: dict, says: str) -> None:
    """`--timeout -1` and `--max-iterations -3` ran, stopped at once and printed a result as if that were meant."""
    with pytest.raises(tq.KernelError, match=says):
        tq.Limits(**limits)
    assert tq.Limits(iterations=0, seconds=0.0).iterations == 0  # no growing at all is an experiment


@pytest.mark.parametrize("tolerance", [-1.0, math.nan])
def test_a_negative_or_nan_tolerance_is_bad_input_not_a_failed_verification(tolerance: float) -> None:
    """`--tolerance -1` reported "verification FAILED ... tolerance -1" (exit 1) for a correct kernel."""
    res = tq.optimize(_small())
    with pytest.raises(tq.KernelError, match=r"tolerance .* must be a number >= 0"):
        res.verify(tolerance=tolerance)


def test_an_odd_shape_error_says_what_to_pad_to_and_that_advice_computes_the_unpadded_attention() -> None:
    """`tq.tensor("q", (50, 64))` said only "not tile-aligned"; it now names the padded shape and how to mask the
    padding, and that recipe (zero rows, a -inf key bias) gives the unpadded numbers on the Tensix model."""
    with pytest.raises(tq.KernelError, match=r"pad it with zeros to \(1, 2, 64, 64\) \(attention: mask the padded "
                                             r"keys with a \(1, n\) bias of -inf"):
        tq.tensor("q", (1, 2, 50, 64))
    with pytest.raises(tq.KernelError, match=r"shape \(0, 64\) of 'q': rows and columns must be at least 1"):
        tq.tensor("q", (0, 64))
    rng = np.random.default_rng(0)
    q0, k0, v0 = rng.normal(size=(50, 64)), rng.normal(size=(100, 64)), rng.normal(size=(100, 64))
    pad = lambda a, n: np.concatenate([a, np.zeros((n - len(a), a.shape[1]))])  # noqa: E731
    bias = np.where(np.arange(128) < 100, 0.0, -np.inf)[None, :]
    q, k, v = tq.tensor("q", (64, 64)), tq.tensor("k", (128, 64)), tq.tensor("v", (128, 64))
    b = tq.tensor("b", (1, 128))
    kernel = tq.kernel("padded", tq.softmax(q @ k.T * 0.125 + b) @ v)
    inputs = {"q": pad(q0, 64), "k": pad(k0, 128), "v": pad(v0, 128), "b": bias}
    s = q0 @ k0.T * 0.125
    p = np.exp(s - s.max(axis=1, keepdims=True))
    want = (p / p.sum(axis=1, keepdims=True)) @ v0
    np.testing.assert_allclose(tq.evaluate(kernel, inputs)["out"][:50], want, rtol=1e-4, atol=1e-5)
    tq.optimize(kernel).verify(inputs=inputs)


def test_a_result_and_its_verification_print_in_a_line_or_two() -> None:
    """At a REPL `tq.optimize(k)` printed 31 KB (every dataclass field, the arch's tables and the schedule) and
    `res.verify()` a dict of op counts."""
    res = tq.optimize(_small())
    assert repr(res).startswith("<Result 'k' on wormhole_b0: ") and f"{res.cost_cycles:,.0f}" in repr(res)
    assert len(repr(res)) < 300
    v = res.verify()
    assert "relative=" in repr(v) and "ops." not in repr(v) and len(repr(v)) < 300


def test_a_one_by_one_tensor_broadcasts_over_a_matrix_as_numpy_does() -> None:
    """tq.tensor accepts (1, 1) ("or 1 for a vector or a scalar"), but `x * t` with t (1, 1) and x (64, 128)
    raised "shape mismatch: (1, 1) cannot broadcast to (64, 128)": a temperature or per-head ALiBi slope read
    from DRAM had no way in."""
    x, t = tq.tensor("x", (1, 2, 64, 128)), tq.tensor("t", (1, 2, 1, 1))
    kernel = tq.kernel("temperature", tq.softmax(x * t) + t)
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(1, 2, 64, 128)), rng.uniform(0.5, 2.0, size=(1, 2, 1, 1))
    s = X * T
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(tq.evaluate(kernel, {"x": X, "t": T})["out"], p / p.sum(-1, keepdims=True) + T,
                               rtol=1e-5)
    tq.optimize(kernel, "blackhole").verify(inputs={"x": X, "t": T, "unused": X})  # extra arrays are ignored
    with pytest.raises(tq.KernelError, match=r"where: the mask's shape \(33, 33\) is not tile-aligned"):
        tq.where(tq.tri(33, 33), tq.tensor("c", (1, 1)), 0.0)  # a (1, 1) branch no longer catches it


def test_inputs_of_a_batched_kernel_load_whole_and_bad_ones_are_named(tmp_path) -> None:
    """`--inputs` compared each array with the matrix shape only, so no file could feed a kernel with batch
    axes ("array 'q' has shape (1, 2, 64, 32), the kernel's input is (64, 32)"); verify(inputs=) with a
    missing array raised KeyError, and verify(cores=[99]) IndexError."""
    q, k = tq.tensor("q", (1, 2, 64, 32)), tq.tensor("k", (1, 2, 64, 32))
    kernel = tq.kernel("batched", tq.softmax(q @ k.mT))
    rng = np.random.default_rng(2)
    arrays = {"q": rng.normal(size=(1, 2, 64, 32)), "k": rng.normal(size=(1, 2, 64, 32))}
    np.savez(tmp_path / "in.npz", **arrays)
    from tteqsat.frontend.reference import load_inputs

    loaded = load_inputs(kernel, str(tmp_path / "in.npz"))
    assert loaded["q"].shape == (1, 2, 64, 32)
    res = tq.optimize(kernel)
    res.verify(inputs=loaded)
    with pytest.raises(tq.KernelError, match=r"verify\(inputs=\.\.\.\): no array 'k' \(the kernel's inputs are q, k"):
        res.verify(inputs={"q": arrays["q"]})
    with pytest.raises(tq.KernelError, match=r"array 'q' has shape \(64, 32\), the kernel's input is \(1, 2, 64, 32\)"):
        res.verify(inputs={"q": arrays["q"][0, 0], "k": arrays["k"]})
    with pytest.raises(tq.KernelError, match=r"verify\(cores=\[99\]\): give 'all', 'sample' or core numbers 0 to"):
        res.verify(cores=[99])
    with pytest.raises(tq.KernelError, match=r"cores=1\.5: give a whole number of cores from 1 to"):
        tq.optimize(kernel, cores=1.5)


@pytest.mark.parametrize("build, says", [
    (lambda m, x, y: tq.where(m, x, y), r"for two tensors write where\(mask, a, 0\) \+ where\(~mask, b, 0\)"),
    (lambda m, x, y: tq.where(m, x, -1e9), r"to mask scores before a softmax write -np\.inf"),
    (lambda m, x, y: tq.where(m, x, -2.0), r"write where\(mask, x \+ 2, 0\) - 2"),
    (lambda m, x, y: tq.where(m, 3.0, x), r"flip the mask to put the tensor first"),
])
def test_a_where_without_a_hardware_form_says_how_to_write_it(build, says: str) -> None:
    """The refusal named the two forms that have hardware but not how to reach them from what was written."""
    x, y = tq.tensor("x", (64, 64)), tq.tensor("y", (64, 64))
    with pytest.raises(tq.KernelError, match=says):
        tq.optimize(tq.kernel("k", build(tq.tri(64, 64), x, y)))
    rewritten = tq.kernel("k", tq.where(tq.tri(64, 64), x, 0) + tq.where(~tq.tri(64, 64), y, 0))
    tq.optimize(rewritten).verify()


@pytest.mark.parametrize("body, says", [
    ("[sfpu]\nexpp = 100\n", r"arch file .*typo\.toml sets 'sfpu\.expp', which no arch has \(did you mean 'sfpu\.exp'"),
    ("[gridd]\ncores = 1\n", r"sets 'gridd\.cores', which no arch has \(its tables: cb, chip"),
    ("[sfpu]\nexp = \"fast\"\n", r"arch file .*typo\.toml: arch parameter 'sfpu\.exp' takes a number, got 'fast'"),
    ("[sfpu]\nexp = -100\n", r"arch file .*typo\.toml: arch parameter 'sfpu\.exp' must be a finite number >= 0"),
])
def test_a_typo_in_an_arch_file_is_an_error_naming_the_file_and_key(tmp_path, body: str, says: str) -> None:
    """`--set` refuses unknown keys, but an unknown key in an arch file was ignored: `expp = 100` changed
    nothing and said nothing; a string for a number failed later without naming the file."""
    path = tmp_path / "typo.toml"
    path.write_text('base = "wormhole_b0"\n' + body)
    with pytest.raises(tq.KernelError, match=says):
        load_arch(str(path))
    path.write_text('base = "wormhole_b0"\n[sfpu]\nexp = 100\n')
    assert load_arch(str(path)).num("sfpu.exp") == 100


@pytest.mark.parametrize("ruleset, says", [
    ("RULESET = [1, 2]", r"mine\.py: RULESET is list of int; RULESET must be one tteqsat\.rules\.RuleSet"),
    ('RULESET = rules.Rule("neg-neg2", rw)', r"mine\.py: RULESET is Rule; RULESET must be one"),
    ('RULESET = rules.RuleSet("raw", "d", "grow", (rw,))',
     r"mine\.py:6: RuleSet 'raw': rules must be a tuple of tteqsat\.rules\.Rule\(name, rewrite\), got tuple of "
     r"RewriteOrRule \(wrap each rewrite"),
    ('RULESET = rules.RuleSet("raw", "d", "grow", rules.Rule("neg-neg2", rw))', r"got Rule \(wrap each rewrite"),
])
def test_a_malformed_rule_file_says_what_shape_it_needs(tmp_path, ruleset: str, says: str) -> None:
    """A bare rewrite in a RuleSet raised AttributeError ('RewriteOrRule' object has no attribute 'name') from
    the checker, one Rule where a tuple goes TypeError, and RULESET = [...] said "defines no RULESET"."""
    path = tmp_path / "mine.py"
    path.write_text("from egglog import rewrite, var\nfrom tteqsat import rules\nfrom tteqsat.egraph import "
                    "TensorExpr, unary\na = var('a', TensorExpr)\nrw = rewrite(unary('neg', unary('neg', a))).to(a)\n"
                    + ruleset + "\n")
    with pytest.raises(tq.KernelError, match=says):
        tq.optimize(_small(), rules=[str(path)])


def test_rules_check_refuses_a_name_clash_as_optimize_does(tmp_path, capsys) -> None:
    """`tteqsat rules check --rules` passed a ruleset named 'algebra' that `optimize` then refused."""
    from tteqsat.cli import main

    path = tmp_path / "mine.py"
    path.write_text(RULE_FILE.format(ruleset="algebra", rule="recip-twice"))
    assert main(["rules", "check", "--rules", str(path)]) == 2
    assert "two rulesets are named 'algebra' (shipped and in " in capsys.readouterr().err
