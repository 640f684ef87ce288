"""Software pipelining of streaming loops (scheduling/lookahead.py): the sections that read only chunks run one
trip ahead, emitted with the first trip's copy before the loop and a last trip without them."""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import without_fpu_bcast

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost.timeline import Need, Stage, ahead_of_loop, pipelined_cycles
from tteqsat.frontend import reference
from tteqsat.lowering.mlir import emit_module
from tteqsat.scheduling.build import build_schedule
from tteqsat.sim import simulate
from tteqsat.sim.errors import SimulationError
from tteqsat.tools.timing_check import result_cycles


def attention(keys: int = 2048, d: int = 64, rows: int = 64) -> tq.Kernel:
    q = tq.tensor("q", (rows, d))
    k = tq.tensor("k", (keys, d))
    v = tq.tensor("v", (keys, d))
    return tq.kernel("attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)


def optimize(kernel: tq.Kernel, arch: str, lookahead: bool = True) -> tq.Result:
    return tq.optimize(kernel, load_arch(arch, {"settings.loop_lookahead": lookahead}), blocks=(), form="streaming")


def ahead_sections(result: tq.Result) -> list:
    return [sec for sec in result.schedule.sections if sec.ahead]


@pytest.mark.parametrize("arch", ["wormhole_b0", "blackhole"])
def test_qk_runs_one_trip_ahead_after_the_exp_pass_and_verifies(arch: str) -> None:
    kernel = attention()
    result = optimize(kernel, arch)
    ahead = ahead_sections(result)
    assert [sec.ops[0].kind for sec in ahead] == ["matmul"] and ahead[0].ops[0].attrs.get("transpose_b")
    body = [sec for sec in result.schedule.sections if sec.in_loop]
    s_cb = ahead[0].packs[0].cb
    readers = [n for n, sec in enumerate(body) if any(r.cb == s_cb for op in sec.ops for r in op.reads)]
    assert len(readers) == 2 and readers[-1] < body.index(ahead[0])  # the max and the exp pass read S before
    text = result.to_mlir()
    assert "run one trip ahead" in text and "the last trip: nothing left to compute ahead" in text
    for precision in ("exact", "hardware"):
        result.verify(precision=precision)
    # the same work as in program order: Q K^T once per chunk (before the loop, inside it, none in the last trip)
    plain = optimize(kernel, arch, lookahead=False)
    assert not ahead_sections(plain)
    calls = [r.verify().stats["ops.ttkernel.matmul_block"] for r in (result, plain)]
    assert calls[0] == calls[1]


def test_running_ahead_is_cheaper_in_the_model_and_in_the_timing_simulator() -> None:
    kernel = attention(4096, 128)
    on, off = optimize(kernel, "wormhole_b0"), optimize(kernel, "wormhole_b0", lookahead=False)
    assert on.schedule.cost_cycles < 0.97 * off.schedule.cost_cycles
    timed_on, timed_off = result_cycles(on), result_cycles(off)
    assert timed_on.timed < 0.97 * timed_off.timed  # the emitted reordering fills waits on the threads too
    assert timed_on.agrees() and timed_off.agrees()


def _inputs(result: tq.Result) -> dict[str, np.ndarray]:
    return result.kernel_inputs(reference.random_inputs(result.kernel, 0))


def test_a_pipelined_order_without_its_first_trip_deadlocks() -> None:
    """The reordered body run in program order (no copy before the loop): the max waits for an S never packed."""
    result = optimize(attention(), "wormhole_b0")
    broken = copy.deepcopy(result.schedule)
    for sec in broken.sections:
        sec.ahead = False
    with pytest.raises(SimulationError, match="deadlock"):
        simulate(emit_module(broken), _inputs(result))


def test_running_ahead_before_the_last_reader_of_its_value_deadlocks() -> None:
    """Q K^T of the next trip placed between the max and the exp pass would overwrite S before exp read it: the
    CB holds one trip's S, so its pack waits forever; the scheduler never offers that placement."""
    result = optimize(attention(), "wormhole_b0")
    broken = copy.deepcopy(result.schedule)
    body = [sec for sec in broken.sections if sec.in_loop]
    qk = next(sec for sec in body if sec.ahead)
    s_cb = qk.packs[0].cb
    first_reader = next(sec for sec in body if any(r.cb == s_cb for op in sec.ops for r in op.reads))
    broken.sections.remove(qk)
    broken.sections.insert(broken.sections.index(first_reader) + 1, qk)
    with pytest.raises(SimulationError, match="deadlock"):
        simulate(emit_module(broken), _inputs(result))


def test_a_causal_loop_runs_ahead_in_its_unmasked_trips_and_verifies_every_item() -> None:
    """A masked loop runs Q K^T ahead only in the run of trips where the mask holds everywhere (its mask op is
    not emitted there); the diagonal trips apply the mask in program order. 128 items (32-row blocks, in ranked
    groups of 8): q blocks from one chunk (all masked) to four (three unmasked, pipelined)."""
    q, k, v = (tq.tensor(n, (1, 2, 2048, 64)) for n in "qkv")
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(2048, 2048), q @ k.mT * 0.125, -np.inf)) @ v)
    result = tq.optimize(kernel, "wormhole_b0", form="streaming")  # shared, the fused form models cheaper here
    loop = result.schedule.loop
    assert loop.live is not None and loop.ragged is not None
    [qk] = ahead_sections(result)
    assert [op.kind for op in qk.ops] == ["matmul", "mask"]
    text = result.to_mlir()
    assert "// chunks that skip the mask; sections 2 run one trip ahead" in text
    assert text.count("the last trip: nothing left to compute ahead") == 1
    check = result.verify(precision="exact", cores="all")
    assert check.stats["verify.items"] == result.items == 128


