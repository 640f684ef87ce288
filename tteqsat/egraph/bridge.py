"""The e-graph bridge: egglog sorts, IR -> e-graph, the shape analysis, and reading the e-graph back as data.

This is the only module that touches egglog's private serializer.
"""
# mypy: disable-error-code="empty-body"

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from egglog import (
    EGraph,
    Expr,
    String,
    StringLike,
    f64,
    f64Like,
    function,
    i64,
    i64Like,
    relation,
    rule,
    ruleset,
    set_,
)

from tteqsat.frontend.ir import BINARY_OPS, TILE, Kernel, Node, topo_order


class TensorExpr(Expr):
    """A tiled tensor value. Math-level and hardware-level forms of one value share an e-class."""


# -- math level -----------------------------------------------------------------------------------
@function
def input_(name: StringLike, rows: i64Like, cols: i64Like) -> TensorExpr: ...
@function
def unary(op: StringLike, x: TensorExpr) -> TensorExpr: ...
@function
def binary(op: StringLike, a: TensorExpr, b: TensorExpr) -> TensorExpr: ...
@function
def scalar(op: StringLike, x: TensorExpr, s: f64Like) -> TensorExpr: ...
@function
def exp_scaled(x: TensorExpr, s: f64Like) -> TensorExpr: ...
@function
def matmul(a: TensorExpr, b: TensorExpr) -> TensorExpr: ...
@function
def transpose(x: TensorExpr) -> TensorExpr: ...
@function
def reduce(op: StringLike, x: TensorExpr) -> TensorExpr: ...
@function
def bcast(kind: StringLike, v: TensorExpr, n: i64Like) -> TensorExpr: ...
@function
def softmax(x: TensorExpr) -> TensorExpr: ...
@function
def output(name: StringLike, x: TensorExpr) -> TensorExpr:
    """Root marker: one per kernel output, so its e-class is easy to find."""


# -- streaming: loops stay symbolic; a chunk is "the current chunk" of the enclosing fold ------------
@function
def kchunk(x: TensorExpr, width: i64Like) -> TensorExpr:
    """The current column chunk (all rows, `width` columns) of x."""
@function
def rchunk(x: TensorExpr, height: i64Like) -> TensorExpr:
    """The current row chunk (`height` rows, all columns) of x."""
@function
def fold_max(body: TensorExpr, trips: i64Like) -> TensorExpr:
    """Elementwise max of `body` over `trips` chunks."""
@function
def fold_sum(body: TensorExpr, trips: i64Like) -> TensorExpr:
    """Sum of `body` over `trips` chunks."""
@function
def running_max(mbody: TensorExpr, trips: i64Like) -> TensorExpr:
    """Inside an online fold: the max of `mbody` over the chunks seen so far, this one included."""
@function
def online_sum(body: TensorExpr, mbody: TensorExpr, s: f64Like, trips: i64Like) -> TensorExpr:
    """Sum over chunks of a body linear in exp(s * (x - running_max)), each partial rescaled by
    exp(s * (m_old - m_new)) when the running max grows; equals the sum with the final max."""


@function
def tilesum(x: TensorExpr) -> TensorExpr:
    """The sum of x's column tiles: an (rows, 32) block whose row sums are x's row sums."""


chunk_width = relation("chunk_width", i64)


# -- a fold split over parts of its chunks (flash-decode): each part a work item of its own ----------------
@function
def part_fold(body: TensorExpr, mbody: TensorExpr, s: f64Like, trips: i64Like, parts: i64Like) -> TensorExpr:
    """Inside `combine_parts`: `online_sum(body, mbody, s, trips)` over only the current part's trips/parts
    chunks, with its own running max (it starts at the part's first chunk)."""
@function
def part_max(mbody: TensorExpr, trips: i64Like, parts: i64Like) -> TensorExpr:
    """Inside `combine_parts`: the max of `mbody` over the current part's chunks (its fold's final max)."""
