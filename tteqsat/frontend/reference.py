"""The oracle: numpy semantics of every IR op. Rules, extraction and lowering are checked against it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.special import erf

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import TILE, Kernel, Node, topo_order
from tteqsat.frontend.masks import Mask


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "recip": lambda x: 1.0 / x, "abs": np.abs, "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": _sigmoid, "tanh": np.tanh, "gelu": _gelu, "silu": lambda x: x * _sigmoid(x), "neg": np.negative,
}
BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "max": np.maximum, "min": np.minimum,
}


def repeat_tile(b: np.ndarray, shape: tuple[int, int], along: str) -> np.ndarray:
    """`b`, one tile wide (`along` "cols") or high ("rows"), as an FPU op of output `shape` reads it: the same tile
    again for every tile column (row) of the output (hw_fpu_bcast)."""
    r, c = shape
    if along == "cols":
        return np.tile(b, (1, -(-c // TILE)))[:, :c]
    return np.tile(b, (-(-r // TILE), 1))[:r]


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), kept in float32."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    bits = a.view(np.uint32)
    with np.errstate(over="ignore"):  # only NaN patterns can wrap, and they are put back below
        rounded = (bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    out = rounded.view(np.float32)
    nan = np.isnan(a)
    return np.where(nan, a, out) if nan.any() else out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def eval_node(node: Node, args: list[np.ndarray]) -> np.ndarray:
    """One op on float64 arrays of the node's full (numpy) shape: batch axes first, the matrix last."""
    op = node.op
    if op in UNARY:
        return UNARY[op](args[0])
    if op in BINARY:
        return BINARY[op](args[0], args[1])
    s = dict(node.attrs).get("s")
    table: dict[str, Callable[[], np.ndarray]] = {
        "add_s": lambda: args[0] + s,
        "mul_s": lambda: args[0] * s,
        "rsub_s": lambda: s - args[0],
        "rdiv_s": lambda: s / args[0],
        "exp_scaled": lambda: np.exp(s * args[0]),
        "matmul": lambda: np.matmul(args[0], args[1]),
        "transpose": lambda: np.swapaxes(args[0], -1, -2),
        "rowmax": lambda: args[0].max(axis=-1, keepdims=True),
        "rowsum": lambda: args[0].sum(axis=-1, keepdims=True),
        "colmax": lambda: args[0].max(axis=-2, keepdims=True),
        "colsum": lambda: args[0].sum(axis=-2, keepdims=True),
        "bcast_cols": lambda: np.broadcast_to(args[0], node.full_shape),
        "bcast_rows": lambda: np.broadcast_to(args[0], node.full_shape),
        "bcast_scalar": lambda: np.broadcast_to(args[0][..., :1, :1], node.full_shape),
        "softmax": lambda: _softmax(args[0]),
        "repeat": lambda: np.repeat(args[0], int(dict(node.attrs)["g"]), axis=int(dict(node.attrs)["axis"])),
        "take": lambda: np.take(args[0], int(dict(node.attrs)["index"]), axis=int(dict(node.attrs)["axis"])),
        "full": lambda: np.full(node.full_shape, float(dict(node.attrs)["value"])),  # type: ignore[arg-type]
        "where": lambda: np.where(Mask.parse(str(dict(node.attrs)["mask"])).matrix(), args[0], args[1]),
    }
    if op not in table:
        raise KernelError(f"the reference has no semantics for op '{op}'", op, node.loc)
    return table[op]()


