"""Index arithmetic every kernel does per work item: which row block it computes, which K chunks its loop
visits (a mask can leave the rest dead), and which mask tile each output tile of a masked value reads.

Written once against `IndexOps`, so the reader, compute and writer emit the same arithmetic and a test can
run it on integers (`Integers`) against the Python the scheduler priced (`LoopInfo.range`, `Mask.tile_runs`).
All values are MLIR `index` values; the arith ops are signed where a value can be negative.
"""

from __future__ import annotations

from typing import Protocol

from tteqsat.frontend.ir import TILE
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.model import MaskIndex

Value = str | int


class IndexOps(Protocol):
    def const(self, value: int) -> Value: ...
    def arith(self, name: str, a: Value, b: Value) -> Value: ...  # arith.<name> on two index values


class Integers:
    """`IndexOps` on Python ints: what the emitted arithmetic computes."""

    OPS = {
        "addi": lambda a, b: a + b, "subi": lambda a, b: a - b, "muli": lambda a, b: a * b,
        "divui": lambda a, b: a // b, "remui": lambda a, b: a % b,
        "maxsi": max, "minsi": min,
        "floordivsi": lambda a, b: a // b, "ceildivsi": lambda a, b: -(-a // b),
    }

    def const(self, value: int) -> int:
        return value

    def arith(self, name: str, a: Value, b: Value) -> int:
        return self.OPS[name](int(a), int(b))


def item_number(ops: IndexOps, first: Value, n: Value, run: int, stride: int) -> Value:
    """The `n`-th work item of a core whose first is `first` (`GridPlan.core_items`): first + n, or with runs
    (cores sharing reads, `GridPlan.run`) first + (n / run) * stride + n % run (`GridPlan.run_stride`: a
    batch element's blocks, or the shorter run of them its group covers)."""
    if not run:
        return ops.arith("addi", first, n)
    step = ops.arith("muli", ops.arith("divui", n, ops.const(run)), ops.const(stride))
    return ops.arith("addi", first, ops.arith("addi", step, ops.arith("remui", n, ops.const(run))))


