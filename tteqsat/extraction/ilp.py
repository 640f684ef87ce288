"""Exact DAG extraction as a 0-1 integer program (scipy.optimize.milp / HiGHS).

Greedy extraction (tteqsat.extract) prices each e-class in isolation, so when two users could share one
packed value it may pick a form that is cheapest alone but dearer in the whole program. The integer
program prices the same items over the whole DAG at once:

    x[n]  one per hardware e-node       sum of x over a class = 1 for outputs, <= 1 otherwise;
                                        a chosen node's child classes are chosen
    p[c]  value of class c packed       x[n] <= p[c] for every node reading computed class c from a CB
    y[c]  input c copied into DST       x[n] <= y[c] for every node reading input class c in DST
    t[c]  topological position          t[c] >= t[ch] + 1 when x[n] picks a node of c with child ch
                                        (only inside strongly connected class groups: elsewhere no cycle)
    z[s]  a scaler CB for reduce scale s

    minimize  sum own(n) x[n] + sum pack(c) p[c] + sum copy(c) y[c]     (extract.py's items, exactly)

plus two hard rows known at extraction time: CBs (inputs + outputs + packed values + scalers) <= cb.max_cbs,
and their L1 bytes <= the arch's L1 budget. Both count one CB per packed value, an upper bound: the
scheduler reuses CBs after their last reader (and may add some when it splits a section).

The result is never worse than greedy's under the same items: greedy runs first, its cost bounds the
objective, and when the solver stops at the time limit the better of its incumbent and greedy is kept.
Streaming forms (folds over chunks) are priced by greedy only: when greedy's program for a mode that allows
them uses a fold, that program is returned as is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from tteqsat.cost.model import CostModel
from tteqsat.egraph.bridge import ENode, SerializedEGraph
from tteqsat.errors import KernelError
from tteqsat.extraction.accumulation import l1_sum_unusable, wide_dst_chain
from tteqsat.extraction.greedy import (
    _KIND,
    Price,
    _op_and_attrs,
    _unused_input,
    call_extractor,
    extract,
    program_from_choice,
    reads_padding,
)
from tteqsat.extraction.program import OPERAND_LOCS, HwOp, Program

# op forms the integer program prices; anything else (streaming folds, chunks) is left to greedy
ILP_KINDS = ("input", "fpu", "reuse", "sfpu2", "sfpu", "exp_scaled", "scalar", "matmul", "reduce", "bcast", "mask",
             "transpose", "tilesum")
LEAF_OPS = ("input_", "rowblock")  # e-nodes the reader provides: kernel inputs and their row blocks
IN_CB = ("tilesum",)  # forms whose result is already in a CB (packed by L1 accumulation): no pack item


@dataclass
class IlpExtraction:
    """What the integer program found, and how it compares with greedy under the same items."""

    program: Program
    objective: float                # item cost of `program`
    greedy_objective: float | None  # None when greedy found no program
    chosen: str                     # "ilp", or "greedy" when greedy was no worse (or streams)
    status: str                     # optimal | time_limit | relaxed (hard rows dropped) | streaming | ...
    seconds: float
    variables: int
    rows: int
    notes: list[str] = field(default_factory=list)
    optimum: float | None = None    # item cost of the ILP's own solution, even when greedy's was kept

    @property
    def gap(self) -> float:
        """Fraction of greedy's item cost the returned program saves (0 when it saved nothing)."""
        if not self.greedy_objective:
            return 0.0
        return (self.greedy_objective - self.objective) / self.greedy_objective


