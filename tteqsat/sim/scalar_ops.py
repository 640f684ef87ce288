"""Scalar and control-flow ops shared by every thread: arith, scf.for, func.return, kernel args."""

from __future__ import annotations

import operator
from collections.abc import Callable

from tteqsat.mlir_text.ir import FloatAttr, IntAttr, Op
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.program import FOR, RETURN, Compiler, Ctx, Env, Instr


def _constant(op: Op, ctx: Ctx) -> Instr:
    ctx.operands(op, "")
    attr = op.attr("value")
    ty = op.result_types[0] if op.result_types else ""
    value: int | float | bool
    if isinstance(attr, bool) and ty == "i1":
        value = attr
    elif isinstance(attr, IntAttr) and ty in ("index", "i32", "i64", "i8", "i1"):
        value = bool(attr.value) if ty == "i1" else attr.value
    elif isinstance(attr, FloatAttr) and ty in ("f32", "f64", "bf16", "f16"):
        value = attr.value
    else:
        raise ctx.error(op, f"unsupported constant {attr!r} of type {ty}")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = value

    return Instr(op, run)


def _int_binary(fn: Callable[[int, int], int], checks_zero: bool = False, expr: str | None = None) -> Compiler:
    """``expr`` (with ``{a}`` and ``{b}`` for the operands) is ``fn`` as Python source, for the generated code."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        a, b = ctx.operands(op, "ii")
        out = ctx.define(op)
        statement = None if expr is None else f"env[{out}] = " + expr.format(a=f"env[{a}]", b=f"env[{b}]")

        if checks_zero:

            def run(env: Env) -> None:
                if env[b] == 0:
                    raise ProtocolError("integer division by zero")
                env[out] = fn(env[a], env[b])

        else:

            def run(env: Env) -> None:
                env[out] = fn(env[a], env[b])

        return Instr(op, run, expr=statement)

    return compile_


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _trunc_rem(a: int, b: int) -> int:
    return a - b * _trunc_div(a, b)


def _index_cast(op: Op, ctx: Ctx) -> Instr:
    (a,) = ctx.operands(op, "i")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = env[a]

    return Instr(op, run, expr=f"env[{out}] = env[{a}]")


def _for(op: Op, ctx: Ctx) -> Instr:
    lb, ub, step = ctx.operands(op, "iii")
    if len(op.regions) != 1 or len(op.regions[0].args) != 1:
        raise ctx.error(op, "scf.for needs one region with exactly one block argument (no iter_args)")
    if op.results:
        raise ctx.error(op, "scf.for with results (loop-carried values) is not supported")
    iv = ctx.bind(op.regions[0].args[0][0])
    body = ctx.compile_block(op.regions[0])

    def bounds(env: Env) -> tuple[int, int, int]:
        s = env[step]
        if s <= 0:
            raise ProtocolError(f"scf.for step must be positive, got {s}")
        return env[lb], env[ub], s

    return Instr(op, bounds, kind=FOR, body=body, iv=iv)


def _return(op: Op, ctx: Ctx) -> Instr:
    if op.operands:
        raise ctx.error(op, "kernel functions return nothing")
    thread = ctx.thread
    dst = ctx.machine.dst if thread.kind == "compute" else None

    def run(env: Env) -> None:
        if thread.pending_reads:
            raise ProtocolError(
                f"thread ends with noc_async_read_tile into cb {sorted({c for c, _ in thread.pending_reads})} "
                "not completed by noc_async_read_barrier"
            )
        if thread.pending_writes:
            raise ProtocolError(
                f"thread ends with noc_async_write_tile from cb {sorted({c for c, _ in thread.pending_writes})} "
                "not completed by noc_async_write_barrier"
            )
        if dst is not None:
            problem = dst.open_sections()
            if problem:
                raise ProtocolError(problem)

    return Instr(op, run, kind=RETURN)


def _compile_time_arg(op: Op, ctx: Ctx) -> Instr:
    """``get_compile_time_arg_val``: word ``arg_index`` of the kernel's compile-time args (from the host
    program); a CB-typed result is the CB with that id."""
    ctx.operands(op, "")
    index = ctx.int_attr(op, "arg_index")
    args = ctx.thread.compile_time_args
    if not 0 <= index < len(args):
        raise ctx.error(op, f"compile-time arg {index} does not exist: kernel {ctx.thread.name} has {len(args)}")
    value: object = args[index]
    ty = op.result_types[0] if op.result_types else ""
    if ty.startswith("!ttkernel.cb<"):
        value = ctx.machine.cbs.get(args[index])
        if value is None:
            raise ctx.error(op, f"compile-time arg {index} is {args[index]}, which is not a CB of the program")
    elif ty not in ("i32", "index"):
        raise ctx.error(op, f"compile-time arg of type {ty} is not supported")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = value

    return Instr(op, run)


def _runtime_arg(common: bool) -> Compiler:
    """``get_common_arg_val`` / ``get_arg_val``: the kernel's common or this core's runtime arg."""

    def compile_(op: Op, ctx: Ctx) -> Instr:
        (index,) = ctx.operands(op, "i")
        out = ctx.define(op)
        thread = ctx.thread
        what = "common runtime" if common else "per-core runtime"
        name = thread.name

        def run(env: Env) -> None:
            args = thread.common_args if common else thread.runtime_args  # read as it runs: they change by core
            i = env[index]
            if not 0 <= i < len(args):
                raise ProtocolError(f"{what} arg {i} does not exist: kernel {name} has {len(args)}")
            env[out] = args[i]

        return Instr(op, run)

    return compile_


SCALAR_OPS: dict[str, Compiler] = {
    "arith.constant": _constant,
    "arith.addi": _int_binary(operator.add, expr="{a} + {b}"),
    "arith.subi": _int_binary(operator.sub, expr="{a} - {b}"),
    "arith.muli": _int_binary(operator.mul, expr="{a} * {b}"),
    "arith.divsi": _int_binary(_trunc_div, checks_zero=True),
    "arith.remsi": _int_binary(_trunc_rem, checks_zero=True),
    "arith.divui": _int_binary(operator.floordiv, checks_zero=True),
    "arith.remui": _int_binary(operator.mod, checks_zero=True),
    "arith.minui": _int_binary(min, expr="min({a}, {b})"),
    "arith.maxui": _int_binary(max, expr="max({a}, {b})"),
    "arith.minsi": _int_binary(min, expr="min({a}, {b})"),
    "arith.maxsi": _int_binary(max, expr="max({a}, {b})"),
    "arith.floordivsi": _int_binary(operator.floordiv, checks_zero=True),
    "arith.ceildivsi": _int_binary(lambda a, b: -(-a // b), checks_zero=True),
    "arith.index_cast": _index_cast,
    "scf.for": _for,
    "func.return": _return,
    "ttkernel.get_compile_time_arg_val": _compile_time_arg,
    "ttkernel.get_arg_val": _runtime_arg(common=False),
    "ttkernel.get_common_arg_val": _runtime_arg(common=True),
}
