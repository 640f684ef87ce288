"""A fuzz case: a kernel written as plain data, so one description gives the DSL kernel, an independent numpy
evaluation of it, the DSL's verdict on whether it is valid, and a Python repro.

The numpy here is written from the DSL's documentation (README "The DSL"), not from
`tteqsat.frontend.reference`, so the fuzzer checks the reference as well as the simulated MLIR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tteqsat.arch import Arch, load_arch

TILE = 32
UNARY_FNS = ("exp", "log", "sqrt", "rsqrt", "recip", "abs", "relu", "sigmoid", "tanh", "gelu", "silu", "neg")
NEEDS_POSITIVE = ("log", "rsqrt", "recip")  # and sqrt (non-negative), a divisor, a reflected scalar divide
BINARY_OPS = ("+", "-", "*", "/", "maximum", "minimum")
SCALAR_OPS = ("+", "-", "*", "/")
REDUCE_KINDS = ("max", "sum", "mean")
MASK_OPS = ("tri", "and", "or", "not")


@dataclass(frozen=True)
class MaskSpec:
    """A mask as the DSL builds it (`tq.tri(n, m, k)` combined with `&`, `|`, `~`), with its own evaluation from
    numpy's definition of `np.tri` (true where col <= row + k), not tteqsat's `Mask`."""

    op: str                            # tri | and | or | not
    shape: tuple[int, int]
    k: int = 0
    args: tuple[MaskSpec, ...] = ()

    def matrix(self) -> np.ndarray:
        """Where the mask holds, as a bool matrix of its shape."""
        if self.op == "tri":
            rows = np.arange(self.shape[0])[:, None]
            cols = np.arange(self.shape[1])[None, :]
            return cols - rows <= self.k
        parts = [a.matrix() for a in self.args]
        if self.op == "and":
            return parts[0] & parts[1]
        if self.op == "or":
            return parts[0] | parts[1]
        return ~parts[0]

    def source(self) -> str:
        """The DSL expression that builds it."""
        if self.op == "tri":
            return f"tq.tri({self.shape[0]}, {self.shape[1]}, k={self.k})"
        if self.op == "not":
            return f"~{self.args[0].source()}"
        return f"({self.args[0].source()} {'&' if self.op == 'and' else '|'} {self.args[1].source()})"


def tri(shape: tuple[int, int], k: int) -> MaskSpec:
    return MaskSpec("tri", shape, k)


def mask_and(a: MaskSpec, b: MaskSpec) -> MaskSpec:
    return MaskSpec("and", a.shape, 0, (a, b))


def mask_or(a: MaskSpec, b: MaskSpec) -> MaskSpec:
    return MaskSpec("or", a.shape, 0, (a, b))


def mask_not(a: MaskSpec) -> MaskSpec:
    return MaskSpec("not", a.shape, 0, (a,))


@dataclass(frozen=True, eq=False)
class Expr:
    """One value of a fuzz kernel. `lo`/`hi` bound its elements (interval arithmetic over the inputs' ranges),
    so the generator applies log, recip or exp only where they stay finite."""

    op: str                          # input | unary | binary | scalar | matmul | T | mT | repeat | reduce | softmax
    args: tuple[Expr, ...] = ()      # | where
    shape: tuple[int, ...] = (0, 0)  # leading batch axes (numpy's), then the matrix
    fn: str = ""                     # the input's name, the function, operator or reduction kind
    s: float = 0.0                   # scalar operand
    reflected: bool = False          # scalar on the left: s - x, s / x
    axis: int = -1                   # a reduction's or softmax's; repeat's batch axis
    lo: float = 0.0
    hi: float = 0.0
    mask: MaskSpec | None = None     # where's condition (None in a where: a tensor, the last operand, a flaw)
    branches: str = ""               # where's operands in order: "t" a tensor (args in order), "s" the scalar `s`
    numpy: str = ""                  # a scalar written as this numpy type (float32, float64; "": a Python float)
    repeats: int = 1                 # repeat: each slice along `axis` this many times

    @cached_property
    def nan(self) -> bool:
        """Whether the value may hold NaN: only a softmax along a line that is -inf throughout makes one
        (numpy's exp(-inf - -inf) / sum), and every op after it may carry it."""
        if self.op == "softmax" and self.args[0].empty_lines(self.axis):
            return True
        return any(a.nan for a in self.args)

    def empty_lines(self, axis: int) -> bool:
        """Whether some row (axis -1/1) or column (axis 0/-2) of this value is -inf throughout: a where whose
        -inf branch covers a whole line of its mask."""
        if self.op != "where" or self.mask is None or math.isfinite(self.s) or "s" not in self.branches:
            return False
        holds = self.mask.matrix() if self.branches.index("s") == 1 else ~self.mask.matrix()  # the tensor's
        return bool((~holds.any(axis=1 if along_rows(axis, len(self.shape)) else 0)).any())


@dataclass(frozen=True)
class Case:
    """A whole fuzz kernel and how to run it. `inputs` are in declaration order; `positive` inputs are drawn
    from [0.5, 2], the others from [-1, 1]."""

    inputs: tuple[Expr, ...]
    outputs: tuple[tuple[str, Expr], ...]
    dtype: str = "fp32"
    arch: str = "wormhole_b0"
    form: str = "auto"
    seed: int = 0
    positive: frozenset[str] = field(default_factory=frozenset)
    flaw: str = ""  # the deliberate mistake of an invalid case, for the report ("" when none was planted)
    iterations: int | None = None  # a saturation iteration limit (None: the default Limits)
    overrides: tuple[tuple[str, float | bool], ...] = ()  # arch settings (a slow DRAM, where cores share their
    # reads; 32-bit DST for a bf16 kernel)
    cores: int | None = None  # a cap on the cores (several work items a core), None: the optimizer's choice
    blocks: tuple[int, ...] | None = None  # row-block heights to choose from (several q blocks a head), None: any

    def arch_spec(self) -> str | Arch:
        """The arch to optimize for: its name, or the arch with the case's overrides."""
        return load_arch(self.arch, dict(self.overrides)) if self.overrides else self.arch


# -- building expressions, with shapes and bounds -----------------------------------------------------
def tensor(name: str, shape: tuple[int, int], positive: bool) -> Expr:
    lo, hi = (0.5, 2.0) if positive else (-1.0, 1.0)
    return Expr("input", (), shape, name, lo=lo, hi=hi)


def _interval(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if not math.isnan(v)]
    return (min(finite), max(finite)) if finite else (-math.inf, math.inf)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def unary(fn: str, x: Expr) -> Expr:
    lo, hi = x.lo, x.hi
    bounds = {
        "exp": lambda: (math.exp(min(lo, 700)), math.exp(min(hi, 700))),
        "log": lambda: (math.log(lo), math.log(hi)) if lo > 0 else (-math.inf, math.inf),
        "sqrt": lambda: (math.sqrt(max(lo, 0.0)), math.sqrt(max(hi, 0.0))),
        "rsqrt": lambda: (1 / math.sqrt(hi), 1 / math.sqrt(lo)) if lo > 0 else (-math.inf, math.inf),
        "recip": lambda: (1 / hi, 1 / lo) if lo > 0 else (-math.inf, math.inf),
        "abs": lambda: (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi))),
        "relu": lambda: (max(lo, 0.0), max(hi, 0.0)),
        "sigmoid": lambda: (_sigmoid(lo), _sigmoid(hi)),
        "tanh": lambda: (math.tanh(lo), math.tanh(hi)),
        "gelu": lambda: (-0.2 if lo < 0 else 0.0, max(hi, 0.0)),   # gelu >= -0.17, <= max(x, 0)
        "silu": lambda: (-0.3 if lo < 0 else 0.0, max(hi, 0.0)),   # silu >= -0.28
        "neg": lambda: (-hi, -lo),
    }
    out_lo, out_hi = bounds[fn]()
    return Expr("unary", (x,), x.shape, fn, lo=out_lo, hi=out_hi)


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The DSL's rule: matrices of equal shape, or one side a (rows, 1) / (1, cols) vector of the other's
    rows/cols or a (1, 1); batch axes as numpy broadcasts them (aligned from the right, 1 stretches)."""
    batch = _broadcast_batch(a[:-2], b[:-2])
    ma, mb = a[-2:], b[-2:]
    shape = (max(ma[0], mb[0]), max(ma[1], mb[1]))
    ok = all(s in (shape, (shape[0], 1), (1, shape[1]), (1, 1)) for s in (ma, mb))
    return batch + shape if ok and batch is not None else None


def _broadcast_batch(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def batch_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:-2]


def matrix_of(shape: tuple[int, ...]) -> tuple[int, int]:
    return shape[-2], shape[-1]


def binary(op: str, a: Expr, b: Expr) -> Expr:
    shape = broadcast_shape(a.shape, b.shape) or (max(a.shape[-2], b.shape[-2]), max(a.shape[-1], b.shape[-1]))
    corners = [(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    if op == "+":
        lo, hi = a.lo + b.lo, a.hi + b.hi
    elif op == "-":
        lo, hi = a.lo - b.hi, a.hi - b.lo
    elif op == "*":
        lo, hi = _interval([x * y for x, y in corners])
    elif op == "/":
        lo, hi = _interval([x / y for x, y in corners]) if b.lo > 0 else (-math.inf, math.inf)
    elif op == "maximum":
        lo, hi = max(a.lo, b.lo), max(a.hi, b.hi)
    else:
        lo, hi = min(a.lo, b.lo), min(a.hi, b.hi)
    return Expr("binary", (a, b), shape, op, lo=lo, hi=hi)


def scalar(op: str, x: Expr, s: float, reflected: bool = False, numpy: str = "") -> Expr:
    lo, hi = x.lo, x.hi
    if op == "+":
        out = (lo + s, hi + s)
    elif op == "-":
        out = (s - hi, s - lo) if reflected else (lo - s, hi - s)
    elif op == "*":
        out = _interval([lo * s, hi * s])
    elif reflected:
        out = _interval([s / lo, s / hi]) if lo > 0 else (-math.inf, math.inf)
    else:
        out = _interval([lo / s, hi / s]) if s != 0 else (-math.inf, math.inf)
    return Expr("scalar", (x,), x.shape, op, s=s, reflected=reflected, lo=out[0], hi=out[1], numpy=numpy)


def matmul(a: Expr, b: Expr) -> Expr:
    k = a.shape[-1]
    lo, hi = _interval([x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)])
    batch = _broadcast_batch(batch_of(a.shape), batch_of(b.shape)) or batch_of(a.shape)
    return Expr("matmul", (a, b), batch + (a.shape[-2], b.shape[-1]), lo=k * lo, hi=k * hi)  # k terms in [lo, hi]


def transpose(x: Expr) -> Expr:
    """`.T` of a 2-D value; `.mT` (the last two axes) of a batched one."""
    op = "mT" if len(x.shape) > 2 else "T"
    return Expr(op, (x,), batch_of(x.shape) + (x.shape[-1], x.shape[-2]), lo=x.lo, hi=x.hi)


def repeat(x: Expr, repeats: int, axis: int) -> Expr:
    """`tq.repeat(x, repeats, axis)` along batch axis `axis` (non-negative): grouped K/V heads."""
    shape = x.shape[:axis] + (x.shape[axis] * repeats,) + x.shape[axis + 1:]
    return Expr("repeat", (x,), shape, axis=axis, lo=x.lo, hi=x.hi, repeats=repeats)


def along_rows(axis: int, ndim: int) -> bool:
    """Whether a reduction or softmax along `axis` of an ndim-D value runs along its rows (the last axis)."""
    return axis in (-1, ndim - 1)


def reduce(kind: str, x: Expr, axis: int) -> Expr:
    rows_axis = along_rows(axis, len(x.shape))
    r, c = matrix_of(x.shape)
    shape = batch_of(x.shape) + ((r, 1) if rows_axis else (1, c))
    n = c if rows_axis else r
    lo, hi = (n * x.lo, n * x.hi) if kind == "sum" else (x.lo, x.hi)
    if kind == "max" and x.op == "where" and math.isinf(x.lo) and not x.empty_lines(axis):
        lo = min(a.lo for a in x.args)  # every line keeps a tensor element: its max is at least that
    return Expr("reduce", (x,), shape, kind, axis=axis, lo=lo, hi=hi)


def softmax(x: Expr, axis: int = -1) -> Expr:
    return Expr("softmax", (x,), x.shape, axis=axis, lo=0.0, hi=1.0)


def where(mask: MaskSpec | None, branches: str, tensors: tuple[Expr, ...], fill: float = 0.0) -> Expr:
    """`tq.where(mask, a, b)`: `branches` says which of a, b is a tensor ("t", from `tensors` in order) and
    which the scalar `fill` ("s"). The bounds take in the scalar, -inf included. A None mask is a flaw: the
    condition is then the last of `tensors`, which the DSL must refuse."""
    values = list(tensors[:branches.count("t")])
    bounds = [b for t in values for b in (t.lo, t.hi)] + ([fill] if "s" in branches else [])
    batch: tuple[int, ...] | None = ()
    for t in values:  # a 2-D mask broadcasts over the batch axes of the tensors it selects from
        batch = _broadcast_batch(batch, batch_of(t.shape)) if batch is not None else None
    shape = ((batch or ()) + mask.shape if mask is not None else values[0].shape if values else (1, 1))
    return Expr("where", tuple(tensors), shape, s=fill, lo=min(bounds), hi=max(bounds), mask=mask,
                branches=branches)


def nodes(case: Case) -> list[Expr]:
    """Every value reachable from the outputs, operands first, each once."""
    seen: set[int] = set()
    order: list[Expr] = []

    def visit(e: Expr) -> None:
        if id(e) in seen:
            return
        seen.add(id(e))
        for a in e.args:
            visit(a)
        order.append(e)

    for _, e in case.outputs:
        visit(e)
    return order


# -- what the DSL must reject ------------------------------------------------------------------------
def dsl_error(case: Case) -> str | None:
    """Why the DSL must raise a KernelError for this case (None: it must accept it), from the documented
    rules: tile-aligned inputs or vectors, broadcasting, matmul shapes, axes, names, outputs."""
    for i in case.inputs:
        r, c = matrix_of(i.shape)
        if not i.fn.isidentifier():
            return f"input name {i.fn!r} is not an identifier"
        if not all(d == 1 or (d > 0 and d % TILE == 0) for d in (r, c)):
            return f"input shape {i.shape} is not tile-aligned"
    for e in nodes(case):
        if e.op in ("binary", "matmul") and _broadcast_batch(*(batch_of(a.shape) for a in e.args)) is None:
            return f"batch axes of {e.args[0].shape} and {e.args[1].shape} do not broadcast"
        if e.op == "binary" and broadcast_shape(e.args[0].shape, e.args[1].shape) is None:
            return f"{e.args[0].shape} {e.fn} {e.args[1].shape} do not broadcast"
        if e.op == "scalar" and e.fn == "/" and not e.reflected and e.s == 0:
            return "division by the scalar zero"
        if e.op == "matmul":
            a, b = matrix_of(e.args[0].shape), matrix_of(e.args[1].shape)
            if a[1] != b[0]:
                return f"matmul of {a} and {b}"
            if any(d % TILE for d in (a[1], *b)) or (a[0] % TILE and a[0] != 1):
                return f"matmul operands {a} @ {b} are not tile-aligned (the left one may be a row vector)"
        nd = len(e.args[0].shape) if e.args else 2
        if e.op == "reduce" and e.axis not in (-1, -2, nd - 2, nd - 1):
            return f"reduction axis {e.axis}"
        if e.op == "softmax" and e.axis not in (-1, -2, nd - 2, nd - 1):
            return f"softmax axis {e.axis}"
        if e.op == "where":
            if e.mask is None:
                return "where's condition is a tensor, not a mask"
            if "t" not in e.branches:
                return "where with two scalar branches"
            r, c = e.mask.shape
            if not all(d == 1 or d % TILE == 0 for d in (r, c)):
                return f"where's mask {e.mask.shape} is not tile-aligned"
            for t in e.args:
                if matrix_of(t.shape) not in ((r, c), (r, 1), (1, c), (1, 1)):
                    return f"where's branch {t.shape} does not broadcast to its mask {e.mask.shape}"
    reachable = [e.fn for e in nodes(case) if e.op == "input"]
    used = set(reachable)
    if len(used) != len(reachable):
        return "two inputs share a name"
    out_names = [n for n, _ in case.outputs]
    if not case.outputs:
        return "no outputs"
    if any(not n.isidentifier() for n in out_names):
        return "an output name is not an identifier"
    if len(set(out_names)) != len(out_names):
        return "two outputs share a name"
    if set(out_names) & used:
        return "an output is named like an input"
    if any(e.op == "input" for _, e in case.outputs):
        return "an output is an input"
    return None


# -- the DSL kernel ------------------------------------------------------------------------------------
def to_kernel(case: Case):
    """Trace the case through the DSL (raises the DSL's KernelError for an invalid case)."""
    from tteqsat.frontend import dsl as tq

    made: dict[int, object] = {}
    for i in case.inputs:
        made[id(i)] = tq.tensor(i.fn, i.shape, dtype=case.dtype)

    def build(e: Expr):
        if id(e) in made:
            return made[id(e)]
        x = [build(a) for a in e.args]
        if e.op == "unary":
            out = -x[0] if e.fn == "neg" else getattr(tq, e.fn)(x[0])
        elif e.op == "binary":
            out = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q,
                   "/": lambda p, q: p / q, "maximum": tq.maximum, "minimum": tq.minimum}[e.fn](x[0], x[1])
        elif e.op == "scalar":
            s = getattr(np, e.numpy)(e.s) if e.numpy else e.s
            a, b = (s, x[0]) if e.reflected else (x[0], s)
            out = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[e.fn]()
        elif e.op == "matmul":
            out = x[0] @ x[1]
        elif e.op == "T":
            out = x[0].T
        elif e.op == "mT":
            out = x[0].mT
        elif e.op == "repeat":
            out = tq.repeat(x[0], e.repeats, axis=e.axis)
        elif e.op == "reduce":
            out = getattr(x[0], e.fn)(axis=e.axis)
        elif e.op == "softmax":
            out = tq.softmax(x[0], axis=e.axis)
        elif e.op == "where":
            tensors = iter(x)
            a, b = (next(tensors) if kind == "t" else e.s for kind in e.branches)
            out = tq.where(_dsl_mask(e.mask) if e.mask is not None else x[-1], a, b)
        else:
            raise ValueError(f"unknown fuzz op {e.op}")
        made[id(e)] = out
        return out

    outputs = {name: build(e) for name, e in case.outputs}
    return tq.kernel("fuzz", outputs)


