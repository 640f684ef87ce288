"""Masks as index functions: numpy semantics, the tiles the kernel builds, the chunks a loop skips, and causal
and sliding-window attention verified end to end with the masks generated in the kernel."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.errors import KernelError
from tteqsat.frontend import reference
from tteqsat.frontend.masks import Mask
from tteqsat.lowering import item_index
from tteqsat.lowering.item_index import Integers, block_of, live_range, mask_tile
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.model import LoopInfo, MaskIndex, block_order

MASKS = [
    lambda n, m: tq.tri(n, m),
    lambda n, m: tq.tri(n, m, k=37),
    lambda n, m: tq.tri(n, m, k=-70),
    lambda n, m: tq.tri(n, m) & ~tq.tri(n, m, k=-100),  # a sliding window of 100 keys
    lambda n, m: ~tq.tri(n, m, k=-1),                    # strictly above the diagonal... and the diagonal
    lambda n, m: tq.tri(n, m, k=-200) | ~tq.tri(n, m, k=10),
]


# -- numpy semantics ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [-70, -1, 0, 1, 33])
def test_tri_is_numpys_tri(k: int) -> None:
    assert np.array_equal(tq.tri(96, 160, k).matrix(), np.tri(96, 160, k, dtype=bool))


def test_masks_combine_like_numpy_booleans() -> None:
    a, b = np.tri(64, 64, 5, dtype=bool), np.tri(64, 64, -9, dtype=bool)
    ta, tb = tq.tri(64, 64, 5), tq.tri(64, 64, -9)
    assert np.array_equal((ta & ~tb).matrix(), a & ~b)
    assert np.array_equal((ta | ~tb).matrix(), a | ~b)
    for f in MASKS:
        m = f(70, 90)
        assert Mask.parse(m.text) == m


def test_mask_misuse_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="combine masks with &, | and ~"):
        bool(tq.tri(4, 4))
    with pytest.raises(ValueError, match="cannot be combined"):
        tq.tri(4, 4) & tq.tri(4, 5)
    with pytest.raises(ValueError, match="must start with ROWSxCOLS"):
        Mask.parse("tri(0)")
    q = tq.tensor("q", (64, 32))
    with pytest.raises(KernelError, match="condition must be a mask"):
        tq.where(q, q, 0.0)
    with pytest.raises(KernelError, match="at least one branch must be a tensor"):
        tq.where(tq.tri(64, 32), 1.0, 0.0)


def test_where_follows_np_where_with_a_batch_broadcast_mask() -> None:
    x = tq.tensor("x", (2, 64, 96))
    kern = tq.kernel("w", tq.where(tq.tri(64, 96, k=3), x, -np.inf))
    xs = np.random.default_rng(0).standard_normal((2, 64, 96)).astype(np.float32)
    got = reference.evaluate(kern, {"x": xs})["out"]
    assert np.array_equal(got, np.where(np.tri(64, 96, 3, dtype=bool), xs, -np.inf))


# -- the tiles the kernel builds: a tile's pattern depends only on its distance from the diagonal --------------
@pytest.mark.parametrize("make", MASKS)
def test_the_pattern_table_reproduces_every_tile(make) -> None:
    mask = make(320, 416)
    runs = mask.tile_runs()
    full = mask.matrix()
    for rt, ct in itertools.product(range(10), range(13)):
        d = rt - ct
        tile = mask.tile_pattern(runs[sum(d >= r for r in runs[1:])])
        assert np.array_equal(tile, full[32 * rt:32 * rt + 32, 32 * ct:32 * ct + 32]), (rt, ct)


def test_a_window_needs_five_tiles_whatever_its_width() -> None:
    assert len(tq.tri(8192, 8192).tile_runs()) == 3
    assert len((tq.tri(8192, 8192) & ~tq.tri(8192, 8192, k=-1024)).tile_runs()) == 5


@pytest.mark.parametrize("make", MASKS)
def test_the_kernels_tile_index_matches_the_mask(make) -> None:
    """`mask_tile` as the kernel computes it (on integers) picks, for tile (i, j) of block b's rows and chunk c's
    columns, the pattern that is the mask there."""
    mask = make(256, 512)
    runs = mask.tile_runs()
    diag = MaskIndex(64 // 32, 128 // 32, runs)
    full = mask.matrix()
    for b, c, i, j in itertools.product(range(4), range(4), range(2), range(4)):
        index = mask_tile(Integers(), diag, b, c, i, j)
        rows, cols = 64 * b + 32 * i, 128 * c + 32 * j
        assert np.array_equal(mask.tile_pattern(runs[index]), full[rows:rows + 32, cols:cols + 32])


# -- skipping: the chunks a loop visits cover every column the mask keeps, and the kernel computes the same range --
@pytest.mark.parametrize("make", MASKS)
@pytest.mark.parametrize("height,width", [(32, 64), (128, 256), (64, 512)])
def test_live_chunks_cover_the_mask_and_the_kernel_computes_the_same_range(make, height: int, width: int) -> None:
    mask = make(1024, 1024)
    trips = 1024 // width
    loop = LoopInfo(trips, [], [], live=(mask.text, height, width), rows=height)
    full = mask.matrix()
    for block in range(1024 // height):
        lo, hi = loop.range(block)
        assert (lo, hi) == live_range(Integers(), (mask.text, height, width), height, trips, block)
        kept = np.flatnonzero(full[block * height:(block + 1) * height].any(axis=0))
        if kept.size:
            assert lo * width <= kept[0] and kept[-1] < hi * width, (block, lo, hi)


def test_causal_skips_about_half_of_the_chunks() -> None:
    mask = tq.tri(4096, 4096)
    loop = LoopInfo(16, [], [], live=(mask.text, 128, 256), rows=128)
    visited = sum(hi - lo for lo, hi in (loop.range(b) for b in range(32)))
    assert visited == sum(-(-(b + 1) * 128 // 256) for b in range(32))  # chunks up to the block's diagonal
    assert visited / (32 * 16) < 0.55


def test_an_item_is_priced_as_its_own_trips_pipelined(causal_streaming: tq.Result) -> None:
    """A short item costs what its trips cost pipelined with the rest of the item (trips overlap, so each
    further trip adds less than a trip alone), plus the mask ops of the trips that apply them."""
    from tteqsat.cost import TensixCostModel
    from tteqsat.scheduling.timing import compute_cycles, without_masks

    s = causal_streaming.schedule
    loop = s.loop
    model = TensixCostModel(load_arch("wormhole_b0"))
    fills = sum(1 for cb in s.cbs if cb.role == "scaler") + sum(f.tiles for f in loop.fills)
    unmasked = without_masks(model, s.sections)
    misses = []
    for b in range(s.blocks):
        lo, hi = loop.range(b)
        masked = hi - lo - loop.unmasked(b)
        exact = compute_cycles(model, unmasked, hi - lo, fills) + masked * loop.mask_cycles
        exact -= loop.ragged_saving[b] if loop.ragged is not None else 0.0
        assert s.item_cycles(b) == pytest.approx(exact, rel=0.01), b
        alone = s.full_compute_cycles - (loop.trips - (hi - lo)) * loop.body_cycles  # each trip priced alone
        misses.append(abs(alone - masked * loop.mask_cycles - exact) / exact)
    assert max(misses) > 0.02  # pricing a skipped trip at a trip alone is off by more than that


def test_a_cores_pipeline_prices_the_mask_only_on_the_trips_that_apply_it() -> None:
    """The per-core pipeline (`kernel_cycles`, which the chip model prices cores by) runs the trips where the mask
    holds everywhere without its mask ops, as the emitted code does, so with DRAM out of the way it agrees with the
    item's compute price on every block (128-row blocks: their reads' latency is small against their compute).
    Priced with the mask on every live trip it was up to 8.8 % dearer on the longer items (and the timing
    simulator 5.7 % cheaper than it on a 4096-row kernel)."""
    from tteqsat.cost import TensixCostModel
    from tteqsat.scheduling.timing import kernel_cycles

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = tq.optimize(_attention(1024, tq.tri(1024, 1024)), "wormhole_b0", form="streaming", blocks=(128,),
                        chunks=(256,)).schedule
    model = TensixCostModel(load_arch("wormhole_b0"))
    ratios = [(kernel_cycles(model, s, 1, 1e6, [b]) - s.setup_cycles) / s.item_cycles(b) for b in range(s.blocks)]
    assert all(abs(r - 1) < 0.02 for r in ratios), ratios
    assert any(s.loop.unmasked(b) >= 2 for b in range(s.blocks))  # the case: items with unmasked trips


@pytest.mark.parametrize("blocks", range(1, 10))
def test_paired_block_order_is_a_permutation_pairing_short_with_long(blocks: int) -> None:
    order = [block_order(p, blocks, True) for p in range(blocks)]
    assert sorted(order) == list(range(blocks))
    assert order[:2] == ([0, blocks - 1] if blocks > 1 else [0])
    assert [block_of(Integers(), p, blocks, True) for p in range(blocks)] == order


# -- end to end: the masks are built in the kernel, verified on the simulator ------------------------------------
def _attention(S: int, mask, d: int = 64, dtype: str = "bf16", bias: bool = False) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (S, d), dtype) for n in "qkv")
    s = q @ k.T * 0.125
    if bias:
        s = s + tq.tensor("keypad", (1, S), dtype)
    return tq.kernel("masked", tq.softmax(tq.where(mask, s, -np.inf)) @ v)


@pytest.fixture(scope="module")
def causal_streaming() -> tq.Result:
    return tq.optimize(_attention(1024, tq.tri(1024, 1024)), "wormhole_b0", form="streaming")


def test_causal_streaming_verifies_on_every_core_with_no_mask_in_dram(causal_streaming: tq.Result) -> None:
    r = causal_streaming
    assert r.schedule.loop is not None and r.schedule.loop.live is not None
    text = r.to_mlir()
    assert "experimental.fill_arange_tile" in text and "where_tile" in text
    assert [a.name for a in r.schedule.args] == ["q", "k", "v", "out"]  # no mask tensor moves through DRAM
    for precision in ("exact", "hardware"):
        check = r.verify(precision=precision, cores="all")
        assert check.max_rel_err <= check.tolerance


def test_causal_reads_fewer_chunks_than_full_attention(causal_streaming: tq.Result) -> None:
    r = causal_streaming
    full = tq.optimize(tq.kernel("full", tq.softmax(tq.tensor("q", (1024, 64)) @ tq.tensor("k", (1024, 64)).T
                                                    * 0.125) @ tq.tensor("v", (1024, 64))),
                       load_arch("wormhole_b0", {"settings.share_inputs": False}), form="streaming",
                       blocks=(r.block,))  # per-core reads, as the causal kernel's items (they visit different chunks)
    loop, grid, args = r.schedule.loop, r.schedule.grid, r.schedule.args

    def tiles(receiver: bool) -> tuple[int, int]:  # a whole read and a chunk; a sharing receiver's own part
        chunk = sum(st.tiles for st in loop.streams
                    if not (receiver and not args[st.arg].blocked))
        return sum(a.n_tiles for a in args if a.role == "in" and a.cb >= 0 and not (receiver and not a.blocked)), chunk

    receivers = {n for g in grid.share.groups for n in g[1:]} if grid.share is not None else set()
    expected = 0
    for n in range(len(grid.cores)):
        whole, chunk = tiles(n in receivers)
        for item in grid.core_items(n):
            lo, hi = loop.range(grid.block_of(item))
            expected += whole + chunk * (hi - lo)
    reads = r.verify(cores="all").stats["ops.ttkernel.noc_async_read_tile"]
    assert reads == expected  # the reader visits only the live chunks of each item (a receiver: its own tiles)
    assert reads < full.verify(cores="all").stats["ops.ttkernel.noc_async_read_tile"]
    assert r.cost_cycles < full.cost_cycles


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_sliding_window_and_key_padding_verify(dtype: str) -> None:
    S = 512
    window = tq.tri(S, S) & ~tq.tri(S, S, k=-96)
    r = tq.optimize(_attention(S, window, dtype=dtype, bias=True), "blackhole", form="streaming")
    assert r.schedule.loop is not None and r.schedule.loop.live is not None
    assert any(st.name == "keypad" for st in r.schedule.loop.streams)  # the (1, Sk) bias streams with K and V
    r.verify(cores="all")


def test_fused_causal_verifies() -> None:
    r = tq.optimize(_attention(256, tq.tri(256, 256)), "wormhole_b0", form="fused")
    assert any(cb.role == "mask" for cb in r.schedule.cbs)
    r.verify(cores="all", precision="exact")


def test_a_wrong_mask_tile_or_a_wrong_live_range_fails_verification(monkeypatch, causal_streaming) -> None:
    import tteqsat.lowering.dataflow as dataflow
    import tteqsat.lowering.mlir as mlir

    shifted = lambda ops, diag, *rest: mask_tile(  # noqa: E731
        ops, MaskIndex(diag.block_tiles, diag.chunk_tiles, tuple(r + 1 for r in diag.runs)), *rest)
    monkeypatch.setattr(mlir, "mask_tile", shifted)
    monkeypatch.setattr(causal_streaming, "_mlir", None)  # emit again, with the broken index
    with pytest.raises(VerificationError, match="differs from the reference"):
        causal_streaming.verify(cores="all")
    monkeypatch.undo()

    def short(ops, live, rows, trips, block):  # one chunk too few, in compute and reader alike
        lo, hi = item_index.live_range(ops, live, rows, trips, block)
        return lo, ops.arith("maxsi", ops.arith("subi", hi, ops.const(1)), lo)

    monkeypatch.setattr(mlir, "live_range", short)
    monkeypatch.setattr(dataflow, "live_range", short)
    monkeypatch.setattr(causal_streaming, "_mlir", None)
    with pytest.raises(VerificationError, match="differs from the reference"):
        causal_streaming.verify(cores="all")


@pytest.mark.parametrize("bias", ["per-query", "softcap", "scalar"])
def test_row_biases_softcap_and_scalars_stream(bias: str) -> None:
    S = 512
    q, k, v = (tq.tensor(n, (S, 64)) for n in "qkv")
    s = q @ k.T * 0.125
    if bias == "per-query":
        s = s + tq.tensor("qbias", (S, 1))
    elif bias == "softcap":
        s = 30.0 * tq.tanh(s / 30.0)
    else:
        s = s * np.float32(0.9) - 1.5
    r = tq.optimize(tq.kernel("biased", tq.softmax(s) @ v), "wormhole_b0", form="streaming")
    assert r.schedule.loop is not None
    r.verify(cores="all")


def test_mask_tiles_are_built_once_per_core_and_priced_from_their_ops() -> None:
    """The mask build (an arange and its transpose, then per pattern tile its compares, scalars, fills and
    where, each with an init site) is priced from the ops `build_masks` emits, once per kernel: the analytic
    model of a one-tile masked kernel was 989 cycles against 2,358 timed when it was priced as four fills per
    tile; and the chip charges it once per core, not once per item."""
    from tteqsat.cost import TensixCostModel
    from tteqsat.tools.timing_check import result_cycles

    a = tq.tensor("a", (32, 32))
    small = tq.optimize(tq.kernel("small", tq.where(tq.tri(32, 32), tq.exp(a), 0.0)), blocks=())
    assert small.schedule.setup_cycles > 0
    priced = result_cycles(small)
    assert priced.agrees(), (priced.analytic, priced.timed)
    model = TensixCostModel(load_arch("wormhole_b0"))
    window = model.mask_stage([((tq.tri(256, 256) & ~tq.tri(256, 256, k=-64)).text, "bias")])
    assert window.math > model.mask_stage([(tq.tri(256, 256).text, "bias")]).math  # the & and ~ cost their ops
    q, k, v = (tq.tensor(n, (1, 4, 1024, 64)) for n in "qkv")
    causal = tq.optimize(tq.kernel("causal", tq.softmax(tq.where(tq.tri(1024, 1024), q @ k.mT * 0.125, -np.inf))
                                   @ v), "wormhole_b0", cores=4)
    chip, schedule = causal.chip, causal.schedule
    head = sum(schedule.item_cycles(b) for b in range(schedule.blocks))  # a core runs one head's blocks
    assert schedule.blocks > 2 and chip.core_compute_cycles == pytest.approx(schedule.setup_cycles + head, rel=0.02)
