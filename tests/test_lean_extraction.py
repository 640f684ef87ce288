"""Extraction's lean candidate: when the programs it prices overflow L1, the program whose computed values need the
fewest CB tiles is priced too (extraction.greedy), so a form that fits is not lost to a choice each class made alone."""

from __future__ import annotations

import pytest

import tteqsat as tq
from tteqsat.extraction import greedy


def _attention_2x1024() -> tq.Kernel:
    """Two heads of 1024 queries and keys, d 64: with 256-row q blocks a fused item needs nearly all of L1."""
    q, k, v = (tq.tensor(n, (1, 2, 1024, 64)) for n in "qkv")
    return tq.kernel("attention", tq.softmax(q @ k.mT * 0.125) @ v)


def _pv_cb_bytes(r: tq.Result) -> int:
    """What reading P V from a CB in the normalise pass (a binary_dest_reuse) adds: one intermediate CB of the
    P V result, 256 rows x 64."""
    return (256 // 32) * (64 // 32) * r.arch.tile_bytes(r.schedule.dtype)


def test_a_fused_form_that_fits_only_with_pv_normalised_in_dst_is_found(monkeypatch) -> None:
    """Each class's cheapest form (the pass proxy, and the other proxies) reads P V from a CB to normalise it,
    and that intermediate makes the 256-row fused item overflow L1; keeping P V and the reciprocal in DST (one
    pass: bcast, matmul, sfpu2 mul) fits. Without the lean candidate the form does not fit at all."""
    kernel = _attention_2x1024()
    r = tq.optimize(kernel, "wormhole_b0", form="fused", blocks=(256,))
    budget = r.arch.l1_budget
    assert r.l1_bytes <= budget < r.l1_bytes + _pv_cb_bytes(r)  # the cut's CB would not fit beside the rest
    last = r.schedule.sections[-1]
    assert any(o.kind == "matmul" and not o.attrs.get("transpose_b") for o in last.ops)
    assert any(o.kind == "bcast" for o in last.ops)  # P V meets 1/rowsum in DST, in one pass
    pv = [cb for cb in r.schedule.cbs if cb.role == "intermediate" and any("transpose_b=0" in h for h in cb.holds)]
    assert pv == []
    r.verify()  # the lean program computes the kernel on the simulator

    monkeypatch.setattr(greedy._Best, "better", lambda self, other, lean: self.total < other.total - 1e-9)
    with pytest.raises(tq.KernelError, match="does not fit"):
        tq.optimize(kernel, "wormhole_b0", form="fused", blocks=(256,))


def test_the_lean_proxy_ranks_by_cb_tiles_then_cycles() -> None:
    """A form with fewer CB tiles wins under the lean proxy even when dearer; with equal tiles the cheaper wins;
    other proxies rank by cost alone."""
    node = greedy.ENode("n0", "hw_sfpu2", ("a", "b"), ("mul",))
    lean_dear = greedy._Best(120.0, {}, node, frozenset(), False, None, 0)
    cut_cheap = greedy._Best(100.0, {}, node, frozenset(), False, None, 16)
    assert lean_dear.better(cut_cheap, lean=True) and not cut_cheap.better(lean_dear, lean=True)
    assert cut_cheap.better(lean_dear, lean=False) and not lean_dear.better(cut_cheap, lean=False)
    same_tiles = greedy._Best(90.0, {}, node, frozenset(), False, None, 0)
    assert same_tiles.better(lean_dear, lean=True)
