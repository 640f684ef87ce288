"""Scheduling one straight-line part of a kernel (before, inside or after its loop): pass order,
intermediate CBs, splitting passes that overflow DST, and a local search that joins or cuts passes."""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.errors import KernelError
from tteqsat.extraction.program import HwOp
from tteqsat.scheduling.model import INPUT_ROLES, REDUCES, CbPlan, DstSection, Frame
from tteqsat.scheduling.sections import assign_sections, build_section, grouped_order, row_options
from tteqsat.scheduling.timing import compute_cycles


def schedule_frame(frame: Frame, plan: CbPlan, arch: Arch, model: TensixCostModel, fuse: bool,
                    capacity: int, max_rows: int = 1, strict_l1: bool = False
                    ) -> list[tuple[DstSection, list[tuple[int, tuple, int]]]]:
    """The frame's sections, splitting until each fits DST, then joining passes over the same tiles that read
    the same CB values when that is cheaper; with each section's CB reads as tokens. A pass over whole tile
    rows may take up to `max_rows` of them per acquire. `strict_l1`: no move may add CB bytes once the CBs
    overflow L1 (`_join_sections`)."""
    cut: set[tuple[int, int]] = set()
    mark = len(plan.cbs)
    built: dict[tuple, tuple] = {}  # `build_section`'s answers in this frame's search (`_try_frame`)
    for _ in range(10_000):
        result, overflow = _try_frame(frame, plan, model, fuse, cut, capacity, max_rows=max_rows, built=built)
        if overflow is None:
            break
        if overflow in cut:
            raise KernelError("internal: DST splitting made no progress", frame.program.name)
        plan.truncate(mark)  # drop this attempt's intermediates
        cut.add(overflow)
    else:
        raise KernelError("could not split the kernel into DST sections that fit", frame.program.name)
    return (_join_sections(frame, plan, model, fuse, cut, capacity, result, mark, max_rows, built, strict_l1)
            if fuse else result)


MAX_JOIN_TRIALS = 32


def _join_sections(frame: Frame, plan: CbPlan, model: TensixCostModel, fuse: bool, cut: set[tuple[int, int]],
                   capacity: int, result, mark: int, max_rows: int = 1, built: dict[tuple, tuple] | None = None,
                   strict_l1: bool = False):
    """Local search over the frame's passes, each move kept only when the model says the frame is cheaper:
    join two passes over the same tile grid that read a common CB value (one acquire, one copy of the shared
    value), or cut a DST join inside a pass that DST pressure keeps to one tile per acquire (its halves may
    then each run several tiles, or tile rows, per acquire). A move whose CBs overflow L1 is rejected while the
    frame fits without it (a cut adds an intermediate CB: cheaper, it would make the whole schedule not fit);
    with `strict_l1` also while it does not, if it adds CB bytes (the scheduler's retry for a kernel whose inputs
    stream: their whole CBs overflow here, though they will not in the schedule, `input_streams`)."""
    joins: frozenset[tuple[int, int]] = frozenset()
    cut = set(cut)
    tried: set[tuple] = set()
    ops = frame.program.ops()
    cycles: float | None = None  # the kept result's, priced once and again only when a move replaces it
    for _ in range(MAX_JOIN_TRIALS):
        move = _join_candidate(result, tried) or _cut_candidate(result, ops, cut, capacity, tried, max_rows)
        if move is None:
            return result
        tried.add(move)
        trial_plan = plan.copy()
        trial_plan.truncate(mark)
        trial_cut = set(cut) | ({move[1:]} if move[0] == "cut" else set())
        trial_joins = joins | ({move[1:]} if move[0] == "join" else set())
        try:
            trial, overflow = _try_frame(frame, trial_plan, model, fuse, set(trial_cut), capacity, trial_joins,
                                         max_rows, built)
        except KernelError:  # a move that cannot be scheduled is a rejected move, never the frame's failure
            continue
        if overflow is None and (added := cb_l1_bytes(trial_plan, model)) > model.arch.l1_budget and (
                model.arch.l1_budget >= (now := cb_l1_bytes(plan, model)) or strict_l1 and added > now):
            continue
        if overflow is None and cycles is None:
            cycles = _frame_cycles(model, result)
        if overflow is None and (trial_cycles := _frame_cycles(model, trial)) < cycles - 1e-6:  # type: ignore[operator]
            joins, cut, result, cycles = trial_joins, trial_cut, trial, trial_cycles
            plan.cbs[:] = trial_plan.cbs
            plan._scaler = trial_plan._scaler
            plan._mask = trial_plan._mask
    return result


