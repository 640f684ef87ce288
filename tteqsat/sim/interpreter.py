"""Runs a kernel module: reader, compute and writer as cooperative threads, on every core of its program.

The host program (`tteqsat.lowering.host`; read off the module when none is given) says what each kernel's
compile-time and runtime args are, which CBs exist, the compute config and the cores. The module is compiled
once per core that runs at the same time; each core runs its threads with its own L1 (CBs, semaphores) and DST,
reset between cores; DRAM is shared. Cores run one after another, except a sharing group (the host program's
``share_groups``: cores that multicast reads to each other, `tteqsat.sim.multicast_ops`), whose cores' threads
all run together in one schedule. Each thread
is a generator over its compiled instructions (`tteqsat.sim.threads`: generated Python, one call per op) that
yields only when it blocks on a CB (``cb_reserve_back`` / ``cb_wait_front``). The scheduler resumes threads
round-robin in module order; when a full round passes in which no thread unblocked or finished, every thread
is waiting on another and the run is reported as a deadlock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tteqsat.arch import Arch, load_arch
from tteqsat.errors import KernelError
from tteqsat.lowering.host import (
    BufferAddress,
    HostProgram,
    HostProgramError,
    RuntimeArg,
    cb_type_of,
    host_program,
)
from tteqsat.mlir_text.ir import EnumAttr, IntAttr, Op, func_body, func_name
from tteqsat.mlir_text.parser import MlirSyntaxError, parse_module
from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.compute_ops import COMPUTE_OPS
from tteqsat.sim.dataflow_ops import CB_OPS, NOC_OPS
from tteqsat.sim.dram import Dram, L1Map, TensorSpec
from tteqsat.sim.dst import DstRegisters
from tteqsat.sim.errors import ProtocolError, SimulationError, located
from tteqsat.sim.machine import Machine, ThreadState
from tteqsat.sim.multicast_ops import MULTICAST_OPS
from tteqsat.sim.numerics import PRECISIONS, Numerics
from tteqsat.sim.program import Compiler, Ctx, Env, Instr
from tteqsat.sim.scalar_ops import SCALAR_OPS
from tteqsat.sim.settings import ComputeSettings, compute_settings
from tteqsat.sim.threads import ThreadCode
from tteqsat.sim.timing import Timing, TimingReport

_TABLES: dict[str, dict[str, Compiler]] = {
    "compute": {**SCALAR_OPS, **CB_OPS, **COMPUTE_OPS},
    "noc": {**SCALAR_OPS, **CB_OPS, **NOC_OPS, **MULTICAST_OPS},
}
DRAM_SHARING = ("work-conserving", "static")
"""How the timing simulator shares the chip's DRAM bandwidth among cores (`simulate`'s ``dram_sharing``)."""
_ELSEWHERE: dict[str, frozenset[str]] = {"compute": frozenset(NOC_OPS) | frozenset(MULTICAST_OPS),
                                         "noc": frozenset(COMPUTE_OPS)}


@dataclass
class SimResult:
    """Output tensors (element shape, float32) and execution statistics.

    ``stats`` keys: ``ops.<op name>`` executions per op, ``ops.total``, ``cb.<id>.capacity``,
    ``cb.<id>.max_occupancy`` (most pages reserved or published at once), ``dst.capacity``,
    ``dst.max_slot`` (highest DST slot written, -1 if none), ``dram.tiles_unwritten``
    (output tiles no writer stored), ``sched.rounds`` and ``cores``. Op counts and rounds add up over
    cores; capacities and peaks are the largest on any core.
    """

    outputs: dict[str, np.ndarray]
    stats: dict[str, int] = field(default_factory=dict)
    timing: TimingReport | None = None  # cycles per thread and stalls, when simulate(..., timing=True)


class _Thread:
    __slots__ = ("state", "env", "code", "gen", "current", "progress")

    def __init__(self, state: ThreadState, env: Env, code: ThreadCode) -> None:
        self.state = state
        self.env = env
        self.code = code
        self.current: Instr | None = None  # the blocking op it waits at (set when it first has to wait)
        self.progress = 0  # waits that ended
        self.gen = code.start(env, self)


def _thread_kind(func: Op) -> str | None:
    attr = func.attributes.get("ttkernel.thread")
    if attr is None:
        return None
    valid = isinstance(attr, EnumAttr) and attr.kind == "ttkernel.thread"
    if not valid or attr.value not in ("compute", "noc"):
        raise located(func.line, "func.func", f"unsupported ttkernel.thread attribute {attr!r}")
    return attr.value


def _declare_cbs(host: HostProgram, funcs: list[Op], kinds: dict[str, list[int]]) -> dict[int, CircularBuffer]:
    """One CB per host CB config; every CB a kernel declares must be one of them, with the same pages/format."""
    cbs: dict[int, CircularBuffer] = {}
    for c in host.cbs:
        try:
            cbs[c.id] = CircularBuffer(c.id, c.pages, c.dtype)
        except ProtocolError as e:
            raise SimulationError(f"host program: {e}") from None
    for func in funcs:
        args = kinds[func_name(func)]
        for op in _walk(func_body(func).ops):
            if op.name != "ttkernel.get_compile_time_arg_val" or not op.result_types:
                continue
            ty = op.result_types[0]
            index = op.attr("arg_index")
            if not ty.startswith("!ttkernel.cb<") or not isinstance(index, IntAttr):
                continue
            value = index.value
            if not 0 <= value < len(args):
                continue  # reported when the op is compiled
            cb = cbs.get(args[value])
            if cb is None:
                continue
            if cb_type_of(ty) != (cb.capacity, cb.dtype):
                raise located(op.line, op.name, f"cb {cb.cb_id} is {ty} here but {cb.capacity} x {cb.dtype} "
                              "in the host program")
    return cbs


def _walk(ops: list[Op]) -> Iterator[Op]:
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


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
                op = _raised_at(th, e)
                raise located(op.line, op.name, str(e)) from None
            except SimulationError:
                raise
            except Exception as e:  # noqa: BLE001 - report any fault at the op that raised it
                op = _raised_at(th, e)
                raise located(op.line, op.name, f"internal error: {e!r}") from e
            if th.progress != before:
                progressed = True
        if not progressed:
            raise _deadlock(live)
    return rounds


def _raised_at(th: _Thread, e: BaseException) -> Op:
    ins = th.code.instr_at(e.__traceback__) or th.current
    assert ins is not None
    return ins.op


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
    return stats


def _undrained(machine: Machine) -> list[str]:
    """What a core leaves behind at its end: every CB must be empty."""
    return [msg for cb_id in sorted(machine.cbs) if (msg := machine.cbs[cb_id].undrained())]


def _unwritten(dram: Dram) -> list[str]:
    """Output tiles no writer stored."""
    problems = []
    for spec, written in zip(dram.specs, dram.written, strict=True):
        missing = [t for t, w in enumerate(written) if not w]
        if spec.role == "out" and missing:
            shown = ", ".join(str(t) for t in missing[:8]) + (", ..." if len(missing) > 8 else "")
            problems.append(f"output '{spec.name}': {len(missing)} of {len(written)} tiles never written "
                            f"(tile ids {shown})")
    return problems


def _resolve(args: tuple[RuntimeArg, ...], host: HostProgram, dram: Dram) -> tuple[int, ...]:
    """Runtime arg values as the host would pass them: buffer addresses become the tensors' DRAM bases."""
    return tuple(dram.base_address(host.tensor_index(a.tensor)) if isinstance(a, BufferAddress) else a for a in args)


