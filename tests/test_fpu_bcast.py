"""`hw_fpu_bcast`: add/sub/mul_tiles whose second operand is one broadcast tile per tile row (column), read again for
every tile column (row) of the output, as tt-metal's sub_tiles_bcast_cols reads the max. The form replaces a
unary_bcast into DST plus a dest-reuse op per tile (two FPU configurations per pass) by one FPU op: extraction
chooses it, the emitted kernels verify against the oracle, the emitted sub_tiles reads the same tile of the
broadcast CB across a row, a kernel reading the wrong tile fails verification, and the model prices it cheaper."""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
from conftest import without_fpu_bcast

import tteqsat as tq
from tteqsat.extraction.program import HwOp
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.model import TileRead
from tteqsat.tools.timing_check import result_cycles

SCALE = 0.125


def _attention(keys: int, d: int = 64, rows: int = 64) -> tq.Kernel:
    q = tq.tensor("q", (rows, d), "bf16")
    k = tq.tensor("k", (keys, d), "bf16")
    v = tq.tensor("v", (keys, d), "bf16")
    return tq.kernel("attention", tq.softmax(q @ k.T * SCALE, axis=-1) @ v)


def _scaled_rows() -> tq.Kernel:
    """exp(x * gamma + beta) with gamma, beta one row each: broadcasts over rows (a layernorm's affine tail)."""
    x = tq.tensor("x", (96, 128), "bf16")
    g = tq.tensor("g", (1, 128), "bf16")
    b = tq.tensor("b", (1, 128), "bf16")
    return tq.kernel("affine", tq.exp(x * g + b))


def _bcast_ops(result: tq.Result) -> list[HwOp]:
    return [op for op in result.program.ops() if op.kind == "fpu" and op.attrs.get("bcast")]


@functools.cache
def _optimized(kernel: str, arch: str, fpu_bcast: bool = True) -> tq.Result:
    k = {"attention": lambda: _attention(512), "softmax": lambda: tq.kernel(
        "softmax", tq.softmax(tq.tensor("x", (64, 256), "bf16"), axis=-1)), "affine": _scaled_rows}[kernel]()
    if fpu_bcast:
        return tq.optimize(k, arch, blocks=())
    return tq.optimize(k, arch, blocks=(), rules=without_fpu_bcast(), shipped_rules=False, check_rules=False)


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
@pytest.mark.parametrize("kernel", ["attention", "softmax", "affine"])
def test_chosen_and_verified(kernel: str, arch: str) -> None:
    r = _optimized(kernel, arch)
    ops = _bcast_ops(r)
    assert ops, "extraction did not choose the broadcast-tile form"
    for op in ops:
        b = op.operands[1]
        along = 1 if op.attrs["bcast"] == "cols" else 0
        assert b.kind == "bcast" and b.shape[along] == 32 and op.shape[along] > 32
    r.verify()


def test_both_axes_are_covered() -> None:
    assert {op.attrs["bcast"] for op in _bcast_ops(_optimized("affine", "wormhole_b0"))} == {"rows"}
    assert {op.attrs["bcast"] for op in _bcast_ops(_optimized("softmax", "wormhole_b0"))} == {"cols"}


def test_emitted_reads_one_tile_per_row() -> None:
    """In the emitted attention, every sub_tiles of a pass reads tile index 0 or a row's index of the broadcast
    CB while its first operand walks the row: the same broadcast tile for every tile column."""
    r = _optimized("attention", "wormhole_b0")
    text = r.to_mlir()
    calls = re.findall(r'"ttkernel\.sub_tiles"\(([^)]*)\)', text)
    assert calls
    second = {c.split(",")[3].strip() for c in calls}
    first = {c.split(",")[2].strip() for c in calls}
    assert len(first) > len(second)  # several tiles of S against fewer tiles of the broadcast max


def test_reading_the_wrong_broadcast_tile_fails() -> None:
    """The check is live: read the broadcast CB as if it held the full matrix and verification fails."""
    r = _optimized("softmax", "wormhole_b0")
    broken = dataclasses.replace(r, schedule=dataclasses.replace(r.schedule), _mlir=None)
    hit = 0
    sections = []
    for sec in r.schedule.sections:
        ops = []
        for op in sec.ops:
            if op.kind == "fpu" and op.attrs.get("bcast"):
                wrong = TileRead(op.reads[1].cb, 0, 1)  # tile j of the one-tile-wide CB: past its row's tile
                op = dataclasses.replace(op, reads=[op.reads[0], wrong])
                hit += 1
            ops.append(op)
        sections.append(dataclasses.replace(sec, ops=ops))
    assert hit
    broken.schedule.sections = sections
    with pytest.raises((VerificationError, tq.KernelError)):
        broken.verify()


@pytest.mark.parametrize("arch, at_most", [("blackhole", 0.95), ("wormhole_b0", 0.99)])
def test_cheaper_than_bcast_and_dest_reuse(arch: str, at_most: float) -> None:
    """One FPU configuration per pass instead of two: flash attention's exp pass (and the normalisation) cost less,
    most on Blackhole, whose exp pass is bound by the math thread rather than the packer."""
    new = _optimized("attention", arch).schedule.cost_cycles
    old_result = _optimized("attention", arch, fpu_bcast=False)
    assert not _bcast_ops(old_result)
    assert new <= at_most * old_result.schedule.cost_cycles


def test_the_timing_simulator_sees_the_gain() -> None:
    """The timing simulator runs both emitted kernels (sub_tiles against the broadcast tile, or unary_bcast + dest
    reuse) with per-op costs and the two source banks: it finds the new form faster too, by an amount within 5 points
    of the model's, and each kernel within the analytic model's tolerance of it."""
    new, old = result_cycles(_optimized("attention", "blackhole")), result_cycles(
        _optimized("attention", "blackhole", fpu_bcast=False))
    assert new.agrees() and old.agrees(), (new, old)
    model_gain, sim_gain = new.analytic / old.analytic, new.timed / old.timed
    assert sim_gain < 0.97 and abs(model_gain - sim_gain) < 0.05, (model_gain, sim_gain)
