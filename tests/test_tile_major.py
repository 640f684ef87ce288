"""Tile-major DST passes (`DstSection.order`): every op on tile 0, then every op on tile 1, ..., as tt-metal's SDPA
runs sub_tiles_bcast_cols and exp_tile. The emitted kernels verify against the oracle, the calls alternate in the
emitted text, the analytic model and the timing simulator see the same gain, and a broken tile-major kernel fails."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import replace

import numpy as np
import pytest
from conftest import without_fpu_bcast

import tteqsat as tq
import tteqsat.scheduling.frames as frames
import tteqsat.scheduling.sections as sections
from tteqsat.arch import load_arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.extraction.program import HwOp
from tteqsat.scheduling.model import SectionOp, TileRead
from tteqsat.tools.timing_check import result_cycles

SCALE = 0.125


def _attention(keys: int, d: int = 64, rows: int = 64, mask=None) -> tq.Kernel:
    q = tq.tensor("q", (rows, d), "bf16")
    k = tq.tensor("k", (keys, d), "bf16")
    v = tq.tensor("v", (keys, d), "bf16")
    s = q @ k.T * SCALE
    if mask is not None:
        s = tq.where(mask, s, -np.inf)
    return tq.kernel("attention", tq.softmax(s, axis=-1) @ v)


def _subexp(cols: int = 256) -> tq.Kernel:
    a = tq.tensor("a", (64, cols), "bf16")
    b = tq.tensor("b", (64, cols), "bf16")
    return tq.kernel("subexp", tq.exp(a - b))


def _section_calls(text: str, index: int) -> list[str]:
    """The ttkernel calls of section `index`'s first pass, between its acquire and its commit."""
    start = text.index(f"// section {index}:")
    end = text.find("// section", start + 1)
    body = text[start:end if end > 0 else len(text)]
    inside = body[body.index("tile_regs_acquire"):body.index("tile_regs_commit")]
    return re.findall(r'"ttkernel\.(\w+)"', inside)


@pytest.fixture(scope="module")
def attention() -> tq.Result:
    return tq.optimize(_attention(512), "wormhole_b0", blocks=())


@functools.cache
def _reuse_attention() -> tq.Result:
    """The kernel with its max broadcast by unary_bcast into DST and subtracted by dest reuse (the hw_fpu_bcast
    rules off): a pass whose first op has a full init, set up before the acquire, so tile by tile from op 1."""
    return tq.optimize(_attention(512), "wormhole_b0", blocks=(), rules=without_fpu_bcast(), shipped_rules=False,
                       check_rules=False)


def _op_major(monkeypatch) -> None:
    """Schedules built after this keep every pass op by op (the order before tile-major passes)."""
    monkeypatch.setattr(sections, "tile_major_from", lambda ops: None)


@functools.cache
def _op_major_attention() -> tq.Result:
    """The `attention` fixture's kernel optimized with every pass op by op, once per session (two tests read it)."""
    with pytest.MonkeyPatch.context() as mp:
        _op_major(mp)
        return tq.optimize(_attention(512), "wormhole_b0", blocks=(), rules=without_fpu_bcast(), shipped_rules=False,
                           check_rules=False)


@functools.cache
def _subexp_result() -> tq.Result:
    """`_subexp()` optimized on Wormhole, once per session (two tests read it; one breaks copies of it)."""
    return tq.optimize(_subexp(), "wormhole_b0")


def test_the_softmax_exp_pass_runs_tile_by_tile_and_verifies(attention: tq.Result) -> None:
    tiled = [s for s in attention.schedule.sections if s.order == "tile"]
    assert tiled, "the exp pass of flash attention should run tile by tile"
    sec = next(s for s in tiled if [o.kind for o in s.ops] == ["fpu", "exp_scaled"])
    assert sec.ops[0].attrs["bcast"] == "cols" and sec.tile_from == 0
    calls = _section_calls(attention.to_mlir(), sec.index)
    # sub_tiles of S and the broadcast max tile, then exp, alternating tile by tile under one init each (set up
    # before the acquire: the pass's only FPU and SFPU configurations)
    assert calls == ["sub_tiles", "exp_tile"] * sec.tiles
    check = attention.verify(precision="hardware")
    assert check.max_rel_err <= check.tolerance


def test_a_broadcast_then_dest_reuse_pass_runs_tile_by_tile_after_the_broadcast() -> None:
    r = _reuse_attention()
    sec = next(s for s in r.schedule.sections if s.order == "tile" and s.ops[0].kind == "bcast")
    kinds = [(o.kind, o.op) for o in sec.ops]
    assert kinds == [("bcast", "cols"), ("reuse", "sub"), ("exp_scaled", "exp")] and sec.tile_from == 1
    calls = _section_calls(r.to_mlir(), sec.index)
    n = sec.tiles
    # the broadcast of the row max on every tile first (its full init sits before the acquire), then the sub's
    # init, then sub and exp alternating tile by tile
    assert calls == ["unary_bcast"] * n + ["binary_dest_reuse_tiles_init"] + ["binary_dest_reuse_tiles",
                                                                              "exp_tile"] * n
    check = r.verify(precision="hardware")
    assert check.max_rel_err <= check.tolerance


