"""Grouped-query and multi-query decode: the single-row q heads of a K/V group stack into one tile row, so each
K/V head is read once per group. The host tilizes q (and untilizes the output) in the group-stacked view
(B, H/g, g, d), the layout tt-metal's decode kernel reads q in; these tests run the emitted kernels on the
simulator against the numpy oracle, count the modeled DRAM bytes, and show that the per-head layout fails."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
from cpp_check import check as check_cpp
from cpp_check import compile_cpp, needs_gxx

import tteqsat as tq
from tteqsat.frontend import reference
from tteqsat.frontend.batch import element_view
from tteqsat.pipeline import VerificationError
from tteqsat.sim.tiles import n_tiles, tilize, untilize

TILE_BYTES = 2048  # a bf16 32x32 tile


def decode(heads: int, kv_heads: int, keys: int, d: int = 64, bias: bool = False) -> tq.Kernel:
    """One query row per head against `keys` keys, the K/V heads repeated over their groups."""
    q = tq.tensor("q", (1, heads, 1, d))
    k, v = (tq.tensor(n, (1, kv_heads, keys, d)) for n in "kv")
    if kv_heads != heads:
        k, v = (tq.repeat(x, heads // kv_heads, axis=1) for x in (k, v))
    s = q @ k.mT * d ** -0.5
    if bias:  # a key padding bias every head shares: broadcast down the stacked rows
        s = s + tq.tensor("keypad", (1, 1, 1, keys))
    return tq.kernel("decode", tq.softmax(s) @ v)


@functools.cache
def optimized(heads: int, kv_heads: int, keys: int, d: int = 64, split: int | bool | None = None) -> tq.Result:
    """`decode(...)` optimized on Wormhole, once per session: several tests (here and in test_split_tree.py) read
    the same result. A test that changes a result's attributes changes a `copy.copy` of it."""
    return tq.optimize(decode(heads, kv_heads, keys, d), "wormhole_b0", split=split)


