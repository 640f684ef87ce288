"""CB synchronisation ops (any thread) and NoC/DRAM ops (reader and writer threads).

The pinned dataflow forms are documented in docs/mlir-subset.md (emitted by
`tteqsat.lowering.dataflow`): a ``TensorAccessor`` built from ``TensorAccessorArgs`` (which read the
kernel's compile-time args), a base address and a page size addresses DRAM tiles. Async NoC transfers
complete immediately in the model, but a thread must still issue the matching barrier, on the NoC the
transfer used, before it publishes (``cb_push_back``) or frees (``cb_pop_front``) the CB pages involved,
exactly as real kernels must.
"""

from __future__ import annotations

from tteqsat.mlir_text.ir import Op
from tteqsat.sim.dram import Accessor, AccessorArgs, L1Map
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.program import BLOCKING, Compiler, Ctx, Env, Instr
from tteqsat.sim.tiles import TILE_BYTES

# -- CB synchronisation -------------------------------------------------------------------------


def _reserve(op: Op, ctx: Ctx) -> Instr:
    cb, n = ctx.operands(op, "cn")

    def ready(env: Env) -> bool:
        return env[cb].can_reserve(env[n])

    def run(env: Env) -> None:
        env[cb].reserve(env[n])

    def why(env: Env) -> str:
        c = env[cb]
        return f"waiting for {env[n]} free pages in cb {c.cb_id} ({c.capacity - c.published} free)"

    return Instr(op, run, kind=BLOCKING, ready=ready, why=why)


def _wait(op: Op, ctx: Ctx) -> Instr:
    cb, n = ctx.operands(op, "cn")

    def ready(env: Env) -> bool:
        return env[cb].can_wait(env[n])

    def run(env: Env) -> None:
        env[cb].wait(env[n])

    def why(env: Env) -> str:
        c = env[cb]
        return f"waiting for {env[n]} tiles in cb {c.cb_id} ({c.published} published)"

    return Instr(op, run, kind=BLOCKING, ready=ready, why=why)


def _push(op: Op, ctx: Ctx) -> Instr:
    cb, n = ctx.operands(op, "cn")
    pending = ctx.thread.pending_reads
    sent = ctx.thread.pending_writes  # a reader's: multicasts from the CB (sim/multicast_ops.py)

    def run(env: Env) -> None:
        c = env[cb]
        if pending and any(p[0] == c.cb_id for p in pending):
            raise ProtocolError(
                f"cb {c.cb_id}: cb_push_back before noc_async_read_barrier completed the reads into it"
            )
        if sent and any(p[0] == c.cb_id for p in sent):
            raise ProtocolError(
                f"cb {c.cb_id}: cb_push_back before noc_async_write_barrier completed the multicast from it"
            )
        c.push(env[n])

    return Instr(op, run)


def _pop(op: Op, ctx: Ctx) -> Instr:
    cb, n = ctx.operands(op, "cn")
    pending = ctx.thread.pending_writes

    def run(env: Env) -> None:
        c = env[cb]
        if pending and any(p[0] == c.cb_id for p in pending):
            raise ProtocolError(
                f"cb {c.cb_id}: cb_pop_front before noc_async_write_barrier completed the writes from it"
            )
        c.pop(env[n])

    return Instr(op, run)


# -- CB queries ---------------------------------------------------------------------------------


def _cb_query(getter_name: str) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        (cb,) = ctx.operands(op, "c")
        out = ctx.define(op)
        if getter_name == "write_ptr":

            def run(env: Env) -> None:
                c = env[cb]
                env[out] = L1Map.address(c, c.write_ptr)

        elif getter_name == "read_ptr":

            def run(env: Env) -> None:
                c = env[cb]
                env[out] = L1Map.address(c, c.read_ptr)

        elif getter_name == "tile_size":

            def run(env: Env) -> None:
                env[out] = env[cb].tile_bytes

        else:

            def run(env: Env) -> None:
                env[out] = env[cb].dtype

        return Instr(op, run)

    return compile_


