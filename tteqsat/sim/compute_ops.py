"""Compute-thread ops: DST protocol, inits, FPU and SFPU tile math, and packing.

Semantics follow the op table of docs/mlir-subset.md. Each compiler checks operand types
once and returns a closure; at run time the closure enforces the init rule, the DST section
and slot range (via `DstRegisters`) and CB visibility (via `CircularBuffer.read`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tteqsat.mlir_text.ir import Op, bits_to_f32
from tteqsat.sim import tilemath
from tteqsat.sim.inits import FpuKey
from tteqsat.sim.program import Compiler, Ctx, Env, Instr

_REDUCE_TYPES = ("reduce_sum", "reduce_max")
_REDUCE_DIMS = ("reduce_dim_row", "reduce_dim_col", "reduce_dim_scalar")
_BCAST_TYPES = ("col", "row", "scalar")
_ELTWISE_TYPES = ("add", "sub", "mul")
_REUSE_TYPES = ("dest_to_srca", "dest_to_srcb")

# -- DST protocol and hardware setup ----------------------------------------------------------


def _dst_protocol(method: str) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        ctx.operands(op, "")
        action = getattr(ctx.machine.dst, method)

        def run(env: Env) -> None:
            action()

        return Instr(op, run)

    return compile_


def _hw_setup(signatures: tuple[str, ...]) -> Compiler:
    """Hardware-setup ops (accepted anywhere, no effect on the model)."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        sig = next((s for s in signatures if len(s) == len(op.operands)), signatures[0])
        ctx.operands(op, sig)
        return Instr(op, _noop)

    return compile_


def _noop(env: Env) -> None:
    return None


# -- inits --------------------------------------------------------------------------------------


