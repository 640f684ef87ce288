"""A schedule's sections as pipeline stages for the cost model (cost.timeline): which earlier section each
one waits for, and for how many of its passes.

A section that reads a CB waits for the section that last packed into it (in the same trip, the previous
trip for loop state, or the part before the loop) until all of that section's passes are packed: the emitted
code waits (`cb_wait_front`) for the whole of a value before the first section that reads it, and later readers
run after that one on the unpack thread.
"""

from __future__ import annotations

import copy
import functools
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import replace

from tteqsat.cost.chip import CorePipeline
from tteqsat.cost.engines import Engines
from tteqsat.cost.model import CostModel
from tteqsat.cost.timeline import Need, Stage, ahead_of_loop, interleaved
from tteqsat.extraction.program import HwOp
from tteqsat.frontend.ir import TILE
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.model import (
    CircularBuffer,
    DstSection,
    Schedule,
    read_ahead,
    read_block,
    stream_block,
    switches,
)

Part = list[tuple[int, DstSection]]  # (index in its part, section)


def _packers(part: Part) -> dict[int, list[int]]:
    """CB -> positions (in order) of the part's sections that pack into it."""
    out: dict[int, list[int]] = {}
    for n, sec in part:
        for cb in sorted(sec.packed_cbs):
            out.setdefault(cb, []).append(n)
    return out