@function
def combine_parts(x: TensorExpr, m: TensorExpr, s: f64Like, parts: i64Like) -> TensorExpr:
    """The rescaling reduction over `parts` parts: sum over parts q of exp(s * (m_q - max_q m_q)) * x_q, with
    x_q and m_q (a per-row max) evaluated for part q."""


key_parts = relation("key_parts", i64)  # part counts a fold over chunks may be split into
# a value that computes no mask: where along the keys a chunk sits does not change it, so a part of the keys
# computes it as the whole does (a mask is evaluated at global columns; a part's kernel counts from zero)
unmasked = relation("unmasked", TensorExpr)
whole = relation("whole", TensorExpr)  # a value over the full extent (not a chunk): the only kind rules chunk


# -- the grid: a value whose rows depend only on the same rows of its inputs is a parallel map over row blocks --
@function
def rowblock(x: TensorExpr, height: i64Like) -> TensorExpr:
    """The current row block (`height` rows, all columns) of x: what one work item of a row map computes."""
@function
def rowmap(body: TensorExpr, height: i64Like, blocks: i64Like) -> TensorExpr:
    """`blocks` row blocks of `height` rows stacked: `body` computed for each block, in parallel."""


block_height = relation("block_height", i64)


# -- masks: index functions over the element matrix's global (row, col), never tensors in DRAM -----------
@function
def full_(value: f64Like, rows: i64Like, cols: i64Like) -> TensorExpr:
    """A constant matrix (e.g. the -inf a mask selects): built in the kernel, never read."""
@function
def where_(mask: StringLike, a: TensorExpr, b: TensorExpr, block: i64Like, chunk: i64Like) -> TensorExpr:
    """`a` where the mask (frontend.masks text) holds, else `b`. The mask is evaluated at global positions:
    row = current row block * `block` + local row (block 0: rows as they are), col = current K chunk *
    `chunk` + local col."""
@function
def online_live(body: TensorExpr, mbody: TensorExpr, s: f64Like, trips: i64Like, mask: StringLike, block: i64Like,
                chunk: i64Like) -> TensorExpr:
    """`online_sum(body, mbody, s, trips)` over only the chunks where the mask holds somewhere in the current
    row block: on the others every score is -inf, so they add nothing and leave the running max alone."""
@function
def fold_max_live(body: TensorExpr, trips: i64Like, mask: StringLike, block: i64Like, chunk: i64Like) -> TensorExpr:
    """`fold_max(body, trips)` over only the chunks where the mask holds somewhere in the current row block."""
@function
def hw_mask(mask: StringLike, x: TensorExpr, fill: f64Like, block: i64Like, chunk: i64Like) -> TensorExpr: ...
# x: DST, in place: plus a mask tile of 0 / -inf (fill -inf), or times a 0 / 1 tile (fill 0); the tiles are
# built in the kernel, one per distance from the diagonal


# -- hardware level: every form leaves its result in DST; the operand positions fix where inputs live --
@function
def hw_fpu(op: StringLike, a: TensorExpr, b: TensorExpr) -> TensorExpr: ...            # a: CB, b: CB
@function
def hw_fpu_bcast(op: StringLike, a: TensorExpr, b: TensorExpr, kind: StringLike) -> TensorExpr: ...
# a: CB, b: CB one tile wide (kind "cols": a broadcast column, the same tile read for every tile column of a) or
# one tile high ("rows"): add/sub/mul_tiles with b's tile index fixed along the broadcast axis
@function
def hw_reuse(op: StringLike, d: TensorExpr, c: TensorExpr, reuse: StringLike) -> TensorExpr: ...  # d: DST, c: CB
@function
def hw_sfpu2(op: StringLike, a: TensorExpr, b: TensorExpr) -> TensorExpr: ...          # a: DST, b: DST
@function
def hw_sfpu(op: StringLike, x: TensorExpr) -> TensorExpr: ...                          # x: DST, in place
@function
def hw_exp_scaled(x: TensorExpr, s: f64Like) -> TensorExpr: ...                        # x: DST
@function
def hw_scalar(op: StringLike, x: TensorExpr, s: f64Like) -> TensorExpr: ...            # x: DST
@function
def hw_matmul(a: TensorExpr, b: TensorExpr, transpose_b: i64Like) -> TensorExpr: ...    # a: CB, b: CB
@function
def hw_reduce(op: StringLike, x: TensorExpr, s: f64Like) -> TensorExpr: ...            # x: CB (scaler CB holds s)
@function
def hw_bcast(kind: StringLike, v: TensorExpr, n: i64Like) -> TensorExpr: ...           # v: CB
@function
def hw_transpose(x: TensorExpr) -> TensorExpr: ...                                     # x: CB
@function
def hw_tilesum(x: TensorExpr) -> TensorExpr: ...  # x: DST; packed with L1 accumulation, one tile per row block