def _fpu_init(signature: str, key_of: Callable[[Op, Ctx], FpuKey]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        ctx.operands(op, signature)
        key = key_of(op, ctx)
        inits = ctx.machine.inits

        def run(env: Env) -> None:
            inits.set_fpu(key)

        return Instr(op, run)

    return compile_


def _plain_key(op: Op, ctx: Ctx) -> FpuKey:
    return (op.name.removeprefix("ttkernel."),)


def _reuse_key(op: Op, ctx: Ctx) -> FpuKey:
    return (
        "binary_dest_reuse_tiles_init",
        ctx.enum(op, "eltwise_binary_type", _ELTWISE_TYPES),
        ctx.enum(op, "reuse_type", _REUSE_TYPES),
    )


def _reduce_key(op: Op, ctx: Ctx) -> FpuKey:
    return (
        "reduce_init",
        ctx.enum(op, "reduce_type", _REDUCE_TYPES),
        ctx.enum(op, "reduce_dim", _REDUCE_DIMS),
    )


def _bcast_key(op: Op, ctx: Ctx) -> FpuKey:
    return ("unary_bcast_init", ctx.enum(op, "bcast_type", _BCAST_TYPES))


def _mm_init(signature: str, transpose_at: int = -1) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        slots = ctx.operands(op, signature)
        transpose = slots[transpose_at]
        inits = ctx.machine.inits

        def run(env: Env) -> None:
            inits.set_fpu(("mm_init",))
            inits.matmul_transpose = env[transpose]

        return Instr(op, run)

    return compile_


def _reduce_uninit(op: Op, ctx: Ctx) -> Instr:
    """Undo reduce's packer setup: a later reduce_tile needs a fresh reduce_init."""
    ctx.operands(op, "")
    inits = ctx.machine.inits

    def run(env: Env) -> None:
        if inits.fpu is not None and inits.fpu[0] == "reduce_init":
            inits.fpu = None

    return Instr(op, run)


def _sfpu_init(op: Op, ctx: Ctx) -> Instr:
    ctx.operands(op, "")
    name = op.name.removeprefix("ttkernel.")
    inits = ctx.machine.inits

    def run(env: Env) -> None:
        inits.set_sfpu(name)

    return Instr(op, run)


# -- FPU ops (operands from CBs) ----------------------------------------------------------------


def _copy_tile(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    dst, inits = ctx.machine.dst, ctx.machine.inits
    key = ("copy_tile_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        dst.store(env[d], env[cb].read(env[i]))

    return Instr(op, run)


def _eltwise_tiles(kind: str) -> Compiler:
    fn = tilemath.ELTWISE[kind]
    key = (f"{kind}_tiles_init",)

    def compile_(op: Op, ctx: Ctx) -> Instr:
        cb0, cb1, i0, i1, d = ctx.operands(op, "cciii")
        dst, inits = ctx.machine.dst, ctx.machine.inits

        def run(env: Env) -> None:
            inits.require_fpu(key)
            dst.store(env[d], fn(env[cb0].read(env[i0]), env[cb1].read(env[i1])))

        return Instr(op, run)

    return compile_


def _dest_reuse(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    key = _reuse_key(op, ctx)
    fn = tilemath.ELTWISE[key[1]]
    dest_is_a = key[2] == "dest_to_srca"
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_fpu(key)
        slot = env[d]
        current = dst.load(slot)
        tile = env[cb].read(env[i])
        dst.store(slot, fn(current, tile) if dest_is_a else fn(tile, current))

    return Instr(op, run)


def _matmul(op: Op, ctx: Ctx) -> Instr:
    # The 5-operand form (transpose from the init) is the contract; a 6th i32 operand, as in
    # older TTKernelOps.td versions, overrides it.
    slots = ctx.operands(op, "cciiin" if len(op.operands) == 6 else "cciii")
    cb0, cb1, i0, i1, d = slots[:5]
    explicit = slots[5] if len(slots) == 6 else None
    dst, inits = ctx.machine.dst, ctx.machine.inits
    key = ("mm_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        a = env[cb0].read(env[i0])
        b = env[cb1].read(env[i1])
        transpose = env[explicit] if explicit is not None else inits.matmul_transpose
        slot = env[d]
        dst.store(slot, dst.load(slot) + a @ (b.T if transpose else b))

    return Instr(op, run)


def _matmul_block(op: Op, ctx: Ctx) -> Instr:
    """``matmul_block(cb0, cb1, i0, i1, d, transpose, ct, rt, kt)``: for output tile (r, c) of the block,
    ``DST[d + r*ct + c] += cb0[i0 + r*kt] @ cb1[i1 + c]`` (``cb1[i1 + c].T`` when transpose is set)."""
    cb0, cb1, i0, i1, d, tr, ct, rt, kt = ctx.operands(op, "cciiinnnn")
    dst, inits = ctx.machine.dst, ctx.machine.inits
    key = ("mm_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        for r in range(env[rt]):
            a = env[cb0].read(env[i0] + r * env[kt])
            for c in range(env[ct]):
                b = env[cb1].read(env[i1] + c)
                slot = env[d] + r * env[ct] + c
                dst.store(slot, dst.load(slot) + a @ (b.T if env[tr] else b))

    return Instr(op, run)


def _mm_block_init(op: Op, ctx: Ctx) -> Instr:
    """``mm_block_init_short(cb0, cb1, transpose, ct, rt, kt)``: the matmul init for matmul_block."""
    _, _, transpose, _, _, _ = ctx.operands(op, "ccnnnn")
    inits = ctx.machine.inits

    def run(env: Env) -> None:
        inits.set_fpu(("mm_init",))
        inits.matmul_transpose = env[transpose]

    return Instr(op, run)


def _reduce(op: Op, ctx: Ctx) -> Instr:
    cb, scb, i, si, d = ctx.operands(op, "cciii")
    key = _reduce_key(op, ctx)
    kind, dim = key[1], key[2]
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_fpu(key)
        tile = env[cb].read(env[i])
        scaler = float(env[scb].read(env[si])[0, 0])
        slot = env[d]
        dst.store(slot, tilemath.reduce_into(dst.load(slot), tile, scaler, kind, dim, dst.is_clear(slot)))

    return Instr(op, run)


def _unary_bcast(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    key = _bcast_key(op, ctx)
    kind = key[1]
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_fpu(key)
        dst.store(env[d], tilemath.broadcast(env[cb].read(env[i]), kind))

    return Instr(op, run)


def _transpose(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    dst, inits = ctx.machine.dst, ctx.machine.inits
    key = ("transpose_wh_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        dst.store(env[d], env[cb].read(env[i]).T)

    return Instr(op, run)


# -- SFPU ops (operands in DST) -----------------------------------------------------------------


def _sfpu_unary(fn: Callable[[np.ndarray], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        (d,) = ctx.operands(op, "i")
        init = op.name.removeprefix("ttkernel.") + "_init"
        dst, inits = ctx.machine.dst, ctx.machine.inits

        def run(env: Env) -> None:
            inits.require_sfpu(init)
            slot = env[d]
            dst.store(slot, fn(dst.load(slot)))

        return Instr(op, run)

    return compile_


def _exp(op: Op, ctx: Ctx) -> Instr:
    (d,) = ctx.operands(op, "i")
    scale = np.float32(bits_to_f32(ctx.int_attr(op, "scale", 0x3F800000)))
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_sfpu("exp_tile_init")
        slot = env[d]
        dst.store(slot, np.exp(scale * dst.load(slot)))

    return Instr(op, run)


def _sfpu_binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        d0, d1, od = ctx.operands(op, "iii")
        init = op.name.removeprefix("ttkernel.") + "_init"
        dst, inits = ctx.machine.dst, ctx.machine.inits

        def run(env: Env) -> None:
            inits.require_sfpu(init)
            dst.store(env[od], fn(dst.load(env[d0]), dst.load(env[d1])))

        return Instr(op, run)

    return compile_


def _scalar_binop(fn: Callable[[np.ndarray, np.float32], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        d, param = ctx.operands(op, "in")
        dst, inits = ctx.machine.dst, ctx.machine.inits

        def run(env: Env) -> None:
            inits.require_sfpu("binop_with_scalar_tile_init")
            slot = env[d]
            dst.store(slot, fn(dst.load(slot), np.float32(bits_to_f32(env[param]))))

        return Instr(op, run)

    return compile_


def _fill(op: Op, ctx: Ctx) -> Instr:
    d, value = ctx.operands(op, "if")
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_sfpu("fill_tile_init")
        dst.store(env[d], np.float32(env[value]))

    return Instr(op, run)


def _copy_dest(op: Op, ctx: Ctx) -> Instr:
    # Contract order (docs/mlir-subset.md, newest tt-mlir): (d_in, d_out).
    d_in, d_out = ctx.operands(op, "ii")
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_sfpu("copy_dest_values_init")
        dst.store(env[d_out], dst.load(env[d_in]))

    return Instr(op, run)


# -- packing ------------------------------------------------------------------------------------


def _pack(op: Op, ctx: Ctx) -> Instr:
    d, cb, i = ctx.operands(op, "ici")
    dst = ctx.machine.dst
    machine = ctx.machine

    def run(env: Env) -> None:
        if machine.pack_l1_acc:
            env[cb].accumulate(env[i], dst.pack_load(env[d]))
        else:
            env[cb].write(env[i], dst.pack_load(env[d]))

    return Instr(op, run)


def _pack_l1_acc(op: Op, ctx: Ctx) -> Instr:
    (flag,) = ctx.operands(op, "n")
    machine = ctx.machine

    def run(env: Env) -> None:
        machine.pack_l1_acc = bool(env[flag])

    return Instr(op, run)


def _table() -> dict[str, Compiler]:
    t: dict[str, Compiler] = {
        "tile_regs_acquire": _dst_protocol("acquire"),
        "tile_regs_commit": _dst_protocol("commit"),
        "tile_regs_wait": _dst_protocol("wait"),
        "tile_regs_release": _dst_protocol("release"),
        "init_sfpu": _hw_setup(("cc",)),
        "unary_op_init_common": _hw_setup(("cc",)),
        "binary_op_init_common": _hw_setup(("ccc",)),
        "compute_kernel_hw_startup": _hw_setup(("cc", "ccc")),
        "copy_tile_init": _fpu_init("c", _plain_key),
        "add_tiles_init": _fpu_init("cc", _plain_key),
        "sub_tiles_init": _fpu_init("cc", _plain_key),
        "mul_tiles_init": _fpu_init("cc", _plain_key),
        "binary_dest_reuse_tiles_init": _fpu_init("c", _reuse_key),
        "reduce_init": _fpu_init("ccc", _reduce_key),
        "unary_bcast_init": _fpu_init("cc", _bcast_key),
        "transpose_wh_init": _fpu_init("cc", _plain_key),
        "mm_init": _mm_init("cccn"),
        "mm_init_short": _mm_init("ccn"),
        "mm_block_init": _mm_init("cccnnnn", transpose_at=3),
        "reduce_uninit": _reduce_uninit,
        "copy_tile": _copy_tile,
        "add_tiles": _eltwise_tiles("add"),
        "sub_tiles": _eltwise_tiles("sub"),
        "mul_tiles": _eltwise_tiles("mul"),
        "binary_dest_reuse_tiles": _dest_reuse,
        "matmul_tiles": _matmul,
        "matmul_block": _matmul_block,
        "mm_block_init_short": _mm_block_init,
        "reduce_tile": _reduce,
        "unary_bcast": _unary_bcast,
        "transpose_wh_tile": _transpose,
        "exp_tile": _exp,
        "exp_tile_init": _sfpu_init,
        "add_unary_tile": _scalar_binop(np.add),
        "sub_unary_tile": _scalar_binop(np.subtract),
        "mul_unary_tile": _scalar_binop(np.multiply),
        "div_unary_tile": _scalar_binop(np.divide),
        "binop_with_scalar_tile_init": _sfpu_init,
        "fill_tile": _fill,
        "fill_tile_init": _sfpu_init,
        "copy_dest_values": _copy_dest,
        "copy_dest_values_init": _sfpu_init,
        "pack_tile": _pack,
        "pack_reconfig_l1_acc": _pack_l1_acc,
    }
    for name, fn in tilemath.SFPU_UNARY.items():
        t[name] = _sfpu_unary(fn)
        t[name + "_init"] = _sfpu_init
    for name, fn2 in tilemath.SFPU_BINARY.items():
        t[name] = _sfpu_binary(fn2)
        t[name + "_init"] = _sfpu_init
    return {f"ttkernel.{k}": v for k, v in t.items()}


COMPUTE_OPS: dict[str, Compiler] = _table()
"""Compilers for ops only a compute thread may run, keyed by full op name."""