def test_op_major_emission_is_unchanged_when_tile_major_is_off(monkeypatch) -> None:
    _op_major(monkeypatch)
    r = _op_major_attention()
    assert all(s.order == "op" for s in r.schedule.sections)
    sec = next(s for s in r.schedule.sections if [o.kind for o in s.ops] == ["bcast", "reuse", "exp_scaled"])
    n = sec.tiles
    assert _section_calls(r.to_mlir(), sec.index) == (["unary_bcast"] * n + ["binary_dest_reuse_tiles_init"]
                                                     + ["binary_dest_reuse_tiles"] * n + ["exp_tile"] * n)


@pytest.mark.parametrize("kernel", ["subexp", "causal"])
def test_tile_major_kernels_verify_against_the_oracle(kernel: str) -> None:
    if kernel == "subexp":
        r = _subexp_result()
    else:
        r = tq.optimize(_attention(512, rows=512, mask=tq.tri(512, 512)), "wormhole_b0", form="streaming")
        assert r.schedule.loop is not None and r.schedule.loop.live is not None
    assert any(s.order == "tile" for s in r.schedule.sections)
    for precision in ("exact", "hardware"):
        check = r.verify(precision=precision)
        assert check.max_rel_err <= check.tolerance


def test_the_analytic_model_and_the_timing_simulator_see_the_same_gain(monkeypatch) -> None:
    """Flash attention with its sub+exp pass tile by tile, against the same kernel op by op: both the model and
    the timing simulator (which runs the emitted calls against two source-register banks per thread clock) find it
    faster, by similar amounts, and each stays within the tolerance of the other."""
    _op_major(monkeypatch)
    plain = _op_major_attention()
    assert all(s.order == "op" for s in plain.schedule.sections)
    a, b = result_cycles(_reuse_attention()), result_cycles(plain)
    assert a.agrees() and b.agrees(), (a, b)
    model_gain, sim_gain = a.analytic / b.analytic, a.timed / b.timed
    assert model_gain < 0.97 and sim_gain < 0.97, (model_gain, sim_gain)
    assert abs(model_gain - sim_gain) < 0.03, (model_gain, sim_gain)


def _broken(r: tq.Result, text: str) -> tq.Result:
    bad = copy.copy(r)
    bad._mlir = text
    return bad


def test_a_tile_major_kernel_with_its_calls_out_of_order_fails_verification() -> None:
    """Deliberately broken tile-major kernels: exp run before the sub on each tile (it reads the tile before the
    sub writes it), exp on the wrong DST tile, and the exp's init dropped. Each check catches its defect."""
    r = _subexp_result()
    text = r.to_mlir()
    r.verify()  # the real one passes
    lines = text.split("\n")
    swapped = list(lines)
    for n, line in enumerate(lines):
        if '"ttkernel.sub_tiles"(' in line and '"ttkernel.exp_tile"(' in lines[n + 1]:
            swapped[n], swapped[n + 1] = lines[n + 1], line
    assert swapped != lines
    with pytest.raises(tq.VerificationError, match="differs from the reference"):
        _broken(r, "\n".join(swapped)).verify()
    # the second tile's exp applied to the first tile's slot
    wrong_slot = re.sub(r'("ttkernel\.exp_tile"\()%c1\)', r"\1%c0)", text, count=1)
    assert wrong_slot != text
    with pytest.raises(tq.VerificationError, match="differs from the reference"):
        _broken(r, wrong_slot).verify()
    no_init = "\n".join(line for line in lines if "exp_tile_init" not in line)
    with pytest.raises(tq.VerificationError, match="missing init"):
        _broken(r, no_init).verify()


def test_a_run_that_would_switch_an_engines_init_per_tile_is_not_tile_major() -> None:
    """Two FPU ops of different configurations (a copy and a dest-reuse sub) cannot alternate per tile without an
    init per tile: only the last ops, from the sub on, run tile by tile; a matmul_block pass not at all."""
    cb = TileRead(0, 1, 1)
    copy_op = SectionOp("copy", "copy", {}, 0, [], [cb])
    sub = SectionOp("reuse", "sub", {"reuse": "srca"}, 0, [0], [TileRead(1, 1, 1)])
    exp = SectionOp("sfpu", "exp", {}, 0, [0], [])
    recip = SectionOp("sfpu", "recip", {}, 0, [0], [])
    assert sections.tile_major_from([copy_op, exp]) == 0
    assert sections.tile_major_from([copy_op, sub, exp]) == 1
    assert sections.tile_major_from([copy_op, exp, recip]) == 2  # two SFPU configurations
    block = SectionOp("matmul", "matmul", {"block": 8}, 0, [], [cb, cb], inner=2)
    assert sections.tile_major_from([block, exp]) is None


