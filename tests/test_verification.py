"""Verification catches real bugs: the demo's 32 x 32768 attention verifies, and deliberately broken copies of
its emitted MLIR (a dropped K chunk, no online rescale, a zero output, a wrong exp scale, no reduce_uninit,
an unindexed accumulating pack) fail. Also the verify() options: precision, tolerance, inputs."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs
from tteqsat.pipeline import VerificationError
from tteqsat.sim import SimulationError, simulate


@pytest.fixture(scope="module")
def demo() -> tq.Result:
    q = tq.tensor("q", (32, 64))
    k = tq.tensor("k", (32768, 64))
    v = tq.tensor("v", (32768, 64))
    result = tq.optimize(tq.kernel("long_attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v), split=False)
    assert result.chosen == "streaming" and result.schedule.loop.trips == 16
    return result


def function(text: str, suffix: str) -> tuple[int, int]:
    """Start and end offsets of the func.func whose sym_name ends with ``suffix``."""
    start = text.index(f'sym_name = "long_attention_{suffix}"')
    end = text.find('"func.func"', start)
    return start, len(text) if end < 0 else end


def replace_in(text: str, suffix: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` (which must occur ``count`` times) inside one function only."""
    start, end = function(text, suffix)
    body = text[start:end]
    assert body.count(old) == count, f"{old!r} occurs {body.count(old)} times in the {suffix}"
    return text[:start] + body.replace(old, new) + text[end:]


def drop_last_chunk(text: str) -> str:
    """The reader streams 15 of the 16 K/V chunks and the compute loop runs 15 trips: 2048 keys ignored. (Q K^T
    runs one trip ahead: its first trip before the loop, 15 pipelined trips in it, the last trip after it; the
    loop runs 14.)"""
    text = replace_in(text, "reader", "<{value = 16 : index}>", "<{value = 15 : index}>")
    start = text.index("// streaming loop: 16 trips, one chunk each; sections")
    loop = re.compile(r'\n(\s*)"scf.for"\(%c0, %c15, %c1\)').search(text, start)
    assert loop is not None
    indent = loop.group(1)
    fourteen = f'\n{indent}%c14_trips = "arith.constant"() <{{value = 14 : index}}> : () -> index'
    head = fourteen + loop.group(0).replace("(%c0, %c15, %c1)", "(%c0, %c14_trips, %c1)")
    return text[:loop.start()] + head + text[loop.end():]


def no_rescale(text: str) -> str:
    """The online correction exp(s (m_old - m_new)) forced to exp(0) = 1: accumulators never rescaled (in the
    loop's trips and in the last trip, emitted after the loop)."""
    return replace_in(text, "compute", "approx = false, scale = 1040187392 : i32", "approx = false, scale = 0 : i32", 4)


def zero_output(text: str) -> str:
    """1/l replaced by l * 0: every output element is 0."""
    text = replace_in(text, "compute", '"ttkernel.recip_tile_init"() : () -> ()',
                      '"ttkernel.binop_with_scalar_tile_init"() : () -> ()')
    return replace_in(text, "compute", '"ttkernel.recip_tile"(%c0) : (index) -> ()',
                      '"ttkernel.mul_unary_tile"(%c0, %c0_i32) : (index, i32) -> ()')


def wrong_exp_scale(text: str) -> str:
    """Every exp computes exp(0.25 x) instead of exp(0.125 x): softmax of twice the scores."""
    start, end = function(text, "compute")
    n = text[start:end].count("scale = 1040187392 : i32")
    assert n >= 4
    return replace_in(text, "compute", "scale = 1040187392 : i32", "scale = 1048576000 : i32", n)


def test_the_demo_verifies_in_hardware_precision(demo: tq.Result) -> None:
    check = demo.verify(seed=0)
    assert check.precision == "hardware" and check.max_rel_err <= check.tolerance == demo.tolerance("hardware")
    assert 0.1 * check.tolerance < check.max_rel_err  # the tolerance is not far above what the hardware does


@pytest.mark.parametrize("breakage", [drop_last_chunk, no_rescale, zero_output, wrong_exp_scale])
def test_a_broken_demo_kernel_fails_verification(demo: tq.Result, breakage) -> None:
    text = demo.to_mlir()
    demo._mlir = breakage(text)
    try:
        with pytest.raises(VerificationError, match=r"output 'out' differs from the reference") as info:
            demo.verify(seed=0)
    finally:
        demo._mlir = text
    err = float(re.search(r"\((\S+) of its largest", str(info.value)).group(1))
    assert err > 2 * demo.tolerance("hardware"), f"{breakage.__name__}: relative error only {err:.3g}"


def test_a_kernel_without_reduce_uninit_computes_wrong_numbers() -> None:
    """reduce_init's packer edge masks stay on until reduce_uninit (or a full init): the exp pass after the
    row max then packs only columns 0 and 16 of every tile."""
    x = tq.tensor("x", (64, 128))
    result = tq.optimize(tq.kernel("max_and_exp", {"m": x.max(axis=-1), "y": tq.exp(x)}))
    text = result.to_mlir()
    assert text.count('"ttkernel.reduce_uninit"') == 1
    result.verify()
    result._mlir = "".join(line for line in text.splitlines(keepends=True) if "reduce_uninit" not in line)
    with pytest.raises(VerificationError, match=r"output 'y' differs from the reference by .* \(1 of its largest"):
        result.verify()


def test_an_unindexed_accumulating_pack_overruns_its_cb(demo: tq.Result) -> None:
    text = demo.to_mlir()
    start, end = function(text, "compute")
    broken = text[:start] + text[start:end].replace(" <{out_of_order = true}>", "") + text[end:]
    assert broken != text
    with pytest.raises(SimulationError, match=r"ttkernel.pack_tile: cb \d+: pack_tile without out_of_order = true "
                                              r"writes at the packer's own pointer \(its index is ignored\): tile 1 "
                                              r"beyond the 1 reserved tiles"):
        simulate(broken, random_inputs(demo.kernel, seed=0))


def test_a_trivially_small_output_fails_even_under_a_loose_tolerance() -> None:
    x = tq.tensor("x", (32, 64))
    result = tq.optimize(tq.kernel("halve", x * 0.5))
    result.verify(tolerance=0.9)
    result._mlir = result.to_mlir().replace("1056964608", "1008981770")  # 0.5 -> 0.01 (bits of the scalar)
    with pytest.raises(VerificationError, match="output 'out' is trivially small: its norm is 0.0199 of the"):
        result.verify(tolerance=1.0)
    with pytest.raises(VerificationError, match=r"differs from the reference by .* tolerance 0.06\)"):
        result.verify(tolerance=0.06)


def test_verify_takes_inputs_precision_and_distribution() -> None:
    x = tq.tensor("x", (32, 64), "fp32")
    result = tq.optimize(tq.kernel("softmax", tq.softmax(x)))
    inputs = {"x": np.linspace(-3, 3, 32 * 64, dtype=np.float32).reshape(32, 64)}
    exact = result.verify(inputs=inputs, precision="exact")
    hardware = result.verify(inputs=inputs)
    assert exact.tolerance < hardware.tolerance and exact.max_rel_err < 1e-5 < hardware.max_rel_err
    uniform = result.verify(dist="uniform")
    assert uniform.max_rel_err != result.verify(dist="normal").max_rel_err
    with pytest.raises(tq.KernelError, match="unknown input distribution 'cauchy'"):
        result.verify(dist="cauchy")
    with pytest.raises(tq.KernelError, match="unknown precision 'approximate'"):
        result.verify(precision="approximate")
