"""Interleaved passes (scheduling/interleave.py): a streaming loop may run the passes of two independent sections of
one loop nest alternately. On Wormhole, flash attention's exp pass (bound by its two packs a tile) alternates with
the next trip's Q K^T (bound by math) where the model prices it cheaper; the CB of S holds two trips; each pass
configures the FPU for its own op; the kernel verifies; the timing simulator sees the gain the model sees; a kernel
that skips the per-pass init fails; and the model charges the half-sync DST coupling of a pair of passes."""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pytest
from test_fpu_bcast import _attention

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.lowering import mlir
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.build import build_schedule
from tteqsat.tools.timing_check import result_cycles


@functools.cache
def _optimized(keys: int, d: int, arch: str = "wormhole_b0", interleave: bool = True) -> tq.Result:
    return tq.optimize(_attention(keys, d), load_arch(arch, {"settings.interleave_passes": interleave}), blocks=())


def _pair(result: tq.Result) -> tuple:
    body = [sec for sec in result.schedule.sections if sec.in_loop]
    n = next(n for n, sec in enumerate(body) if sec.interleaved)
    return body[n - 1], body[n]


def test_exp_pass_alternates_with_the_next_trips_q_k_and_verifies() -> None:
    r = _optimized(4096, 128)
    first, second = _pair(r)
    assert any(op.kind == "exp_scaled" for op in first.ops) and not first.ahead
    assert [op.kind for op in second.ops] == ["matmul"] and second.ahead and second.ops[0].attrs.get("transpose_b")
    s_cb = second.packs[0].cb
    width = r.schedule.loop.streams[0].width  # 1024 keys (session 15: K and V one chunk deep), 512 before
    assert r.schedule.cbs[s_cb].tiles == 2 * 2 * (width // 32)  # two trips of S: exp reads S_t, Q K^T packs S_(t+1)
    text = r.to_mlir()
    nest = text[text.index("interleaved, pass by pass"):]
    nest = nest[:nest.index("cb_pop_front")]
    acquires = [m.start() for m in re.finditer("tile_regs_acquire", nest)]
    assert len(acquires) == 2  # one pass of each, in one loop body
    assert nest.index("sub_tiles_init") < acquires[1] < nest.index("mm_block_init_short")  # each configures its own
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)


def test_the_timing_simulator_sees_the_gain() -> None:
    """Model 0.975x, timing simulator 0.978x on this kernel (session 14): the two within 2 points."""
    on, off = result_cycles(_optimized(4096, 128)), result_cycles(_optimized(4096, 128, interleave=False))
    assert on.agrees() and off.agrees()
    model_gain, sim_gain = on.analytic / off.analytic, on.timed / off.timed
    assert model_gain < 0.985 and sim_gain < 0.985 and abs(model_gain - sim_gain) < 0.02, (model_gain, sim_gain)


def test_a_pass_without_its_own_init_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Emitted as if the other section's passes left the FPU configured: its matmul runs under sub_tiles' init."""
    r = _optimized(4096, 128)
    real = mlir.ComputeEmitter._prepare
    monkeypatch.setattr(mlir.ComputeEmitter, "_prepare", lambda self, sec, shared=frozenset(): real(self, sec))
    broken = dataclasses.replace(r, _mlir=None)
    with pytest.raises(VerificationError, match="missing init"):
        broken.verify()


def test_the_pair_pays_the_dst_coupling() -> None:
    """With two DST halves a section's next pass waits for pack to drain its last one: a pair of passes takes at
    least one section's math and pack in a row. Wormhole d64's exp pass (664 math, 1,040 pack a pass) against a
    Q K^T pass of 731 math leaves nothing to gain, and the timing simulator agreed (0.3 % where a pair priced as
    one pass said 4.2 %), so the scheduler keeps them apart there."""
    r = _optimized(4096, 64)
    model = TensixCostModel(r.arch)
    body = [sec for sec in r.schedule.sections if sec.in_loop]
    exp = next(sec for sec in body if any(op.kind == "exp_scaled" for op in sec.ops) and sec.iterations > 1)
    qk = next(sec for sec in body if sec.ahead)
    joined, alone = model.joined_stage(exp, qk), model.stage(exp)
    assert joined.math >= alone.math + alone.pack
    assert not any(sec.interleaved for sec in body)


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_never_dearer(arch: str) -> None:
    for d in (64, 128):
        on, off = _optimized(4096, d, arch), _optimized(4096, d, arch, interleave=False)
        assert on.schedule.cost_cycles <= off.schedule.cost_cycles


def test_a_masked_loop_interleaves_only_in_its_unmasked_trips() -> None:
    """Causal attention: the trips where the mask holds everywhere run pipelined, the exp pass interleaved with the
    next trip's Q K^T; the trips that apply the mask run the sections apart in program order (the model prices
    them so: `lookahead.in_order` clears the flag). Cheaper than without, and core 0 (the shortest and the longest
    q blocks of its heads) verifies."""
    q, k, v = (tq.tensor(n, (1, 2, 4096, 128), "bf16") for n in "qkv")
    s = q @ k.mT * 0.088
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(4096, 4096), s, -np.inf)) @ v)
    r = tq.optimize(kernel, "wormhole_b0")
    assert r.schedule.loop.live is not None and any(sec.interleaved for sec in r.schedule.sections)
    text = r.to_mlir()
    unmasked = text.index("// chunks that skip the mask")
    masked_after = text.index("// chunks that apply the mask", unmasked)
    assert unmasked < text.index("interleaved, pass by pass") < masked_after
    assert "interleaved" not in text[masked_after:]
    apart = tq.optimize(kernel, load_arch("wormhole_b0", {"settings.interleave_passes": False}))
    assert r.cost_cycles < apart.cost_cycles
    r.verify(cores=[0])


def test_the_grid_prices_the_passes_apart_too() -> None:
    """Wormhole causal (1, 32, 1024, 128): the scheduler interleaves by one core's compute, doubling S's CB, which
    on the chip costs the streams their third chunk and the ranked groups of 8 their slack: 253.8 us interleaved,
    242.7 us apart (session 15). The grid prices both schedules of the program and keeps the apart one."""
    q, k, v = (tq.tensor(n, (1, 32, 1024, 128)) for n in "qkv")
    s = q @ k.mT * 128 ** -0.5
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(1024, 1024), s, -np.inf)) @ v)
    r = tq.optimize(kernel, "wormhole_b0")
    assert not any(sec.interleaved for sec in r.schedule.sections)
    assert any(sec.interleaved for sec in build_schedule(r.program, r.arch).sections)  # the core's own pick
    apart = tq.optimize(kernel, load_arch("wormhole_b0", {"settings.interleave_passes": False}))
    assert r.cost_cycles == apart.cost_cycles
