"""Tile-granular skipping inside the masked trips of a loop (the chunks that straddle a mask's edge).

A loop whose mask leaves chunks dead already skips them (`LoopInfo.range`); the trips left that apply the mask
(a causal kernel's diagonal chunk) still compute every tile of the chunk, although the tiles the mask holds
nowhere in come out as -inf scores and zero probabilities. Here the body's values are followed from the
mask: which have the chunk's keys along their tile columns, and what such a value holds where the mask
holds nowhere (-inf after a bias mask, 0 after exp of that, unknown otherwise). When every reduction over the
keys (a row max, a row sum, the K loop of P @ V) reads a value whose dead tiles are its identity (-inf for
max, 0 for sums and matmul), those tiles can be left out: a pass over a row of chunk columns visits only the
passes holding a live tile (pushing unwritten pages for the rest, which nothing reads), and a reduction's K
loop runs over the tile row's live key tiles only. The same values come out: max(-inf, x) = x and x + 0 = x.

`ragged_plan` decides this per loop (all or nothing); `tile_ranges` gives, for a row block and a masked trip,
each tile row's live key tiles [lo, hi) within the chunk, the same numbers the emitted index arithmetic
computes (`tteqsat.lowering.item_index.live_tiles`).
"""

from __future__ import annotations

import math

from tteqsat.extraction.program import HwOp, Program
from tteqsat.frontend.ir import TILE
from tteqsat.frontend.masks import Mask
from tteqsat.scheduling.model import RaggedPlan

NEG_INF = "-inf"
ZERO = "0"
FINITE = "finite"  # a finite value (a broadcast row max, say): neutral for nothing, but x - it keeps -inf


def _binary(op: str, a: str | None, b: str | None) -> str | None:
    """What `a op b` holds at dead tiles, given what each operand holds there (None: unknown)."""
    if op in ("sub", "add") and a == NEG_INF and b == FINITE:
        return NEG_INF
    if op == "add" and a == FINITE and b == NEG_INF:
        return NEG_INF
    if op == "mul" and ZERO in (a, b) and {a, b} <= {ZERO, FINITE}:
        return ZERO
    return None


def _dead_values(body: Program, key_leaves: dict[str, str], mask_text: str
                 ) -> tuple[dict[int, str], dict[int, str | None], set[int]] | None:
    """Per body value (index in `body.ops()`): the axis its tiles hold the chunk's keys along ("rows" or
    "cols"), what it holds at dead tiles, and the values whose K loop runs over the keys; None when some
    use of a key-shaped value is not one this analysis can vouch for."""
    ops = body.ops()
    index = {id(op): n for n, op in enumerate(ops)}
    axis: dict[int, str] = {}
    dead: dict[int, str | None] = {}
    inner: set[int] = set()
    for n, op in enumerate(ops):
        args = [index[id(o)] for o in op.operands]
        key = [axis.get(a) if axis.get(a) in ("cols", "rows") else None for a in args]
        k = op.kind
        if k == "input":
            if op.name in key_leaves:
                axis[n], dead[n] = key_leaves[op.name], FINITE
            continue
        if not any(key):
            if k == "bcast" and op.op == "cols":  # a row vector spread over columns: finite wherever it lands
                axis[n], dead[n] = "cols?", FINITE
            continue
        if k == "matmul":
            transpose = bool(op.attrs.get("transpose_b"))
            if key[0] or len(args) == 3 and key[2]:
                if key[0] != "cols" or dead.get(args[0]) != ZERO or key[1] != ("cols" if transpose else "rows"):
                    return None  # only P @ V: the K loop over keys, P zero where dead
                inner.add(n)
                continue
            if key[1] == ("rows" if transpose else "cols"):  # Q @ K^T: the chunk's keys become columns
                axis[n], dead[n] = "cols", FINITE
                continue
            return None
        if k == "mask":
            if str(op.attrs.get("mask")) != mask_text or key[0] != "cols":
                return None
            axis[n], dead[n] = "cols", NEG_INF if op.op == "bias" else ZERO
            continue
        if k == "reduce":
            identity = {"rowmax": NEG_INF, "rowsum": ZERO}.get(op.op)  # what a dead tile must hold to drop out
            if identity is None or key[0] != "cols" or dead.get(args[0]) != identity:
                return None
            if identity == NEG_INF and not float(op.attrs.get("s", 1.0)) > 0:  # type: ignore[arg-type]
                return None
            inner.add(n)
            continue
        if k == "tilesum":
            if key[0] != "cols" or dead.get(args[0]) != ZERO:
                return None
            inner.add(n)
            continue
        if k == "exp_scaled":
            if key[0] != "cols":
                return None
            axis[n] = "cols"
            dead[n] = ZERO if dead.get(args[0]) == NEG_INF and float(op.attrs["s"]) > 0 else None  # type: ignore[arg-type]
            continue
        if k in ("fpu", "sfpu2", "reuse") and len(args) == 2:
            a, b = args if k != "reuse" or op.attrs.get("reuse") == "srca" else args[::-1]
            if any(kk not in (None, "cols") for kk in key) or any(axis.get(x) not in ("cols", "cols?") for x in args):
                return None  # keys along rows, or a value of another shape
            axis[n], dead[n] = "cols", _binary(op.op, dead.get(a), dead.get(b))
            continue
        if k == "copy":
            axis[n], dead[n] = axis[args[0]], dead.get(args[0])
            continue
        return None  # any other op over key-shaped tiles
    return axis, dead, inner


