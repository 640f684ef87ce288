"""Schedule: ordered DST sections with slot assignments, and the circular-buffer plan.

Built from an extracted `Program`. A DST operand produced in the same section stays in DST; every other
operand is read from a CB (a `copy_tile` when the op wants it in DST). Sections are joined along DST
edges unless that would create a cycle through a CB (a value that needs its own consumer's result), and
split, by packing live values, when a section needs more DST tiles than the arch has.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field

from .arch import Arch
from .cost import Engines, TensixCostModel
from .errors import KernelError
from .program import HwOp, Program

FPU_KINDS = ("copy", "fpu", "reuse", "matmul", "reduce", "reduce_seeded", "bcast", "transpose")
REDUCES = ("reduce", "reduce_seeded")


@dataclass(frozen=True)
class TileRead:
    """Tile index `ci*i + cj*j + ck*k` of a CB, for output tile (i, j) and inner index k."""

    cb: int
    ci: int
    cj: int
    ck: int = 0


@dataclass
class SectionOp:
    """One op of a section pass: reads (CB tiles and DST slots), writes DST slot `out`."""

    kind: str
    op: str
    attrs: dict[str, object]
    out: int
    dst_in: list[int]
    reads: list[TileRead]
    inner: int = 0              # trip count of the k loop (matmul K tiles, reduce length)
    value: int = -1             # index of the program value it computes (-1 for copies)
    copy_from: int | None = None  # copy_dest_values source slot, for in-place ops on a value still live

    def steps(self) -> list[tuple[str, tuple]]:
        """(engine, init key) of each hardware call this op makes, in order; equal keys share an init."""
        steps: list[tuple[str, tuple]] = []
        if self.copy_from is not None:
            steps.append(("sfpu", ("copy_dest",)))
        cbs = tuple(r.cb for r in self.reads)
        if self.kind in FPU_KINDS:
            steps.append(("fpu", (self.kind, self.op, cbs, tuple(sorted(self.attrs.items())))))
        elif self.kind == "scalar" and self.op in ("rsub_s", "rdiv_s"):
            steps.append(("sfpu", ("sfpu", "neg" if self.op == "rsub_s" else "recip")))
            steps.append(("sfpu", ("scalar",)))
        elif self.kind == "scalar":
            steps.append(("sfpu", ("scalar",)))
        elif self.kind == "exp_scaled":
            steps.append(("sfpu", ("exp_scaled", self.attrs["s"])))
        else:
            steps.append(("sfpu", (self.kind, self.op)))
        return steps


@dataclass
class Pack:
    slot: int
    cb: int
    accumulate: bool = False  # L1 accumulation: the tiles of a row block add into one CB tile


@dataclass
class DstSection:
    """One acquire..release pass, repeated over the output tile grid."""

    index: int
    grid: tuple[int, int]
    ops: list[SectionOp]
    packs: list[Pack]
    waits: list[tuple[int, int]] = field(default_factory=list)  # (cb, tiles) before the loop
    pops: list[tuple[int, int]] = field(default_factory=list)   # (cb, tiles) after the loop
    slots: int = 0
    engines: Engines = field(default_factory=Engines)  # per pass
    in_loop: bool = False
    width: int = 1  # adjacent tiles of a row per pass; value slot s holds them in DST s*width .. s*width+width-1
    inits_hoisted: int = 0
    inits_per_iteration: int = 0
    cycles: float = 0.0

    @property
    def iterations(self) -> int:
        return self.grid[0] * self.grid[1] // self.width


@dataclass
class CircularBuffer:
    id: int
    role: str          # input | output | intermediate | scaler
    tiles: int         # capacity
    dtype: str
    holds: list[str]   # what lives in it, over time
    scale: float | None = None
    loc: str = ""      # source line of the first value it holds
    tile_order: str = "rows"  # "cols": tile (r, c) of an R-row tensor at position c*R + r (for matmul's b.T)


@dataclass
class TensorArg:
    """A DRAM tensor bound to a kernel argument."""

    name: str
    role: str
    shape: tuple[int, int]
    cb: int
    n_tiles: int


@dataclass
class Schedule:
    kernel: str
    arch: str
    dtype: str
    sections: list[DstSection]
    cbs: list[CircularBuffer]
    args: list[TensorArg]
    compute_cycles: float
    data_movement_cycles: float
    dst_capacity: int
    loop: LoopInfo | None = None
    fp32_dest_acc: bool = False   # 32-bit DST (fp32 kernels, or the arch setting)
    dst_full_sync: bool = False   # DST not double-buffered: twice the tiles per acquire
    exp_approx: bool = True
    math_fidelity: str = "hifi2"

    @property
    def cost_cycles(self) -> float:
        return max(self.compute_cycles, self.data_movement_cycles)

    def l1_bytes(self, arch: Arch) -> int:
        return sum(cb.tiles * arch.tile_bytes(cb.dtype) for cb in self.cbs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------------
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
        if sa == sb or sa in {find(d) for d in deps[sb]} or sb in {find(d) for d in deps[sa]}:
            continue
        parent[sb] = sa
        deps[sa] = {find(d) for d in deps[sa] | deps[sb]} - {sa}
    return {index[id(op)]: find(index[id(op)]) for op in ops if op.kind != "input"}


class CbPlan:
    """Every CB of the kernel, allocated as frames are scheduled."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype
        self.cbs: list[CircularBuffer] = []
        self._scaler: dict[float, int] = {}

    def new(self, role: str, tiles: int, holds: str, loc: str = "", scale: float | None = None) -> int:
        self.cbs.append(CircularBuffer(len(self.cbs), role, tiles, self.dtype, [holds], scale, loc))
        return self.cbs[-1].id

    def scaler(self, s: float) -> int:
        if s not in self._scaler:
            self._scaler[s] = self.new("scaler", 1, f"scaler {s:g}", scale=s)
        return self._scaler[s]

    def truncate(self, mark: int) -> None:
        del self.cbs[mark:]
        self._scaler = {s: cb for s, cb in self._scaler.items() if cb < mark}