def cb_l1_bytes(plan: CbPlan, model: TensixCostModel) -> int:
    """L1 bytes of the CBs planned so far, kernel inputs in the input format (`Schedule.l1_bytes`)."""
    return sum(cb.tiles * model.arch.tile_bytes(model.input_format(cb.dtype) if cb.role in INPUT_ROLES
                                                 else cb.dtype) for cb in plan.cbs)


def _cut_candidate(result, ops: list[HwOp], cut: set[tuple[int, int]], capacity: int,
                   tried: set[tuple], max_rows: int = 1) -> tuple | None:
    """A DST join inside the busiest pass whose pressure allows fewer tiles per acquire than DST could take
    (a row's tiles, or with `max_rows` above one, tile rows)."""
    index = {id(op): n for n, op in enumerate(ops)}
    for sec, _ in sorted(result, key=lambda r: -r[0].cycles):
        most = sec.grid[1] * min(max_rows, sec.grid[0])  # tiles a pass could take
        if sec.tiles * 2 > capacity or sec.tiles >= most:
            continue
        inside = {o.value for o in sec.ops if o.value >= 0}
        for n in sorted(inside):
            for pos, operand in enumerate(ops[n].operands):
                edge = ("cut", n, pos)
                if (ops[n].locs[pos] == "dst" and index.get(id(operand)) in inside and (n, pos) not in cut
                        and edge not in tried):
                    return edge
    return None


def _frame_cycles(model: TensixCostModel, result) -> float:
    """The part's sections pipelined through the threads, as the schedule prices them."""
    return compute_cycles(model, [sec for sec, _ in result])


def _join_candidate(result, tried: set[tuple]) -> tuple | None:
    """Ops of two sections with the same grid that read a common CB value, not tried yet."""
    secs = [(sec, {token for _, token, _ in reads}) for sec, reads in result]
    for i, (a, ta) in enumerate(secs):
        for b, tb in secs[i + 1:]:
            if a.grid != b.grid or not (ta & tb):
                continue
            va = next((o.value for o in a.ops if o.value >= 0), None)
            vb = next((o.value for o in b.ops if o.value >= 0), None)
            if va is not None and vb is not None and ("join", va, vb) not in tried:
                return ("join", va, vb)
    return None