def test_a_cheaper_cut_whose_cbs_overflow_l1_is_not_taken(monkeypatch) -> None:
    """A 256-row q block of fused attention fits L1 with its P V matmul and normalisation in one pass; cutting
    that pass prices cheaper (its second half runs tile by tile) but adds an intermediate CB that overflows L1.
    The frame's local search keeps the pass whole; without its L1 check the form does not fit at all."""
    kernel = _attention(1024, rows=256)
    r = tq.optimize(kernel, "wormhole_b0", blocks=(), form="fused")
    assert r.l1_bytes <= r.arch.l1_budget
    assert [o.kind for o in r.schedule.sections[-1].ops] == ["bcast", "matmul", "sfpu2"]
    monkeypatch.setattr(frames, "cb_l1_bytes", lambda plan, model: 0)
    with pytest.raises(tq.KernelError, match="does not fit"):
        tq.optimize(kernel, "wormhole_b0", blocks=(), form="fused")


def test_broadcasts_and_dest_reuse_masks_unpack_on_srcb() -> None:
    """The unpacker each op form's CB operand takes, as the LLK routes it (docs/cost-models.md): unary_bcast and a
    dest_to_srca reuse (the mask form's too) on SrcB, a dest_to_srcb reuse, copy and transpose on SrcA, an add's
    in0 on A and in1 on B, a matmul's in0 on B and in1 on A."""
    model = TensixCostModel(load_arch("wormhole_b0"))
    u = model.unpack_tile("bf16")
    x = HwOp("input", "x", (), (32, 32))
    col = HwOp("input", "m", (), (32, 1))

    def sides(kind: str, op: str, operands: tuple, **attrs) -> tuple[float, float]:
        e = model.op_tile(HwOp(kind, op, operands, (32, 32), attrs), ("bf16", "bfp8"))
        return e.unpack, e.unpack_b

    b8 = model.unpack_tile("bfp8")
    assert sides("bcast", "cols", (col,)) == (0.0, u)
    assert sides("mask", "bias", (x,), mask="tri", block=32, chunk=32) == (0.0, u)
    assert sides("reuse", "sub", (x, x), reuse="srca") == (0.0, b8)
    assert sides("reuse", "sub", (x, x), reuse="srcb") == (b8, 0.0)
    assert sides("copy", "copy", (x,)) == (u, 0.0)
    assert sides("transpose", "wh", (x,)) == (u, 0.0)
    assert sides("fpu", "add", (x, x)) == (u, b8)
    assert sides("matmul", "matmul", (x, x)) == (b8, u)  # in0 (bf16) on B, in1 (bfp8) on A


def test_a_pass_of_one_op_costs_the_same_in_either_order() -> None:
    """Op by op and tile by tile are priced by one mechanism, the pass's calls against the two source banks: a pass
    of one op issues the same calls in either order, so its stage is the same."""
    a, b = tq.tensor("a", (64, 256), "bf16"), tq.tensor("b", (64, 256), "bf16")
    r = tq.optimize(tq.kernel("add", a + b), "wormhole_b0", form="fused")
    (sec,) = [s for s in r.schedule.sections if [o.kind for o in s.ops] == ["fpu"]]
    assert sec.tiles > 2
    model = TensixCostModel(r.arch)
    op_major, tiled = replace(sec, order="op"), replace(sec, order="tile", tile_from=0)
    assert model.stage(op_major) == model.stage(tiled)


def test_a_pass_unpacks_its_calls_one_after_another() -> None:
    """Flash attention's exp pass with the broadcast in DST: the broadcast's tiles on SrcB and the dest-reuse
    subtract's on SrcA are separate calls, so the unpack thread takes both in turn (as the timing simulator runs
    them), not the busier unpacker's total; math waits for them."""
    r = _reuse_attention()
    model = TensixCostModel(r.arch)
    (sec,) = [s for s in r.schedule.sections if [o.kind for o in s.ops] == ["bcast", "reuse", "exp_scaled"]]
    assert sec.ops[1].attrs["reuse"] == "srcb"
    u, n = model.unpack_tile("bf16"), sec.tiles
    assert sec.engines.unpack == pytest.approx(n * u) and sec.engines.unpack_b == pytest.approx(n * u)
    for order in ("op", "tile"):
        stage = model.stage(replace(sec, order=order, tile_from=1))
        assert stage.unpack >= 2 * n * u - 1e-6 and stage.math > 2 * n * u
