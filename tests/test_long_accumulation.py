"""Long accumulation chains in bf16 kernels (extraction/accumulation.py).

A reduce over a row's W tiles, or a matmul's K tiles within one acquire, adds every tile into one DST slot; a
16-bit DST rounds each add to bf16. The scheduler gives a bf16 kernel whose longest such chain exceeds 64 tiles a
32-bit DST (fp32_dest_acc_en), priced at half the DST tiles; an L1-accumulated row sum that long (rounded to the
bf16 CB on every add) is not a form extraction picks. Found by `benchmarks/fuzz.py --keys wide`."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cpp_check
import pytest

import tteqsat as tq
from tteqsat.extraction import greedy
from tteqsat.extraction.accumulation import BF16_EXACT_TOLERANCE, MAX_BF16_DST_CHAIN, chain_bound
from tteqsat.lowering.conformance import check_module
from tteqsat.lowering.cpp import translate_to_cpp
from tteqsat.lowering.host import host_program
from tteqsat.mlir_text.ir import Op, func_name
from tteqsat.mlir_text.parser import parse_module
from tteqsat.pipeline import Result, VerificationError
from tteqsat.sim.settings import compute_settings
from tteqsat.sim.tolerance import TOLERANCES
from tteqsat.tools.html_report import render_html
from tteqsat.tools.report import wide_dst_line


@functools.cache
def _softmax(cols: int, arch: str = "wormhole_b0") -> Result:
    x = tq.tensor("x", (32, cols), dtype="bf16")
    return tq.optimize(tq.kernel("k", {"o": tq.softmax(x)}), arch)


def _compute_func(text: str) -> Op:
    return next(f for f in parse_module(text).funcs() if func_name(f).endswith("_compute"))


def test_the_bound_comes_from_bf16_roundoff_and_the_exact_tolerance() -> None:
    """(0.04 / 2^-8)^2 = 105 adds: the largest power of two is 64 tiles; the tolerance is the simulator's."""
    assert all(t == BF16_EXACT_TOLERANCE for t in TOLERANCES["exact"]["bf16"].values())
    assert MAX_BF16_DST_CHAIN == chain_bound() == 64
    assert chain_bound(0.1) == 512  # the hardware tolerance would allow longer chains than the exact one


@pytest.mark.parametrize("cols", [4096, 8192])
def test_a_long_bf16_softmax_accumulates_in_32_bit_dst_and_verifies(cols: int) -> None:
    # Before (main 42a8150): the fused row sum reduced 128 / 256 tiles into a 16-bit DST slot: exact 0.018 /
    # 0.048 (out of tolerance 0.04), hardware 0.078 / 0.061 (tolerance 0.1); and with the reduce priced at
    # 32-bit DST, an L1-accumulated row sum of 256 tiles into a bf16 CB came next at 0.036 exact.
    r = _softmax(cols)
    s = r.schedule
    assert r.chosen == "fused"
    assert s.fp32_dest_acc and s.dst_capacity == 4  # half the 8 tiles of a 16-bit DST, as priced
    assert s.wide_dst_chain is not None and (s.wide_dst_chain.tiles, s.wide_dst_chain.label) == (cols // 32,
                                                                                                 "reduce rowsum")
    assert not any(p.accumulate for sec in s.sections for p in sec.packs)  # no bf16 L1 sum of the long row
    exact = r.verify(precision="exact")
    hardware = r.verify(precision="hardware")
    assert exact.max_rel_err < 0.01 and hardware.max_rel_err < 0.05, (exact.max_rel_err, hardware.max_rel_err)
    assert f"adds {cols // 32} tiles into one DST slot" in wide_dst_line(s)
    assert r.summary()["wide_dst_chain"] == cols // 32


def test_the_html_report_says_why_dst_is_32_bit() -> None:
    """Its arch table shows the arch's setting (16-bit DST); the schedule says this kernel's DST and why."""
    long_html, short_html = render_html(_softmax(8192)), render_html(_softmax(512))
    assert "id='wide-dst'" in long_html and "adds 256 tiles into one DST slot" in long_html
    assert "id='wide-dst'" not in short_html


def test_the_fuzz_finding_verifies() -> None:
    """`fuzz.py --keys wide`'s shrunk case: softmax of a 32 x 8192 bf16 x uniform in [-1, 1] on Wormhole. Before:
    exact 0.100 (tolerance 0.04), hardware 0.134 (0.1); now about 0.0075 and 0.053."""
    r = _softmax(8192)
    assert r.verify(precision="exact", dist="uniform").max_rel_err < 0.02
    assert r.verify(precision="hardware", dist="uniform").max_rel_err < 0.08


def test_the_same_schedule_with_16_bit_dst_fails_verification() -> None:
    """The check catches the broken kernel: the chosen schedule with fp32_dest_acc forced off (its sections and
    4-tile DST as they are) rounds the 256-tile row sum to bf16 on every add."""
    r = _softmax(8192)
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule, fp32_dest_acc=False), _mlir=None)
    assert "tteqsat.fp32_dest_acc_en = false" in broken.to_mlir()
    with pytest.raises(VerificationError, match=r"exact precision\): output 'o' differs from the reference"):
        broken.verify(precision="exact")


def test_a_short_softmax_keeps_16_bit_dst() -> None:
    r = _softmax(512)
    assert not r.schedule.fp32_dest_acc and r.schedule.wide_dst_chain is None
    assert r.schedule.dst_capacity == 8
    assert "tteqsat.fp32_dest_acc_en = false" in r.to_mlir()
    r.verify(precision="exact")