def _dsl_mask(m: MaskSpec):
    from tteqsat.frontend import dsl as tq

    if m.op == "tri":
        return tq.tri(m.shape[0], m.shape[1], k=m.k)
    parts = [_dsl_mask(a) for a in m.args]
    if m.op == "and":
        return parts[0] & parts[1]
    if m.op == "or":
        return parts[0] | parts[1]
    return ~parts[0]


# -- the independent numpy ------------------------------------------------------------------------------
def _round_bf16(x: np.ndarray) -> np.ndarray:
    """Nearest bfloat16 (ties to even), written out here rather than imported from the reference."""
    f = np.asarray(x, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    keep = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = keep.astype(np.uint32).view(np.float32)
    return np.where(np.isfinite(f), out, f)


def round_to(x: np.ndarray, dtype: str | None) -> np.ndarray:
    """Values as `dtype` holds them (None: exact float64)."""
    if dtype is None:
        return np.asarray(x, dtype=np.float64)
    f32 = np.asarray(x, dtype=np.float64).astype(np.float32)
    return (_round_bf16(f32) if dtype == "bf16" else f32).astype(np.float64)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


NUMPY_UNARY = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x), "recip": lambda x: 1.0 / x,
    "abs": np.abs, "relu": lambda x: np.where(x > 0, x, 0.0), "sigmoid": _sigmoid_np, "tanh": np.tanh,
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))), "silu": lambda x: x * _sigmoid_np(x),
    "neg": lambda x: -x,
}
NUMPY_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "maximum": np.maximum,
                "minimum": np.minimum}