# -- the shape analysis -----------------------------------------------------------------------------
@function(merge=lambda old, new: old)
def rows(x: TensorExpr) -> i64: ...
@function(merge=lambda old, new: old)
def cols(x: TensorExpr) -> i64: ...


@ruleset
def shape_analysis(x: TensorExpr, y: TensorExpr, a: TensorExpr, b: TensorExpr, name: String,
                   op: String, k: String, r: i64, c: i64, n: i64, s: f64, k2: i64, k3: i64):
    """Rows and columns of every e-class, computed from whichever node reaches it first."""
    yield rule(x == input_(name, r, c)).then(set_(rows(x)).to(r), set_(cols(x)).to(c), whole(x), unmasked(x))
    yield rule(y == full_(s, r, c)).then(unmasked(y))
    for pattern in (unary(op, a), scalar(op, a, s), exp_scaled(a, s), softmax(a), transpose(a), reduce(op, a),
                    bcast(k, a, n), kchunk(a, n), rchunk(a, n), running_max(a, n), tilesum(a), fold_max(a, n),
                    fold_sum(a, n)):
        yield rule(y == pattern, unmasked(a)).then(unmasked(y))
    for pattern in (binary(op, a, b), matmul(a, b), online_sum(a, b, s, n)):
        yield rule(y == pattern, unmasked(a), unmasked(b)).then(unmasked(y))
    for pattern in (unary(op, a), scalar(op, a, s), exp_scaled(a, s), softmax(a), transpose(a), reduce(op, a),
                    bcast(k, a, n)):
        yield rule(y == pattern, whole(a)).then(whole(y))
    for pattern in (binary(op, a, b), matmul(a, b)):
        yield rule(y == pattern, whole(a), whole(b)).then(whole(y))
    same_as_first = [unary(op, a), binary(op, a, b), scalar(op, a, s), exp_scaled(a, s), softmax(a),
                     output(name, a), hw_fpu(op, a, b), hw_fpu_bcast(op, a, b, k), hw_reuse(op, a, b, k),
                     hw_sfpu2(op, a, b),
                     hw_sfpu(op, a), hw_exp_scaled(a, s), hw_scalar(op, a, s)]
    for pattern in same_as_first:
        yield rule(y == pattern, r == rows(a), c == cols(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(c))
    for pattern in (matmul(a, b), hw_matmul(a, b, 0)):
        yield rule(y == pattern, r == rows(a), c == cols(b)).then(set_(rows(y)).to(r), set_(cols(y)).to(c))
    yield rule(y == hw_matmul(a, b, 1), r == rows(a), c == rows(b)).then(set_(rows(y)).to(r),
                                                                         set_(cols(y)).to(c))
    for pattern in (transpose(a), hw_transpose(a)):
        yield rule(y == pattern, r == rows(a), c == cols(a)).then(set_(rows(y)).to(c), set_(cols(y)).to(r))
    for pattern in (reduce("rowmax", a), reduce("rowsum", a), hw_reduce("rowmax", a, s), hw_reduce("rowsum", a, s)):
        yield rule(y == pattern, r == rows(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(i64(1)))
    for pattern in (reduce("colmax", a), reduce("colsum", a), hw_reduce("colmax", a, s), hw_reduce("colsum", a, s)):
        yield rule(y == pattern, c == cols(a)).then(set_(rows(y)).to(i64(1)), set_(cols(y)).to(c))
    for pattern in (fold_max(a, n), fold_sum(a, n), running_max(a, n), online_sum(a, b, s, n),
                    part_fold(a, b, s, n, k2), part_max(a, n, k2), combine_parts(a, b, s, n)):
        yield rule(y == pattern, r == rows(a), c == cols(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(c))
    yield rule(y == kchunk(a, n), r == rows(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(n))
    for pattern in (tilesum(a), hw_tilesum(a)):
        yield rule(y == pattern, r == rows(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(i64(32)))
    yield rule(y == rchunk(a, n), c == cols(a)).then(set_(rows(y)).to(n), set_(cols(y)).to(c))
    yield rule(y == rowblock(a, n), c == cols(a)).then(set_(rows(y)).to(n), set_(cols(y)).to(c))
    yield rule(y == rowblock(a, n), whole(a)).then(whole(y))  # a block is not inside a fold: rules chunk it
    yield rule(y == rowmap(a, n, k2), c == cols(a)).then(set_(rows(y)).to(n * k2), set_(cols(y)).to(c))
    yield rule(y == full_(s, r, c)).then(set_(rows(y)).to(r), set_(cols(y)).to(c), whole(y))
    yield rule(y == where_(k, a, b, n, k2), whole(a), whole(b)).then(whole(y))
    for pattern in (where_(k, a, b, n, k2), hw_mask(k, a, s, n, k2), online_live(a, b, s, n, k, k3, k2),
                    fold_max_live(a, n, k, k3, k2)):
        yield rule(y == pattern, r == rows(a), c == cols(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(c))
    for pattern in (bcast("cols", a, n), hw_bcast("cols", a, n)):
        yield rule(y == pattern, r == rows(a)).then(set_(rows(y)).to(r), set_(cols(y)).to(n))
    for pattern in (bcast("rows", a, n), hw_bcast("rows", a, n)):
        yield rule(y == pattern, c == cols(a)).then(set_(rows(y)).to(n), set_(cols(y)).to(c))


# -- IR -> e-graph ------------------------------------------------------------------------------------
def to_expr(node: Node, memo: dict[int, TensorExpr]) -> TensorExpr:
    """The egglog term of one IR node whose inputs are already in `memo`."""
    args = [memo[id(i)] for i in node.inputs]
    op = node.op
    attrs = dict(node.attrs)
    if op == "input":
        return input_(str(attrs["name"]), node.shape[0], node.shape[1])
    if op in ("add_s", "mul_s", "rsub_s", "rdiv_s"):
        return scalar(op, args[0], float(attrs["s"]))
    if op == "exp_scaled":
        return exp_scaled(args[0], float(attrs["s"]))
    if op in BINARY_OPS:
        return binary(op, args[0], args[1])
    if op in ("rowmax", "rowsum", "colmax", "colsum"):
        return reduce(op, args[0])
    if op in ("bcast_cols", "bcast_rows", "bcast_scalar"):
        return bcast(op.removeprefix("bcast_"), args[0], int(attrs["n"]))
    if op == "matmul":
        return matmul(args[0], args[1])
    if op == "transpose":
        return transpose(args[0])
    if op == "softmax":
        return softmax(args[0])
    if op == "full":
        return full_(float(attrs["value"]), node.shape[0], node.shape[1])  # type: ignore[arg-type]
    if op == "where":
        return where_(str(attrs["mask"]), args[0], args[1], 0, 0)
    return unary(op, args[0])


CHUNK_WIDTHS = (128, 256, 512, 1024, 2048)  # candidate chunk sizes (elements) for streaming rules
BLOCK_HEIGHTS = (32, 64, 128, 256, 512)  # candidate row-block heights (elements) for the grid's row maps
KEY_PARTS = (2, 4, 8, 16, 32, 64, 128)  # candidate part counts of a fold split over work items (above 8 the parts
# merge in a tree of combining kernels, each reading at most 8: frontend.splitkv.fan_ins)


def chunk_widths(kernel: Kernel) -> tuple[int, ...]:
    """The chunk widths streaming rules may use: CHUNK_WIDTHS, and for a long axis none of them divides
    (4128 = 129 tiles, 8160 = 255), the tile-multiple divisors of its length up to the largest width, at
    least two of them where it has two (a prime tile count streams one tile per trip). Rules only chunk an
    axis by a width that divides it, so every trip is the same; extraction picks the width by cost."""
    widths = set(CHUNK_WIDTHS)
    lengths = {d for node in kernel.nodes() for d in node.shape if d > CHUNK_WIDTHS[0] and d % TILE == 0}
    for d in sorted(lengths):
        if any(d % w == 0 and w < d for w in CHUNK_WIDTHS):
            continue
        divisors = [w for w in range(TILE, min(d - 1, CHUNK_WIDTHS[-1]) + 1, TILE) if d % w == 0]
        wide = [w for w in divisors if w >= CHUNK_WIDTHS[0]]
        narrow = [w for w in divisors if w < CHUNK_WIDTHS[0]]
        short = max(0, 2 - len(wide))  # the largest narrower divisors make up two candidates
        widths.update(wide + (narrow[-short:] if short else []))
    return tuple(sorted(widths))


def insert_kernel(egraph: EGraph, kernel: Kernel, key_parts_offered: tuple[int, ...] = KEY_PARTS,
                  widths: Sequence[int] | None = None) -> None:
    """Add every output of `kernel` under its root marker, and the candidate chunk widths (`widths`, default
    `chunk_widths`), block heights and part counts of a fold split over work items (`key_parts_offered`; ()
    splits nothing)."""
    for w in sorted(set(widths)) if widths is not None else chunk_widths(kernel):
        egraph.register(chunk_width(i64(w)))
    for h in BLOCK_HEIGHTS:
        egraph.register(block_height(i64(h)))
    for p in key_parts_offered:
        egraph.register(key_parts(i64(p)))
    memo: dict[int, TensorExpr] = {}
    for node in topo_order([n for _, n in kernel.outputs]):
        memo[id(node)] = to_expr(node, memo)
    for name, node in kernel.outputs:
        egraph.register(output(name, memo[id(node)]))


# -- e-graph -> data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ENode:
    """One e-node read back: its constructor, child e-classes, and literal arguments in order."""

    id: str
    op: str
    children: tuple[str, ...]  # e-class ids of TensorExpr children, in order
    literals: tuple[object, ...]  # primitive arguments (strings, floats, ints), in order


@dataclass
class SerializedEGraph:
    """TensorExpr e-classes with their nodes and analysed shapes, plus the output roots."""

    classes: dict[str, list[ENode]]
    shapes: dict[str, tuple[int, int]]
    outputs: list[tuple[str, str]]  # (output name, e-class of the computed value)
    # facts an algorithm derives from `classes` alone (extraction's candidate nodes and class order), kept
    # here so the row-block views of `blocks`, which share `classes`, derive them once
    derived: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        return sum(len(v) for v in self.classes.values())

    def block_heights(self) -> list[int]:
        """Heights h for which every output is a map over row blocks of h rows (a `rowmap` node). Outputs of
        different heights have none: a work item is one block of every output's rows."""
        if len({self.shapes[cid][0] for _, cid in self.outputs if cid in self.shapes}) > 1:
            return []
        common: set[int] | None = None
        for _, cid in self.outputs:
            heights = {int(n.literals[0]) for n in self.classes[cid] if n.op == "rowmap"}  # type: ignore[call-overload]
            common = heights if common is None else common & heights
        return sorted(common or ())

    def key_parts(self) -> list[int]:
        """Part counts p for which every output is elementwise in folds that split into p parts (a
        `combine_parts` node of p parts in each fold's class): the keys of such a kernel can be shared out over
        p work items and the parts combined after. A value that meets the keys any other way (a mask, a
        reduction over them, a second output of them) leaves no count."""
        common: set[int] | None = None
        for _, cid in self.outputs:
            counts = self._split_counts(cid, {})
            common = counts if common is None else common & counts
        return sorted(common or ())

    def _split_counts(self, cid: str, memo: dict[str, set[int]]) -> set[int]:
        """The part counts class `cid` splits into: a combine_parts node's, or those every operand of an
        elementwise node (binary, unary, scalar, a per-row broadcast) splits into."""
        if cid in memo:
            return memo[cid]
        memo[cid] = set()  # a cycle through this class offers nothing on that path
        found: set[int] = set()
        for node in self.classes.get(cid, []):
            if node.op == "combine_parts":
                found.add(int(node.literals[1]))  # type: ignore[call-overload]
            elif node.op in ("binary", "unary", "scalar") or node.op == "bcast" and node.literals[0] == "cols":
                kids = [self._split_counts(ch, memo) for ch in node.children]
                found |= set.intersection(*kids) if kids else set()
        memo[cid] = found
        return found

    def blocks(self, height: int) -> SerializedEGraph:
        """The e-graph seen from one row block: each output's root is the body of its row map of `height`
        rows (the same classes; extraction from there yields the program of one work item)."""
        roots = []
        for name, cid in self.outputs:
            body = [n.children[0] for n in self.classes[cid] if n.op == "rowmap" and n.literals[0] == height]
            if not body:
                raise KeyError(f"output '{name}' is not a map over row blocks of {height} rows")
            roots.append((name, body[0]))
        return SerializedEGraph(self.classes, self.shapes, roots, self.derived)


def _literal(op: str) -> object:
    if op.startswith('"'):
        return json.loads(op)
    try:
        return int(op)
    except ValueError:
        return float(op)


def serialize(egraph: EGraph) -> SerializedEGraph:
    """Read the e-graph out as plain data (deterministically ordered)."""
    data = json.loads(egraph._serialize().to_json())
    nodes = data["nodes"]
    classes: dict[str, list[ENode]] = {}
    analysis: dict[str, dict[str, int]] = {"rows": {}, "cols": {}}
    prim_value: dict[str, object] = {}
    for n in nodes.values():
        if not n["children"] and not n["op"][:1].isalpha():
            prim_value[n["eclass"]] = _literal(n["op"])
    outputs: list[tuple[str, str]] = []
    for nid in sorted(nodes):
        n = nodes[nid]
        op = n["op"]
        kids = n["children"]
        if op in analysis:
            analysis[op][nodes[kids[0]]["eclass"]] = int(prim_value[n["eclass"]])  # type: ignore[arg-type]
            continue
        if "TensorExpr" not in n["eclass"]:
            continue
        children = tuple(nodes[k]["eclass"] for k in kids if "TensorExpr" in nodes[k]["eclass"])
        literals = tuple(_literal(nodes[k]["op"]) for k in kids if "TensorExpr" not in nodes[k]["eclass"])
        node = ENode(nid, op, children, literals)
        if op == "output":
            outputs.append((str(literals[0]), children[0]))
        classes.setdefault(n["eclass"], []).append(node)
    shapes = {c: (analysis["rows"][c], analysis["cols"][c]) for c in classes
              if c in analysis["rows"] and c in analysis["cols"]}
    outputs.sort()
    return SerializedEGraph(classes, shapes, outputs)
