"""Compilation of parsed functions into executable instruction lists.

Each op is turned once into an `Instr` holding a closure over pre-resolved SSA slot numbers,
so executing a kernel with thousands of tile ops costs one Python call per op and no
re-parsing or dictionary lookups of names. Op semantics live in `scalar_ops`,
`compute_ops` and `dataflow_ops`; this module holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tteqsat.mlir_text.ir import Block, EnumAttr, IntAttr, Op
from tteqsat.sim.errors import SimulationError, located
from tteqsat.sim.machine import Machine, ThreadState

Env = list[Any]
"""SSA values of one running function, indexed by slot number."""

PLAIN, BLOCKING, FOR, RETURN = 0, 1, 2, 3


class Instr:
    """One compiled op.

    ``kind`` selects how the interpreter runs it: PLAIN calls ``run(env)``; BLOCKING first
    polls ``ready(env)`` (yielding to other threads until true) and uses ``why(env)`` to explain
    a deadlock; FOR calls ``run(env)`` for (lb, ub, step) and executes ``body`` with the
    induction variable in slot ``iv``; RETURN runs its end-of-thread checks and stops.

    ``expr``, for a PLAIN op whose effect is one Python statement over ``env`` (integer arithmetic that cannot
    fail), is that statement: the thread's generated code runs it in place of calling ``run``, which does the
    same.

    ``try_many(rows)``, for a PLAIN op, does in one go what running it once per row in order would, where a row
    holds the values of the env slots ``uses`` at one execution (for ops of the same ``batch`` key, any of
    them), and returns True; or, when some execution could fail or the rows do not fit its batched form,
    changes nothing and returns False, and the executions run one by one. The thread's generated code
    (`tteqsat.sim.threads`) uses it for a loop whose body is this op and ``expr`` ops (a matmul accumulating
    over K, a reduce over a row of tiles), and for a run of ops with one ``batch`` key separated only by
    ``expr`` ops (the same SFPU op on each DST slot of a section).
    """

    __slots__ = ("op", "kind", "run", "ready", "why", "body", "iv", "count", "expr", "uses", "try_many", "batch")

    def __init__(
        self,
        op: Op,
        run: Callable[[Env], Any],
        kind: int = PLAIN,
        ready: Callable[[Env], bool] | None = None,
        why: Callable[[Env], str] | None = None,
        body: list[Instr] | None = None,
        iv: int = -1,
        expr: str | None = None,
        uses: tuple[int, ...] = (),
        try_many: Callable[[list[tuple[Any, ...]]], bool] | None = None,
    ) -> None:
        self.op = op
        self.kind = kind
        self.run = run
        self.ready = ready
        self.why = why
        self.body = body or []
        self.iv = iv
        self.count = 0
        self.expr = expr
        self.uses = uses
        self.try_many = try_many
        self.batch: tuple[str, ...] | None = None if try_many is None else batch_key(op)


def batch_key(op: Op) -> tuple[str, ...]:
    """What ops must share to run through one another's ``try_many``: name, operand types and attributes (what
    their compiled closures differ in, besides operand slots)."""
    return (op.name, *op.operand_types, repr(sorted(op.attributes.items())))


# Operand signature letters for `Ctx.operands`.
_INDEX_LIKE = ("index", "i32")
_SIG_TYPES: dict[str, Callable[[str], bool]] = {
    "c": lambda t: t.startswith("!ttkernel.cb<"),
    "i": lambda t: t in _INDEX_LIKE,
    "n": lambda t: t == "i32",
    "f": lambda t: t == "f32",
    "b": lambda t: t == "i1",
    "t": lambda t: t == "!ttkernel.TensorAccessor",
    "d": lambda t: t == "!ttkernel.DataFormat",
}
_SIG_NAMES = {
    "c": "a !ttkernel.cb",
    "i": "index or i32",
    "n": "i32",
    "f": "f32",
    "b": "i1",
    "t": "!ttkernel.TensorAccessor",
    "d": "!ttkernel.DataFormat",
}

Compiler = Callable[[Op, "Ctx"], Instr]


class Ctx:
    """Compile-time context of one function: SSA slot allocation plus machine and thread."""

    def __init__(
        self,
        machine: Machine,
        thread: ThreadState,
        table: dict[str, Compiler],
        elsewhere: frozenset[str] = frozenset(),
    ) -> None:
        self.machine = machine
        self.thread = thread
        self.table = table
        self.elsewhere = elsewhere  # ops legal only in the other kind of thread
        self.slots: dict[str, int] = {}
        self.instrs: list[Instr] = []

    # -- errors and operands -------------------------------------------------------------
    @staticmethod
    def error(op: Op, message: str) -> SimulationError:
        return located(op.line, op.name, message)

    def slot(self, op: Op, name: str) -> int:
        try:
            return self.slots[name]
        except KeyError:
            raise self.error(op, f"use of undefined value {name}") from None

    def operands(self, op: Op, signature: str) -> list[int]:
        """Slots of the operands, checked against ``signature`` (one letter per operand)."""
        if len(op.operands) != len(signature):
            raise self.error(op, f"expected {len(signature)} operands, got {len(op.operands)}")
        for k, (letter, ty) in enumerate(zip(signature, op.operand_types, strict=True)):
            if letter != "a" and not _SIG_TYPES[letter](ty):
                raise self.error(op, f"operand #{k} must be {_SIG_NAMES[letter]}, got {ty}")
        return [self.slot(op, name) for name in op.operands]

    def define(self, op: Op, index: int = 0) -> int:
        if index >= len(op.results):
            raise self.error(op, f"expected at least {index + 1} results, got {len(op.results)}")
        return self.bind(op.results[index])

    def bind(self, name: str) -> int:
        slot = self.slots.get(name)
        if slot is None:
            slot = len(self.slots)
            self.slots[name] = slot
        return slot

    def enum(self, op: Op, key: str, allowed: tuple[str, ...]) -> str:
        """The value of enum attribute ``key``, which must be one of ``allowed``."""
        attr = op.attr(key)
        if not isinstance(attr, EnumAttr) or attr.value not in allowed:
            shown = "missing" if attr is None else repr(attr)
            raise self.error(op, f"attribute {key} must be one of {', '.join(allowed)} ({shown})")
        return attr.value

    def int_attr(self, op: Op, key: str, default: int | None = None) -> int:
        attr = op.attr(key)
        if attr is None and default is not None:
            return default
        if not isinstance(attr, IntAttr):
            raise self.error(op, f"attribute {key} must be an integer")
        return attr.value

    # -- compilation ---------------------------------------------------------------------
    def compile_block(self, block: Block) -> list[Instr]:
        out: list[Instr] = []
        for op in block.ops:
            if op.name == "scf.yield":
                if op.operands:
                    raise self.error(op, "scf.yield with values (loop-carried values) is not supported")
                continue
            compiler = self.table.get(op.name)
            if compiler is None:
                if op.name in self.elsewhere:
                    raise self.error(op, f"op is not supported in a {self.thread.kind} thread")
                raise self.error(op, "unsupported op (not in the simulator's MLIR subset)")
            instr = compiler(op, self)
            if self.machine.timing is not None:
                instr = self.machine.timing.wrap(instr, self)
            self.instrs.append(instr)
            out.append(instr)
        return out
