"""A split over keys prices every part count's kernels and keeps one count; the unmasked width retry
(pipeline.optimize: an unmasked loop's neighbouring chunk widths priced on the grid where its grid time waits more
than WAIT_RETRY) runs after the choice (`Result._widen`) for the cheapest count's kernels and for any other count
priced within SPLIT_RETRY_GAIN of the cheapest retried, so the counts it cannot change pay no retries.
A kernel that is not split retries at once, as before."""

from __future__ import annotations

import warnings

import pytest

import tteqsat as tq
from tteqsat import pipeline


def decode() -> tq.Kernel:
    """Grouped-query decode, 32 q heads over 8 K/V heads, one q row against 16384 keys: 8 work items, so the keys
    split over parts; extraction alone streams the parts' keys in 1024-key chunks, the grid prefers 512."""
    q = tq.tensor("q", (1, 32, 1, 128))
    k, v = (tq.tensor(n, (1, 8, 16384, 128)) for n in "kv")
    k, v = (tq.repeat(x, 4, axis=1) for x in (k, v))
    return tq.kernel("decode", tq.softmax(q @ k.mT * 128 ** -0.5) @ v)


def retries(monkeypatch: pytest.MonkeyPatch, kernel: tq.Kernel, retry_at_once: bool = False
            ) -> tuple[tq.Result, list[tuple[str, int]]]:
    """`kernel` optimized on Wormhole, and the width retries run: (kernel name, keys of its `k` input) each.
    `retry_at_once`: every kernel retries as it is optimized, the split's parts too (before deferral)."""
    seen: list[tuple[str, int]] = []
    search = pipeline._search_form

    def counted(*args, **kw):
        if kw.get("width") is not None:
            element = args[5]
            keys = {n.attr("name"): n.shape[-2] for n in element.inputs}
            seen.append((element.name, keys.get("k", 0)))
        return search(*args, **kw)

    monkeypatch.setattr(pipeline, "_search_form", counted)
    if retry_at_once:
        optimize = pipeline.optimize

        def at_once(*args, _defer_widths: bool = False, **kw):
            return optimize(*args, **kw)

        monkeypatch.setattr(pipeline, "optimize", at_once)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.optimize(kernel, "wormhole_b0"), seen


def width(result: tq.Result) -> int:
    assert result.schedule.loop is not None
    return result.schedule.loop.streams[0].width


def test_only_the_chosen_part_count_retries_its_widths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured when written: 2 parts of 8192 keys, 512-key chunks, 308,980 cycles either way; retrying every
    count ran 11 retries in the parts' kernels, 3 of them in the chosen count's, deferred 3. Without the retry the
    parts stream 1024-key chunks, 309,958 cycles (0.3 % dearer)."""
    result, seen = retries(monkeypatch, decode())
    monkeypatch.undo()
    at_once, seen_at_once = retries(monkeypatch, decode(), retry_at_once=True)
    assert result.split is not None and at_once.split is not None
    parts = result.split.kv.parts
    part_keys = 16384 // parts
    in_parts = [s for s in seen if s[0] == "decode_part"]
    in_parts_at_once = [s for s in seen_at_once if s[0] == "decode_part"]
    assert in_parts and {keys for _, keys in in_parts} == {part_keys}  # the chosen count's kernel only
    assert {keys for _, keys in in_parts_at_once} > {part_keys}  # the check tells: retrying at once tries others
    assert len(in_parts) < len(in_parts_at_once)
    assert [s for s in seen if s[0] == "decode"] == [s for s in seen_at_once if s[0] == "decode"]  # the unsplit
    assert at_once.split.kv.parts == parts and width(result) == width(at_once)
    assert result.cost_cycles <= 1.01 * at_once.cost_cycles  # measured equal
    assert result.to_mlir() == at_once.to_mlir()


def test_the_retry_moves_the_chosen_parts_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deferred retry is not idle: without it (`_widened` returning the result as it is) the chosen count's
    parts stream in other chunks and price dearer."""
    result, _ = retries(monkeypatch, decode())
    monkeypatch.setattr(pipeline, "_widened", lambda r: r)
    unretried, _ = retries(monkeypatch, decode())
    assert result.split is not None and unretried.split is not None
    assert width(result) != width(unretried) and result.cost_cycles < unretried.cost_cycles


def test_a_kernel_not_split_retries_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """x @ w over 4096 columns (tests/test_chunk_width_search.py): no split, its retries run inside optimize."""
    x, w = tq.tensor("x", (1, 4, 128, 4096)), tq.tensor("w", (1, 4, 4096, 64))
    result, seen = retries(monkeypatch, tq.kernel("contraction", x @ w))
    assert result.split is None and result._widen is None and seen


def test_a_count_priced_dearer_before_its_retries_may_win_after_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blackhole MQA decode, 32 q heads on one K/V head over 65536 keys. Measured when written: 32 parts are priced
    cheapest before the retries and gain nothing from theirs (146,168 cycles, 256-key chunks); 16 parts, priced
    within SPLIT_RETRY_GAIN above, retry to 512-key chunks and 140,520 cycles. Retrying only the cheapest count
    (session 15) kept 32 parts."""
    q = tq.tensor("q", (1, 32, 1, 128))
    k, v = (tq.repeat(tq.tensor(n, (1, 1, 65536, 128)), 32, axis=1) for n in "kv")
    kernel = tq.kernel("mqa", tq.softmax(q @ k.mT * 128 ** -0.5) @ v)
    prices = pipeline.Prices()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pipeline.optimize(kernel, "blackhole", prices=prices)
        monkeypatch.setattr(pipeline, "SPLIT_RETRY_GAIN", 0.0)
        cheapest_only = pipeline.optimize(kernel, "blackhole", prices=prices)
    assert result.split is not None and cheapest_only.split is not None
    assert (result.split.kv.parts, cheapest_only.split.kv.parts) == (16, 32)
    assert result.cost_cycles < 0.97 * cheapest_only.cost_cycles
