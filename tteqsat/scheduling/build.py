"""Build a `Schedule` from an extracted `Program`.

It splits the program at its folds (scheduling.loops), allocates the kernel's CBs, schedules each
straight-line part (scheduling.frames, passes from scheduling.sections), places every CB wait and pop,
and prices the result.
"""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost import TensixCostModel
from tteqsat.errors import KernelError
from tteqsat.extraction.accumulation import L1_ACC_CONFLICT, l1_acc_conflicts, wide_dst_chain
from tteqsat.extraction.exp_range import mark_unbounded_exps
from tteqsat.extraction.loops import Loop, split
from tteqsat.extraction.program import Program
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.frames import cb_l1_bytes, schedule_frame
from tteqsat.scheduling.in_place import candidates as candidates_in_place
from tteqsat.scheduling.in_place import pack_over
from tteqsat.scheduling.input_streams import stream_inputs
from tteqsat.scheduling.interleave import interleave_loop
from tteqsat.scheduling.lookahead import in_order, pipeline_loop
from tteqsat.scheduling.model import (
    CbPlan,
    ChunkStream,
    DstSection,
    Frame,
    LoopInfo,
    Schedule,
    StateFill,
    TensorArg,
)
from tteqsat.scheduling.ragged import ragged_plan, tile_ranges
from tteqsat.scheduling.row_waits import wait_by_rows
from tteqsat.scheduling.timing import compute_cycles, kernel_cycles, mask_patterns, without_masks