# -- item costs ------------------------------------------------------------------------------------------
def _tiles(shape: tuple[int, int]) -> int:
    return -(-shape[0] // 32) * -(-shape[1] // 32)


def _own(model: CostModel, kind: str, op: str, attrs: dict[str, object], shape: tuple[int, int],
         child_shapes: list[tuple[int, int]]) -> float:
    if kind == "tilesum":  # as greedy prices it: one accumulating pack per operand tile
        return model.arch.num("pack.l1_acc_cycles_per_tile") * _tiles(child_shapes[0])
    operands = tuple(HwOp("input", "probe", (), s) for s in child_shapes)
    return model.op_tile(HwOp(kind, op, operands, shape, attrs)).total * _tiles(shape)


def _copy(model: CostModel, shape: tuple[int, int]) -> float:
    return model.op_tile(HwOp("copy", "copy", (), shape)).total * _tiles(shape)


def item_cost(program: Program, model: CostModel) -> float:
    """Greedy's objective for a whole fused program: every op once, a pack per computed value read from a
    CB, a copy per input read in DST (each shared value paid once)."""
    pack = model.pack_tile().total
    total = 0.0
    packed: set[int] = set()
    copied: set[int] = set()
    for op in program.ops():
        if op.kind == "input":
            continue
        total += _own(model, op.kind, op.op, op.attrs, op.shape, [o.shape for o in op.operands])
        for operand, loc in zip(op.operands, op.locs, strict=True):
            if operand.kind == "input" and loc == "dst" and id(operand) not in copied:
                copied.add(id(operand))
                total += _copy(model, operand.shape)
            elif operand.kind not in ("input", *IN_CB) and loc == "cb" and id(operand) not in packed:
                packed.add(id(operand))
                total += pack * _tiles(operand.shape)
    return total


def resource_use(program: Program, arch, dtype: str) -> tuple[int, int]:
    """(CBs, L1 bytes) as the hard rows count them: one CB per input, output, packed value, scaler."""
    packed = {id(o): o for op in program.ops() for o, loc in zip(op.operands, op.locs, strict=True)
              if loc == "cb" and o.kind not in ("input", *IN_CB)}
    packed.update((id(op), op) for op in program.ops() if op.kind in IN_CB)  # a CB each, filled in place
    scalers = {float(op.attrs["s"]) for op in program.ops() if op.kind == "reduce"}  # type: ignore[arg-type]
    cbs = len(program.inputs) + len(program.outputs) + len(packed) + len(scalers)
    tiles = _fixed_tiles(program.inputs, [op for _, op in program.outputs]) + len(scalers)
    tiles += sum(o.n_tiles for o in packed.values())
    return cbs, tiles * arch.tile_bytes(dtype)


def _fixed_tiles(inputs: list[HwOp], outputs: list[HwOp]) -> int:
    """Tiles of the input and output CBs, sized as the scheduler sizes them."""
    out = sum(min(o.n_tiles, 2) if len(outputs) == 1 else o.n_tiles for o in outputs)
    return sum(i.n_tiles for i in inputs) + out


# -- the integer program -----------------------------------------------------------------------------------
class _Rows:
    """Sparse constraint rows lb <= A x <= ub, added one at a time."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, float]] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, coeffs: dict[int, float], lb: float, ub: float) -> None:
        row = len(self.lb)
        self.entries.extend((row, col, val) for col, val in sorted(coeffs.items()))
        self.lb.append(lb)
        self.ub.append(ub)

    def constraint(self, n_vars: int, upto: int) -> LinearConstraint:
        """The first `upto` rows."""
        kept = [e for e in self.entries if e[0] < upto]
        rows, cols, vals = ([e[i] for e in kept] for i in range(3))
        a = coo_matrix((vals, (rows, cols)), shape=(upto, n_vars)).tocsr()
        return LinearConstraint(a, np.array(self.lb[:upto]), np.array(self.ub[:upto]))


def _candidates(graph: SerializedEGraph, fits: Callable[[str], bool], dtype: str, dst32: bool
                ) -> dict[str, list[ENode]]:
    """Hardware nodes each class may pick (an input class: its input), pruned to a fixpoint so every
    remaining node's children have candidates. Like greedy, a node may not read a value from a CB (or
    a kernel input at all) whose whole tensor does not fit L1, nor sum a bf16 row in L1 out of tolerance (or at all
    under 32-bit DST: `l1_sum_unusable`)."""
    cands: dict[str, list[ENode]] = {}
    for cid in sorted(graph.classes):
        if cid not in graph.shapes:
            continue
        nodes = sorted(graph.classes[cid], key=lambda n: n.id)
        inputs = [n for n in nodes if n.op == "input_"]
        hardware = [n for n in nodes if _KIND.get(n.op) in ILP_KINDS and cid not in n.children
                    and not reads_padding(n, graph)
                    and not (_KIND[n.op] == "tilesum" and l1_sum_unusable(dtype, graph.shapes[n.children[0]], dst32))]
        cands[cid] = inputs[:1] or hardware
    input_classes = {cid for cid, ns in cands.items() if ns and ns[0].op == "input_"}
    for cid in sorted(graph.classes):  # a row block of a kernel input: a leaf the reader fetches
        block = [n for n in graph.classes[cid] if n.op == "rowblock" and n.children[0] in input_classes]
        if block and cid in cands:
            cands[cid] = block[:1]
    is_input = {cid: bool(ns) and ns[0].op in LEAF_OPS for cid, ns in cands.items()}
    for cid, nodes in cands.items():
        cands[cid] = [n for n in nodes if n.op in LEAF_OPS or all(
            fits(ch) for ch, loc in zip(n.children, OPERAND_LOCS[_KIND[n.op]], strict=True)
            if ch in cands and (is_input[ch] or loc == "cb"))]
    changed = True
    while changed:
        changed = False
        for cid, nodes in cands.items():
            keep = [n for n in nodes if all(cands.get(ch) for ch in n.children)]
            if len(keep) != len(nodes):
                cands[cid] = keep
                changed = True
    return cands


@dataclass
class _Problem:
    x: list[tuple[str, ENode]]
    cost: list[float]
    integrality: np.ndarray
    bounds: Bounds
    rows: _Rows
    core_rows: int          # rows before the hard CB / L1 rows
    greedy_fits: bool       # greedy's program keeps within the hard rows (or there are none)
    notes: list[str]


def _build(graph: SerializedEGraph, model: CostModel, dtype: str, input_order: list[str],
           greedy: Program | None, greedy_cost: float | None, hard_rows: bool) -> _Problem:
    arch = model.arch
    budget, tile_bytes = arch.l1_budget, arch.tile_bytes(dtype)
    # 32-bit DST by the arch, or for a chain greedy's program has (a matmul's K, a long sum: no form removes it)
    dst32 = arch.fp32_dest_acc or (greedy is not None and wide_dst_chain([greedy], dtype, False) is not None)
    cands = _candidates(graph, lambda cid: _tiles(graph.shapes[cid]) * tile_bytes <= budget, dtype, dst32)
    roots = sorted({cid for _, cid in graph.outputs})
    if any(not cands.get(r) for r in roots):
        raise KernelError("no hardware form was found for an output of the kernel")
    reach, stack = set(roots), list(roots)
    while stack:
        for node in cands[stack.pop()]:
            for ch in node.children:
                if ch not in reach:
                    reach.add(ch)
                    stack.append(ch)
    classes = sorted(reach)
    is_input = {cid: cands[cid][0].op in LEAF_OPS for cid in classes}

    x = [(cid, n) for cid in classes for n in cands[cid]]
    col = {(cid, n.id): i for i, (cid, n) in enumerate(x)}
    cost = [0.0 if n.op in LEAF_OPS else _own(model, _KIND[n.op], *_op_and_attrs(n), graph.shapes[cid],
                                                [graph.shapes[ch] for ch in n.children]) for cid, n in x]
    edges = sorted({(i, ch, loc) for i, (_, n) in enumerate(x) if n.op not in LEAF_OPS
                    for ch, loc in zip(n.children, OPERAND_LOCS[_KIND[n.op]], strict=True)})
    pack = model.pack_tile().total
    p_col: dict[str, int] = {}
    y_col: dict[str, int] = {}
    for _, ch, loc in edges:
        if loc == "cb" and not is_input[ch] and ch not in p_col:
            p_col[ch] = len(cost)
            cost.append(pack * _tiles(graph.shapes[ch]))
        elif loc == "dst" and is_input[ch] and ch not in y_col:
            y_col[ch] = len(cost)
            cost.append(_copy(model, graph.shapes[ch]))
    scales = sorted({float(n.literals[1]) for _, n in x if n.op == "hw_reduce"})  # type: ignore[arg-type]
    z_col = {s: len(cost) + k for k, s in enumerate(scales)}
    cost.extend([0.0] * len(scales))
    dag = nx.DiGraph()
    dag.add_nodes_from(classes)
    dag.add_edges_from((x[i][0], ch) for i, ch, _ in edges)
    group: dict[str, tuple[int, int]] = {}  # class -> (its cycle group, the group's size)
    comps = sorted(sorted(c) for c in nx.strongly_connected_components(dag) if len(c) > 1)
    for k, comp in enumerate(comps):
        group.update((cid, (k, len(comp))) for cid in comp)
    t_col = {cid: len(cost) + k for k, cid in enumerate(sorted(group))}
    cost.extend([0.0] * len(t_col))

    rows = _Rows()
    for cid in classes:
        rows.add({col[(cid, n.id)]: 1.0 for n in cands[cid]}, 1.0 if cid in roots else 0.0, 1.0)
    for i, ch, loc in edges:
        need = {col[(ch, n.id)]: -1.0 for n in cands[ch]}
        need[i] = 1.0
        rows.add(need, -np.inf, 0.0)  # a chosen node's children are chosen
        if loc == "cb" and not is_input[ch]:  # read from a CB: packed, unless its form leaves it in one
            in_cb = {col[(ch, n.id)]: -1.0 for n in cands[ch] if _KIND[n.op] in IN_CB}
            rows.add({i: 1.0, p_col[ch]: -1.0, **in_cb}, -np.inf, 0.0)
        elif loc == "dst" and is_input[ch]:
            rows.add({i: 1.0, y_col[ch]: -1.0}, -np.inf, 0.0)  # an input read in DST: copied
        parent = x[i][0]
        if ch in group and parent in group and group[ch][0] == group[parent][0]:
            big = float(group[ch][1])  # t[parent] >= t[ch] + 1 - big * (1 - x[i])
            rows.add({t_col[parent]: 1.0, t_col[ch]: -1.0, i: -big}, 1.0 - big, np.inf)
    for i, (_, n) in enumerate(x):
        if n.op == "hw_reduce":
            rows.add({i: 1.0, z_col[float(n.literals[1])]: -1.0}, -np.inf, 0.0)  # type: ignore[arg-type]
    core_rows = len(rows.lb)

    notes: list[str] = []
    fits = True
    if hard_rows:
        max_cbs = int(arch.num("cb.max_cbs"))
        inputs = [_unused_input(name, graph) for name in input_order]
        outputs = [HwOp("input", "out", (), graph.shapes[cid]) for _, cid in graph.outputs]
        accumulated = {i: cid for i, (cid, n) in enumerate(x) if _KIND.get(n.op) in IN_CB}  # CBs of their own
        rows.add({c: 1.0 for c in [*p_col.values(), *z_col.values(), *accumulated]}, -np.inf,
                 max_cbs - len(inputs) - len(outputs))
        l1 = {c: float(_tiles(graph.shapes[cid]) * tile_bytes) for cid, c in p_col.items()}
        l1.update({i: float(_tiles(graph.shapes[cid]) * tile_bytes) for i, cid in accumulated.items()})
        l1.update({c: float(tile_bytes) for c in z_col.values()})
        rows.add(l1, -np.inf, budget - _fixed_tiles(inputs, outputs) * tile_bytes)
        if greedy is not None:
            cbs, used = resource_use(greedy, arch, dtype)
            fits = cbs <= max_cbs and used <= budget
            if not fits:
                notes.append(f"greedy's program needs {cbs} CBs / {used:,} B of L1 counted without reuse "
                             f"(limits {max_cbs} / {budget:,}); the ILP keeps within them")
    if greedy_cost is not None and fits:  # greedy's cost bounds the objective: prunes, and keeps us no worse
        rows.add(dict(enumerate(cost)), -np.inf, greedy_cost + 1e-6 * max(1.0, greedy_cost))

    n_vars = len(cost)
    integrality = np.ones(n_vars)
    upper = np.ones(n_vars)
    for cid, c in t_col.items():
        integrality[c] = 0
        upper[c] = group[cid][1] - 1
    return _Problem(x, cost, integrality, Bounds(np.zeros(n_vars), upper), rows, core_rows, fits, notes)


def _greedy(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str, input_order: list[str],
            mode: str, options: dict[str, object]) -> Program:
    """Greedy extraction with whichever of the pipeline's options (mode, max_chunk, ...) it takes."""
    return call_extractor(extract, graph, model, kernel_name, dtype, input_order, mode=mode, **options)