def test_a_long_max_alone_keeps_16_bit_dst() -> None:
    """A max over 256 tiles rounds nothing (its result is one of its inputs): no chain to widen DST for."""
    x = tq.tensor("x", (32, 8192), dtype="bf16")
    r = tq.optimize(tq.kernel("k", {"o": x.max(-1)}), form="fused")
    assert not r.schedule.fp32_dest_acc and r.schedule.dst_capacity == 8
    r.verify(precision="exact")


def test_a_long_k_matmul_in_the_fused_form_accumulates_in_32_bit_dst() -> None:
    x = tq.tensor("x", (32, 4096), dtype="bf16")
    w = tq.tensor("w", (4096, 64), dtype="bf16")
    r = tq.optimize(tq.kernel("k", {"o": x @ w}), form="fused")
    chain = r.schedule.wide_dst_chain
    assert r.schedule.fp32_dest_acc and chain is not None and (chain.tiles, chain.label) == (128, "matmul")
    r.verify(precision="exact")
    r.verify(precision="hardware")


def test_a_long_l1_sum_is_not_picked_in_bf16() -> None:
    """exp(x).sum(-1) in the fused form over 8192 columns took a 256-tile L1 sum into a bf16 CB (0.041 exact,
    out of tolerance); now a reduce with 32-bit DST."""
    x = tq.tensor("x", (32, 8192), dtype="bf16")
    r = tq.optimize(tq.kernel("k", {"o": tq.exp(x).sum(-1)}), form="fused")
    assert not any(p.accumulate for sec in r.schedule.sections for p in sec.packs)
    assert r.schedule.fp32_dest_acc
    r.verify(precision="exact")


def test_the_long_kernel_carries_fp32_dest_acc_en_in_mlir_and_host() -> None:
    """The compute function's attribute parses back as 32-bit DST of 4 tiles; the host's compute config says so;
    the module passes the TTKernel signature checks."""
    text = _softmax(8192).to_mlir()
    assert (compute_settings(_compute_func(text)).fp32_dest_acc, compute_settings(_compute_func(text)).dst_tiles) \
        == (True, 4)
    compute = next(k for k in host_program(text).kernels if k.thread == "compute")
    assert compute.compute_config is not None and compute.compute_config.fp32_dest_acc_en is True
    assert check_module(text) == []


@cpp_check.needs_gxx
def test_the_long_kernels_cpp_maps_back_and_compiles(tmp_path: Path) -> None:
    text = _softmax(8192).to_mlir()
    cpp = translate_to_cpp(text)
    assert cpp_check.check(text, cpp) == []
    result = cpp_check.compile_cpp(tmp_path, {f"k_{name}": src for name, src in cpp.items()})
    assert result.returncode == 0, result.stderr[:2000]


# -- packer L1 accumulation under 32-bit DST -------------------------------------------------------------------------
# tt-metal docs/L1_ACCUMULATION_FP32_ANALYSIS.md: with fp32_dest_acc_en the packer's L1 accumulation into a bf16 CB
# comes out wrong (its SDPA turns L1 accumulation off then, TODO #28800). Blackhole's fused bf16 softmax over 1024
# columns sums its rows in L1 (one accumulating pack a tile).

def _short_softmax(overrides: dict | None = None) -> Result:
    x = tq.tensor("x", (32, 1024), dtype="bf16")
    return tq.optimize(tq.kernel("k", {"o": tq.softmax(x)}), "blackhole", overrides=overrides)


def _l1_sums(r: Result) -> int:
    return sum(p.accumulate for sec in r.schedule.sections for p in sec.packs)


def test_the_simulator_refuses_l1_accumulation_into_bf16_under_32_bit_dst() -> None:
    r = _short_softmax()
    assert _l1_sums(r) == 1 and not r.schedule.fp32_dest_acc
    r.verify(precision="exact")
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule, fp32_dest_acc=True), _mlir=None)
    with pytest.raises(VerificationError, match="L1 accumulation into cb .* with fp32_dest_acc_en.*"
                                                "L1_ACCUMULATION_FP32_ANALYSIS"):
        broken.verify(precision="exact")


def test_32_bit_dst_by_the_arch_sums_without_l1_accumulation() -> None:
    r = _short_softmax({"settings.fp32_dest_acc": True})
    assert r.schedule.fp32_dest_acc and _l1_sums(r) == 0
    assert r.verify(precision="exact").max_rel_err < 0.01


def _long_matmul_beside_a_short_softmax() -> tq.Kernel:
    x = tq.tensor("x", (32, 1024), dtype="bf16")
    y, w = tq.tensor("y", (32, 4096), dtype="bf16"), tq.tensor("w", (4096, 32), dtype="bf16")
    return tq.kernel("k", {"a": tq.softmax(x), "b": y @ w})


def test_a_long_matmul_makes_the_kernels_short_sum_a_reduce(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matmul's 128 K tiles need 32-bit DST, so the softmax beside it may not sum in L1: extraction re-extracts
    without L1 sums. Without that retry the fused form is refused with the reason (measured when written: the
    first extraction L1-accumulates the softmax's row sums, as alone)."""
    r = tq.optimize(_long_matmul_beside_a_short_softmax(), "blackhole", form="fused")
    assert r.schedule.wide_dst_chain is not None and r.schedule.wide_dst_chain.tiles == 128
    assert _l1_sums(r) == 0
    assert r.verify(precision="exact").max_rel_err < 0.01
    monkeypatch.setattr(greedy, "_extract", greedy._extract_once)
    with pytest.raises(tq.KernelError, match="L1-accumulated sum .* under 32-bit DST.*matmul adds 128 tiles"):
        tq.optimize(_long_matmul_beside_a_short_softmax(), "blackhole", form="fused")