def build_schedule(program: Program, arch: Arch, model: TensixCostModel | None = None,
                   fuse: bool = True, check_capacity: bool = True, in_place: bool = False,
                   strict_l1: bool = False, recompute: bool = False) -> Schedule:
    """Sections, slots and CBs for `program`; a program with folds becomes pre / loop / post parts. Where its CBs
    would overflow L1, a loop that packs a value over the one it reads (`in_place`) is tried before the error: its
    sections then run in program order, each trip's value packed over the one it was computed from. A program in
    order (the tt-metal expert's) always packs so, as tt-metal's SDPA packs P over S. Last, a map of kernel inputs
    held whole across the loop is computed again after it (`recompute`, `loops.split`), its inputs streamed."""
    model = model or TensixCostModel(arch)
    plan = CbPlan(program.dtype)
    parts = split(program, recompute)
    programs = [program] if parts is None else [parts.pre, parts.loop.body, parts.post]  # type: ignore[union-attr]
    for part in programs:
        mark_unbounded_exps(part)
    # a bf16 kernel whose longest accumulation into one DST slot is too long for 16-bit DST runs with 32-bit DST
    chain = wide_dst_chain(programs, program.dtype, arch.fp32_dest_acc)
    wide_for_chain = chain is not None
    capacity = arch.dst_tiles("fp32" if wide_for_chain else program.dtype)
    if l1_acc_conflicts(program.dtype, arch.fp32_dest_acc or wide_for_chain):
        summed = next((op for part in programs for op in part.ops() if op.kind == "tilesum"), None)
        if summed is not None:
            why = (f"its {chain.label} adds {chain.tiles} tiles into one DST slot, which needs 32-bit DST"
                   if chain is not None else "settings.fp32_dest_acc is on")
            raise KernelError(f"cannot schedule {L1_ACC_CONFLICT}: {why}; sum that row with a reduce instead",
                              "tilesum", summed.loc or None)
    max_rows = 1 if program.one_row_per_pass else capacity  # tile rows a pass may take per acquire
    args: list[TensorArg] = []
    input_cb: dict[str, int] = {}
    arg_of = {op.name: n for n, op in enumerate(program.inputs)}
    used_whole = _whole_input_names(program, parts)
    for op in program.inputs:
        cb = plan.new("input", op.n_tiles, op.name, op.loc) if op.name in used_whole else -1
        if cb >= 0:
            input_cb[op.name] = cb
        args.append(TensorArg(op.name, "in", op.shape, cb, op.n_tiles, bool(op.attrs.get("block"))))
    output_cb: dict[str, int] = {}
    for name, op in program.outputs:
        # double-buffered when it is the only output; with several, the writer drains them one after
        # another while sections may produce them interleaved, so each holds its whole tensor
        tiles = min(op.n_tiles, 2) if len(program.outputs) == 1 else op.n_tiles
        output_cb[name] = plan.new("output", tiles, name)
        args.append(TensorArg(name, "out", op.shape, output_cb[name], op.n_tiles))
    loop: LoopInfo | None = None
    if parts is None:
        frames = [Frame("main", program, dict(input_cb), dict(output_cb))]
    else:
        lp = parts.loop
        assert lp is not None
        exports = {name: plan.new("export", op.n_tiles, f"{name} ({op.label()})", op.loc)
                   for name, op in parts.pre.outputs}
        state_cb = {st.name: plan.new("state", 2 * _tiles(st.shape), f"state {st.name}") for st in lp.states}
        streams = []
        chunk_cb: dict[str, int] = {}
        for leaf_name, chunk in sorted(lp.chunk_leaf.items()):
            chunk_cb[leaf_name] = plan.new("stream", 2 * chunk.n_tiles, f"{leaf_name} chunk")
            src = chunk.operands[0]
            streams.append(ChunkStream(src.name, arg_of[src.name], chunk_cb[leaf_name], src.shape,
                                       str(chunk.attrs["axis"]), int(chunk.attrs["width"])))  # type: ignore[call-overload]
        fills = [StateFill(state_cb[st.name], _tiles(st.shape), st.init, st.name) for st in lp.states]
        loop = LoopInfo(lp.trips, fills, streams)
        if lp.live is not None:
            mask, height, width = lp.live
            loop.live, loop.rows = (mask.text, height, width), lp.rows
        lp.body.dtype = program.dtype
        states = {f"state:{k}": v for k, v in state_cb.items()}
        shared = {**input_cb, **exports}
        frames = [
            Frame("pre", parts.pre, dict(input_cb), dict(exports)),
            Frame("loop", lp.body, {**shared, **chunk_cb, **states}, dict(state_cb)),
            Frame("post", parts.post, {**shared, **states}, dict(output_cb)),
        ]
    # the reader streams a column chunk row by row only (lowering.dataflow): such a stream keeps row order
    row_ordered = {st.cb for st in loop.streams if st.axis == "cols"} if loop is not None else set()
    for name in _transposed_operands(frames):  # only ever read as matmul's transposed b: read column by column
        cb = next((f.bound[name] for f in frames if name in f.bound), None)
        if cb is not None and plan.cbs[cb].role in ("input", "stream") and cb not in row_ordered:
            plan.cbs[cb].tile_order = "cols"
    if loop is not None:
        for st in loop.streams:
            st.column_major = plan.cbs[st.cb].tile_order == "cols"
    sequence: list[tuple[DstSection, list[tuple[int, tuple, int]], bool]] = []
    for frame in frames:
        for sec, reads in schedule_frame(frame, plan, arch, model, fuse, capacity, max_rows, strict_l1):
            sec.index = len(sequence)
            sec.in_loop = frame.name == "loop"
            sequence.append((sec, reads, sec.in_loop))
    fills = sum(1 for cb in plan.cbs if cb.role == "scaler")
    fills += sum(f.tiles for f in loop.fills) if loop is not None else 0
    trips = loop.trips if loop is not None else 0

    def price(secs: list[DstSection]) -> float:  # a masked loop: its unmasked trips
        unmasked = loop is None or loop.live is None
        return compute_cycles(model, secs if unmasked else without_masks(model, secs), trips, fills)

    if loop is not None and not program.in_order and arch.loop_lookahead and not in_place:
        order = pipeline_loop([sec for sec, _, _ in sequence], plan.cbs, loop, price)
        entry = {id(sec): (sec, reads, in_loop) for sec, reads, in_loop in sequence}
        sequence = [entry[id(sec)] for sec in order]
        for n, (sec, _, _) in enumerate(sequence):
            sec.index = n
    _place_waits_and_pops(sequence, loop)
    if check_capacity and len(plan.cbs) > int(arch.num("cb.max_cbs")):
        raise KernelError(f"needs {len(plan.cbs)} circular buffers; {arch.name} has {int(arch.num('cb.max_cbs'))}",
                          program.name)
    sections = [sec for sec, _, _ in sequence]
    # tt-metal's SDPA packs P over S in one CB (sdpa_program_factory.cpp: qk_tiles = Sq_chunk_t * Sk_chunk_t, one
    # chunk; sub_exp_block_bcast_cols_inplace): the expert programs (in program order) always do
    if in_place or (program.in_order and loop is not None and loop.live is None):
        while found := candidates_in_place(sections, plan.cbs):  # one at a time: each renumbers the CBs
            sections, plan.cbs = pack_over(sections, plan.cbs, *found[0], loop, args)
    if not program.in_order and arch.row_waits:
        sections = wait_by_rows(sections, plan.cbs, price)
    if not program.in_order and arch.interleave_passes and not in_place:
        # streams may yet shrink to one chunk each (`_single_buffer_streams`) to make room
        shrink = sum(st.tiles * arch.tile_bytes(model.input_format(plan.cbs[st.cb].dtype))
                     for st in loop.streams) if loop is not None and arch.single_buffered_streams else 0
        sections = interleave_loop(sections, plan.cbs, loop, price,
                                   lambda: cb_l1_bytes(plan, model) - shrink <= arch.l1_budget)
    if loop is not None:
        loop.body_cycles = compute_cycles(model, [sec for sec in sections if sec.in_loop], 1)
        loop.fill_cycles = model.pipelined([model.fill_stage(sum(f.tiles for f in loop.fills))], [], 0, [])
    if loop is not None and loop.live is not None:  # every trip masked runs in program order
        compute = compute_cycles(model, in_order(sections), loop.trips, fills)
        _price_trips(model, loop, sections, fills, compute)
    else:
        compute = compute_cycles(model, sections, loop.trips if loop is not None else 0, fills)
    schedule = Schedule(program.name, arch.name, program.dtype, sections, plan.cbs, args, compute, 0.0, capacity,
                        loop, program.dtype == "fp32" or arch.fp32_dest_acc or wide_for_chain, arch.dst_full_sync,
                        arch.exp_approx, str(arch["settings.math_fidelity"]), model.input_format(program.dtype))
    schedule.wide_dst_chain = chain
    schedule.full_compute_cycles = compute
    patterns = mask_patterns(plan.cbs)  # built once per kernel, before any work item
    schedule.setup_cycles = model.pipelined([model.mask_stage(patterns)], [], 0, []) if patterns else 0.0
    if loop is not None and loop.live is not None:  # the mean item: its loop runs the live chunks only
        assert parts is not None and parts.loop is not None
        _plan_ragged(loop, parts.loop, sections, schedule.blocks)
        schedule.compute_cycles = sum(schedule.item_cycles(b) for b in range(schedule.blocks)) / schedule.blocks
    schedule.data_movement_cycles = model.data_movement(schedule.dram_bytes(arch))
    if not program.in_order and arch.single_buffered_streams:
        _single_buffer_streams(schedule, arch)
    if check_capacity and not program.in_order and schedule.l1_bytes(arch) > arch.l1_budget:
        stream_inputs(schedule, lambda: schedule.l1_bytes(arch) <= arch.l1_budget)
    _double_buffer_inputs(schedule, arch)
    _deepen_streams(schedule, arch)
    schedule.kernel_cycles = kernel_cycles(model, schedule)
    if check_capacity and schedule.l1_bytes(arch) > arch.l1_budget:
        if (not in_place and loop is not None and loop.live is None and not program.in_order
                and arch.single_buffered_streams):
            try:
                return build_schedule(program, arch, model, fuse, check_capacity, in_place=True, recompute=recompute)
            except KernelError:
                pass  # the error below names what overflows as first built
        if not strict_l1 and not program.in_order and any(sec.pass_waits for sec in schedule.sections):
            try:  # inputs stream, but a pass was cut for an intermediate CB the streamed inputs' room cannot hold
                return build_schedule(program, arch, model, fuse, check_capacity, in_place, strict_l1=True,
                                      recompute=recompute)
            except KernelError:
                pass
        if not recompute and parts is not None and not program.in_order and parts.exports:
            try:  # a map of inputs held whole across the loop: computed again after it, its inputs streamed
                return build_schedule(program, arch, model, fuse, check_capacity, recompute=True)
            except KernelError:
                pass
        big = max(plan.cbs, key=lambda cb: cb.tiles)
        raise KernelError(f"needs {schedule.l1_bytes(arch):,} bytes of L1 for its CBs, {arch.name} has "
                          f"{arch.l1_budget:,} free; the largest holds {big.holds[0]} ({big.tiles} tiles)",
                          big.holds[0], big.loc or None)
    return schedule


