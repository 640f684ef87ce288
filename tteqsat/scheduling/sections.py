"""One DST pass: which ops share it, their order, DST slots, tiles per acquire, and how each op indexes
its CB operands. A DST operand produced in the same pass stays in DST; every other operand comes from a CB
(a copy_tile when the op wants it in DST)."""

from __future__ import annotations

from dataclasses import replace

from tteqsat.cost.engines import Engines
from tteqsat.cost.model import PACK_THREAD_SFPU
from tteqsat.cost.timeline import Stage
from tteqsat.errors import KernelError
from tteqsat.extraction.program import HwOp, max_scaler_inexact, reduces_padding
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.model import (
    FULL_INIT_KINDS,
    REDUCES,
    DstSection,
    MaskIndex,
    Pack,
    SectionOp,
    TileRead,
    switches,
)


def _union_find() -> tuple[dict[int, int], callable]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    return parent, find


def assign_sections(ops: list[HwOp], fuse: bool, cut: set[tuple[int, int]],
                    joins: frozenset[tuple[int, int]] = frozenset()) -> dict[int, int]:
    """Section id of every computed op (by index in `ops`), joining along allowed DST edges, then the
    `joins` (pairs of ops whose sections should share one pass) where neither needs the other's result."""
    index = {id(op): n for n, op in enumerate(ops)}
    parent, find = _union_find()
    deps: dict[int, set[int]] = {}
    for n, op in enumerate(ops):
        if op.kind == "input":
            continue
        cb_deps: set[int] = set()
        dst_secs: list[int] = []
        for pos, (operand, loc) in enumerate(zip(op.operands, op.locs, strict=True)):
            if operand.kind == "input":
                continue
            s = find(index[id(operand)])
            if loc == "dst" and fuse and (n, pos) not in cut and operand.kind != "tilesum":
                dst_secs.append(s)
            else:
                cb_deps |= {s} | {find(d) for d in deps.get(s, set())}
        keep = []
        for s in dst_secs:
            if s in cb_deps or any(s in {find(d) for d in deps.get(t, set())} for t in dst_secs if t != s):
                pos = next(p for p, o in enumerate(op.operands) if find(index.get(id(o), -1)) == s)
                cut.add((n, pos))  # joining would need this section's own output first
            elif s not in keep:
                keep.append(s)
        find(n)
        deps[n] = set(cb_deps)
        for s in keep:
            deps[n] |= {find(d) for d in deps.get(s, set())}
            parent[find(s)] = n
        deps[n] = {find(d) for d in deps[n]} - {n}
    for a, b in sorted(joins):
        sa, sb = find(a), find(b)
        if sa == sb or _reaches(ops, index, find, sa, sb) or _reaches(ops, index, find, sb, sa):
            continue  # a path between them through another section (or a CB edge) would become a cycle
        parent[sb] = sa
    return {index[id(op)]: find(index[id(op)]) for op in ops if op.kind != "input"}


