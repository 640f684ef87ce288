"""The unfused baseline: every IR op its own section, every intermediate packed to a CB.

Costs are reported against it. Each op takes its most direct hardware form; softmax is expanded the
textbook way (row max, subtract, exp, row sum, divide).
"""

from __future__ import annotations

from tteqsat.errors import KernelError
from tteqsat.extraction.program import HwOp, Program, reduces_padding
from tteqsat.frontend.ir import BINARY_OPS, REDUCE_OPS, UNARY_OPS, Kernel, Node, topo_order


def _reduce(op: str, x: HwOp, shape: tuple[int, int], origin: str) -> HwOp:
    """reduce_tile, or over a vector's length-1 axis the identity (a copy): reduce_tile would fold padding in."""
    if reduces_padding("reduce", op, x.shape):
        return HwOp("copy", "copy", (x,), shape, {}, origin)
    return HwOp("reduce", op, (x,), shape, {"s": 1.0}, origin)


def _softmax(x: HwOp) -> HwOp:
    n = x.shape[1]
    m = _reduce("rowmax", x, (x.shape[0], 1), "softmax")
    mb = HwOp("bcast", "cols", (m,), x.shape, {"n": n}, "softmax")
    shifted = HwOp("fpu", "sub", (x, mb), x.shape, {}, "softmax")
    e = HwOp("sfpu", "exp", (shifted,), x.shape, {}, "softmax")
    total = _reduce("rowsum", e, (x.shape[0], 1), "softmax")
    tb = HwOp("bcast", "cols", (total,), x.shape, {"n": n}, "softmax")
    return HwOp("sfpu2", "div", (e, tb), x.shape, {}, "softmax")


def _direct(node: Node, args: list[HwOp]) -> HwOp:
    op = node.op
    attrs = dict(node.attrs)
    if op == "input":
        return HwOp("input", "input", (), node.shape, {"name": attrs["name"]}, "input")
    if op == "softmax":
        return _softmax(args[0])
    if op in ("add", "sub", "mul"):
        kind = "fpu"
    elif op in BINARY_OPS:
        kind = "sfpu2"
    elif op in UNARY_OPS:
        kind = "sfpu"
    elif op in ("add_s", "mul_s", "rsub_s", "rdiv_s"):
        kind = "scalar"
    elif op == "exp_scaled":
        return HwOp("exp_scaled", "exp", tuple(args), node.shape, {"s": attrs["s"]}, op)
    elif op in REDUCE_OPS:
        return _reduce(op, args[0], node.shape, op)
    elif op.startswith("bcast_"):
        return HwOp("bcast", op.removeprefix("bcast_"), tuple(args), node.shape, {"n": attrs["n"]}, op)
    elif op == "matmul":
        return HwOp("matmul", "matmul", tuple(args), node.shape, {"transpose_b": 0}, op)
    elif op == "transpose":
        return HwOp("transpose", "transpose", tuple(args), node.shape, {}, op)
    elif op == "full":  # a constant has no form of its own: only a mask's fill uses one (below)
        return HwOp("input", "full", (), node.shape, {"value": attrs["value"]}, op)
    elif op == "where":
        a, b = args
        fill = b.attrs.get("value") if b.op == "full" else None
        if fill not in (float("-inf"), 0.0) or a.op == "full":
            raise KernelError(f"where has a hardware form only as where(mask, x, -inf) or where(mask, x, 0); got "
                              f"{'a constant' if a.op == 'full' else 'a tensor'} where the mask holds and "
                              f"{fill if fill is not None else 'a tensor'} elsewhere; {_where_instead(a, fill)}",
                              op, node.loc or None)
        return HwOp("mask", "bias" if fill == float("-inf") else "zero", (a,), node.shape,
                    {"mask": attrs["mask"], "block": 0, "chunk": 0}, op)
    else:
        raise KernelError(f"no direct hardware form for {op}", op, node.loc or None)
    extra = {"s": attrs["s"]} if kind == "scalar" else {}
    return HwOp(kind, op, tuple(args), node.shape, extra, op)


def _where_instead(a: HwOp, fill: object) -> str:
    """The same values in the two forms that have hardware (for finite values)."""
    if a.op == "full":
        return "flip the mask to put the tensor first: where(~mask, x, c)"
    if fill is None:
        return "for two tensors write where(mask, a, 0) + where(~mask, b, 0)"
    f = float(fill)  # type: ignore[arg-type]
    if f <= -1e4:  # masked_fill(-1e9) and the like: a stand-in for -inf
        return "to mask scores before a softmax write -np.inf (exp gives 0 for both)"
    return f"write where(mask, x - {f:g}, 0) + {f:g}" if f > 0 else f"write where(mask, x + {-f:g}, 0) - {-f:g}"


def baseline_program(kernel: Kernel) -> Program:
    """The kernel's ops mapped one to one onto hardware forms."""
    built: dict[int, HwOp] = {}
    for node in topo_order([n for _, n in kernel.outputs]):
        built[id(node)] = _direct(node, [built[id(i)] for i in node.inputs])
        built[id(node)].loc = node.loc
    inputs = [built.get(id(n)) or _direct(n, []) for n in kernel.inputs]
    return Program(kernel.name, kernel.dtype, inputs, [(name, built[id(n)]) for name, n in kernel.outputs])
