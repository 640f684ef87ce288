"""Interleaving the passes of two independent sections of a streaming loop.

The threads run a core's sections one after another, and DST couples math to pack: math may fill one DST half
while pack drains the other, so it runs at most one pass ahead of the packer. A pass that packs more than its
math takes (flash attention's exp pass on Wormhole packs P and L1-accumulates the row sums: two packs a tile)
then holds math back for its whole length, and the math-bound section after it (the next trip's Q K^T, run one
trip ahead) starts late. Run pass by pass alternately, the two share each thread: the exp pass's packs drain
while the Q K^T pass's math runs. Each pass keeps its own acquire..release; an engine both use is configured
again in every pass (its init moves into the pass), which the model charges with the DST coupling of a pair of
passes (`CostModel.joined_stage`).

Two sections may interleave when they are adjacent in a trip, have the same loop nest (row blocks and passes
per row block), and neither reads what the other packs in the same trip. The one case of a read across them is
a section one trip ahead packing the next trip's value of a CB the other reads this trip (S = Q K_(t+1)^T
while exp reads S_t): that CB then holds two trips' values. Which pairs interleave is priced like any other
scheduling choice: each adjacent pair in trip order, kept when the model says the kernel is cheaper. A masked
loop interleaves only in the trips where its mask holds everywhere (those it runs pipelined); the trips that
apply the mask run the sections apart.
"""

from __future__ import annotations

from collections.abc import Callable

from tteqsat.scheduling.model import CircularBuffer, DstSection, LoopInfo

MIN_GAIN = 1e-3  # an interleaving must save this fraction of the kernel's compute to be kept


def nest(sec: DstSection) -> tuple[int, int]:
    """The section's loop nest: row blocks, and passes per row block."""
    return sec.grid[0] // sec.rows, sec.grid[1] // sec.width


def grown_cbs(first: DstSection, second: DstSection) -> set[int] | None:
    """The CBs that must hold two values for `second`'s passes to run between `first`'s (None: they may not):
    the CBs `first` reads this trip that `second`, one trip ahead, packs the next trip's value of."""
    if first.packed_cbs & second.packed_cbs or second.read_cbs & first.packed_cbs:
        return None
    across = first.read_cbs & second.packed_cbs
    if across and not (second.ahead and not first.ahead):
        return None
    return across


def pairs(sections: list[DstSection], cbs: list[CircularBuffer], loop: LoopInfo | None) -> list[int]:
    """Positions p of the loop's sections whose passes may run between those of the section at p - 1. In a masked
    loop only with a section one trip ahead: the pair runs in its unmasked trips, pipelined, and its masked trips
    run the sections apart, in program order (`lookahead.in_order`)."""
    if loop is None:
        return []
    out = []
    for p in range(1, len(sections)):
        a, b = sections[p - 1], sections[p]
        if not (a.in_loop and b.in_loop) or a.interleaved or b.interleaved:
            continue
        if loop.live is not None and not b.ahead:
            continue
        if nest(a) != nest(b) or a.iterations < 2:
            continue
        grown = grown_cbs(a, b)
        if grown is None or any(cbs[cb].role != "intermediate" for cb in grown):
            continue
        out.append(p)
    return out


def interleave_loop(sections: list[DstSection], cbs: list[CircularBuffer], loop: LoopInfo | None,
                    price: Callable[[list[DstSection]], float], fits: Callable[[], bool]) -> list[DstSection]:
    """The sections with `interleaved` set on each one whose passes run between the previous section's, wherever
    that makes the kernel cheaper by `price` (pairs tried in trip order, each kept on its own saving) and the CBs
    it reads across, doubled, still fit L1 (`fits`)."""
    best = price(sections)
    for p in pairs(sections, cbs, loop):
        if sections[p - 1].interleaved:  # the previous pair was kept: its second section is taken
            continue
        sections[p].interleaved = True
        cycles = price(sections)
        grown = sorted(grown_cbs(sections[p - 1], sections[p]) or ())
        for cb in grown:
            cbs[cb].tiles *= 2
        if cycles < best * (1 - MIN_GAIN) and fits():
            best = cycles
            continue
        sections[p].interleaved = False
        for cb in grown:
            cbs[cb].tiles //= 2
    return sections