def simulate(mlir_text: str, inputs: Mapping[str, np.ndarray], host: HostProgram | None = None,
             precision: str = "exact", all_outputs: bool = True, timing: bool = False, arch: Arch | None = None,
             sharing_cores: float | None = None, core_weights: Sequence[float] | None = None,
             dram_sharing: str = "work-conserving") -> SimResult:
    """Parse and execute a kernel module on ``inputs`` (element-shaped arrays by tensor name).

    ``host`` gives the kernels' arguments, CBs, compute config and cores; without one it is read off the
    module (`tteqsat.lowering.host.host_program`: one core, arguments from each function's
    ``ttkernel.arg_spec``). ``precision`` is ``"exact"`` (float32 math, DST and bf16 CBs rounded to
    nearest-even) or ``"hardware"`` (the Tensix's operand formats, fidelity phases, roundings and SFPU
    approximations; sim/numerics.py). Every core must end with its CBs drained, and with ``all_outputs``
    (the host lists every core of the program) every output tile must have been written. Raises
    `SimulationError` (message ``line N: OP: ...``) for syntax outside the subset, a missing or mis-shaped
    input, a host program that does not fit the module, any protocol violation, a deadlock, or a kernel that
    ends with a CB not drained or an output tile not written.

    ``timing`` also runs the timing simulator (`tteqsat.sim.timing`): per-thread clocks priced from ``arch``
    (default: the module's ``tteqsat.arch``, at the module's math fidelity); the result's ``timing`` holds the
    report. A sharing group's cores (``share_groups``) are timed together, each with its own clocks. The cores
    share the chip's DRAM bandwidth by ``dram_sharing``:

    - ``"work-conserving"`` (default): a transfer gets the bandwidth over the cores requesting when it asks
      (`tteqsat.sim.dram_share`), found by running the program again from the last run's requests until no
      core's wall moves (at most `tteqsat.sim.timing.MAX_RUNS` runs; one when the cores run alike).
      ``core_weights`` (one per host core) says how many of the program's cores each stands for (cores with the
      same work); default: ``sharing_cores`` (default: the host's cores) spread evenly over them, at least 1
      each (cores not in the run are taken to work like those in it). ``sharing_cores`` is the first run's
      static share.
    - ``"static"``: each core gets the bandwidth over ``sharing_cores`` cores (default: the host program's;
      with share groups, its DRAM bytes over the busiest mover's, which takes a second run) for the whole run.
    """
    if precision not in PRECISIONS:
        raise SimulationError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    try:
        module = parse_module(mlir_text)
    except MlirSyntaxError as e:
        raise SimulationError(str(e)) from None
    host = host or _host_of(module)
    try:
        problems = host.problems()
        if problems:
            raise HostProgramError("; ".join(problems))
    except HostProgramError as e:
        raise located(module.line, "module", str(e)) from None
    specs = [TensorSpec(t.name, t.role, t.shape, t.dtype) for t in host.tensors]
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
    kernels = {}
    for func, kind in threads_funcs:
        try:
            kernels[func_name(func)] = host.kernel_named(func_name(func))
        except HostProgramError as e:
            raise located(func.line, "func.func", f"host program: {e}") from None
        if kernels[func_name(func)].thread != kind:
            raise located(func.line, "func.func", f"host program: kernel {func_name(func)} runs on a "
                          f"{kernels[func_name(func)].thread} core but the function is a {kind} thread")
    settings = compute_settings(computes[0] if computes else None,
                                next((k.compute_config for k in kernels.values() if k.compute_config), None))
    numerics = Numerics(precision, settings.fp32_dest_acc, settings.math_fidelity)
    arch_name = module.attributes.get("tteqsat.arch", "wormhole_b0")

    units = _units(host)
    clocks = None
    if timing:
        if dram_sharing not in DRAM_SHARING:
            raise SimulationError(f"unknown DRAM sharing {dram_sharing!r}: use one of {', '.join(DRAM_SHARING)}")
        if core_weights is not None and len(core_weights) != len(host.cores):
            raise SimulationError(f"{len(core_weights)} core weights for the host program's {len(host.cores)} "
                                  "cores: give one per core")
        bad = next((n for n, w in enumerate(core_weights or ()) if not w >= 1), None)
        if bad is not None:
            raise SimulationError(f"core weight {core_weights[bad]:g} of core {bad}: a core stands for at least one "
                                  "core (itself)")
        sharing = sharing_cores or len(host.cores)
        each = core_weights or [max(1.0, sharing / len(host.cores))] * len(host.cores)
        clocks = _timing(module, arch, settings, sharing, {(c.x, c.y): float(w) for c, w in zip(host.cores, each,
                                                                                                 strict=True)},
                         dram_sharing == "work-conserving")
    machines: list[Machine] = []  # one per core of the largest group, the module compiled for each; reset per run
    compiled: list[list[tuple[ThreadState, Ctx, ThreadCode]]] = []
    while True:  # once, or (work-conserving DRAM) again from the last run's DRAM requests until the times settle
        stats, problems, rounds = _run_units(units, machines, compiled, threads_funcs, kernels, host, dram, settings,
                                             numerics, arch_name, clocks)
        if clocks is None or not clocks.next_run():
            break
    if all_outputs:
        problems += _unwritten(dram)
    if problems:
        raise located(module.line, "module", "at the end of the kernel: " + "; ".join(problems))
    stats["dram.tiles_unwritten"] = sum(
        written.count(False) for spec, written in zip(dram.specs, dram.written, strict=True) if spec.role == "out"
    )
    stats["cores"] = len(host.cores)
    report = clocks.report() if clocks is not None else None
    if report is not None and sharing_cores is None and host.share_groups and dram_sharing == "static":
        # a group's sender reads for its receivers, so it gets more than an even share of the bandwidth: time
        # the program again with the share its bytes give it (Result.streaming_cores prices the same)
        share = report.streaming_cores()
        if abs(share - len(host.cores)) > 1e-9:
            return simulate(mlir_text, inputs, host, precision, all_outputs, timing, arch, share, core_weights,
                            dram_sharing)
    return SimResult(outputs=dram.outputs(), stats=dict(sorted(stats.items())), timing=report)


