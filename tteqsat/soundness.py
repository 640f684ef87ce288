"""Rule soundness by random testing: both sides of a rule evaluated in numpy on inputs the pattern admits.

A rule claims `lhs == rhs` wherever its pattern matches and its conditions hold. The checker reads that
claim from the egglog declaration, infers the shapes the pattern admits, draws inputs that include the hard
cases (large magnitudes, negatives, values near the bf16 exp overflow at ~88, small positives for
log/sqrt/recip), and compares the sides: in float64 for the error (relative to the largest value the left
side computes, so cancellation in a sound rule does not count against it), and in float32 (bf16 has the
same exponent range) for infinities the right side introduces where the left side stays clear of the top of
the range. Shapes follow the DSL's invariant (every dimension 1 or a multiple of the tile; matmul operands
whole tiles). Samples where the left side is not finite are skipped element by element. A pass means no
counterexample was found, not a proof.

Semantics mirror `tteqsat.reference`: math constructors go through `reference.eval_node`, hardware forms
follow `reference.evaluate_program` (operand order of dest reuse, the scaler of reduce, matmul's
transposed B), and the streaming folds follow the docstrings in `tteqsat.egraph`.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from egglog import declarations as D

from .ir import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, TILE, UNARY_OPS, Node
from .reference import BINARY, UNARY, eval_node, round_bf16
from .rules import Rule, RuleSet

TOLERANCE = 1e-7  # worst |lhs - rhs| / (largest value the lhs computes) a sound rule may show in float64
# Every dimension in the e-graph is 1 or a multiple of the tile (the DSL checks it), and rules may rely on it.
DIMS = (1, TILE, 2 * TILE, 3 * TILE, 4 * TILE)
DIM_WEIGHTS = (0.2, 0.35, 0.25, 0.1, 0.1)
HARD_SCALARS = (0.125, -0.125, 1.0, -1.0, 0.5, 2.0, -2.5, 1000.0, -1000.0, 1e-3, 0.0, 88.0)
MAX_COMBOS = 64  # op/flag combinations tried per rule (all of them when there are fewer)


# -- the claim, read from the egglog declaration ------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    name: str
    sort: str


@dataclass(frozen=True)
class Lit:
    value: object
    sort: str


@dataclass(frozen=True)
class Call:
    fn: str          # constructor/relation name, or a primitive: "f64.__gt__", "!="
    args: tuple[Term, ...]
    sort: str
    prim: bool       # an egglog builtin (arithmetic, comparison), not a table of the e-graph


Term = Var | Lit | Call


@dataclass(frozen=True)
class Eq:
    left: Term
    right: Term


@dataclass(frozen=True)
class Holds:
    term: Term


Fact = Eq | Holds


@dataclass(frozen=True)
class Claim:
    """What a rule asserts: wherever `facts` hold (the matched pattern among them), `lhs == rhs`."""

    lhs: Term
    rhs: Term
    facts: tuple[Fact, ...]


class Uncheckable(Exception):
    """The rule uses something the checker has no semantics for."""


def _term(decl: object, sort: str, lets: dict[str, Term]) -> Term:
    if isinstance(decl, D.TypedExprDecl):
        return _term(decl.expr, decl.tp.ident.name, lets)
    if isinstance(decl, D.UnboundVarDecl):
        return Var(decl.name, sort)
    if isinstance(decl, D.LitDecl):
        return Lit(decl.value, sort)
    if isinstance(decl, D.LetRefDecl) and decl.name in lets:
        return lets[decl.name]
    if isinstance(decl, D.CallDecl):
        ref = decl.callable
        if isinstance(ref, D.FunctionRef):
            name, prim = ref.ident.name, ref.ident.module.startswith("egglog")
        elif isinstance(ref, D.MethodRef | D.ClassMethodRef):
            name, prim = f"{ref.ident.name}.{ref.method_name}", ref.ident.module.startswith("egglog")
        else:
            raise Uncheckable(f"calls through {type(ref).__name__}")
        return Call(name, tuple(_term(a, "", lets) for a in decl.args), sort, prim)
    raise Uncheckable(f"expression form {type(decl).__name__}")


def _fact(decl: object) -> Fact:
    if isinstance(decl, D.EqDecl):
        sort = decl.tp.ident.name
        return Eq(_term(decl.left, sort, {}), _term(decl.right, sort, {}))
    if isinstance(decl, D.ExprFactDecl):
        return Holds(_term(decl.typed_expr, "", {}))
    raise Uncheckable(f"fact form {type(decl).__name__}")


def claims(rule: Rule) -> list[Claim]:
    """The equalities a rule asserts. A rule whose head unions nothing asserts none."""
    decl = rule.rewrite.decl
    if isinstance(decl, D.RewriteDecl | D.BiRewriteDecl):
        sort = decl.tp.ident.name
        lhs, rhs = _term(decl.lhs, sort, {}), _term(decl.rhs, sort, {})
        conds = tuple(_fact(c) for c in decl.conditions)
        out = [Claim(lhs, rhs, (Holds(lhs), *conds))]
        if isinstance(decl, D.BiRewriteDecl):
            out.append(Claim(rhs, lhs, (Holds(rhs), *conds)))
        return out
    if isinstance(decl, D.RuleDecl):
        body = tuple(_fact(f) for f in decl.body)
        lets: dict[str, Term] = {}
        out = []
        for action in decl.head:
            if isinstance(action, D.LetDecl):
                lets[action.name] = _term(action.typed_expr, "", lets)
            elif isinstance(action, D.UnionDecl):
                sort = action.tp.ident.name
                out.append(Claim(_term(action.lhs, sort, lets), _term(action.rhs, sort, lets), body))
        return out
    raise Uncheckable(f"declaration form {type(decl).__name__}")


# -- pretty printing -----------------------------------------------------------------------------------
_INFIX_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_INFIX_PRIM = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__mod__": "%",
               "__lt__": "<", "__gt__": ">", "__le__": "<=", "__ge__": ">=", "!=": "!="}


def _is_infix(t: Term) -> bool:
    if not isinstance(t, Call):
        return False
    op = t.args[0].value if t.args and isinstance(t.args[0], Lit) else None
    return (t.fn == "matmul" or (t.fn == "binary" and op in _INFIX_BINARY)
            or (t.fn == "scalar" and op in SCALAR_OPS) or (t.prim and t.fn.rsplit(".", 1)[-1] in _INFIX_PRIM))


def show(t: Term) -> str:
    """A term in the DSL's notation: `exp(a * s)`, `(a @ b) * bcast_cols(v, n)`, `hw_fpu.mul(a, b)`."""
    if isinstance(t, Var):
        return t.name
    if isinstance(t, Lit):
        return repr(t.value) if isinstance(t.value, str) else str(t.value)
    r = [show(a) for a in t.args]                                    # as function arguments
    p = [f"({x})" if _is_infix(a) else x for a, x in zip(t.args, r, strict=True)]  # as infix operands
    op = t.args[0].value if t.args and isinstance(t.args[0], Lit) else None
    if t.prim:
        method = t.fn.rsplit(".", 1)[-1]
        if method in _INFIX_PRIM and len(p) == 2:
            return f"{p[0]} {_INFIX_PRIM[method]} {p[1]}"
        return {"__neg__": f"-{p[0]}", "__abs__": f"abs({r[0]})"}.get(method, f"{method}({', '.join(r)})")
    if t.fn == "binary" and op in _INFIX_BINARY:
        return f"{p[1]} {_INFIX_BINARY[op]} {p[2]}"
    if t.fn == "scalar" and op in SCALAR_OPS:
        return {"add_s": f"{p[1]} + {p[2]}", "mul_s": f"{p[1]} * {p[2]}", "rsub_s": f"{p[2]} - {p[1]}",
                "rdiv_s": f"{p[2]} / {p[1]}"}[op]
    if t.fn == "matmul":
        return f"{p[0]} @ {p[1]}"
    if t.fn == "transpose":
        return f"{p[0]}.T"
    if t.fn == "input_" and op is not None:
        return str(op)
    if t.fn in ("unary", "binary", "reduce") and op is not None:
        return f"{op}({', '.join(r[1:])})"
    if t.fn == "bcast" and op is not None:
        return f"bcast_{op}({', '.join(r[1:])})"
    if op is not None:
        return f"{t.fn}.{op}({', '.join(r[1:])})"
    return f"{t.fn}({', '.join(r)})"


