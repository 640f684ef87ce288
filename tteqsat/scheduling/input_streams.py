"""A kernel input read once, in order, streams through a CB of two passes instead of sitting whole in L1.

Outside a streaming loop every input gets a CB of its whole size per work item: the section reading it waits for
all of it (`cb_wait_front` on every tile) before its first pass. An elementwise map over a row of 131072 columns
then needs 8 MiB of L1 for its input alone, and so does the map half of a softmax over that row (the streaming form
reads the row twice: in chunks for the online max and sum, then whole for exp(x - lse)). When a single section
reads the input, tile for tile in the CB's order (one tile row a pass, `width` adjacent tiles, each tile read at
its own position once), it may instead wait for each pass's tiles and pop them once they are unpacked: the reader
pushes the input in blocks as pages free up, and the CB holds two passes, so the reader fills the next pass while
compute works on this one. The section then reads each pass's tiles at the CB's front (as a section packing over
what it reads does, `in_place`). tt-metal's cb_api.h wants one page count in every `cb_wait_front` on a CB: each
pass waits for the same `tiles`.

The scheduler streams inputs only where the kernel's CBs would not fit L1 with every input whole (the reader's
reads then overlap compute within a work item, which the model prices: `Need.spread`); a schedule that fits keeps
its inputs whole, as before.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from tteqsat.scheduling.model import STREAM_PASSES, DstSection, Schedule


def candidates(schedule: Schedule) -> list[tuple[int, int]]:
    """(position, cb) of each kernel input read whole that one section outside the loop reads once, in order: its
    only reader, with one tile row a pass, reading tile (i, j) of it at i * columns + j and no other way (no K
    loop, no mask index), over a grid of the input's own tiles (over one tile row, a (1, N) row broadcast too)."""
    out = []
    for a in schedule.args:
        if a.role != "in" or a.cb < 0 or schedule.cbs[a.cb].tile_order != "rows":
            continue
        readers = [pos for pos, sec in enumerate(schedule.sections) if a.cb in sec.read_cbs]
        if len(readers) != 1:
            continue
        sec = schedule.sections[readers[0]]
        rows, cols = sec.grid
        if (sec.in_loop or sec.rows != 1 or cols % sec.width or rows * cols != a.n_tiles
                or (a.cb, a.n_tiles) not in sec.waits or (a.cb, a.n_tiles) not in sec.pops):
            continue
        reads = [r for op in sec.ops for r in op.reads if r.cb == a.cb]
        if all(r.diag is None and (r.ci in (cols, 0) if rows == 1 else r.ci == cols) and (r.cj, r.ck) == (1, 0)
               for r in reads):  # over one tile row a row vector's broadcast (ci 0) reads it tile for tile too
            out.append((readers[0], a.cb))
    return out


def streamed(sec: DstSection, cb: int, tiles: int) -> DstSection:
    """A copy of `sec` that waits for each pass's tiles of the input in `cb` (`tiles` in all) and pops them after
    the pass's unpacks, reading them at the CB's front."""
    out = copy.copy(sec)
    out.waits = [w for w in sec.waits if w != (cb, tiles)]
    out.pops = [p for p in sec.pops if p != (cb, tiles)]
    out.pass_waits = [*sec.pass_waits, (cb, sec.tiles)]
    out.pass_pops = [*sec.pass_pops, (cb, sec.tiles)]
    out.ops = [replace(op, reads=[replace(r, ci=0) if r.cb == cb else r for r in op.reads]) for op in sec.ops]
    return out


def stream_inputs(schedule: Schedule, fits) -> None:
    """Stream the schedule's eligible inputs (`candidates`), largest first, until `fits()`. Each streamed input's CB
    shrinks to `STREAM_PASSES` passes of its reader. Only one section's: the reader moves the streamed inputs block
    by block in turn, which another section, reading its own after this one's, could not wait for
    (`lowering.dataflow._read_round_robin`)."""
    found = candidates(schedule)
    found.sort(key=lambda pc: -schedule.cbs[pc[1]].tiles)
    for pos, cb in found:
        if fits():
            break
        if found[0][0] != pos:
            continue
        sec = schedule.sections[pos]
        tiles = schedule.cbs[cb].tiles
        schedule.sections[pos] = streamed(sec, cb, tiles)
        schedule.cbs[cb].tiles = min(tiles, STREAM_PASSES * sec.tiles)
