"""Splitting an extracted program at its folds: what runs before the loop, in each trip, and after.

A fold's body is the part of the program that depends on the current chunk. In the loop, every fold
keeps its accumulator in a state CB (FIFO ping-pong: the previous value at the front, the next one
pushed behind it), online folds also keep the running max and rescale their accumulators by
exp(s * (m_old - m_new)); the state starts as m = -1e30, accumulators = 0, so every trip is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tteqsat.errors import KernelError
from tteqsat.extraction.program import TILEWISE_KINDS, HwOp, Program, fold_live, fpu_bcast, live_trips
from tteqsat.frontend.masks import Mask

LOOP_KINDS = ("online_sum", "fold_max", "fold_sum")
EXPORT_PREFIX = "export:"  # internal leaf names: "export:N", "state:NAME", "INPUT@colsW"; never identifiers
M_INIT = -1.0e30  # the running max before the first chunk: exp(s * (M_INIT - m)) underflows to 0


@dataclass
class State:
    """One loop-carried value: its leaf inside the body, its next value, its start value."""

    name: str
    shape: tuple[int, int]
    init: float
    prev: HwOp = field(repr=False)
    next: HwOp | None = field(default=None, repr=False)


@dataclass
class Loop:
    trips: int
    body: Program                 # leaves: invariants (bound), chunks (streamed), states (prev)
    states: list[State]
    chunks: list[HwOp]            # original chunk leaves (input name, axis, width)
    chunk_leaf: dict[str, HwOp]   # body leaf name -> chunk op
    live: tuple[Mask, int, int] | None = None  # every fold skips the chunks this mask leaves dead
    rows: int = 0                 # rows of the folds (the work item's rows the mask is evaluated at)

    def range(self, block: int = 0) -> tuple[int, int]:
        """Chunks [lo, hi) the loop runs for row block `block`: all of them, or the live ones."""
        return live_trips(self.live, block, self.rows, self.trips) if self.live else (0, self.trips)


@dataclass
class Split:
    pre: Program                  # outputs: values the loop or the post part read (exported to CBs)
    loop: Loop | None
    post: Program                 # leaves: kernel inputs, exports of pre, loop results (state names)
    exports: list[str] = field(default_factory=list)


def _leaf(name: str, shape: tuple[int, int]) -> HwOp:
    return HwOp("input", "input", (), shape, {"name": name})


def split(program: Program, recompute: bool = False) -> Split | None:
    """None when the program has no fold; otherwise its pre / loop / post parts. A value computed before the loop
    and read after it is held whole in a CB across the loop, unless `recompute` and it is a tile-wise map of
    kernel inputs (`TILEWISE_KINDS`): then the post part computes it again from the inputs, which it may stream
    pass by pass (a scaled row wider than L1: `exp(x * t - lse)` after the loop's online max and sum)."""
    ops = program.ops()
    folds = [op for op in ops if op.kind in LOOP_KINDS]
    if not folds:
        return None
    trips = {int(f.attrs["trips"]) for f in folds}  # type: ignore[call-overload]
    if len(trips) != 1:
        raise KernelError(f"folds over different trip counts {sorted(trips)} need separate loops, "
                          "which this scheduler does not build", program.name)
    in_loop: set[int] = set()  # ops computed per trip: depend on a chunk or the running max
    for op in ops:
        if op.kind in ("chunk", "running_max") or any(id(o) in in_loop for o in op.operands
                                                          if op.kind not in LOOP_KINDS):
            if op.kind not in LOOP_KINDS:
                in_loop.add(id(op))
    for f in folds:
        for o in f.operands:
            if _depends_on_fold(o, folds):
                raise KernelError("a fold whose body needs another fold's result needs two loops, "
                                  "which this scheduler does not build", program.name)
    after: set[int] = set()  # ops that need a fold's result
    for op in ops:
        if op.kind in LOOP_KINDS or any(id(o) in after for o in op.operands):
            after.add(id(op))
    before = [op for op in ops if id(op) not in in_loop and id(op) not in after]

    names: dict[int, str] = {}
    exports: list[str] = []

    def export(op: HwOp) -> HwOp:
        """A leaf standing for a value computed in an earlier part. Its name is not an identifier, so it
        never meets a kernel input's name (those are identifiers) in a frame's leaves or CB bindings."""
        if op.kind == "input":
            return op
        if id(op) not in names:
            names[id(op)] = f"{EXPORT_PREFIX}{len(names)}"
            exports.append(names[id(op)])
        return _leaf(names[id(op)], op.shape)

    # a matmul accumulates onto the state in DST only where DST is 32-bit (fp32 kernels): with 16-bit DST
    # each of its K steps would round the whole state to bf16, not once per trip (the simulator's hardware
    # numerics show 49 % error over 32768 keys)
    loop = _build_loop(program.name, int(next(iter(trips))), ops, folds, in_loop, export, program.dtype == "fp32")
    lives = {fold_live(f) for f in folds}
    if len(lives) == 1 and None not in lives:  # every fold skips the same dead chunks: so does the loop
        loop.live, loop.rows = lives.pop(), folds[0].shape[0]
    rebuilt: dict[int, HwOp] = {id(f): _leaf(f"state:{f.attrs['state']}", f.shape) for f in folds}

    maps: dict[int, bool] = {}  # by op: a tile-wise map of kernel inputs (memoised: operands are shared)

    def map_of_inputs(op: HwOp) -> bool:
        if id(op) not in maps:
            maps[id(op)] = op.kind == "input" or op.kind in TILEWISE_KINDS and all(map_of_inputs(o)
                                                                                   for o in op.operands)
        return maps[id(op)]

    def post_clone(op: HwOp) -> HwOp:
        if id(op) in rebuilt:
            return rebuilt[id(op)]
        if id(op) not in after and not (recompute and op.kind != "input" and map_of_inputs(op)):
            rebuilt[id(op)] = export(op)
        else:
            rebuilt[id(op)] = HwOp(op.kind, op.op, tuple(post_clone(o) for o in op.operands), op.shape,
                                   dict(op.attrs), op.origin, op.loc)
        return rebuilt[id(op)]

    post_outputs = []
    for name, op in program.outputs:
        value = post_clone(op)
        if value.kind == "input":  # a loop result or earlier value is the output: move it to the output CB
            value = HwOp("copy", "copy", (value,), value.shape, {}, "output copy")
        post_outputs.append((name, value))
    pre_values = {id(op): op for op in before}
    pre_outputs = [(names[k], pre_values[k]) for k in names if k in pre_values]
    pre = Program(program.name, program.dtype, list(program.inputs), pre_outputs)
    post_leaves = [leaf for leaf in _leaves(post_outputs)]
    post = Program(program.name, program.dtype, post_leaves, post_outputs)
    return Split(pre, loop, post, [n for n, _ in pre_outputs])


def _accumulate(acc: HwOp, value: HwOp, shape: tuple[int, int], origin: str, alone: bool,
                wide_dst: bool = False) -> HwOp:
    """acc + value. A matmul value that may (`alone`) accumulates onto acc in its DST slot (matmul_tiles adds
    to what the slot holds, as tt-metal's matmuls reload partials), which saves the SFPU add. In a 16-bit DST the
    FPU adds where one operand is in a CB (the state from before the trip, an L1-accumulated sum): it rounds, where
    the SFPU's bf16 store truncates, and rounding the state down every trip took 9-10 % off a 64-trip loop's sum.
    Both computed in this trip's passes (a rescaled state and a reduce), the SFPU adds them."""
    if alone and value.kind == "matmul" and len(value.operands) == 2:
        return HwOp("matmul", "matmul", (*value.operands, acc), shape, dict(value.attrs), origin, value.loc)
    if not wide_dst:
        in_cb = ("input", "tilesum")  # a loop leaf (the state, a chunk) or a packer-accumulated sum
        if acc.kind in in_cb and value.kind in in_cb:
            return HwOp("fpu", "add", (acc, value), shape, {}, origin)  # add_tiles
        if value.kind in in_cb:
            return HwOp("reuse", "add", (acc, value), shape, {"reuse": "srca"}, origin)  # acc from DST
        if acc.kind in in_cb:
            return HwOp("reuse", "add", (value, acc), shape, {"reuse": "srca"}, origin)  # value from DST
    return HwOp("sfpu2", "add", (acc, value), shape, {}, origin)


def _leaves(outputs: list[tuple[str, HwOp]]) -> list[HwOp]:
    seen: dict[str, HwOp] = {}

    def visit(op: HwOp) -> None:
        if op.kind == "input":
            seen.setdefault(op.name, op)
        for o in op.operands:
            visit(o)

    for _, op in outputs:
        visit(op)
    return list(seen.values())


def _depends_on_fold(op: HwOp, folds: list[HwOp]) -> bool:
    stack, seen = [op], set()
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if cur.kind in LOOP_KINDS:
            return True
        stack.extend(cur.operands)
    return False


def _build_loop(kernel: str, trips: int, ops: list[HwOp], folds: list[HwOp], in_loop: set[int], export,
                wide_dst: bool = False) -> Loop:
    states: list[State] = []
    body: dict[int, HwOp] = {}
    chunk_leaf: dict[str, HwOp] = {}
    m_state: dict[int, tuple[State, HwOp]] = {}  # id(row-max body) -> (state, m_new)
    alpha: dict[tuple[int, float], HwOp] = {}

    def only_use(fold: HwOp) -> bool:
        """Whether the fold's body value may accumulate onto the state: DST is 32-bit and the fold is the
        value's only reader (so it need not exist alone)."""
        body_value = fold.operands[0]
        return wide_dst and sum(1 for op in ops for o in op.operands if o is body_value) == 1

    def state(name: str, shape: tuple[int, int], init: float) -> State:
        st = State(name, shape, init, _leaf(f"state:{name}", shape))
        states.append(st)
        return st

    def clone(op: HwOp) -> HwOp:
        if id(op) in body:
            return body[id(op)]
        if op.kind == "chunk":
            name = f"{op.attrs['name']}@{op.attrs['axis']}{op.attrs['width']}"
            leaf = _leaf(name, op.shape)
            chunk_leaf[name] = op
            body[id(op)] = leaf
        elif op.kind == "running_max":
            body[id(op)] = running(op.operands[0])[1]
        elif id(op) not in in_loop:
            body[id(op)] = export(op)
        else:
            body[id(op)] = HwOp(op.kind, op.op, tuple(clone(o) for o in op.operands), op.shape, dict(op.attrs),
                                op.origin, op.loc)
        return body[id(op)]

    def running(mbody: HwOp) -> tuple[State, HwOp]:
        if id(mbody) not in m_state:
            st = state(f"m{len(m_state)}", mbody.shape, M_INIT)
            # the chunk's max reduced into a clear slot, then an SFPU max with the previous one: seeding
            # reduce_tile with the previous max would combine with its row 0, not its column 0 (the LLK keeps
            # the running value transposed), so it is no max on the hardware
            m_new = HwOp("sfpu2", "max", (st.prev, clone(mbody)), mbody.shape, {}, "running max")
            st.next = m_new
            m_state[id(mbody)] = (st, m_new)
        return m_state[id(mbody)]

    for n, fold in enumerate(folds):
        if fold.kind == "fold_max":
            st, _ = running(fold.operands[0])
            fold.attrs["state"] = st.name
            continue
        value = clone(fold.operands[0])
        acc = state(f"acc{n}", fold.shape, 0.0)
        fold.attrs["state"] = acc.name
        if fold.kind == "fold_sum":
            acc.next = _accumulate(acc.prev, value, fold.shape, "fold sum", only_use(fold), wide_dst)
            continue
        s = float(fold.attrs["s"])  # type: ignore[arg-type]
        mst, m_new = running(fold.operands[1])
        key = (id(fold.operands[1]), s)
        if key not in alpha:
            diff = HwOp("sfpu2", "sub", (mst.prev, m_new), m_new.shape, {}, "max growth")
            # the accurate exp: the approximate one gives exp(0) = 0.98, which would shrink the accumulators
            # by 2% on every trip the max does not grow (tt-metal ckernel_sfpu_exp.h)
            alpha[key] = HwOp("exp_scaled", "exp", (diff,), m_new.shape, {"s": s, "accurate": 1}, "rescale factor")
        a = alpha[key]
        # the state is multiplied every trip, so the multiply must not round it one way: at HiFi2 the FPU keeps
        # SrcA's hidden bit and 9 mantissa bits and SrcB's hidden bit and 6 (tteqsat/sim/numerics.py), so a bf16
        # state goes into SrcA (whole) and an fp32 one to the SFPU (fp32 in a 32-bit DST); truncated, a 64-trip
        # loop's sum came out 20 % low
        if fold.shape[1] == 1:
            corr = HwOp("sfpu2", "mul", (a, acc.prev), fold.shape, {}, "rescale")
        elif not wide_dst and (tiled := fpu_bcast("mul", acc.prev, a, "rescale", "rescale factor")) is not None:
            corr = tiled  # mul_tiles_bcast_cols: the state from its CB in SrcA
        else:
            wide = HwOp("bcast", "cols", (a,), fold.shape, {"n": fold.shape[1]}, "rescale factor")
            corr = (HwOp("sfpu2", "mul", (wide, acc.prev), fold.shape, {}, "rescale") if wide_dst
                    else HwOp("reuse", "mul", (wide, acc.prev), fold.shape, {"reuse": "srcb"}, "rescale"))
        acc.next = _accumulate(corr, value, fold.shape, "online sum", only_use(fold), wide_dst)
    outputs = [(st.name, st.next) for st in states]
    program = Program(kernel, "", [], outputs)  # type: ignore[arg-type]
    program.inputs = _leaves(outputs)
    chunks = list(chunk_leaf.values())
    return Loop(trips, program, states, chunks, chunk_leaf)
