"""Which exps may take the fast approximate exp: those whose argument is bounded above.

tt-metal's approximate exp (exp_tile<true>: tt-llk ckernel_sfpu_exp.h, fast approx with ClampToNegative)
rounds a x + b to a 16-bit integer that saturates at 65535, whose bits shifted into the exponent are a NaN:
every argument above about 88.7 gives NaN, not inf (tteqsat.sim.numerics.exp_schraudolph). A softmax's
exp(s (x - max x)) never comes near that; an exp of an unbounded value (a matmul's output, an input) may, and
where numpy computes through the overflow (exp -> inf, rsqrt -> 0) the chip would give NaN. The accurate exp
(exp_21f in a 16-bit DST) saturates to inf, so `mark_unbounded_exps` gives it to every exp whose argument no
interval of `value_bounds` keeps at or below `APPROX_EXP_LIMIT`.
"""

from __future__ import annotations

import math

from tteqsat.extraction.program import HwOp, Program

APPROX_EXP_LIMIT = 88.0  # the approximate exp's last argument below its NaN overflow (about 88.7), with margin
INF = math.inf
Interval = tuple[float, float]
_ANY: Interval = (-INF, INF)


def _exp(v: float) -> float:
    return INF if v > 709.0 else math.exp(v)


def _scaled(iv: Interval, s: float) -> Interval:
    if s == 0:
        return (0.0, 0.0)
    lo, hi = iv[0] * s, iv[1] * s
    return (lo, hi) if s > 0 else (hi, lo)


def _product(a: Interval, b: Interval) -> Interval:
    corners = [x * y for x in a for y in b]
    if any(math.isnan(c) for c in corners):  # 0 x inf: nothing known
        return _ANY
    return (min(corners), max(corners))


def _is_max(op: HwOp) -> bool:
    return op.kind in ("sfpu2", "fpu") and op.op == "max"


def _at_least(b: HwOp, a: HwOp) -> bool:
    """Is ``b >= a`` elementwise, whatever the inputs? ``b`` is ``a``, a max with such a term, or (a broadcast
    of) a row or column max of such a value; ``a`` may be a -inf-masked copy of such a value."""
    if b is a:
        return True
    if a.kind == "mask" and a.op == "bias" and _at_least(b, a.operands[0]):  # the mask only lowers values
        return True
    if _is_max(b):  # the combine's max over the parts' log-sum-exps
        return any(_at_least(o, a) for o in b.operands)
    if b.kind == "bcast" and b.op in ("cols", "rows"):
        return _is_line_max(b.operands[0], a, "row" if b.op == "cols" else "col")
    return b.shape == a.shape and any(_is_line_max(b, a, axis) for axis in ("row", "col"))


def _is_line_max(m: HwOp, x: HwOp, axis: str) -> bool:
    """Is ``m`` at least every element of ``x`` in its row (``axis`` "row") or column ("col")?"""
    if m.kind == "reduce" and m.op == f"{axis}max" and float(m.attrs.get("s", 1.0)) == 1.0:  # type: ignore[arg-type]
        return _at_least(m.operands[0], x)
    if _is_max(m):  # an online softmax's max(m_old, max of this chunk)
        return any(_is_line_max(o, x, axis) for o in m.operands)
    return False


def _binary(op: HwOp, a: HwOp, b: HwOp, ia: Interval, ib: Interval) -> Interval:
    """``a op b`` (operands in the order the op applies them)."""
    if op.op == "add":
        return (ia[0] + ib[0], ia[1] + ib[1])
    if op.op == "sub":
        lo, hi = ia[0] - ib[1], ia[1] - ib[0]
        if _at_least(b, a):
            hi = min(hi, 0.0)
        return (lo if not math.isnan(lo) else -INF, hi if not math.isnan(hi) else INF)
    if op.op == "mul":
        return _product(ia, ib)
    if op.op == "max":
        return (max(ia[0], ib[0]), max(ia[1], ib[1]))
    if op.op == "min":
        return (min(ia[0], ib[0]), min(ia[1], ib[1]))
    return _ANY


