"""A section that turns a value into another packs the result over it, in one CB.

In flash attention's trip the exp pass reads S (the chunk's scores) and packs P = exp(s (S - m)) with the same
tiles in the same order, and nothing reads S after it: S and P need not hold L1 at once. tt-metal's SDPA packs P
over S in its `qk_im` CB (`sub_exp_block_bcast_cols_inplace`): it pops each S tile once read and pushes its P tile
behind the rest of S. Here the section pops the pass's S tiles after the pass's unpacks (`DstSection.pass_pops`),
so its next pass finds its tiles at the CB's front (its reads of S index the pass's own tiles: `ci` 0, the column
less the pass's first), and the packer reserves the pages just freed. Every `cb_wait_front` on the CB waits for the
whole value (tt-metal cb_api.h: one page count a CB): the readers of S before the exp pass and the reader of P
after it. The CB then holds one value's tiles, not two.

Derived schedules take it only where the CBs would not fit L1 otherwise (`build.build_schedule` tries it after
single-buffered streams); the expert programs (`Program.in_order`) always, as tt-metal's SDPA. Only in a loop that
runs its sections in program order: a section one trip ahead (`lookahead.py`) packs the
next trip's S while this trip's P waits for its reader, so both would need their pages.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from tteqsat.scheduling.model import CircularBuffer, DstSection, LoopInfo, TensorArg


def candidates(sections: list[DstSection], cbs: list[CircularBuffer]) -> list[tuple[int, int, int]]:
    """(position, cb read, cb packed) of every loop section that could pack its result over the value it reads
    last: it pops that value whole after its passes (an earlier reader may have waited for it), reads each tile
    of it once at the tile's own position (row by row, `width` adjacent tiles a pass, one tile row a pass), and
    packs one value of as many tiles, tile for tile, into a CB of its own that holds it alone."""
    out = []
    for pos, sec in enumerate(sections):
        if not sec.in_loop or sec.ahead or sec.interleaved or sec.rows != 1 or sec.row_waits or sec.pass_pops:
            continue
        rows, cols = sec.grid
        if cols % sec.width:
            continue
        for x, tiles in sec.pops:  # its wait may be an earlier reader's
            if not _alone(cbs[x], tiles) or rows * cols != tiles:
                continue
            reads = [r for op in sec.ops for r in op.reads if r.cb == x]
            if not reads or any(r.diag is not None or (r.ci, r.cj, r.ck) != (cols, 1, 0) for r in reads):
                continue
            plain = [pk.cb for pk in sec.packs if not pk.accumulate]
            for y in plain:
                if y != x and plain.count(y) == 1 and _alone(cbs[y], tiles) and cbs[y].dtype == cbs[x].dtype:
                    out.append((pos, x, y))
                    break
    return out


def _alone(cb: CircularBuffer, tiles: int) -> bool:
    return cb.role == "intermediate" and cb.tiles == tiles and len(cb.holds) == 1 and cb.tile_order == "rows"


def pack_over(sections: list[DstSection], cbs: list[CircularBuffer], pos: int, x: int, y: int,
              loop: LoopInfo | None, args: list[TensorArg]) -> tuple[list[DstSection], list[CircularBuffer]]:
    """The sections and CBs with section `pos` packing its value over the one it reads in `x`: CB `y` is gone,
    its value in `x`, the CBs after it renumbered (the CB objects, `loop` and `args` in place; the sections
    copied)."""

    def cb(c: int) -> int:
        c = x if c == y else c
        return c - 1 if c > y else c

    def pairs(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(cb(c), n) for c, n in items]

    renumbered = []
    for n, s in enumerate(sections):
        s = copy.copy(s)
        if n == pos:  # x popped pass by pass, not after the passes; each pass reads its own tiles at the front
            s.pops = [p for p in s.pops if p[0] != x]
            s.pass_pops = [(x, s.tiles)]
        s.ops = [replace(op, reads=[replace(r, cb=cb(r.cb), ci=0 if n == pos and r.cb == x else r.ci)
                                    for r in op.reads]) for op in s.ops]
        s.packs = [replace(pk, cb=cb(pk.cb)) for pk in s.packs]
        s.waits, s.pops = pairs(s.waits), pairs(s.pops)
        s.row_waits, s.pass_pops = pairs(s.row_waits), pairs(s.pass_pops)
        renumbered.append(s)
    cbs[x].holds = [*cbs[x].holds, *cbs[y].holds]
    kept = [c for c in cbs if c.id != y]
    for n, c in enumerate(kept):
        c.id = n
    if loop is not None:
        loop.fills = [replace(f, cb=cb(f.cb)) for f in loop.fills]
        loop.streams = [replace(st, cb=cb(st.cb)) for st in loop.streams]
        loop.waits, loop.pops, loop.drains = pairs(loop.waits), pairs(loop.pops), pairs(loop.drains)
    for a in args:
        if a.cb >= 0:
            a.cb = cb(a.cb)
    return renumbered, kept
