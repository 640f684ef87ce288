"""Waiting for a value row block by row block instead of all at once.

A section waits (`cb_wait_front`) for the whole of every CB value it reads before its first pass, so P V in
flash attention starts only once the exp pass has packed all of P, though its first pass reads only P's first
tile row. Where a section is the only reader of a value and each of its row blocks reads only the matching
tile rows of it, the section may instead wait for one row block's tiles before that block's passes and pop
them after (tt-metal's 2026 SDPA waits for P a row group at a time). tt-metal's cb_api.h requires one page
count in every `cb_wait_front` on a CB in a kernel, so each block is waited for with the same count and
popped after its passes: the block's tiles are then at the CB's front, and the section reads them from index
0 (its reads' row coefficient becomes 0). The model prices the earlier start (`cost.timeline.Need.spread`);
the scheduler keeps a section's row waits only where the model says the kernel gets cheaper.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

from tteqsat.scheduling.model import CircularBuffer, DstSection

MIN_GAIN = 1e-4  # row waits must save this fraction of the kernel's compute to be kept


def _row_block(sec: DstSection, cb: int, tiles: int) -> int | None:
    """Tiles of one row block of the value in `cb` (`tiles` in all) when `sec` reads it row block by row block:
    every read of it is the row's tiles `ci * i + ck * k` with k inside the row, the value has the section's
    tile rows, and a pass takes one tile row."""
    reads = [(r, op) for op in sec.ops for r in op.reads if r.cb == cb]
    if not reads or sec.rows != 1:
        return None
    ci = reads[0][0].ci
    for r, op in reads:
        if r.diag is not None or r.cj != 0 or r.ci != ci or r.ck < 0 or r.ck * max(0, op.inner - 1) >= ci:
            return None
    return ci if ci > 0 and ci * sec.grid[0] == tiles and sec.grid[0] > 1 else None


def candidates(sections: list[DstSection], cbs: list[CircularBuffer]) -> list[tuple[int, int, int]]:
    """(position, cb, block tiles) of every computed value its one reader could wait for by row blocks: the
    section that waits for it is the one that pops it. (A masked loop's trips that skip dead tiles still push a
    page for each, so a row block's pages are all there.)"""
    out = []
    for pos, sec in enumerate(sections):
        for cb, tiles in sec.waits:
            if cbs[cb].role != "intermediate" or (cb, tiles) not in sec.pops:
                continue
            if any(cb in (c for c, _ in other.waits) for other in sections if other is not sec):
                continue
            block = _row_block(sec, cb, tiles)
            if block is not None:
                out.append((pos, cb, block))
    return out


def by_rows(sec: DstSection, cb: int, block: int) -> DstSection:
    """A copy of `sec` that waits for the value in `cb` a row block of `block` tiles at a time."""
    tiles = next(t for c, t in sec.waits if c == cb)
    out = copy.copy(sec)
    out.waits = [w for w in sec.waits if w != (cb, tiles)]
    out.pops = [p for p in sec.pops if p != (cb, tiles)]
    out.row_waits = [*sec.row_waits, (cb, block)]
    out.ops = [replace(op, reads=[replace(r, ci=0) if r.cb == cb else r for r in op.reads]) for op in sec.ops]
    return out


def wait_by_rows(sections: list[DstSection], cbs: list[CircularBuffer],
                 price: Callable[[list[DstSection]], float]) -> list[DstSection]:
    """The sections with row waits wherever they make the kernel cheaper by `price`, one candidate at a time in
    program order (each kept only when it saves MIN_GAIN of the compute)."""
    best = price(sections)
    for pos, cb, block in candidates(sections, cbs):
        trial = list(sections)
        trial[pos] = by_rows(sections[pos], cb, block)
        cycles = price(trial)
        if cycles < best * (1 - MIN_GAIN):
            sections, best = trial, cycles
    return sections