@dataclass
class StateFill:
    cb: int
    tiles: int
    value: float
    name: str


@dataclass
class ChunkStream:
    """One kernel input streamed a chunk per trip: `axis` rows (contiguous tiles) or cols."""

    name: str
    arg: int
    cb: int
    shape: tuple[int, int]
    axis: str
    width: int
    column_major: bool = False  # tiles of each chunk column by column (see CircularBuffer.tile_order)

    def tile_ids(self, trip: int) -> list[int]:
        ct = -(-self.shape[1] // 32)
        rt = -(-self.shape[0] // 32)
        wt = self.width // 32
        if self.axis == "rows":
            return list(range(trip * wt * ct, (trip + 1) * wt * ct))
        return [r * ct + trip * wt + c for r in range(rt) for c in range(wt)]


@dataclass
class LoopInfo:
    trips: int
    fills: list[StateFill]
    streams: list[ChunkStream]
    waits: list[tuple[int, int]] = field(default_factory=list)  # before the loop
    pops: list[tuple[int, int]] = field(default_factory=list)   # after the loop
    drains: list[tuple[int, int]] = field(default_factory=list)  # final states nobody reads: wait, pop
    body_cycles: float = 0.0
    fill_cycles: float = 0.0


@dataclass
class _Frame:
    name: str                  # pre | loop | post | main
    program: Program
    bound: dict[str, int]      # leaf name -> CB holding it
    targets: dict[str, int]    # output name -> CB to pack it into


def build_schedule(program: Program, arch: Arch, model: TensixCostModel | None = None,
                   fuse: bool = True, check_capacity: bool = True) -> Schedule:
    """Sections, slots and CBs for `program`; a program with folds becomes pre / loop / post parts."""
    from .loops import split

    model = model or TensixCostModel(arch)
    capacity = arch.dst_tiles(program.dtype)
    plan = CbPlan(program.dtype)
    parts = split(program)
    args: list[TensorArg] = []
    input_cb: dict[str, int] = {}
    arg_of = {op.name: n for n, op in enumerate(program.inputs)}
    used_whole = _whole_input_names(program, parts)
    for op in program.inputs:
        cb = plan.new("input", op.n_tiles, op.name, op.loc) if op.name in used_whole else -1
        if cb >= 0:
            input_cb[op.name] = cb
        args.append(TensorArg(op.name, "in", op.shape, cb, op.n_tiles))
    output_cb: dict[str, int] = {}
    for name, op in program.outputs:
        # double-buffered when it is the only output; with several, the writer drains them one after
        # another while sections may produce them interleaved, so each holds its whole tensor
        tiles = min(op.n_tiles, 2) if len(program.outputs) == 1 else op.n_tiles
        output_cb[name] = plan.new("output", tiles, name)
        args.append(TensorArg(name, "out", op.shape, output_cb[name], op.n_tiles))
    loop: LoopInfo | None = None
    if parts is None:
        frames = [_Frame("main", program, dict(input_cb), dict(output_cb))]
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
        lp.body.dtype = program.dtype
        states = {f"state:{k}": v for k, v in state_cb.items()}
        shared = {**input_cb, **exports}
        frames = [
            _Frame("pre", parts.pre, dict(input_cb), dict(exports)),
            _Frame("loop", lp.body, {**shared, **chunk_cb, **states}, dict(state_cb)),
            _Frame("post", parts.post, {**shared, **states}, dict(output_cb)),
        ]
    for name in _transposed_operands(frames):  # only ever read as matmul's transposed b: read column by column
        cb = next((f.bound[name] for f in frames if name in f.bound), None)
        if cb is not None and plan.cbs[cb].role in ("input", "stream"):
            plan.cbs[cb].tile_order = "cols"
    if loop is not None:
        for st in loop.streams:
            st.column_major = plan.cbs[st.cb].tile_order == "cols"
    sequence: list[tuple[DstSection, list[tuple[int, tuple, int]], bool]] = []
    for frame in frames:
        for sec, reads in _schedule_frame(frame, plan, arch, model, fuse, capacity):
            sec.index = len(sequence)
            sec.in_loop = frame.name == "loop"
            sequence.append((sec, reads, sec.in_loop))
    _place_waits_and_pops(sequence, loop)
    if check_capacity and len(plan.cbs) > int(arch.num("cb.max_cbs")):
        raise KernelError(f"needs {len(plan.cbs)} circular buffers; {arch.name} has {int(arch.num('cb.max_cbs'))}",
                          program.name)
    sections = [sec for sec, _, _ in sequence]
    scalers = [cb for cb in plan.cbs if cb.role == "scaler"]
    fill_one = model.section(Engines(math=arch.num("sfpu.fill")) + model.pack_tile(), 1, 1, 0)
    compute = sum(sec.cycles for sec in sections if not sec.in_loop) + len(scalers) * fill_one
    if loop is not None:
        loop.body_cycles = sum(sec.cycles for sec in sections if sec.in_loop)
        loop.fill_cycles = sum(f.tiles for f in loop.fills) * fill_one
        compute += loop.trips * loop.body_cycles + loop.fill_cycles
    dm_tiles = sum(a.n_tiles for a in args)
    schedule = Schedule(program.name, arch.name, program.dtype, sections, plan.cbs, args, compute,
                        model.data_movement(dm_tiles * arch.tile_bytes(program.dtype)), capacity, loop,
                        program.dtype == "fp32" or arch.fp32_dest_acc, arch.dst_full_sync, arch.exp_approx,
                        str(arch["settings.math_fidelity"]))
    if check_capacity and schedule.l1_bytes(arch) > arch.l1_budget:
        big = max(plan.cbs, key=lambda cb: cb.tiles)
        raise KernelError(f"needs {schedule.l1_bytes(arch):,} bytes of L1 for its CBs, {arch.name} has "
                          f"{arch.l1_budget:,} free; the largest holds {big.holds[0]} ({big.tiles} tiles)",
                          big.holds[0], big.loc or None)
    return schedule


def _transposed_operands(frames: list[_Frame]) -> list[str]:
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


def _schedule_frame(frame: _Frame, plan: CbPlan, arch: Arch, model: TensixCostModel, fuse: bool,
                    capacity: int) -> list[tuple[DstSection, list[tuple[int, tuple, int]]]]:
    """The frame's sections, splitting until each fits DST, then joining passes over the same tiles that read
    the same CB values when that is cheaper; with each section's CB reads as tokens."""
    cut: set[tuple[int, int]] = set()
    mark = len(plan.cbs)
    for _ in range(10_000):
        result, overflow = _try_frame(frame, plan, model, fuse, cut, capacity)
        if overflow is None:
            break
        if overflow in cut:
            raise KernelError("internal: DST splitting made no progress", frame.program.name)
        plan.truncate(mark)  # drop this attempt's intermediates
        cut.add(overflow)
    else:
        raise KernelError("could not split the kernel into DST sections that fit", frame.program.name)
    return _join_sections(frame, plan, model, fuse, cut, capacity, result, mark) if fuse else result


MAX_JOIN_TRIALS = 32


def _join_sections(frame: _Frame, plan: CbPlan, model: TensixCostModel, fuse: bool, cut: set[tuple[int, int]],
                   capacity: int, result, mark: int):
    """Local search over the frame's passes, each move kept only when the model says the frame is cheaper:
    join two passes over the same tile grid that read a common CB value (one acquire, one copy of the shared
    value), or cut a DST join inside a pass that DST pressure keeps to one tile per acquire (its halves may
    then each run several tiles per acquire)."""
    joins: frozenset[tuple[int, int]] = frozenset()
    cut = set(cut)
    tried: set[tuple] = set()
    ops = frame.program.ops()
    for _ in range(MAX_JOIN_TRIALS):
        move = _join_candidate(result, tried) or _cut_candidate(result, ops, cut, capacity, tried)
        if move is None:
            return result
        tried.add(move)
        trial_plan = copy.deepcopy(plan)
        trial_plan.truncate(mark)
        trial_cut = set(cut) | ({move[1:]} if move[0] == "cut" else set())
        trial_joins = joins | ({move[1:]} if move[0] == "join" else set())
        trial, overflow = _try_frame(frame, trial_plan, model, fuse, set(trial_cut), capacity, trial_joins)
        if overflow is None and _frame_cycles(trial) < _frame_cycles(result) - 1e-6:
            joins, cut, result = trial_joins, trial_cut, trial
            plan.cbs[:] = trial_plan.cbs
            plan._scaler = trial_plan._scaler
    return result


def _cut_candidate(result, ops: list[HwOp], cut: set[tuple[int, int]], capacity: int,
                   tried: set[tuple]) -> tuple | None:
    """A DST join inside the busiest pass whose pressure allows fewer tiles per acquire than DST could take."""
    index = {id(op): n for n, op in enumerate(ops)}
    for sec, _ in sorted(result, key=lambda r: -r[0].cycles):
        if sec.width * 2 > capacity or sec.width >= sec.grid[1]:
            continue
        inside = {o.value for o in sec.ops if o.value >= 0}
        for n in sorted(inside):
            for pos, operand in enumerate(ops[n].operands):
                edge = ("cut", n, pos)
                if (ops[n].locs[pos] == "dst" and index.get(id(operand)) in inside and (n, pos) not in cut
                        and edge not in tried):
                    return edge
    return None


def _frame_cycles(result) -> float:
    return sum(sec.cycles for sec, _ in result)


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


def _try_frame(frame: _Frame, plan: CbPlan, model: TensixCostModel, fuse: bool, cut: set[tuple[int, int]],
               capacity: int, joins: frozenset[tuple[int, int]] = frozenset()):
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
                usable = [cb for p, cb in free_after if p < position[s]]
                if usable:
                    cb = plan.cbs[usable[0]]
                    free_after = [(p, c) for p, c in free_after if c != cb.id]
                    cb.tiles = max(cb.tiles, ops[n].n_tiles)
                    cb.holds.append(ops[n].label())
                else:
                    cb = plan.cbs[plan.new("intermediate", ops[n].n_tiles, ops[n].label(), ops[n].loc)]
                cb_of_value[n] = cb.id
                free_after.append((last_reader.get(n, position[s]), cb.id))
    scaler_cb = {float(op.attrs["s"]): plan.scaler(float(op.attrs["s"]))  # type: ignore[arg-type]
                 for op in ops if op.kind in REDUCES}
    column_major = frozenset(cb.id for cb in plan.cbs if cb.tile_order == "cols")

    result = []
    for s in order:
        section, overflow = _build_section(0, members[s], ops, index, in_dst, cb_of_value, scaler_cb, out_cb,
                                           needs_cb, model, capacity, column_major)
        if overflow is not None:
            return [], overflow
        grouped = _grouped_order(members[s], ops, index, in_dst)
        if grouped != members[s]:  # the same ops with fewer init switches, if DST still fits
            other, too_big = _build_section(0, grouped, ops, index, in_dst, cb_of_value, scaler_cb, out_cb,
                                            needs_cb, model, capacity, column_major)
            if too_big is None and other.cycles < section.cycles - 1e-6:
                section = other
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
    return result, None


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


def _build_section(number, members, ops, index, in_dst, cb_of_value, scaler_cb, out_cb, needs_cb, model,
                   capacity, column_major: frozenset[int] = frozenset()) -> tuple[DstSection, tuple[int, int] | None]:
    """Lay out one section's per-tile program and allocate DST slots (linear scan)."""
    tilesums = [n for n in members if ops[n].kind == "tilesum"]  # pack-side: no DST slot of their own
    members = [n for n in members if ops[n].kind != "tilesum"]
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

    def alloc() -> int:
        nonlocal next_slot, live, peak
        live += 1
        peak = max(peak, live)
        if free:
            return free.pop(0)
        next_slot += 1
        return next_slot - 1

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

    for n in members:
        op = ops[n]
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
                    copy = SectionOp("copy", "copy", {}, slot, [], [TileRead(cb_of_value[v], grid[1], 1)])
                    section_ops.append(copy)
                    engines = engines + model.op_tile(HwOp("copy", "copy", (), op.shape))
                    if live > capacity:
                        return DstSection(number, grid, [], []), overflow_edge(n)
                dst_in.append(copy_slot[v])
                dst_vals.append((v, True))
            else:
                reads.extend(_cb_reads(op, pos, cb_of_value[v], grid, cb_of_value[v] in column_major))
        if op.kind in REDUCES:
            reads.append(TileRead(scaler_cb[float(op.attrs["s"])], 0, 0))  # type: ignore[arg-type]
        inner = 0
        if op.kind == "matmul":
            inner = op.operands[0].grid[1]
        elif op.kind in REDUCES:
            src = op.operands[-1].grid
            inner = src[1] if op.op.startswith("row") else src[0]
        copy_from = None
        in_place = op.kind in ("sfpu", "exp_scaled", "scalar", "reuse", "reduce_seeded")
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
            out = alloc()
        for slot, _, _ in dying:
            if slot != out:
                release(slot)
        if live > capacity:
            return DstSection(number, grid, [], []), overflow_edge(n)
        slot_of[n] = out
        section_ops.append(SectionOp(op.kind, op.op, dict(op.attrs), out, dst_in, reads, inner, n, copy_from))
        engines = engines + model.op_tile(_priced(op))
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
    hoisted = per_iter = 0
    for engine in ("fpu", "sfpu"):
        keys = [k for e, k in steps if e == engine]
        hoisted += int(bool(keys))  # the first op's init goes before the loop
        per_iter += switches(keys)
    width = _width(grid[1], peak, capacity)
    if width > 1:  # several adjacent tiles per acquire: syncs and inits paid once for all of them
        engines = engines.scaled(width)
        for sop in section_ops:
            if sop.kind == "matmul" and (not sop.attrs.get("transpose_b") or sop.reads[1].cb in column_major):
                sop.attrs["block"] = width  # matmul_block: one in0 tile per K step serves the whole row
                unpack = model.arch.num("unpack.cycles_per_tile")
                engines = engines + Engines(unpack=-unpack * sop.inner * (width - 1))
    section = DstSection(number, grid, section_ops, packs, slots=peak * width, engines=engines,
                         inits_hoisted=hoisted, inits_per_iteration=per_iter, width=width)
    section.cycles = model.section(engines, section.iterations, hoisted, per_iter)
    return section, None


def _width(columns: int, slots_per_tile: int, capacity: int) -> int:
    """Tiles of a row processed per acquire: the most that divide the row and fit DST."""
    fits = max(1, capacity // max(1, slots_per_tile))
    return max(w for w in range(1, min(fits, columns) + 1) if columns % w == 0)


def _grouped_order(members: list[int], ops: list[HwOp], index: dict[int, int], in_dst) -> list[int]:
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


def switches(keys: list[tuple]) -> int:
    """Inits inside each pass when it cycles through `keys` (the first op re-inits after the last)."""
    return sum(1 for p, k in enumerate(keys) if k != keys[p - 1]) if len(set(keys)) > 1 else 0


def _priced(op: HwOp) -> HwOp:
    """The op form the cost model prices: a seeded reduce costs what its reduce does."""
    if op.kind == "reduce_seeded":
        return HwOp("reduce", op.op, op.operands[1:], op.shape, op.attrs)
    return op


def _cb_reads(op: HwOp, pos: int, cb: int, grid: tuple[int, int], column_major: bool = False) -> list[TileRead]:
    """How output tile (i, j) of `op` indexes operand `pos` in its CB (`column_major`: the CB holds it
    tile column by tile column)."""
    R, C = grid
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
