"""The shapes and value domains a rule's pattern admits: union-find over symbolic dimensions.

Every dimension in the e-graph is 1 or a multiple of the tile (the DSL checks it), and rules may rely on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from tteqsat.frontend.ir import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, TILE, UNARY_OPS
from tteqsat.rulecheck.claims import Call, Eq, Fact, Lit, Term, Uncheckable, Var

DIMS = (1, TILE, 2 * TILE, 3 * TILE, 4 * TILE)
DIM_WEIGHTS = (0.2, 0.35, 0.25, 0.1, 0.1)


# -- where strings, ints and chunk-local values go --------------------------------------------------------
# masks a rule over masked values is tried with: causal, shifted by a tile and a bit, a band, their union
MASK_SAMPLES = tuple(f"4096x4096:{m}" for m in ("tri(0)", "tri(-33)", "tri(40)", "and(tri(0),not(tri(-64)))",
                                                     "or(tri(-96),not(tri(32)))"))
# (constructor, argument index) -> the strings valid there
DOMAINS: dict[tuple[str, int], tuple[str, ...]] = {
    ("unary", 0): UNARY_OPS, ("binary", 0): BINARY_OPS, ("scalar", 0): SCALAR_OPS, ("reduce", 0): REDUCE_OPS,
    ("bcast", 0): ("cols", "rows"), ("hw_fpu", 0): ("add", "sub", "mul"),
    ("hw_fpu_bcast", 0): ("add", "sub", "mul"), ("hw_fpu_bcast", 3): ("cols", "rows"),
    ("hw_reuse", 0): ("add", "sub", "mul"),
    ("hw_reuse", 3): ("srca", "srcb"), ("hw_sfpu2", 0): BINARY_OPS, ("hw_sfpu", 0): UNARY_OPS,
    ("hw_scalar", 0): SCALAR_OPS, ("hw_reduce", 0): REDUCE_OPS, ("hw_bcast", 0): ("cols", "rows"),
    ("input_", 0): ("in0", "in1"), ("output", 0): ("out",),
    **{(fn, pos): MASK_SAMPLES for fn, pos in (("where_", 0), ("hw_mask", 0), ("online_live", 4),
                                                ("fold_max_live", 2))},
}
OP_POSITIONS = set(DOMAINS) - {("input_", 0), ("output", 0)}  # names there are free; ops must exist
FLAGS = {("hw_matmul", 2)}                                   # i64 0/1 switches
TRIPS = {("fold_max", 1), ("fold_sum", 1), ("running_max", 1), ("online_sum", 3), ("online_live", 3),
         ("fold_max_live", 1), ("part_fold", 3), ("part_fold", 4), ("part_max", 1), ("part_max", 2),
         ("combine_parts", 3), ("key_parts", 0)}  # loop trip counts and part counts
FOLD_BODIES = {("fold_max", 0), ("fold_sum", 0), ("running_max", 0), ("online_sum", 0), ("online_sum", 1),
               ("online_live", 0), ("online_live", 1), ("fold_max_live", 0), ("part_fold", 0), ("part_fold", 1),
               ("part_max", 0)}
# where a value outside the op's domain makes the left side meaningless: (constructor, op) -> argument
DOMAIN_ARG = {("unary", o): 1 for o in ("log", "sqrt", "rsqrt", "recip")} | {
    ("hw_sfpu", o): 1 for o in ("log", "sqrt", "rsqrt", "recip")} | {
    ("binary", "div"): 2, ("hw_sfpu2", "div"): 2, ("scalar", "rdiv_s"): 1, ("hw_scalar", "rdiv_s"): 1}


class Skip(Exception):
    """This sample does not match the pattern or meet the conditions: draw another."""


class IllFormed(Exception):
    """The expression is ill-formed (shape mismatch, op not valid at its position)."""


def walk(t: Term, parent: tuple[str, int] | None = None, in_fold: bool = False
          ) -> Iterator[tuple[Term, tuple[str, int] | None, bool]]:
    yield t, parent, in_fold
    if isinstance(t, Call):
        for i, a in enumerate(t.args):
            yield from walk(a, (t.fn, i), in_fold or (t.fn, i) in FOLD_BODIES)


def fact_terms(f: Fact) -> tuple[Term, ...]:
    return (f.left, f.right) if isinstance(f, Eq) else (f.term,)


def term_vars(t: Term) -> set[str]:
    return {x.name for x, _, _ in walk(t) if isinstance(x, Var)}


# -- shapes: union-find over symbolic dimensions ---------------------------------------------------------
class Dims:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}
        self.const: dict[object, int] = {}
        self.multiple: list[tuple[object, object]] = []  # (big, small): big is a multiple of small
        self._fresh = itertools.count()

    def find(self, k: object) -> object:
        self.parent.setdefault(k, k)
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def fresh(self) -> object:
        return ("fresh", next(self._fresh))

    def fix(self, k: object, value: int) -> None:
        r = self.find(k)
        if self.const.setdefault(r, value) != value:
            raise Skip("shapes")

    def same(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        self.parent[ra] = rb
        if ra in self.const:
            self.fix(rb, self.const.pop(ra))


class Shapes:
    """Symbolic shapes of the pattern's terms, given the chosen strings and flags."""

    def __init__(self, choice: dict[str, object]) -> None:
        self.d = Dims()
        self.choice = choice

    def lit(self, t: Term) -> object:
        if isinstance(t, Lit):
            return t.value
        if isinstance(t, Var):
            return self.choice.get(t.name)
        return None

    def dim(self, t: Term) -> object:
        if isinstance(t, Var):
            return ("v", t.name)
        k = self.d.fresh()
        if isinstance(t, Lit) and isinstance(t.value, int):
            self.d.fix(k, t.value)
        elif isinstance(t, Call) and t.fn in ("rows", "cols"):
            return self.shape(t.args[0])[0 if t.fn == "rows" else 1]
        elif isinstance(t, Call):
            self.visit(t)
        return k

    def visit(self, t: Term) -> None:
        for a in t.args if isinstance(t, Call) else ():
            if a.sort == "TensorExpr":
                self.shape(a)
            elif a.sort == "i64":
                self.dim(a)

    def shape(self, t: Term) -> tuple[object, object]:
        if isinstance(t, Var):
            return ("r", t.name), ("c", t.name)
        if not isinstance(t, Call):
            raise Uncheckable(f"a tensor literal {t}")
        f, a, d = t.fn, t.args, self.d
        if f == "input_":
            return self.dim(a[1]), self.dim(a[2])
        if f in ("binary", "hw_fpu", "hw_sfpu2", "hw_reuse"):
            x, y = self.shape(a[1]), self.shape(a[2])
            d.same(x[0], y[0])
            d.same(x[1], y[1])
            return x
        if f == "hw_fpu_bcast":  # b one tile along the broadcast axis, a whole tiles along it
            x, y, kind = self.shape(a[1]), self.shape(a[2]), self.lit(a[3])
            if kind not in ("cols", "rows"):
                raise Skip("shapes")
            along = 1 if kind == "cols" else 0
            d.same(x[1 - along], y[1 - along])
            d.fix(y[along], TILE)
            tile = d.fresh()
            d.fix(tile, TILE)
            d.multiple.append((x[along], tile))
            return x
        if f in ("matmul", "hw_matmul"):  # the DSL only multiplies whole tiles
            x, y = self.shape(a[0]), self.shape(a[1])
            flag = self.lit(a[2]) if f == "hw_matmul" else 0
            if flag:
                y = (y[1], y[0])
            d.same(x[1], y[0])
            tile = d.fresh()
            d.fix(tile, TILE)
            d.multiple.extend((k, tile) for k in (*x, *y))
            return x[0], y[1]
        if f in ("transpose", "hw_transpose"):
            x = self.shape(a[0])
            return x[1], x[0]
        if f in ("reduce", "hw_reduce"):
            x, op = self.shape(a[1]), self.lit(a[0])
            one = d.fresh()
            d.fix(one, 1)
            if not isinstance(op, str):
                return d.fresh(), d.fresh()
            return (x[0], one) if op.startswith("row") else (one, x[1])
        if f in ("bcast", "hw_bcast"):
            v, kind, n = self.shape(a[1]), self.lit(a[0]), self.dim(a[2])
            if kind == "cols":
                d.fix(v[1], 1)
                return v[0], n
            if kind == "rows":
                d.fix(v[0], 1)
                return n, v[1]
            raise Skip("shapes")
        if f == "kchunk":
            x, w = self.shape(a[0]), self.dim(a[1])
            d.multiple.append((x[1], w))
            return x[0], w
        if f in ("rchunk", "rowblock"):
            x, h = self.shape(a[0]), self.dim(a[1])
            d.multiple.append((x[0], h))
            return h, x[1]
        if f == "rowmap":
            body, h, rows = self.shape(a[0]), self.dim(a[1]), d.fresh()
            d.same(body[0], h)
            d.multiple.append((rows, h))
            return rows, body[1]
        if f in ("tilesum", "hw_tilesum"):
            x, tile = self.shape(a[0]), d.fresh()
            d.fix(tile, TILE)
            d.multiple.append((x[1], tile))
            return x[0], tile
        if f == "full_":
            return self.dim(a[1]), self.dim(a[2])
        if f in ("where_", "hw_mask"):
            x = self.shape(a[1])
            if f == "where_":
                y = self.shape(a[2])
                d.same(x[0], y[0])
                d.same(x[1], y[1])
            return x
        if f in ("online_sum", "online_live", "part_fold", "combine_parts"):  # the max is per row: (rows, 1)
            body, m, one = self.shape(a[0]), self.shape(a[1]), d.fresh()
            d.fix(one, 1)
            d.same(m[0], body[0])
            d.same(m[1], one)
            self.visit(t)
            return body
        self.visit(t)
        first = next((x for x in a if x.sort == "TensorExpr"), None)
        return self.shape(first) if first is not None else (d.fresh(), d.fresh())

    def fact(self, f: Fact) -> None:
        if isinstance(f, Eq) and f.left.sort == "TensorExpr":
            x, y = self.shape(f.left), self.shape(f.right)
            self.d.same(x[0], y[0])
            self.d.same(x[1], y[1])
        elif isinstance(f, Eq) and f.left.sort == "i64":
            self.d.same(self.dim(f.left), self.dim(f.right))
        else:
            for t in fact_terms(f):
                if t.sort == "TensorExpr":
                    self.shape(t)
                else:
                    self.visit(t)

    def assign(self, rng: np.random.Generator) -> Callable[[object], int]:
        d = self.d
        bigs = {d.find(b) for b, _ in d.multiple}
        values: dict[object, int] = {}

        def value(k: object) -> int:
            r = d.find(k)
            if r not in values:
                if r in d.const:
                    values[r] = d.const[r]
                elif r not in bigs:
                    values[r] = int(rng.choice(DIMS, p=DIM_WEIGHTS))
                else:
                    small = [value(s) for b, s in d.multiple if d.find(b) == r]
                    values[r] = int(np.lcm.reduce(small)) * int(rng.integers(1, 4))
            return values[r]

        for b, s in d.multiple:
            if value(b) % value(s) or value(s) < 1:
                raise Skip("shapes")
        return value