def solve_ilp(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str, input_order: list[str],
              time_limit: float = 10.0, hard_rows: bool = True, mode: str = "fused",
              options: dict[str, object] | None = None, price: Price | None = None) -> IlpExtraction:
    """The cheapest fused program under greedy's item costs, with the numbers behind it.

    `mode` and `options` go to greedy extraction (the pipeline's extraction mode and its keywords). With
    `price` (a program's modeled schedule cycles, None when it does not fit; the pipeline passes the
    scheduler's), when greedy's program (no better in items) schedules to fewer cycles, it is kept: the
    items are a proxy that does not see section syncs and inits."""
    start = time.perf_counter()
    greedy_error: KernelError | None = None
    try:
        greedy: Program | None = _greedy(graph, model, kernel_name, dtype, input_order, mode,
                                         {**(options or {}), "price": price})
    except KernelError as e:
        greedy, greedy_error = None, e
    if greedy is not None and any(op.kind not in ILP_KINDS for op in greedy.ops()):
        return IlpExtraction(greedy, float("nan"), None, "greedy", "streaming", time.perf_counter() - start,
                             0, 0, ["greedy chose a streaming form, which the ILP does not price; kept it"])
    greedy_cost = item_cost(greedy, model) if greedy is not None else None
    try:
        prob = _build(graph, model, dtype, input_order, greedy, greedy_cost, hard_rows)
    except KernelError:
        if greedy_error is not None:
            raise greedy_error from None
        raise
    notes = list(prob.notes)

    def run(n_rows: int) -> tuple[np.ndarray | None, str]:
        left = max(0.01, time_limit - (time.perf_counter() - start))
        res = milp(np.array(prob.cost), integrality=prob.integrality, bounds=prob.bounds,
                   constraints=prob.rows.constraint(len(prob.cost), n_rows),
                   options={"time_limit": left, "disp": False, "mip_rel_gap": 0.0})
        return res.x, {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(res.status, f"status {res.status}")

    solution, status = run(len(prob.rows.lb))
    if solution is None and status == "infeasible" and not prob.greedy_fits:
        notes.append("no program fits the CB / L1 rows; solved without them")
        solution, status = run(prob.core_rows)
        status = "relaxed" if status == "optimal" else status
    elif solution is None and status == "infeasible":
        notes.append("the solver rounded greedy's bound to infeasible; kept greedy")
    if status == "time_limit":
        notes.append(f"the ILP stopped at its {time_limit:g} s time limit; "
                     + ("using the better of its best incumbent and greedy" if solution is not None
                        else "it had no incumbent, so greedy's program is used"))

    optimum: float | None = None

    def done(program: Program, cost: float, chosen: str) -> IlpExtraction:
        return IlpExtraction(program, cost, greedy_cost, chosen, status, time.perf_counter() - start,
                             len(prob.cost), len(prob.rows.lb), notes, optimum)

    program = None
    if solution is not None:
        choice = {cid: n for (cid, n), v in zip(prob.x, solution[: len(prob.x)], strict=True) if v > 0.5}
        program = program_from_choice(graph, choice, kernel_name, dtype, input_order)
    if program is None:
        if greedy is None:
            raise greedy_error or KernelError("the ILP found no program")
        return done(greedy, greedy_cost or 0.0, "greedy")
    cost = optimum = item_cost(program, model)
    if greedy is not None and greedy_cost is not None and greedy_cost <= cost + 1e-9 and (
            prob.greedy_fits or status == "relaxed"):
        return done(greedy, greedy_cost, "greedy")  # a tie keeps greedy's program, the default path's
    if price is not None and greedy is not None and prob.greedy_fits:
        mine, theirs = price(program), price(greedy)
        if theirs is not None and (mine is None or theirs < mine):
            notes.append(f"greedy's program schedules to fewer cycles ({theirs:,.0f} against {mine or 0:,.0f}): "
                         "items do not see section syncs and inits; kept greedy")
            return done(greedy, greedy_cost or 0.0, "greedy")
    return done(program, cost, "ilp")


def extract_ilp(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str,
                input_order: list[str], mode: str | float = "fused", *, time_limit: float = 10.0,
                **options: object) -> Program:
    """Drop-in for tteqsat.extract.extract (`optimize(extractor=extract_ilp)`); warns if it stopped early.

    `mode` is the pipeline's extraction mode, passed on to greedy ("fused", "any", "streaming"); the ILP
    itself chooses among fused forms. A number in its place is taken as `time_limit`, so
    `extract_ilp(graph, model, name, dtype, inputs, 5.0)` also works. Other keywords the pipeline passes
    (e.g. `max_chunk`) go to greedy when it takes them.
    """
    if isinstance(mode, int | float):
        mode, time_limit = "fused", float(mode)
    price = options.pop("price", None)
    result = solve_ilp(graph, model, kernel_name, dtype, input_order, time_limit, mode=mode, options=options,
                       price=price)  # type: ignore[arg-type]
    for note in result.notes:
        if "time limit" in note or "without them" in note:
            warnings.warn(f"extract_ilp: {note}", stacklevel=2)
    return result.program


def with_time_limit(seconds: float) -> Callable[..., Program]:
    """An extractor with another time limit, for `optimize(extractor=with_time_limit(2.0))`."""
    def extractor(graph: SerializedEGraph, model: CostModel, kernel_name: str, dtype: str,
                  input_order: list[str], mode: str = "fused", **options: object) -> Program:
        return extract_ilp(graph, model, kernel_name, dtype, input_order, mode, time_limit=seconds, **options)
    return extractor
