"""Row waits (scheduling/row_waits.py): a section that alone reads a value row block by row block waits for and
pops one row block at a time, so flash attention's P V starts on P's first row while the exp pass packs the rest.
Chosen where the model prices it cheaper, emitted with one page count per CB (tt-metal's cb_api.h), verified
against the oracle, seen by the timing simulator as the model sees it; a kernel that reads a row block it has not
waited for fails."""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from test_fpu_bcast import _attention

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.build import build_schedule
from tteqsat.scheduling.row_waits import candidates
from tteqsat.tools.timing_check import result_cycles

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from expert_sdpa import expert_program  # noqa: E402


@functools.cache
def _optimized(keys: int, arch: str = "wormhole_b0", row_waits: bool = True) -> tq.Result:
    return tq.optimize(_attention(keys), load_arch(arch, {"settings.row_waits": row_waits}), blocks=())


def _waiting(result: tq.Result) -> list:
    return [sec for sec in result.schedule.sections if sec.row_waits]


def test_p_v_waits_for_p_row_by_row_and_verifies() -> None:
    r = _optimized(1024)
    (sec,) = _waiting(r)
    assert any(op.kind == "matmul" for op in sec.ops)
    ((cb, tiles),) = sec.row_waits
    assert tiles == 1024 // 32  # one tile row of P
    assert cb not in [c for c, _ in sec.waits] and cb not in [c for c, _ in sec.pops]
    assert all(r_.ci == 0 for op in sec.ops for r_ in op.reads if r_.cb == cb)  # the row block is at the front
    text = r.to_mlir()
    assert "waits row block by row block" in text
    counts = set(re.findall(rf'"ttkernel\.cb_wait_front"\(%cb{cb}, %c(\d+)_i32\)', text))
    assert counts == {str(tiles)}  # one page count on the CB, as cb_api.h requires
    for precision in ("exact", "hardware"):
        r.verify(precision=precision)


def test_the_timing_simulator_sees_the_gain() -> None:
    """Model 0.968x, timing simulator 0.968x on this kernel (session 14): the two within 2 points."""
    on, off = result_cycles(_optimized(1024)), result_cycles(_optimized(1024, row_waits=False))
    assert on.agrees() and off.agrees()
    model_gain, sim_gain = on.analytic / off.analytic, on.timed / off.timed
    assert model_gain < 0.99 and sim_gain < 0.99 and abs(model_gain - sim_gain) < 0.02, (model_gain, sim_gain)


def test_reading_a_row_block_not_waited_for_fails() -> None:
    """The same kernel reading P by its whole-value index (row i at 32 i) while waiting row block by row block:
    the second row block reads past what it waited for."""
    r = _optimized(1024)
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule), _mlir=None)
    sections = []
    for sec in r.schedule.sections:
        if sec.row_waits:
            cb, tiles = sec.row_waits[0]
            ops = [dataclasses.replace(op, reads=[dataclasses.replace(x, ci=tiles) if x.cb == cb else x
                                                  for x in op.reads]) for op in sec.ops]
            sec = dataclasses.replace(sec, ops=ops)
        sections.append(sec)
    broken.schedule.sections = sections
    with pytest.raises((VerificationError, tq.KernelError)):
        broken.verify()


def test_only_a_value_with_one_reader_waits_by_rows() -> None:
    """Softmax reads its exp twice (the row sum and the normalisation): neither reader may pop it row by row."""
    r = tq.optimize(tq.kernel("softmax", tq.softmax(tq.tensor("x", (64, 256), "bf16"), axis=-1)), "wormhole_b0",
                    blocks=())
    s = r.schedule
    for pos, cb, _ in candidates(s.sections, s.cbs):
        readers = [sec for sec in s.sections if any(x.cb == cb for op in sec.ops for x in op.reads)]
        assert readers == [s.sections[pos]]
    r.verify()


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_never_dearer_and_the_expert_keeps_whole_waits(arch: str) -> None:
    assert _optimized(4096, arch).schedule.cost_cycles <= _optimized(4096, arch, row_waits=False).schedule.cost_cycles
    expert = build_schedule(expert_program(64, 4096, 64, 1024, 0.125, variant="2025"), load_arch(arch))
    assert not [sec for sec in expert.sections if sec.row_waits]  # pinned to tt-metal's 2025 kernel


def test_a_masked_loop_waits_by_rows_too() -> None:
    """Causal attention's loop skips dead tiles on its diagonal chunks but still pushes a page for each, so P V may
    wait for P row by row there as well: chosen on Wormhole (1.6 % cheaper than whole waits), core 0 (the shortest
    and the longest q blocks of its heads) verified."""
    q = tq.tensor("q", (1, 2, 4096, 128), "bf16")
    k = tq.tensor("k", (1, 2, 4096, 128), "bf16")
    v = tq.tensor("v", (1, 2, 4096, 128), "bf16")
    s = q @ k.mT * 0.088
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(4096, 4096), s, -np.inf)) @ v)
    r = tq.optimize(kernel, "wormhole_b0")
    assert r.schedule.loop is not None and r.schedule.loop.live is not None
    assert any(sec.in_loop and sec.row_waits for sec in r.schedule.sections)
    whole = tq.optimize(kernel, load_arch("wormhole_b0", {"settings.row_waits": False}))
    assert r.cost_cycles < whole.cost_cycles
    r.verify(cores=[0])
