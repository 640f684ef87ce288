"""Numpy-like tracing front end: user code builds `Node`s through `Tensor` operators."""

from __future__ import annotations

import builtins
import functools
import importlib.util
import itertools
import math
import numbers
import os
import sys
import sysconfig
from collections.abc import Mapping

import numpy as np

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import DTYPES, TILE, Batch, Kernel, Node, Shape, topo_order
from tteqsat.frontend.masks import Mask

_declared = itertools.count()


@functools.cache
def _package_dirs() -> tuple[str, ...]:
    """Where tteqsat's own code lives: the package, and rules/ and lowering/ (mapped in from the repo root
    in an editable install)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = [root + os.sep]
    for sub in ("tteqsat.rules", "tteqsat.lowering"):
        spec = importlib.util.find_spec(sub)
        if spec and spec.origin:
            dirs.append(os.path.dirname(os.path.abspath(spec.origin)) + os.sep)
    return tuple(dirs)


@functools.cache
def _runner_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where the code that runs the user's code lives: the standard library (runpy) and the scripts directory
    (the `tteqsat` console script), less site-packages inside them. A frame there is not the user's."""
    def dirs(keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({os.path.abspath(p) + os.sep for p in map(sysconfig.get_path, keys) if p}))

    return dirs(("stdlib", "platstdlib", "scripts")), dirs(("purelib", "platlib"))


def _is_runner(path: str) -> bool:
    runners, sites = _runner_dirs()
    return path.startswith(runners) and not path.startswith(sites)