def _accumulated(terms, rounding: str | None) -> np.ndarray:
    """The sum of `terms` (a tile's worth of a reduction or a matmul's K each) added in order, each partial sum
    rounded to `rounding`: how a kernel accumulates across tiles in DST (exact float64 without rounding)."""
    total = None
    for term in terms:
        term = round_to(term, rounding)
        total = term if total is None else round_to(total + term, rounding)
    return total


def evaluate(case: Case, inputs: dict[str, np.ndarray], rounding: str | None = None,
             accumulation: str | None = None) -> dict[str, np.ndarray]:
    """The outputs in numpy float64; with `rounding` ("fp32"/"bf16"), every value rounded to that type as
    it is made, which measures how much the kernel amplifies rounding (its conditioning); with `accumulation`
    too, sums and matmuls add a tile of terms at a time, each partial sum rounded to that type (as a kernel
    accumulates in DST)."""
    values: dict[int, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for e in nodes(case):
            if e.op == "input":
                v = np.asarray(inputs[e.fn], dtype=np.float64)
            else:
                x = [values[id(a)] for a in e.args]
                if e.op == "unary":
                    v = NUMPY_UNARY[e.fn](x[0])
                elif e.op == "binary":
                    v = NUMPY_BINARY[e.fn](x[0], x[1])
                elif e.op == "scalar":
                    a, b = (e.s, x[0]) if e.reflected else (x[0], e.s)
                    v = NUMPY_BINARY[e.fn](a, b)
                elif e.op == "matmul" and accumulation is not None:
                    v = _accumulated((x[0][..., k:k + TILE] @ x[1][..., k:k + TILE, :]
                                      for k in range(0, x[0].shape[-1], TILE)), accumulation)
                elif e.op == "matmul":
                    v = x[0] @ x[1]
                elif e.op == "T":
                    v = x[0].T
                elif e.op == "mT":
                    v = np.swapaxes(x[0], -1, -2)
                elif e.op == "repeat":
                    v = np.repeat(x[0], e.repeats, axis=e.axis)
                elif e.op == "reduce" and accumulation is not None and e.fn != "max":
                    ax = -1 if along_rows(e.axis, x[0].ndim) else -2
                    n = x[0].shape[ax]
                    v = _accumulated((np.sum(np.take(x[0], range(k, min(k + TILE, n)), axis=ax), axis=ax,
                                             keepdims=True) for k in range(0, n, TILE)), accumulation)
                    v = v / n if e.fn == "mean" else v
                elif e.op == "reduce":
                    ax = -1 if along_rows(e.axis, x[0].ndim) else -2
                    v = {"max": np.max, "sum": np.sum, "mean": np.mean}[e.fn](x[0], axis=ax, keepdims=True)
                elif e.op == "where":
                    tensors = iter(x)
                    a, b = (next(tensors) if kind == "t" else e.s for kind in e.branches)
                    v = np.where(e.mask.matrix(), a, b)
                else:  # softmax over rows or columns
                    ax = -1 if along_rows(e.axis, x[0].ndim) else -2
                    z = np.exp(x[0] - x[0].max(axis=ax, keepdims=True))
                    v = z / z.sum(axis=ax, keepdims=True)
            values[id(e)] = round_to(v, rounding)
    return {name: values[id(e)] for name, e in case.outputs}


def make_inputs(case: Case, within: tuple[float, float] = (0.0, 1.0)) -> dict[str, np.ndarray]:
    """The case's input values: uniform in each input's range, exactly representable in its dtype. `within` draws
    from that part of each range instead ((0.25, 0.75): its middle half): a subrange, so every bound the generator
    derived from the ranges (a log's argument positive, an exp finite) still holds."""
    rng = np.random.default_rng(case.seed)
    out: dict[str, np.ndarray] = {}
    for i in case.inputs:
        lo, hi = (i.lo, i.hi) if within == (0.0, 1.0) else (i.lo + within[0] * (i.hi - i.lo),
                                                            i.lo + within[1] * (i.hi - i.lo))
        x = rng.uniform(lo, hi, i.shape)
        out[i.fn] = round_to(x, case.dtype).astype(np.float32)
    return out


# -- a repro ----------------------------------------------------------------------------------------------
def _py(e: Expr, names: dict[int, str]) -> str:
    if id(e) in names:
        return names[id(e)]
    x = [_py(a, names) for a in e.args]
    if e.op == "unary":
        return f"-({x[0]})" if e.fn == "neg" else f"tq.{e.fn}({x[0]})"
    if e.op == "binary":
        return f"tq.{e.fn}({x[0]}, {x[1]})" if e.fn in ("maximum", "minimum") else f"({x[0]} {e.fn} {x[1]})"
    if e.op == "scalar":
        s = f"np.{e.numpy}({e.s!r})" if e.numpy else repr(e.s)
        return f"({s} {e.fn} {x[0]})" if e.reflected else f"({x[0]} {e.fn} {s})"
    if e.op == "matmul":
        return f"({x[0]} @ {x[1]})"
    if e.op == "T":
        return f"{x[0]}.T"
    if e.op == "mT":
        return f"{x[0]}.mT"
    if e.op == "repeat":
        return f"tq.repeat({x[0]}, {e.repeats}, axis={e.axis})"
    if e.op == "reduce":
        return f"{x[0]}.{e.fn}(axis={e.axis})"
    if e.op == "where":
        tensors = iter(x)
        a, b = (next(tensors) if kind == "t" else _scalar_source(e.s) for kind in e.branches)
        return f"tq.where({e.mask.source() if e.mask is not None else x[-1]}, {a}, {b})"
    return f"tq.softmax({x[0]}, axis={e.axis})"


def _scalar_source(s: float) -> str:
    return repr(s) if math.isfinite(s) else ("-np.inf" if s < 0 else "np.inf")


def to_source(case: Case) -> str:
    """A standalone script that builds, optimizes and verifies the case: the repro a report prints."""
    lines = ["import numpy as np", "import tteqsat as tq"] + (["from tteqsat.arch import load_arch"] if case.overrides
                                                              else []) + [""]
    names: dict[int, str] = {}
    for n, i in enumerate(case.inputs):
        var = f"in{n}"
        names[id(i)] = var
        lines.append(f"{var} = tq.tensor({i.fn!r}, {i.shape}, dtype={case.dtype!r})")
    uses: dict[int, int] = {}
    for e in nodes(case):
        for a in e.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
    for e in nodes(case):  # shared values get a name of their own
        if e.op != "input" and uses.get(id(e), 0) > 1:
            var = f"t{len(names)}"
            lines.append(f"{var} = {_py(e, names)}")
            names[id(e)] = var
    outs = ", ".join(f"{name!r}: {_py(e, names)}" for name, e in case.outputs)
    lines.append(f"kernel = tq.kernel('fuzz', {{{outs}}})")
    ranges = ", ".join(f"{i.fn!r}: ({i.lo}, {i.hi})" for i in case.inputs)
    rounding = ("lambda x: x" if case.dtype == "fp32" else "lambda x: ((x.view(np.uint32).astype(np.uint64) + "
                "0x7FFF + ((x.view(np.uint32) >> 16) & 1)) >> 16 << 16).astype(np.uint32).view(np.float32)")
    lines += [f"rng = np.random.default_rng({case.seed})",
              f"ranges = {{{ranges}}}",
              f"as_dtype = {rounding}",
              "inputs = {n: as_dtype(rng.uniform(lo, hi, t.shape).astype(np.float32)) for (n, (lo, hi)), t in "
              f"zip(ranges.items(), [{', '.join(names[id(i)] for i in case.inputs)}])}}",
              f"result = tq.optimize(kernel, {_arch_text(case)}, form={case.form!r}"
              + (f", cores={case.cores}" if case.cores is not None else "")
              + (f", blocks={case.blocks}" if case.blocks is not None else "")
              + (f", limits=tq.Limits(iterations={case.iterations}))" if case.iterations is not None else ")"),
              "print(result.chosen, result.verify(inputs=inputs).max_rel_err)"]
    return "\n".join(lines)


def _arch_text(case: Case) -> str:
    """How a repro names the case's arch (with its overrides, through tteqsat.arch.load_arch)."""
    if not case.overrides:
        return repr(case.arch)
    return f"load_arch({case.arch!r}, {dict(case.overrides)!r})"
