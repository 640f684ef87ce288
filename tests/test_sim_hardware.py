# ruff: noqa: E501  (inline MLIR op lines are long by nature)
"""The simulator follows the hardware where it differs from the intent: packer edge masks, the packer's
write pointer, reduce_tile's DST layout, full inits, end-of-kernel checks, the DST size from the module,
and the hardware precision mode (sim/numerics.py). Each behaviour is shown on a kernel whose result or
error depends on it."""

from __future__ import annotations

import mlir_samples as ms
import numpy as np
import pytest

from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.numerics import Numerics, exp_schraudolph, gelu_table
from tteqsat.sim.reduce import reduce_tile
from tteqsat.sim.tiles import round_bf16

RNG = np.random.default_rng(77)


def rand(*shape: int) -> np.ndarray:
    return round_bf16(RNG.standard_normal(shape).astype(np.float32))


def kernel(body: str, tensors: list[str], reads, writes, cbs: dict[int, str], attrs: str = "",
           fp32: bool = False) -> str:
    """A module with a generated reader/writer and the compute ``body``; ``attrs`` adds compute attributes."""
    reader, writer = ms.noc("hw", reads, writes)
    compute = ms.compute("hw", cbs, body, fp32=fp32)
    if attrs:
        compute = compute.replace("tteqsat.fp32_dest_acc_en", f"{attrs}, tteqsat.fp32_dest_acc_en")
    return ms.module("hw", tensors, [reader, compute, writer])


SCALER = """\
%one = "arith.constant"() <{value = 1.0 : f32}> : () -> f32
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.fill_tile_init"() : () -> ()
"ttkernel.fill_tile"(%c0, %one) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb2, %c0) : (index, $cb2, index) -> ()
"ttkernel.cb_push_back"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"""

# y = x, packed after a row-max reduce in the same pass (with or without reduce_uninit before the pack)
MASK_BODY = SCALER + """\
"ttkernel.cb_wait_front"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.reduce_init"(%cb0, %cb2, %cb16) <{reduce_dim = #ttkernel.reduce_dim<reduce_dim_row>, reduce_type = #ttkernel.reduce_type<reduce_max>}> : ($cb0, $cb2, $cb16) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.reduce_tile"(%cb0, %cb2, %c0, %c0, %c0) <{reduce_dim = #ttkernel.reduce_dim<reduce_dim_row>, reduce_type = #ttkernel.reduce_type<reduce_max>}> : ($cb0, $cb2, index, index, index) -> ()
@UNINIT@
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"ttkernel.copy_tile"(%cb0, %c0, %c1) : ($cb0, index, index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c1, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"""


def mask_kernel(uninit: bool) -> str:
    body = MASK_BODY.replace("@UNINIT@", '"ttkernel.reduce_uninit"() : () -> ()' if uninit else "")
    cbs = {0: ms.cb_type(1), 2: ms.cb_type(1), 16: ms.cb_type(1)}
    return kernel(body, ["x:in:32x32:bf16", "y:out:32x32:bf16"], [ms.binding("x", 0, 0, 1, 1)],
                  [ms.binding("y", 1, 16, 1, 1)], cbs)


def test_reduce_init_masks_every_later_pack_until_reduce_uninit() -> None:
    x = rand(32, 32)
    masked = simulate(mask_kernel(uninit=False), {"x": x}).outputs["y"]
    kept = np.zeros_like(x)
    kept[:, [0, 16]] = x[:, [0, 16]]  # Wormhole REDUCE_ROW: column 0 of every face survives
    np.testing.assert_array_equal(masked, kept)
    np.testing.assert_array_equal(simulate(mask_kernel(uninit=True), {"x": x}).outputs["y"], x)


def test_blackhole_col_mask_keeps_row_zero_of_every_face() -> None:
    text = mask_kernel(uninit=False).replace("reduce_dim_row", "reduce_dim_col").replace(
        '"wormhole_b0"', '"blackhole"')
    x = rand(32, 32)
    y = simulate(text, {"x": x}).outputs["y"]
    np.testing.assert_array_equal(y[[0, 16]], x[[0, 16]])
    assert not np.delete(y, [0, 16], axis=0).any()