def _unary(name: str, iv: Interval) -> Interval:
    lo, hi = iv
    if name == "exp":
        return (_exp(lo), _exp(hi))
    if name == "sqrt":
        return (0.0, math.sqrt(max(hi, 0.0)))
    if name == "rsqrt":
        return (0.0, INF)
    if name == "abs":
        return (0.0, max(abs(lo), abs(hi)))
    if name == "relu":
        return (max(lo, 0.0), max(hi, 0.0))
    if name == "sigmoid":
        return (0.0, 1.0)
    if name == "tanh":
        return (-1.0, 1.0)
    if name == "neg":
        return (-hi, -lo)
    if name in ("gelu", "silu"):  # both at most max(x, 0)
        return (-INF, max(hi, 0.0))
    return _ANY


def value_bounds(program: Program) -> dict[int, Interval]:
    """An interval holding every element of each value of ``program`` (by ``id``), for any inputs: the
    program's leaves are unbounded; a difference from its own row or column max is at most 0."""
    bounds: dict[int, Interval] = {}
    for op in program.ops():
        args = [bounds[id(o)] for o in op.operands]
        k, s = op.kind, op.attrs.get("s")
        iv = _ANY
        if k in ("fpu", "sfpu2"):
            iv = _binary(op, op.operands[0], op.operands[1], args[0], args[1])
        elif k == "reuse":
            a, b = (0, 1) if op.attrs.get("reuse") == "srca" else (1, 0)
            iv = _binary(op, op.operands[a], op.operands[b], args[a], args[b])
        elif k == "sfpu":
            iv = _unary(op.op, args[0])
        elif k == "exp_scaled":
            iv = _unary("exp", _scaled(args[0], float(s)))  # type: ignore[arg-type]
        elif k == "scalar" and op.op in ("mul_s", "add_s", "rsub_s"):
            v = float(s)  # type: ignore[arg-type]
            lo, hi = args[0]
            iv = _scaled(args[0], v) if op.op == "mul_s" else (lo + v, hi + v) if op.op == "add_s" else (v - hi, v - lo)
        elif k == "reduce" and op.op.endswith("max"):
            iv = _scaled(args[0], float(s)) if float(s) >= 0 else _ANY  # type: ignore[arg-type]
        elif k in ("reduce", "tilesum") and args[0][0] >= 0 and float(s if s is not None else 1.0) >= 0:  # type: ignore[arg-type]
            iv = (0.0, INF)  # a sum of non-negative values
        elif k in ("bcast", "copy", "transpose"):
            iv = args[0]
        elif k == "mask":
            lo, hi = args[0]
            iv = (-INF, hi) if op.op == "bias" else (min(lo, 0.0), max(hi, 0.0))
        bounds[id(op)] = iv
    return bounds


def exp_argument_bound(op: HwOp, bounds: dict[int, Interval]) -> float:
    """The largest argument exp ``op`` (an ``sfpu`` exp or an ``exp_scaled``) can see."""
    iv = bounds.get(id(op.operands[0]), _ANY)
    if op.kind == "exp_scaled":
        iv = _scaled(iv, float(op.attrs["s"]))  # type: ignore[arg-type]
    return iv[1]


def mark_unbounded_exps(program: Program) -> list[HwOp]:
    """Give the accurate exp (``attrs["accurate"] = 1``) to each exp of ``program`` whose argument may exceed
    `APPROX_EXP_LIMIT`; returns the exps it marked. Idempotent: the lowering and the cost model read the mark."""
    bounds = value_bounds(program)
    marked = []
    for op in program.ops():
        is_exp = op.kind == "exp_scaled" or (op.kind == "sfpu" and op.op == "exp")
        if is_exp and not op.attrs.get("accurate") and exp_argument_bound(op, bounds) > APPROX_EXP_LIMIT:
            op.attrs["accurate"] = 1
            marked.append(op)
    return marked
