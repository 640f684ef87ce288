"""CB synchronisation ops (any thread) and NoC/DRAM ops (reader and writer threads).

The pinned dataflow forms are documented in docs/mlir-subset.md (emitted by
`tteqsat.lowering.dataflow`). Async NoC transfers complete immediately in the model, but a
thread must still issue the matching barrier before it publishes (``cb_push_back``) or frees
(``cb_pop_front``) the CB pages involved, exactly as real kernels must.
"""

from __future__ import annotations

from tteqsat.mlir_text.ir import Op
from tteqsat.sim.dram import AddrGen, L1Map
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

    def run(env: Env) -> None:
        c = env[cb]
        if c.cb_id in pending:
            raise ProtocolError(
                f"cb {c.cb_id}: cb_push_back before noc_async_read_barrier completed the reads into it"
            )
        c.push(env[n])

    return Instr(op, run)


def _pop(op: Op, ctx: Ctx) -> Instr:
    cb, n = ctx.operands(op, "cn")
    pending = ctx.thread.pending_writes

    def run(env: Env) -> None:
        c = env[cb]
        if c.cb_id in pending:
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


def _addr_gen(op: Op, ctx: Ctx) -> Instr:
    is_dram, base, page, fmt = ctx.operands(op, "bnnd")
    out = ctx.define(op)

    def run(env: Env) -> None:
        if not env[is_dram]:
            raise ProtocolError("only DRAM (DRAM = true) interleaved tensors are modelled")
        env[out] = AddrGen(True, env[base], env[page], env[fmt])

    return Instr(op, run)


def _check_transfer(gen: AddrGen, dtype: str, tensor_dtype: str, name: str) -> None:
    if gen.page_size != TILE_BYTES[tensor_dtype]:
        raise ProtocolError(
            f"page size {gen.page_size} does not match a {tensor_dtype} tile of tensor {name!r} "
            f"({TILE_BYTES[tensor_dtype]} bytes)"
        )
    if gen.data_format != tensor_dtype or dtype != tensor_dtype:
        raise ProtocolError(
            f"data format mismatch: tensor {name!r} is {tensor_dtype}, address generator says "
            f"{gen.data_format}, cb holds {dtype}"
        )


def _read_tile(op: Op, ctx: Ctx) -> Instr:
    tile_id, gen, addr = ctx.operands(op, "ngn")
    dram, l1 = ctx.machine.dram, ctx.machine.l1
    pending = ctx.thread.pending_reads

    def run(env: Env) -> None:
        g: AddrGen = env[gen]
        tensor = dram.tensor_at(g.base)
        spec = dram.specs[tensor]
        tid = env[tile_id]
        dram.check_tile(tensor, tid)
        cb, slot = l1.resolve(env[addr])
        _check_transfer(g, cb.dtype, spec.dtype, spec.name)
        cb.write(cb.slot_of_offset(cb.write_ptr, slot), dram.tiles[tensor][tid])
        pending.add(cb.cb_id)

    return Instr(op, run)


def _write_tile(op: Op, ctx: Ctx) -> Instr:
    tile_id, gen, addr = ctx.operands(op, "igi")
    dram, l1 = ctx.machine.dram, ctx.machine.l1
    pending = ctx.thread.pending_writes

    def run(env: Env) -> None:
        g: AddrGen = env[gen]
        tensor = dram.tensor_at(g.base)
        spec = dram.specs[tensor]
        if spec.role != "out":
            raise ProtocolError(f"noc_async_write_tile into input tensor {spec.name!r}")
        tid = env[tile_id]
        dram.check_tile(tensor, tid)
        cb, slot = l1.resolve(env[addr])
        _check_transfer(g, cb.dtype, spec.dtype, spec.name)
        dram.tiles[tensor][tid] = cb.read(cb.slot_of_offset(cb.read_ptr, slot)).copy()
        dram.written[tensor][tid] = True
        pending.add(cb.cb_id)

    return Instr(op, run)


def _barrier(which: str) -> Compiler:
    def compile_(op: Op, ctx: Ctx) -> Instr:
        ctx.operands(op, "")
        pending = ctx.thread.pending_reads if which == "read" else ctx.thread.pending_writes

        def run(env: Env) -> None:
            pending.clear()

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
    "ttkernel.get_interleaved_addr_gen_fast": _addr_gen,
    "ttkernel.noc_async_read_tile": _read_tile,
    "ttkernel.noc_async_read_barrier": _barrier("read"),
    "ttkernel.noc_async_write_tile": _write_tile,
    "ttkernel.noc_async_write_barrier": _barrier("write"),
}
"""Dataflow ops, legal only in noc threads."""