def test_reduce_row_layout_and_seeded_accumulation() -> None:
    """The result lands in column 0 and (transposed) in rows 0 and 16; a slot seeded with an old max tile
    combines with the seed's row 0, not its column 0, so seeding is no max(old, new)."""
    num = Numerics("exact", False, "hifi4")
    x, ones = rand(32, 32), np.ones((32, 32), np.float32)
    fresh = reduce_tile(np.zeros((32, 32), np.float32), True, x, ones, "reduce_max", "reduce_dim_row", num)
    m = x.max(axis=1)
    np.testing.assert_array_equal(fresh[:, 0], m)
    np.testing.assert_array_equal(fresh[0, :16], m[:16])
    np.testing.assert_array_equal(fresh[16, :16], m[16:])
    assert not fresh[:, 16:].any()  # faces 1 and 3 untouched
    seed = np.full((32, 32), -100.0, np.float32)
    seed[:, 0] = 100.0  # the old max sits in column 0, as a packed reduce result does
    seeded = reduce_tile(seed, False, x, ones, "reduce_max", "reduce_dim_row", num)
    assert (seeded[1:16, 0] < 100.0).all()  # rows 1-15 took the seed's row 0 (-100 beyond column 0)
    np.testing.assert_array_equal(seeded[1:16, 0], np.maximum(x.max(axis=1)[1:16], -100.0))


def test_reduce_sum_scaler_is_row_zero_of_each_face_and_max_uses_its_exponent() -> None:
    num = Numerics("exact", True, "hifi4")
    x = RNG.standard_normal((32, 32)).astype(np.float32)
    scaler = np.zeros((32, 32), np.float32)
    scaler[[0, 16], :] = 0.5  # only row 0 of each face is read
    out = reduce_tile(np.zeros((32, 32), np.float32), True, x, scaler, "reduce_sum", "reduce_dim_row", num)
    np.testing.assert_allclose(out[:, 0], 0.5 * x.sum(axis=1), rtol=1e-5, atol=1e-5)
    scaler[[0, 16], :] = 0.75  # max scales by 2^floor(log2(0.75)) = 0.5
    out = reduce_tile(np.zeros((32, 32), np.float32), True, x, scaler, "reduce_max", "reduce_dim_row", num)
    np.testing.assert_array_equal(out[:, 0], 0.5 * x.max(axis=1))


PACK_TWO = """\
%one = "arith.constant"() <{value = 1.0 : f32}> : () -> f32
%two = "arith.constant"() <{value = 2.0 : f32}> : () -> f32
"ttkernel.init_sfpu"(%cb16, %cb16) : ($cb16, $cb16) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.fill_tile_init"() : () -> ()
"ttkernel.fill_tile"(%c0, %one) : (index, f32) -> ()
"ttkernel.fill_tile"(%c1, %two) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0)@ATTR@ : (index, $cb16, index) -> ()
"ttkernel.pack_tile"(%c1, %cb16, %c0)@ATTR@ : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"""


@pytest.mark.parametrize(("attr", "first", "second"), [("", 1.0, 2.0), (" <{out_of_order = true}>", 2.0, 0.0)])
def test_pack_without_out_of_order_ignores_its_index(attr: str, first: float, second: float) -> None:
    """In order, the packer's own pointer walks tiles 0, 1; out of order, both packs hit tile 0."""
    text = kernel(PACK_TWO.replace("@ATTR@", attr), ["y:out:32x64:bf16"], [], [ms.binding("y", 0, 16, 2, 2)],
                  {16: ms.cb_type(2)})
    y = simulate(text, {}).outputs["y"]
    assert (y[:, :32] == first).all() and (y[:, 32:] == second).all()