def _run_units(units: list[list], machines: list[Machine], compiled: list[list[tuple[ThreadState, Ctx, ThreadCode]]],
               threads_funcs: list[tuple[Op, str]], kernels: dict, host: HostProgram, dram: Dram,
               settings: ComputeSettings, numerics: Numerics, arch_name: object,
               clocks: Timing | None) -> tuple[dict[str, int], list[str], int]:
    """One run of the program over ``units`` (each a group of cores that run together), compiling the module for
    another core when a unit has more cores than ``machines``: the stats, what the cores left wrong, the rounds."""
    stats: dict[str, int] = {}
    problems: list[str] = []  # what the cores leave wrong at their end
    rounds = 0
    funcs = [f for f, _ in threads_funcs]
    ct_args = {name: list(k.compile_time_args) for name, k in kernels.items()}
    for unit in units:
        while len(machines) < len(unit):
            cbs = _declare_cbs(host, funcs, ct_args)
            dst = DstRegisters(settings.fp32_dest_acc, settings.dst_full_sync, settings.dst_tiles, numerics.fpu_round)
            machine = Machine(dram=dram, cbs=cbs, l1=L1Map(cbs), dst=dst, numerics=numerics,
                              arch="blackhole" if arch_name == "blackhole" else "wormhole_b0", timing=clocks)
            machines.append(machine)
            compiled.append(_compile(machine, threads_funcs, kernels, host, dram))
        group = {(core.x, core.y): machines[slot] for slot, core in enumerate(unit)}
        threads: list[_Thread] = []
        for slot, core in enumerate(unit):
            machine = machines[slot]
            machine.reset()
            machine.core, machine.peers = (core.x, core.y), group
            machine.semaphores = [m.initial_value for m in host.semaphores]
            if clocks is not None:
                clocks.start_core(machine, len(machine.dst.halves))
            for (func, _), (state, ctx, code) in zip(threads_funcs, compiled[slot], strict=True):
                state.start(_resolve(core.runtime_args.get(func_name(func), ()), host, dram))
                threads.append(_Thread(state, [None] * max(1, len(ctx.slots)), code))
        with np.errstate(all="ignore"):
            rounds = _schedule(threads)
        for th in threads:
            th.code.set_counts()
        for slot, core in enumerate(unit):
            machine = machines[slot]
            if clocks is not None:
                clocks.finish_core(machine, (core.x, core.y))
            where = f"core ({core.x}, {core.y}): " if len(host.cores) > 1 else ""
            problems += [where + msg for msg in _undrained(machine)]
            for key, value in _collect_stats(machine, [ctx for _, ctx, _ in compiled[slot]], rounds).items():
                if key not in stats:
                    stats[key] = value
                elif key.startswith("ops."):  # counts add up over cores; sizes and peaks do not
                    stats[key] += value
                elif key.startswith("sched."):  # a group's cores ran in the same rounds
                    stats[key] += value if slot == 0 else 0
                else:
                    stats[key] = max(stats[key], value)
    return stats, problems, rounds


