"""Compute-thread ops: DST protocol, inits, FPU and SFPU tile math, and packing.

Semantics follow the op table of docs/mlir-subset.md. Each compiler checks operand types
once and returns a closure; at run time the closure enforces the init rule, the DST section
and slot range (via `DstRegisters`) and CB visibility (via `CircularBuffer.read`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tteqsat.mlir_text.ir import Op, bits_to_f32
from tteqsat.sim import numerics, tilemath
from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.dst import DstRegisters, Rounding
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.inits import FpuKey
from tteqsat.sim.program import Compiler, Ctx, Env, Instr
from tteqsat.sim.reduce import reduce_rows, reduce_tile

_REDUCE_TYPES = ("reduce_sum", "reduce_max")
_REDUCE_DIMS = ("reduce_dim_row", "reduce_dim_col", "reduce_dim_scalar")
_BCAST_TYPES = ("col", "row", "scalar")
_ELTWISE_TYPES = ("add", "sub", "mul")
_REUSE_TYPES = ("dest_to_srca", "dest_to_srcb")
_ONE_BITS = 0x3F800000

# SFPU ops whose LLK rounds to nearest before storing into a 16-bit DST; the others truncate (SFPSTORE).
# Sources: tt-llk #494, tt-metal #11384 and PR #35077 (binary mul/div round since).
_SFPU_ROUNDS = frozenset({"recip_tile", "sqrt_tile", "rsqrt_tile", "tanh_tile", "sigmoid_tile", "mul_binary_tile",
                          "div_binary_tile"})


def _packer_masks() -> dict[tuple[str, str], np.ndarray]:
    """Datums the packer keeps while reduce_init's edge masks are on (tt-llk _llk_pack_reduce_mask_config_,
    ISA Packers/EdgeMasking.md); the rest pack as 0. Wormhole packs a tile with four packers, one per face;
    Blackhole with one that walks all faces."""
    masks: dict[tuple[str, str], np.ndarray] = {}
    for arch in ("wormhole_b0", "blackhole"):
        row = np.zeros((32, 32), dtype=bool)
        row[:, [0, 16]] = True
        col = np.zeros((32, 32), dtype=bool)
        col[[0, 16] if arch == "blackhole" else [0], :] = True
        scalar = np.zeros((32, 32), dtype=bool)
        scalar[0, 0] = True
        if arch == "blackhole":
            scalar[np.ix_([0, 16], [0, 16])] = True
        masks[(arch, "reduce_dim_row")] = row
        masks[(arch, "reduce_dim_col")] = col
        masks[(arch, "reduce_dim_scalar")] = scalar
    return masks


PACK_MASKS = _packer_masks()

# -- DST protocol and hardware setup ----------------------------------------------------------


def _dst_protocol(method: str) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        ctx.operands(op, "")
        action = getattr(ctx.machine.dst, method)

        def run(env: Env) -> None:
            action()

        return Instr(op, run)

    return compile_


def _reconfigures(op: Op, ctx: Ctx) -> Callable[[], None]:
    """The effect every full init shares: it configures the packer (clearing reduce's edge masks) and
    re-initialises DST synchronisation (llk_math_pack_sync_init, llk_pack_dest_init), so it must not run
    while a DST section is open."""
    name = op.name.removeprefix("ttkernel.")
    machine = ctx.machine

    def effect() -> None:
        if machine.dst.in_section():
            raise ProtocolError(
                f"{name} reconfigures the unpacker, math and packer and resets DST synchronisation; it must run "
                "outside tile_regs_acquire..tile_regs_release (before the acquire)"
            )
        machine.pack_mask = None

    return effect


def _hw_setup(signatures: tuple[str, ...]) -> Compiler:
    """Hardware-setup ops: no math state, but they reconfigure the packer and DST sync (`_reconfigures`)."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        sig = next((s for s in signatures if len(s) == len(op.operands)), signatures[0])
        ctx.operands(op, sig)
        effect = _reconfigures(op, ctx)

        def run(env: Env) -> None:
            effect()

        return Instr(op, run)

    return compile_


# -- inits --------------------------------------------------------------------------------------


def _fpu_init(signature: str, key_of: Callable[[Op, Ctx], FpuKey], full: bool = False) -> Compiler:
    """An FPU init; ``full`` ones (unary_bcast_init, transpose_wh_init) also reconfigure the packer and DST
    sync (tt-metal bcast.h, transpose_wh.h)."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        ctx.operands(op, signature)
        key = key_of(op, ctx)
        inits = ctx.machine.inits
        effect = _reconfigures(op, ctx) if full else None

        def run(env: Env) -> None:
            if effect is not None:
                effect()
            inits.set_fpu(key)

        return Instr(op, run)

    return compile_


def _reduce_init(op: Op, ctx: Ctx) -> Instr:
    """reduce_init: unpack and math for the reduce, and the packer's edge masks for its dim
    (llk_pack_reduce_mask_config): every later pack keeps only the reduce's result positions until
    reduce_uninit."""
    ctx.operands(op, "ccc")
    key = _reduce_key(op, ctx)
    machine = ctx.machine

    def run(env: Env) -> None:
        machine.inits.set_fpu(key)
        machine.pack_mask = key[2]

    return Instr(op, run)


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
        effect = _reconfigures(op, ctx) if op.name == "ttkernel.mm_init" else None  # includes hw startup

        def run(env: Env) -> None:
            if effect is not None:
                effect()
            inits.set_fpu(("mm_init",))
            inits.matmul_transpose = env[transpose]

        return Instr(op, run)

    return compile_


def _reduce_uninit(op: Op, ctx: Ctx) -> Instr:
    """Clear the packer edge masks reduce_init set (_llk_pack_reduce_mask_clear_); as D2M pairs them, a
    later reduce_tile needs a fresh reduce_init."""
    ctx.operands(op, "")
    machine = ctx.machine
    inits = machine.inits

    def run(env: Env) -> None:
        machine.pack_mask = None
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


def _exp_init(op: Op, ctx: Ctx) -> Instr:
    """exp_tile_init<approx, scale>: the approximate exp takes its scale from here (folded into its
    constants), not from exp_tile (tt-metal exp.h)."""
    ctx.operands(op, "")
    approx = _bool_attr(op, ctx, "approx")
    scale = float(np.float32(bits_to_f32(ctx.int_attr(op, "scale", _ONE_BITS))))
    inits = ctx.machine.inits

    def run(env: Env) -> None:
        inits.set_sfpu("exp_tile_init")
        inits.exp_approx, inits.exp_scale = approx, scale

    return Instr(op, run)


def _bool_attr(op: Op, ctx: Ctx, key: str) -> bool:
    value = op.attr(key, False)
    if not isinstance(value, bool):
        raise ctx.error(op, f"attribute {key} must be true or false")
    return value


# -- FPU ops (operands from CBs) ----------------------------------------------------------------


def _neighbours(dst: DstRegisters, slots: list[int]) -> int | None:
    """The first of ``slots`` when they are d, d + 1, ... and math ops may use them: one block of DST for a
    batch of ops (`Instr.try_many`), each op on its own slot."""
    first = slots[0]
    if slots != list(range(first, first + len(slots))) or not dst.writable(first, len(slots)):
        return None
    return first


def _one_cb(rows: list[tuple], cb: int, index: int) -> CircularBuffer | None:
    """The CB at position ``cb`` of every row when it is the same one and the tile at position ``index`` of each
    row may be read from it."""
    c = rows[0][cb]
    if all(row[cb] is c and c.readable(row[index], 1) for row in rows):
        return c
    return None


def _unpacked(dst: DstRegisters, cb: CircularBuffer) -> Rounding | None:
    """How DST stores a tile unpacked unchanged from ``cb``: a 16-bit DST rounds it, which leaves a bf16 page
    (bf16 with canonical NaNs, see cb.py) as it is, so those are copied."""
    return numerics.copy_into if dst.fp32 or cb.dtype == "bf16" else None


def _copy_tile(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    dst, inits = ctx.machine.dst, ctx.machine.inits
    key = ("copy_tile_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        c = env[cb]
        dst.store(env[d], c.read(env[i]), _unpacked(dst, c))

    def try_many(rows: list[tuple]) -> bool:
        first, c = _neighbours(dst, [row[2] for row in rows]), _one_cb(rows, 0, 1)
        if first is None or c is None or inits.fpu != key:
            return False
        dst.store_block(first, len(rows), c.gather([row[1] for row in rows]), _unpacked(dst, c))
        return True

    return Instr(op, run, uses=(cb, i, d), try_many=try_many)


def _eltwise_tiles(kind: str) -> Compiler:
    key = (f"{kind}_tiles_init",)

    def compile_(op: Op, ctx: Ctx) -> Instr:
        cb0, cb1, i0, i1, d = ctx.operands(op, "cciii")
        dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics
        stored = num.fpu_stored

        def run(env: Env) -> None:
            inits.require_fpu(key)
            dst.store(env[d], num.eltwise(kind, env[cb0].read(env[i0]), env[cb1].read(env[i1])), stored)

        def try_many(rows: list[tuple]) -> bool:
            first, c0, c1 = _neighbours(dst, [row[4] for row in rows]), _one_cb(rows, 0, 2), _one_cb(rows, 1, 3)
            if first is None or c0 is None or c1 is None or inits.fpu != key:
                return False
            a, b = c0.gather([row[2] for row in rows]), c1.gather([row[3] for row in rows])
            dst.store_block(first, len(rows), num.eltwise(kind, a, b), stored)
            return True

        return Instr(op, run, uses=(cb0, cb1, i0, i1, d), try_many=try_many)

    return compile_


def _dest_reuse(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    key = _reuse_key(op, ctx)
    kind = key[1]
    dest_is_a = key[2] == "dest_to_srca"
    dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics
    stored = num.fpu_stored

    def run(env: Env) -> None:
        inits.require_fpu(key)
        slot = env[d]
        current = dst.load(slot)
        tile = env[cb].read(env[i])
        dst.store(slot, num.eltwise(kind, current, tile) if dest_is_a else num.eltwise(kind, tile, current), stored)

    def try_many(rows: list[tuple]) -> bool:
        first, c = _neighbours(dst, [row[2] for row in rows]), _one_cb(rows, 0, 1)
        if first is None or c is None or inits.fpu != key:
            return False
        current, tiles = dst.load_block(first, len(rows)), c.gather([row[1] for row in rows])
        value = num.eltwise(kind, current, tiles) if dest_is_a else num.eltwise(kind, tiles, current)
        dst.store_block(first, len(rows), value, stored)
        return True

    return Instr(op, run, uses=(cb, i, d), try_many=try_many)


def _matmul(op: Op, ctx: Ctx) -> Instr:
    # The 5-operand form (transpose from the init) is the contract; a 6th i32 operand, as in
    # older TTKernelOps.td versions, overrides it.
    slots = ctx.operands(op, "cciiin" if len(op.operands) == 6 else "cciii")
    cb0, cb1, i0, i1, d = slots[:5]
    explicit = slots[5] if len(slots) == 6 else None
    dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics
    key = ("mm_init",)
    stored = num.fpu_stored

    def run(env: Env) -> None:
        inits.require_fpu(key)
        a = env[cb0].read(env[i0])
        b = env[cb1].read(env[i1])
        transpose = env[explicit] if explicit is not None else inits.matmul_transpose
        slot = env[d]
        dst.store(slot, num.matmul(dst.load(slot), a, b.T if transpose else b), stored)

    return Instr(op, run)


def _matmul_block(op: Op, ctx: Ctx) -> Instr:
    """``matmul_block(cb0, cb1, i0, i1, d, transpose, ct, rt, kt)``: for output tile (r, c) of the block,
    ``DST[d + r*ct + c] += cb0[i0 + r*kt] @ cb1[i1 + c]`` (``cb1[i1 + c].T`` when transpose is set)."""
    slots = ctx.operands(op, "cciiinnnn")
    dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics
    key = ("mm_init",)
    stored = num.fpu_stored

    def once(cb0: CircularBuffer, cb1: CircularBuffer, i0: int, i1: int, d: int, tr: int, ct: int, rt: int,
             kt: int) -> None:
        inits.require_fpu(key)
        n = ct
        bs = cb1.read_block(i1, n)  # the block's columns
        if tr:
            bs = bs.transpose(0, 2, 1)
        for r in range(rt):
            a = cb0.read(i0 + r * kt)
            first = d + r * n
            dst.store_block(first, n, num.matmul(dst.load_block(first, n), a, bs), stored)

    s0, s1, s2, s3, s4, s5, s6, s7, s8 = slots

    def run(env: Env) -> None:
        once(env[s0], env[s1], env[s2], env[s3], env[s4], env[s5], env[s6], env[s7], env[s8])

    def try_many(rows: list[tuple]) -> bool:
        """A loop over K: each row adds into the same DST block. When every row is one block row (rt = 1) on the
        same CBs and DST slots and nothing fails, every product is one batched matmul and only the adds and DST
        roundings go row by row."""
        cb0, cb1, _, _, d, tr, n, rt, _ = head = rows[0]
        if (rt != 1 or n < 1 or inits.fpu != key or not dst.writable(d, n)
                or any(row[:2] != head[:2] or row[4:] != head[4:] or not cb0.readable(row[2], 1)
                       or not cb1.readable(row[3], n) for row in rows)):
            return False
        a = cb0.gather([row[2] for row in rows])  # [row, 32, 32]
        b = cb1.gather([row[3] + c for row in rows for c in range(n)]).reshape(len(rows), n, 32, 32)
        if tr:
            b = b.transpose(0, 1, 3, 2)
        dst.store_block(d, n, num.matmul_rows(dst.load_block(d, n), a, b), stored)
        return True

    return Instr(op, run, uses=slots, try_many=try_many)


def _mm_block_init(op: Op, ctx: Ctx) -> Instr:
    """``mm_block_init_short(cb0, cb1, transpose, ct, rt, kt)``: the matmul init for matmul_block."""
    _, _, transpose, _, _, _ = ctx.operands(op, "ccnnnn")
    inits = ctx.machine.inits

    def run(env: Env) -> None:
        inits.set_fpu(("mm_init",))
        inits.matmul_transpose = env[transpose]

    return Instr(op, run)


def _reduce(op: Op, ctx: Ctx) -> Instr:
    slots = ctx.operands(op, "cciii")
    cb, scb, i, si, d = slots
    key = _reduce_key(op, ctx)
    kind, dim = key[1], key[2]
    dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics

    def once(cb: CircularBuffer, scb: CircularBuffer, i: int, si: int, slot: int) -> None:
        inits.require_fpu(key)
        tile = cb.read(i)
        scaler = scb.read(si)
        dst.store(slot, reduce_tile(dst.load(slot), dst.is_clear(slot), tile, scaler, kind, dim, num))

    def run(env: Env) -> None:
        once(env[cb], env[scb], env[i], env[si], env[d])

    def try_many(rows: list[tuple]) -> bool:
        """A loop reducing a row of tiles into one slot: when every row uses the same CBs, scaler tile and slot
        and nothing fails, `reduce_rows` does them together."""
        c, sc, _, s_i, slot = head = rows[0]
        if (inits.fpu != key or not dst.writable(slot) or not sc.readable(s_i, 1)
                or any(row[:2] != head[:2] or row[3:] != head[3:] or not c.readable(row[2], 1) for row in rows)):
            return False
        tiles = c.gather([row[2] for row in rows])
        acc, fresh = dst.load(slot), dst.is_clear(slot)
        dst.store(slot, reduce_rows(acc, fresh, tiles, sc.read(s_i), kind, dim, num, dst.rounding))
        return True

    return Instr(op, run, uses=slots, try_many=try_many)


def _unary_bcast(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    key = _bcast_key(op, ctx)
    kind = key[1]
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_fpu(key)
        c = env[cb]
        dst.store(env[d], tilemath.broadcast_source(c.read(env[i]), kind), _unpacked(dst, c))  # broadcast by the store

    def try_many(rows: list[tuple]) -> bool:
        first, c = _neighbours(dst, [row[2] for row in rows]), _one_cb(rows, 0, 1)
        if first is None or c is None or inits.fpu != key:
            return False
        tiles = c.gather([row[1] for row in rows])
        dst.store_block(first, len(rows), tilemath.broadcast_sources(tiles, kind), _unpacked(dst, c))
        return True

    return Instr(op, run, uses=(cb, i, d), try_many=try_many)


def _transpose(op: Op, ctx: Ctx) -> Instr:
    cb, i, d = ctx.operands(op, "cii")
    dst, inits, num = ctx.machine.dst, ctx.machine.inits, ctx.machine.numerics
    key = ("transpose_wh_init",)

    def run(env: Env) -> None:
        inits.require_fpu(key)
        c = env[cb]
        dst.store(env[d], num.src(c.read(env[i])).T, _unpacked(dst, c))  # through SrcA

    return Instr(op, run)


# -- SFPU ops (operands in DST) -----------------------------------------------------------------


def _sfpu_store(ctx: Ctx, name: str) -> Callable[[np.ndarray], np.ndarray]:
    num = ctx.machine.numerics
    return num.sfpu_round if name in _SFPU_ROUNDS else num.sfpu_trunc


def _sfpu_unary(fn: Callable[[np.ndarray], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        (d,) = ctx.operands(op, "i")
        name = op.name.removeprefix("ttkernel.")
        init = name + "_init"
        dst, inits = ctx.machine.dst, ctx.machine.inits
        rounding = _sfpu_store(ctx, name)
        hw = tilemath.SFPU_HARDWARE.get(name) if ctx.machine.numerics.hardware else None
        f = hw or fn

        def run(env: Env) -> None:
            inits.require_sfpu(init)
            slot = env[d]
            dst.store(slot, f(dst.load(slot)), rounding)

        def try_many(rows: list[tuple]) -> bool:
            first = _neighbours(dst, [row[0] for row in rows])
            if first is None or inits.sfpu != init:
                return False
            dst.store_block(first, len(rows), f(dst.load_block(first, len(rows))), rounding)
            return True

        return Instr(op, run, uses=(d,), try_many=try_many)

    return compile_


def _exp(op: Op, ctx: Ctx) -> Instr:
    """exp_tile: approx = true is the Schraudolph approximation with the init's scale; otherwise the
    accurate exp of scale * x, the scale passed as bf16 (tt-metal exp.h, ckernel_sfpu_exp.h)."""
    (d,) = ctx.operands(op, "i")
    approx = _bool_attr(op, ctx, "approx")
    scale = float(np.float32(bits_to_f32(ctx.int_attr(op, "scale", _ONE_BITS))))
    machine = ctx.machine
    dst, inits, num = machine.dst, machine.inits, machine.numerics

    def value(x: np.ndarray) -> tuple[np.ndarray, Rounding]:
        if approx:
            s = inits.exp_scale  # the tile's own scale is ignored in approximate mode
            if num.hardware:
                return numerics.exp_schraudolph(x, s), num.sfpu_trunc
            return np.exp(np.float32(s) * x), num.sfpu_round
        if not num.hardware:
            return np.exp(np.float32(scale) * x), num.sfpu_round
        xs = (np.float32(numerics.bf16_scale(scale)) * x).astype(np.float32)
        return (np.exp(xs).astype(np.float32) if num.fp32_dest else numerics.exp_21f(xs)), num.sfpu_round

    def run(env: Env) -> None:
        inits.require_sfpu("exp_tile_init")
        if inits.exp_approx != approx:
            raise ProtocolError(f"exp_tile has approx = {str(approx).lower()} but the last exp_tile_init has "
                                f"approx = {str(inits.exp_approx).lower()}")
        slot = env[d]
        dst.store(slot, *value(dst.load(slot)))

    def try_many(rows: list[tuple]) -> bool:
        first = _neighbours(dst, [row[0] for row in rows])
        if first is None or inits.sfpu != "exp_tile_init" or inits.exp_approx != approx:
            return False
        dst.store_block(first, len(rows), *value(dst.load_block(first, len(rows))))
        return True

    return Instr(op, run, uses=(d,), try_many=try_many)


def _sfpu_binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        d0, d1, od = ctx.operands(op, "iii")
        name = op.name.removeprefix("ttkernel.")
        init = name + "_init"
        dst, inits = ctx.machine.dst, ctx.machine.inits
        rounding = _sfpu_store(ctx, name)

        def run(env: Env) -> None:
            inits.require_sfpu(init)
            dst.store(env[od], fn(dst.load(env[d0]), dst.load(env[d1])), rounding)

        def try_many(rows: list[tuple]) -> bool:
            n = len(rows)
            first = _neighbours(dst, [row[2] for row in rows])
            a, b = _neighbours(dst, [row[0] for row in rows]), _neighbours(dst, [row[1] for row in rows])
            if (first is None or a is None or b is None or inits.sfpu != init
                    or any(rows[i][2] in rows[j][:2] for j in range(n) for i in range(j))):  # reads what it wrote
                return False
            dst.store_block(first, n, fn(dst.load_block(a, n), dst.load_block(b, n)), rounding)
            return True

        return Instr(op, run, uses=(d0, d1, od), try_many=try_many)

    return compile_


def _scalar_binop(fn: Callable[[np.ndarray, np.float32], np.ndarray]) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        d, param = ctx.operands(op, "in")
        dst, inits = ctx.machine.dst, ctx.machine.inits
        rounding = ctx.machine.numerics.sfpu_trunc

        def run(env: Env) -> None:
            inits.require_sfpu("binop_with_scalar_tile_init")
            slot = env[d]
            dst.store(slot, fn(dst.load(slot), np.float32(bits_to_f32(env[param]))), rounding)

        return Instr(op, run)

    return compile_


def _fill(op: Op, ctx: Ctx) -> Instr:
    d, value = ctx.operands(op, "if")
    dst, inits = ctx.machine.dst, ctx.machine.inits
    rounding = ctx.machine.numerics.sfpu_trunc

    def run(env: Env) -> None:
        inits.require_sfpu("fill_tile_init")
        dst.store(env[d], np.float32(env[value]), rounding)

    return Instr(op, run)


def _fill_arange(op: Op, ctx: Ctx) -> Instr:
    """experimental::fill_arange_tile<format>(cb) (tt-mlir's experimental LLKs, on the unpack thread): element
    (i, j) = 32 * i + j written into the page at the CB's read pointer, which must be the front page compute
    waited for; a bf16 CB keeps the top 16 bits of each fp32 value (truncation, as the LLK shifts)."""
    (cb,) = ctx.operands(op, "c")

    def run(env: Env) -> None:
        env[cb].overwrite_front(ARANGE_BF16 if env[cb].dtype == "bf16" else ARANGE)

    return Instr(op, run)


ARANGE = np.arange(1024, dtype=np.float32).reshape(32, 32)
ARANGE_BF16 = numerics.trunc_bf16(ARANGE)


def _where(op: Op, ctx: Ctx) -> Instr:
    """where_tile(cond, true, false, out): the true tile's element where cond is non-zero, else the false
    one's (ckernel_sfpu_where.h: an SFPU select on the condition's sign-magnitude bits)."""
    c, t, f, o = ctx.operands(op, "iiii")
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_sfpu("where_tile_init")
        dst.store(env[o], np.where(dst.load(env[c]) != 0, dst.load(env[t]), dst.load(env[f])), numerics.copy_into)

    return Instr(op, run)


def _copy_dest(op: Op, ctx: Ctx) -> Instr:
    # Contract order (docs/mlir-subset.md, newest tt-mlir): (d_in, d_out).
    d_in, d_out = ctx.operands(op, "ii")
    dst, inits = ctx.machine.dst, ctx.machine.inits

    def run(env: Env) -> None:
        inits.require_sfpu("copy_dest_values_init")
        dst.store(env[d_out], dst.load(env[d_in]), numerics.copy_into)

    return Instr(op, run)


# -- packing ------------------------------------------------------------------------------------

L1_ACC_32B_DST = ("pack_tile with L1 accumulation into cb {cb} ({dtype} tiles) with fp32_dest_acc_en: the packer "
                  "converts the 32-bit DST value to the CB's format at a stage the accumulation does not expect, and "
                  "the sums come out wrong (tt-metal docs/L1_ACCUMULATION_FP32_ANALYSIS.md; its SDPA turns L1 "
                  "accumulation off under fp32_dest_acc_en, TODO #28800, and its matmul accumulates in Float32 CBs): "
                  "accumulate into an f32 CB, or without L1 accumulation")
_UNINDEXED = "pack_tile without out_of_order = true writes at the packer's own pointer (its index is ignored):"


def _pack(op: Op, ctx: Ctx) -> Instr:
    """pack_tile: DST -> CB through the edge masks (if reduce left them on), converted to the CB's format,
    written (or, under pack_reconfig_l1_acc, added) at the indexed tile with out_of_order = true, else at
    the packer's running pointer."""
    d, cb, i = ctx.operands(op, "ici")
    out_of_order = _bool_attr(op, ctx, "out_of_order")
    machine = ctx.machine
    dst, num = machine.dst, machine.numerics
    what = "pack_tile to tile" if out_of_order else f"{_UNINDEXED} tile"

    def run(env: Env) -> None:
        c = env[cb]
        tile = dst.pack_load(env[d])
        if machine.pack_mask is not None:
            tile = np.where(PACK_MASKS[(machine.arch, machine.pack_mask)], tile, np.float32(0.0))
        position = c.pack_position(env[i], out_of_order)
        if machine.pack_l1_acc:
            if num.fp32_dest and c.dtype != "f32":
                raise ProtocolError(L1_ACC_32B_DST.format(cb=c.cb_id, dtype=c.dtype))
            c.accumulate(position, tile, what, lambda x, out: num.pack(x, c.dtype, out))
        else:
            num.pack_dst(tile, c.dtype, c.page(position, what))

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
        "reduce_init": _reduce_init,
        "unary_bcast_init": _fpu_init("cc", _bcast_key, full=True),
        "transpose_wh_init": _fpu_init("cc", _plain_key, full=True),
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
        "exp_tile_init": _exp_init,
        "add_unary_tile": _scalar_binop(np.add),
        "sub_unary_tile": _scalar_binop(np.subtract),
        "mul_unary_tile": _scalar_binop(np.multiply),
        "div_unary_tile": _scalar_binop(np.divide),
        "binop_with_scalar_tile_init": _sfpu_init,
        "fill_tile": _fill,
        "fill_tile_init": _sfpu_init,
        "where_tile": _where,
        "experimental.fill_arange_tile": _fill_arange,
        "where_tile_init": _sfpu_init,
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
