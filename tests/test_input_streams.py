"""Inputs streamed pass by pass (scheduling/input_streams.py): a map over a row too wide for L1, and softmax over
it (an LM head's logits), run with the input through a CB of two passes; read by the reader round robin where
one section reads two, after the loop's chunks where the section follows the loop; verified against the oracle,
timed against the model, compiled as C++; kernels that fit keep their inputs whole; a kernel that reads its
streamed input before waiting for it, or a reader that moves it before the whole inputs, fails."""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import sys
from pathlib import Path

import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.extraction.loops import split
from tteqsat.lowering.cpp import translate_to_cpp
from tteqsat.lowering.dataflow import emit_reader
from tteqsat.lowering.mlir import bindings
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.input_streams import candidates
from tteqsat.scheduling.model import STREAM_PASSES
from tteqsat.tools.timing_check import result_cycles

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpp_check  # noqa: E402

WIDE = 16384  # 32 x 16384 fp32: 2 MiB a tile row, more than either arch's L1


def _kernel(kind: str, cols: int = WIDE, dtype: str = "fp32") -> tq.Kernel:
    x, y = tq.tensor("x", (32, cols), dtype), tq.tensor("y", (32, cols), dtype)
    lse = tq.tensor("lse", (32, 1), dtype)
    exprs = {"exp": tq.exp(x) * 2.0, "add": tq.exp(x) + y, "map": tq.exp(x - lse), "softmax": tq.softmax(x)}
    return tq.kernel(kind, exprs[kind])


@functools.cache
def _optimized(kind: str, arch: str = "wormhole_b0", cols: int = WIDE, dtype: str = "fp32") -> tq.Result:
    return tq.optimize(_kernel(kind, cols, dtype), arch)


def _streaming(result: tq.Result) -> list:
    return [sec for sec in result.schedule.sections if sec.pass_waits]


@pytest.mark.parametrize("kind", ["exp", "add", "map", "softmax"])
def test_a_row_wider_than_l1_streams_and_verifies(kind: str) -> None:
    r = _optimized(kind)
    arch = load_arch("wormhole_b0")
    assert r.schedule.l1_bytes(arch) <= arch.l1_budget
    (sec,) = _streaming(r)
    inputs = {a.cb: a for a in r.schedule.args if a.role == "in"}
    for cb, tiles in sec.pass_waits:
        assert tiles == sec.tiles and (cb, tiles) in sec.pass_pops
        assert r.schedule.cbs[cb].tiles == STREAM_PASSES * sec.tiles < inputs[cb].n_tiles
        assert all(x.ci == 0 for op in sec.ops for x in op.reads if x.cb == cb)  # each pass's tiles at the front
        counts = set(re.findall(rf'"ttkernel\.cb_wait_front"\(%cb{cb}, %c(\d+)_i32\)', r.to_mlir()))
        assert counts == {str(tiles)}  # one page count on the CB, as cb_api.h requires
    assert len(sec.pass_waits) == (2 if kind == "add" else 1)
    r.verify()


def test_softmax_reads_the_row_twice_in_chunks_then_streamed_after_the_loop() -> None:
    """The streaming form: an online max and sum over column chunks, then exp(x - lse) over the row; the reader
    moves the streamed row after the loop's chunks (before them it would wait for room the compute frees only
    after the loop)."""
    r = _optimized("softmax")
    s = r.schedule
    assert s.loop is not None and s.loop.trips > 1
    (sec,) = _streaming(r)
    assert not sec.in_loop and s.sections.index(sec) > max(n for n, x in enumerate(s.sections) if x.in_loop)
    ins, _, streams = bindings(s)
    assert [b.streamed for b in ins] == ["after"] and streams


def test_two_inputs_of_one_section_are_read_block_by_block_in_turn() -> None:
    r = _optimized("add")
    ins, _, _ = bindings(r.schedule)
    assert sorted(b.streamed for b in ins) == ["before", "before"]
    reader = r.to_mlir().split("_reader")[1].split("_compute")[0]
    loop = reader.split('"scf.for"(%c0, %nblk_rr')[1]
    assert loop.count("ttkernel.cb_reserve_back") == 2  # one block of each input per trip of one loop