def ragged_plan(body: Program, chunk_leaf: dict[str, HwOp], mask_text: str, sections: list) -> RaggedPlan | None:
    """The plan for a loop `body` streaming `chunk_leaf` under mask `mask_text`, scheduled as `sections` (its
    in-loop `DstSection`s), or None when its masked trips must compute every tile."""
    key_leaves = {name: str(op.attrs["axis"]) for name, op in chunk_leaf.items()}
    widths = {int(op.attrs["width"]) for op in chunk_leaf.values()}  # type: ignore[call-overload]
    if len(widths) != 1:
        return None
    chunk_tiles = widths.pop() // TILE
    found = _dead_values(body, key_leaves, mask_text)
    if found is None:
        return None
    axis, _, inner = found
    ops = body.ops()
    index = {id(op): n for n, op in enumerate(ops)}
    keyed = {n for n, a in axis.items() if a == "cols" and ops[n].kind != "input"}
    if any(index[id(op)] in keyed for _, op in body.outputs):
        return None  # a chunk-wide value leaves the loop: every tile of it is read
    grid: set[int] = set()
    pass_widths: set[int] = set()
    for sec in sections:
        values = {op.value for op in sec.ops if op.value >= 0}
        if not values & keyed:
            continue
        if not values <= keyed | {n for n, a in axis.items() if a == "cols?"}:
            return None  # a pass mixing chunk-column values with others
        summed = {n for n in inner if ops[n].kind == "tilesum" and index[id(ops[n].operands[0])] in values}
        if sec.grid[1] != chunk_tiles or sec.rows != 1 or any(pk.accumulate for pk in sec.packs) and not summed:
            return None
        grid |= values
        pass_widths.add(sec.width)
    if len(pass_widths) != 1 or not inner:
        return None
    return RaggedPlan(frozenset(grid), frozenset(inner), pass_widths.pop(), chunk_tiles)


def tile_ranges(mask: Mask, block_rows: int, block: int, rows: int, chunk: int, chunk_tiles: int
                ) -> list[tuple[int, int]]:
    """Per tile row of row block `block` (`block_rows` rows each, 0: the whole mask; `rows` rows in the
    item): the key tiles [lo, hi) of chunk `chunk` where the mask holds for some row of the tile row,
    relative to the chunk. A row with none keeps one tile (all -inf, as the unskipped trip computes it), so its
    row max is -inf and its running state comes out as before."""
    out = []
    first = block * block_rows
    for i in range(math.ceil(rows / TILE)):
        lo, hi = mask.live_cols(first + i * TILE, first + (i + 1) * TILE)
        base = chunk * chunk_tiles
        lo_t = min(max(int(lo) // TILE - base, 0), chunk_tiles - 1)
        hi_t = max(min(max(-(-int(hi) // TILE) - base, 0), chunk_tiles), lo_t + 1)
        out.append((lo_t, hi_t))
    return out