def dram_bytes(heads: int, kv_heads: int, keys: int, d: int, parts: int = 1) -> int:
    """K and V once per K/V head and tile row of its group's stack (a stack of more than 32 rows runs as row
    blocks of one tile row, each reading the K/V); per item (a block, or a block's key part) one tile row of q
    read and of the output (and, split, of the lse column) written."""
    blocks = -(-(heads // kv_heads) // 32)
    kv = kv_heads * blocks * 2 * keys * d * 2
    per_item = (2 * d // 32 + (1 if parts > 1 else 0)) * TILE_BYTES
    return kv + kv_heads * blocks * parts * per_item


def test_single_row_heads_stack_into_one_tile_row() -> None:
    view = element_view(decode(32, 1, 1024))
    assert view.group == 32 and view.batch == (1, 1)
    assert view.kernel.inputs[0].shape == (32, 64)  # the 32 heads' rows: one tile row
    q = np.arange(32 * 64, dtype=np.float32).reshape(1, 32, 1, 64)
    stacked = view.as_read({"q": q, "k": np.zeros((1, 1, 1024, 64)), "v": np.zeros((1, 1, 1024, 64))})["q"]
    assert stacked.shape == (1, 1, 32, 64) and np.array_equal(stacked.reshape(q.shape), q)  # the same bytes
    assert n_tiles(stacked.shape) == 2 and n_tiles(q.shape) == 64  # 2 tiles where per-head tiles were 64
    gqa = element_view(decode(8, 2, 1024))
    assert gqa.group == 4 and gqa.kernel.inputs[0].shape == (4, 64)  # 4 rows of a padded tile row


@pytest.mark.parametrize(("heads", "kv_heads", "split"), [
    (8, 1, False), (8, 1, 4),      # MQA: every head in one tile row
    (8, 2, False), (8, 2, 2),      # GQA: 4 rows of a tile row per group
    (6, 1, 2),                     # a group that does not divide 32
    (64, 1, False), (64, 1, 2),    # g * r > 32: the stack spans two tile rows (two row blocks)
    (48, 1, 2),                    # ... the second one half full (the split pads the stack to 64 rows)
])
def test_grouped_decode_verifies_on_every_core_and_reads_kv_once_per_group(heads: int, kv_heads: int,
                                                                           split: int | bool) -> None:
    keys, d = 2048, 64
    r = tq.optimize(decode(heads, kv_heads, keys, d), "wormhole_b0", split=split)
    parts = r.split.kv.parts if r.split else 1
    assert parts == (split or 1)
    check = r.verify(cores="all")
    assert check.max_rel_err <= check.tolerance
    exact = r.verify(cores="all", precision="exact")
    assert exact.max_rel_err <= exact.tolerance
    assert r.chip.dram_bytes == dram_bytes(heads, kv_heads, keys, d, parts)
    assert r.chip.dram_bytes < heads * 2 * keys * d * 2 / 2  # unstacked, K/V was read once per q head


def test_the_modeled_bytes_are_kv_once_per_group_at_decode_size() -> None:
    """The issue's example: 32 single-row heads against 131072 keys, one K/V head (MQA) and eight (GQA)."""
    for kv_heads, mb in ((1, 64), (8, 512)):
        r = optimized(32, kv_heads, 131072, 128, split=False)
        kv = kv_heads * 2 * 131072 * 128 * 2
        assert kv == mb * 2 ** 20
        assert r.chip.dram_bytes == dram_bytes(32, kv_heads, 131072, 128)
        assert r.chip.dram_bytes - kv == kv_heads * 2 * 4 * TILE_BYTES  # q and out: one tile row per group


def test_mqa_decode_splits_its_keys_over_idle_cores() -> None:
    """MQA stacks all 32 heads into one item: one core unsplit, so the split over keys gains most of the parts.
    16 parts (merged 4 x 4 in a tree of kernels, tests/test_split_tree.py) reach the DRAM floor; more parts only
    add merging."""
    r = optimized(32, 1, 131072, 128)
    assert r.split is not None and r.split.kv.parts == 16 and len(r.split.merges) == 1
    assert r.split.unsplit_cycles / r.cost_cycles > 8
    assert r.chip.dram_bytes == dram_bytes(32, 1, 131072, 128, 16)


def test_a_shared_key_bias_broadcasts_down_the_stacked_rows() -> None:
    for split in (False, 2):
        r = tq.optimize(decode(8, 2, 1024, bias=True), "wormhole_b0", split=split)
        assert (r.view.group if r.split is None else r.split.stacked.group) == 4
        check = r.verify(cores="all")
        assert check.max_rel_err <= check.tolerance


def test_the_host_writes_q_and_reads_the_output_in_the_stacked_layout() -> None:
    unsplit = optimized(8, 2, 1024, split=False)
    shapes = {t.name: (t.shape, t.pages) for t in unsplit.to_host().tensors}
    assert shapes["q"] == ((1, 2, 4, 64), 4) and shapes["out"] == ((1, 2, 4, 64), 4)  # per head: 16 pages each
    split = optimized(8, 2, 1024, split=2)
    shapes = {t.name: (t.shape, t.pages) for t in split.to_host().tensors}
    assert shapes["q"] == ((1, 2, 1, 32, 64), 4)  # the stack padded to its tile row: the same 4 pages
    assert shapes["out_part"] == ((1, 2, 2, 32, 64), 8)
    combine = {t.name: t.shape for t in split.split.combine.to_host().tensors}
    assert combine["out"] == (1, 2, 32, 64)
    user = reference.random_inputs(split.split.kernel, 3)
    stacked = split.kernel_inputs(user)["q"]
    assert np.array_equal(stacked[:, :, 0, :4, :].reshape(1, 8, 1, 64), user["q"])
    assert not stacked[:, :, 0, 4:, :].any()  # the padding rows are zeros


def per_head(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """What a kernel reading a tensor of `shape` finds when the host tilized `array` head by head instead: the
    first tiles of the per-head layout."""
    tiles = tilize(array)
    return untilize(tiles[:n_tiles(shape)], shape)


def test_the_per_head_layout_fails_verification() -> None:
    r = copy.copy(optimized(8, 2, 1024, split=False))  # this test replaces its kernel_inputs
    right = r.kernel_inputs
    user = reference.random_inputs(r.kernel, 0)
    assert r.verify(inputs=user, cores="all").max_rel_err <= r.tolerance()

    def wrong(inputs):
        out = right(inputs)
        out["q"] = per_head(inputs["q"], out["q"].shape)
        return out

    r.kernel_inputs = wrong  # the simulator's DRAM gets per-head tiles; the reference keeps the stacked rows
    with pytest.raises(VerificationError, match="differs from the reference"):
        r.verify(inputs=user, cores="all")


def test_the_per_head_layout_fails_a_split_too() -> None:
    r = tq.optimize(decode(8, 1, 1024), "wormhole_b0", split=2)
    split = r.split
    right = split.first_inputs

    def wrong(inputs):
        out = right(inputs)
        stacked = split.stacked.padded_inputs(inputs)["q"]
        out["q"] = per_head(inputs["q"], stacked.shape)[..., None, :, :]
        return out

    split.first_inputs = wrong
    with pytest.raises(VerificationError, match="split over 2 key parts"):
        r.verify(cores="all")


@needs_gxx
@pytest.mark.parametrize("split", [False, 2])
def test_grouped_decode_cpp_compiles_and_maps_back_to_its_ops(tmp_path, split: int | bool) -> None:
    r = optimized(8, 2, 1024, split=split)
    results = [r] + ([r.split.combine] if r.split else [])
    for res in results:
        cpp = res.to_cpp()
        assert check_cpp(res.to_mlir(), cpp) == []
        done = compile_cpp(tmp_path, cpp)
        assert done.returncode == 0, done.stderr
