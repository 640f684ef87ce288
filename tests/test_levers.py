"""Issue 10's levers for attention: each an op form or a setting the optimizer chooses, checked by simulation
where it is emitted and by the cost model where it is priced only."""

from __future__ import annotations

import warnings

import pytest

import tteqsat as tq
import tteqsat.extraction.loops as loops
from tteqsat.arch import load_arch
from tteqsat.extraction.program import HwOp


def attention(keys: int = 512, d: int = 64, rows: int = 64, dtype: str = "fp32") -> tq.Kernel:
    q, k, v = (tq.tensor(n, shape, dtype) for n, shape in (("q", (rows, d)), ("k", (keys, d)), ("v", (keys, d))))
    return tq.kernel("attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)


def accumulating(result: tq.Result) -> list:
    return [op for sec in result.schedule.sections if sec.in_loop for op in sec.ops
            if op.kind == "matmul" and op.dst_in]


def loop_adds(result: tq.Result) -> list:
    """SFPU adds in the loop onto a matmul's result grid: the state update O = alpha O_prev + P V, whether its pass
    holds the matmul or follows it."""
    loop = [sec for sec in result.schedule.sections if sec.in_loop]
    grids = {sec.grid for sec in loop if any(o.kind == "matmul" for o in sec.ops)}
    return [op for sec in loop if sec.grid in grids for op in sec.ops if op.kind == "sfpu2" and op.op == "add"]


def test_the_online_matmul_accumulates_onto_the_rescaled_state_in_a_32_bit_dst() -> None:
    """O = alpha O_prev + P V: with fp32 (32-bit DST) the matmul adds onto alpha O_prev in its DST slot
    instead of an SFPU add, and the simulated kernel matches the reference; with bf16 (16-bit DST) each K step
    would round the whole state, so the update keeps its add."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(attention(), "blackhole", form="streaming", blocks=())
        half = tq.optimize(attention(dtype="bf16"), "blackhole", form="streaming", blocks=())
    assert len(accumulating(res)) == 1 and not loop_adds(res)
    assert res.verify(precision="exact").max_rel_err < 1e-5
    assert not accumulating(half) and len(loop_adds(half)) == 1


def test_a_matmul_accumulating_onto_the_wrong_value_fails_verification(monkeypatch) -> None:
    """The check can fail: accumulate P V onto O_prev without its rescale (a plausible slip) and the
    simulated kernel no longer matches the reference."""
    real = loops._accumulate

    def unscaled(acc: HwOp, value: HwOp, shape, origin: str, alone: bool, wide_dst: bool = False) -> HwOp:
        out = real(acc, value, shape, origin, alone, wide_dst)
        if out.kind == "matmul" and acc.kind in ("reuse", "fpu", "sfpu2") and acc.op == "mul":  # alpha * O_prev
            prev = acc.operands[0] if acc.kind == "fpu" else acc.operands[1]  # drop alpha
            return HwOp("matmul", "matmul", (*out.operands[:2], prev), shape, dict(out.attrs), origin)
        return out

    monkeypatch.setattr(loops, "_accumulate", unscaled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tq.optimize(attention(), "blackhole", form="streaming", blocks=())
    assert len(accumulating(res)) == 1
    with pytest.raises(tq.VerificationError, match="out"):
        res.verify()


def test_sharing_k_and_v_across_the_cores_of_a_head_is_emitted_and_flagged() -> None:
    """settings.share_inputs: K/V read once per group of cores of a head, which the emitted readers do (one
    core of a group reads, NoC multicast to the others; tests/test_kv_share.py runs it); a DRAM-bound grid
    gets cheaper."""
    q, k, v = (tq.tensor(n, (1, 8, 4096, 64)) for n in "qkv")
    kernel = tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = tq.optimize(kernel, load_arch("blackhole", {"settings.share_inputs": False}), blocks=(128,))
        shared = tq.optimize(kernel, "blackhole", blocks=(128,))  # sharing is on by default
    assert alone.chip.shared == 1 and shared.chip.shared > 1
    assert shared.chip.dram_bytes < alone.chip.dram_bytes and shared.cost_cycles <= alone.cost_cycles
    assert any("multicasts them to the others" in note for note in shared.warnings)
    assert shared.schedule.grid is not None and shared.schedule.grid.share is not None
    assert "ttkernel.noc_async_write_multicast" in shared.to_mlir()