def test_full_init_inside_a_dst_section_is_an_error() -> None:
    text = ms.bcast_sub()
    before = '  "ttkernel.unary_bcast_init"'
    init = next(line for line in text.splitlines() if line.lstrip().startswith('"ttkernel.unary_bcast_init"'))
    acquire = next(line for line in text.splitlines() if '"ttkernel.tile_regs_acquire"' in line)
    moved = text.replace(init + "\n", "").replace(acquire + "\n", acquire + "\n" + init + "\n", 1)
    assert before in text and moved != text
    with pytest.raises(SimulationError) as info:
        simulate(moved, {"x": rand(32, 64), "m": rand(32, 1)})
    assert "ttkernel.unary_bcast_init: unary_bcast_init reconfigures the unpacker, math and packer and resets " \
           "DST synchronisation" in str(info.value)


def test_a_cb_left_undrained_or_an_output_tile_not_written_is_an_error() -> None:
    body = ms.SELF_BODY.replace('"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()\n', "")
    with pytest.raises(SimulationError) as info:
        simulate(ms.self_kernel(body), {})
    assert str(info.value) == ("line 1: module: at the end of the kernel: cb 1: 1 tiles pushed but never popped "
                               "(1 pushed, 0 popped)")
    writer_loop = '"scf.for"(%c0, %c2, %c1) ({\n    ^bb0(%t: index):\n      "ttkernel.cb_wait_front"(%cb16'
    short = ms.ADD.replace(writer_loop, writer_loop.replace("%c2, %c1", "%c1, %c1", 1))
    assert short != ms.ADD
    with pytest.raises(SimulationError) as info:
        simulate(short, {"a": rand(64, 32), "b": rand(64, 32)})
    assert "cb 16: 1 tiles pushed but never popped (2 pushed, 1 popped)" in str(info.value)
    assert "output 'c': 1 of 2 tiles never written (tile ids 1)" in str(info.value)


def test_cb_wait_front_counts_must_agree_and_divide_the_capacity() -> None:
    body = ms.SELF_BODY.replace(
        '"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()\n"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()\n',
        '"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()\n'
        '"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()\n')
    body = body.replace('"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()\n',
                        '"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()\n'
                        '"ttkernel.cb_wait_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()  // second count\n')
    with pytest.raises(SimulationError) as info:
        simulate(ms.self_kernel(body), {})
    assert "cb 0: cb_wait_front of 2 pages after cb_wait_front of 1: tt-metal cb_api.h requires one page count" \
           in str(info.value)
    odd = ms.self_kernel(ms.SELF_BODY).replace("!ttkernel.cb<2,", "!ttkernel.cb<3,")
    odd = odd.replace('"ttkernel.cb_wait_front"(%cb0, %c1_i32)', '"ttkernel.cb_wait_front"(%cb0, %c2_i32)')
    with pytest.raises(SimulationError, match="cb 0: cb_wait_front of 2 pages does not divide the capacity of 3"):
        simulate(odd, {})


def test_dst_capacity_comes_from_the_module() -> None:
    body = ms.SELF_BODY.replace('"ttkernel.fill_tile"(%c0, %one)', '"ttkernel.fill_tile"(%c12, %one)')
    body = '%c12 = "arith.constant"() <{value = 12 : index}> : () -> index\n' + body
    text = ms.self_kernel(body)
    with pytest.raises(SimulationError, match="DST slot 12 out of range: capacity is 8 tiles"):
        simulate(text, {})
    wide = text.replace("tteqsat.fp32_dest_acc_en = false", "tteqsat.dst_tiles = 16 : i32, tteqsat.fp32_dest_acc_en = false")
    assert simulate(wide, {}).stats["dst.capacity"] == 16


# -- hardware precision ------------------------------------------------------------------------------

MUL_BODY = """\
"ttkernel.binary_op_init_common"(%cb0, %cb1, %cb16) : ($cb0, $cb1, $cb16) -> ()
"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"ttkernel.mul_tiles_init"(%cb0, %cb1) : ($cb0, $cb1) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.mul_tiles"(%cb0, %cb1, %c0, %c0, %c0) : ($cb0, $cb1, index, index, index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"""


