"""Masks as index functions: numpy's `np.tri` combined with `&`, `|` and `~`, never a tensor in DRAM.

A mask is a function of (row, column) over a kernel element's matrix. Because it is a function, it can be
evaluated anywhere: on a whole matrix (the reference), on one work item's block of rows and one K chunk's
columns (the rules that skip chunks, the lowering that builds mask tiles in the kernel), or one 32x32 tile at
a time. `tri(k)` is true where `col <= row + k` (numpy's `np.tri(n, m, k)`); its complement is true where
`col > row + k`. Conjunctions and disjunctions of these half planes describe causal masks and sliding
windows; `live_cols` and `full_cols` bound, for a range of rows, the columns where some row is true and
where every row is true (exact for bands, conservative otherwise), which is what skipping needs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

OPS = ("tri", "and", "or", "not")


@dataclass(frozen=True)
class Mask:
    """An index function (row, col) -> bool over an `shape[0]` x `shape[1]` matrix."""

    op: str
    shape: tuple[int, int]
    k: int = 0
    args: tuple[Mask, ...] = ()

    # -- building -----------------------------------------------------------------------------------------
    def __and__(self, other: Mask) -> Mask:
        return Mask("and", _same_shape(self, other, "&"), 0, (self, other))

    def __or__(self, other: Mask) -> Mask:
        return Mask("or", _same_shape(self, other, "|"), 0, (self, other))

    def __invert__(self) -> Mask:
        return Mask("not", self.shape, 0, (self,))

    def __bool__(self) -> bool:
        raise TypeError("a mask is an index function, not a truth value: combine masks with &, | and ~ "
                        "(not `and`, `or`, `not`)")

    # -- text (the e-graph carries a mask as a string: its matrix shape, then the function) -------------------
    @property
    def text(self) -> str:
        return f"{self.shape[0]}x{self.shape[1]}:{self._expr()}"

    def _expr(self) -> str:
        if self.op == "tri":
            return f"tri({self.k})"
        return f"{self.op}(" + ",".join(a._expr() for a in self.args) + ")"

    @staticmethod
    def parse(text: str) -> Mask:
        """The mask `text` describes (as `Mask.text` writes it: `ROWSxCOLS:EXPR`); a mask is immutable, so each
        text is parsed once (the chip model asks for a loop's mask per row block and core)."""
        return _parse_text(text)

    # -- one 32x32 tile at a time (what the kernel builds) ---------------------------------------------------
    def tile_offsets(self) -> tuple[int, int]:
        """With blocks and chunks on tile boundaries, a tile's pattern depends only on D = its row tile minus
        its column tile. The first and last D whose pattern is mixed, widened by one: every D below the range
        has the first one's (uniform) pattern, every D above it the last one's."""
        tris = self._tris()
        lows = [-((31 + k) // 32) for k in tris]  # ceil((-31 - k) / 32): the first D where tri(k) is mixed
        highs = [(30 - k) // 32 for k in tris]
        return min(lows) - 1, max(highs) + 1

    def tile_pattern(self, d: int) -> np.ndarray:
        """Where the mask holds on a tile whose row tile minus column tile is `d` (32x32 bool)."""
        return self.values(32 * d + np.arange(32), np.arange(32))

    def tile_runs(self) -> tuple[int, ...]:
        """The distinct tiles the kernel builds, as the first D of each run of equal patterns over
        `tile_offsets` (the first run stands for every smaller D, the last for every larger one). A tile at D
        uses pattern number `sum(D >= start for start in runs[1:])`: a causal mask needs three (above,
        on and below the diagonal), a sliding window five, whatever its width."""
        lo, hi = self.tile_offsets()
        runs = [lo]
        for d in range(lo + 1, hi + 1):
            if not np.array_equal(self.tile_pattern(d), self.tile_pattern(d - 1)):
                runs.append(d)
        return tuple(runs)

    def _tris(self) -> list[int]:
        return [self.k] if self.op == "tri" else [k for a in self.args for k in a._tris()]

    # -- where it is true, as expressions of a block's rows (what the kernel computes per work item) ----------
    def live_cols_exprs(self) -> tuple[tuple, tuple]:
        """`live_cols(row_lo, row_hi)` before clamping, as two expressions over ("row_lo", c) = row_lo + c,
        ("row_hi", c) = row_hi + c, ("min", a, b), ("max", a, b) and ("inf",) / ("-inf",) (no bound)."""
        if self.op == "tri":  # cols <= row + k for some row: cols < row_hi + k
            return ("-inf",), ("row_hi", self.k)
        if self.op == "not" and self.args[0].op == "tri":  # cols > row + k for some row: cols >= row_lo + k + 1
            return ("row_lo", self.args[0].k + 1), ("inf",)
        if self.op in ("and", "or"):
            (la, ha), (lb, hb) = self.args[0].live_cols_exprs(), self.args[1].live_cols_exprs()
            lo_op, hi_op = ("max", "min") if self.op == "and" else ("min", "max")
            return _combine(lo_op, la, lb), _combine(hi_op, ha, hb)
        return ("-inf",), ("inf",)

    def full_cols_exprs(self) -> tuple[tuple, tuple]:
        """`full_cols(row_lo, row_hi)` before clamping, as `live_cols_exprs` writes expressions."""
        if self.op == "tri":  # cols <= row + k for every row: cols < row_lo + k + 1
            return ("-inf",), ("row_lo", self.k + 1)
        if self.op == "not" and self.args[0].op == "tri":  # cols > row + k for every row: cols >= row_hi + k
            return ("row_hi", self.args[0].k), ("inf",)
        if self.op == "and":
            (la, ha), (lb, hb) = self.args[0].full_cols_exprs(), self.args[1].full_cols_exprs()
            return _combine("max", la, lb), _combine("min", ha, hb)
        return ("inf",), ("-inf",)

    def full_chunks(self, row0: int, rows: int, width: int) -> tuple[int, int]:
        """K chunks [lo, hi) of `width` columns where the mask holds on every one of rows [row0, row0 + rows)
        (empty when lo >= hi): their mask tile adds nothing, so the kernel skips the mask op there."""
        lo, hi = self.full_cols(row0, row0 + rows)
        if lo >= hi:
            return 0, 0
        return -(-int(lo) // width), int(hi) // width

    def live_chunks(self, row0: int, rows: int, width: int) -> tuple[int, int]:
        """K chunks [lo, hi) of `width` columns that rows [row0, row0 + rows) need: outside them the mask holds
        nowhere in those rows."""
        lo, hi = self.live_cols(row0, row0 + rows)
        chunks = -(-self.shape[1] // width)
        return min(max(lo // width, 0), chunks), max(min(-(-hi // width), chunks), 0)

    # -- values ---------------------------------------------------------------------------------------------
    def values(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The mask at every (rows[i], cols[j]) pair, broadcast as numpy broadcasts `rows[:, None]` and `cols`."""
        r = np.asarray(rows)[:, None]
        c = np.asarray(cols)[None, :]
        if self.op == "tri":
            return c <= r + self.k
        parts = [a.values(rows, cols) for a in self.args]
        if self.op == "and":
            return parts[0] & parts[1]
        if self.op == "or":
            return parts[0] | parts[1]
        return ~parts[0]

    def matrix(self, row0: int = 0, rows: int | None = None, col0: int = 0, cols: int | None = None) -> np.ndarray:
        """The mask over rows [row0, row0 + rows) and columns [col0, col0 + cols) of its matrix."""
        rows = self.shape[0] - row0 if rows is None else rows
        cols = self.shape[1] - col0 if cols is None else cols
        return self.values(np.arange(row0, row0 + rows), np.arange(col0, col0 + cols))

    # -- where it is true, for a range of rows --------------------------------------------------------------
    def live_cols(self, row_lo: int, row_hi: int) -> tuple[int, int]:
        """Columns [lo, hi) outside which no row of [row_lo, row_hi) is true (a superset of the true columns,
        exact for a band)."""
        lo, hi = self._live(row_lo, row_hi)
        return max(lo, 0), min(hi, self.shape[1])

    def full_cols(self, row_lo: int, row_hi: int) -> tuple[int, int]:
        """Columns [lo, hi) where every row of [row_lo, row_hi) is true (a subset of them; empty: lo >= hi)."""
        lo, hi = self._full(row_lo, row_hi)
        return max(lo, 0), min(hi, self.shape[1])

    def _live(self, row_lo: int, row_hi: int) -> tuple[float, float]:
        if self.op == "tri":  # col <= row + k for some row: col <= row_hi - 1 + k
            return float("-inf"), row_hi + self.k
        if self.op == "not" and self.args[0].op == "tri":  # col > row + k for some row: col > row_lo + k
            return row_lo + self.args[0].k + 1, float("inf")
        if self.op == "and":
            (a, b), (c, d) = self.args[0]._live(row_lo, row_hi), self.args[1]._live(row_lo, row_hi)
            return max(a, c), min(b, d)
        if self.op == "or":
            (a, b), (c, d) = self.args[0]._live(row_lo, row_hi), self.args[1]._live(row_lo, row_hi)
            return min(a, c), max(b, d)
        return float("-inf"), float("inf")  # the complement of a compound mask: no bound known

    def _full(self, row_lo: int, row_hi: int) -> tuple[float, float]:
        if self.op == "tri":  # col <= row + k for every row: col <= row_lo + k
            return float("-inf"), row_lo + self.k + 1
        if self.op == "not" and self.args[0].op == "tri":  # col > row + k for every row: col > row_hi - 1 + k
            return row_hi + self.args[0].k, float("inf")
        if self.op == "and":
            (a, b), (c, d) = self.args[0]._full(row_lo, row_hi), self.args[1]._full(row_lo, row_hi)
            return max(a, c), min(b, d)
        return float("inf"), float("-inf")  # none known (an `or` is left alone: its full columns need not be
        # one interval, and the kernel computes the same bounds as this, `full_cols_exprs`)


def _combine(op: str, a: tuple, b: tuple) -> tuple:
    """min / max of two bound expressions, folding the infinities."""
    for x, y in ((a, b), (b, a)):
        if x[0] in ("inf", "-inf"):
            keep_other = (op == "min") == (x[0] == "inf")
            return y if keep_other else x
    return (op, a, b)


def tri(n: int, m: int, k: int = 0) -> Mask:
    """numpy's `np.tri(n, m, k)` as an index function: true at and below the k-th diagonal."""
    return Mask("tri", (int(n), int(m)), int(k))


def _same_shape(a: Mask, b: object, op: str) -> tuple[int, int]:
    if not isinstance(b, Mask):
        raise TypeError(f"a mask combines with another mask by {op}, not with {type(b).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape} cannot be combined by {op}")
    return a.shape


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> Mask:
    """`Mask.parse`, kept per text."""
    head, sep, expr = text.replace(" ", "").partition(":")
    dims = head.split("x") if sep else []
    if len(dims) != 2 or not all(d.isdigit() for d in dims):
        raise ValueError(f"mask text {text!r} must start with ROWSxCOLS:")
    mask, rest = _parse(expr, (int(dims[0]), int(dims[1])))
    if rest:
        raise ValueError(f"unexpected {rest!r} after a mask in {text!r}")
    return mask


_TRI = re.compile(r"tri\((-?\d+)\)")


def _parse(text: str, shape: tuple[int, int]) -> tuple[Mask, str]:
    m = _TRI.match(text)
    if m:
        return Mask("tri", shape, int(m.group(1))), text[m.end():]
    for op in ("and", "or", "not"):
        if text.startswith(op + "("):
            rest = text[len(op) + 1:]
            args = []
            while True:
                arg, rest = _parse(rest, shape)
                args.append(arg)
                if rest.startswith(","):
                    rest = rest[1:]
                    continue
                if not rest.startswith(")"):
                    raise ValueError(f"expected ')' in mask text at {rest!r}")
                return Mask(op, shape, 0, tuple(args)), rest[1:]
    raise ValueError(f"not a mask: {text!r} (expected tri(K), and(..), or(..) or not(..))")
