"""The K/V-sharing fuzz mode (`benchmarks/fuzz.py --keys share`, `tools.fuzzshare`) draws kernels whose cores share
their reads, in ranked groups and in lockstep groups, with several work items a core; the cases it draws pass, and
they fail when a ranked group's receiver does not catch up with its sender after an item. Campaigns are in
benchmarks/README.md."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tteqsat.lowering.mlir import ComputeEmitter
from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzz import VERIFIED, Outcome, run_case, sharing_kind
from tteqsat.tools.fuzzcase import Case, to_source
from tteqsat.tools.fuzzshare import share_cases

_DRAWN: list[tuple[Case, Outcome]] = []


def drawn() -> list[tuple[Case, Outcome]]:
    """Five small cases: causal or unmasked attention over a few heads, 2 or 4 cores, a slow DRAM, streaming."""
    if not _DRAWN:
        @settings(max_examples=5, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(share_cases(q_tiles=(16,), keys=(512,), batches=((2,), (1, 2), (4,)), masks=("causal", "none"),
                           forms=("streaming",), cores=(2, 4), drams=(16.0, 8.0)))
        def one(case: Case) -> None:
            _DRAWN.append((case, run_case(case)))

        one()
    return _DRAWN


def test_shared_reads_with_several_items_a_core_pass() -> None:
    for case, outcome in drawn():
        assert not outcome.failed, f"{outcome.category}: {outcome.detail}\n\nrepro:\n{to_source(case)}"
    ok = [o.paths for _, o in drawn() if o.category in VERIFIED]
    kinds = [(sharing_kind(p), "several items a core" in p) for p in ok]
    assert ("ranked groups", True) in kinds, kinds
    assert ("lockstep groups", True) in kinds, kinds
    assert any("receivers skip chunks" in p and "several items a core" in p for p in ok), ok  # they catch up


def test_a_receiver_that_does_not_catch_up_with_its_sender_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the chunks a receiver skipped not popped after an item, its CBs do not stand where its sender's do
    for the next item's multicast: the fuzzer reports the simulation failing."""
    case = next(c for c, o in drawn() if "receivers skip chunks" in o.paths and "several items a core" in o.paths)
    monkeypatch.setattr(ComputeEmitter, "pop_unread", lambda *args: None)
    broken = run_case(case)
    assert broken.failed and broken.category == "simulation fails", broken
    assert any(s in broken.detail for s in ("has not reserved", "deadlock", "never popped")), broken.detail


def test_the_repro_names_the_block_heights() -> None:
    q, k, v = (fc.tensor(n, (64, 32), False) for n in "qkv")
    s = fc.where(fc.tri((64, 64), 0), "ts", (fc.scalar("*", fc.matmul(q, fc.transpose(k)), 0.125),), -np.inf)
    case = Case((q, k, v), (("o", fc.matmul(fc.softmax(s), v)),), cores=2, blocks=(32,))
    source = to_source(case)
    assert "cores=2, blocks=(32,)" in source
    namespace: dict = {}
    exec(compile(source, "<repro>", "exec"), namespace)
    assert namespace["result"].block == 32 and namespace["result"].items == 2
