"""Splitting attention's keys over work items (flash-decode): two kernels where there was one.

With few query rows (decode) the work items of `softmax(S) @ V` are too few for the grid. Attention over the
keys is a fold, and the fold splits: over parts p of the keys, with o_p = softmax(S_p) @ V_p and
lse_p = logsumexp(S_p) (each part's own max and sum),

    softmax(S) @ V == sum_p exp(lse_p - lse) o_p,   lse = logsumexp_p(lse_p)

(rows are independent, so this holds row by row). The first kernel computes (o_p, lse_p) with the parts as
one more batch axis, so the grid runs heads x parts items; the last combines the parts with the running
max of the lse_p first (nothing overflows). A combining kernel reads each part it merges as its own input (one
CB each), so it merges at most `MAX_FAN_IN` parts; more parts are merged in a tree: each merging kernel folds
groups of k consecutive parts into one (o_g, lse_g), with lse_g = m + log(sum_j exp(lse_j - m)), the same
pair a part has, and runs the groups as one more batch axis (work items over the grid). The identity holds
per group, so any grouping gives the same sum. Every kernel is an ordinary kernel for the optimizer.
`split_kv` finds the keys axis by following it from `V`'s rows and `S`'s columns down to the inputs, and
refuses kernels where the keys meet anything but that fold (a reduction or mask over them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import TILE, Batch, Kernel, Node, topo_order

ROWS, COLS = 0, 1
ELEMENTWISE = ("add", "sub", "mul", "div", "max", "min", "exp", "log", "sqrt", "rsqrt", "recip", "abs", "relu",
               "sigmoid", "tanh", "gelu", "silu", "neg", "add_s", "mul_s", "rsub_s", "rdiv_s", "exp_scaled")


MAX_FAN_IN = 8  # parts one combining kernel merges: each is its own input (a CB), and a kernel has 32 CBs


def fan_ins(parts: int) -> tuple[int, ...] | None:
    """How many parts each kernel of the merge tree merges, first to last (their product is `parts`; the last
    is the combining kernel), or None when `parts` has a prime factor above MAX_FAN_IN. The tree has the
    fewest levels (each is a kernel launch and a pass over DRAM), and within that the smallest sum of fan-ins:
    a kernel's cost grows with the parts it merges (modeled on wormhole_b0, MQA decode at d=128: 8,021 cycles
    for 2 parts, 20,059 for 8), so 16 parts merge as 4 x 4 (25,555), not 8 x 2. Ties keep the larger fan-in
    first."""
    if parts < 2:
        return None

    def trees(left: int, levels: int) -> list[tuple[int, ...]]:
        if levels == 1:
            return [(left,)] if 2 <= left <= MAX_FAN_IN else []
        return [(k, *rest) for k in range(MAX_FAN_IN, 1, -1) if left % k == 0 for rest in trees(left // k, levels - 1)]

    for levels in range(1, parts.bit_length() + 1):
        found = trees(parts, levels)
        if found:
            return min(found, key=lambda t: (sum(t), [-k for k in t]))
    return None


@dataclass(frozen=True)
class KvSplit:
    """The kernels of a split over `parts` parts of the keys, and how each user input is laid out for the
    first (`layout`: the user's array -> the array the first kernel reads, the same tiles in DRAM)."""

    parts: int
    partial: Kernel            # outputs `part_out` (B..., P, Sq, d) and `part_lse` (B..., P, Sq, 1)
    combine: Kernel            # inputs part_out, part_lse (B..., k, Sq, *); output: the user's
    split_inputs: dict[str, int]  # user input -> the axis its keys run along (ROWS or COLS)
    part_out: str
    part_lse: str
    # more than MAX_FAN_IN parts: kernels merging groups of parts first, in order; each reads part_out, part_lse
    # (B..., G, k, Sq, *) and writes merged_out, merged_lse (B..., G, Sq, *), which the next reads as its parts
    merges: tuple[Kernel, ...] = ()
    merged_out: str = ""
    merged_lse: str = ""

    @property
    def fan_ins(self) -> tuple[int, ...]:
        """The parts each kernel after the first merges (the merges', then the combine's)."""
        return fan_ins(self.parts) or (self.parts,)

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The kernels after the first, in the order they run: the merges, then the combine."""
        return (*self.merges, self.combine)

    def next_inputs(self, kernel: Kernel, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The parts `kernel` (a merge or the combine) reads, from the outputs of the kernel before it: the same
        bytes, the parts axis cut into groups (a reshape of the batch axes)."""
        got = {self.part_out: outputs.get(self.merged_out, outputs.get(self.part_out)),
               self.part_lse: outputs.get(self.merged_lse, outputs.get(self.part_lse))}
        return {str(n.attr("name")): np.asarray(got[str(n.attr("name"))]).reshape(n.full_shape)
                for n in kernel.inputs}

    def partial_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The user's arrays as the first kernel reads them: key parts as a new last batch axis, every other
        batched input with a broadcast axis there."""
        out = {}
        for node in self.partial.inputs:
            name = str(node.attr("name"))
            a = np.asarray(inputs[name])
            axis = self.split_inputs.get(name)
            if axis == ROWS:
                a = a.reshape(*a.shape[:-2], self.parts, a.shape[-2] // self.parts, a.shape[-1])
            elif axis == COLS:  # a row vector: its parts are consecutive tiles of its one tile row
                a = np.moveaxis(a.reshape(*a.shape[:-1], self.parts, a.shape[-1] // self.parts), -2, -3)
            elif a.ndim > 2:
                a = a[..., None, :, :]
            out[name] = a
        return out


def attention_keys(kernel: Kernel) -> int | None:
    """The number of keys when `kernel` is `softmax(S) @ V` that `split_kv` can split, else None."""
    try:
        return _keys_of(kernel)[0]
    except KernelError:
        return None


def _keys_of(kernel: Kernel) -> tuple[int, dict[int, int], Node, Node]:
    """(keys, the keys axis of every node on the way to the inputs, softmax's input S, V)."""
    if len(kernel.outputs) != 1:
        raise KernelError("splitting the keys needs a kernel with one output, softmax(S) @ V")
    out = kernel.outputs[0][1]
    if out.op != "matmul" or out.inputs[0].op != "softmax":
        raise KernelError("splitting the keys needs a kernel whose output is softmax(S) @ V")
    s, v = out.inputs[0].inputs[0], out.inputs[1]
    keys = v.shape[0]
    axis: dict[int, int] = {}

    def need(node: Node, a: int) -> None:
        if node.shape[a] != keys:
            raise KernelError(f"the keys axis of {node.op} is {node.shape[a]} long, not {keys}", node.op, node.loc)
        if axis.setdefault(id(node), a) != a:
            raise KernelError("a value runs along the keys on both axes", node.op, node.loc)
        op = node.op
        if op == "input":
            return
        if op in ELEMENTWISE or op in ("repeat", "take"):
            for i in node.inputs:
                need(i, a)
        elif op == "transpose":
            need(node.inputs[0], 1 - a)
        elif op == "matmul":
            need(node.inputs[0] if a == ROWS else node.inputs[1], a)
        elif op == "bcast_rows" and a == COLS or op == "bcast_cols" and a == ROWS:
            need(node.inputs[0], a)
        else:  # reductions, softmax, masks, broadcasts along the keys: the fold cannot be split through them
            raise KernelError(f"the keys meet {op}, which a split over keys does not pass through", op, node.loc)

    need(s, COLS)
    need(v, ROWS)
    for node in kernel.nodes():  # nothing but the fold may consume a key-long value
        if node is out or node is out.inputs[0] or id(node) in axis:
            continue
        if any(id(i) in axis for i in node.inputs):
            raise KernelError(f"{node.op} uses a key-long value outside softmax(S) @ V", node.op, node.loc)
    for leaf in kernel.inputs:  # here, not in split_kv: attention_keys must not offer a split that split_kv refuses
        if axis.get(id(leaf)) == COLS and leaf.shape[0] != 1:
            raise KernelError(f"input '{leaf.attr('name')}' runs along the keys in its columns; only a (1, keys) "
                              "row vector can be split that way", "input", leaf.loc)
    return keys, axis, s, v


def split_kv(kernel: Kernel, parts: int) -> KvSplit:
    """The partial and combine kernels of `kernel` over `parts` parts of its keys (KernelError if it cannot)."""
    from tteqsat.frontend import dsl  # the DSL builds the new kernels (it imports this package's ir)

    keys, axis, s, v = _keys_of(kernel)
    if parts < 2 or keys % (parts * TILE):
        raise KernelError(f"{keys} keys do not split into {parts} parts of whole tiles")
    levels = fan_ins(parts)
    if levels is None:
        raise KernelError(f"{parts} parts do not merge in groups of at most {MAX_FAN_IN} (a combining kernel "
                          f"reads each part it merges as its own input, one CB each): give a count whose prime "
                          f"factors are at most {MAX_FAN_IN}")
    built: dict[int, Node] = {}

    def batch_of(nodes: tuple[Node, ...]) -> Batch:
        rank = max(len(n.batch) for n in nodes)
        padded = [(1,) * (rank - len(n.batch)) + n.batch for n in nodes]
        return tuple(max(sizes) for sizes in zip(*padded, strict=True))

    for node in topo_order([s, v]):
        a = axis.get(id(node))
        shape = list(node.shape)
        if a is not None:
            shape[a] //= parts
        if node.op == "input":
            batch = node.batch + (parts,) if a is not None else (node.batch + (1,) if node.batch else ())
            built[id(node)] = Node("input", (), (shape[0], shape[1]), node.dtype, node.attrs, node.loc, batch)
            continue
        args = tuple(built[id(i)] for i in node.inputs)
        if node.op == "repeat":
            ax, g = int(node.attr("axis")), int(node.attr("g"))  # type: ignore[call-overload]
            b = args[0].batch
            batch = b[:ax] + (b[ax] * g,) + b[ax + 1:]
        elif node.op == "take":
            ax = int(node.attr("axis"))  # type: ignore[call-overload]
            batch = args[0].batch[:ax] + args[0].batch[ax + 1:]
        else:
            batch = batch_of(args)
        built[id(node)] = Node(node.op, args, (shape[0], shape[1]), node.dtype, node.attrs, node.loc, batch)
    name = kernel.outputs[0][0]
    taken = {str(n.attr("name")) for n in kernel.inputs} | {name}
    part_out = _fresh(f"{name}_part", taken)
    part_lse = _fresh(f"{name}_lse", taken | {part_out})
    s2, v2 = dsl.Tensor(built[id(s)]), dsl.Tensor(built[id(v)])
    partial = dsl.kernel(f"{kernel.name}_part", {part_out: dsl.softmax(s2) @ v2, part_lse: dsl.logsumexp(s2)})
    batch = kernel.batch
    rows, d = kernel.outputs[0][1].shape
    merged_out = _fresh(f"{name}_merged", taken | {part_out, part_lse})
    merged_lse = _fresh(f"{name}_merged_lse", taken | {part_out, part_lse, merged_out})
    merges, groups = [], parts
    for level, k in enumerate(levels[:-1]):
        groups //= k
        o = dsl.tensor(part_out, batch + (groups, k, rows, d), kernel.dtype)
        lse = dsl.tensor(part_lse, batch + (groups, k, rows, 1), kernel.dtype)
        num, den, m = _merge(o, lse, k, len(batch) + 1)
        merges.append(dsl.kernel(f"{kernel.name}_merge{level + 1}",
                                 {merged_out: num / den, merged_lse: m + dsl.log(den)}))
    o = dsl.tensor(part_out, batch + (levels[-1], rows, d), kernel.dtype)
    lse = dsl.tensor(part_lse, batch + (levels[-1], rows, 1), kernel.dtype)
    num, den, _ = _merge(o, lse, levels[-1], len(batch))
    combine = dsl.kernel(f"{kernel.name}_combine", {name: num / den})
    split_inputs = {str(n.attr("name")): axis[id(n)] for n in kernel.inputs if id(n) in axis}
    return KvSplit(parts, partial, combine, split_inputs, part_out, part_lse, tuple(merges),
                   merged_out if merges else "", merged_lse if merges else "")


def _merge(o, lse, k: int, at: int):
    """sum_j exp(lse_j - m) o_j and sum_j exp(lse_j - m) over the k parts along batch axis `at` of `o` and
    `lse`, with m their running max (so no exp overflows), and m."""
    from tteqsat.frontend import dsl

    lses = [dsl.take(lse, j, axis=at) for j in range(k)]
    m = lses[0]
    for x in lses[1:]:
        m = dsl.maximum(m, x)
    weights = [dsl.exp(x - m) for x in lses]
    num, den = weights[0] * dsl.take(o, 0, axis=at), weights[0]
    for j in range(1, k):
        num = num + weights[j] * dsl.take(o, j, axis=at)
        den = den + weights[j]
    return num, den, m


def _fresh(stem: str, taken: set[str]) -> str:
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}{n}"
    return name