def describe(rule: Rule) -> str:
    """`lhs -> rhs` of a rule, with the pattern a `rule(...)` body binds substituted for its variable."""
    try:
        parts = []
        for c in claims(rule):
            lhs, conds = c.lhs, [f for f in c.facts if f != Holds(c.lhs)]
            if isinstance(lhs, Var):
                for f in conds:
                    if isinstance(f, Eq) and f.left == lhs:
                        lhs, conds = f.right, [g for g in conds if g is not f]
                        break
            text = f"{show(lhs)} -> {show(c.rhs)}"
            shown = [f"{show(f.left)} == {show(f.right)}" if isinstance(f, Eq) else show(f.term)
                     for f in conds]
            parts.append(text + (f"  if {', '.join(shown)}" if shown else ""))
        return "; ".join(parts) or "(asserts no equality)"
    except Uncheckable as e:
        return f"({e})"


# -- where strings, ints and chunk-local values go --------------------------------------------------------
# (constructor, argument index) -> the strings valid there
DOMAINS: dict[tuple[str, int], tuple[str, ...]] = {
    ("unary", 0): UNARY_OPS, ("binary", 0): BINARY_OPS, ("scalar", 0): SCALAR_OPS, ("reduce", 0): REDUCE_OPS,
    ("bcast", 0): ("cols", "rows"), ("hw_fpu", 0): ("add", "sub", "mul"),
    ("hw_reuse", 0): ("add", "sub", "mul"),
    ("hw_reuse", 3): ("srca", "srcb"), ("hw_sfpu2", 0): BINARY_OPS, ("hw_sfpu", 0): UNARY_OPS,
    ("hw_scalar", 0): SCALAR_OPS, ("hw_reduce", 0): REDUCE_OPS, ("hw_bcast", 0): ("cols", "rows"),
    ("input_", 0): ("in0", "in1"), ("output", 0): ("out",),
}
OP_POSITIONS = set(DOMAINS) - {("input_", 0), ("output", 0)}  # names there are free; ops must exist
FLAGS = {("hw_matmul", 2)}                                   # i64 0/1 switches
TRIPS = {("fold_max", 1), ("fold_sum", 1), ("running_max", 1), ("online_sum", 3)}  # loop trip counts
FOLD_BODIES = {("fold_max", 0), ("fold_sum", 0), ("running_max", 0), ("online_sum", 0), ("online_sum", 1)}
# where a value outside the op's domain makes the left side meaningless: (constructor, op) -> argument
DOMAIN_ARG = {("unary", o): 1 for o in ("log", "sqrt", "rsqrt", "recip")} | {
    ("hw_sfpu", o): 1 for o in ("log", "sqrt", "rsqrt", "recip")} | {
    ("binary", "div"): 2, ("hw_sfpu2", "div"): 2, ("scalar", "rdiv_s"): 1, ("hw_scalar", "rdiv_s"): 1}