def user_location() -> str:
    """The innermost stack frame outside tteqsat and the code that runs it: where the user wrote the op, or
    "" when no user code is on the stack (the command line calling the optimizer)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        path = os.path.abspath(name)
        if not name.startswith("<frozen ") and not path.startswith(_package_dirs()) and not _is_runner(path):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _aligned(shape: Shape) -> bool:
    r, c = shape
    if r <= 0 or c <= 0:
        return False
    return (r == 1 or r % TILE == 0) and (c == 1 or c % TILE == 0)


class Tensor:
    """A traced value. Operators build IR nodes; shapes are checked as the user writes them."""

    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, node: Node) -> None:
        self.node = node

    shape = property(lambda self: self.node.full_shape, doc="numpy's shape: batch axes, then the matrix")
    dtype = property(lambda self: self.node.dtype)
    ndim = property(lambda self: len(self.node.full_shape))

    def __repr__(self) -> str:
        return f"Tensor({self.node!r})"

    # -- elementwise --------------------------------------------------------------------------
    def _binary(self, op: str, other: object, reflected: bool = False) -> Tensor:
        if isinstance(other, np.ndarray) and other.ndim == 0 and other.dtype.kind in "iuf":  # np.array(2.0)
            other = other.item()
        if isinstance(other, numbers.Real) and not isinstance(other, bool):  # Python and numpy scalars
            return _scalar_op(op, self, float(other), reflected)
        if isinstance(other, np.ndarray):
            raise KernelError(f"cannot combine a tensor with a numpy array of shape {other.shape}: an array the "
                              "kernel reads is an input, declared with tq.tensor(name, shape)", op, user_location())
        if not isinstance(other, Tensor):
            raise KernelError(f"cannot combine a tensor with {type(other).__name__}", op, user_location())
        a, b = (other, self) if reflected else (self, other)
        return _make(op, (a.node, b.node))

    def __add__(self, o: object) -> Tensor:
        return self._binary("add", o)

    def __radd__(self, o: object) -> Tensor:
        return self._binary("add", o, True)

    def __sub__(self, o: object) -> Tensor:
        return self._binary("sub", o)

    def __rsub__(self, o: object) -> Tensor:
        return self._binary("sub", o, True)

    def __mul__(self, o: object) -> Tensor:
        return self._binary("mul", o)

    def __rmul__(self, o: object) -> Tensor:
        return self._binary("mul", o, True)

    def __truediv__(self, o: object) -> Tensor:
        return self._binary("div", o)

    def __rtruediv__(self, o: object) -> Tensor:
        return self._binary("div", o, True)

    def __neg__(self) -> Tensor:
        return _make("neg", (self.node,))

    def __pow__(self, p: object) -> Tensor:
        """`x ** p` for a scalar p, as numpy computes it: products for small integers, sqrt, rsqrt and recip
        where p is 1/2, -1/2 or -1, else exp(p log x) (nan for negative x, as numpy gives)."""
        if not isinstance(p, numbers.Real) or isinstance(p, bool):
            raise KernelError(f"`**` takes a scalar exponent, got {type(p).__name__}", "pow", user_location())
        p = float(p)
        if p == 0.0:
            return self * 0.0 + 1.0
        if p.is_integer() and -64 <= p <= 64:  # (`abs` here is tq.abs)
            n, base, out = int(p if p > 0 else -p), self, None
            while n:  # square and multiply
                if n & 1:
                    out = base if out is None else out * base
                n >>= 1
                if n:
                    base = base * base
            assert out is not None
            return out if p > 0 else recip(out)
        if p in (0.5, -0.5):
            return sqrt(self) if p > 0 else rsqrt(self)
        return exp(log(self) * p)

    def __rpow__(self, s: object) -> Tensor:
        """`s ** x` for a positive scalar s: exp(x log s)."""
        if not isinstance(s, numbers.Real) or isinstance(s, bool) or not float(s) > 0:
            raise KernelError(f"`s ** x` takes a positive scalar base, got {s!r}", "pow", user_location())
        return exp(self * float(np.log(float(s))))

    # -- numpy and Python calls the DSL does not trace -------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: object) -> Tensor:
        """numpy calls this for `np.float32(2) * x` (traced as Python's `2 * x` is) and for `np.exp(x)`, which
        would otherwise fail inside numpy: a KernelError naming the tq function to use."""
        name = ufunc.__name__
        ops = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div", "divide": "div"}
        if name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"):
            self._compare(None)
        if method == "__call__" and not kwargs and len(inputs) == 2 and name in ops | {"power": ""}:
            a, b = inputs
            if name == "power":
                return a ** b if isinstance(a, Tensor) else b.__rpow__(a)  # type: ignore[union-attr]
            return a._binary(ops[name], b) if isinstance(a, Tensor) else b._binary(ops[name], a, True)  # type: ignore
        if method == "__call__" and not kwargs and name == "negative":
            return -self
        raise KernelError(f"numpy's np.{name} does not trace a tteqsat tensor; {_instead(name)}", name,
                          user_location())

    def __array_function__(self, func: object, types: object, args: object, kwargs: object) -> Tensor:
        """`np.sum(x)`, `np.where(...)`, `np.tri` applied to a tensor: a KernelError naming the tq spelling."""
        name = getattr(func, "__name__", str(func))
        raise KernelError(f"numpy's np.{name} does not trace a tteqsat tensor; {_instead(name)}", name,
                          user_location())

    def _compare(self, other: object) -> Tensor:
        raise KernelError("a tensor comparison (x > 0, x == y) is not an op of the DSL: masks come from tq.tri "
                          "combined with & | ~ and applied by tq.where; for max(x, 0) use tq.relu(x), for two "
                          "tensors tq.maximum / tq.minimum", "compare", user_location())

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __matmul__(self, o: Tensor) -> Tensor:
        if not isinstance(o, Tensor):
            raise KernelError(f"cannot matmul a tensor with {type(o).__name__}", "matmul", user_location())
        return _make("matmul", (self.node, o.node))

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        if self.node.batch:
            raise KernelError(f"`.T` of a {self.ndim}-D tensor reverses every axis; use `.mT` to transpose the "
                              "last two", "transpose", user_location())
        return _make("transpose", (self.node,))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - numpy's name
        """The transpose of the last two axes (numpy's `.mT`)."""
        return _make("transpose", (self.node,))

    # -- reductions -----------------------------------------------------------------------------
    def _matrix_axis(self, axis: object, op: str) -> str:
        """'rows' (the last axis) or 'cols' (the one before it) for a numpy axis number."""
        ndim = self.ndim
        if isinstance(axis, int) and not isinstance(axis, bool) and -ndim <= axis < ndim:
            a = axis % ndim
            if a == ndim - 1:
                return "rows"
            if a == ndim - 2:
                return "cols"
            raise KernelError(f"axis {axis} is a batch axis of a {ndim}-D tensor; {op} runs over the last two "
                              f"axes only (axis=-1 or -2)", op, user_location())
        if axis is None:  # numpy's default reduces every element to one number, which no op of the DSL does
            raise KernelError(f"x.{op}() needs an axis: numpy's x.{op}() reduces every element to one number, "
                              f"which the DSL has no op for; write x.{op}(axis=-1) for each row's (a column "
                              "vector) or axis=-2 for each column's", op, user_location())
        raise KernelError(f"unsupported axis {axis!r} for a {ndim}-D tensor (use -1 for along rows or -2 for "
                          "along columns)", op, user_location())

    def _reduce(self, kind: str, axis: object) -> Tensor:
        along = self._matrix_axis(axis, kind)
        return _make(f"row{kind}" if along == "rows" else f"col{kind}", (self.node,))

    def max(self, axis: int | None = None) -> Tensor:
        return self._reduce("max", axis)

    def sum(self, axis: int | None = None) -> Tensor:
        return self._reduce("sum", axis)

    def mean(self, axis: int | None = None) -> Tensor:
        along = self._matrix_axis(axis, "mean")
        total = self._reduce("sum", axis)
        n = self.node.shape[1] if along == "rows" else self.node.shape[0]
        return total * (1.0 / n)


FP32_MAX = float(np.finfo(np.float32).max)


def _fp32(s: float, op: str, what: str = "") -> float:
    """`s` as the kernel holds it (an fp32 parameter): a finite value beyond fp32's range is a mistake, not inf."""
    if math.isfinite(s) and builtins.abs(s) > FP32_MAX:
        raise KernelError(f"the scalar {what or repr(s)} is beyond float32's range (largest {FP32_MAX:.4g}); the "
                          "kernel holds scalars as float32: scale the inputs instead, or write inf if you mean it",
                          op, user_location())
    return s


_SPELLED = {"absolute": "tq.abs(x)", "fabs": "tq.abs(x)", "reciprocal": "tq.recip(x)", "matmul": "a @ b",
            "transpose": "x.mT (or x.T for a 2-D tensor)", "amax": "x.max(axis=-1)", "max": "x.max(axis=-1)",
            "sum": "x.sum(axis=-1)", "mean": "x.mean(axis=-1)", "square": "x ** 2", "divide": "x / y",
            "exp2": "2.0 ** x", "fmax": "tq.maximum(a, b)", "fmin": "tq.minimum(a, b)"}
_TRACED = ("exp", "log", "sqrt", "tanh", "maximum", "minimum", "where", "tri", "repeat", "take")


def _instead(name: str) -> str:
    """What to write for numpy's `name` in a kernel."""
    if name in _SPELLED:
        return f"write {_SPELLED[name]}"
    if name in _TRACED:
        return f"use tq.{name}"
    return "the DSL's ops are listed in README.md (The DSL)"


def _scalar_op(op: str, x: Tensor, s: float, reflected: bool) -> Tensor:
    _fp32(s, op)
    if op == "add":
        return _make("add_s", (x.node,), (("s", s),))
    if op == "mul":
        return _make("mul_s", (x.node,), (("s", s),))
    if op == "sub":
        return _make("rsub_s", (x.node,), (("s", s),)) if reflected else _make("add_s", (x.node,), (("s", -s),))
    if op == "div":
        if reflected:
            return _make("rdiv_s", (x.node,), (("s", s),))
        if s == 0.0:
            raise KernelError("division by the scalar zero", "div", user_location())
        return _make("mul_s", (x.node,), (("s", _fp32(1.0 / s, op, f"1 / {s!r} (dividing by {s!r})")),))
    raise KernelError("this op does not take a scalar operand", op, user_location())


def _bcast_to(v: Node, shape: Shape, op: str, loc: str) -> Node:
    """Make broadcasting of the matrix axes explicit so every elementwise node sees equal matrices (batch
    axes broadcast implicitly: every op is a parallel map over them)."""
    if v.shape == shape:
        return v
    if v.shape == (shape[0], 1):
        return Node("bcast_cols", (v,), shape, v.dtype, (("n", shape[1]),), loc, v.batch)
    if v.shape == (1, shape[1]):
        return Node("bcast_rows", (v,), shape, v.dtype, (("n", shape[0]),), loc, v.batch)
    if v.shape == (1, 1):  # a (1, 1) tensor: along the row, then down the columns
        row = Node("bcast_cols", (v,), (1, shape[1]), v.dtype, (("n", shape[1]),), loc, v.batch)
        return Node("bcast_rows", (row,), shape, v.dtype, (("n", shape[0]),), loc, v.batch)
    raise KernelError(f"shape mismatch: {v.full_shape} cannot broadcast to {v.batch + shape}", op, loc)


def _broadcast_batch(nodes: tuple[Node, ...], op: str, loc: str) -> Batch:
    """numpy's broadcasting of the batch axes (aligned from the right; 1 stretches)."""
    n = max(len(x.batch) for x in nodes)
    out: list[int] = []
    for i in range(n):
        dims = {x.batch[i - n + len(x.batch)] for x in nodes if i - n + len(x.batch) >= 0} - {1}
        if len(dims) > 1:
            shapes = " and ".join(str(x.full_shape) for x in nodes)
            raise KernelError(f"batch axes do not broadcast: {shapes}", op, loc)
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def _make(op: str, inputs: tuple[Node, ...], attrs: tuple[tuple[str, object], ...] = ()) -> Tensor:
    loc = user_location()
    dtypes = {i.dtype for i in inputs}
    if len(dtypes) > 1:
        raise KernelError(f"dtype mismatch {sorted(dtypes)}", op, loc)
    dtype = inputs[0].dtype
    batch = _broadcast_batch(inputs, op, loc)
    if op in ("add", "sub", "mul", "div", "max", "min"):
        a, b = inputs
        shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
        inputs = (_bcast_to(a, shape, op, loc), _bcast_to(b, shape, op, loc))
    elif op == "matmul":
        a, b = inputs
        if a.shape[1] != b.shape[0]:
            raise KernelError(f"shape mismatch: {a.full_shape} @ {b.full_shape}", op, loc)
        if any(d % TILE for d in (a.shape[1],) + b.shape) or (a.shape[0] % TILE and a.shape[0] != 1):
            raise KernelError(f"matmul operands must be tile-aligned (the left one may be a row vector), got "
                              f"{a.full_shape} @ {b.full_shape}", op, loc)
        shape = (a.shape[0], b.shape[1])
    elif op == "transpose":
        shape = (inputs[0].shape[1], inputs[0].shape[0])
    elif op in ("rowmax", "rowsum"):
        shape = (inputs[0].shape[0], 1)
    elif op in ("colmax", "colsum"):
        shape = (1, inputs[0].shape[1])
    else:
        shape = inputs[0].shape
    return Tensor(Node(op, inputs, shape, dtype, attrs, loc, batch))


# -- public functions ------------------------------------------------------------------------------
def tensor(name: str, shape: tuple[int, ...], dtype: str = "bf16") -> Tensor:
    """Declare a kernel input: leading batch axes (any sizes), then a matrix of tile-aligned sides (or a
    (1, n) / (m, 1) vector), e.g. (B, H, S, d)."""
    loc = user_location()
    if not isinstance(name, str) or not name.isidentifier():
        raise KernelError(f"tensor name {name!r} is not an identifier", "tensor", loc)
    if dtype not in DTYPES:
        raise KernelError(f"unknown dtype {dtype!r} (expected one of {', '.join(DTYPES)})", "tensor", loc)
    dims = tuple(shape)
    if len(dims) < 2 or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
        raise KernelError(f"shape {dims} of '{name}' must be integers, at least two (batch axes, then rows and "
                          "columns)", "tensor", loc)
    batch, matrix = tuple(int(d) for d in dims[:-2]), (int(dims[-2]), int(dims[-1]))
    if any(d < 1 for d in batch):
        raise KernelError(f"batch axes of '{name}' must be at least 1, got {dims}", "tensor", loc)
    if min(matrix) < 1:
        raise KernelError(f"shape {dims} of '{name}': rows and columns must be at least 1", "tensor", loc)
    if not _aligned(matrix):
        padded = batch + tuple(d if d == 1 or d % TILE == 0 else max(TILE, -(-d // TILE) * TILE) for d in matrix)
        raise KernelError(
            f"shape {dims} of '{name}' is not tile-aligned (the last two dims must be multiples of {TILE}, or 1 "
            f"for a vector or a scalar); pad it with zeros to {padded} (attention: mask the padded keys with a "
            "(1, n) bias of -inf, and ignore the padded rows of the output)", "tensor", loc)
    return Tensor(Node("input", (), matrix, dtype, (("name", name), ("seq", next(_declared))), loc, batch))


def repeat(x: Tensor, repeats: int, axis: int) -> Tensor:
    """numpy's `np.repeat` along a batch axis: each slice `repeats` times in a row (grouped heads:
    `tq.repeat(k, q_heads // kv_heads, axis=1)` gives q head h the K/V head h // group)."""
    loc = user_location()
    if not isinstance(x, Tensor):
        raise KernelError(f"expected a tensor, got {type(x).__name__}", "repeat", loc)
    if not isinstance(repeats, numbers.Integral) or isinstance(repeats, bool) or repeats < 1:
        raise KernelError(f"repeats must be a positive integer, got {repeats!r}", "repeat", loc)
    a = _batch_axis(x, axis, "repeat", loc)
    batch = x.node.batch[:a] + (x.node.batch[a] * int(repeats),) + x.node.batch[a + 1:]
    node = x.node
    return Tensor(Node("repeat", (node,), node.shape, node.dtype, (("axis", a), ("g", int(repeats))), loc, batch))


def _batch_axis(x: Tensor, axis: object, op: str, loc: str) -> int:
    """`axis` of `x` as a non-negative batch axis, or a KernelError naming what `op` works along."""
    nb = len(x.node.batch)
    if not isinstance(axis, numbers.Integral) or not -x.ndim <= axis < x.ndim or axis % x.ndim >= nb:
        raise KernelError(f"axis {axis!r} of a {x.ndim}-D tensor is not a batch axis; {op} works along the "
                          f"leading {nb} axes", op, loc)
    return int(axis) % x.ndim


def take(x: Tensor, index: int, axis: int) -> Tensor:
    """numpy's `np.take(x, index, axis)` with one index along a batch axis: that slice, the axis dropped (a
    kernel reading one part of a tensor, e.g. the partial results of a split over keys)."""
    loc = user_location()
    if not isinstance(x, Tensor):
        raise KernelError(f"expected a tensor, got {type(x).__name__}", "take", loc)
    a = _batch_axis(x, axis, "take", loc)
    if not isinstance(index, numbers.Integral) or isinstance(index, bool) or not 0 <= index < x.node.batch[a]:
        raise KernelError(f"index {index!r} is outside axis {a} of size {x.node.batch[a]}", "take", loc)
    node = x.node
    batch = node.batch[:a] + node.batch[a + 1:]
    return Tensor(Node("take", (node,), node.shape, node.dtype, (("axis", a), ("index", int(index))), loc, batch))


def _unary(op: str):
    def fn(x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise KernelError(f"expected a tensor, got {type(x).__name__}", op, user_location())
        return _make(op, (x.node,))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op}."
    return fn


exp, log, sqrt, rsqrt, recip = (_unary(o) for o in ("exp", "log", "sqrt", "rsqrt", "recip"))
abs, relu, sigmoid, tanh, gelu, silu = (_unary(o) for o in ("abs", "relu", "sigmoid", "tanh", "gelu", "silu"))


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise maximum of two tensors."""
    return a._binary("max", b) if isinstance(b, Tensor) else _reject_scalar("maximum")


def minimum(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise minimum of two tensors."""
    return a._binary("min", b) if isinstance(b, Tensor) else _reject_scalar("minimum")


def _reject_scalar(op: str) -> Tensor:
    raise KernelError("takes two tensors, not a scalar", op, user_location())


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Softmax along the last axis (kept as one node, so rules, not the front end, choose its expansion) or
    along the one before it (written out: exp(x - its column max) over the column sums)."""
    if not isinstance(x, Tensor):
        raise KernelError(f"expected a tensor, got {type(x).__name__}", "softmax", user_location())
    if x._matrix_axis(axis, "softmax") == "rows":
        return _make("softmax", (x.node,))
    e = exp(x - x.max(axis=-2))
    return e / e.sum(axis=-2)


def logsumexp(x: Tensor, axis: int = -1) -> Tensor:
    """log(sum(exp(x))) along an axis, computed as max + log(sum(exp(x - max))) (no overflow); the statistic
    attention's backward pass keeps."""
    if not isinstance(x, Tensor):
        raise KernelError(f"expected a tensor, got {type(x).__name__}", "logsumexp", user_location())
    along = x._matrix_axis(axis, "logsumexp")
    m = x.max(axis=-1 if along == "rows" else -2)
    return m + log(exp(x - m).sum(axis=-1 if along == "rows" else -2))


def tri(n: int, m: int | None = None, k: int = 0) -> Mask:
    """numpy's `np.tri(n, m, k)`: true at and below the k-th diagonal. A mask is an index function the
    kernel evaluates itself (never a tensor read from DRAM); combine masks with `&`, `|` and `~` and apply one
    with `tq.where`. A 2-D mask broadcasts over the batch axes of what it selects from."""
    loc = user_location()
    m = n if m is None else m
    for name, v in (("n", n), ("m", m), ("k", k)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise KernelError(f"tri: {name} must be an integer, got {v!r}", "tri", loc)
    if n < 1 or m < 1:
        raise KernelError(f"tri: the mask needs at least one row and column, got ({n}, {m})", "tri", loc)
    return Mask("tri", (int(n), int(m)), int(k))


def where(mask: Mask, a: object, b: object) -> Tensor:
    """numpy's `np.where(mask, a, b)` for a mask built from `tq.tri`: `a` where the mask holds, else `b`; a
    or b may be a scalar such as `-np.inf`."""
    loc = user_location()
    if not isinstance(mask, Mask):
        raise KernelError(f"where: the condition must be a mask built from tq.tri with &, | and ~, got "
                          f"{type(mask).__name__}", "where", loc)
    tensors = [v for v in (a, b) if isinstance(v, Tensor)]
    for v in (a, b):
        if not isinstance(v, Tensor) and not (isinstance(v, numbers.Real) and not isinstance(v, bool)):
            raise KernelError(f"where: a branch must be a tensor or a scalar, got {type(v).__name__}", "where", loc)
    if not tensors:
        raise KernelError("where: at least one branch must be a tensor (the scalars take its dtype)", "where", loc)
    dtype = tensors[0].dtype
    shape = mask.shape
    if not _aligned(shape):  # a (1, 1) branch broadcasts to any shape: the mask's must be the kernel's
        raise KernelError(f"where: the mask's shape {shape} is not tile-aligned (multiples of {TILE}, or 1)", "where",
                          loc)

    def branch(v: object) -> Node:
        if isinstance(v, Tensor):
            node = v.node
            if node.shape != shape:
                node = _bcast_to(node, shape, "where", loc)
            return node
        return Node("full", (), shape, dtype, (("value", _fp32(float(v), "where")),), loc)  # type: ignore[arg-type]

    nodes = (branch(a), branch(b))
    if len({n.dtype for n in nodes}) > 1:
        raise KernelError(f"dtype mismatch {sorted({n.dtype for n in nodes})}", "where", loc)
    batch = _broadcast_batch(nodes, "where", loc)
    return Tensor(Node("where", nodes, shape, dtype, (("mask", mask.text),), loc, batch))


def kernel(name: str, outputs: Tensor | Mapping[str, Tensor]) -> Kernel:
    """Close a traced expression into a kernel; inputs are ordered as they were declared."""
    loc = user_location()
    if isinstance(outputs, Tensor):
        outs = (("out", outputs.node),)
    elif isinstance(outputs, Mapping):
        outs = tuple((str(k), v.node) for k, v in outputs.items() if isinstance(v, Tensor))
        if len(outs) != len(outputs):
            raise KernelError("every output must be a tensor", "kernel", loc)
    else:
        raise KernelError(f"outputs must be a tensor or a dict of tensors, got {type(outputs).__name__}",
                          "kernel", loc)
    if not outs:
        raise KernelError(f"kernel '{name}' has no output", "kernel", loc)
    if not name.isidentifier():
        raise KernelError(f"kernel name {name!r} is not an identifier", "kernel", loc)
    for oname, _ in outs:  # output names become kernel argument names in the emitted MLIR and C++
        if not oname.isidentifier():
            raise KernelError(f"output name {oname!r} is not an identifier (use letters, digits and _)", "kernel",
                              loc)
    for oname, node in outs:
        if node.op == "input":
            raise KernelError(f"output '{oname}' is an input; nothing to compute", "kernel", loc)
    batches = {node.batch for _, node in outs}
    if len(batches) > 1:
        shown = ", ".join(f"'{o}' {n.full_shape}" for o, n in outs)
        raise KernelError(f"outputs must share their batch axes (one kernel element per batch index): {shown}",
                          "kernel", loc)
    nodes = topo_order([n for _, n in outs])
    inputs = sorted((n for n in nodes if n.op == "input"), key=lambda n: n.attr("seq"))
    names = [n.attr("name") for n in inputs]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        raise KernelError(f"two different inputs are named {sorted(dup)}", "kernel", loc)
    clash = {o for o, _ in outs} & set(names)
    if clash:
        raise KernelError(f"output name {sorted(clash)} clashes with an input", "kernel", loc)
    dtypes = {n.dtype for n in nodes}
    if len(dtypes) > 1:
        raise KernelError(f"mixed dtypes {sorted(dtypes)} in one kernel", "kernel", loc)
    return Kernel(name, outs, tuple(inputs))