def _price_trips(model: TensixCostModel, loop: LoopInfo, sections: list[DstSection], fills: int,
                 masked_every_trip: float) -> None:
    """What an item whose loop runs only some trips costs, pipelined as the whole item is: the item with one
    unmasked trip, each further unmasked trip (the marginal cost, less than a trip alone where trips overlap;
    with sections one trip ahead where they run so) and what a trip that applies the mask adds (its mask ops,
    and program order: `masked_every_trip` prices every trip masked and in order) (`LoopInfo.item_cycles`)."""
    unmasked = without_masks(model, sections)
    one = compute_cycles(model, unmasked, 1, fills)
    every = compute_cycles(model, unmasked, loop.trips, fills) if loop.trips > 1 else one
    loop.first_trip_cycles = one
    loop.trip_cycles = (every - one) / (loop.trips - 1) if loop.trips > 1 else loop.body_cycles
    loop.mask_cycles = max(masked_every_trip - every, 0.0) / loop.trips


def _single_buffer_streams(schedule: Schedule, arch: Arch) -> None:
    """Where the CBs overflow L1 with two chunks of every chunk stream, give streams one chunk each, the last
    stream first, until they fit. The reader then fetches a trip's chunk once compute has popped the chunk before
    (the kernel model's reader waits for that pop: `kernel_stages`, depth 1), which a compute-bound loop hides
    when the rest of a trip outlasts the chunk's read; what it buys is a wider chunk (fewer trips, fewer online
    rescales) than double buffering leaves room for. tt-metal's SDPA double-buffers K and V (`Program.in_order`
    keeps that). The reader cannot deadlock: its trip j reserves chunks whose predecessors compute popped in a trip
    that needs nothing of reader trip j (the trip before; with Q K^T one trip ahead, two trips before)."""
    loop = schedule.loop
    if loop is None:
        return
    for st in reversed(loop.streams):
        if schedule.l1_bytes(arch) <= arch.l1_budget:
            return
        schedule.cbs[st.cb].tiles = st.tiles


