"""Greedy DAG extraction over the serialized e-graph, pricing where each value lives.

Each e-class gets its cheapest hardware node, where a node's cost is the union of the items it needs
(shared values paid once): its own engine cycles, a pack for every computed operand read from a CB, and
a copy_tile for every kernel input read in DST. Math-level nodes have no hardware meaning and are never
chosen; a class reached only through them is an error naming the op that has no hardware form.
"""

from __future__ import annotations

import inspect
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tteqsat.cost.engines import Engines
from tteqsat.cost.model import CostModel
from tteqsat.cost.perturb import ENGINE_CLASSES, ScaledEngines
from tteqsat.egraph.bridge import ENode, SerializedEGraph
from tteqsat.errors import KernelError
from tteqsat.extraction.accumulation import l1_sum_unusable, wide_dst_chain
from tteqsat.extraction.program import (
    OPERAND_LOCS,
    TILEWISE_KINDS,
    HwOp,
    Program,
    fold_live,
    max_scaler_inexact,
    mean_live_trips,
    reduces_padding,
)

# e-graph constructor -> (op form kind, how to read its literals into (op, attrs))
_KIND = {
    "hw_fpu": "fpu", "hw_fpu_bcast": "fpu", "hw_reuse": "reuse", "hw_sfpu2": "sfpu2", "hw_sfpu": "sfpu",
    "hw_exp_scaled": "exp_scaled", "hw_scalar": "scalar", "hw_matmul": "matmul", "hw_reduce": "reduce",
    "hw_bcast": "bcast", "hw_transpose": "transpose", "input_": "input", "hw_tilesum": "tilesum",
    "kchunk": "chunk", "rchunk": "chunk", "running_max": "running_max", "online_sum": "online_sum",
    "fold_max": "fold_max", "fold_sum": "fold_sum", "rowblock": "block", "hw_mask": "mask",
    "online_live": "online_sum", "fold_max_live": "fold_max",
}
LOOP_KINDS = ("online_sum", "fold_max", "fold_sum")
MODES = ("any", "fused", "streaming")