class _Skip(Exception):
    """This sample does not match the pattern or meet the conditions: draw another."""


class _Bad(Exception):
    """The expression is ill-formed (shape mismatch, op not valid at its position)."""


def _walk(t: Term, parent: tuple[str, int] | None = None, in_fold: bool = False
          ) -> Iterator[tuple[Term, tuple[str, int] | None, bool]]:
    yield t, parent, in_fold
    if isinstance(t, Call):
        for i, a in enumerate(t.args):
            yield from _walk(a, (t.fn, i), in_fold or (t.fn, i) in FOLD_BODIES)


def _fact_terms(f: Fact) -> tuple[Term, ...]:
    return (f.left, f.right) if isinstance(f, Eq) else (f.term,)


def _vars(t: Term) -> set[str]:
    return {x.name for x, _, _ in _walk(t) if isinstance(x, Var)}


# -- shapes: union-find over symbolic dimensions ---------------------------------------------------------
class _Dims:
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
            raise _Skip("shapes")

    def same(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        self.parent[ra] = rb
        if ra in self.const:
            self.fix(rb, self.const.pop(ra))


class _Shapes:
    """Symbolic shapes of the pattern's terms, given the chosen strings and flags."""

    def __init__(self, choice: dict[str, object]) -> None:
        self.d = _Dims()
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
            raise _Skip("shapes")
        if f == "kchunk":
            x, w = self.shape(a[0]), self.dim(a[1])
            d.multiple.append((x[1], w))
            return x[0], w
        if f == "rchunk":
            x, h = self.shape(a[0]), self.dim(a[1])
            d.multiple.append((x[0], h))
            return h, x[1]
        if f in ("tilesum", "hw_tilesum"):
            x, tile = self.shape(a[0]), d.fresh()
            d.fix(tile, TILE)
            d.multiple.append((x[1], tile))
            return x[0], tile
        if f == "online_sum":  # the running max is per row: mbody is (rows, 1)
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
            for t in _fact_terms(f):
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
                raise _Skip("shapes")
        return value


# -- values ----------------------------------------------------------------------------------------------
MODES = ("normal", "large", "exp-edge", "negative", "small-positive", "positive")
MODE_WEIGHTS = {False: (0.35, 0.2, 0.15, 0.1, 0.1, 0.1), True: (0.15, 0.1, 0.1, 0.0, 0.3, 0.35)}


def _draw(rng: np.random.Generator, shape: tuple[int, int], mode: str) -> np.ndarray:
    if mode == "normal":
        x = rng.standard_normal(shape)
    elif mode == "large":
        x = rng.standard_normal(shape) * 1000.0
    elif mode == "exp-edge":  # where exp overflows in bf16/fp32 (~88.7)
        x = rng.uniform(85.0, 92.0, shape) * np.where(rng.random(shape) < 0.9, 1.0, -1.0)
    elif mode == "negative":
        x = -rng.uniform(0.1, 10.0, shape)
    elif mode == "small-positive":
        x = rng.uniform(1e-3, 0.1, shape)
    else:
        x = rng.uniform(0.25, 4.0, shape)
    return round_bf16(x.astype(np.float32)).astype(np.float64)  # exactly representable in every dtype


@dataclass
class _Varying:
    """A chunk-local value inside a fold: one array per chunk index, drawn when first read."""

    shape: tuple[int, int]
    mode: str
    seed: int
    chunks: list[np.ndarray] = field(default_factory=list)

    def at(self, c: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(self.chunks)])
        while len(self.chunks) <= c:
            self.chunks.append(_draw(rng, self.shape, self.mode))
        return self.chunks[c]