@pytest.mark.parametrize(("fidelity", "product"), [("hifi2", 10.4375), ("hifi4", 10.5)])
def test_fidelity_phases_of_an_eltwise_multiply(fidelity: str, product: float) -> None:
    """tt-metal #12923: 1.3125 x 7.96875 in bf16 is 10.4375 at HiFi2 (SrcB's last mantissa bit dropped) and
    10.5 at HiFi4 (each phase rounded into the 16-bit DST)."""
    cbs = {0: ms.cb_type(1), 1: ms.cb_type(1), 16: ms.cb_type(1)}
    reads = [ms.binding("a", 0, 0, 1, 1), ms.binding("b", 1, 1, 1, 1)]
    text = kernel(MUL_BODY, ["a:in:32x32:bf16", "b:in:32x32:bf16", "c:out:32x32:bf16"], reads,
                  [ms.binding("c", 2, 16, 1, 1)], cbs, attrs=f'tteqsat.math_fidelity = "{fidelity}"')
    inputs = {"a": np.full((32, 32), 1.3125, np.float32), "b": np.full((32, 32), 7.96875, np.float32)}
    assert (simulate(text, inputs, precision="hardware").outputs["c"] == product).all()
    assert (simulate(text, inputs, precision="exact").outputs["c"] == 10.4375).all()  # 10.459 rounded to nearest


def test_approximate_exp_is_the_bit_trick_and_takes_the_init_scale() -> None:
    x = np.linspace(-20, 20, 4001, dtype=np.float32)
    rel = exp_schraudolph(x, 1.0) / np.exp(x.astype(np.float64)) - 1
    assert 0.025 < np.abs(rel).max() < 0.032 and exp_schraudolph(np.zeros(1, np.float32), 1.0)[0] == 0.978515625
    text = ms.exp_chain().replace('"ttkernel.exp_tile_init"() : () -> ()',
                                  '"ttkernel.exp_tile_init"() <{approx = true, scale = 1065353216 : i32}> : () -> ()')
    text = text.replace("<{scale = 1056964608 : i32}>", "<{approx = true, scale = 1056964608 : i32}>")
    x = rand(32, 64)
    y = simulate(text, {"x": x}).outputs["y"]  # scale 0.5 on the tile is ignored: the init says 1.0
    np.testing.assert_allclose(y, round_bf16(1 / round_bf16(np.exp(x))), rtol=1e-2)
    hw = simulate(text, {"x": x}, precision="hardware").outputs["y"]
    assert 5e-3 < np.abs(hw * np.exp(x.astype(np.float64)) - 1).max() < 0.05
    mismatch = text.replace("<{approx = true, scale = 1056964608 : i32}>", "<{scale = 1056964608 : i32}>")
    with pytest.raises(SimulationError, match="exp_tile has approx = false but the last exp_tile_init has approx = true"):
        simulate(mismatch, {"x": x})


def test_approximate_exp_edges_follow_the_llk_sequence() -> None:
    """tt-llk ckernel_sfpu_exp.h (fast approx, ClampToNegative): SFPSWAP keeps the larger of x and -88.5 / scale,
    SFPMAD, SFPSTOCHRND to UINT16 (|v| rounded; |v| >= 2**16 and NaN saturate to 65535; ISA
    SFPSTOCHRND_FloatInt.md), SFPSHFT by 15. So overflow and NaN give the NaN pattern 0x7fff8000, -inf and
    x <= -88.5 the same tiny value (|v| = 185 shifted: a denormal), never 0 from a NaN."""
    x = np.array([np.nan, np.inf, 100.0, 88.0, 0.0, -88.5, -1000.0, -np.inf, -np.nan], dtype=np.float32)
    bits = exp_schraudolph(x, 1.0).view(np.uint32)
    assert [hex(b) for b in bits[:3]] == ["0x7fff8000"] * 3  # NaN in stays NaN; overflow is a NaN pattern
    assert 1e38 < exp_schraudolph(x, 1.0)[3] < 2e38 and bits[4] == 0x3F7A8000
    assert len(set(bits[5:].tolist())) == 1 and bits[5] == 185 << 15  # clamped to -88.5, then |v| rounded
    # with the init's scale the threshold is -88.5 / scale
    assert exp_schraudolph(np.array([-1000.0], np.float32), 0.125).view(np.uint32)[0] == 185 << 15


