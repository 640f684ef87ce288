"""Wider chunks where L1 allows them only with fewer buffers (scheduling/build.py, scheduling/in_place.py).

Single-buffered streams: where two chunks of every stream overflow L1, streams hold one chunk each and the
reader fetches a trip's chunk once compute popped the one before; flash attention then streams 2048 keys a trip
instead of 1024 (fewer online rescales). Packing P over S: where even that overflows (Blackhole, d = 128), the
loop runs in program order and the exp pass packs P into S's CB, popping each pass's S tiles first (tt-metal's
`qk_im` in place). Both emitted, verified against the oracle, timed by the timing simulator as the model prices
them. The expert programs hold K and V two chunks deep, as tt-metal's SDPA does, and pack P over S always, as
tt-metal's SDPA does too."""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from pathlib import Path

import cpp_check
import numpy as np
import pytest
from test_fpu_bcast import _attention

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.lowering.conformance import check_module
from tteqsat.lowering.cpp import translate_to_cpp
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.build import build_schedule
from tteqsat.tools.timing_check import result_cycles

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from expert_sdpa import expert_program  # noqa: E402


@functools.cache
def _optimized(arch: str, d: int, keys: int = 4096, single: bool = True) -> tq.Result:
    return tq.optimize(_attention(keys, d), load_arch(arch, {"settings.single_buffered_streams": single}),
                       blocks=())


def _held(result: tq.Result) -> list[int]:
    s = result.schedule
    assert s.loop is not None
    return [s.chunks_held(st) for st in s.loop.streams]


def test_one_chunk_streams_let_the_loop_take_2048_keys_a_trip() -> None:
    r, double = _optimized("wormhole_b0", 64), _optimized("wormhole_b0", 64, single=False)
    s = r.schedule
    assert s.loop is not None and s.loop.streams[0].width == 2048 and 1 in _held(r)
    assert s.l1_bytes(r.arch) <= r.arch.l1_budget
    assert double.schedule.loop is not None and double.schedule.loop.streams[0].width == 1024
    assert min(_held(double)) >= 2
    assert s.cost_cycles < 0.95 * double.schedule.cost_cycles  # 100,055 against 107,113 (session 15)
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)


def test_the_reader_waits_for_the_pop_and_the_timing_simulator_agrees() -> None:
    """A stream of one chunk: the timing simulator's reader stalls for room in that CB, and the analytic model
    (which prices the reader waiting for the chunk before to be popped) stays within 2 % of its wall."""
    r = _optimized("wormhole_b0", 64)
    timing = r.verify(timing=True).timing
    assert timing is not None
    s = r.schedule
    assert s.loop is not None
    single = [st.cb for st in s.loop.streams if s.chunks_held(st) == 1]
    stalls = {reason for name, reason, _ in timing.top_stalls(10) if name == "reader"}
    assert any(f"waiting for space in cb {cb}" in reason for cb in single for reason in stalls), stalls
    priced = result_cycles(r)
    assert abs(priced.ratio - 1) < 0.02, priced


def test_p_packed_over_s_where_single_buffering_is_not_enough() -> None:
    r = _optimized("blackhole", 128)
    s = r.schedule
    assert s.loop is not None and s.loop.streams[0].width == 2048 and _held(r) == [1, 1]
    assert s.l1_bytes(r.arch) <= r.arch.l1_budget
    (sec,) = [sec for sec in s.sections if sec.pass_pops]
    ((cb, tiles),) = sec.pass_pops
    assert tiles == sec.width and cb in sec.packed_cbs and cb in sec.read_cbs  # P into the CB it reads S from
    assert len(s.cbs[cb].holds) == 2 and s.cbs[cb].tiles == 2 * 2048 // 32  # S and P, one value's tiles
    assert not any(x.ahead or x.interleaved for x in s.sections)  # the loop runs in program order
    text = r.to_mlir()
    counts = set(re.findall(rf'"ttkernel\.cb_wait_front"\(%cb{cb}, %c(\d+)_i32\)', text))
    assert counts == {str(s.cbs[cb].tiles)}  # every wait on it is for a whole value (cb_api.h: one count)
    assert re.search(rf'"ttkernel\.cb_pop_front"\(%cb{cb}, %c{tiles}_i32\)', text)
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)
    assert result_cycles(r).agrees(0.02)