def block_of(ops: IndexOps, item: Value, blocks: int, paired: bool, ranked: int = 0, alternate: bool = False
             ) -> Value:
    """The row block of work item `item` (`GridPlan.block_of`): its position in its batch element, or with
    `paired` the order 0, N-1, 1, N-2, ... (half + odd * (N - 1 - 2 * half)); with `ranked`, runs of that
    many blocks, each largest first, the runs in that order (run * ranked + ranked - 1 - i); with `alternate`,
    odd runs (item / ranked, counted over all items) smallest first (run * ranked + i)."""
    position = ops.arith("remui", item, ops.const(blocks))
    if ranked:
        at = ops.arith("divui", position, ops.const(ranked))
        run = block_of(ops, at, blocks // ranked, paired)
        first = ops.arith("muli", run, ops.const(ranked))
        i = ops.arith("remui", position, ops.const(ranked))
        if alternate:  # i on odd runs (over all items), ranked - 1 - i on even ones: sums of non-negative terms
            odd = odd_run(ops, item, ranked)
            down = ops.arith("muli", ops.arith("subi", ops.const(1), odd), ops.arith("subi", ops.const(ranked - 1), i))
            return ops.arith("addi", first, ops.arith("addi", down, ops.arith("muli", odd, i)))
        return ops.arith("subi", ops.arith("addi", first, ops.const(ranked - 1)), i)
    if not paired:
        return position
    half = ops.arith("divui", position, ops.const(2))
    odd = ops.arith("remui", position, ops.const(2))
    span = ops.arith("subi", ops.const(blocks - 1), ops.arith("muli", half, ops.const(2)))
    return ops.arith("addi", half, ops.arith("muli", odd, span))


def ranked_widest(ops: IndexOps, item: Value, blocks: int, ranked: int, alternate: bool = False) -> Value:
    """In a ranked group (`GridPlan.ranked` cores, one run of blocks at a time), the run's item that visits
    every chunk the others do: its first (runs largest first), or with `alternate` its last on odd runs
    (those runs smallest first: `block_of`). Every core's reader follows that item's chunks."""
    position = ops.arith("remui", ops.arith("remui", item, ops.const(blocks)), ops.const(ranked))
    first = ops.arith("subi", item, position)
    if not alternate:
        return first
    return ops.arith("addi", first, ops.arith("muli", odd_run(ops, item, ranked), ops.const(ranked - 1)))


def odd_run(ops: IndexOps, item: Value, ranked: int) -> Value:
    """1 when work item `item` falls in an odd run of `ranked` items (counted over all items, so the runs
    alternate across batch elements too), else 0: the runs `block_of` and `ranked_widest` take smallest first."""
    return ops.arith("remui", ops.arith("divui", item, ops.const(ranked)), ops.const(2))


def ranked_padding(ops: IndexOps, own: tuple[Value, Value], widest: tuple[Value, Value]) -> Value:
    """Chunks a ranked group's core is sent beyond its own item's (every core takes every chunk of its run's
    widest item, and the chunks share their first): its compute thread pops them unread; 0 on the core
    running the widest item."""
    def length(r: tuple[Value, Value]) -> Value:
        return ops.arith("maxsi", ops.arith("subi", r[1], r[0]), ops.const(0))

    return ops.arith("maxsi", ops.arith("subi", length(widest), length(own)), ops.const(0))


def _columns(ops: IndexOps, expr: tuple, height: int, rows: int, block: Value) -> Value | None:
    """A column bound of `Mask.live_cols_exprs` / `full_cols_exprs` for row block `block` (None: infinite)."""
    head = expr[0]
    if head in ("inf", "-inf"):
        return None
    if head in ("row_lo", "row_hi"):
        base = ops.arith("muli", block, ops.const(height)) if height else ops.const(0)
        if head == "row_hi":
            base = ops.arith("addi", base, ops.const(rows))
        return ops.arith("addi", base, ops.const(expr[1])) if expr[1] else base
    a, b = _columns(ops, expr[1], height, rows, block), _columns(ops, expr[2], height, rows, block)
    assert a is not None and b is not None, "the mask's expressions fold the infinities"
    return ops.arith("maxsi" if head == "max" else "minsi", a, b)


def full_range(ops: IndexOps, live: tuple[str, int, int], rows: int, block: Value) -> tuple[Value, Value]:
    """Chunks [lo, hi) where the mask holds on every row of block `block` (`Mask.full_chunks`; lo >= hi:
    none): the loop skips the mask op there."""
    text, height, width = live
    mask = Mask.parse(text)
    lo_expr, hi_expr = mask.full_cols_exprs()
    if lo_expr[0] == "inf" or hi_expr[0] == "-inf":
        return ops.const(0), ops.const(0)
    lo_cols, hi_cols = (_columns(ops, e, height, rows, block) for e in (lo_expr, hi_expr))
    lo = ops.const(0) if lo_cols is None else ops.arith(
        "ceildivsi", ops.arith("maxsi", lo_cols, ops.const(0)), ops.const(width))
    hi_cols = ops.const(mask.shape[1]) if hi_cols is None else ops.arith("minsi", hi_cols, ops.const(mask.shape[1]))
    return lo, ops.arith("floordivsi", hi_cols, ops.const(width))


def live_range(ops: IndexOps, live: tuple[str, int, int], rows: int, trips: int, block: Value) -> tuple[Value, Value]:
    """Chunks [lo, hi) a loop over `trips` chunks visits for row block `block` (`LoopInfo.range`): the columns
    where the mask holds for some of the block's rows, in chunks of the loop's width, clamped to the loop."""
    text, height, width = live
    mask = Mask.parse(text)
    lo_expr, hi_expr = mask.live_cols_exprs()
    last = min(-(-mask.shape[1] // width), trips)
    lo_cols, hi_cols = (_columns(ops, e, height, rows, block) for e in (lo_expr, hi_expr))
    lo = ops.const(0) if lo_cols is None else ops.arith(
        "minsi", ops.arith("floordivsi", ops.arith("maxsi", lo_cols, ops.const(0)), ops.const(width)), ops.const(last))
    if hi_cols is None:
        return lo, ops.const(last)
    hi_cols = ops.arith("minsi", hi_cols, ops.const(mask.shape[1]))
    hi = ops.arith("minsi", ops.arith("maxsi", ops.arith("ceildivsi", hi_cols, ops.const(width)), ops.const(0)),
                   ops.const(last))
    return lo, hi


def mask_tile(ops: IndexOps, diag: MaskIndex, block: Value, chunk: Value, i: Value, j: Value) -> Value:
    """The mask CB tile output tile (i, j) reads: D = (block * block_tiles + i) - (chunk * chunk_tiles + j),
    then the number of pattern runs after the first that start at or below D (each adds clamp(D - r + 1, 0, 1))."""
    row = ops.arith("addi", ops.arith("muli", block, ops.const(diag.block_tiles)), i) if diag.block_tiles else i
    col = ops.arith("addi", ops.arith("muli", chunk, ops.const(diag.chunk_tiles)), j) if diag.chunk_tiles else j
    d = ops.arith("subi", row, col)
    index: Value | None = None
    for r in diag.runs[1:]:
        step = ops.arith("minsi", ops.arith("maxsi", ops.arith("subi", d, ops.const(r - 1)), ops.const(0)),
                         ops.const(1))
        index = step if index is None else ops.arith("addi", index, step)
    return ops.const(0) if index is None else index


def live_tiles(ops: IndexOps, live: tuple[str, int, int], chunk_tiles: int, block: Value, row: Value,
               chunk: Value) -> tuple[Value, Value]:
    """Key tiles [lo, hi) of chunk `chunk` (relative to it) where the mask holds for some row of tile row `row`
    of row block `block` (`scheduling.ragged.tile_ranges`): the tile-granular `live_range`, clamped to the
    chunk, one tile kept where there is none."""
    text, height, _ = live
    mask = Mask.parse(text)
    global_row = ops.arith("addi", ops.arith("muli", block, ops.const(height // TILE)), row) if height else row
    lo_t, hi_t = live_range(ops, (text, TILE, TILE), TILE, -(-mask.shape[1] // TILE), global_row)
    base = ops.arith("muli", chunk, ops.const(chunk_tiles))
    lo = ops.arith("minsi", ops.arith("maxsi", ops.arith("subi", lo_t, base), ops.const(0)), ops.const(chunk_tiles - 1))
    hi = ops.arith("minsi", ops.arith("maxsi", ops.arith("subi", hi_t, base), ops.const(0)), ops.const(chunk_tiles))
    return lo, ops.arith("maxsi", hi, ops.arith("addi", lo, ops.const(1)))