def _tile_grid(shape: tuple[int, int]) -> tuple[int, int]:
    """Tile rows and columns of a value: a tile-wise op (`TILEWISE_KINDS`) reads an operand of its own tile grid
    tile for tile (a broadcast of a (1, N) row over one tile row too)."""
    return -(-shape[0] // 32), -(-shape[1] // 32)


def _trips(node: ENode, rows: int) -> float:
    """Chunks a fold node runs: all of them, or for a fold that skips dead chunks their mean over row blocks."""
    op, attrs = _op_and_attrs(node)
    live = fold_live(HwOp(_KIND[node.op], op, (), (rows, 0), attrs))
    trips = int(attrs["trips"])  # type: ignore[call-overload]
    return mean_live_trips(live, rows, trips) if live else trips


def _op_and_attrs(node: ENode) -> tuple[str, dict[str, object]]:
    lit = node.literals
    kind = _KIND[node.op]
    if kind == "input":
        return "input", {"name": lit[0]}
    if kind == "reuse":
        return str(lit[0]), {"reuse": lit[1]}
    if node.op == "hw_fpu_bcast":  # its second operand one tile wide (high), read for every tile column (row)
        return str(lit[0]), {"bcast": str(lit[1])}
    if kind == "exp_scaled":
        return "exp", {"s": float(lit[0])}  # type: ignore[arg-type]
    if kind in ("scalar", "reduce"):
        return str(lit[0]), {"s": float(lit[1])}  # type: ignore[arg-type]
    if kind == "matmul":
        return "matmul", {"transpose_b": int(lit[0])}  # type: ignore[call-overload]
    if kind == "bcast":
        return str(lit[0]), {"n": int(lit[1])}  # type: ignore[call-overload]
    if kind in ("transpose", "tilesum"):
        return kind, {}
    if kind == "chunk":
        return "chunk", {"axis": "cols" if node.op == "kchunk" else "rows", "width": int(lit[0])}  # type: ignore[call-overload]
    if kind == "block":
        return "input", {"block": int(lit[0])}  # type: ignore[call-overload]
    if node.op == "online_live":  # online_sum over the chunks a mask leaves live
        return "online_sum", {"s": float(lit[0]), "trips": int(lit[1]),  # type: ignore[arg-type, call-overload]
                              "live": (str(lit[2]), int(lit[3]), int(lit[4]))}  # type: ignore[call-overload]
    if node.op == "fold_max_live":
        return "fold_max", {"trips": int(lit[0]), "live": (str(lit[1]), int(lit[2]), int(lit[3]))}  # type: ignore[call-overload]
    if kind == "online_sum":
        return "online_sum", {"s": float(lit[0]), "trips": int(lit[1])}  # type: ignore[arg-type, call-overload]
    if kind in ("fold_max", "fold_sum", "running_max"):
        return kind, {"trips": int(lit[0])}  # type: ignore[call-overload]
    if kind == "mask":  # hw_mask(mask, x, fill, block, chunk)
        return ("bias" if float(lit[1]) == float("-inf") else "zero"), {  # type: ignore[arg-type]
            "mask": str(lit[0]), "block": int(lit[2]), "chunk": int(lit[3])}  # type: ignore[call-overload]
    return str(lit[0]), {}


def reads_padding(node: ENode, graph: SerializedEGraph) -> bool:
    """A hw_reduce the hardware cannot compute as written: across a length-1 axis it would fold the tile's
    padding in, and a max applies only the power-of-two part of its scaler."""
    if node.op != "hw_reduce" or node.children[0] not in graph.shapes:
        return False
    op = str(node.literals[0])
    return (reduces_padding("reduce", op, graph.shapes[node.children[0]])
            or max_scaler_inexact(op, float(node.literals[1])))  # type: ignore[arg-type]


def _class_order(cid: str) -> tuple[int, str]:
    m = re.search(r"(\d+)$", cid)
    return (int(m.group(1)) if m else -1, cid)


@dataclass
class _Best:
    total: float
    items: dict[tuple, float]  # what the value needs, each paid once: ("n", class, node), ("p"|"c", class)
    node: ENode
    classes: frozenset[str]    # classes of the nodes in `items`, for the cycle check
    folds: bool                # some fold is among them
    open: Engines | None = None  # per tile, the DST pass this value ends (its DST readers may join it)
    cb_tiles: int = 0            # tiles of the computed values it packs to CBs (the "lean" proxy ranks by them)

    def better(self, other: _Best, lean: bool) -> bool:
        """Whether this form beats `other`: cheaper, or with `lean` fewer CB tiles first, then cheaper."""
        if lean and self.cb_tiles != other.cb_tiles:
            return self.cb_tiles < other.cb_tiles
        return self.total < other.total - 1e-9


# How items weigh engines: as the scheduler prices a pass, or summed; "lean" prices as "pass" but ranks forms
# by the tiles of computed values they pack to CBs first (the program that needs the least L1 for its
# intermediates), tried when another candidate's CBs overflow L1
PROXIES = ("pass", "sum", "lean")
# How many distinct programs the scheduler prices per extraction, and how many single-class swaps between them
# it tries, by the size of the first program: scheduling takes longer the larger the program.
BUDGETS = ((40, 4, 4), (150, 2, 1), (None, 1, 0))  # (up to this many ops, candidates, swaps)


def _budget(program: Program) -> tuple[int, int]:
    ops = sum(1 for op in program.ops() if op.kind != "input")
    return next((c, s) for limit, c, s in BUDGETS if limit is None or ops <= limit)


def extract(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str,
            input_order: list[str], mode: str = "any", respect_l1: bool = True,
            max_chunk: int | None = None, price: Price | None = None, proxy: str | None = None,
            min_chunk: int | None = None) -> Program:
    """The cheapest hardware program under the greedy DAG cost.

    `mode` "fused" never streams; "streaming" makes every value that has a fold form use one; "any"
    lets cost decide. `max_chunk` / `min_chunk`: the widest / narrowest chunk a stream may take (both: one width,
    as the pipeline asks when it prices each chunk width on the grid). Values whose whole tensor would not fit
    L1 cannot be packed or read whole.

    Items are priced as the scheduler prices passes (`proxy="pass"`): an op reading its operand in DST
    joins that operand's pass and costs what it adds to the pass's busiest thread; an op reading CBs opens a
    pass and pays its handshakes and init; a value read from a CB pays its pack in its own pass. With
    `price` (the scheduler's cycles of a whole program, as the pipeline passes it) the programs of both
    proxies, and of the pass proxy with each engine class twice as dear (cost.perturb), are scheduled and
    the cheapest is returned (up to `BUDGETS` programs and swaps between them): the final choice is the
    scheduler's, and making an engine cheaper keeps the program chosen when it was dearer among the
    candidates. When a candidate's CBs overflow L1, the "lean" program (fewest CB tiles, then cycles) is
    scheduled too: each class picks its form alone, blind to the L1 the whole program needs.
    """
    folds = any(_KIND.get(n.op) in LOOP_KINDS for nodes in graph.classes.values() for n in nodes)
    if proxy is not None or price is None or (mode == "streaming" and not folds):
        return _extract(graph, model, kernel_name, dtype, input_order, mode, respect_l1, max_chunk,
                        proxy or "pass", min_chunk)[0]
    variants: list[tuple[str, CostModel]] = [("pass", model), ("sum", model)]
    variants += [("pass", ScaledEngines(model, engine)) for engine in ENGINE_CLASSES]
    found: list[tuple[float, int, Program, dict[str, ENode]]] = []
    seen: set[tuple] = set()

    def candidate(name: str, priced: CostModel, first: bool) -> tuple[Program, float | None, dict] | None:
        """The variant's program, unless it fails or repeats one, with the scheduler's price."""
        limit = max_chunk
        while True:  # as the pipeline does: a streamed chunk whose CBs overflow L1 is retried at half width
            try:
                prog, choice = _extract(graph, priced, kernel_name, dtype, input_order, mode, respect_l1, limit,
                                        name, min_chunk)
            except KernelError:
                if first:
                    raise
                return None
            key = _signature(prog)
            if key in seen:
                return None
            seen.add(key)
            if first and _budget(prog)[0] == 1:
                return prog, None, choice  # a program this large gets no alternatives: the pipeline schedules it once
            cycles = price(prog)
            width = max((int(op.attrs["width"]) for op in prog.ops() if op.kind == "chunk"), default=0)  # type: ignore[call-overload]
            if cycles is not None or width <= 32:
                return prog, cycles, choice
            limit = width // 2

    budget = (len(variants), 0)
    for n, (name, priced) in enumerate(variants):
        if len(found) >= budget[0]:
            break
        got = candidate(name, priced, n == 0)
        if got is None:
            continue
        prog, cycles, choice = got
        if not found:
            budget = _budget(prog)
            if budget[0] == 1:
                return prog
        found.append((float("inf") if cycles is None else cycles, n, prog, choice))
    if any(f[0] == float("inf") for f in found):
        # a candidate's CBs overflow L1 (its cheaper forms keep more values in CBs, a choice each class makes
        # alone): also the program whose intermediates need the fewest CB tiles, which may fit where they do not
        got = candidate("lean", model, False)
        if got is not None:
            prog, cycles, choice = got
            found.append((float("inf") if cycles is None else cycles, len(variants), prog, choice))
    if mode == "streaming":
        # a candidate that folds over chunks of two widths (two trip counts: no one loop) is retried at half the
        # width, and below every width offered it has no loop left: a streaming program is not to lose to it
        looped = [f for f in found if any(op.kind == "chunk" for op in f[2].ops())]
        found = looped or found
    cycles, _, prog, choice = min(found, key=lambda f: (f[0], f[1]))
    return _recombine(graph, found, cycles, prog, choice, price, kernel_name, dtype, input_order, budget[1])


def _recombine(graph: SerializedEGraph, found: list, cycles: float, prog: Program, choice: dict[str, ENode],
               price: Price, kernel_name: str, dtype: str, input_order: list[str], swaps: int) -> Program:
    """Where the candidates chose differently for a value, try the other candidates' choices in the best
    program one class at a time, each kept when the scheduler prices the program cheaper."""
    used = {op.origin for op in prog.ops()}
    options: dict[str, list[ENode]] = {}
    for _, _, _, other in found:
        for cid, node in sorted(other.items()):
            if cid in used and node.id != choice[cid].id and node.id not in {o.id for o in options.get(cid, [])}:
                options.setdefault(cid, []).append(node)
    trials = [(cid, node) for cid in sorted(options, key=_class_order) for node in options[cid]]
    for cid, node in trials[:swaps]:
        trial = {**choice, cid: node}
        try:
            candidate = program_from_choice(graph, trial, kernel_name, dtype, input_order)
        except KernelError:
            continue
        c = price(candidate)
        if c is not None and c < cycles - 1e-6:
            cycles, prog, choice = c, candidate, trial
    return prog


def _children_first(order: list[str], candidates: dict[str, list[ENode]]) -> list[str]:
    """The classes in depth-first post-order over their candidates' children (children before parents where
    the e-graph has no cycle), so the worklist's first sweep already sees most children's final forms."""
    done: set[str] = set()
    out: list[str] = []
    for root in order:
        stack = [(root, False)]
        while stack:
            cid, expanded = stack.pop()
            if expanded:
                out.append(cid)
                continue
            if cid in done:
                continue
            done.add(cid)
            stack.append((cid, True))
            kids = sorted({ch for node in candidates.get(cid, []) for ch in node.children}, key=_class_order)
            stack.extend((ch, False) for ch in reversed(kids) if ch not in done)
    return out


def _signature(program: Program) -> tuple:
    """What tells two extracted programs apart: each value's e-class, form and attributes."""
    return tuple(sorted((op.origin, op.kind, op.op, str(sorted(op.attrs.items()))) for op in program.ops()))


@dataclass
class _Facts:
    """What extraction derives from the e-graph's classes alone, for one mode: the same for every cost variant,
    form search and row-block view of one e-graph, so `_facts` derives it once (`SerializedEGraph.derived`)."""

    order: list[str]                    # every class, by `_class_order`
    input_class: set[str]               # kernel inputs and their row blocks: leaves
    fold_class: set[str]                # classes with a fold node
    relaxed: dict[str, list[ENode]]     # each class's nodes with a hardware meaning, by node id
    candidates: dict[str, list[ENode]]  # those the mode allows
    parents: dict[str, list[str]]       # class -> classes with a relaxed node reading it, in `order`
    first: list[str]                    # `_children_first(order, candidates)`: the worklist's first sweep


def _facts(graph: SerializedEGraph, mode: str) -> _Facts:
    key = ("greedy", mode)
    if key not in graph.derived:
        order = sorted(graph.classes, key=_class_order)
        input_class = {c for c in order if any(n.op == "input_" for n in graph.classes[c])}
        # a row block of a kernel input is a leaf too: the reader fetches the work item's rows
        input_class |= {c for c in order if any(n.op == "rowblock" and n.children[0] in input_class
                                                for n in graph.classes[c])}
        fold_class = {c for c in order if any(_KIND.get(n.op) in LOOP_KINDS for n in graph.classes[c])}
        # reductions of a whole operand that also fold over its chunks: a scaled twin of one (sum(a) * s as a
        # reduce with scaler s) would otherwise let a streaming program reduce the operand whole
        folding = {(str(n.literals[0]), n.children[0]) for c in fold_class for n in graph.classes[c]
                   if _KIND.get(n.op) == "reduce" and n.children[0] not in fold_class}
        relaxed = {c: [n for n in sorted(graph.classes[c], key=lambda n: n.id)
                       if n.op in _KIND and not reads_padding(n, graph)] for c in order}

        def allowed(cid: str) -> list[ENode]:
            nodes = relaxed[cid]
            if mode == "fused":
                return [n for n in nodes if _KIND[n.op] not in LOOP_KINDS + ("chunk", "running_max")]
            if mode == "streaming" and cid in fold_class:  # contract in chunks, or reduce a loop's result
                return [n for n in nodes if _KIND[n.op] not in ("matmul", "reduce")
                        or any(ch in fold_class for ch in n.children)]
            if mode == "streaming":
                kept = [n for n in nodes
                        if _KIND[n.op] != "reduce" or (str(n.literals[0]), n.children[0]) not in folding]
                return kept or nodes
            return nodes

        candidates = {c: allowed(c) for c in order}
        parents: dict[str, list[str]] = {}
        for cid in order:
            for node in relaxed[cid]:
                for ch in node.children:
                    parents.setdefault(ch, []).append(cid)
        graph.derived[key] = _Facts(order, input_class, fold_class, relaxed, candidates, parents,
                                    _children_first(order, candidates))
    return graph.derived[key]  # type: ignore[return-value]


def _reachable(graph: SerializedEGraph, facts: _Facts) -> set[str]:
    """The classes extraction from `graph`'s roots can read: the roots and, through any node with a hardware
    meaning, their children. No other class's best form can reach the roots' (a class's form reads only its
    children's), so extraction settles these alone."""
    key = ("reachable", tuple(graph.outputs))
    if key not in graph.derived:
        seen: set[str] = set()
        stack = [cid for _, cid in graph.outputs]
        while stack:
            cid = stack.pop()
            if cid in seen or cid not in graph.classes:
                continue
            seen.add(cid)
            stack.extend(ch for node in facts.relaxed[cid] for ch in node.children if ch not in seen)
        graph.derived[key] = seen
    return graph.derived[key]  # type: ignore[return-value]


def _extract(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str, input_order: list[str],
             mode: str, respect_l1: bool, max_chunk: int | None, proxy: str, min_chunk: int | None = None
             ) -> tuple[Program, dict[str, ENode]]:
    """`_extract_once`, again without L1-accumulated sums where its program needs 32-bit DST for a long sum or
    matmul (`accumulation.wide_dst_chain`): a bf16 L1 sum is wrong under 32-bit DST (`l1_acc_conflicts`), and the
    chain that needs it is one no choice of a sum's form removes (a matmul's K, a reduce's row)."""
    args = (graph, model, kernel_name, dtype, input_order, mode, respect_l1, max_chunk, proxy, min_chunk)
    prog, choice = _extract_once(*args)
    if (wide_dst_chain([prog], dtype, model.arch.fp32_dest_acc) is not None
            and any(op.kind == "tilesum" for op in prog.ops())):
        return _extract_once(*args, l1_sums=False)
    return prog, choice


def _extract_once(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str, input_order: list[str],
                  mode: str, respect_l1: bool, max_chunk: int | None, proxy: str, min_chunk: int | None = None,
                  l1_sums: bool = True) -> tuple[Program, dict[str, ENode]]:
    if mode not in MODES:
        raise KernelError(f"unknown extraction mode {mode!r} ({', '.join(MODES)})")
    if proxy not in PROXIES:
        raise KernelError(f"unknown extraction proxy {proxy!r} ({', '.join(PROXIES)})")
    facts = _facts(graph, mode)
    order, input_class, fold_class = facts.order, facts.input_class, facts.fold_class
    reach = _reachable(graph, facts)
    budget = model.arch.l1_budget
    tile_bytes = model.arch.tile_bytes(dtype)
    in_fmt = model.input_format(dtype) if hasattr(model, "input_format") else dtype
    capacity = model.arch.dst_tiles(dtype)
    best: dict[str, _Best] = {}

    lean = proxy == "lean"
    if lean:
        proxy = "pass"

    def weigh(e: Engines) -> float:
        """Cycles of engine work `e` in one pass: its busiest thread, or (proxy "sum") all threads."""
        return model.pass_cycles(e) if proxy == "pass" else e.total

    pack_e = model.pack_tile()

    def shape(cid: str) -> tuple[int, int]:
        return graph.shapes[cid]

    def tiles(cid: str) -> int:
        r, c = _tile_grid(shape(cid))
        return r * c

    def fmt(cid: str) -> str:
        return in_fmt if cid in input_class else dtype

    def new_pass(cid: str) -> float:
        """What opening a pass over `cid`'s tiles costs beyond its engine work: a handshake per acquire
        (as many adjacent tiles per acquire as DST takes) and one init."""
        if proxy == "sum":
            return 0.0
        cols = -(-shape(cid)[1] // 32)
        width = max(w for w in range(1, min(capacity, cols) + 1) if cols % w == 0)
        return model.section(Engines(), tiles(cid) // width, 1, 0)

    own: dict[str, Engines] = {}  # the worklist revisits nodes; their own engines never change

    def own_engines(node: ENode, cid: str) -> Engines:
        """One output tile of the node (a tilesum: per tile of its operand, one accumulating pack)."""
        if node.id not in own:
            if _KIND[node.op] == "tilesum":
                one = HwOp("tilesum", "tilesum", (HwOp("input", "probe", (), (32, 32)),), (32, 32))
                own[node.id] = model.op_tile(one)
            else:
                op, attrs = _op_and_attrs(node)
                operands = tuple(HwOp("input", "probe", (), shape(ch)) for ch in node.children)
                hw = HwOp(_KIND[node.op], op, operands, shape(cid), attrs)
                own[node.id] = model.op_tile(hw, tuple(fmt(ch) for ch in node.children))
        return own[node.id]

    too_big: set[str] = set()

    def fits(cid: str) -> bool:
        ok = tiles(cid) * tile_bytes <= budget or not respect_l1
        if not ok:
            too_big.add(cid)
        return ok

    def copy_engines(cid: str) -> Engines:
        return model.op_tile(HwOp("copy", "copy", (HwOp("input", "probe", (), shape(cid)),), shape(cid)),
                             (fmt(cid),))

    def loop_extra(node: ENode, cid: str) -> float:
        """Per-trip state update of a fold: rescale or combine the accumulator, pack it, track the max."""
        kind = _KIND[node.op]
        trips = _trips(node, shape(cid)[0])
        acc = tiles(cid)

        def sfpu(op: str) -> Engines:
            return model.op_tile(HwOp("sfpu2", op, (), shape(cid)))

        reload = Engines(unpack=model.unpack_tile(dtype))
        per = acc * weigh(sfpu("add") + pack_e + reload)
        if kind == "online_sum":
            per += acc * weigh(sfpu("mul"))
            m = tiles(node.children[1])
            exp = model.op_tile(HwOp("exp_scaled", "exp", (), shape(cid)))
            per += m * weigh(sfpu("max").scaled(2) + exp + pack_e.scaled(2))
        return trips * per

    def pack_cost(ch: str, k: _Best) -> float:
        """Packing `ch` to a CB, in the pass that computes it."""
        if k.open is None or proxy == "sum":
            return weigh(pack_e) * tiles(ch)
        return (weigh(k.open + pack_e) - weigh(k.open)) * tiles(ch)

    candidates = {c: facts.candidates[c] for c in reach}

    def evaluate(cid: str, node: ENode) -> _Best | None:
        """The node's cost with its children's current best forms, or None if it cannot be used."""
        if node.op == "input_" or (node.op == "rowblock" and node.children[0] in input_class):
            return _Best(0.0, {}, node, frozenset({cid}), False)
        if node.op == "rowblock":
            return None  # rows of a computed value: only its pushed-down forms compute them
        if not all(ch in best for ch in node.children):
            return None
        kind = _KIND[node.op]
        if kind == "chunk":
            if node.children[0] not in input_class:
                return None  # only kernel inputs are streamed in chunks, by the reader
            width = int(node.literals[0])  # type: ignore[call-overload]
            if max_chunk is not None and width > max_chunk or min_chunk is not None and width < min_chunk:
                return None
            return _Best(0.0, {}, node, frozenset({cid}), False)
        kids = [best[ch] for ch in node.children]
        if any(cid in k.classes for k in kids):
            return None  # this node's operands pass through its own class: a cycle
        if kind in LOOP_KINDS and any(k.folds for k in kids):
            return None  # a fold over another fold's result needs a second loop: not built
        opened: Engines | None = None
        if kind in LOOP_KINDS or kind == "running_max":
            items = {("n", cid, node.id): loop_extra(node, cid) if kind in LOOP_KINDS else 0.0}
            trips = _trips(node, shape(cid)[0]) if kind in LOOP_KINDS else 1
            for k in kids:
                for key, val in k.items.items():
                    items[key] = max(items.get(key, 0.0), val * trips)
        elif kind == "tilesum":  # accumulating packs in the pass that computes its operand
            (ch,), (k,) = node.children, kids
            if ch in input_class or _KIND.get(k.node.op) in LOOP_KINDS + ("chunk", "tilesum"):
                return None  # the pass must compute its operand: a kernel input or loop result is not in DST
            if not l1_sums or l1_sum_unusable(dtype, shape(ch), model.arch.fp32_dest_acc):
                return None  # a bf16 L1 sum this long rounds out of tolerance; under 32-bit DST none is right
            items = dict(k.items)
            extra = own_engines(node, cid)
            base = k.open if k.open is not None and proxy == "pass" else Engines()
            items[("n", cid, node.id)] = (weigh(base + extra) - weigh(base)) * tiles(ch)
        else:
            items = {}
            mine = own_engines(node, cid)
            joined: list[Engines] = []
            # a DST operand that another operand's CB input depends on cannot stay in its own pass (the pass
            # would need its own result first): the scheduler packs it and copies it back, so price that
            via_cb = [k.classes for k, loc in zip(kids, OPERAND_LOCS[kind], strict=True) if loc == "cb"]
            for ch, k, loc in zip(node.children, kids, OPERAND_LOCS[kind], strict=True):
                chunk_leaf = k.node.op in ("kchunk", "rchunk")
                in_cb = _KIND[k.node.op] in LOOP_KINDS + ("tilesum",)  # a loop result or L1 sum: already in a CB
                if in_cb and loc == "cb":
                    items.update(k.items)
                    continue
                if ch in input_class or chunk_leaf:
                    if not (chunk_leaf or (kind in TILEWISE_KINDS and _tile_grid(shape(ch)) == _tile_grid(shape(cid)))
                            or fits(ch)):
                        return None  # an input too big for L1 whole, unless a map streams it (input_streams)
                    if loc == "dst":  # copy_tile in this pass
                        mine = mine + copy_engines(ch)
                    continue
                items.update(k.items)
                if loc == "cb" or any(ch in classes for classes in via_cb):
                    if not fits(ch):
                        return None
                    items[("p", ch)] = pack_cost(ch, k)
                    if loc == "dst":
                        mine = mine + copy_engines(ch)
                elif k.open is not None and tiles(ch) == tiles(cid):
                    joined.append(k.open)
            merged = sum(joined, mine)
            if proxy == "sum":
                items[("n", cid, node.id)] = mine.total * tiles(cid)
            else:
                gain = max(0.0, weigh(merged) - sum(weigh(j) for j in joined))  # >= 0: costs only ever add
                items[("n", cid, node.id)] = gain * tiles(cid) + (0.0 if joined else new_pass(cid))
            opened = merged
        classes = frozenset({cid}).union(*(k.classes for k in kids))
        folds = kind in LOOP_KINDS or any(k.folds for k in kids)
        packed = sum(tiles(key[1]) for key in items if key[0] == "p")
        return _Best(sum(items.values()), items, node, classes, folds, opened, packed)

    parents = facts.parents

    def settle(start: list[str]) -> None:
        """Worklist to a fixpoint: a class that improves requeues its parents."""
        queue = deque(start)
        queued = set(queue)
        # improvements strictly lower a cost, so this is never reached (the whole e-graph's count, as when every
        # class was settled: the reachable classes settle in the same order and to the same forms either way)
        steps_left = 64 * (len(order) + 1)
        while queue and steps_left:
            steps_left -= 1
            cid = queue.popleft()
            queued.discard(cid)
            improved = False
            for node in candidates[cid]:
                cand = evaluate(cid, node)
                if cand is not None and (cid not in best or cand.better(best[cid], lean)):
                    best[cid] = cand
                    improved = True
            if improved:
                for parent in parents.get(cid, []):
                    if parent not in queued and parent in reach and parent in graph.shapes:
                        queue.append(parent)
                        queued.add(parent)

    settle([c for c in facts.first if c in reach and c in graph.shapes])
    if mode == "streaming" and any(cid not in best for _, cid in graph.outputs):
        # an output needs a value none of whose folds can be built (one would need another fold's result in
        # its body: a second loop): such values keep their whole form, and the rest still stream
        stuck = [c for c in order if c in reach and c in fold_class and c not in best and c in graph.shapes]
        for cid in stuck:
            candidates[cid] = facts.relaxed[cid]
        settle(stuck)

    def missing(cid: str) -> KernelError:
        ops = sorted({n.op for n in graph.classes[cid]})
        if too_big:
            big = max(too_big, key=tiles)
            r, c = shape(big)
            return KernelError(f"every form needs a {r}x{c} value ({tiles(big) * tile_bytes:,} bytes) whole in "
                               f"one CB, more than the {budget:,} bytes of L1 free")
        return KernelError(f"no hardware form was found for a value computed by {', '.join(ops)}",
                           ops[0] if ops else None)

    choice = {cid: b.node for cid, b in best.items()}
    return program_from_choice(graph, choice, kernel_name, dtype, input_order, missing), choice


def program_from_choice(graph: SerializedEGraph, choice: dict[str, ENode], kernel_name: str, dtype: str,
                        input_order: list[str], missing=None) -> Program:
    """The program a class -> node choice describes, built from the outputs down; raises on a cycle, and
    `missing(cid)` (an error) for a needed class with no chosen node."""
    built: dict[str, HwOp] = {}
    visiting: set[str] = set()

    def build(root: str) -> HwOp:
        """Depth first from `root`, children before parents, with an explicit stack (deep chains)."""
        stack = [(root, False)]
        while stack:
            cid, expanded = stack.pop()
            if cid in built:
                continue
            if not expanded:
                if cid not in choice:
                    raise missing(cid) if missing else KernelError("internal: the choice misses a needed e-class")
                if cid in visiting:
                    raise KernelError("internal: the chosen nodes form a cycle")
                visiting.add(cid)
                stack.append((cid, True))
                if _KIND[choice[cid].op] != "block":  # a row block of an input is a leaf: its input is not read
                    stack.extend((ch, False) for ch in reversed(choice[cid].children) if ch not in built)
                continue
            node = choice[cid]
            op, attrs = _op_and_attrs(node)
            if _KIND[node.op] == "chunk":
                attrs["name"] = built[node.children[0]].name
            if _KIND[node.op] == "block":  # the kernel input's rows of the current work item
                name = next(n.literals[0] for n in graph.classes[node.children[0]] if n.op == "input_")
                built[cid] = HwOp("input", "input", (), graph.shapes[cid], {"name": name, **attrs}, cid)
            else:
                built[cid] = HwOp(_KIND[node.op], op, tuple(built[ch] for ch in node.children), graph.shapes[cid],
                                  attrs, cid)
            visiting.discard(cid)
        return built[root]

    outputs = [(name, _computed(build(cid))) for name, cid in graph.outputs]
    leaves = [op for op in built.values() if op.kind == "input"]
    by_name = {op.name: op for op in leaves}
    if len(by_name) < len(leaves):
        twice = sorted({op.name for op in leaves if sum(o.name == op.name for o in leaves) > 1})
        raise KernelError(f"the program reads input {', '.join(twice)} both whole and by row blocks")
    inputs = [by_name[n] if n in by_name else _unused_input(n, graph) for n in input_order]
    return Program(kernel_name, dtype, inputs, outputs)


def _computed(value: HwOp) -> HwOp:
    """An output the rules reduced to a kernel input (x * 1, -(-x), x.T.T) still needs a section that fills
    its CB: a copy_tile of the input."""
    if value.kind != "input":
        return value
    return HwOp("copy", "copy", (value,), value.shape, {}, "output copy", value.loc)


def _unused_input(name: str, graph: SerializedEGraph) -> HwOp:
    for cid, nodes in graph.classes.items():
        for n in nodes:
            if n.op == "input_" and n.literals[0] == name:
                return HwOp("input", "input", (), graph.shapes[cid], {"name": name}, cid)
    raise KernelError(f"input '{name}' is not in the e-graph")


# The modeled cycles of a program's schedule, None when it does not fit: the pipeline passes the scheduler's,
# so an extractor that compares whole programs (the ILP against greedy) prices them as scheduling does.
Price = Callable[[Program], "float | None"]


def call_extractor(extractor: Callable[..., Program], *args: object, **options: object) -> Program:
    """Call any extractor with the keywords it takes (a user's may not take `max_chunk` or `price`)."""
    params = inspect.signature(extractor).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        options = {k: v for k, v in options.items() if k in params}
    return extractor(*args, **options)
