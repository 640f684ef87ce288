"""Schedule: ordered DST sections with slot assignments, the circular-buffer plan, and the loop.

`build_schedule` turns an extracted `Program` into one: it splits the program at its folds (tteqsat.loops),
allocates the kernel's CBs, schedules each straight-line part (tteqsat.frames, passes from
tteqsat.sections), places every CB wait and pop, and prices the result. Every backend reads only this.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .arch import Arch
from .cost import Engines, TensixCostModel
from .errors import KernelError
from .program import Program

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
class Frame:
    name: str                  # pre | loop | post | main
    program: Program
    bound: dict[str, int]      # leaf name -> CB holding it
    targets: dict[str, int]    # output name -> CB to pack it into


def build_schedule(program: Program, arch: Arch, model: TensixCostModel | None = None,
                   fuse: bool = True, check_capacity: bool = True) -> Schedule:
    """Sections, slots and CBs for `program`; a program with folds becomes pre / loop / post parts."""
    from .frames import schedule_frame
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
        lp.body.dtype = program.dtype
        states = {f"state:{k}": v for k, v in state_cb.items()}
        shared = {**input_cb, **exports}
        frames = [
            Frame("pre", parts.pre, dict(input_cb), dict(exports)),
            Frame("loop", lp.body, {**shared, **chunk_cb, **states}, dict(state_cb)),
            Frame("post", parts.post, {**shared, **states}, dict(output_cb)),
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
        for sec, reads in schedule_frame(frame, plan, arch, model, fuse, capacity):
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


def switches(keys: list[tuple]) -> int:
    """Inits inside each pass when it cycles through `keys` (the first op re-inits after the last)."""
    return sum(1 for p, k in enumerate(keys) if k != keys[p - 1]) if len(set(keys)) > 1 else 0


