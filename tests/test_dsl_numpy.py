"""The DSL's numpy spellings: `**` with scalar exponents, numpy scalar types, softmax along either matrix axis,
logsumexp as an output; each checked against numpy and, end to end, on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.frontend import reference


def _run(out: tq.Tensor, **arrays: np.ndarray) -> np.ndarray:
    return reference.evaluate(tq.kernel("k", out), arrays)["out"]


RNG = np.random.default_rng(3)
X = RNG.uniform(0.5, 2.0, (64, 96)).astype(np.float32)


@pytest.mark.parametrize("p", [2, 3, -1, 0.5, -0.5, 1.5, 0, 7])
def test_power_with_a_scalar_exponent_is_numpys(p: float) -> None:
    x = tq.tensor("x", (64, 96), "fp32")
    np.testing.assert_allclose(_run(x ** p, x=X), X.astype(np.float64) ** p, rtol=2e-6)


def test_scalar_to_the_power_of_a_tensor() -> None:
    x = tq.tensor("x", (64, 96), "fp32")
    np.testing.assert_allclose(_run(2.0 ** x, x=X), 2.0 ** X.astype(np.float64), rtol=2e-6)
    with pytest.raises(tq.KernelError, match="positive scalar base"):
        (-2.0) ** x
    with pytest.raises(tq.KernelError, match="scalar exponent"):
        x ** x


@pytest.mark.parametrize("scalar", [np.float32(0.5), np.float64(0.5), np.int64(2), 0.5])
def test_numpy_scalars_are_scalars(scalar) -> None:
    x = tq.tensor("x", (64, 96), "fp32")
    np.testing.assert_allclose(_run(x * scalar + scalar, x=X), X * float(scalar) + float(scalar), rtol=1e-6)


def test_softmax_along_axis_0_and_logsumexp() -> None:
    x = tq.tensor("x", (64, 96), "fp32")
    xs = X.astype(np.float64)
    col = np.exp(xs - xs.max(axis=0)) / np.exp(xs - xs.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(_run(tq.softmax(x, axis=0), x=X), col, rtol=1e-6)
    np.testing.assert_allclose(_run(tq.softmax(x, axis=-2), x=X), col, rtol=1e-6)
    lse = np.log(np.exp(xs).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(_run(tq.logsumexp(x), x=X), lse, rtol=1e-6)


def test_column_softmax_and_the_backward_statistic_verify() -> None:
    q, k, v = (tq.tensor(n, (64, 64)) for n in "qkv")
    s = q @ k.T * 0.125
    kern = tq.kernel("fwd", {"out": tq.softmax(s) @ v, "lse": tq.logsumexp(s)})
    r = tq.optimize(kern, "wormhole_b0")
    r.verify()
    r2 = tq.optimize(tq.kernel("colsm", tq.softmax(tq.tensor("x", (64, 96)), axis=0)), "wormhole_b0")
    r2.verify()