def evaluate_nodes(roots: list[Node], inputs: Mapping[str, np.ndarray]) -> dict[int, np.ndarray]:
    """Values of every node reachable from `roots`, keyed by id(node)."""
    values: dict[int, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for node in topo_order(roots):
            if node.op == "input":
                name = str(node.attr("name"))
                if name not in inputs:
                    raise KernelError(f"no value given for input '{name}'", "input", node.loc)
                arr = np.asarray(inputs[name], dtype=np.float64)
                if arr.shape != node.full_shape:
                    raise KernelError(f"input '{name}' has shape {arr.shape}, expected {node.full_shape}", "input",
                                      node.loc)
                values[id(node)] = arr
            else:
                values[id(node)] = np.asarray(eval_node(node, [values[id(i)] for i in node.inputs]))
    return values


def evaluate(kernel: Kernel, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the kernel on numpy inputs (float64 math); returns float32 outputs by name."""
    values = evaluate_nodes([n for _, n in kernel.outputs], inputs)
    return {name: values[id(node)].astype(np.float32) for name, node in kernel.outputs}


INPUT_DISTRIBUTIONS = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "uniform": lambda rng, shape: rng.uniform(-1.0, 1.0, shape),
    "wide": lambda rng, shape: 4.0 * rng.standard_normal(shape),
}
"""Verification input distributions: N(0, 1), U(-1, 1), N(0, 16) (large softmax logits, wide exp range)."""


def random_inputs(kernel: Kernel, seed: int = 0, scale: float = 1.0, dist: str = "normal") -> dict[str, np.ndarray]:
    """Deterministic test inputs drawn from `dist` times `scale`, rounded to the kernel's dtype; |x| + 0.5
    where an op needs positive values."""
    if dist not in INPUT_DISTRIBUTIONS:
        raise KernelError(f"unknown input distribution '{dist}': use one of {', '.join(INPUT_DISTRIBUTIONS)}")
    rng = np.random.default_rng(seed)
    positive = _needs_positive(kernel)
    out: dict[str, np.ndarray] = {}
    for node in kernel.inputs:
        name = str(node.attr("name"))
        x = INPUT_DISTRIBUTIONS[dist](rng, node.full_shape).astype(np.float32) * np.float32(scale)
        if name in positive:
            x = np.abs(x) + 0.5
        out[name] = round_bf16(x) if node.dtype == "bf16" else x
    return out


def load_inputs(kernel: Kernel, path: str) -> dict[str, np.ndarray]:
    """Inputs from a .npz file with one array per kernel input (by name), rounded to the kernel's dtype."""
    try:
        with np.load(path) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as e:
        raise KernelError(f"--inputs {path}: cannot read it as a .npz file of arrays ({e})") from None
    return check_inputs(kernel, arrays, f"--inputs {path}", "the file has")


def check_inputs(kernel: Kernel, arrays: Mapping[str, object], source: str, holder: str = "given",
                 extra_ok: bool = False) -> dict[str, np.ndarray]:
    """One array per kernel input, by name and of its whole shape (batch axes too), rounded to the kernel's
    dtype as the kernel reads it; a KernelError naming `source` (the file or the call) otherwise. `extra_ok`:
    arrays no input reads are ignored (a caller's dict for several kernels)."""
    out: dict[str, np.ndarray] = {}
    names = [str(n.attr("name")) for n in kernel.inputs]
    for node, name in zip(kernel.inputs, names, strict=True):
        if name not in arrays:
            raise KernelError(f"{source}: no array '{name}' (the kernel's inputs are {', '.join(names)}; "
                              f"{holder} {', '.join(sorted(arrays)) or 'none'})")
        a = np.asarray(arrays[name])
        if a.shape != node.full_shape:
            raise KernelError(f"{source}: array '{name}' has shape {a.shape}, the kernel's input is {node.full_shape}")
        if a.dtype.kind not in "iuf":
            raise KernelError(f"{source}: array '{name}' holds {a.dtype}, not numbers")
        x = a.astype(np.float32)
        out[name] = round_bf16(x) if node.dtype == "bf16" else x
    extra = sorted(set(arrays) - set(names))
    if extra and not extra_ok:
        raise KernelError(f"{source}: array(s) {', '.join(extra)} are no input of kernel '{kernel.name}' "
                          f"(its inputs are {', '.join(names)})")
    return out


def _needs_positive(kernel: Kernel) -> set[str]:
    """Inputs feeding log/sqrt/rsqrt/recip/div directly get positive values so the check is meaningful."""
    names: set[str] = set()
    for node in kernel.nodes():
        if node.op in ("log", "sqrt", "rsqrt", "recip", "rdiv_s") or node.op == "div":
            for i in node.inputs[-1:] if node.op == "div" else node.inputs:
                names |= {str(n.attr("name")) for n in topo_order([i]) if n.op == "input"}
    return names


def scalar_op(op: str, x: np.ndarray, s: float) -> np.ndarray:
    if op == "add_s":
        return x + s
    if op == "mul_s":
        return x * s
    return s - x if op == "rsub_s" else s / x
