"""Bad input: each error is a KernelError naming the problem, the op, and the user's source line."""

from __future__ import annotations

import inspect

import pytest

import tteqsat as tq


def here(offset: int = 0) -> str:
    """`file:line` of the caller plus `offset`, as errors should report it."""
    frame = inspect.stack()[1]
    return f"{frame.filename}:{frame.lineno + offset}"


def test_shape_mismatch_names_op_and_line() -> None:
    a = tq.tensor("a", (64, 64))
    b = tq.tensor("b", (64, 128))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        a + b
    assert "shape mismatch" in str(e.value) and "'add'" in str(e.value) and where in str(e.value)


def test_matmul_shape_mismatch() -> None:
    a = tq.tensor("a", (64, 64))
    with pytest.raises(tq.KernelError, match=r"shape mismatch: \(64, 64\) @ \(32, 64\).*'matmul'"):
        a @ tq.tensor("b", (32, 64))


def test_untiled_shape() -> None:
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.tensor("x", (30, 64))
    assert "not tile-aligned" in str(e.value) and where in str(e.value)


def test_unknown_dtype() -> None:
    with pytest.raises(tq.KernelError, match=r"unknown dtype 'fp8'.*'tensor'"):
        tq.tensor("x", (32, 32), "fp8")


def test_unknown_arch() -> None:
    k = tq.kernel("k", tq.exp(tq.tensor("x", (32, 32))))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.optimize(k, "grayskull")
    assert "unknown arch 'grayskull'" in str(e.value) and "wormhole_b0" in str(e.value) and where in str(e.value)


def test_unsupported_axis() -> None:
    x = tq.tensor("x", (64, 64))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        x.max(axis=2)
    assert "unsupported axis 2" in str(e.value) and "'max'" in str(e.value) and where in str(e.value)
    with pytest.raises(tq.KernelError, match="unsupported axis 0 .*'softmax'"):
        tq.softmax(x, axis=0)


def test_kernel_with_no_output() -> None:
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.kernel("empty", {})
    assert "has no output" in str(e.value) and where in str(e.value)


def test_output_that_is_an_input() -> None:
    with pytest.raises(tq.KernelError, match="output 'out' is an input"):
        tq.kernel("k", tq.tensor("x", (32, 32)))


def test_mixed_dtypes() -> None:
    with pytest.raises(tq.KernelError, match=r"dtype mismatch \['bf16', 'fp32'\].*'mul'"):
        tq.tensor("a", (32, 32)) * tq.tensor("b", (32, 32), "fp32")


def test_kernel_that_cannot_fit_l1_even_unfused() -> None:
    q = tq.tensor("q", (32, 64))
    k = tq.tensor("k", (32768, 64))  # 2048 tiles = 4 MiB in bf16, L1 is 1.4 MiB
    kernel = tq.kernel("too_big", tq.exp(q @ k.T))
    with pytest.raises(tq.KernelError) as e:
        tq.optimize(kernel)
    msg = str(e.value)
    assert "cannot be scheduled even unfused" in msg and "bytes of L1" in msg
    assert "test_errors.py" in msg  # the line that declared the largest buffer's value


def test_scalar_maximum_is_rejected() -> None:
    with pytest.raises(tq.KernelError, match="takes two tensors.*'maximum'"):
        tq.maximum(tq.tensor("x", (32, 32)), 0.0)  # type: ignore[arg-type]
