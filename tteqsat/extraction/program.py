"""The extracted hardware program: a DAG of Tensix op forms, each producing one value in DST."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from tteqsat.frontend.ir import TILE
from tteqsat.frontend.masks import Mask

# Where each op form reads its operands from, in operand order.
OPERAND_LOCS: dict[str, tuple[str, ...]] = {
    "fpu": ("cb", "cb"),          # add/sub/mul_tiles
    "reuse": ("dst", "cb"),       # binary_dest_reuse_tiles
    "sfpu2": ("dst", "dst"),      # *_binary_tile, binary_max/min_tile
    "sfpu": ("dst",),             # unary SFPU op in place
    "exp_scaled": ("dst",),       # exp_tile with a fused scale
    "scalar": ("dst",),           # binop_with_scalar
    "matmul": ("cb", "cb"),       # matmul_tiles, K accumulated in DST; a third operand, when given, is the DST
                                  # value it accumulates onto (matmul_tiles adds to what its slot holds)
    "reduce": ("cb",),            # reduce_tile with a scaler CB
    "tilesum": ("dst",),          # its operand's row of tiles packed into one CB tile, L1-accumulated
    "bcast": ("cb",),             # unary_bcast
    "transpose": ("cb",),         # transpose_wh_tile
    "mask": ("dst",),             # in place: plus a 0 / -inf tile (op "bias") or times a 0 / 1 tile ("zero"), the
                                  # tile built in the kernel for the tile's distance from the mask's diagonals
    "copy": ("cb",),              # copy_tile (inserted by the scheduler)
    "input": (),
    # streaming: operands of these are not read through DST or a CB by the op itself
    "chunk": ("none",),           # the current chunk of a kernel input, streamed by the reader
    "running_max": ("none",),     # the loop's running max after this chunk (operand: the chunk's row max)
    "online_sum": ("none", "none"),  # (body, row-max body)
    "fold_max": ("none",),
    "fold_sum": ("none",),
}


REDUCE_KINDS = ("reduce",)
# op forms whose output tile (i, j) reads only tile (i, j) of each operand (a row broadcast over one tile row too):
# a kernel input too big for L1 they read may stream through a small CB (`scheduling.input_streams`), and a value
# they compute from kernel inputs may be computed again after a loop rather than held whole (`loops.split`)
TILEWISE_KINDS = ("fpu", "reuse", "sfpu2", "sfpu", "exp_scaled", "scalar", "bcast")


def fpu_bcast(op: str, x: HwOp, col: HwOp, origin: str = "", col_origin: str = "") -> HwOp | None:
    """`x op bcast_cols(col)` as hw_fpu_bcast forms it (rules/hardware.py): add/sub/mul_tiles against a broadcast
    tile of `col` per tile row, read for every tile column; None where x is not wider than one tile in whole tiles
    (the rules' condition; there a unary_bcast and a dest-reuse op compute it)."""
    r, c = x.shape
    if c <= TILE or c % TILE:
        return None
    tile = HwOp("bcast", "cols", (col,), (r, TILE), {"n": TILE}, col_origin)
    return HwOp("fpu", op, (x, tile), x.shape, {"bcast": "cols"}, origin)


def reduces_padding(kind: str, op: str, operand_shape: tuple[int, int]) -> bool:
    """Whether a reduce_tile would combine padding into its result: it folds all 32 lanes of a tile along
    its axis, and across a length-1 axis (a vector's) 31 of them are padding. Such a reduction is the
    identity (rules/vectors.py); no extraction picks this form and the scheduler refuses it."""
    return kind in REDUCE_KINDS and operand_shape[1 if op.startswith("row") else 0] == 1


def max_scaler_inexact(op: str, scale: float) -> bool:
    """Whether a reduce_tile max would not apply its scaler exactly: the max reduce multiplies by only the
    power-of-two part of the scaler (tteqsat/sim/reduce.py; tt-llk's GMPOOL), so max(a) * s maps to one
    reduce_tile only for s a positive power of two; otherwise the scale stays a separate op."""
    if "max" not in op:
        return False
    mantissa, _ = math.frexp(scale)
    return not (scale > 0.0 and mantissa == 0.5)


@dataclass(eq=False)
class HwOp:
    """One value: an op form over operand values. Identity is object identity."""

    kind: str
    op: str
    operands: tuple[HwOp, ...]
    shape: tuple[int, int]
    attrs: dict[str, object] = field(default_factory=dict)
    origin: str = ""  # e-class (or IR op) it came from, for explanations
    loc: str = ""     # the user's source line, where known

    @property
    def locs(self) -> tuple[str, ...]:
        if self.kind == "matmul" and len(self.operands) == 3:
            return ("cb", "cb", "dst")
        return OPERAND_LOCS[self.kind]

    @property
    def grid(self) -> tuple[int, int]:
        return (-(-self.shape[0] // TILE), -(-self.shape[1] // TILE))

    @property
    def n_tiles(self) -> int:
        r, c = self.grid
        return r * c

    @property
    def name(self) -> str:
        return str(self.attrs.get("name", ""))

    def label(self) -> str:
        extra = {k: v for k, v in self.attrs.items() if k != "name"}
        args = "".join(f" {k}={v}" for k, v in sorted(extra.items()))
        return f"{self.kind}.{self.op}{args}" if self.kind != "input" else f"input {self.name}"


@dataclass
class Program:
    """What extraction chose: outputs by name, inputs in kernel argument order."""

    name: str
    dtype: str
    inputs: list[HwOp]
    outputs: list[tuple[str, HwOp]]
    one_row_per_pass: bool = False  # every DST pass takes at most one tile row (a hand-written schedule's rule)
    in_order: bool = False  # the loop runs its sections in program order, none a trip ahead (likewise)

    def ops(self) -> list[HwOp]:
        """Every op, operands first, deterministic."""
        seen: set[int] = set()
        order: list[HwOp] = []

        def visit(op: HwOp) -> None:
            if id(op) in seen:
                return
            seen.add(id(op))
            for o in op.operands:
                visit(o)
            order.append(op)

        for i in self.inputs:
            visit(i)
        for _, op in self.outputs:
            visit(op)
        return order

    def structure(self) -> tuple:
        """Everything scheduling reads, without the e-classes and source lines the ops came from: two programs
        with equal structures get equal schedules, so a price can be looked up by it (`pipeline.Prices`)."""
        ops = self.ops()
        index = {id(op): n for n, op in enumerate(ops)}
        body = tuple((op.kind, op.op, op.shape, repr(sorted(op.attrs.items())),
                      tuple(index[id(o)] for o in op.operands)) for op in ops)
        return (self.name, self.dtype, self.one_row_per_pass, self.in_order, tuple(index[id(i)] for i in self.inputs),
                tuple((name, index[id(op)]) for name, op in self.outputs), body)


def fold_live(op: HwOp) -> tuple[Mask, int, int] | None:
    """A fold that skips dead chunks: its mask, the row-block height it is evaluated at (0: all rows) and
    the chunk width; None for a fold over every chunk."""
    live = op.attrs.get("live")
    if not live:
        return None
    text, block, chunk = live  # type: ignore[misc]
    return Mask.parse(str(text)), int(block), int(chunk)


def live_trips(live: tuple[Mask, int, int], block_index: int, rows: int, trips: int) -> tuple[int, int]:
    """Chunks [lo, hi) a fold over `trips` chunks runs for row block `block_index` of `rows` rows."""
    mask, height, width = live
    lo, hi = mask.live_chunks(block_index * height if height else 0, rows, width)
    return min(lo, trips), min(hi, trips)


@functools.lru_cache(maxsize=1024)
def mean_live_trips(live: tuple[Mask, int, int], rows: int, trips: int) -> float:
    """Chunks a fold runs, averaged over the mask's row blocks (what one work item costs on average); kept per
    argument (a mask is immutable), as extraction asks for it at every fold node it weighs."""
    mask, height, _ = live
    blocks = max(mask.shape[0] // height, 1) if height else 1
    spans = [live_trips(live, b, rows, trips) for b in range(blocks)]
    return sum(max(hi - lo, 0) for lo, hi in spans) / blocks
