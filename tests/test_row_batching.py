"""Several tile rows per DST acquire: a pass over whole rows (an R x 1 column of row statistics, say) takes as
many rows as DST holds when the model prices it cheaper; each row's tiles get slots of their own, the emitted
kernel verifies on the simulator, a wrong slot for the second row fails, and hand-written expert schedules keep
one row per acquire."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.pipeline import VerificationError
from tteqsat.scheduling.build import build_schedule

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from expert_sdpa import expert_program  # noqa: E402


@pytest.fixture(scope="module")
def rowexp() -> tq.Result:
    x = tq.tensor("x", (256, 64))
    return tq.optimize(tq.kernel("rowexp", tq.exp(x.max(axis=-1) * 0.5)), blocks=())


def test_a_column_of_row_statistics_takes_several_rows_per_acquire(rowexp: tq.Result) -> None:
    (sec,) = rowexp.schedule.sections
    assert (sec.grid, sec.width, sec.rows, sec.iterations) == ((8, 1), 1, 4, 2)  # 8 rows would leave one pass
    assert sec.slots == 4 <= rowexp.schedule.dst_capacity                        # nothing to overlap with
    text = rowexp.to_mlir()
    assert "4 tile rows per acquire" in text
    assert text.count('"ttkernel.tile_regs_acquire"') == 2  # the scaler fill's and the one pass's (in a loop)
    check = rowexp.verify(seed=0)
    assert check.precision == "hardware" and check.max_rel_err <= check.tolerance


def test_the_second_row_packed_from_the_first_rows_slot_fails_verification(rowexp: tq.Result) -> None:
    text = rowexp.to_mlir()
    out_cb = rowexp.schedule.sections[0].packs[0].cb
    right = f'"ttkernel.pack_tile"(%c1, %cb{out_cb},'
    assert text.count(right) == 1
    rowexp._mlir = text.replace(right, f'"ttkernel.pack_tile"(%c0, %cb{out_cb},')
    try:
        with pytest.raises(VerificationError, match=r"output 'out' differs from the reference"):
            rowexp.verify(seed=0)
    finally:
        rowexp._mlir = text


def test_row_batching_prices_fewer_handshakes_and_inits() -> None:
    """The same pass at one row per acquire costs a handshake and its init switches per extra pass more."""
    x = tq.tensor("x", (256, 64))
    program = tq.optimize(tq.kernel("rowexp", tq.exp(x.max(axis=-1) * 0.5)), blocks=()).program
    arch = load_arch("wormhole_b0")
    batched = build_schedule(program, arch).sections[0]
    program.one_row_per_pass = True
    single = build_schedule(program, arch).sections[0]
    assert (single.rows, single.iterations, batched.rows, batched.iterations) == (1, 8, 4, 2)
    sync, init = arch.num("sync.section"), arch.num("sync.init")
    saved = 6 * (sync + single.inits_per_iteration * init)
    assert single.cycles - batched.cycles == pytest.approx(saved, rel=0.05)


def test_attention_with_row_batched_statistics_verifies() -> None:
    q, k, v = tq.tensor("q", (128, 64)), tq.tensor("k", (1024, 64)), tq.tensor("v", (1024, 64))
    s = tq.where(tq.tri(128, 1024, k=512), q @ k.T * 0.125, -np.inf)
    result = tq.optimize(tq.kernel("attn", tq.softmax(s, axis=-1) @ v), blocks=(), split=False, form="streaming")
    assert result.chosen == "streaming"
    assert any(sec.rows > 1 and sec.in_loop for sec in result.schedule.sections)
    result.verify(seed=1)


def test_expert_schedules_keep_one_row_per_acquire() -> None:
    arch = load_arch("wormhole_b0")
    for variant in ("2024", "2025"):
        schedule = build_schedule(expert_program(256, 4096, 64, 512, 0.125, "bf16", variant), arch)
        assert all(sec.rows == 1 for sec in schedule.sections)
        assert any(sec.grid[1] == 1 and sec.slots * 2 <= schedule.dst_capacity for sec in schedule.sections)