def _try_frame(frame: Frame, plan: CbPlan, model: TensixCostModel, fuse: bool, cut: set[tuple[int, int]],
               capacity: int, joins: frozenset[tuple[int, int]] = frozenset(), max_rows: int = 1,
               built: dict[tuple, tuple] | None = None):
    """The frame's sections with `cut` and `joins`, or the DST join to cut first. `built` keeps `build_section`'s
    answers over one frame's search (every move rebuilds the frame, most of its passes as they were): keyed by
    everything it reads that a move can change (the members, which operands are in DST, the CBs, their formats
    and tile orders), the rest being the frame's. Sections are not changed while the frame is scheduled, so
    trials may share them."""
    program = frame.program
    ops = program.ops()
    index = {id(op): n for n, op in enumerate(ops)}
    sec_of = assign_sections(ops, fuse, cut, joins)
    if not sec_of:
        return [], None
    members: dict[int, list[int]] = {}
    for n in sorted(sec_of):
        members.setdefault(sec_of[n], []).append(n)

    def in_dst(n: int, pos: int) -> bool:
        operand = ops[n].operands[pos]
        return (ops[n].locs[pos] == "dst" and operand.kind not in ("input", "tilesum")
                and sec_of.get(index[id(operand)]) == sec_of[n] and (n, pos) not in cut)

    needs_cb: set[int] = set()
    for n, op in enumerate(ops):
        for pos, operand in enumerate(op.operands):
            if not in_dst(n, pos) and operand.kind != "input":
                needs_cb.add(index[id(operand)])
    out_cb: dict[int, list[int]] = {}
    for name, op in program.outputs:
        out_cb.setdefault(index[id(op)], []).append(frame.targets[name])

    sec_deps = {s: {sec_of[index[id(o)]] for n in ns for o in ops[n].operands
                    if o.kind != "input" and sec_of[index[id(o)]] != s} for s, ns in members.items()}
    order: list[int] = []
    placed: set[int] = set()
    while len(order) < len(members):
        ready = [s for s in members if s not in placed and sec_deps[s] <= placed]
        if not ready:
            raise KernelError("internal: sections depend on each other in a cycle", program.name)
        s = min(ready, key=lambda s: members[s][0])
        order.append(s)
        placed.add(s)
    position = {s: p for p, s in enumerate(order)}

    cb_of_value: dict[int, int] = {}
    used = {id(o) for op in ops for o in op.operands}
    for n, op in enumerate(ops):
        if op.kind == "input" and id(op) in used:
            if op.name not in frame.bound:
                raise KernelError(f"internal: no CB holds '{op.name}'", program.name)
            cb_of_value[n] = frame.bound[op.name]
    last_reader: dict[int, int] = {}
    for n, op in enumerate(ops):
        for pos, operand in enumerate(op.operands):
            if not in_dst(n, pos):
                v = index[id(operand)]
                last_reader[v] = max(last_reader.get(v, -1), position[sec_of[n]])
    free_after: list[tuple[int, int]] = []  # intermediates of this frame, reusable once popped
    for s in order:
        for n in members[s]:
            if n in needs_cb and n not in cb_of_value:
                # a CB is reused only for a value of its own size: its consumers wait for the whole value, and
                # tt-metal's cb_api.h wants one page count in all cb_wait_front calls on a CB
                usable = [cb for p, cb in free_after if p < position[s] and plan.cbs[cb].tiles == ops[n].n_tiles]
                if usable:
                    cb = plan.cbs[usable[0]]
                    free_after = [(p, c) for p, c in free_after if c != cb.id]
                    cb.holds.append(ops[n].label())
                else:
                    cb = plan.cbs[plan.new("intermediate", ops[n].n_tiles, ops[n].label(), ops[n].loc)]
                cb_of_value[n] = cb.id
                free_after.append((last_reader.get(n, position[s]), cb.id))
    scaler_cb = {float(op.attrs["s"]): plan.scaler(float(op.attrs["s"]))  # type: ignore[arg-type]
                 for op in ops if op.kind in REDUCES}
    for op in ops:  # masks: their pattern tiles, built once per kernel (not a per-frame read)
        if op.kind == "mask":
            scaler_cb[(str(op.attrs["mask"]), op.op)] = plan.mask(str(op.attrs["mask"]), op.op)  # type: ignore[index]
    column_major = frozenset(cb.id for cb in plan.cbs if cb.tile_order == "cols")
    formats = {cb.id: model.input_format(cb.dtype) if cb.role in INPUT_ROLES else cb.dtype for cb in plan.cbs}

    scalers = tuple(scaler_cb.items())

    def inputs(n: int) -> tuple:
        """What `build_section` reads of member n that a move can change."""
        reads = []
        for pos, o in enumerate(ops[n].operands):
            cb = cb_of_value.get(index[id(o)])
            reads.append((in_dst(n, pos), cb, formats.get(-1 if cb is None else cb, "bf16"), cb in column_major))
        return n, n in needs_cb, cb_of_value.get(n), tuple(out_cb.get(n, ())), tuple(reads)

    def build(members_in: list[int], layouts: dict[int, DstSection]) -> tuple[DstSection, tuple[int, int] | None]:
        """`build_section` over `members_in` (row counts left to it), or its answer kept in `built`."""
        key = (tuple(members_in), scalers, tuple(inputs(n) for n in members_in)) if built is not None else None
        if key is not None and key in built:
            section, overflow, laid = built[key]
            layouts.update(laid)
            return section, overflow
        section, overflow = build_section(0, members_in, ops, index, in_dst, cb_of_value, scaler_cb, out_cb,
                                          needs_cb, model, capacity, column_major, formats, max_rows, layouts=layouts)
        if key is not None:
            built[key] = (section, overflow, dict(layouts))
        return section, overflow

    result = []
    layouts: list[dict[int, DstSection]] = []  # per position, the section at each row count its build priced
    for s in order:
        laid: dict[int, DstSection] = {}
        section, overflow = build(members[s], laid)
        if overflow is not None:
            return [], overflow
        grouped = grouped_order(members[s], ops, index, in_dst)
        if grouped != members[s]:  # the same ops with fewer init switches, if DST still fits
            other_laid: dict[int, DstSection] = {}
            other, too_big = build(grouped, other_laid)
            if too_big is None and other.cycles < section.cycles - 1e-6:
                section, laid = other, other_laid
        if any(ops[n].kind == "tilesum" for n in members[s]):
            laid = {}  # its ops (tilesums are packs, not ops) do not name its members: rebuilt if asked
        layouts.append(laid)
        reads: list[tuple[int, tuple, int]] = []
        seen: set[tuple] = set()
        for n in members[s]:
            for pos, o in enumerate(ops[n].operands):
                if in_dst(n, pos):
                    continue
                v = index[id(o)]
                token = ("leaf", frame.name, o.name) if o.kind == "input" else ("value", frame.name, v)
                if token not in seen:
                    seen.add(token)
                    reads.append((cb_of_value[v], token, o.n_tiles))
            if ops[n].kind in REDUCES:
                cb = scaler_cb[float(ops[n].attrs["s"])]  # type: ignore[arg-type]
                token = ("scaler", cb)
                if token not in seen:
                    seen.add(token)
                    reads.append((cb, token, 1))
        result.append((section, reads))
    if max_rows > 1:
        def rebuild(p: int, r: int) -> DstSection:
            """The section at position p over r tile rows a pass: laid out already by its build (the same
            members and CBs; a build with `rows` lays out r, or one row if r is not an option), else built."""
            if layouts[p]:
                return layouts[p].get(r, layouts[p][1])
            return build_section(0, [o.value for o in result[p][0].ops if o.value >= 0], ops, index, in_dst,
                                 cb_of_value, scaler_cb, out_cb, needs_cb, model, capacity, column_major, formats,
                                 max_rows, r)[0]

        _pick_rows(result, model, capacity, max_rows, rebuild)
    return result, None


def _pick_rows(result, model: TensixCostModel, capacity: int, max_rows: int, rebuild) -> None:
    """Tile rows per acquire of each pass, by the frame's pipelined cost: a pass alone is cheapest with the most
    rows (fewest handshakes), but one big pass also keeps the threads from overlapping its tiles."""
    current: float | None = None  # the frame's cycles as it stands (each position keeps its best, so it carries)
    for pos in range(len(result)):
        sec, reads = result[pos]
        options = row_options(sec, capacity, max_rows)
        if len(options) < 2:
            continue
        best, best_cycles = sec, current if current is not None else _frame_cycles(model, result)
        for rows in options:
            if rows == sec.rows:
                continue
            result[pos] = (rebuild(pos, rows), reads)
            cycles = _frame_cycles(model, result)
            if cycles < best_cycles - 1e-6:
                best, best_cycles = result[pos][0], cycles
        result[pos] = (best, reads)
        current = best_cycles


