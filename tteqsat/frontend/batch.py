"""A kernel's batch axes as a parallel map: one 2-D element kernel, and for each of its inputs the slice of
a DRAM tensor it reads at a batch index.

Every op is a map over the leading (batch) axes, so the optimizer only ever sees one element: the matrix
computation of one batch index. What differs between elements is which slice each input reads: numpy
broadcasting reads slice 0 of a size-1 axis, and `repeat` (grouped heads) reads slice `b // g`. When one
input is read through two different index maps (used both directly and repeated), the element kernel gets
one input per map.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import TILE, Batch, Kernel, Node


@dataclass(frozen=True)
class AxisMap:
    """Which kernel batch axis a tensor axis follows, and by what it divides the index (repeat); an axis
    of size 1 that broadcasts follows none and is always read at 0."""

    kernel_axis: int | None
    divisor: int = 1
    index: int = 0  # the slice read when the axis follows no kernel axis (0: a broadcast; `take` picks one)


@dataclass(frozen=True)
class ElementInput:
    """One input of the element kernel: which user tensor it slices, and how a batch index selects it."""

    name: str                   # the element kernel's input name
    tensor: str                 # the user's input (DRAM tensor)
    batch: Batch                # the tensor's batch axes (grouped: the last one divided by the group)
    axes: tuple[AxisMap, ...]   # one per tensor batch axis
    group: int = 1              # > 1: each element reads this many consecutive slices of the last batch axis,
                                # stacked by rows (the q heads sharing one K/V head)

    def as_read(self, array: np.ndarray) -> np.ndarray:
        """The user's array as the element view reads it: grouped slices stacked by rows, a row-major reshape
        (…, H, r, d) -> (…, H/g, g*r, d) of the same bytes. The host tilizes the DRAM tensor from this stacked
        view: for whole-tile rows those are the per-head tiles anyway; for fewer rows (decode: r = 1) g heads
        share one tile row, as tt-metal's decode lays q out (q [1, b, nh, dh], heads along the rows of a tile:
        ttnn sdpa_decode)."""
        a = np.asarray(array)
        if self.group == 1:
            return a
        *batch, rows, cols = a.shape
        return a.reshape(*batch[:-1], batch[-1] // self.group, self.group * rows, cols)

    def index(self, element: tuple[int, ...]) -> tuple[int, ...]:
        """The tensor's batch index read by kernel element `element`."""
        return tuple(a.index if a.kernel_axis is None else element[a.kernel_axis] // a.divisor for a in self.axes)

    def offset(self, element: tuple[int, ...]) -> int:
        """The slice's position among the tensor's matrices (row-major over its batch axes)."""
        pos = 0
        for i, size in zip(self.index(element), self.batch, strict=True):
            pos = pos * size + i
        return pos


@dataclass(frozen=True)
class ElementView:
    """The kernel seen one batch element at a time."""

    kernel: Kernel                       # 2-D: the computation of one element
    batch: Batch                         # the user kernel's batch axes
    inputs: tuple[ElementInput, ...]     # one per input of `kernel`, in its order

    @property
    def elements(self) -> int:
        return int(np.prod(self.batch, dtype=np.int64)) if self.batch else 1

    def element_index(self, n: int) -> tuple[int, ...]:
        """Batch index of element number `n` (row-major)."""
        return tuple(int(i) for i in np.unravel_index(n, self.batch)) if self.batch else ()

    def element_inputs(self, inputs: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """The 2-D arrays element `n` reads, from the user's full arrays."""
        b = self.element_index(n)
        return {e.name: e.as_read(inputs[e.tensor])[e.index(b)] for e in self.inputs}

    def as_read(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The user's input arrays as the kernel's DRAM tensors hold them (grouped ones stacked by rows)."""
        out = {k: np.asarray(v) for k, v in inputs.items()}
        for e in self.inputs:
            out[e.tensor] = e.as_read(inputs[e.tensor])
        return out

    @property
    def group(self) -> int:
        """Heads stacked into one element (1: none)."""
        return max((e.group for e in self.inputs), default=1)

    def output_as_written(self, array: np.ndarray) -> np.ndarray:
        """A user-shaped output as the kernel writes it (grouped heads stacked by rows), element by element."""
        a = np.asarray(array)
        g = self.group
        if g == 1:
            return a
        *batch, rows, cols = a.shape
        return a.reshape(*batch[:-1], batch[-1] // g, g * rows, cols)

    @property
    def stacked_rows(self) -> int:
        """Rows of a stacked element (a group's heads one under another: g * rows of a head); 0 when ungrouped."""
        return next((n.shape[0] for n, e in zip(self.kernel.inputs, self.inputs, strict=True) if e.group > 1), 0)

    @property
    def padded_rows(self) -> int:
        """`stacked_rows` rounded up to whole tiles: the rows the DRAM tiles of a stacked element hold (tilizing
        pads a matrix to whole tiles with zeros, so a (g, d) stack of single-row heads is one tile row)."""
        return -(-self.stacked_rows // TILE) * TILE

    def as_kernel(self) -> Kernel | None:
        """The grouped view as a kernel of its own, batched over `batch`: its inputs are the DRAM tensors as the
        view reads them (a group's q heads stacked by rows, K/V without `repeat`), so a transformation of the
        kernel (splitting the keys) keeps the stacked layout in every tensor it makes. Stacked rows that are not
        whole tiles (single-row heads) are padded to whole tiles here, so the kernels the transformation builds
        are tile-aligned: the same DRAM tiles, whose padding rows the host writes as zeros and never reads back
        (`padded_inputs`, `user_outputs`). None when some input is not read by plain numpy broadcasting (a
        `take`, a second index map of one tensor) or nothing is stacked."""
        rank, tall, padded = len(self.batch), self.stacked_rows, self.padded_rows
        if not tall:
            return None
        for e in self.inputs:
            if e.name != e.tensor:
                return None
            shift = rank - len(e.batch)
            for j, (size, a) in enumerate(zip(e.batch, e.axes, strict=True)):
                broadcast = a.kernel_axis is None and size == 1 and a.index == 0
                if not broadcast and (a.kernel_axis != j + shift or a.divisor != 1):
                    return None

        def rows(shape: tuple[int, int]) -> tuple[int, int]:  # only stacked values have rows not whole tiles
            return (padded, shape[1]) if shape[0] == tall and tall % TILE else shape

        by_name = {e.name: e for e in self.inputs}
        built: dict[int, Node] = {}
        for node in self.kernel.nodes():
            attrs = tuple((k, padded if (node.op, k) == ("bcast_rows", "n") and v == tall else v)
                          for k, v in node.attrs)
            if node.op == "input":
                batch = by_name[str(node.attr("name"))].batch
                built[id(node)] = Node("input", (), rows(node.shape), node.dtype, attrs, node.loc, batch)
                continue
            args = tuple(built[id(i)] for i in node.inputs)
            batch = tuple(int(d) for d in np.broadcast_shapes(node.batch, *(a.batch for a in args)))
            built[id(node)] = Node(node.op, args, rows(node.shape), node.dtype, attrs, node.loc, batch)
        outputs = tuple((name, built[id(n)]) for name, n in self.kernel.outputs)
        if any(n.batch != self.batch for _, n in outputs):
            return None
        return Kernel(self.kernel.name, outputs, tuple(built[id(n)] for n in self.kernel.inputs))

    def padded_inputs(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The user's arrays as `as_kernel()` reads them: stacked (`as_read`), stacked rows zero-padded to whole
        tiles (the bytes the host writes when it tilizes the stacked view)."""
        out = self.as_read(inputs)
        extra = self.padded_rows - self.stacked_rows
        for e in self.inputs:
            if e.group > 1 and extra:
                a = out[e.tensor]
                out[e.tensor] = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, extra), (0, 0)])
        return out

    def user_outputs(self, outputs: Mapping[str, np.ndarray], kernel: Kernel) -> dict[str, np.ndarray]:
        """Outputs of `as_kernel()` in the shapes of the user's `kernel`: the padding rows dropped, then the
        inverse of `output_as_written` (a row-major reshape, so the same bytes)."""
        shapes = {name: node.full_shape for name, node in kernel.outputs}
        return {name: np.asarray(a)[..., :self.stacked_rows, :].reshape(shapes[name]) if name in shapes
                else np.asarray(a) for name, a in outputs.items()}


def element_view(kernel: Kernel) -> ElementView:
    """Split `kernel` into its element kernel and the input slices each batch index reads."""
    if not kernel.batch and not any(n.batch for n in kernel.inputs):
        return ElementView(kernel, (), tuple(ElementInput(str(n.attr("name")), str(n.attr("name")), (), ())
                                            for n in kernel.inputs))
    identity = tuple(AxisMap(i) for i in range(len(kernel.batch)))
    reads: dict[str, list[tuple[AxisMap, ...]]] = {}  # input name -> its distinct index maps, in first-use order
    seen: set[tuple[int, tuple[AxisMap, ...]]] = set()

    def child_map(node: Node, child: Node, axes: tuple[AxisMap, ...]) -> tuple[AxisMap, ...]:
        if node.op == "repeat":
            a, g = int(node.attr("axis")), int(node.attr("g"))  # type: ignore[call-overload]
            m = axes[a]
            return axes[:a] + (AxisMap(m.kernel_axis, m.divisor * g) if m.kernel_axis is not None else m,) \
                + axes[a + 1:]
        if node.op == "take":  # the child has the axis take drops: read there at the fixed index
            a, index = int(node.attr("axis")), int(node.attr("index"))  # type: ignore[call-overload]
            return axes[:a] + (AxisMap(None, 1, index),) + axes[a:]
        shift = len(node.batch) - len(child.batch)
        return tuple(AxisMap(None) if size == 1 and node.batch[i + shift] != 1 else axes[i + shift]
                     for i, size in enumerate(child.batch))

    order: list[tuple[Node, tuple[AxisMap, ...]]] = []  # (node, map) pairs, operands before users

    def collect(node: Node, axes: tuple[AxisMap, ...]) -> None:
        if (id(node), axes) in seen:
            return
        seen.add((id(node), axes))
        if node.op == "input":
            maps = reads.setdefault(str(node.attr("name")), [])
            if axes not in maps:
                maps.append(axes)
        for child in node.inputs:
            collect(child, child_map(node, child, axes))
        order.append((node, axes))

    for _, node in kernel.outputs:
        collect(node, identity)

    users = {str(n.attr("name")) for n in kernel.inputs} | {o for o, _ in kernel.outputs}
    names: dict[tuple[str, tuple[AxisMap, ...]], str] = {}
    for name, maps in reads.items():
        for k, axes in enumerate(maps):
            if len(maps) == 1:
                names[(name, axes)] = name
                continue
            fresh = next(f"{name}{suffix}" for suffix in (f"_g{k}" + "_" * j for j in itertools.count())
                         if f"{name}{suffix}" not in users)
            users.add(fresh)
            names[(name, axes)] = fresh

    built: dict[tuple[int, tuple[AxisMap, ...]], Node] = {}
    by_name = {str(n.attr("name")): n for n in kernel.inputs}
    leaves: list[tuple[tuple[int, int], Node, ElementInput]] = []
    for node, axes in order:
        key = (id(node), axes)
        if node.op == "input":
            name = str(node.attr("name"))
            elem_name = names[(name, axes)]
            attrs = tuple((k, elem_name if k == "name" else v) for k, v in node.attrs)
            leaf = Node("input", (), node.shape, node.dtype, attrs, node.loc)
            built[key] = leaf
            order_key = (int(by_name[name].attr("seq")), reads[name].index(axes))  # type: ignore[call-overload]
            leaves.append((order_key, leaf, ElementInput(elem_name, name, node.batch, axes)))
        elif node.op in ("repeat", "take"):
            built[key] = built[(id(node.inputs[0]), child_map(node, node.inputs[0], axes))]
        else:
            args = tuple(built[(id(c), child_map(node, c, axes))] for c in node.inputs)
            built[key] = Node(node.op, args, node.shape, node.dtype, node.attrs, node.loc)
    outputs = tuple((name, built[(id(node), identity)]) for name, node in kernel.outputs)
    for name, node in outputs:
        if node.op == "input":
            raise KernelError(f"output '{name}' only repeats an input; nothing to compute", "kernel",
                              kernel.outputs[0][1].loc or None)
    leaves.sort(key=lambda t: t[0])
    element = Kernel(kernel.name, outputs, tuple(leaf for _, leaf, _ in leaves))
    return _grouped(ElementView(element, kernel.batch, tuple(e for _, _, e in leaves)))


ROW_CONSTANT = ("bcast_rows", "bcast_scalar", "full")  # values equal in every row: they stack by broadcasting
ROW_WISE = ("add", "sub", "mul", "div", "max", "min", "exp", "log", "sqrt", "rsqrt", "recip", "abs", "relu",
            "sigmoid", "tanh", "gelu", "silu", "neg", "add_s", "mul_s", "rsub_s", "rdiv_s", "exp_scaled",
            "rowmax", "rowsum", "softmax", "bcast_cols")


def _grouped(view: ElementView) -> ElementView:
    """Grouped-query attention with the q heads of a group stacked by rows into one element, when the kernel
    allows it: the last batch axis is read divided by g (K and V, `repeat`) by some inputs and directly by the
    others (q), and every op treats rows independently. The elements then read each K/V slice once for the
    g heads of a group, so a work item of g * h rows covers h rows of each head (decode: every head at once).
    Heads of any row count stack: the DRAM tensors are tilized from the stacked view (`ElementInput.as_read`),
    so single-row heads (decode) fill one tile row together instead of padding a tile row each."""
    if not view.batch:
        return view
    axis = len(view.batch) - 1
    maps = [(e, e.axes[-1]) for e in view.inputs if e.axes and e.axes[-1].kernel_axis == axis]
    g = max((m.divisor for _, m in maps), default=1)
    direct = {e.name for e, m in maps if m.divisor == 1}
    if g == 1 or view.batch[axis] % g or any(m.divisor not in (1, g) for _, m in maps) or not direct:
        return view
    kernel = _stack_rows(view.kernel, direct, g)
    if kernel is None:
        return view
    inputs = []
    for e in view.inputs:
        if not e.axes or e.axes[-1].kernel_axis != axis:
            inputs.append(e)
            continue
        stacked = e.name in direct
        batch = e.batch[:-1] + (e.batch[-1] // g if stacked else e.batch[-1],)
        inputs.append(ElementInput(e.name, e.tensor, batch, e.axes[:-1] + (AxisMap(axis),), g if stacked else 1))
    return ElementView(kernel, view.batch[:-1] + (view.batch[-1] // g,), tuple(inputs))


def _stack_rows(kernel: Kernel, direct: set[str], g: int) -> Kernel | None:
    """`kernel` with the inputs named in `direct` stacked g times by rows and every value that depends on them
    as tall; None when some op mixes rows (a column reduction, a transpose, a mask, a stacked right-hand matmul
    operand) or a stacked value meets a per-row value that is not. Any head height stacks, whole tiles or not
    (g single-row heads: a (g, d) element): rows stay independent, and the padding rows of a tile that is not
    full are zeros the host writes and never reads back (the stacked view is what it tilizes)."""
    built: dict[int, Node] = {}
    stacked: set[int] = set()
    rows = {n.shape[0] for n in kernel.inputs if str(n.attr("name")) in direct}
    if len(rows) != 1:
        return None
    (height,) = rows

    def tall(node: Node) -> Node:  # a row-constant value, broadcast to the stacked height (a row's count too)
        attrs = tuple((k, g * height if (node.op, k) == ("bcast_rows", "n") else v) for k, v in node.attrs)
        return Node(node.op, tuple(built[id(i)] for i in node.inputs), (g * height, node.shape[1]), node.dtype,
                    attrs, node.loc, node.batch)

    for node in kernel.nodes():
        args = tuple(built[id(i)] for i in node.inputs)
        touched = [i for i in node.inputs if id(i) in stacked]
        if node.op == "input":
            if str(node.attr("name")) in direct:
                stacked.add(id(node))
                built[id(node)] = Node("input", (), (g * height, node.shape[1]), node.dtype, node.attrs, node.loc,
                                       node.batch)
            else:
                built[id(node)] = node
            continue
        if not touched:
            built[id(node)] = Node(node.op, args, node.shape, node.dtype, node.attrs, node.loc, node.batch)
            continue
        if node.op == "matmul" and id(node.inputs[1]) in stacked or node.op not in ROW_WISE + ("matmul",):
            return None
        fixed = []
        for i, a in zip(node.inputs, args, strict=True):
            if id(i) in stacked or node.op == "matmul":
                fixed.append(a)
            elif i.op in ROW_CONSTANT and i.shape[0] == height:
                fixed.append(tall(i))
            elif height == 1:  # a single-row head's row that no stacked input feeds (a key bias): every head's
                fixed.append(Node("bcast_rows", (a,), (g, a.shape[1]), a.dtype, (("n", g),), a.loc, a.batch))
            else:
                return None  # a per-row value of one head cannot serve the stacked rows
        stacked.add(id(node))
        built[id(node)] = Node(node.op, tuple(fixed), (g * height, node.shape[1]), node.dtype, node.attrs, node.loc,
                               node.batch)
    if not all(id(n) in stacked for _, n in kernel.outputs):
        return None
    outputs = tuple((name, built[id(n)]) for name, n in kernel.outputs)
    return Kernel(kernel.name, outputs, tuple(built[id(n)] for n in kernel.inputs))
