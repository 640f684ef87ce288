"""Numpy-like tracing front end: user code builds `Node`s through `Tensor` operators."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import itertools
import os
from collections.abc import Mapping

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import DTYPES, TILE, Kernel, Node, Shape, topo_order

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


def user_location() -> str:
    """The first stack frame outside tteqsat: where the user wrote the op."""
    for frame in inspect.stack()[1:]:
        path = os.path.abspath(frame.filename)
        if not path.startswith(_package_dirs()):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


def _aligned(shape: Shape) -> bool:
    r, c = shape
    if r <= 0 or c <= 0:
        return False
    if r == 1 and c == 1:
        return False
    return (r == 1 or r % TILE == 0) and (c == 1 or c % TILE == 0)


class Tensor:
    """A traced value. Operators build IR nodes; shapes are checked as the user writes them."""

    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, node: Node) -> None:
        self.node = node

    shape = property(lambda self: self.node.shape)
    dtype = property(lambda self: self.node.dtype)

    def __repr__(self) -> str:
        return f"Tensor({self.node!r})"

    # -- elementwise --------------------------------------------------------------------------
    def _binary(self, op: str, other: object, reflected: bool = False) -> Tensor:
        if isinstance(other, int | float) and not isinstance(other, bool):
            return _scalar_op(op, self, float(other), reflected)
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

    def __matmul__(self, o: Tensor) -> Tensor:
        if not isinstance(o, Tensor):
            raise KernelError(f"cannot matmul a tensor with {type(o).__name__}", "matmul", user_location())
        return _make("matmul", (self.node, o.node))

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        return _make("transpose", (self.node,))

    # -- reductions -----------------------------------------------------------------------------
    def _reduce(self, kind: str, axis: object) -> Tensor:
        if axis in (-1, 1):
            return _make(f"row{kind}", (self.node,))
        if axis in (0, -2):
            return _make(f"col{kind}", (self.node,))
        raise KernelError(f"unsupported axis {axis!r} (use -1/1 for rows or 0 for columns)", kind,
                          user_location())

    def max(self, axis: int = -1) -> Tensor:
        return self._reduce("max", axis)

    def sum(self, axis: int = -1) -> Tensor:
        return self._reduce("sum", axis)

    def mean(self, axis: int = -1) -> Tensor:
        total = self._reduce("sum", axis)
        n = self.shape[1] if axis in (-1, 1) else self.shape[0]
        return total * (1.0 / n)


def _scalar_op(op: str, x: Tensor, s: float, reflected: bool) -> Tensor:
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
        return _make("mul_s", (x.node,), (("s", 1.0 / s),))
    raise KernelError("this op does not take a scalar operand", op, user_location())


def _bcast_to(v: Node, shape: Shape, op: str, loc: str) -> Node:
    """Make broadcasting explicit so every elementwise node sees equal shapes."""
    if v.shape == shape:
        return v
    if v.shape == (shape[0], 1):
        return Node("bcast_cols", (v,), shape, v.dtype, (("n", shape[1]),), loc)
    if v.shape == (1, shape[1]):
        return Node("bcast_rows", (v,), shape, v.dtype, (("n", shape[0]),), loc)
    raise KernelError(f"shape mismatch: {v.shape} cannot broadcast to {shape}", op, loc)


def _make(op: str, inputs: tuple[Node, ...], attrs: tuple[tuple[str, object], ...] = ()) -> Tensor:
    loc = user_location()
    dtypes = {i.dtype for i in inputs}
    if len(dtypes) > 1:
        raise KernelError(f"dtype mismatch {sorted(dtypes)}", op, loc)
    dtype = inputs[0].dtype
    if op in ("add", "sub", "mul", "div", "max", "min"):
        a, b = inputs
        shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
        inputs = (_bcast_to(a, shape, op, loc), _bcast_to(b, shape, op, loc))
    elif op == "matmul":
        a, b = inputs
        if a.shape[1] != b.shape[0]:
            raise KernelError(f"shape mismatch: {a.shape} @ {b.shape}", op, loc)
        if any(d % TILE for d in a.shape + b.shape):
            raise KernelError(f"matmul operands must be tile-aligned, got {a.shape} @ {b.shape}", op, loc)
        shape = (a.shape[0], b.shape[1])
    elif op == "transpose":
        shape = (inputs[0].shape[1], inputs[0].shape[0])
    elif op in ("rowmax", "rowsum"):
        shape = (inputs[0].shape[0], 1)
    elif op in ("colmax", "colsum"):
        shape = (1, inputs[0].shape[1])
    else:
        shape = inputs[0].shape
    return Tensor(Node(op, inputs, shape, dtype, attrs, loc))


# -- public functions ------------------------------------------------------------------------------
def tensor(name: str, shape: tuple[int, int], dtype: str = "bf16") -> Tensor:
    """Declare a kernel input of `shape` elements (tile-aligned, or a (1, n) / (m, 1) vector)."""
    loc = user_location()
    if not isinstance(name, str) or not name.isidentifier():
        raise KernelError(f"tensor name {name!r} is not an identifier", "tensor", loc)
    if dtype not in DTYPES:
        raise KernelError(f"unknown dtype {dtype!r} (expected one of {', '.join(DTYPES)})", "tensor", loc)
    if len(tuple(shape)) != 2:
        raise KernelError(f"tensors are 2-D, got shape {tuple(shape)}", "tensor", loc)
    shape = (int(shape[0]), int(shape[1]))
    if not _aligned(shape):
        raise KernelError(
            f"shape {shape} of '{name}' is not tile-aligned (dims must be multiples of {TILE}, or 1 for a vector)",
            "tensor", loc)
    return Tensor(Node("input", (), shape, dtype, (("name", name), ("seq", next(_declared))), loc))


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
    """Row softmax. Kept as one node so rules, not the front end, choose its expansion."""
    if axis not in (-1, 1):
        raise KernelError(f"unsupported axis {axis!r} (softmax supports axis=-1)", "softmax", user_location())
    return _make("softmax", (x.node,))


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