def _double_buffer_inputs(schedule: Schedule, arch: Arch) -> None:
    """Give each input read whole per work item a CB of two items while L1 has room (in argument order), so
    a core's reader fetches its next item while compute works on this one; with one item's pages the read
    waits for this item's last pop. The pricing of compute is unchanged (CB sizes do not enter it); the
    kernel model's reader waits for the item before (`kernel_stages`)."""
    spare = arch.l1_budget - schedule.l1_bytes(arch)
    for a in schedule.args:
        if a.role != "in" or a.cb < 0:
            continue
        cb = schedule.cbs[a.cb]
        extra = a.n_tiles * arch.tile_bytes(schedule.cb_format(cb))
        if cb.tiles == a.n_tiles and extra <= spare:
            cb.tiles *= 2
            spare -= extra


def _deepen_streams(schedule: Schedule, arch: Arch) -> None:
    """Give every chunk stream `settings.stream_depth` chunks of CB (3 by default) where L1 still has room for
    all of them after whole inputs are double-buffered: the reader may then run depth - 1 trips ahead of compute
    instead of one. On one core whose trips read alike that changes nothing; in a ranked sharing group it lets a
    core whose block ended early run that much further into its next item while the group's slowest core ends
    this one (`grid.ranked_share`'s slack), and lets a sender's reads run ahead of a late receiver. All streams or
    none: the loop's trips pop them together."""
    loop = schedule.loop
    if loop is None or not loop.streams:
        return
    depth = arch.stream_depth
    extra = sum((depth - 2) * st.tiles * arch.tile_bytes(schedule.cb_format(schedule.cbs[st.cb]))
                for st in loop.streams)
    if extra <= arch.l1_budget - schedule.l1_bytes(arch):
        for st in loop.streams:
            schedule.cbs[st.cb].tiles = depth * st.tiles