def test_a_reader_that_moves_the_streamed_input_first_deadlocks() -> None:
    """exp(x - lse) reads lse whole: a reader moving x as a whole input, in argument order, would fill x's two
    passes and wait for room while compute waits for lse (the order `emit_reader` keeps avoids it)."""
    r = _optimized("map")
    ins, _, streams = bindings(r.schedule)
    assert [b.name for b in ins] == ["x", "lse"] and ins[0].streamed == "before"
    good = "\n".join(emit_reader(r.schedule.kernel, ins, streams))
    bad = "\n".join(emit_reader(r.schedule.kernel, [dataclasses.replace(b, streamed="") for b in ins], streams))
    assert good != bad and good in r.to_mlir()
    broken = dataclasses.replace(r, _mlir=r.to_mlir().replace(good, bad))
    with pytest.raises(VerificationError, match="deadlock"):
        broken.verify()


def test_reading_a_pass_not_waited_for_fails() -> None:
    """The same kernel indexing the streamed input as if it were whole (tile j at j): past the first pass it reads
    beyond the pages it waited for."""
    r = _optimized("exp")
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule), _mlir=None)
    sections = []
    for sec in r.schedule.sections:
        if sec.pass_waits:
            sec = dataclasses.replace(sec, pass_pops=[])  # reads tile j at j, never pops
        sections.append(sec)
    broken.schedule.sections = sections
    with pytest.raises((VerificationError, tq.KernelError)):
        broken.verify()


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_a_row_bias_over_one_tile_row_streams_beside_the_row(arch: str) -> None:
    """exp(x + b), b of (1, N): the broadcast of b reads its tiles one for one over a single tile row, so b streams
    with x (session 18; before, extraction ruled the broadcast of a too-big input out)."""
    x, b = tq.tensor("x", (32, WIDE), "fp32"), tq.tensor("b", (1, WIDE), "fp32")
    r = tq.optimize(tq.kernel("bias", tq.exp(x + b)), arch)
    (sec,) = _streaming(r)
    assert sorted(cb for cb, _ in sec.pass_waits) == sorted(a.cb for a in r.schedule.args if a.role == "in")
    assert any(op.kind == "bcast" for op in sec.ops)
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)
    assert result_cycles(r).agrees()


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_softmax_of_a_scaled_row_recomputes_the_scale_after_the_loop(arch: str) -> None:
    """softmax(x * t), t a per-row temperature of (32, 1): the loop reads x in chunks and scales each; after it the
    map computes x * t again from x streamed pass by pass (held whole across the loop, x * t needs 2 MiB of L1)."""
    x, t = tq.tensor("x", (32, WIDE), "fp32"), tq.tensor("t", (32, 1), "fp32")
    r = tq.optimize(tq.kernel("scaled", tq.softmax(x * t)), arch)
    assert r.schedule.loop is not None
    (sec,) = _streaming(r)
    assert [cb for cb, _ in sec.pass_waits] == [a.cb for a in r.schedule.args if a.name == "x"]
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)
    assert result_cycles(r).agrees()
    held, again = split(r.program), split(r.program, recompute=True)
    assert (32, WIDE) in [op.shape for _, op in held.pre.outputs]  # x * t, 2 MiB, whole across the loop
    assert (32, WIDE) not in [op.shape for _, op in again.pre.outputs]