def _needs(consumer: DstSection, here: str, position: int, parts: dict[str, Part],
           packers: dict[str, dict[int, list[int]]]) -> tuple[Need, ...]:
    """The consumer's waits, looking for each CB's last producer: earlier in its own part, then (in the loop)
    later in the body (the previous trip), then in the parts before."""
    order = {"pre": [("pre", True)], "body": [("body", True), ("prev", False), ("pre", False)],
             "post": [("post", True), ("body", False), ("pre", False)]}[here]
    needs: list[Need] = []
    for cb in sorted(consumer.read_cbs):
        for label, earlier_only in order:
            part = "body" if label == "prev" else label
            positions = packers[part].get(cb, [])
            if earlier_only:
                found = positions[: bisect_left(positions, position)]
            elif label == "prev":
                found = positions[bisect_left(positions, position):]
            else:
                found = positions
            if found:
                n = found[-1]
                producer = parts[part][n][1]
                block = dict(consumer.row_waits).get(cb)
                if block is not None:  # waited for row block by row block: the first block's passes, spread
                    needs.append(Need(label, n, min(producer.iterations, -(-block // producer.tiles)), spread=True))
                else:
                    needs.append(Need(label, n, producer.iterations))
                break
    return tuple(needs)


def mask_patterns(cbs: Sequence[CircularBuffer]) -> list[tuple[str, str]]:
    """(mask text, fill) of every pattern tile the kernel builds (lowering.mlir's `build_masks`: a tile per run
    of equal patterns)."""
    out = []
    for cb in cbs:
        if cb.role == "mask" and cb.mask is not None:
            text, fill = cb.mask
            out += [(text, fill)] * len(Mask.parse(text).tile_runs())
    return out


def loop_trips(sections: Sequence[DstSection], trips: int) -> int:
    """How many times the loop body runs: once fewer than `trips` when some of its sections run one trip ahead
    (the first trip's copies run before it, the last trip after it: `ahead_of_loop`)."""
    return trips - 1 if any(sec.ahead for sec in sections) else trips


def stages(model: CostModel, sections: list[DstSection]) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """The sections before, inside and after the loop as stages with their waits (a loop with sections one
    trip ahead as `ahead_of_loop` lays it out: run its body `loop_trips` times)."""
    pre, body, post = _stages(model, sections)
    ahead = [sec.ahead for sec in sections if sec.in_loop]
    if any(ahead):
        pre, body, post = ahead_of_loop(pre, body, post, ahead)
    return interleave_stages(model, sections, pre, body, post)


def interleave_stages(model: CostModel, sections: Sequence[DstSection], pre: list[Stage], body: list[Stage],
                      post: list[Stage], offset: int = 0) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """The loop's body stages with each interleaved section (`DstSection.interleaved`) joined to the one before it
    (`CostModel.joined_stage`, waiting for what either waits for; `cost.timeline.interleaved` renumbers the
    waits); the body's first `offset` stages are not sections."""
    loop = [sec for sec in sections if sec.in_loop]
    joins = {offset + p - 1: model.joined_stage(loop[p - 1], sec, body[offset + p - 1].needs + body[offset + p].needs)
             for p, sec in enumerate(loop) if sec.interleaved}
    return interleaved(pre, body, post, joins) if joins else (pre, body, post)


def _stages(model: CostModel, sections: list[DstSection]) -> tuple[list[Stage], list[Stage], list[Stage]]:
    parts: dict[str, Part] = {"pre": [], "body": [], "post": []}
    seen_loop = False
    for sec in sections:
        if sec.in_loop:
            seen_loop = True
            parts["body"].append((len(parts["body"]), sec))
        else:
            key = "post" if seen_loop else "pre"
            parts[key].append((len(parts[key]), sec))
    packers = {here: _packers(part) for here, part in parts.items()}
    out: dict[str, list[Stage]] = {}
    for here, part in parts.items():
        out[here] = [model.stage(sec, _needs(sec, here, n, parts, packers)) for n, sec in part]
    return out["pre"], out["body"], out["post"]


def without_masks(model: CostModel, sections: list[DstSection]) -> list[DstSection]:
    """The sections priced without the loop's mask ops (trips where the mask holds everywhere)."""
    out = []
    for sec in sections:
        if not sec.in_loop:
            out.append(sec)
            continue
        masks = [op for op in sec.ops if op.kind == "mask"]
        if masks:
            sec = copy.copy(sec)
            sec.ops = [replace(op, work=Engines()) if op.kind == "mask" else op for op in sec.ops]  # not emitted
            for op in masks:
                sec.engines = sec.engines + model.op_tile(HwOp("mask", op.op, (), (TILE, TILE))).scaled(-sec.tiles)
            steps = [st for op in sec.ops for st in (op.steps()[:-1] if op.kind == "mask" else op.steps())]
            keys = {engine: [k for e, k in steps if e == engine] for engine in ("fpu", "sfpu")}
            sec.init_sites = {engine: (int(bool(ks)), switches(ks)) for engine, ks in keys.items()}
            sec.inits_hoisted = sum(h for h, _ in sec.init_sites.values())
            sec.inits_per_iteration = sum(p for _, p in sec.init_sites.values())
            sec.cycles = model.section(sec.engines, sec.iterations, sec.inits_hoisted, sec.inits_per_iteration)
        out.append(sec)
    return out


def compute_cycles(model: CostModel, sections: list[DstSection], trips: int = 0, fill_tiles: int = 0) -> float:
    """Compute cycles of `sections` (loop sections run `trips` times) after `fill_tiles` constant fills."""
    pre, body, post = stages(model, sections)
    if fill_tiles:  # the fills run first: every wait on a pre-loop stage moves one index down
        pre, body, post = ([_shift(s) for s in part] for part in (pre, body, post))
        pre.insert(0, model.fill_stage(fill_tiles))
    return model.pipelined(pre, body, loop_trips(sections, trips), post)


def _shift(stage: Stage) -> Stage:
    """The stage with its waits on pre-loop stages renumbered past a stage put in front of them."""
    needs = tuple(replace(n, index=n.index + 1) if n.part == "pre" else n for n in stage.needs)
    return replace(stage, needs=needs)  # everything else kept (a stage rebuilt field by field lost its grain)


def kernel_stages(model: CostModel, schedule: Schedule, rate: float | None = None, hops: int | None = None,
                  unmasked: bool = False) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """One work item as the core's five threads run it: the reader moving each input read whole (before the
    sections, in argument order) and each chunk of a streamed input (every trip), the fills, the sections, the
    writer moving each output out as it is packed; `rate` bytes per cycle. The reader moves a block of tiles per
    NoC barrier (`read_block`: the whole input or chunk with the scheduler's CBs), a pass of its stage being one
    block, the writer one tile per barrier. A core of a sharing group (`GridPlan.share`, or any group whose
    farthest receiver is `hops` NoC hops from its sender) runs each block of an input its group shares (whole, or
    a chunk of a stream, of an input that is not row-blocked) in lockstep with the others: the sender's read,
    then the multicast handshake.

    A section waits for the whole of every input it reads (its `cb_wait_front` covers the tensor, or the trip's
    chunk); a reader waits for room in its CB: an input's CB holds one work item, so the next item's read
    waits until the last section reading it has popped it; a chunk stream's holds `depth` chunks (two, or
    `settings.stream_depth` where L1 had room), so a trip's read waits for the trip depth - 1 before.
    `unmasked`: the loop's trips without their mask ops (`without_masks`), as a masked loop runs the trips where
    its mask holds everywhere."""
    sections = without_masks(model, schedule.sections) if unmasked else schedule.sections
    loop = schedule.loop
    pre, body, post = _stages(model, sections)
    fill_tiles = sum(1 for cb in schedule.cbs if cb.role == "scaler") + (
        sum(f.tiles for f in loop.fills) if loop is not None else 0)
    fills = [model.fill_stage(fill_tiles)] if fill_tiles else []

    def transfer(cb: int, tiles: int = 1) -> float:
        return model.tile_transfer(schedule.cb_format(schedule.cbs[cb]), rate, tiles)

    share = schedule.grid.share if schedule.grid is not None else None
    shared = hops is not None or share is not None
    if hops is None:
        hops = max(((x1 - x0) + (y1 - y0) for x0, y0, x1, y1 in share.rects), default=0) if share is not None else 0

    streamed = schedule.streamed_inputs()

    def reads(cb: int, tiles: int, shared: bool = False) -> Stage:  # `tiles` into `cb`, a block per barrier
        capacity = schedule.cbs[cb].tiles
        block = stream_block(capacity, tiles) if cb in streamed else read_block(capacity, tiles)
        read = transfer(cb, block)
        if shared:  # the sender multicasts each block to its group after reading it (model.multicast_handshake)
            read += model.multicast_handshake(schedule.cb_format(schedule.cbs[cb]), block, hops, rate)
        return Stage(tiles // block, 0.0, 0.0, 0.0, read=read)

    # inputs a section streams pass by pass (`input_streams`) are read after the whole ones, block by block in
    # turn (one reader stage for them all), and after the loop's chunks when that section follows the loop
    inputs = [a for a in schedule.args if a.role == "in" and a.cb >= 0]
    whole: list[tuple[tuple[int, ...], Stage]] = [((a.cb,), reads(a.cb, a.n_tiles, shared and not a.blocked))
                                                  for a in inputs if a.cb not in streamed]
    late: list[tuple[tuple[int, ...], Stage]] = []
    for group, when in ((whole, "before"), (late, "after")):
        turns = [a for a in inputs if streamed.get(a.cb) == when]
        if turns:
            each = [reads(a.cb, a.n_tiles, shared and not a.blocked) for a in turns]
            group.append((tuple(a.cb for a in turns), replace(each[0], read=sum(st.read for st in each))))
    item_tiles = {a.cb: a.n_tiles for a in inputs}
    streams = loop.streams if loop is not None else []
    chunks = [((st.cb,), reads(st.cb, st.tiles, shared and not schedule.args[st.arg].blocked)) for st in streams]
    depth = {st.cb: schedule.chunks_held(st) for st in streams}
    reader_passes = {cb: stage.passes for cbs, stage in whole + chunks + late for cb in cbs}
    offset = {"pre": len(whole) + len(fills), "body": len(chunks), "prev": len(chunks), "post": len(late)}
    parts: dict[str, list[tuple[int, DstSection]]] = {"pre": [], "body": [], "post": []}
    seen_loop = False
    for sec in sections:
        seen_loop = seen_loop or sec.in_loop
        part = "body" if sec.in_loop else "post" if seen_loop else "pre"
        parts[part].append((offset[part] + len(parts[part]), sec))
    reader_at = {cb: (part, n) for part, group in (("pre", whole), ("body", chunks), ("post", late))
                 for n, (cbs, _) in enumerate(group) for cb in cbs}
    last_reader: dict[int, tuple[str, int]] = {}
    out: dict[str, list[Stage]] = {}
    for part, computed in zip(("pre", "body", "post"), (pre, body, post), strict=True):
        staged = []
        for (position, sec), stage in zip(parts[part], computed, strict=True):
            needs = [replace(n, index=n.index + offset[n.part]) for n in stage.needs]
            for cb in sorted(sec.read_cbs):
                if cb in reader_at:
                    where, index = reader_at[cb]  # a streamed input (its one reader): pass by pass as pushed
                    needs.append(Need(where, index, 1, spread=True) if cb in streamed
                                 else Need(where, index, reader_passes[cb]))
                last_reader[cb] = (part, position)
            staged.append(replace(stage, needs=tuple(needs)))
        out[part] = staged
    ahead_cbs = read_ahead(sections)
    ahead = [cb in ahead_cbs for (cb,), _ in chunks] + [sec.ahead for _, sec in parts["body"]]
    # an input the loop reads every trip is popped after the loop (`LoopInfo.pops`): once the item's last trip
    # is unpacked, that is the last body stage's last run, or with sections one trip ahead, the last of the
    # last trip's copies after the loop (`ahead_of_loop` puts them first in `post`)
    loop_end = ("post", sum(not a for a in ahead) - 1) if any(ahead) else ("body", len(chunks) + len(parts["body"]) - 1)
    for cb, _ in loop.pops if loop is not None and parts["body"] else []:
        last_reader[cb] = loop_end
    readers = []
    for (cb, *_), stage in whole + chunks + late:  # room in the CB: its pages popped by their last reader
        part, index = last_reader.get(cb, ("pre", -1))
        # a chunk stream holds depth chunks; a whole input two items where L1 had room for them
        back = depth[cb] - 1 if reader_at[cb][0] == "body" else \
            1 if schedule.cbs[cb].tiles >= 2 * item_tiles.get(cb, 0) > 0 else 0
        readers.append(replace(stage, needs=(Need(part, index, 0, back, freed=True),) if index >= 0 else ()))
    packer: dict[int, tuple[str, int, int]] = {}
    for part in ("pre", "body", "post"):
        for position, sec in parts[part]:
            for pk in sec.packs:
                packer[pk.cb] = (part, position, sec.iterations)
    # a core bound by the chip's DRAM bandwidth (not by its link or controller) reads and writes through one share
    # of it: each written tile holds the reader's port for its bytes (`Stage.port`)
    one_port = rate is not None and rate < model.dram_rate()
    writers = []
    for a in schedule.args:
        if a.role == "out" and a.cb in packer:
            part, index, passes = packer[a.cb]
            port = transfer(a.cb) - transfer(a.cb, 0) if one_port else 0.0  # the tile's bytes, not the latency
            writers.append(Stage(a.n_tiles, 0.0, 0.0, 0.0, needs=(Need(part, index, passes),),
                                 write=transfer(a.cb), port=port))
    pre_stages = readers[:len(whole)] + fills + out["pre"]
    body_stages = readers[len(whole):len(whole) + len(chunks)] + out["body"]
    post_stages = readers[len(whole) + len(chunks):] + out["post"]
    (post_stages if loop is not None else pre_stages).extend(writers)
    if any(ahead):  # a chunk stream read by sections one trip ahead is read one trip ahead too
        pre_stages, body_stages, post_stages = ahead_of_loop(pre_stages, body_stages, post_stages, ahead)
    return interleave_stages(model, sections, pre_stages, body_stages, post_stages, len(chunks))


def share_handshake(model: CostModel, schedule: Schedule, rate: float | None = None
                    ) -> Callable[[int], tuple[float, float, float]]:
    """What sharing its whole inputs over NoC multicast adds to a core's work, as a function of the hops from the
    sender to its farthest receiver: (once per core, per item for compute, per item on the reader). Each block of
    each whole input and each chunk of each streamed one that is not row-blocked (`read_block`, as
    `kernel_stages` reads them) pays `multicast_handshake` after its read at
    `rate`. Compute waits for the part its pipeline does not hide: the first item's reads (the pipeline's fill)
    and, per item, the steady-state growth of `kernel_cycles` (a whole input's CB that holds one item lets the
    next item's read start only when this one's is popped). For `tteqsat.cost.chip.price_grid`."""
    blocks = []  # (format, tiles of a block, blocks per item) of every shared read
    for a in schedule.args:
        if a.role == "in" and a.cb >= 0 and not a.blocked:
            cb = schedule.cbs[a.cb]
            block = read_block(cb.tiles, a.n_tiles)
            blocks.append((schedule.cb_format(cb), block, a.n_tiles // block))
    loop = schedule.loop
    for st in loop.streams if loop is not None else []:
        if not schedule.args[st.arg].blocked:
            cb = schedule.cbs[st.cb]
            block = read_block(cb.tiles, st.tiles)
            blocks.append((schedule.cb_format(cb), block, loop.trips * st.tiles // block))
    lockstep = schedule.loop is None or schedule.loop.live is None
    two, three = (kernel_cycles(model, schedule, n, rate) for n in (2, 3)) if lockstep else (0.0, 0.0)
    known: dict[int, tuple[float, float, float]] = {}

    def cycles(hops: int) -> tuple[float, float, float]:
        if hops not in known:
            reader = sum(n * model.multicast_handshake(fmt, block, hops, rate) for fmt, block, n in blocks)
            if lockstep:
                shared_two, shared_three = (kernel_cycles(model, schedule, n, rate, hops=hops) for n in (2, 3))
                per_item = max(0.0, (shared_three - shared_two) - (three - two))
                known[hops] = (max(0.0, shared_two - two - 2 * per_item), per_item, reader)
            else:
                known[hops] = (0.0, 0.0, reader)
        return known[hops]

    return cycles


def kernel_cycles(model: CostModel, schedule: Schedule, items: int = 1, rate: float | None = None,
                  blocks: Sequence[int] | None = None, hops: int | None = None, memo: dict | None = None) -> float:
    """One core running `items` work items of `schedule` one after another, its reader and writer moving every
    tile at `rate` bytes per cycle (default: the core streaming alone): the kernel's time on that core.
    A masked loop runs only each item's live chunks: `blocks` are the row blocks of the core's items (default:
    `items` items of the mean live-chunk count). The kernel's setup (mask tiles) runs once, before the items.
    `memo`: a dict kept by a caller that prices many cores of one schedule it does not change meanwhile (the chip
    model's pipelines): the stages at each rate and the pipelines of each list of trip counts are run once."""
    return schedule.setup_cycles + _items_cycles(model, schedule, items, rate, blocks, hops,
                                                 {} if memo is None else memo)


def _items_cycles(model: CostModel, schedule: Schedule, items: int, rate: float | None,
                  blocks: Sequence[int] | None, hops: int | None, memo: dict) -> float:
    loop = schedule.loop
    # a masked loop's trips are priced unmasked, and each trip that applies the mask adds its mask ops (and its
    # program order, where sections run one trip ahead): `LoopInfo.mask_cycles`, as the emitted code runs them
    unmasked = loop is not None and loop.live is not None
    key = ("stages", rate, hops, unmasked)
    if key not in memo:
        memo[key] = kernel_stages(model, schedule, rate, hops, unmasked=unmasked)
    pre, body, post = memo[key]

    def pipelined(trips: int | tuple[int, ...], count: int) -> float:  # the stages' pipeline, run once per key
        key = ("pipelined", rate, hops, trips, count)
        if key not in memo:
            memo[key] = model.pipelined(pre, body, list(trips) if isinstance(trips, tuple) else trips, post, count)
        return memo[key]

    if loop is None:
        return pipelined(0, items)
    if loop.live is None:
        return pipelined(loop_trips(schedule.sections, loop.trips), items)
    chosen = list(blocks) if blocks is not None else list(range(schedule.blocks))
    per_block = [_block_trips(schedule, b, memo) for b in chosen]
    trips = [t for t, _, _ in per_block]
    # what skipping the dead tiles of masked trips saves each item (LoopInfo.ragged_saving)
    saved = [s for _, s, _ in per_block] if loop.ragged is not None else [0.0]
    masked = [m for _, _, m in per_block]
    # (a loop with sections one trip ahead is priced as if every live trip ran them so: its masked trips run
    # in program order, at most a few of an item's)
    def runs(t: int) -> int:
        return max(loop_trips(schedule.sections, t), 0)

    if blocks is None:
        mean_extra = sum(masked) / len(masked) - sum(saved) / len(saved)
        return pipelined(runs(round(sum(trips) / len(trips))), items) + items * mean_extra
    # one pipeline over the core's items, fewest trips first (the next item's reads go ahead while this one
    # computes, so an item's fill is not paid again; the order only moves the item boundaries)
    ordered = tuple(sorted(runs(t) for t in trips))
    return pipelined(ordered, len(ordered)) + sum(masked) - sum(saved)


def _block_trips(schedule: Schedule, block: int, memo: dict) -> tuple[int, float, float]:
    """Row block `block`'s live trips, what skipping its masked trips' dead tiles saves it, and its masked trips'
    mask cycles (kept in `memo`)."""
    key = ("block", block)
    if key not in memo:
        loop = schedule.loop
        assert loop is not None
        lo, hi = loop.range(block)
        saving = loop.ragged_saving[block] if loop.ragged is not None else 0.0
        memo[key] = (max(hi - lo, 0), saving, len(loop.masked_trips(block)) * loop.mask_cycles)
    return memo[key]


PIPELINE_RATES = 23  # rates a core's pipeline may be sampled at for the chip model: from one core's alone, down


def pipeline_rates(model: CostModel) -> tuple[float, ...]:
    """The DRAM rates a core's pipeline is sampled at (`CorePipeline.rates`, ascending): one core's alone and
    each factor of sqrt(2) below it, `PIPELINE_RATES` in all."""
    top = model.dram_rate()
    return tuple(top / 2 ** (k / 2) for k in range(PIPELINE_RATES - 1, -1, -1))


def rate_pipeline(model: CostModel, schedule: Schedule, hops: int | None = None, memo: dict | None = None
                  ) -> CorePipeline:
    """One core's `kernel_cycles` against the DRAM rate its reader and writer get, for
    `tteqsat.cost.chip.price_grid` (a core of a sharing group with `hops`): at the rate one core takes alone and
    each factor of sqrt(2) below it, down to 1/2048 of it (below one core's share of a full grid on a slow chip;
    the chip model extends the lowest segment), each priced when the chip model first needs it. `memo`: as
    `kernel_cycles`', shared by the pipelines of one schedule the caller does not change meanwhile."""
    rates = pipeline_rates(model)
    return CorePipeline(lambda items, rate: kernel_cycles(model, schedule, items, rate, hops=hops, memo=memo), rates)


def items_pipeline(model: CostModel, schedule: Schedule, blocks: Sequence[int], hops: int | None = None,
                   memo: dict | None = None) -> CorePipeline:
    """`rate_pipeline` for a core whose items differ (a masked loop's row blocks `blocks`, in any order): its
    cycles are its own items' whatever count the chip model names (it names the core's own), so each rate is
    priced once whatever the count. `memo`: as `rate_pipeline`'s."""
    rates = pipeline_rates(model)
    own = list(blocks)
    at = functools.cache(lambda rate: kernel_cycles(model, schedule, len(own), rate, own, hops=hops, memo=memo))
    return CorePipeline(lambda _items, rate: at(rate), rates)