def test_ahead_of_loop_runs_the_first_trip_before_and_the_last_after() -> None:
    """A produces, B reads it and packs slowly, C reads B. In program order C's math idles while B packs; with A
    one trip ahead (B, A, C) A's math fills that wait. The first trip's A runs before the loop, the last trip's
    B and C after it."""
    a = Stage(1, 0.0, 4.0, 1.0)
    b = Stage(1, 0.0, 2.0, 10.0, needs=(Need("body", 0, 1),))
    c = Stage(1, 0.0, 2.0, 1.0, needs=(Need("body", 1, 1),))
    trips = 6
    plain = pipelined_cycles([], [a, b, c], trips, [])
    b_ahead = replace(b, needs=(Need("prev", 1, 1),))  # B of trip t reads the A the trip before made for it
    c_ahead = replace(c, needs=(Need("body", 0, 1),))
    pre, body, post = ahead_of_loop([], [b_ahead, a, c_ahead], [], [False, True, False])
    assert pre == [a] and len(body) == 3 and len(post) == 2
    assert body[0].needs[0].first == 0  # the first trip's B waits for A's copy before the loop
    assert post[0].needs == (Need("body", 1, 1),)  # the last trip's B for the loop's last A
    assert post[1].needs == (Need("post", 0, 1),)  # the last trip's C for that B
    pipelined = pipelined_cycles(pre, body, trips - 1, post)
    assert pipelined < plain - 3 * (trips - 1)  # A's 4 math cycles hide in B's pack every trip


def test_hand_written_expert_schedules_keep_program_order() -> None:
    """The tt-metal expert programs (benchmarks/expert_sdpa.py) run their helpers in order: pinned."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from expert_sdpa import expert_program

    schedule = build_schedule(expert_program(64, 4096, 64, 512, 0.125), load_arch("wormhole_b0"))
    assert schedule.loop is not None and not any(sec.ahead for sec in schedule.sections)


def test_the_reader_fetches_the_chunks_ahead_first_so_a_dram_bound_grid_gains_too() -> None:
    """The reader follows the compute thread's order: K chunk t+1 before V chunk t. Reading V_t first (the order
    of a loop in program order) made this kernel, on 32 cores sharing DRAM, 2.8 % slower in the timing simulator
    with Q K^T ahead (48,406 against 47,089 cycles) while the model priced it 3.3 % faster. At the DRAM peak (the
    rate those numbers were timed at): at the sustained fraction the chip and the timing simulator now use, this
    kernel is DRAM-bound enough that running ahead gains nothing in either model (analytic 49,528 against 48,683,
    timing 50,220 against 49,231) and optimize takes the fused form. The streaming form both ways: the order
    within its loop is the subject (without lookahead the chip model now prefers the fused form by 0.4 %). With
    the max subtracted by sub_tiles against a broadcast tile (hw_fpu_bcast) the compute shrinks until the two
    orders tie in the timing simulator (43,088 against 43,082 cycles): the kernel keeps the unary_bcast +
    dest-reuse subtract, whose compute leaves the reader's order something to gain."""
    q, k, v = tq.tensor("q", (2, 8, 128, 64)), tq.tensor("k", (2, 8, 1024, 64)), tq.tensor("v", (2, 8, 1024, 64))
    kernel = tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v)
    apart = {"settings.share_inputs": False, "dram.sustained_fraction": 1.0}  # per-core reads, at the peak
    reuse = {"rules": without_fpu_bcast(), "shipped_rules": False, "check_rules": False}
    on = tq.optimize(kernel, load_arch("wormhole_b0", apart), form="streaming", **reuse)
    off = tq.optimize(kernel, load_arch("wormhole_b0", {**apart, "settings.loop_lookahead": False}), form="streaming",
                      **reuse)
    assert ahead_sections(on) and not ahead_sections(off)
    timed_on, timed_off = result_cycles(on), result_cycles(off)
    assert timed_on.timed < timed_off.timed and timed_on.analytic < timed_off.analytic
    assert timed_on.agrees(0.05)
