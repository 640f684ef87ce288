"""Kernel IR: an immutable DAG of typed nodes, the form every stage reads and writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

TILE = 32
DTYPES = ("bf16", "fp32")

UNARY_OPS = ("exp", "log", "sqrt", "rsqrt", "recip", "abs", "relu", "sigmoid", "tanh", "gelu", "silu", "neg")
BINARY_OPS = ("add", "sub", "mul", "div", "max", "min")
SCALAR_OPS = ("add_s", "mul_s", "rsub_s", "rdiv_s")  # x+s, x*s, s-x, s/x
REDUCE_OPS = ("rowmax", "rowsum", "colmax", "colsum")
BCAST_OPS = ("bcast_cols", "bcast_rows", "bcast_scalar")
ALL_OPS = (
    ("input", "matmul", "transpose", "softmax", "exp_scaled", "repeat", "take", "full", "where")
    + UNARY_OPS + BINARY_OPS + SCALAR_OPS
    + REDUCE_OPS + BCAST_OPS
)

Shape = tuple[int, int]
Batch = tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Node:
    """One value of the kernel. Identity is object identity; `key()` gives structural identity.

    `shape` is the matrix every tile op sees (the last two axes); `batch` holds the leading axes, over
    which every op is a parallel map (numpy broadcasting; `repeat` along one of them).
    """

    op: str
    inputs: tuple[Node, ...]
    shape: Shape
    dtype: str
    attrs: tuple[tuple[str, object], ...] = ()
    loc: str = field(default="", compare=False)
    batch: Batch = ()

    def attr(self, name: str) -> object:
        for k, v in self.attrs:
            if k == name:
                return v
        raise KeyError(name)

    @property
    def tiles(self) -> Shape:
        return (-(-self.shape[0] // TILE), -(-self.shape[1] // TILE))

    @property
    def n_tiles(self) -> int:
        r, c = self.tiles
        return r * c

    @property
    def full_shape(self) -> tuple[int, ...]:
        """The numpy shape: batch axes, then the matrix."""
        return self.batch + self.shape

    def key(self) -> tuple:
        return (self.op, tuple(id(i) for i in self.inputs), self.attrs, self.shape, self.dtype, self.batch)

    def __repr__(self) -> str:
        args = ", ".join(i.op for i in self.inputs)
        extra = "".join(f", {k}={v}" for k, v in self.attrs)
        dims = "x".join(str(d) for d in self.full_shape)
        return f"{self.op}({args}{extra}) : {dims}x{self.dtype}"


def topo_order(roots: tuple[Node, ...] | list[Node]) -> list[Node]:
    """Inputs before users; deterministic (depth-first, left to right)."""
    seen: set[int] = set()
    order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for child in reversed(node.inputs):
            if id(child) not in seen:
                stack.append((child, False))
    return order


@dataclass(frozen=True)
class Kernel:
    """A named kernel: its declared inputs (in argument order) and named outputs."""

    name: str
    outputs: tuple[tuple[str, Node], ...]
    inputs: tuple[Node, ...]

    @property
    def dtype(self) -> str:
        return self.outputs[0][1].dtype

    @property
    def batch(self) -> Batch:
        """The leading axes every output shares: one element of the kernel per batch index."""
        return self.outputs[0][1].batch

    def nodes(self) -> list[Node]:
        return topo_order([n for _, n in self.outputs])

    def __iter__(self) -> Iterator[tuple[str, Node]]:
        return iter(self.outputs)

    def op_count(self) -> int:
        return sum(1 for n in self.nodes() if n.op != "input")