def _fmt(v: object) -> str:
    if isinstance(v, _Varying):
        return "chunks [" + "; ".join(_fmt(c) for c in v.chunks) + "]"
    if isinstance(v, np.ndarray):
        body = np.array2string(v, precision=4, separator=", ", threshold=16, edgeitems=2,
                               max_line_width=10**6)
        return f"{' '.join(body.split())} ({v.shape[0]}x{v.shape[1]})"
    return repr(v)


# -- evaluation ------------------------------------------------------------------------------------------
def _int_div(a: int, b: int) -> int:
    if b == 0:
        raise _Bad("integer division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _prim(name: str, args: list) -> object:
    method = name.rsplit(".", 1)[-1]
    ints = all(isinstance(x, int | np.integer) for x in args)
    if method.startswith("__r") and method[3:-2] in ("add", "sub", "mul", "truediv", "mod"):
        method, args = f"__{method[3:]}", args[::-1]
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if method == "__truediv__":
        return _int_div(a, b) if ints else (a / b if b else float("nan"))
    if method == "__mod__":
        return a - b * _int_div(a, b) if ints else float(np.fmod(a, b))
    table: dict[str, Callable[[], object]] = {
        "__add__": lambda: a + b, "__sub__": lambda: a - b, "__mul__": lambda: a * b, "__neg__": lambda: -a,
        "__abs__": lambda: abs(a), "__pow__": lambda: a ** b, "min": lambda: min(a, b),
        "max": lambda: max(a, b),
        "__lt__": lambda: a < b, "__gt__": lambda: a > b, "__le__": lambda: a <= b, "__ge__": lambda: a >= b,
        "!=": lambda: a != b, "to_i64": lambda: int(a), "from_i64": lambda: float(a), "__init__": lambda: a,
    }
    if method not in table:
        raise Uncheckable(f"primitive '{name}'")
    return table[method]()


class _Evaluator:
    """Numpy values of terms in one sample, in one dtype, with the chunk index of the enclosing fold."""

    def __init__(self, env: dict[str, object], dtype: type, rng_seed: int) -> None:
        self.env = env
        self.dtype = dtype
        self.seed = rng_seed
        self.scale = 0.0       # largest finite |value| seen while `track` is on
        self.track = True

    def _seen(self, x: np.ndarray) -> np.ndarray:
        if self.track:
            fin = np.abs(x[np.isfinite(x)])
            if fin.size:
                self.scale = max(self.scale, float(fin.max()))
        return x

    def value(self, t: Term, ctx: int | None = None) -> object:
        if isinstance(t, Lit):
            return t.value
        if isinstance(t, Var):
            v = self.env[t.name]
            if isinstance(v, _Varying):
                if ctx is None:
                    raise _Bad(f"the chunk-local value {t.name} is used outside its fold")
                v = v.at(ctx)
            if isinstance(v, np.ndarray):
                return self._seen(v.astype(self.dtype))
            return v
        args = t.args
        if t.prim:
            return _prim(t.fn, [self.value(a, ctx) for a in args])
        if t.fn in ("rows", "cols"):  # a chunk-local value has one shape in every chunk
            v = self.env.get(args[0].name) if isinstance(args[0], Var) else None
            shape = v.shape if isinstance(v, _Varying) else self.tensor(args[0], ctx).shape
            return int(shape[0 if t.fn == "rows" else 1])
        if t.sort == "Unit":  # a relation such as whole(a) or chunk_width(w): a fact about the e-graph
            return True
        try:
            out = self._call(t, ctx)
        except ValueError as e:  # numpy refused the shapes: the expression is ill-formed
            raise _Bad(f"{t.fn}: {e}") from None
        return self._seen(np.asarray(out, dtype=self.dtype))

    def tensor(self, t: Term, ctx: int | None) -> np.ndarray:
        v = self.value(t, ctx)
        if not isinstance(v, np.ndarray):
            raise _Bad(f"{show(t)} is not a tensor")
        return v

    def _op(self, t: Call, ctx: int | None) -> str:
        op = self.value(t.args[0], ctx)
        valid = DOMAINS.get((t.fn, 0))
        if valid is not None and op not in valid:
            raise _Bad(f"{t.fn} has no op {op!r} (valid: {', '.join(valid)})")
        return str(op)

    def _node(self, op: str, shape: tuple[int, int], args: list[np.ndarray], s: object = None) -> np.ndarray:
        attrs = (("s", s),) if s is not None else ()
        return eval_node(Node(op, (), shape, "fp32", attrs), args)

    def _call(self, t: Call, ctx: int | None) -> np.ndarray:
        f, a = t.fn, t.args
        T = lambda i: self.tensor(a[i], ctx)  # noqa: E731
        if f in ("unary", "hw_sfpu"):
            op, x = self._op(t, ctx), T(1)
            return UNARY[op](x)
        if f in ("binary", "hw_fpu", "hw_sfpu2", "hw_reuse"):
            op, x, y = self._op(t, ctx), T(1), T(2)
            _same(x, y, f)
            if f == "hw_reuse":
                reuse = self.value(a[3], ctx)
                if reuse not in ("srca", "srcb"):
                    raise _Bad(f"hw_reuse has no operand order {reuse!r} (srca, srcb)")
                x, y = (x, y) if reuse == "srca" else (y, x)
            return BINARY[op](x, y)
        if f in ("scalar", "hw_scalar"):
            return self._node(self._op(t, ctx), (0, 0), [T(1)], float(self.value(a[2], ctx)))
        if f in ("exp_scaled", "hw_exp_scaled"):
            return self._node("exp_scaled", (0, 0), [T(0)], float(self.value(a[1], ctx)))
        if f in ("matmul", "hw_matmul"):
            x, y = T(0), T(1)
            if f == "hw_matmul":
                flag = self.value(a[2], ctx)
                if flag not in (0, 1):
                    raise _Bad(f"hw_matmul transpose_b must be 0 or 1, got {flag!r}")
                y = y.T if flag else y
            if x.shape[1] != y.shape[0]:
                raise _Bad(f"matmul of {x.shape} and {y.shape}")
            return x @ y
        if f in ("transpose", "hw_transpose"):
            return T(0).T
        if f in ("reduce", "hw_reduce"):
            op, x = self._op(t, ctx), T(1)
            if f == "hw_reduce":  # the scaler CB multiplies every element before the reduction
                x = x * float(self.value(a[2], ctx))
            return self._node(op, (0, 0), [x])
        if f in ("bcast", "hw_bcast"):
            kind, v, n = self._op(t, ctx), T(1), int(self.value(a[2], ctx))  # type: ignore[call-overload]
            if kind == "cols" and v.shape[1] == 1 and n >= 1:
                return self._node("bcast_cols", (v.shape[0], n), [v])
            if kind == "rows" and v.shape[0] == 1 and n >= 1:
                return self._node("bcast_rows", (n, v.shape[1]), [v])
            raise _Bad(f"bcast {kind!r} of a {v.shape} value to {n}")
        if f == "softmax":
            return self._node("softmax", (0, 0), [T(0)])
        if f == "output":
            return T(1)
        if f == "input_":
            key = f"input_:{self.value(a[0], ctx)}:{self.value(a[1], ctx)}x{self.value(a[2], ctx)}"
            if key not in self.env:
                shape = (int(self.value(a[1], ctx)), int(self.value(a[2], ctx)))  # type: ignore[call-overload]
                rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
                self.env[key] = _draw(rng, shape, "normal")
            return self.env[key]  # type: ignore[return-value]
        if f in ("kchunk", "rchunk"):
            x, w = T(0), int(self.value(a[1], ctx))  # type: ignore[call-overload]
            axis = 1 if f == "kchunk" else 0
            c = ctx if ctx is not None else self._top_chunk(x.shape[axis], w)
            if w < 1 or (c + 1) * w > x.shape[axis]:
                raise _Bad(f"chunk {c} of width {w} is outside a {x.shape} value")
            return x[:, c * w:(c + 1) * w] if axis == 1 else x[c * w:(c + 1) * w, :]
        if f in ("fold_sum", "fold_max"):
            trips = self._trips(a[1], ctx)
            parts = [self.tensor(a[0], c) for c in range(trips)]
            for p in parts[1:]:
                _same(parts[0], p, f)
            return np.sum(parts, axis=0) if f == "fold_sum" else np.max(parts, axis=0)
        if f == "running_max":
            if ctx is None:
                raise _Bad("running_max outside a fold")
            return np.max([self.tensor(a[0], c) for c in range(ctx + 1)], axis=0)
        if f == "online_sum":
            return self._online_sum(t, ctx)
        if f in ("tilesum", "hw_tilesum"):  # the sum of x's column tiles: (rows, TILE)
            x = T(0)
            if x.shape[1] % TILE:
                raise _Bad(f"tilesum of a {x.shape} value (columns not whole tiles)")
            return x.reshape(x.shape[0], x.shape[1] // TILE, TILE).sum(axis=1)
        raise Uncheckable(f"constructor '{f}' has no semantics in tteqsat.soundness")

    def _online_sum(self, t: Call, ctx: int | None) -> np.ndarray:
        """Sum of the body over chunks; the partial sum is rescaled by exp(s (m_old - m_new)) as m grows."""
        s, trips = float(self.value(t.args[2], ctx)), self._trips(t.args[3], ctx)  # type: ignore[arg-type]
        acc: np.ndarray | None = None
        m_old: np.ndarray | None = None
        for c in range(trips):
            m = self.tensor(t.args[1], c)
            if m.shape[1] != 1:
                raise _Bad(f"online_sum's running max must be one column, got {m.shape}")
            m_new = m if m_old is None else np.maximum(m_old, m)
            body = self.tensor(t.args[0], c)
            acc = body if acc is None or m_old is None else acc * np.exp(s * (m_old - m_new)) + body
            m_old = m_new
        if acc is None:
            raise _Bad("online_sum over zero chunks")
        return acc

    def _trips(self, t: Term, ctx: int | None) -> int:
        n = self.value(t, ctx)
        if not isinstance(n, int | np.integer) or n < 1:
            raise _Bad(f"a fold over {n!r} chunks")
        return int(n)

    def _top_chunk(self, extent: int, width: int) -> int:
        """Outside a fold, kchunk/rchunk mean "the current chunk": one index per sample, for both sides."""
        if "__chunk__" not in self.env:
            if width < 1 or extent < width:
                raise _Bad(f"no chunk of width {width} in {extent}")
            self.env["__chunk__"] = int(np.random.default_rng([self.seed, 7]).integers(extent // width))
        return int(self.env["__chunk__"])  # type: ignore[call-overload]


def _same(x: np.ndarray, y: np.ndarray, fn: str) -> None:
    if x.shape != y.shape:
        raise _Bad(f"{fn} of shapes {x.shape} and {y.shape}")


# -- one claim, many samples --------------------------------------------------------------------------------
@dataclass
class _Outcome:
    error: float
    failure: str | None = None  # why this sample is a counterexample
    size: int = 0


class _Plan:
    """How to sample one claim: which variables are drawn, which the facts define, and their domains."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        in_pattern: set[str] = set()
        self.domains: dict[str, set[str]] = {}
        self.roles: dict[str, str] = {}
        varying: set[str] = set()
        for f in claim.facts:
            for root in _fact_terms(f):
                in_pattern |= _pattern_vars(root)
                for t, parent, in_fold in _walk(root):
                    if isinstance(t, Lit) and parent in OP_POSITIONS and t.value not in DOMAINS[parent]:
                        raise Uncheckable(f"never matches: {parent[0]} has no op {t.value!r}")
                    if not isinstance(t, Var) or parent is None:
                        continue
                    if in_fold and t.sort == "TensorExpr":
                        varying.add(t.name)
                    if t.sort == "String":
                        dom = set(DOMAINS.get(parent, ()))
                        self.domains[t.name] = self.domains.get(t.name, dom) & dom
                    if t.sort == "i64":
                        role = "flag" if parent in FLAGS else "trips" if parent in TRIPS else "dim"
                        self.roles.setdefault(t.name, role)
        self.defined: dict[str, Fact] = {}
        for f in claim.facts:
            if isinstance(f, Eq):
                for v, other in ((f.left, f.right), (f.right, f.left)):
                    if not isinstance(v, Var) or v.name in self.defined or v.name in _vars(other):
                        continue
                    if v.sort == "TensorExpr" or v.name not in in_pattern:
                        self.defined[v.name] = f
                        break
        tensor_defs = [f for f in claim.facts if isinstance(f, Eq) and f.left.sort == "TensorExpr"
                       and f not in self.defined.values()]
        if tensor_defs:
            raise Uncheckable("the body equates two patterns, which random inputs cannot satisfy")
        everything = set().union(*(_vars(t) for f in claim.facts for t in _fact_terms(f)))
        self.sampled = sorted(everything - set(self.defined))
        missing = (_vars(claim.rhs) | _vars(claim.lhs)) - everything
        if missing:
            raise Uncheckable(f"variables {sorted(missing)} are not bound by the pattern")
        self.sorts = {x.name: x.sort for f in claim.facts for t in _fact_terms(f) for x, _, _ in _walk(t)
                      if isinstance(x, Var)}
        self.varying = varying - set(self.defined)
        for name in self.sampled:
            sort = self.sorts[name]
            if sort == "String" and not self.domains.get(name):
                raise Uncheckable(f"no op is valid for {name} at every position it appears")
            if sort not in ("TensorExpr", "String", "i64", "f64"):
                raise Uncheckable(f"variables of sort {sort}")
        self.literal_scalars = sorted({float(t.value) for f in claim.facts for r in _fact_terms(f)
                                       for t, _, _ in _walk(r) if isinstance(t, Lit) and t.sort == "f64"})

    def combos(self, rng: np.random.Generator) -> list[dict[str, object]]:
        names = [n for n in self.sampled if self.sorts[n] == "String" or self.roles.get(n) == "flag"]
        doms = [sorted(self.domains[n]) if self.sorts[n] == "String" else [0, 1] for n in names]
        every = [dict(zip(names, c, strict=True)) for c in itertools.product(*doms)]
        if len(every) > MAX_COMBOS:
            every = [every[i] for i in sorted(rng.choice(len(every), MAX_COMBOS, replace=False))]
        return every

    def draw(self, choice: dict[str, object], rng: np.random.Generator) -> dict[str, object]:
        shapes = _Shapes(choice)
        for f in self.claim.facts:
            shapes.fact(f)
        dim = shapes.assign(rng)
        env: dict[str, object] = dict(choice)
        positive = self._domain_vars(choice)
        for name in self.sampled:
            sort, role = self.sorts[name], self.roles.get(name)
            if name in env:
                continue
            if sort == "TensorExpr":
                shape = (dim(("r", name)), dim(("c", name)))
                p = MODE_WEIGHTS[name in positive]
                mode = str(rng.choice(MODES, p=np.array(p) / sum(p)))
                env[name] = (_Varying(shape, mode, int(rng.integers(2**31))) if name in self.varying
                             else _draw(rng, shape, mode))
            elif sort == "i64":
                env[name] = int(rng.integers(1, 4)) if role == "trips" else dim(("v", name))
            elif sort == "f64":
                pool = HARD_SCALARS + tuple(self.literal_scalars) + tuple(-x for x in self.literal_scalars)
                env[name] = (float(rng.choice(pool)) if rng.random() < 0.5
                             else float(rng.standard_normal() * 10 ** rng.uniform(-2, 2)))
        return env

    def _domain_vars(self, choice: dict[str, object]) -> set[str]:
        """Variables under log/sqrt/rsqrt/recip or a divisor: drawn positive more often."""
        out: set[str] = set()
        for f in self.claim.facts:
            for root in _fact_terms(f):
                for t, _, _ in _walk(root):
                    if isinstance(t, Call) and t.args and isinstance(t.args[0], Lit | Var):
                        op = t.args[0].value if isinstance(t.args[0], Lit) else choice.get(t.args[0].name)
                        arg = DOMAIN_ARG.get((t.fn, op))  # type: ignore[arg-type]
                        if arg is not None and arg < len(t.args):
                            out |= _vars(t.args[arg])
        return out

    def facts(self, ev: _Evaluator) -> None:
        """Evaluate the facts in dependency order: bind what they define, check the rest."""
        pending = list(self.claim.facts)
        while pending:
            for f in pending:
                binds = next((n for n, g in self.defined.items() if g is f and n not in ev.env), None)
                if binds is not None:
                    other = f.right if isinstance(f.left, Var) and f.left.name == binds else f.left  # type: ignore[union-attr]
                    if _vars(other) <= set(ev.env):
                        ev.env[binds] = ev.value(other)
                        pending.remove(f)
                        break
                    continue
                terms = _fact_terms(f)
                if all(_vars(t) <= set(ev.env) for t in terms):
                    values = [ev.value(t) for t in terms]
                    if isinstance(f, Holds):
                        ok = isinstance(values[0], np.ndarray) or bool(values[0])
                    else:
                        ok = _equal(values[0], values[1])
                    if not ok:
                        raise _Skip("conditions")
                    pending.remove(f)
                    break
            else:
                raise Uncheckable("facts whose variables no other fact binds")

    def compare(self, env: dict[str, object], seed: int, tolerance: float) -> _Outcome:
        base = {k: v for k, v in env.items()}
        ev = _Evaluator(dict(base), np.float64, seed)
        try:
            self.facts(ev)
            lhs = ev.tensor(self.claim.lhs, None)
        except _Bad as e:
            raise _Skip(str(e)) from None
        base.update({k: v for k, v in ev.env.items() if k.startswith("__") or k.startswith("input_:")})
        mask = np.isfinite(lhs)
        if not mask.any():
            raise _Skip("left side not finite")
        size = sum(v.size for v in base.values() if isinstance(v, np.ndarray))
        ev.track = False
        try:
            rhs = ev.tensor(self.claim.rhs, None)
        except _Bad as e:
            return _Outcome(float("inf"), f"the right side is ill-formed: {e}", size)
        if rhs.shape != lhs.shape:
            return _Outcome(float("inf"), f"the right side has shape {rhs.shape}, the left {lhs.shape}", size)
        if not np.isfinite(rhs[mask]).all():
            i = _first(mask & ~np.isfinite(rhs))
            return _Outcome(float("inf"), f"lhs{list(i)} = {lhs[i]:.6g} but rhs{list(i)} = {rhs[i]}", size)
        diff = np.where(mask, np.abs(lhs - rhs), 0.0)
        err = float(diff.max()) / max(ev.scale, 1e-300)
        if err > tolerance:
            i = _first(diff == diff.max())
            return _Outcome(err, f"lhs{list(i)} = {lhs[i]:.6g} but rhs{list(i)} = {rhs[i]:.6g} "
                                 f"(relative error {err:.3g})", size)
        return self._overflow(base, seed, mask, err, size)

    def _overflow(self, base: dict[str, object], seed: int, mask: np.ndarray, err: float,
                  size: int) -> _Outcome:
        """In float32 (bf16's exponent range), the right side must be finite wherever the left side is."""
        ev = _Evaluator(dict(base), np.float32, seed)
        try:
            self.facts(ev)
            lhs = ev.tensor(self.claim.lhs, None)
            rhs = ev.tensor(self.claim.rhs, None)
        except (_Bad, _Skip):
            return _Outcome(err, None, size)
        # where the left side is comfortably finite (not within 2x of the top of the range, where the order
        # of two roundings decides), the right side must be finite too
        bad = mask & (np.abs(lhs) <= np.finfo(np.float32).max / 2) & ~np.isfinite(rhs)
        if bad.any():
            i = _first(bad)
            return _Outcome(float("inf"), f"in float32/bf16 lhs{list(i)} = {lhs[i]:.6g} is finite but "
                                          f"rhs{list(i)} = {rhs[i]} overflows", size)
        return _Outcome(err, None, size)


def _pattern_vars(t: Term) -> set[str]:
    """Variables the e-graph binds by matching: arguments of constructors and relations, not of primitives."""
    if not isinstance(t, Call) or t.prim:
        return set()
    out: set[str] = set()
    for a in t.args:
        out |= {a.name} if isinstance(a, Var) else _pattern_vars(a)
    return out


def _equal(x: object, y: object) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape and bool(
            np.allclose(x, y, rtol=1e-9, atol=0.0, equal_nan=True))
    return x == y


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


# -- the public API ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleCheck:
    """The verdict on one rule. `sound` is False for a counterexample and for a rule the checker cannot test
    (then `note` says why and `counterexample` is None)."""

    name: str
    ruleset: str
    worst_error: float
    samples: int
    sound: bool
    counterexample: str | None
    note: str | None = None


def check_rule(rule: Rule, ruleset: str = "", samples: int = 20, seed: int = 0,
               tolerance: float = TOLERANCE) -> RuleCheck:
    """Test one rule on `samples` inputs per op combination; keep the most readable counterexample."""
    rng = np.random.default_rng([seed, zlib.crc32(rule.name.encode())])
    worst, valid = 0.0, 0
    found: tuple[tuple[bool, int], str] | None = None
    skipped: dict[str, int] = {}
    try:
        rule_claims = claims(rule)
        if not rule_claims:
            return RuleCheck(rule.name, ruleset, 0.0, 0, True, None, "asserts no equality")
        with np.errstate(all="ignore"):
            for claim in rule_claims:
                plan = _Plan(claim)
                for choice in plan.combos(rng):
                    got = 0
                    for _ in range(samples * 12):
                        if got == samples:
                            break
                        try:
                            env = plan.draw(choice, rng)
                            out = plan.compare(env, int(rng.integers(2**31)), tolerance)
                        except _Skip as e:
                            skipped[str(e)] = skipped.get(str(e), 0) + 1
                            continue
                        got += 1
                        worst = max(worst, out.error)
                        rank = (not np.isfinite(out.error), out.size)  # finite and small reads best
                        if out.failure and (found is None or rank < found[0]):
                            shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(env.items()))
                            found = (rank, f"{shown}: {out.failure}")
                    valid += got
    except Uncheckable as e:
        return RuleCheck(rule.name, ruleset, float("nan"), valid, False, None, f"cannot check: {e}")
    if found is not None:
        return RuleCheck(rule.name, ruleset, worst, valid, False, found[1])
    if valid == 0:
        why = max(skipped, key=lambda k: skipped[k]) if skipped else "?"
        return RuleCheck(rule.name, ruleset, float("nan"), 0, False, None,
                         f"cannot check: no sample matched the pattern and its conditions (mostly: {why})")
    return RuleCheck(rule.name, ruleset, worst, valid, True, None)


def check_ruleset(rs: RuleSet, samples: int = 20, seed: int = 0,
                  tolerance: float = TOLERANCE) -> list[RuleCheck]:
    """Check every rule of `rs` (see module docstring); deterministic for a given seed."""
    return [check_rule(r, rs.name, samples, seed, tolerance) for r in rs.rules]