def test_p_over_s_without_the_per_pass_pops_deadlocks() -> None:
    """The same kernel whose exp pass pops S only after its last pass: the packer waits for room in the CB that S
    still fills, and the simulator reports it."""
    r = _optimized("blackhole", 128)
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule), _mlir=None)
    broken.schedule.sections = [dataclasses.replace(sec, pass_pops=[], pops=[*sec.pops, *[
        (cb, sec.grid[0] * sec.grid[1]) for cb, _ in sec.pass_pops]]) for sec in r.schedule.sections]
    with pytest.raises((VerificationError, tq.KernelError), match="(?i)deadlock|blocked|wait"):
        broken.verify()


def test_the_expert_keeps_double_buffered_k_and_v_and_packs_p_over_s() -> None:
    """tt-metal's SDPA (Program.in_order) holds K and V two chunks deep and P over S in one CB
    (sdpa_program_factory.cpp): at 2048 keys a chunk it fits so on Wormhole d = 64, not on Blackhole d = 128."""
    fits = build_schedule(expert_program(64, 4096, 64, 2048, 0.125, variant="2025"), load_arch("wormhole_b0"))
    assert fits.loop is not None and all(fits.chunks_held(st) >= 2 for st in fits.loop.streams)
    assert any(sec.pass_pops for sec in fits.sections)
    with pytest.raises(tq.KernelError, match="bytes of L1"):
        build_schedule(expert_program(64, 4096, 128, 2048, 128 ** -0.5, variant="2025"), load_arch("blackhole"))


def test_a_soft_capped_attention_packs_over_too_and_verifies() -> None:
    """Not only flash attention's exp pass: logits soft-capped by tanh (softmax(8 tanh(s / 8)) as Gemma 2 caps
    them) take 2048-key chunks on Blackhole at d = 128 only with their P packed over their S."""
    q, k, v = tq.tensor("q", (64, 128)), tq.tensor("k", (4096, 128)), tq.tensor("v", (4096, 128))
    r = tq.optimize(tq.kernel("capped", tq.softmax(tq.tanh(q @ k.T * 0.05) * 8, axis=-1) @ v), "blackhole",
                    blocks=())
    s = r.schedule
    assert s.loop is not None and s.loop.streams[0].width == 2048
    assert [sec for sec in s.sections if sec.pass_pops]
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)


def test_a_masked_loop_with_one_chunk_streams_verifies_every_item() -> None:
    """Causal attention on 128-row blocks and 1024-key chunks holds K and V one chunk deep; each item's loop runs
    only its live chunks (the reader fetches only those) and the diagonal's live tiles: all 16 items verified."""
    q, k, v = (tq.tensor(n, (1, 1, 2048, 128)) for n in "qkv")
    s = q @ k.mT * 128 ** -0.5
    r = tq.optimize(tq.kernel("causal", tq.softmax(tq.where(tq.tri(2048, 2048), s, -np.inf)) @ v), "wormhole_b0",
                    blocks=(128,), chunks=(1024,))
    assert _held(r) == [1, 1] and r.schedule.loop is not None and r.schedule.loop.ragged is not None
    check = r.verify(cores="all")
    assert check.stats["verify.items"] == 16


@cpp_check.needs_gxx
def test_the_packed_over_kernel_conforms_and_its_cpp_compiles(tmp_path: Path) -> None:
    """The Blackhole d = 128 kernel (one-chunk streams, P over S): its MLIR passes the TTKernel signature checks,
    its C++ maps back to the MLIR and compiles against the tt-metal declarations' stubs."""
    text = _optimized("blackhole", 128).to_mlir()
    assert check_module(text) == []
    cpp = translate_to_cpp(text)
    assert cpp_check.check(text, cpp) == []
    result = cpp_check.compile_cpp(tmp_path, {f"k_{name}": src for name, src in cpp.items()})
    assert result.returncode == 0, result.stderr[:2000]