def _host_of(module: Op) -> HostProgram:
    try:
        return host_program(module)
    except HostProgramError as e:
        raise located(module.line, "module", str(e)) from None


def _units(host: HostProgram) -> list[list]:
    """The host's cores in the groups that run together: each sharing group (its sender first), every other
    core alone; a sharing group must be run whole."""
    where = {xy: g for g, group in enumerate(host.share_groups) for xy in group}
    present = {(c.x, c.y) for c in host.cores}
    units: list[list] = []
    started: dict[int, list] = {}
    for core in host.cores:
        g = where.get((core.x, core.y))
        if g is None:
            units.append([core])
            continue
        missing = [xy for xy in host.share_groups[g] if xy not in present]
        if missing:
            raise SimulationError(f"host program: core ({core.x}, {core.y}) shares reads with cores "
                                  f"{', '.join(map(str, missing))}, which are not in the run: run whole share groups")
        if g not in started:
            started[g] = []
            units.append(started[g])
        started[g].append(core)
    order = {g: {xy: n for n, xy in enumerate(group)} for g, group in enumerate(host.share_groups)}
    for g, unit in started.items():
        unit.sort(key=lambda c: order[g][(c.x, c.y)])
    return units


def _compile(machine: Machine, threads_funcs: list[tuple[Op, str]], kernels: dict, host: HostProgram,
             dram: Dram) -> list[tuple[ThreadState, Ctx, ThreadCode]]:
    """Every thread function compiled against ``machine`` (per-core runtime args are set when a core starts)."""
    out = []
    for func, kind in threads_funcs:
        k = kernels[func_name(func)]
        state = ThreadState(func_name(func), kind, k.compile_time_args, _resolve(k.common_runtime_args, host, dram),
                            (), k.noc or 0)
        ctx = Ctx(machine, state, _TABLES[kind], _ELSEWHERE[kind])
        body_block = func_body(func)
        if not body_block.ops or body_block.ops[-1].name != "func.return":
            raise located(func.line, "func.func", f"{state.name}: body must end with func.return")
        out.append((state, ctx, ThreadCode(ctx.compile_block(body_block))))
    return out


def _timing(module: Op, arch: Arch | None, settings: ComputeSettings, sharing_cores: float,
            weights: dict[tuple[int, int], float], work_conserving: bool) -> Timing:
    """The timing layer for ``module``: ``arch`` (or the module's), at the math fidelity the module runs."""
    if arch is None:
        name = module.attributes.get("tteqsat.arch", "wormhole_b0")
        try:
            arch = load_arch(name if isinstance(name, str) else "wormhole_b0")
        except KernelError as e:
            raise located(module.line, "module", f"timing: {e}") from None
    if arch.math_fidelity != settings.math_fidelity:
        arch = arch.with_overrides({"settings.math_fidelity": settings.math_fidelity})
    return Timing(arch, sharing_cores, weights, work_conserving)
