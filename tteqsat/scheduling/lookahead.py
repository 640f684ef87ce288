"""Software pipelining of a streaming loop: sections that need only the trip's chunks run one trip ahead.

In a trip of flash attention every section waits for the one before it: the row max for all of S = Q K^T,
exp for the max, P V for P. The core's three threads run the sections in program order, so each wait leaves
the unpacker and math idle while the packer finishes the last pass. A section that reads only chunks and
values from before the loop (Q K^T) does not depend on the trip before it, so it may compute the next trip's
value instead, placed after the last section that reads this trip's (trip t: max_t, exp_t, S_(t+1) = Q K_(t+1)^T,
P_t V_t, ...). Its unpack and math then fill the waits of the sections after it. The first trip's copy runs
before the loop and the last trip has none (`cost.timeline.ahead_of_loop` prices exactly that layout,
`lowering.mlir` emits it).

Which sections go ahead and where is a scheduling choice priced like any other: every valid position of the
group is priced through the pipeline and the cheapest kept, or none when no position beats program order. A
masked loop (its trips per work item differ: masked, unmasked, masked) runs them ahead only in its unmasked run
of trips, where no mask op is emitted; its masked trips run in program order (`in_order`). The CB a section
ahead packs holds one trip's value: the readers of trip t's value all run before the section overwrites it with
trip t+1's, so no CB grows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from tteqsat.scheduling.model import CircularBuffer, DstSection, LoopInfo

# CB roles a section one trip ahead may read: chunks of the trip, and values that are there before the loop
BEFORE_LOOP = ("stream", "input", "export", "scaler", "arange", "mask")
MIN_GAIN = 1e-3  # a reordering must save this fraction of the kernel's compute to be kept


def ahead_group(sections: list[DstSection], cbs: list[CircularBuffer], masks_dropped: bool = False
                ) -> list[DstSection]:
    """The loop's sections that may run one trip ahead: each reads chunks, values from before the loop, or what
    another of them packs; none packs loop state; each CB they pack is packed by no other section; each chunk
    stream they read is read only by them (its pages are popped a trip ahead). None applies a mask, unless
    `masks_dropped`: a masked loop runs sections ahead only in the trips where the mask holds everywhere."""
    body = [sec for sec in sections if sec.in_loop]
    group = [sec for sec in body if (masks_dropped or not any(op.kind == "mask" for op in sec.ops))
             and all(cbs[cb].role != "state" for cb in sec.packed_cbs)]
    changed = True
    while changed:
        packed = {cb for sec in group for cb in sec.packed_cbs}
        keep = []
        for sec in group:
            others = [o for o in sections if o is not sec and o not in group]
            ok = all(cbs[cb].role in BEFORE_LOOP or cb in packed for cb in sec.read_cbs)
            ok = ok and not any(sec.packed_cbs & o.packed_cbs for o in others)
            ok = ok and not any(cbs[cb].role == "stream" and cb in o.read_cbs
                                for cb in sec.read_cbs for o in others if o.in_loop)
            ok = ok and not any(cb in o.read_cbs for cb in sec.packed_cbs for o in others if not o.in_loop)
            if ok:
                keep.append(sec)
        changed = len(keep) != len(group)
        group = keep
    return group


def orders(sections: list[DstSection], group: list[DstSection]) -> list[list[DstSection]]:
    """Every placement of `group` (in its program order) among the loop's other sections after the last one
    that reads what it packs, except the end (program order again, one trip shifted)."""
    body = [sec for sec in sections if sec.in_loop]
    rest = [sec for sec in body if sec not in group]
    packed = {cb for sec in group for cb in sec.packed_cbs}
    readers = [n for n, sec in enumerate(rest) if sec.read_cbs & packed]
    if not readers:
        return []
    start = sections.index(body[0])
    out = []
    for cut in range(readers[-1] + 1, len(rest)):
        order = rest[:cut] + group + rest[cut:]
        out.append(sections[:start] + order + sections[start + len(body):])
    return out


def trip_order(body: list[DstSection]) -> list[DstSection]:
    """One trip of a loop body run alone, in program order: the sections ahead first (they read only chunks and
    values from before the loop, so they may), the others in their order."""
    return [sec for sec in body if sec.ahead] + [sec for sec in body if not sec.ahead]


def in_order(sections: list[DstSection]) -> list[DstSection]:
    """The sections with the loop's trip in `trip_order`, none flagged ahead or interleaved (copies): what a masked
    loop's trips that apply the mask run."""
    body = [sec for sec in sections if sec.in_loop]
    if not any(sec.ahead or sec.interleaved for sec in body):
        return sections
    start = sections.index(body[0])
    out = []
    for sec in trip_order(body):
        sec = copy.copy(sec)
        sec.ahead, sec.interleaved = False, False
        out.append(sec)
    return sections[:start] + out + sections[start + len(body):]


def pipeline_loop(sections: list[DstSection], cbs: list[CircularBuffer], loop: LoopInfo,
                  price: Callable[[list[DstSection]], float]) -> list[DstSection]:
    """The sections with the cheapest placement of the loop's sections one trip ahead (flagged `ahead`), by
    `price` (the compute cycles of a section list; a masked loop's: its trips without the mask), or unchanged
    when none is cheaper or the loop has fewer than two trips. A masked loop runs them ahead in its run of
    trips where the mask holds everywhere; its masked trips run `in_order`."""
    if loop.trips < 2:
        return sections
    group = ahead_group(sections, cbs, masks_dropped=loop.live is not None)
    if not group or len(group) == sum(sec.in_loop for sec in sections):
        return sections
    best = price(sections)
    chosen = sections
    for sec in group:
        sec.ahead = True
    try:
        for order in orders(sections, group):
            cycles = price(order)
            if cycles < best * (1 - MIN_GAIN):
                best, chosen = cycles, order
    finally:
        if chosen is sections:
            for sec in group:
                sec.ahead = False
    return chosen
