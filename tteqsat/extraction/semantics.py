"""Numpy semantics of an extracted hardware program, built on the reference's op tables.

`evaluate_program` is how verification tells an unsound rule (the program differs from the kernel in
numpy) from a wrong lowering (the simulated MLIR differs from the program).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tteqsat.errors import KernelError
from tteqsat.extraction.loops import split
from tteqsat.extraction.program import HwOp, Program
from tteqsat.frontend.masks import Mask
from tteqsat.frontend.reference import BINARY, UNARY, repeat_tile, scalar_op


def repeated(op: HwOp, b: np.ndarray) -> np.ndarray:
    """An FPU op's second operand as the op reads it: a broadcast tile (`attrs["bcast"]`) for every tile column
    (row) of the output."""
    along = op.attrs.get("bcast")
    return b if along is None else repeat_tile(b, op.shape, str(along))


def _eval_program(program: Program, leaves: Mapping[str, np.ndarray], block: int = 0,
                  chunk: int = 0) -> dict[str, np.ndarray]:
    """float64 values of a program's outputs given its leaves by name, for row block `block` of the work item
    and K chunk `chunk` of the loop (where masks are evaluated)."""
    values: dict[int, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for op in program.ops():
            args = [values[id(o)] for o in op.operands]
            s = op.attrs.get("s")
            k = op.kind
            if k == "input":
                values[id(op)] = np.asarray(leaves[op.name], dtype=np.float64)
                continue
            if k in ("fpu", "sfpu2"):
                out = BINARY[op.op](args[0], repeated(op, args[1]))
            elif k == "reuse":
                a, b = args if op.attrs["reuse"] == "srca" else args[::-1]
                out = BINARY[op.op](a, b)
            elif k == "sfpu":
                out = UNARY[op.op](args[0])
            elif k == "exp_scaled":
                out = np.exp(s * args[0])
            elif k == "scalar":
                out = scalar_op(op.op, args[0], float(s))
            elif k == "matmul":
                out = args[0] @ (args[1].T if op.attrs.get("transpose_b") else args[1])
                if len(args) == 3:  # accumulated onto a value already in its DST slot
                    out = args[2] + out
            elif k == "reduce":
                axis = 1 if op.op.startswith("row") else 0
                red = np.max if op.op.endswith("max") else np.sum
                out = red(args[0] * s, axis=axis, keepdims=True)
            elif k == "bcast":
                src = args[0][:1, :1] if op.op == "scalar" else args[0]
                out = np.broadcast_to(src, op.shape)
            elif k == "transpose":
                out = args[0].T
            elif k == "copy":
                out = args[0]
            elif k == "tilesum":
                r, c = args[0].shape
                out = args[0].reshape(r, c // 32, 32).sum(axis=1)
            elif k == "mask":
                hb, wc = int(op.attrs["block"]), int(op.attrs["chunk"])  # type: ignore[call-overload]
                held = Mask.parse(str(op.attrs["mask"])).matrix(block * hb, op.shape[0], chunk * wc, op.shape[1])
                out = np.where(held, args[0], -np.inf if op.op == "bias" else 0.0)
            else:
                raise KernelError(f"the reference has no semantics for op form '{k}'")
            values[id(op)] = np.asarray(out)
    return {name: values[id(op)] for name, op in program.outputs}


def evaluate_program(program: Program, inputs: Mapping[str, np.ndarray], block: int = 0) -> dict[str, np.ndarray]:
    """Numpy semantics of an extracted hardware program, loops run trip by trip, for the work item of row
    block `block` (masks are evaluated at its rows; a loop that skips dead chunks runs its block's range).

    Checks that the rules that chose it were sound, and that its loop keeps the right state.
    """
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    parts = split(program)
    if parts is None:
        return {k: v.astype(np.float32) for k, v in _eval_program(program, leaves, block).items()}
    leaves.update(_eval_program(parts.pre, leaves, block))
    loop = parts.loop
    state = {f"state:{st.name}": np.full(st.shape, st.init) for st in loop.states}
    lo, hi = loop.range(block)
    for j in range(lo, hi):
        env = dict(leaves, **state)
        for name, chunk in loop.chunk_leaf.items():
            x = leaves[chunk.operands[0].name]
            w = int(chunk.attrs["width"])
            env[name] = x[j * w:(j + 1) * w, :] if chunk.attrs["axis"] == "rows" else x[:, j * w:(j + 1) * w]
        state = {f"state:{k}": v for k, v in _eval_program(loop.body, env, block, j).items()}
    leaves.update(state)
    return {k: v.astype(np.float32) for k, v in _eval_program(parts.post, leaves, block).items()}
