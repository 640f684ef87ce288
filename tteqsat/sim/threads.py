"""A thread's compiled instructions turned into one Python generator function.

Walking the instruction tree op by op (a generator per loop iteration, a dispatch on each instruction's kind,
bookkeeping per op) costs more than most ops do. Here the tree becomes Python source instead: one call per op
(or the op's own one-line `Instr.expr`), an ``scf.for`` as a Python ``for`` loop, a blocking op as a poll that
yields to the scheduler until it is ready. Ops that can run several executions at once (`Instr.try_many`) get
them batched: a loop whose body is such an op and index arithmetic, and a run of such ops of one batch key
between index arithmetic; when the op declines, the same executions run one by one. The source depends only on
the tree's shape and slot numbers (its compiled code is cached); the interpreter builds it once per function
and runs it on every core.

Nothing is counted per op: every op of a block runs once each time the block runs (a ``func.return`` ends its
block, so ops after it are left out), so an op's count is its block's, and a loop adds its trip count to its
body's. The op that raised is found from the line of the generated frame in the traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from types import CodeType, TracebackType
from typing import Any

from tteqsat.sim.program import BLOCKING, FOR, PLAIN, Env, Instr

FILENAME = "<tteqsat.sim thread>"
_MAX_NESTING = 6  # Python allows 20 nested blocks; a loop deeper than this gets its own generator function


@lru_cache(maxsize=32)
def _compiled(source: str) -> CodeType:
    return compile(source, FILENAME, "exec")


def _batched(body: list[Instr]) -> Instr | None:
    """The op of a loop body that runs as one `Instr.try_many` call: the body is that op and ops with an
    ``expr`` (which cannot fail, so running them first changes nothing)."""
    ops = [ins for ins in body if ins.expr is None]
    if len(ops) != 1 or ops[0].kind != PLAIN or ops[0].try_many is None:
        return None
    return ops[0]


def _run_of(instrs: list[Instr], start: int) -> tuple[list[Instr], int]:
    """The ops from ``instrs[start]`` on that share its ``batch`` key, separated only by ``expr`` ops (SSA: an
    op never reads a value defined after it, so those can run first), and the index past the last of them."""
    key = instrs[start].batch
    members, end = [instrs[start]], start + 1
    k = start + 1
    while k < len(instrs) and (instrs[k].expr is not None or instrs[k].batch == key):
        if instrs[k].expr is None:
            members.append(instrs[k])
            end = k + 1
        k += 1
    return members, end


class ThreadCode:
    """The generated generator of one function's body, bound to its compiled instructions.

    ``start(env, thread)`` returns the generator for one core; ``thread`` needs ``current`` (set to a blocking
    op while it waits, for the deadlock report) and ``progress`` (counts waits that ended). After a complete
    run, `set_counts` stores each op's execution count in `Instr.count`.
    """

    def __init__(self, body: list[Instr]) -> None:
        self.instrs: list[Instr] = []  # in source order; the source names instruction k as r{k}, q{k}, i{k}
        self.block_of: list[int] = []  # block number of each instruction; block 0 is the function body
        self.blocks = 1
        self.line_instr: dict[int, Instr] = {}
        self._lines: list[str] = []
        self._subs: list[tuple[int, list[Instr]]] = []  # loop bodies emitted as generators of their own
        self._emit_def(0, body)
        while self._subs:
            self._emit_def(*self._subs.pop(0))
        binds = [f"    i{k} = I[{k}]; r{k} = i{k}.run; q{k} = i{k}.ready" for k in range(len(self.instrs))]
        header = ["def make(I, C, th):", *binds]
        self.line_instr = {line + len(header): ins for line, ins in self.line_instr.items()}  # defs follow it
        self.source = "\n".join([*header, *self._lines, "    return g0", ""])
        namespace: dict[str, Any] = {}
        exec(_compiled(self.source), namespace)  # noqa: S102 - source built above from slot numbers only
        self._make: Callable[..., Callable[[Env], Iterator[None]]] = namespace["make"]
        self.counts = [0] * self.blocks

    # -- source ------------------------------------------------------------------------------------------
    def _line(self, depth: int, text: str, ins: Instr | None = None) -> None:
        self._lines.append("    " * depth + text)
        if ins is not None:
            self.line_instr[len(self._lines)] = ins  # 1-based line numbers, shifted past the header later

    def _emit_def(self, block: int, instrs: list[Instr]) -> None:
        self._line(1, f"def g{block}(env):")
        if block == 0:
            self._line(2, "C[0] += 1")
        self._emit_block(block, instrs, 2, 0)
        self._line(2, "return")
        self._line(2, "yield")  # makes it a generator even when nothing in it blocks

    def _emit_block(self, block: int, instrs: list[Instr], depth: int, nesting: int) -> None:
        emitted = False
        position = 0
        while position < len(instrs):
            ins = instrs[position]
            position += 1
            if ins.batch is not None and ins.kind == PLAIN:
                members, end = _run_of(instrs, position - 1)
                if len(members) > 1:
                    self._emit_run(block, instrs[position - 1:end], members, depth)
                    position = end
                    emitted = True
                    continue
            k = len(self.instrs)
            self.instrs.append(ins)
            self.block_of.append(block)
            emitted = True
            if ins.kind == PLAIN:
                self._line(depth, ins.expr if ins.expr is not None else f"r{k}(env)", ins)
            elif ins.kind == BLOCKING:
                self._line(depth, f"if not q{k}(env):", ins)
                self._line(depth + 1, f"th.current = i{k}")
                self._line(depth + 1, "yield")
                self._line(depth + 1, f"while not q{k}(env):", ins)
                self._line(depth + 2, "yield")
                self._line(depth + 1, "th.progress += 1")
                self._line(depth, f"r{k}(env)", ins)
            elif ins.kind == FOR:
                body = self.blocks
                self.blocks += 1
                self._line(depth, f"_r = range(*r{k}(env))", ins)
                self._line(depth, f"C[{body}] += len(_r)", ins)
                batched = _batched(ins.body)
                if batched is not None:
                    self._emit_batched(body, ins, batched, depth)
                    continue
                self._line(depth, f"for env[{ins.iv}] in _r:", ins)
                if nesting + 1 >= _MAX_NESTING:
                    self._line(depth + 1, f"yield from g{body}(env)", ins)
                    self._subs.append((body, ins.body))
                else:
                    self._emit_block(body, ins.body, depth + 1, nesting + 1)
            else:  # RETURN: its checks, then the rest of its block never runs
                self._line(depth, f"r{k}(env)", ins)
                break
        if not emitted:
            self._line(depth, "pass")

    def _register(self, block: int, ins: Instr) -> int:
        self.instrs.append(ins)
        self.block_of.append(block)
        return len(self.instrs) - 1

    def _emit_batched(self, block: int, loop: Instr, op: Instr, depth: int) -> None:
        """A loop of index arithmetic around one op with ``try_many``: the arithmetic runs iteration by
        iteration collecting the op's operands, then the op runs once for all of them, or, if it declines, the
        loop runs again op by op."""
        index = {id(ins): self._register(block, ins) for ins in loop.body}
        row = "(" + "".join(f"env[{u}], " for u in op.uses) + ")"
        self._line(depth, "_rows = []", loop)
        self._line(depth, f"for env[{loop.iv}] in _r:", loop)
        for ins in loop.body:
            self._line(depth + 1, f"_rows.append({row})" if ins is op else ins.expr, ins)  # type: ignore[arg-type]
        self._line(depth, f"if _rows and not i{index[id(op)]}.try_many(_rows):", op)
        self._line(depth + 1, f"for env[{loop.iv}] in _r:", loop)
        for ins in loop.body:
            self._line(depth + 2, f"r{index[id(ins)]}(env)" if ins is op else ins.expr, ins)  # type: ignore[arg-type]

    def _emit_run(self, block: int, instrs: list[Instr], members: list[Instr], depth: int) -> None:
        """A run of ops of one batch key between ``expr`` ops: the ``expr`` ops first, then the run as one
        ``try_many`` call, or, if it declines, op by op."""
        index = {id(ins): self._register(block, ins) for ins in instrs}
        for ins in instrs:
            if ins.expr is not None:
                self._line(depth, ins.expr, ins)
        rows = ", ".join("(" + "".join(f"env[{u}], " for u in ins.uses) + ")" for ins in members)
        self._line(depth, f"if not i{index[id(members[0])]}.try_many([{rows}]):", members[0])
        for ins in members:
            self._line(depth + 1, f"r{index[id(ins)]}(env)", ins)

    # -- running -----------------------------------------------------------------------------------------
    def start(self, env: Env, thread: Any) -> Iterator[None]:
        self.counts = [0] * self.blocks
        return self._make(self.instrs, self.counts, thread)(env)

    def set_counts(self) -> None:
        for ins, block in zip(self.instrs, self.block_of, strict=True):
            ins.count = self.counts[block]

    def instr_at(self, tb: TracebackType | None) -> Instr | None:
        """The instruction whose line the innermost generated frame of traceback ``tb`` was executing."""
        found = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                found = self.line_instr.get(tb.tb_lineno, found)
            tb = tb.tb_next
        return found
