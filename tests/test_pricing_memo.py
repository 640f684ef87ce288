"""What the chip model keeps between its questions changes no answer (tteqsat.scheduling.timing, cost.chip).

Pricing a causal kernel over the grid asks the per-core pipeline for thousands of (row blocks, rate) pairs:
the stages at a rate, the pipeline of a list of trip counts, a block's live trips and a pipeline's samples
are kept and reused. Scheduling keeps a section's stage by its content and, over one frame's search, the sections
it built. Each must give exactly what computing it afresh gives (the optimizer's output is byte-identical for the
same input), and a sample must be taken once however many pipelines wrap it.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import tteqsat as tq
import tteqsat.scheduling.frames as frames
from tteqsat.cost.chip import CorePipeline, _with_waits
from tteqsat.cost.model import TensixCostModel
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.model import Schedule
from tteqsat.scheduling.timing import items_pipeline, kernel_cycles, pipeline_rates

RATES = (1.0, 3.65, 7.3, 32.0)


@pytest.fixture(scope="module")
def causal() -> tq.Result:
    q, k, v = (tq.tensor(n, (1, 4, 2048, 64)) for n in "qkv")
    kernel = tq.kernel("causal", tq.softmax(tq.where(tq.tri(2048, 2048), q @ k.mT * 64 ** -0.5, -np.inf)) @ v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(kernel, "wormhole_b0", form="streaming", blocks=(256,), chunks=(256,))


def test_a_shared_memo_gives_exactly_what_each_call_alone_gives(causal: tq.Result) -> None:
    model = TensixCostModel(causal.arch)
    schedule = causal.schedule
    blocks = list(range(schedule.blocks))
    assert schedule.loop is not None and schedule.loop.live is not None  # the masked case, where trips differ
    memo: dict = {}
    asked = [(own, rate, hops) for own in (blocks, blocks[:3], blocks[::2], blocks[-1:], blocks[:3])
             for rate in RATES for hops in (None, 2)]
    for own, rate, hops in asked + asked:  # the second round answers from the memo
        alone = kernel_cycles(model, schedule, len(own), rate, own, hops=hops)
        assert kernel_cycles(model, schedule, len(own), rate, own, hops=hops, memo=memo) == alone, (own, rate, hops)
    assert any(key[0] == "pipelined" for key in memo) and any(key[0] == "stages" for key in memo)


def test_a_memo_is_for_one_schedule(causal: tq.Result) -> None:
    """The memo is keyed by rate, hops and trips, not by schedule: shared with another schedule it answers
    wrongly, which is why the optimizer keeps one per schedule it prices (pipeline.on_grid)."""
    model = TensixCostModel(causal.arch)
    wide, narrow = (_exp_schedule(cols) for cols in (2048, 512))
    memo: dict = {}
    assert kernel_cycles(model, wide, 1, 7.3, memo=memo) == kernel_cycles(model, wide, 1, 7.3)
    assert kernel_cycles(model, narrow, 1, 7.3) < kernel_cycles(model, wide, 1, 7.3)
    assert kernel_cycles(model, narrow, 1, 7.3, memo=memo) == kernel_cycles(model, wide, 1, 7.3)  # the wrong one


def _exp_schedule(cols: int) -> Schedule:
    q = tq.tensor("q", (1, 4, 64, cols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.optimize(tq.kernel("e", tq.exp(q)), "wormhole_b0").schedule


def test_an_items_pipeline_samples_each_rate_once_whatever_the_count(causal: tq.Result) -> None:
    model = TensixCostModel(causal.arch)
    own = tuple(range(causal.schedule.blocks))
    pipe = items_pipeline(model, causal.schedule, own)
    rate = pipeline_rates(model)[5]
    direct = kernel_cycles(model, causal.schedule, len(own), rate, list(own))
    assert pipe.sample(1, rate) == pipe.sample(3, rate) == direct
    assert pipe.cycles(len(own), rate) == direct  # its own items, whatever count the chip model names


def test_waits_reuse_the_samples_of_the_pipeline_they_wrap() -> None:
    taken: list[tuple[int, float]] = []

    def sample(items: int, rate: float) -> float:
        taken.append((items, rate))
        return 100.0 * items + 400.0 / rate

    base = CorePipeline(sample, (1.0, 2.0, 4.0))
    waited = [_with_waits(base, w) for w in (5.0, 7.0, 11.0)]
    for pipe, w in zip(waited, (5.0, 7.0, 11.0), strict=True):
        for items in (1, 2, 5):
            for rate in (1.5, 3.0, 8.0):
                fresh = CorePipeline(lambda n, r, w=w: sample(n, r) + n * w, base.rates)
                assert pipe.cycles(items, rate) == fresh.cycles(items, rate)
    taken.clear()
    for pipe in waited:
        pipe.cycles(5, 3.0)
    assert taken == []  # every sample was taken before, by the base the waits wrap
    assert base.cycles(5, 3.0) == base.cycles(5, 3.0)


def test_a_parsed_mask_is_the_mask_and_bad_text_still_says_why() -> None:
    band = tq.tri(64, 64) & ~tq.tri(64, 64, -8)
    assert Mask.parse(band.text) == band and Mask.parse(band.text) is Mask.parse(band.text)
    with pytest.raises(ValueError, match="ROWSxCOLS"):
        Mask.parse("tri(0)")
    with pytest.raises(ValueError, match="ROWSxCOLS"):
        Mask.parse("tri(0)")  # an error is not kept as an answer


def test_a_section_changed_after_it_was_priced_is_priced_afresh(causal: tq.Result) -> None:
    """`TensixCostModel.stage` keeps its answers by the section's content: sections are mutable dataclasses (the
    scheduler sets their rows, the pricing of masked trips their ops), so a section changed in place must get the
    stage a fresh model gives it, never the one it had (which an answer kept by identity would return)."""
    model = TensixCostModel(causal.arch)
    sec = copy.deepcopy(max(causal.schedule.sections, key=lambda s: (s.width, len(s.ops))))  # 8 tiles a pass
    first = model.stage(sec)
    assert first == TensixCostModel(causal.arch).stage(sec) and model.stage(sec) is first
    changes = [lambda s: setattr(s, "width", 1), lambda s: setattr(s.ops[0], "work", s.ops[0].work.scaled(50)),
               lambda s: s.ops[0].reads.clear(), lambda s: setattr(s, "engines", s.engines.scaled(2))]
    for change in changes:
        before = model.stage(sec)
        change(sec)
        fresh = TensixCostModel(causal.arch).stage(sec)
        assert fresh != before  # the change matters to the price
        assert model.stage(sec) == fresh

    class OwnCalls(TensixCostModel):  # a model that prices a pass's calls its own way may read more of a section
        def pass_calls(self, section):
            return super().pass_calls(section)

    custom = OwnCalls(causal.arch)
    assert custom.stage(sec) == model.stage(sec) and custom.stage(sec) is not custom.stage(sec)  # priced each time


@pytest.mark.parametrize("kernel", ["attention", "layernorm"])
def test_the_frame_search_schedules_alike_without_its_memos(kernel: str, monkeypatch) -> None:
    """The frame search keeps the sections it built (by members and CBs) and the row layouts a build priced, and the
    model its stages: with all three off, the same kernel gets the same schedule and the same emitted text, after
    building more sections."""
    if kernel == "attention":
        q, k, v = tq.tensor("q", (64, 64)), tq.tensor("k", (256, 64)), tq.tensor("v", (256, 64))
        made = tq.kernel("attention", tq.softmax(q @ k.T * 0.125) @ v)
    else:
        x = tq.tensor("x", (128, 256))
        centered = x - x.mean(axis=-1)
        made = tq.kernel("layernorm", centered * tq.rsqrt((centered * centered).mean(axis=-1) + 1e-5))
    real_build, real_try = frames.build_section, frames._try_frame
    builds: list[int] = []

    def counted(*args, **kw):
        builds.append(1)
        return real_build(*args, **kw)

    monkeypatch.setattr(frames, "build_section", counted)
    kept = tq.optimize(made, "wormhole_b0")
    with_memos = len(builds)
    builds.clear()
    monkeypatch.setattr(frames, "build_section", lambda *args, layouts=None, **kw: counted(*args, **kw))
    monkeypatch.setattr(frames, "_try_frame", lambda *args, built=None, **kw: real_try(*args[:8], **kw))
    monkeypatch.setattr(TensixCostModel, "stage", lambda self, section, needs=(): self._stage(section, needs))
    fresh = tq.optimize(made, "wormhole_b0")
    assert len(builds) > with_memos
    assert fresh.cost_cycles == kept.cost_cycles and fresh.chosen == kept.chosen
    assert fresh.to_mlir() == kept.to_mlir()