# -- NoC / DRAM ---------------------------------------------------------------------------------


def _noc_operand(op: Op, ctx: Ctx, slots: list[int], fixed: int) -> int | None:
    """Slot of the optional trailing ``noc`` operand (an ``i8`` 0 or 1), or None: the kernel's default NoC."""
    if len(op.operands) == fixed:
        return None
    if len(op.operands) != fixed + 1 or op.operand_types[-1] != "i8":
        raise ctx.error(op, f"expected {fixed} operands and an optional i8 noc, got {len(op.operands)} operands")
    return slots[-1]


def _operands_with_noc(op: Op, ctx: Ctx, signature: str) -> tuple[list[int], int | None]:
    fixed = len(signature)
    sig = signature + ("a" if len(op.operands) == fixed + 1 else "")
    slots = ctx.operands(op, sig)
    return slots[:fixed], _noc_operand(op, ctx, slots, fixed)


def _noc_index(env: Env, slot: int | None, default: int) -> int:
    if slot is None:
        return default
    noc = env[slot]
    if noc not in (0, 1):
        raise ProtocolError(f"noc must be 0 or 1, got {noc}")
    return noc


def _accessor_args(op: Op, ctx: Ctx) -> Instr:
    """``TensorAccessorArgs(cta_base, crta_base)`` or chained ``TensorAccessorArgs(prev)``: reads the
    tensor's compile-time words ``[config, page size]``; only interleaved DRAM tensors are modelled."""
    segments = op.attr("operandSegmentSizes")
    counts = getattr(segments, "values", None)
    if counts == (1, 1, 0):
        cta, crta = ctx.operands(op, "nn")
        prev = None
    elif counts == (0, 0, 1):
        if op.operand_types != ["!ttkernel.TensorAccessorArgs"]:
            raise ctx.error(op, "the chained form takes one !ttkernel.TensorAccessorArgs operand")
        (prev,) = ctx.operands(op, "a")
        cta = crta = -1
    else:
        raise ctx.error(op, "operandSegmentSizes must be array<i32: 1, 1, 0> (cta_base, crta_base) or "
                        "array<i32: 0, 0, 1> (chained from the previous accessor args)")
    args = ctx.thread.compile_time_args
    name = ctx.thread.name
    out = ctx.define(op)

    def run(env: Env) -> None:
        if prev is not None:
            before: AccessorArgs = env[prev]
            offset, common = before.next_cta, before.crta_offset
        else:
            offset, common = env[cta], env[crta]
        if not 0 <= offset <= len(args) - 2:
            raise ProtocolError(f"TensorAccessorArgs at compile-time arg {offset}: kernel {name} has only "
                                f"{len(args)} compile-time args (an interleaved tensor needs 2)")
        config, page = args[offset], args[offset + 1]
        if config != 2:
            raise ProtocolError(f"TensorAccessorArgs at compile-time arg {offset}: config {config} is not an "
                                "interleaved DRAM tensor (IsDram = 2); only those are modelled")
        env[out] = AccessorArgs(offset, common, config, page)

    return Instr(op, run)


def _accessor(op: Op, ctx: Ctx) -> Instr:
    """``TensorAccessor(args, base, [page_size])``; without a page size the args' page size applies."""
    if op.operand_types[:1] != ["!ttkernel.TensorAccessorArgs"]:
        raise ctx.error(op, "operand #0 must be !ttkernel.TensorAccessorArgs")
    slots = ctx.operands(op, "ann" if len(op.operands) == 3 else "an")
    args, base = slots[0], slots[1]
    page = slots[2] if len(slots) == 3 else None
    out = ctx.define(op)

    def run(env: Env) -> None:
        a: AccessorArgs = env[args]
        env[out] = Accessor(env[base], env[page] if page is not None else a.page_size)

    return Instr(op, run)


