"""Runs a kernel module: reader, compute and writer as cooperative threads.

Each thread is a generator over its compiled instructions that yields only when it blocks on
a CB (``cb_reserve_back`` / ``cb_wait_front``). The scheduler resumes threads round-robin in
module order; when a full round passes in which no thread unblocked or finished, every
thread is waiting on another and the run is reported as a deadlock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from tteqsat.mlir_text.ir import EnumAttr, IntAttr, Module, Op, func_body, func_name
from tteqsat.mlir_text.parser import MlirSyntaxError, parse_module
from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.compute_ops import COMPUTE_OPS
from tteqsat.sim.dataflow_ops import CB_OPS, NOC_OPS
from tteqsat.sim.dram import Dram, L1Map, parse_tensor_spec
from tteqsat.sim.dst import DstRegisters
from tteqsat.sim.errors import ProtocolError, SimulationError, located
from tteqsat.sim.machine import Machine, ThreadState
from tteqsat.sim.numerics import PRECISIONS, Numerics
from tteqsat.sim.program import BLOCKING, FOR, PLAIN, Compiler, Ctx, Env, Instr
from tteqsat.sim.scalar_ops import SCALAR_OPS
from tteqsat.sim.settings import compute_settings

_CB_TYPE_RE = re.compile(r"^!ttkernel\.cb<\s*(\d+)\s*,\s*!ttcore\.tile<\s*32x32\s*,\s*(bf16|f32)\s*>\s*>$")

_TABLES: dict[str, dict[str, Compiler]] = {
    "compute": {**SCALAR_OPS, **CB_OPS, **COMPUTE_OPS},
    "noc": {**SCALAR_OPS, **CB_OPS, **NOC_OPS},
}
_ELSEWHERE: dict[str, frozenset[str]] = {"compute": frozenset(NOC_OPS), "noc": frozenset(COMPUTE_OPS)}


@dataclass
class SimResult:
    """Output tensors (element shape, float32) and execution statistics.

    ``stats`` keys: ``ops.<op name>`` executions per op, ``ops.total``, ``cb.<id>.capacity``,
    ``cb.<id>.max_occupancy`` (most pages reserved or published at once), ``dst.capacity``,
    ``dst.max_slot`` (highest DST slot written, -1 if none) and ``sched.rounds``.
    """

    outputs: dict[str, np.ndarray]
    stats: dict[str, int] = field(default_factory=dict)


class _Thread:
    __slots__ = ("state", "env", "body", "gen", "current", "progress")

    def __init__(self, state: ThreadState, env: Env, body: list[Instr]) -> None:
        self.state = state
        self.env = env
        self.body = body
        self.current: Instr | None = None
        self.progress = 0
        self.gen = _run_block(body, env, self)


def _run_block(instrs: list[Instr], env: Env, thread: _Thread) -> Iterator[None]:
    for ins in instrs:
        thread.current = ins
        ins.count += 1
        kind = ins.kind
        if kind == PLAIN:
            ins.run(env)
        elif kind == BLOCKING:
            ready = ins.ready
            if not ready(env):  # type: ignore[misc]
                yield
                while not ready(env):  # type: ignore[misc]
                    yield
                thread.progress += 1
            ins.run(env)
        elif kind == FOR:
            lb, ub, step = ins.run(env)
            body, iv = ins.body, ins.iv
            for i in range(lb, ub, step):
                env[iv] = i
                yield from _run_block(body, env, thread)
        else:  # RETURN
            ins.run(env)
            return


def _thread_kind(func: Op) -> str | None:
    attr = func.attributes.get("ttkernel.thread")
    if attr is None:
        return None
    valid = isinstance(attr, EnumAttr) and attr.kind == "ttkernel.thread"
    if not valid or attr.value not in ("compute", "noc"):
        raise located(func.line, "func.func", f"unsupported ttkernel.thread attribute {attr!r}")
    return attr.value


def _walk(ops: list[Op]) -> Iterator[Op]:
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


def _declare_cbs(funcs: list[Op]) -> dict[int, CircularBuffer]:
    """Create every CB named by a get_compile_time_arg_val; all declarations must agree."""
    cbs: dict[int, CircularBuffer] = {}
    for func in funcs:
        for op in _walk(func_body(func).ops):
            if op.name != "ttkernel.get_compile_time_arg_val" or not op.result_types:
                continue
            ty = op.result_types[0]
            if not ty.startswith("!ttkernel.cb<"):
                continue
            m = _CB_TYPE_RE.match(ty)
            index = op.attr("arg_index")
            if m is None or not isinstance(index, IntAttr):
                raise located(op.line, op.name, f"unsupported circular buffer declaration {ty}")
            capacity, dtype = int(m.group(1)), m.group(2)
            cb = cbs.get(index.value)
            if cb is None:
                try:
                    cbs[index.value] = CircularBuffer(index.value, capacity, dtype)
                except ProtocolError as e:
                    raise located(op.line, op.name, str(e)) from None
            elif (cb.capacity, cb.dtype) != (capacity, dtype):
                raise located(
                    op.line,
                    op.name,
                    f"cb {index.value} declared as {capacity} x {dtype} here but "
                    f"{cb.capacity} x {cb.dtype} elsewhere",
                )
    return cbs


def _tensor_specs(module: Module) -> list:
    raw = module.attributes.get("tteqsat.tensors", [])
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise located(module.line, "module", "tteqsat.tensors must be an array of strings")
    try:
        specs = [parse_tensor_spec(s) for s in raw]
    except ValueError as e:
        raise located(module.line, "module", str(e)) from None
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise located(module.line, "module", f"duplicate tensor name(s) {', '.join(dup)}")
    return specs


def _schedule(threads: list[_Thread]) -> int:
    """Run threads to completion; returns the number of scheduling rounds."""
    live = list(threads)
    rounds = 0
    first = True
    while live:
        rounds += 1
        progressed = first
        first = False
        for th in list(live):
            before = th.progress
            try:
                next(th.gen)
            except StopIteration:
                live.remove(th)
                progressed = True
                continue
            except ProtocolError as e:
                op = th.current.op  # type: ignore[union-attr]
                raise located(op.line, op.name, str(e)) from None
            except SimulationError:
                raise
            except Exception as e:  # noqa: BLE001 - report any fault at the op that raised it
                op = th.current.op  # type: ignore[union-attr]
                raise located(op.line, op.name, f"internal error: {e!r}") from e
            if th.progress != before:
                progressed = True
        if not progressed:
            raise _deadlock(live)
    return rounds


def _deadlock(live: list[_Thread]) -> SimulationError:
    parts = []
    for th in live:
        ins = th.current
        assert ins is not None and ins.why is not None
        parts.append(f"{th.state.name} blocked at line {ins.op.line} {ins.op.name} ({ins.why(th.env)})")
    first = live[0].current.op  # type: ignore[union-attr]
    return located(first.line, first.name, "deadlock: every thread is blocked: " + "; ".join(parts))


def _collect_stats(machine: Machine, ctxs: list[Ctx], rounds: int) -> dict[str, int]:
    stats: dict[str, int] = {}
    total = 0
    for ctx in ctxs:
        for ins in ctx.instrs:
            if ins.count:
                key = "ops." + ins.op.name
                stats[key] = stats.get(key, 0) + ins.count
                total += ins.count
    stats["ops.total"] = total
    for cb_id in sorted(machine.cbs):
        cb = machine.cbs[cb_id]
        stats[f"cb.{cb_id}.capacity"] = cb.capacity
        stats[f"cb.{cb_id}.max_occupancy"] = cb.max_occupancy
    stats["dst.capacity"] = machine.dst.capacity
    stats["dst.max_slot"] = machine.dst.max_slot
    stats["sched.rounds"] = rounds
    return dict(sorted(stats.items()))


def _check_end(machine: Machine, module: Module) -> None:
    """At the end of a kernel every CB is empty and every output tile was written by the writer."""
    problems = [msg for cb_id in sorted(machine.cbs) if (msg := machine.cbs[cb_id].undrained())]
    for spec, written in zip(machine.dram.specs, machine.dram.written, strict=True):
        missing = [t for t, w in enumerate(written) if not w]
        if spec.role == "out" and missing:
            shown = ", ".join(str(t) for t in missing[:8]) + (", ..." if len(missing) > 8 else "")
            problems.append(f"output '{spec.name}': {len(missing)} of {len(written)} tiles never written "
                            f"(tile ids {shown})")
    if problems:
        raise located(module.line, "module", "at the end of the kernel: " + "; ".join(problems))


def simulate(mlir_text: str, inputs: Mapping[str, np.ndarray], precision: str = "exact") -> SimResult:
    """Parse and execute a kernel module on ``inputs`` (element-shaped arrays by tensor name).

    ``precision`` is ``"exact"`` (float32 math, DST and bf16 CBs rounded to nearest-even) or ``"hardware"``
    (the Tensix's operand formats, fidelity phases, roundings and SFPU approximations; sim/numerics.py).
    Raises `SimulationError` (message ``line N: OP: ...``) for syntax outside the subset, a
    missing or mis-shaped input, any protocol violation, a deadlock, or a kernel that ends with a CB
    not drained or an output tile not written.
    """
    if precision not in PRECISIONS:
        raise SimulationError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    try:
        module = parse_module(mlir_text)
    except MlirSyntaxError as e:
        raise SimulationError(str(e)) from None
    specs = _tensor_specs(module)
    try:
        dram = Dram(specs, inputs)
    except ValueError as e:
        raise located(module.line, "module", str(e)) from None

    threads_funcs = [(f, k) for f in module.funcs() if (k := _thread_kind(f)) is not None]
    if not threads_funcs:
        raise located(module.line, "module", "no func.func with a ttkernel.thread attribute")
    computes = [f for f, k in threads_funcs if k == "compute"]
    if len(computes) > 1:
        raise located(computes[1].line, "func.func", "more than one compute thread")
    settings = compute_settings(computes[0] if computes else None)
    numerics = Numerics(precision, settings.fp32_dest_acc, settings.math_fidelity)
    arch = module.attributes.get("tteqsat.arch", "wormhole_b0")

    cbs = _declare_cbs([f for f, _ in threads_funcs])
    dst = DstRegisters(settings.fp32_dest_acc, settings.dst_full_sync, settings.dst_tiles, numerics.fpu_round)
    machine = Machine(dram=dram, cbs=cbs, l1=L1Map(cbs), dst=dst, numerics=numerics,
                      arch="blackhole" if arch == "blackhole" else "wormhole_b0")

    threads: list[_Thread] = []
    ctxs: list[Ctx] = []
    for func, kind in threads_funcs:
        state = ThreadState(func_name(func), kind)
        ctx = Ctx(machine, state, _TABLES[kind], _ELSEWHERE[kind])
        body_block = func_body(func)
        if not body_block.ops or body_block.ops[-1].name != "func.return":
            raise located(func.line, "func.func", f"{state.name}: body must end with func.return")
        body = ctx.compile_block(body_block)
        ctxs.append(ctx)
        threads.append(_Thread(state, [None] * max(1, len(ctx.slots)), body))

    with np.errstate(all="ignore"):
        rounds = _schedule(threads)
    _check_end(machine, module)
    return SimResult(outputs=dram.outputs(), stats=_collect_stats(machine, ctxs, rounds))