def _reaches(ops: list[HwOp], index: dict[int, int], find, start: int, goal: int) -> bool:
    """Whether section `start` needs a value of section `goal`, directly or through other sections, under
    the current grouping (joins made earlier add paths that the per-op dependences did not see)."""
    needs: dict[int, set[int]] = {}
    for n, op in enumerate(ops):
        if op.kind == "input":
            continue
        s = find(n)
        for operand in op.operands:
            if operand.kind != "input" and find(index[id(operand)]) != s:
                needs.setdefault(s, set()).add(find(index[id(operand)]))
    stack, seen = [start], {start}
    while stack:
        for nxt in needs.get(stack.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def build_section(number, members, ops, index, in_dst, cb_of_value, scaler_cb, out_cb, needs_cb, model,
                   capacity, column_major: frozenset[int] = frozenset(),
                   formats: dict[int, str] | None = None,
                   max_rows: int = 1, rows: int | None = None,
                   layouts: dict[int, DstSection] | None = None) -> tuple[DstSection, tuple[int, int] | None]:
    """Lay out one section's per-tile program and allocate DST slots (linear scan). Returns the section, or
    a DST join to cut when the section cannot be laid out (DST overflows, or two kinds of full init).
    `formats` gives each CB's tile format (kernel inputs may differ from intermediates:
    settings.input_format); bf16 if absent. A pass over whole rows may take up to `max_rows` of them per
    acquire: `rows` of them when given (and allowed), else as many as the pass alone prices cheapest (fewer
    handshakes and init sites; the frame then weighs the pipelined alternatives, `row_options`). Without `rows`,
    `layouts` (if given) gets the section at each row count it priced: what this call with that `rows` returns."""
    formats = formats or {}

    def fmt(v: int) -> str:
        return formats.get(cb_of_value.get(v, -1), "bf16")

    def operand_formats(op: HwOp) -> tuple[str, ...]:
        return tuple(fmt(index[id(o)]) for o in op.operands)

    op_cost: dict[int, Engines] = {}  # per output tile, by member
    tilesums = [n for n in members if ops[n].kind == "tilesum"]  # pack-side: no DST slot of their own
    members = [n for n in members if ops[n].kind != "tilesum"]
    # ops whose init is a full one (unary_bcast, transpose) go first: the pass sets them up before its
    # acquire; they read only CBs, so moving them first keeps the order topological
    members = ([n for n in members if ops[n].kind in FULL_INIT_KINDS]
               + [n for n in members if ops[n].kind not in FULL_INIT_KINDS])
    conflict = _second_full_init(members, ops, index, in_dst)
    if conflict is not None:
        return DstSection(number, ops[members[-1]].grid, [], []), conflict
    grid = ops[members[-1]].grid
    # uses of each value inside this section, in op order
    uses: dict[int, list[int]] = {}
    for n in members:
        for pos, operand in enumerate(ops[n].operands):
            if in_dst(n, pos):
                uses.setdefault(index[id(operand)], []).append(n)
    keep_to_end = {n for n in members if n in needs_cb or n in out_cb}
    keep_to_end |= {index[id(ops[t].operands[0])] for t in tilesums}
    free: list[int] = []
    next_slot = 0
    slot_of: dict[int, int] = {}
    copy_slot: dict[int, int] = {}  # value -> slot of its copy_tile in this section
    live = 0
    peak = 0
    section_ops: list[SectionOp] = []
    engines = Engines()

    def alloc(fresh: bool = False) -> int:
        """A DST slot; `fresh` ones were never written in this pass, so they still read as zero (matmul and
        reduce_tile accumulate into their slot)."""
        nonlocal next_slot, live, peak
        live += 1
        if free and not fresh:
            slot = free.pop(0)
        else:
            next_slot += 1
            slot = next_slot - 1
        peak = max(peak, next_slot)  # slots in use by the pass, which can exceed the live count
        return slot

    def release(slot: int) -> None:
        nonlocal live
        live -= 1
        free.append(slot)
        free.sort()

    def dies_at(v: int, n: int, copied: bool) -> bool:
        if copied:
            return copy_uses[v][-1] == n
        return v not in keep_to_end and uses.get(v, [])[-1:] == [n]

    def overflow_edge(n: int) -> tuple[int, int]:
        """The DST join to cut when op `n` overflows DST: one into `n`, else the nearest earlier one."""
        for m in [n] + list(reversed(members[: members.index(n)])):
            for p in range(len(ops[m].operands)):
                if in_dst(m, p):
                    return (m, p)
        raise KernelError(f"one op needs more than {capacity} DST tiles", ops[n].label())

    copy_uses: dict[int, list[int]] = {}
    for n in members:
        for pos, operand in enumerate(ops[n].operands):
            if ops[n].locs[pos] == "dst" and not in_dst(n, pos):
                copy_uses.setdefault(index[id(operand)], []).append(n)

    op_math: list[float] = []  # math cycles per output tile of each section op, in order (a copy_tile its own)
    for n in members:
        op = ops[n]
        if reduces_padding(op.kind, op.op, op.operands[-1].shape if op.operands else (0, 0)):
            raise KernelError(f"internal: a reduce_tile across a length-1 axis of a {op.operands[-1].shape} value "
                              "would fold the tile's padding into the result", op.label())
        if op.kind == "reduce" and max_scaler_inexact(op.op, float(op.attrs.get("s", 1.0))):  # type: ignore[arg-type]
            raise KernelError(f"internal: a reduce_tile max with scaler {op.attrs.get('s')} (not a power of two) "
                              "would apply only the scaler's power-of-two part", op.label())
        dst_in: list[int] = []
        dst_vals: list[tuple[int, bool]] = []
        reads: list[TileRead] = []
        for pos, (operand, loc) in enumerate(zip(op.operands, op.locs, strict=True)):
            v = index[id(operand)]
            if loc == "dst" and in_dst(n, pos):
                dst_in.append(slot_of[v])
                dst_vals.append((v, False))
            elif loc == "dst":
                if v not in copy_slot:
                    slot = alloc()
                    copy_slot[v] = slot
                    copy_cost = model.op_tile(HwOp("copy", "copy", (operand,), op.shape), (fmt(v),))
                    copy = SectionOp("copy", "copy", {}, slot, [], [TileRead(cb_of_value[v], grid[1], 1)],
                                     work=copy_cost)
                    section_ops.append(copy)
                    op_math.append(copy_cost.math)
                    engines = engines + copy_cost
                    if peak > capacity:
                        return DstSection(number, grid, [], []), overflow_edge(n)
                dst_in.append(copy_slot[v])
                dst_vals.append((v, True))
            else:
                reads.extend(_cb_reads(op, pos, cb_of_value[v], grid, cb_of_value[v] in column_major))
        if op.kind in REDUCES:
            reads.append(TileRead(scaler_cb[float(op.attrs["s"])], 0, 0))  # type: ignore[arg-type]
        if op.kind == "mask":
            text = str(op.attrs["mask"])
            diag = MaskIndex(int(op.attrs["block"]) // 32, int(op.attrs["chunk"]) // 32,  # type: ignore[call-overload]
                             Mask.parse(text).tile_runs())
            reads.append(TileRead(scaler_cb[(text, op.op)], 0, 0, 0, diag))  # type: ignore[index]
        inner = 0
        if op.kind == "matmul":
            inner = op.operands[0].grid[1]
        elif op.kind in REDUCES:
            src = op.operands[-1].grid
            inner = src[1] if op.op.startswith("row") else src[0]
        copy_from = None
        # in place: the result overwrites its DST operand's slot (a matmul adds onto the value it accumulates)
        in_place = (op.kind in ("sfpu", "exp_scaled", "scalar", "reuse", "mask")
                    or (op.kind == "matmul" and bool(dst_in)))
        dying = [(slot, v, c) for slot, (v, c) in zip(dst_in, dst_vals, strict=True) if dies_at(v, n, c)]
        if in_place:
            if dying and dying[0][0] == dst_in[0]:
                out = dst_in[0]
                dying = dying[1:]
            else:
                out = alloc()
                copy_from = dst_in[0]
                engines = engines + model.copy_dest()
        elif op.kind == "sfpu2" and dying:
            out = dying[0][0]
            dying = dying[1:]
        else:
            out = alloc(fresh=op.kind in ("matmul", "reduce"))
        for slot, _, _ in dying:
            if slot != out:
                release(slot)
        if peak > capacity:
            return DstSection(number, grid, [], []), overflow_edge(n)
        slot_of[n] = out
        op_cost[n] = model.op_tile(op, operand_formats(op))
        work = op_cost[n] + (model.copy_dest() if copy_from is not None else Engines())
        section_ops.append(SectionOp(op.kind, op.op, dict(op.attrs), out, dst_in, reads, inner, n, copy_from,
                                     work))
        op_math.append(work.math)
        engines = engines + op_cost[n]
    packs: list[Pack] = []
    for n in members:
        if n in needs_cb:
            packs.append(Pack(slot_of[n], cb_of_value[n]))
        for cb in out_cb.get(n, []):
            packs.append(Pack(slot_of[n], cb))
    for t in tilesums:
        packs.append(Pack(slot_of[index[id(ops[t].operands[0])]], cb_of_value[t], accumulate=True))
    engines = engines + model.pack_tile().scaled(sum(1 for p in packs if not p.accumulate))
    engines = engines + Engines(pack=model.arch.num("pack.l1_acc_cycles_per_tile") * len(tilesums))
    steps = [step for o in section_ops for step in o.steps()]
    sites: dict[str, tuple[int, int]] = {}
    for engine in ("fpu", "sfpu"):
        keys = [k for e, k in steps if e == engine]
        sites[engine] = (int(bool(keys)), switches(keys))  # the first op's init goes before the loop
    hoisted = sum(h for h, _ in sites.values())
    per_iter = sum(p for _, p in sites.values())
    width = _width(grid[1], peak, capacity)
    if width > 1:  # several adjacent tiles per acquire: syncs and inits paid once for all of them
        engines = engines.scaled(width)
        for sop in section_ops:
            if sop.kind == "matmul" and (not sop.attrs.get("transpose_b") or sop.reads[1].cb in column_major):
                sop.attrs["block"] = width  # matmul_block: one in0 tile per K step serves the whole row
                op = ops[sop.value]
                block = model.matmul_pass(sop.inner, 1, width, *operand_formats(op)[:2])
                engines = engines + block + op_cost[sop.value].scaled(-width)

    tile_from = tile_major_from(section_ops)

    def laid_out(rows: int) -> DstSection:
        """The section taking `rows` whole tile rows (of `width` tiles) per acquire, its ops tile by tile when
        that may be done and the model prices it cheaper (`order`)."""
        tiles = width * rows
        per_pass, on_pack = _exp_on_pack_thread(model, section_ops, op_cost, uses, engines.scaled(rows), tiles)
        sec = DstSection(number, grid, section_ops, packs, slots=peak * tiles, engines=per_pass,
                         inits_hoisted=hoisted, inits_per_iteration=per_iter, init_sites=sites,
                         pack_thread_ops=on_pack, width=width, rows=rows,
                         math_tail=_math_tail(section_ops, op_math, tiles, on_pack, model.init))
        sec.cycles = model.section(per_pass, sec.iterations, hoisted, per_iter)
        if tile_from is not None and tiles > 1:
            tiled = replace(sec, order="tile", tile_from=tile_from,
                            math_tail=_math_tail(section_ops, op_math, tiles, on_pack, model.init, tile_from))
            if _cheaper(model.stage(tiled), model.stage(sec)):
                return tiled
        return sec

    options = _row_counts(grid, width, peak, capacity, max_rows, section_ops, tilesums)
    if rows is not None:
        return laid_out(rows if rows in options else 1), None
    section = laid_out(1)
    if layouts is not None:
        layouts[1] = section
    for count in options:
        trial = laid_out(count)  # fewer acquires and init sites, priced by the model
        if layouts is not None:
            layouts[count] = trial
        if trial.cycles < section.cycles - 1e-6:
            section = trial
    return section, None


def _exp_on_pack_thread(model, section_ops: list[SectionOp], op_cost: dict[int, Engines],
                        uses: dict[int, list[int]], engines: Engines, width: int) -> tuple[Engines, list[int]]:
    """With settings.exp_on_pack_thread: move each exp whose result no later op of the pass reads (it is only
    packed) to the pack thread, as tt-metal's exp_packthread_tile does, when that shortens the pass."""
    if not model.arch.exp_on_pack_thread:
        return engines, []
    moved: list[int] = []
    for pos, sop in enumerate(section_ops):
        is_exp = sop.kind == "exp_scaled" or (sop.kind == "sfpu" and sop.op in PACK_THREAD_SFPU)
        if not is_exp or sop.value < 0 or uses.get(sop.value) or sop.copy_from is not None:
            continue
        own = op_cost[sop.value].scaled(width)
        trial = engines + own.scaled(-1) + model.on_pack_thread(own)
        if model.pass_cycles(trial) < model.pass_cycles(engines) - 1e-9:
            engines = trial
            moved.append(pos)
    return engines, moved


def tile_major_from(section_ops: list[SectionOp]) -> int | None:
    """The first op of the longest run of a pass's last ops that may run tile by tile (every op on tile 0, then
    every op on tile 1, ...), or None. Each call of such an op on tile t reads and writes only tile t of its DST
    slots (DST index slot * tiles + t) and CB tiles, so any order of the tiles computes the same values; what
    limits the run is the inits: an engine whose ops in the run need different configurations would need an
    init per tile, so the run keeps one init key per engine (an FPU op and an SFPU op alternate freely: each
    engine keeps its own configuration, as tt-metal's SDPA alternates sub_tiles_bcast_cols and exp_tile under
    one init of each). A reduce has two FPU steps (its uninit), a matmul_block writes its whole row of tiles in
    one call: a pass with one stays op by op. The ops before the run keep running op by op, ahead of it."""
    if any(o.kind == "matmul" and o.attrs.get("block") for o in section_ops):
        return None
    start = None
    keys: dict[str, set[tuple]] = {"fpu": set(), "sfpu": set()}
    for p in range(len(section_ops) - 1, -1, -1):
        for engine, key in section_ops[p].steps():
            keys[engine].add(key)
        if any(len(k) > 1 for k in keys.values()):
            break
        start = p
    return start


def _cheaper(tiled: Stage, op_major: Stage) -> bool:
    """Whether a pass priced tile by tile beats it op by op: the busier of its unpack and math threads per pass,
    then the math left after its last tile is unpacked (what the next pass's pipeline waits for)."""
    a, b = max(tiled.unpack, tiled.math), max(op_major.unpack, op_major.math)
    if abs(a - b) > 1e-6:
        return a < b
    return tiled.tail < op_major.tail - 1e-6


def _math_tail(section_ops: list[SectionOp], op_math: list[float], width: int, on_pack: list[int],
               init: float, tile_from: int | None = None) -> float:
    """Math cycles of a pass after its last tile is unpacked (before the commit): the last op that reads a CB
    finishes its last tile (one K step of a matmul or reduce), then every later op runs on all `width` tiles
    of the pass,
    with the inits the pass issues between them. The pass's ops run op by op over its tiles (lowering.mlir), and
    an op that reads only DST cannot start before the ops it follows, so this part never overlaps the pass's
    unpacking. Tile by tile from op `tile_from` (whose run keeps one init per engine), when the last op that reads a
    CB is in that run, only the later ops' work on the last tile is left."""
    last = max((p for p, o in enumerate(section_ops) if o.reads), default=None)
    if last is None:
        return 0.0
    tail = op_math[last] / max(1, section_ops[last].inner)
    if tile_from is not None and last >= tile_from:
        return tail + sum(m for p, m in enumerate(op_math) if p > last and p not in on_pack)
    tail += width * sum(m for p, m in enumerate(op_math) if p > last and p not in on_pack)
    steps = [(p, engine, key) for p, o in enumerate(section_ops) for engine, key in o.steps()]
    for engine in ("fpu", "sfpu"):
        keyed = [(p, key) for p, e, key in steps if e == engine]
        if switches([key for _, key in keyed]):
            tail += init * sum(1 for n, (p, key) in enumerate(keyed) if p > last and key != keyed[n - 1][1])
    return tail


def row_options(section: DstSection, capacity: int, max_rows: int) -> list[int]:
    """Tile rows per acquire a built section could take instead (1 included)."""
    peak = section.slots // section.tiles
    accumulate = [0] if any(p.accumulate for p in section.packs) else []
    return [1] + _row_counts(section.grid, section.width, peak, capacity, max_rows, section.ops, accumulate)


def _row_counts(grid: tuple[int, int], width: int, slots_per_tile: int, capacity: int, max_rows: int,
                section_ops: list[SectionOp], tilesums: list[int]) -> list[int]:
    """Tile rows a pass may take beyond one: only a pass that already takes whole rows (its tiles then stay in
    row-major CB order), with no matmul (matmul_block serves one row) and no L1-accumulated pack (one CB
    tile per row); each row's tiles get DST slots of their own, so all of them must fit."""
    if width != grid[1] or max_rows < 2 or tilesums or any(o.kind == "matmul" for o in section_ops):
        return []
    return [r for r in range(2, min(max_rows, grid[0]) + 1)
            if grid[0] % r == 0 and slots_per_tile * width * r <= capacity]


def _width(columns: int, slots_per_tile: int, capacity: int) -> int:
    """Tiles of a row processed per acquire: the most that divide the row and fit DST."""
    fits = max(1, capacity // max(1, slots_per_tile))
    return max(w for w in range(1, min(fits, columns) + 1) if columns % w == 0)


def grouped_order(members: list[int], ops: list[HwOp], index: dict[int, int], in_dst) -> list[int]:
    """A topological order of a section's ops that runs ops of the same kind back to back, so one init
    serves several (list scheduling: among the ready ops, prefer the previous op's kind)."""
    inside = set(members)
    preds = {n: {index[id(o)] for p, o in enumerate(ops[n].operands) if in_dst(n, p)} & inside for n in members}
    done: set[int] = set()
    order: list[int] = []
    last: tuple = ()
    while len(order) < len(members):
        ready = [n for n in members if n not in done and preds[n] <= done]
        same = [n for n in ready if (ops[n].kind, ops[n].op) == last]
        pick = (same or ready)[0]
        order.append(pick)
        done.add(pick)
        last = (ops[pick].kind, ops[pick].op)
    return order


def _second_full_init(members: list[int], ops: list[HwOp], index: dict[int, int], in_dst) -> tuple[int, int] | None:
    """A pass can set up one kind of full init before its acquire; for a second kind, the DST join out of
    its first op to cut (that op then runs in a pass of its own)."""
    kinds = {(ops[n].kind, ops[n].op) for n in members if ops[n].kind in FULL_INIT_KINDS}
    if len(kinds) < 2:
        return None
    first = next(n for n in members if ops[n].kind in FULL_INIT_KINDS)
    second = next(n for n in members if ops[n].kind in FULL_INIT_KINDS
                  and (ops[n].kind, ops[n].op) != (ops[first].kind, ops[first].op))
    for m in members:
        for pos, operand in enumerate(ops[m].operands):
            if index.get(id(operand)) == second and in_dst(m, pos):
                return (m, pos)
    raise KernelError("internal: two kinds of broadcast/transpose share a pass with no DST join to cut",
                      ops[second].label())


def _cb_reads(op: HwOp, pos: int, cb: int, grid: tuple[int, int], column_major: bool = False) -> list[TileRead]:
    """How output tile (i, j) of `op` indexes operand `pos` in its CB (`column_major`: the CB holds it
    tile column by tile column)."""
    R, C = grid
    if op.kind == "fpu" and pos == 1 and op.attrs.get("bcast"):  # one broadcast tile per tile row (column)
        return [TileRead(cb, 1, 0) if op.attrs["bcast"] == "cols" else TileRead(cb, 0, 1)]
    if op.kind in ("fpu", "reuse", "copy"):
        return [TileRead(cb, C, 1)]
    if op.kind == "bcast":
        return [{"cols": TileRead(cb, 1, 0), "rows": TileRead(cb, 0, 1), "scalar": TileRead(cb, 0, 0)}[op.op]]
    if op.kind == "transpose":
        return [TileRead(cb, 1, R)]
    if op.kind == "matmul":
        K = op.operands[0].grid[1]
        if pos == 0:
            return [TileRead(cb, K, 0, 1)]
        if op.attrs.get("transpose_b"):  # b is (C, K): tile (j, k) at j*K + k, or at k*C + j column by column
            return [TileRead(cb, 0, 1, C)] if column_major else [TileRead(cb, 0, K, 1)]
        return [TileRead(cb, 0, 1, C)]
    if op.kind in REDUCES:
        src = op.operands[-1].grid
        return [TileRead(cb, src[1], 0, 1)] if op.op.startswith("row") else [TileRead(cb, 0, 1, src[1])]
    raise KernelError(f"op form {op.kind} reads no CB operand")