def test_gelu_is_the_fast_table_in_hardware_precision() -> None:
    from scipy.special import erf

    x = np.linspace(-4, 4, 801, dtype=np.float32)
    exact = 0.5 * x * (1 + erf(x / np.sqrt(2.0)))
    err = np.abs(gelu_table(x) - exact)
    assert 0.02 < err.max() < 0.0235 and (gelu_table(np.array([3.5, -3.5], np.float32)) == [3.5, 0.0]).all()


def test_packer_rounds_ties_away_and_fp32_operands_are_tf32() -> None:
    """tt-metal #17018: fp32 1 + 2^-8 packs to bf16 1.0078125. An fp32 matmul operand keeps 10 mantissa bits."""
    num = Numerics("hardware", True, "hifi4")
    tie = np.full((32, 32), 1 + 2**-8, np.float32)
    assert (num.pack(tie, "bf16") == 1.0078125).all()
    assert (Numerics("exact", True, "hifi4").pack(tie, "bf16") == 1.0).all()
    a = np.full((32, 32), 1 + 2**-20, np.float32)
    e0 = np.zeros((32, 32), np.float32)
    e0[0, 0] = 1.0
    assert num.matmul(np.zeros((32, 32), np.float32), e0, a)[0, 0] == 1.0
    assert Numerics("exact", True, "hifi4").matmul(np.zeros((32, 32), np.float32), e0, a)[0, 0] == np.float32(1 + 2**-20)


def test_lofi_keeps_five_bits_of_the_srca_operand() -> None:
    num = Numerics("hardware", True, "lofi")
    a = np.full((32, 32), 1.96875, np.float32)  # 1.11111b: the last bit is beyond LoFi's 1 + 4
    e0 = np.eye(32, dtype=np.float32)
    assert (num.matmul(np.zeros((32, 32), np.float32), e0, a) == 1.9375).all()


def test_an_arch_with_16_dst_tiles_optimizes_and_verifies() -> None:
    """The module records the arch's DST size (tteqsat.dst_tiles) and the simulator takes it from there."""
    import tteqsat as tq

    x = tq.tensor("x", (64, 64))
    kernel = tq.kernel("wide", {f"y{i}": tq.sigmoid(tq.exp(x) * (0.25 * (i + 1))) for i in range(12)})
    result = tq.optimize(kernel, "wormhole_b0", overrides={"dst_tiles": 16})
    assert result.schedule.dst_capacity == 16 and max(sec.slots for sec in result.schedule.sections) > 8
    assert "tteqsat.dst_tiles = 16 : i32" in result.to_mlir()
    check = result.verify()
    assert check.stats["dst.capacity"] == 16 and check.stats["dst.max_slot"] >= 8


def test_broadcasts_of_two_kinds_never_share_a_pass(monkeypatch) -> None:
    """unary_bcast_init is a full init, set up before a pass's acquire, so a pass has one broadcast kind: row
    softmax's join of a column and a row broadcast is cut, and each pass runs its broadcast first."""
    from conftest import load_example

    import tteqsat as tq
    import tteqsat.scheduling.sections as sections

    conflicts = []
    original = sections._second_full_init

    def spy(members, ops, index, in_dst):
        cut = original(members, ops, index, in_dst)
        conflicts.extend([cut] if cut is not None else [])
        return cut

    monkeypatch.setattr(sections, "_second_full_init", spy)
    result = tq.optimize(load_example("row_softmax"), form="fused")
    assert conflicts, "the example no longer asks for two broadcast kinds in one pass"
    for sec in result.schedule.sections:
        assert len({op.op for op in sec.ops if op.kind == "bcast"}) <= 1
        first = [op.kind in ("bcast", "transpose") for op in sec.ops]
        assert first == sorted(first, reverse=True)  # broadcasts and transposes come first
    text = result.to_mlir()
    for block in text.split('"ttkernel.tile_regs_acquire"')[1:]:
        assert '"ttkernel.unary_bcast_init"' not in block.split('"ttkernel.tile_regs_release"')[0]
    result.verify()