def _check_transfer(acc: Accessor, dtype: str, tensor_dtype: str, name: str) -> None:
    if acc.page_size != TILE_BYTES[tensor_dtype]:
        raise ProtocolError(
            f"page size {acc.page_size} does not match a {tensor_dtype} tile of tensor {name!r} "
            f"({TILE_BYTES[tensor_dtype]} bytes)"
        )
    if dtype != tensor_dtype:
        raise ProtocolError(f"data format mismatch: tensor {name!r} is {tensor_dtype}, cb holds {dtype}")


def _read_tile(op: Op, ctx: Ctx) -> Instr:
    (tile_id, acc, addr), noc = _operands_with_noc(op, ctx, "ntn")
    dram, l1 = ctx.machine.dram, ctx.machine.l1
    pending = ctx.thread.pending_reads
    default = ctx.thread.noc

    def run(env: Env) -> None:
        a: Accessor = env[acc]
        tensor = dram.tensor_at(a.base)
        spec = dram.specs[tensor]
        tid = env[tile_id]
        dram.check_tile(tensor, tid)
        cb, slot = l1.resolve(env[addr])
        _check_transfer(a, cb.dtype, spec.dtype, spec.name)
        # same format (checked above); the page must be one the thread reserved
        cb.store(cb.slot_of_offset(cb.write_ptr, slot), dram.tiles[tensor][tid], "noc_async_read_tile into page")
        pending.add((cb.cb_id, _noc_index(env, noc, default)))

    return Instr(op, run)


def _write_tile(op: Op, ctx: Ctx) -> Instr:
    (tile_id, acc, addr), noc = _operands_with_noc(op, ctx, "itn")
    dram, l1 = ctx.machine.dram, ctx.machine.l1
    pending = ctx.thread.pending_writes
    default = ctx.thread.noc

    def run(env: Env) -> None:
        a: Accessor = env[acc]
        tensor = dram.tensor_at(a.base)
        spec = dram.specs[tensor]
        if spec.role != "out":
            raise ProtocolError(f"noc_async_write_tile into input tensor {spec.name!r}")
        tid = env[tile_id]
        dram.check_tile(tensor, tid)
        cb, slot = l1.resolve(env[addr])
        _check_transfer(a, cb.dtype, spec.dtype, spec.name)
        dram.tiles[tensor][tid] = cb.read(cb.slot_of_offset(cb.read_ptr, slot)).copy()
        dram.written[tensor][tid] = True
        pending.add((cb.cb_id, _noc_index(env, noc, default)))

    return Instr(op, run)


def _barrier(which: str) -> Compiler:
    """A barrier completes the transfers this thread issued on its NoC (the operand, else the default)."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        _, noc = _operands_with_noc(op, ctx, "")
        pending = ctx.thread.pending_reads if which == "read" else ctx.thread.pending_writes
        default = ctx.thread.noc

        def run(env: Env) -> None:
            if pending:
                n = _noc_index(env, noc, default)
                pending.difference_update([p for p in pending if p[1] == n])

        return Instr(op, run)

    return compile_


CB_OPS: dict[str, Compiler] = {
    "ttkernel.cb_reserve_back": _reserve,
    "ttkernel.cb_push_back": _push,
    "ttkernel.cb_wait_front": _wait,
    "ttkernel.cb_pop_front": _pop,
}
"""CB synchronisation ops, legal in every thread."""

NOC_OPS: dict[str, Compiler] = {
    "ttkernel.get_write_ptr": _cb_query("write_ptr"),
    "ttkernel.get_read_ptr": _cb_query("read_ptr"),
    "ttkernel.get_tile_size": _cb_query("tile_size"),
    "ttkernel.get_dataformat": _cb_query("dataformat"),
    "ttkernel.TensorAccessorArgs": _accessor_args,
    "ttkernel.TensorAccessor": _accessor,
    "ttkernel.noc_async_read_tile": _read_tile,
    "ttkernel.noc_async_read_barrier": _barrier("read"),
    "ttkernel.noc_async_write_tile": _write_tile,
    "ttkernel.noc_async_write_barrier": _barrier("write"),
}
"""Dataflow ops, legal only in noc threads."""