def _plan_ragged(loop: LoopInfo, body: Loop, sections: list[DstSection], blocks: int) -> None:
    """Skip dead tiles inside masked trips where the body allows it (`ragged_plan`); price what each of the
    `blocks` row blocks saves (`LoopInfo.ragged_saving`): each section over chunk columns runs the fraction of
    its passes that hold a live tile, each section with a K loop over keys the fraction of live key tiles, of
    the masked trip's pipelined cost."""
    assert loop.live is not None
    text, height, _ = loop.live
    in_loop = [sec for sec in sections if sec.in_loop]
    plan = ragged_plan(body.body, body.chunk_leaf, text, in_loop)
    if plan is None:
        return
    mask = Mask.parse(text)
    grid = [sec for sec in in_loop if any(op.value in plan.grid_values for op in sec.ops)]
    inner = [sec for sec in in_loop if sec not in grid and any(op.value in plan.inner_values for op in sec.ops)]
    total = sum(sec.cycles for sec in in_loop) or 1.0
    passes = plan.chunk_tiles // plan.width
    savings = []
    for b in range(blocks):
        saved = 0.0
        for chunk in loop.masked_trips(b):
            ranges = tile_ranges(mask, height, b, loop.rows, chunk, plan.chunk_tiles)
            tiles = sum(hi - lo for lo, hi in ranges) / (len(ranges) * plan.chunk_tiles)
            runs = sum(-(-hi // plan.width) - lo // plan.width for lo, hi in ranges) / (len(ranges) * passes)
            fraction = (sum(sec.cycles for sec in grid) * (1 - runs)
                        + sum(sec.cycles for sec in inner) * (1 - tiles)) / total
            saved += fraction * (loop.trip_cycles + loop.mask_cycles)
        savings.append(saved)
    loop.ragged = plan
    loop.ragged_saving = savings


def _transposed_operands(frames: list[Frame]) -> list[str]:
    """Leaves (inputs, streamed chunks) whose every reader is a matmul taking them as its transposed b."""
    uses: dict[str, bool] = {}
    for frame in frames:
        for op in frame.program.ops():
            for pos, o in enumerate(op.operands):
                if o.kind == "input":
                    ok = op.kind == "matmul" and pos == 1 and bool(op.attrs.get("transpose_b"))
                    uses[o.name] = uses.get(o.name, True) and ok
    return sorted(name for name, ok in uses.items() if ok)


def _tiles(shape: tuple[int, int]) -> int:
    return -(-shape[0] // 32) * -(-shape[1] // 32)


def _whole_input_names(program: Program, parts) -> set[str]:
    """Kernel inputs some part reads as a whole tensor (not only chunk by chunk)."""
    if parts is None:
        return {op.name for op in program.inputs}
    kernel_inputs = {i.name for i in program.inputs}
    names: set[str] = set()
    for prog in (parts.pre, parts.loop.body, parts.post):
        for op in prog.ops():
            names |= {o.name for o in op.operands if o.kind == "input" and o.name in kernel_inputs}
    return names


def _place_waits_and_pops(sequence, loop: LoopInfo | None) -> None:
    """Wait for each CB value before its first reader and pop it after its last.

    Values made inside a trip (chunks, state of the previous trip, the trip's intermediates) are waited
    for and popped inside the loop body; values from outside the loop are waited for before it and
    popped after it when the loop holds their first or last reader.
    """
    first: dict[tuple, int] = {}
    last: dict[tuple, int] = {}
    info: dict[tuple, tuple[int, int]] = {}
    for pos, (_, reads, _) in enumerate(sequence):
        for cb, token, tiles in reads:
            key = _token_key(token)
            first.setdefault(key, pos)
            last[key] = pos
            info[key] = (cb, tiles)
    for where, kind in ((first, "waits"), (last, "pops")):
        for key in sorted(where, key=lambda k: (where[k], str(k))):
            sec, _, in_loop = sequence[where[key]]
            outside_value_in_loop = in_loop and key[0] != "trip" and loop is not None
            getattr(loop if outside_value_in_loop else sec, kind).append(info[key])
    if loop is not None:  # final states nobody reads after the loop
        read_after = {k[2] for k in first if k[0] == "final"}
        for fill in loop.fills:
            if f"state:{fill.name}" not in read_after:
                loop.drains.append((fill.cb, fill.tiles))


def _token_key(token: tuple) -> tuple:
    """Identity of a CB value across frames: kernel inputs and exports are shared; states and chunks are
    per trip inside the loop, and a state read after the loop is its final value."""
    kind = token[0]
    if kind == "scaler":
        return ("outer", "scaler", token[1])
    frame = token[1]
    if kind == "leaf":
        name = token[2]
        if frame == "loop" and (name.startswith("state:") or "@" in name):
            return ("trip", "leaf", name)
        if frame == "post" and name.startswith("state:"):
            return ("final", "post", name)
        return ("outer", "leaf", name)
    return ("trip", "value", token[2]) if frame == "loop" else ("outer", frame, token[2])
