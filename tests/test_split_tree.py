"""Splitting the keys into more parts than one combining kernel reads (flash-decode over the whole grid): the
parts merge in a tree of kernels, each reading at most 8 parts (one CB each) and writing a part's pair
(o_g, lse_g) per group of parts. These tests run every kernel on the simulator against the numpy oracle,
show that a wrong rescale fails, and check the emitted code."""

from __future__ import annotations

import numpy as np
import pytest
from cpp_check import check as check_cpp
from cpp_check import compile_cpp, needs_gxx
from test_decode_stack import decode, dram_bytes, optimized

import tteqsat as tq
from tteqsat.frontend import reference, splitkv
from tteqsat.frontend.splitkv import MAX_FAN_IN, fan_ins, split_kv
from tteqsat.lowering.conformance import check_module
from tteqsat.pipeline import VerificationError


def test_a_tree_has_the_fewest_levels_and_no_kernel_reads_more_than_8_parts() -> None:
    assert fan_ins(8) == (8,) and fan_ins(3) == (3,)
    assert fan_ins(16) == (4, 4)  # two levels; 4 + 4 < 8 + 2 (a kernel's cost grows with its parts)
    assert fan_ins(32) == (8, 4) and fan_ins(64) == (8, 8) and fan_ins(128) == (8, 4, 4)
    assert fan_ins(11) is None and fan_ins(1) is None  # a prime above 8 cannot merge in groups of 8
    for parts in range(2, 600):
        levels = fan_ins(parts)
        if levels is not None:
            assert int(np.prod(levels)) == parts and max(levels) <= MAX_FAN_IN


@pytest.mark.parametrize("parts", [16, 32, 64, 128])
def test_the_tree_combines_the_parts_to_the_whole_in_numpy(parts: int) -> None:
    kern = decode(8, 2, 8192)
    split = split_kv(kern, parts)
    assert len(split.merges) == len(fan_ins(parts)) - 1
    for k in split.kernels:  # each reads one part (out and lse) per input: at most 8 parts, 16 inputs
        assert len(k.inputs) == 2 and max(len(node.inputs) for node in k.nodes() if node.op == "add") <= 2
    inputs = reference.random_inputs(kern, 3)
    out = reference.evaluate(split.partial, split.partial_inputs(inputs))
    for k in split.kernels:
        out = reference.evaluate(k, split.next_inputs(k, out))
    np.testing.assert_allclose(out["out"], reference.evaluate(kern, inputs)["out"], rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module", params=[16, 32])
def mqa_split(request) -> tq.Result:
    """Multi-query decode (32 single-row q heads stacked into one tile row, one K/V head), 4096 keys."""
    return optimized(32, 1, 4096, split=request.param)


def test_mqa_split_into_16_and_32_parts_verifies_on_every_core(mqa_split: tq.Result) -> None:
    r = mqa_split
    parts = r.split.kv.parts
    assert r.items == parts and len(r.split.merges) == 1
    merge = r.split.merges[0]
    assert merge.items == parts // fan_ins(parts)[0]  # the groups run as work items over the grid
    for precision in ("hardware", "exact"):
        check = r.verify(cores="all", precision=precision)
        assert check.max_rel_err <= check.tolerance and check.stats["split.parts"] == parts
    assert r.chip.dram_bytes == dram_bytes(32, 1, 4096, 64, parts)  # K/V once; per part one tile row and its lse
    assert r.cost_cycles == pytest.approx(r.chip.cycles + merge.cost_cycles + r.split.combine.cost_cycles, rel=1e-12)
    assert r.summary()["merge_cycles"] == [round(merge.cost_cycles, 1)]
    assert "merging groups of parts" in r.reason


def test_a_wrong_rescale_in_the_merge_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merge whose lse drops the group's max (lse_g = log sum exp(lse_j - m), not m + that) weighs the groups
    wrongly in the combine: the simulated result differs from the oracle."""
    right = splitkv._merge

    def wrong(o, lse, k, at):
        num, den, m = right(o, lse, k, at)
        return num, den, m - m

    kern = decode(32, 1, 4096)
    inputs = uneven_parts(kern)
    right_result = optimized(32, 1, 4096, split=16)
    check = right_result.verify(inputs=inputs, cores="all")
    assert check.max_rel_err <= check.tolerance
    monkeypatch.setattr(splitkv, "_merge", wrong)
    r = tq.optimize(kern, "wormhole_b0", split=16)
    with pytest.raises(VerificationError, match="split over 16 key parts"):
        r.verify(inputs=inputs, cores="all")


def uneven_parts(kern: tq.Kernel) -> dict[str, np.ndarray]:
    """Random inputs whose groups of parts differ in their scores' max: the first quarter of the keys scaled up
    (the max of their lse is larger) and their values shifted, so the output depends on how the groups are
    weighed (with plain random keys every group's max is about the same and a dropped max hardly shows)."""
    inputs = reference.random_inputs(kern, 5)
    quarter = inputs["k"].shape[-2] // 4
    inputs["k"][..., :quarter, :] *= 3.0
    inputs["v"][..., :quarter, :] += 2.0
    return inputs


def test_the_same_kernel_gives_byte_identical_kernels() -> None:
    texts = []
    # the session's shared result (optimized earlier in another test) against a fresh optimization
    for r in (optimized(32, 1, 4096, split=16), tq.optimize(decode(32, 1, 4096), "wormhole_b0", split=16)):
        texts.append([(k.to_mlir(), sorted(k.to_cpp().items()), k.to_host().to_json()) for k in (r, *r.split.after)])
    assert texts[0] == texts[1]


@needs_gxx
def test_merge_kernels_conform_and_compile(tmp_path, mqa_split: tq.Result) -> None:
    for res in (mqa_split, *mqa_split.split.after):
        text = res.to_mlir()
        assert check_module(text) == []
        cpp = res.to_cpp()
        assert check_cpp(text, cpp) == []
        done = compile_cpp(tmp_path, cpp)
        assert done.returncode == 0, done.stderr


def test_a_forced_count_that_cannot_merge_in_groups_of_8_is_refused_with_the_reason() -> None:
    keys = 11 * 128 * 2  # 22 chunks of 128: 11 parts of whole chunks, but 11 is a prime above 8
    with pytest.raises(tq.KernelError, match=rf"{keys} keys cannot split into 11 parts: .* merge in groups of at "
                                             r"most 8 .* use one of 2"):
        tq.optimize(decode(2, 2, keys), "wormhole_b0", split=11)


def test_mqa_at_decode_size_splits_over_more_than_8_parts_when_cheaper() -> None:
    """The issue's case: 32 q heads over one K/V head, 131072 keys, d=128. One work item unsplit; 8 parts (one
    combining kernel) leave the partial kernel compute-bound on 8 of 64 cores; more parts reach the DRAM
    floor, and the tree's extra kernel costs less than that gains."""
    r = optimized(32, 1, 131072, 128)  # (test_decode_stack.py's MQA test reads it too)
    eight = optimized(32, 1, 131072, 128, split=8)
    assert r.split is not None and r.split.kv.parts > 8 and r.split.merges
    assert r.cost_cycles < 0.9 * eight.cost_cycles
    assert r.chip.bound_by == "dram" and eight.chip.bound_by == "compute"