def test_a_row_bias_is_streamed_only_over_one_tile_row() -> None:
    """Over two tile rows the broadcast reads b's tile j for both rows, not once in order: b may not stream (its
    pass would be popped before the second row reads it). 64 rows run as items of one tile row, where it may."""
    x, b = tq.tensor("x", (64, WIDE), "fp32"), tq.tensor("b", (1, WIDE), "fp32")
    r = tq.optimize(tq.kernel("bias", tq.exp(x + b)), "wormhole_b0")
    (sec,) = _streaming(r)
    assert sec.grid[0] == 1 and len(sec.pass_waits) == 2
    r.verify(cores="all")
    bias_cb = next(a.cb for a in r.schedule.args if a.name == "b")

    def read_whole(rows: int):  # the schedule before streaming, its streamed section over `rows` tile rows
        out = copy.deepcopy(r.schedule)
        for s in out.sections:
            if bias_cb in s.read_cbs:
                s.grid = (rows, s.grid[1] // rows)
                s.pass_waits, s.pass_pops = [], []
                s.waits = s.pops = [(a.cb, a.n_tiles) for a in out.args if a.role == "in"]
        return out

    assert bias_cb in [cb for _, cb in candidates(read_whole(1))]
    assert bias_cb not in [cb for _, cb in candidates(read_whole(2))]


def test_kernels_that_fit_keep_their_inputs_whole() -> None:
    r = _optimized("softmax", cols=1024)
    assert not _streaming(r)
    assert all(b.streamed == "" for b in bindings(r.schedule)[0])


def test_an_lm_head_softmax_fits_on_both_archs() -> None:
    """Logits of 32 x 131072 in bf16 (8 MiB): before, no form fit."""
    for arch in ("wormhole_b0", "blackhole"):
        r = _optimized("softmax", arch, 131072, "bf16")
        assert _streaming(r) and r.schedule.loop is not None
        assert r.schedule.l1_bytes(load_arch(arch)) <= load_arch(arch).l1_budget


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
@pytest.mark.parametrize("kind", ["exp", "add", "map", "softmax"])
def test_the_model_agrees_with_the_timing_simulator(kind: str, arch: str) -> None:
    """Session 18: 0.996-1.059 of the timing simulator's wall (exp 1.40 and add 1.09 on Wormhole before the model
    paced a stage by its streamed input instead of starting it once the input was nearly read)."""
    assert result_cycles(_optimized(kind, arch)).agrees()


def test_the_reader_fills_one_pass_while_compute_reads_the_other() -> None:
    """A block per pass: with a block of the whole CB (both passes) the reader waits for both to be popped and
    compute for the next block's read, so reads and compute take turns: 1.5x the wall on Wormhole (session 18)."""
    r = _optimized("add")
    (sec,) = _streaming(r)
    reader = r.to_mlir().split("_reader")[1].split("_compute")[0]
    assert re.findall(r'%blk(\d+)_i32 = "arith.constant"\(\) <\{value = (\d+) : i32\}>', reader) == [
        ("0", str(sec.tiles)), ("1", str(sec.tiles))]
    whole = reader
    for k in "01":
        whole = whole.replace(f'%blk{k} = "arith.constant"() <{{value = {sec.tiles} : index}}>',
                              f'%blk{k} = "arith.constant"() <{{value = {2 * sec.tiles} : index}}>')
        whole = whole.replace(f'%blk{k}_i32 = "arith.constant"() <{{value = {sec.tiles} : i32}}>',
                              f'%blk{k}_i32 = "arith.constant"() <{{value = {2 * sec.tiles} : i32}}>')
    passes = 512 // sec.tiles
    whole = whole.replace(f'<{{value = {passes} : index}}>', f'<{{value = {passes // 2} : index}}>')
    assert whole != reader
    turns = dataclasses.replace(r, _mlir=r.to_mlir().replace(reader, whole))
    good, bad = result_cycles(r), result_cycles(turns)
    assert bad.timed > 1.3 * good.timed and good.agrees() and not bad.agrees()


@cpp_check.needs_gxx
def test_the_streamed_kernels_compile_as_cpp(tmp_path: Path) -> None:
    sources = {f"{kind}_{name}": src for kind in ("add", "softmax")
               for name, src in translate_to_cpp(_optimized(kind).to_mlir()).items()}
    result = cpp_check.compile_cpp(tmp_path, sources)
    assert result.returncode == 0, result.stderr[:4000]
