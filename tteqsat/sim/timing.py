"""The timing simulator: per-thread clocks laid over the functional run of the emitted MLIR.

A Tensix core runs five threads: the reader and writer (RISC-V data movement cores, one NoC each) and the
compute kernel, which the hardware runs three times, once per TRISC: unpack (the CB reads into the source
registers, ``cb_wait_front``/``cb_pop_front``), math (FPU and SFPU, ``tile_regs_acquire``/``commit``) and pack
(DST to CBs, ``tile_regs_wait``/``release``, ``cb_reserve_back``/``cb_push_back``). Each gets a clock. An op
advances its thread's clock by its busy cycles (`tteqsat.sim.op_costs`, from the arch constants the analytic
model uses); a synchronisation point moves a waiting thread's clock up to the time the other side let it go and
records why it waited:

- a CB page: ``cb_wait_front`` waits for the push of the last page it needs, ``cb_reserve_back`` for the pop
  that freed the last page it needs (a CB of depth d lets its producer run d pages ahead);
- DST: ``tile_regs_acquire`` waits for a half the packer released (two halves, one in full-sync mode),
  ``tile_regs_wait`` for math's commit;
- the source registers: an FPU op's math waits for its operands to be unpacked, and the unpacker waits for
  math to free one of the two source-register banks (it runs at most two tiles ahead);
- DRAM: a NoC read or write occupies the core's DRAM port for its bytes at the core's rate (the lesser of one
  NoC link, one DRAM controller, and the core's share of the chip's DRAM bandwidth) and completes one
  ``dram.read_latency`` after that; a barrier waits for completion. The share is static (the bandwidth over the
  program's cores for the whole run) or, by default, work-conserving: a core that made its last transfer
  requests nothing and the cores still reading split the bandwidth among fewer, which the simulator finds by
  running the program again from the last run's transfers (`tteqsat.sim.dram_share`; `Timing.next_run`). The
  core has a port per NoC (the host program puts the reader on NoC 0 and the writer on NoC 1, each with its own
  link), so the reader's block of reads does not hold up the writer's writes; when the chip's DRAM bandwidth,
  not a link, bounds the core (many cores streaming) its reads and writes share the core's share of it (GDDR
  moves reads and writes over one data bus, and the chip model counts both in a core's share): a write's bytes
  hold the read port in its first free time, delaying the reads after them, but a write does not queue behind
  the reads already booked (an assumption, not from a source: DRAM controllers queue writes apart from reads and
  a posted write is accepted without waiting for them; a FIFO of the core's transfers held one written tile
  behind a whole block of reads, stalling pack on the output CB). The arch file has one latency, used for
  writes' acknowledgements too;
- semaphores (cores sharing reads, `tteqsat.sim.multicast_ops`): every write of a semaphore word records the
  value and when it was reached, a history per semaphore of each core. A local ``noc_semaphore_set`` lands at
  its thread's clock; a ``noc_semaphore_inc`` or ``noc_semaphore_set_multicast`` one NoC latency later
  (``noc.write_latency`` plus ``noc.hop_latency`` per hop, hops counted on the logical grid), an increment no
  earlier than the value it adds to, a multicast set no earlier than the multicast data it follows (one NoC
  delivers them in order). A ``semaphore_wait`` moves its thread up to the earliest time, from its clock on,
  the semaphore held the awaited value (stall reason ``semaphore N``);
- NoC multicast: ``noc_async_write_multicast`` occupies the sender's outgoing link of its NoC for its bytes at
  ``noc.bytes_per_cycle`` and lands on the receivers one NoC latency after that; its write barrier waits one
  more latency for the acknowledgements.

A sharing group's cores run in one functional schedule (`tteqsat.sim.interpreter`); each core has its own
clocks, CB histories, ports and semaphore histories, and the report's wall is the slowest core's.

The functional simulator runs the threads cooperatively in an order that has nothing to do with time; that is
enough, because a thread can only pass a synchronisation point after the functional run has executed the op
that releases it, whose time is then recorded. A semaphore keeps its history, not only its last write, so a wait
finds when the value it passed on was reached even if writes the functional run made later came earlier in time.
Shared resources (the DRAM port, a NoC link) are booked into the earliest free gap, so they do not depend on the
order threads are simulated in either.

Timing is opt-in: `tteqsat.sim.simulate(..., timing=True)` wraps each op's compiled closure once at compile time
(`Timing.wrap`); without it no op is wrapped and the functional simulator runs as before.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tteqsat.arch import Arch
from tteqsat.cost.model import TensixCostModel
from tteqsat.sim.dram_share import DramShare, Moved, static_rates
from tteqsat.sim.errors import located
from tteqsat.sim.machine import Machine
from tteqsat.sim.multicast_ops import McastAddr, NocAddr, sem_index
from tteqsat.sim.op_costs import FPU_INITS, HW_STARTUP, OpCosts, Work
from tteqsat.sim.program import Ctx, Env, Instr

COMPUTE_THREADS = ("unpack", "math", "pack")
WRITE_QUEUE = -1  # `_Core.ports` key of a chip-bound core's writes (its reads and writes share port 0's time)
MAX_RUNS = 6  # work-conserving DRAM: runs at most (the first at the static share, each later from the last's requests)
SETTLED = 1e-3  # ... and stops when no core's wall moved by more than this fraction from the run before
SEMAPHORE_OPS = ("noc_semaphore_set", "noc_semaphore_inc", "noc_semaphore_set_multicast",
                 "experimental.semaphore_wait")


class Clock:
    """One thread's time: where it is, how long it was busy, and what it waited for (reason -> cycles)."""

    __slots__ = ("name", "t", "busy", "stalls")

    def __init__(self, name: str) -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.t = 0.0
        self.busy = 0.0
        self.stalls: dict[str, float] = {}

    def work(self, cycles: float) -> None:
        self.t += cycles
        self.busy += cycles

    def wait(self, until: float, reason: str) -> None:
        if until > self.t:
            self.stalls[reason] = self.stalls.get(reason, 0.0) + until - self.t
            self.t = until


def _one_per_cycle(_: float) -> tuple[float, float]:
    """A rate of one unit of work per cycle, for ever (`Port.serve`: work given in cycles)."""
    return 1.0, float("inf")


class Port:
    """A resource that serves work over time (the core's DRAM port): a transfer asked for at time t is served in
    the free time from t on, in pieces if other transfers hold parts of it (packets of different transfers
    interleave), whatever order the transfers are booked in."""

    def __init__(self) -> None:
        self.starts: list[float] = []  # busy intervals, sorted and disjoint
        self.ends: list[float] = []

    def serve(self, t: float, length: float) -> float:
        """Serve ``length`` cycles of work in the free time from ``t`` on; returns when it is done."""
        return self.serve_bytes(t, length, _one_per_cycle)

    def serve_bytes(self, t: float, size: float, rate_at: Callable[[float], tuple[float, float]]) -> float:
        """Serve ``size`` bytes in the free time from ``t`` on at a rate that changes over time (``rate_at(s)``:
        the rate from ``s`` on and until when it holds); returns when they are done."""
        starts, ends = self.starts, self.ends
        i = bisect_right(ends, t)
        s, left = t, float(size)
        pieces = []
        while left > 0:
            if i < len(starts) and starts[i] <= s:  # busy: on to its end
                s = max(s, ends[i])
                i += 1
                continue
            rate, until = rate_at(s)
            stop = min(starts[i] if i < len(starts) else float("inf"), until)
            if s + left / rate <= stop:
                pieces.append((s, s + left / rate))
                s += left / rate
                break
            pieces.append((s, stop))
            left -= (stop - s) * rate
            s = stop
        for a, b in pieces:
            self._insert(a, b)
        return s

    def _insert(self, a: float, b: float) -> None:
        starts, ends = self.starts, self.ends
        i = bisect_right(starts, a)
        if i > 0 and ends[i - 1] >= a:  # touches the interval before: extend it
            i -= 1
            ends[i] = max(ends[i], b)
        else:
            starts.insert(i, a)
            ends.insert(i, b)
        while i + 1 < len(starts) and starts[i + 1] <= ends[i]:  # and the ones after it
            ends[i] = max(ends[i], ends.pop(i + 1))
            starts.pop(i + 1)


@dataclass
class ThreadTiming:
    """One thread on one core: when it finished, its busy cycles, and its stalls by reason."""

    name: str
    end: float
    busy: float
    stalls: dict[str, float]

    @property
    def stalled(self) -> float:
        return sum(self.stalls.values())

    def to_json(self) -> dict[str, object]:
        return {"end": round(self.end, 1), "busy": round(self.busy, 1), "stalled": round(self.stalled, 1),
                "stalls": {k: round(v, 1) for k, v in sorted(self.stalls.items())}}


@dataclass
class CoreTiming:
    """One core's threads; its wall is the last thread's end."""

    core: tuple[int, int]
    threads: list[ThreadTiming]
    dram_bytes: int = 0  # what its reader and writer moved to and from DRAM (not multicast)

    @property
    def wall(self) -> float:
        return max((t.end for t in self.threads), default=0.0)

    def thread(self, name: str) -> ThreadTiming:
        return next(t for t in self.threads if t.name == name)


@dataclass
class TimingReport:
    """Cycles per thread of every core simulated; the kernel's wall is the slowest core's."""

    arch: str
    cores: list[CoreTiming]
    dram_bytes_per_cycle: float  # one core's DRAM rate with `sharing_cores` cores sharing the chip's bandwidth
    sharing_cores: float
    dram_sharing: str = "static"  # or "work-conserving": a transfer's share from the cores requesting at its time
    runs: int = 1  # how many times the program ran (work-conserving: each run from the last one's requests)

    def streaming_cores(self) -> float:
        """How many cores' worth of the chip's DRAM bandwidth the busiest mover shares with, as these cores moved
        bytes: all of them when each moves as much, fewer when a group's sender reads for its receivers (the
        chip model's fair sharing gives a core a share in proportion to what it moves)."""
        most = max((c.dram_bytes for c in self.cores), default=0)
        return max(1.0, sum(c.dram_bytes for c in self.cores) / most) if most else float(len(self.cores))

    @property
    def slowest(self) -> CoreTiming:
        return max(self.cores, key=lambda c: c.wall)

    @property
    def wall(self) -> float:
        return self.slowest.wall

    def threads(self) -> dict[str, float]:
        """Thread name -> its end on the slowest core."""
        return {t.name: t.end for t in self.slowest.threads}

    def top_stalls(self, n: int = 5) -> list[tuple[str, str, float]]:
        """The slowest core's largest stalls: (thread, reason, cycles), largest first."""
        rows = [(t.name, reason, c) for t in self.slowest.threads for reason, c in t.stalls.items()]
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))[:n]

    def table(self, stalls: int = 5) -> str:
        """Cycles per thread of the slowest core, the wall, and its top stalls, as plain text."""
        core = self.slowest
        width = max(8, *(len(t.name) for t in core.threads))
        lines = [f"{'thread':<{width}}  {'busy':>12}  {'stalled':>12}  {'end':>12}"]
        for t in core.threads:
            lines.append(f"{t.name:<{width}}  {t.busy:>12,.0f}  {t.stalled:>12,.0f}  {t.end:>12,.0f}")
        many = len(self.cores) > 1
        where = f" (core {core.core[0]},{core.core[1]}, the slowest of {len(self.cores)})" if many else ""
        lines.append(f"{'wall':<{width}}  {'':>12}  {'':>12}  {self.wall:>12,.0f}{where}")
        top = self.top_stalls(stalls)
        if top:
            lines.append("top stalls:")
            lines += [f"  {name:<{width}}  {c:>12,.0f}  {reason}" for name, reason, c in top]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        slowest = self.slowest
        return {
            "arch": self.arch, "wall": round(self.wall, 1), "sharing_cores": round(self.sharing_cores, 3),
            "dram_bytes_per_cycle": round(self.dram_bytes_per_cycle, 4), "dram_sharing": self.dram_sharing,
            "runs": self.runs,
            "slowest_core": list(slowest.core),
            "threads": {t.name: t.to_json() for t in slowest.threads},
            "top_stalls": [{"thread": n, "reason": r, "cycles": round(c, 1)} for n, r, c in self.top_stalls()],
            "cores": [{"core": list(c.core), "wall": round(c.wall, 1)} for c in self.cores],
        }


@dataclass
class _Cb:
    """A CB's history on this core: when each page (absolute counter) was pushed and popped, and by whom."""

    push: list[float] = field(default_factory=list)
    pop: list[float] = field(default_factory=list)
    pusher: str = "?"
    popper: str = "?"


def thread_label(name: str, kind: str, taken: set[str]) -> str:
    """``reader`` / ``writer`` for data-movement functions named so (``sdpa_reader``), else the function name."""
    if kind == "noc":
        for role in ("reader", "writer"):
            if name.endswith(role) and role not in taken:
                return role
    return name


class _Core:
    """One core's timing state: its threads' clocks, CB histories, DRAM ports, outgoing NoC links, transfers
    awaiting a barrier, DST halves, source-register banks and semaphore histories (reset in place as a core
    starts: compiled closures keep references to these objects)."""

    def __init__(self) -> None:
        self.clocks: dict[str, Clock] = {}
        self.order: list[str] = []
        self.labels: dict[int, str] = {}  # id(ThreadState) -> label of a noc thread
        self.cbs: dict[int, _Cb] = {}
        self.ports: dict[int, Port] = {}  # DRAM, by NoC (0 and WRITE_QUEUE when the chip's bandwidth bounds it)
        self.links: dict[int, Port] = {}  # outgoing NoC link per NoC (multicast writes)
        self.pending: dict[tuple[str, str, int], tuple[float, float]] = {}  # (thread, kind, noc) -> (done, queued)
        self.dst_free: deque[float] = deque()
        self.dst_committed: deque[float] = deque()
        self.banks: deque[float] = deque(maxlen=2)
        self.sems: dict[int, list[tuple[int, float]]] = {}  # semaphore -> (value, when reached), in write order
        self.landed = 0.0  # when the last multicast this core sent landed on its receivers
        self.dram_bytes = 0  # moved by noc_async_read_tile / noc_async_write_tile
        self.moved: list[tuple[float, float]] = []  # its DRAM transfers: (when its bytes were through, bytes)

    def reset(self, halves: int) -> None:
        for clock in self.clocks.values():
            clock.reset()
        for table in (self.cbs, self.ports, self.links, self.pending, self.sems):
            table.clear()
        self.dst_free.clear()
        self.dst_free.extend([0.0] * halves)
        self.dst_committed.clear()
        self.banks.clear()
        self.landed = 0.0
        self.dram_bytes = 0
        self.moved = []  # a new list: the last run's is kept by `Timing.moved`

    def clock(self, name: str) -> Clock:
        if name not in self.clocks:
            self.clocks[name] = Clock(name)
            self.order.append(name)
        return self.clocks[name]

    def cb(self, cb_id: int) -> _Cb:
        h = self.cbs.get(cb_id)
        if h is None:
            h = self.cbs[cb_id] = _Cb()
        return h

    def wait_ready(self, pending: tuple[float, float] | None, clock: Clock, reason: str, queue_reason: str) -> None:
        """``clock`` waits for a transfer's completion, the part spent behind other transfers as ``queue_reason``."""
        if pending is None:
            return
        done, queued = pending
        stall = done - clock.t
        if stall <= 0:
            return
        behind = min(stall, queued)
        if behind > 1e-9:
            clock.wait(clock.t + behind, queue_reason)
        clock.wait(done, reason)


def reached(history: list[tuple[int, float]], value: int, t: float) -> float:
    """The earliest time from ``t`` on at which a semaphore whose writes were ``history`` (value, when reached)
    held ``value``; ``t`` when it was never written (its initial value)."""
    best = None
    end = float("inf")
    for val, at in reversed(history):
        if val == value and end > t:
            best = max(at, t) if best is None else min(best, max(at, t))
        if at <= t:  # this value already held at t; the ones before it had ended
            break
        end = at
    return t if best is None else best


class Timing:
    """Clocks, CB histories, DST halves, source-register banks, DRAM ports, NoC links and semaphores of the cores
    being simulated (one `_Core` per `Machine`: a sharing group's cores run at once).

    ``sharing_cores`` is how many cores of the program stream from DRAM at once: with a static share
    (``work_conserving`` off) each core gets that fraction of the chip's bandwidth for the whole run; work-
    conservingly, it is the first run's share, and each later run (`next_run`) gives a transfer the share of
    the cores requesting when it asks (`tteqsat.sim.dram_share`), ``weights`` saying how many of the program's
    cores each simulated core stands for (the simulator may run only a sample of them)."""

    def __init__(self, arch: Arch, sharing_cores: float = 1, weights: dict[tuple[int, int], float] | None = None,
                 work_conserving: bool = True) -> None:
        self.arch = arch
        model = TensixCostModel(arch)
        self.model = model
        self.costs = OpCosts(model)
        self.rate = model.dram_rate(max(1, sharing_cores))
        self.link_bound = model.dram_rate(1)  # the most one core takes: one NoC link, one controller
        self.latency = arch.num("dram.read_latency")
        self.link_rate = arch.num("noc.bytes_per_cycle")
        self.sharing_cores = sharing_cores
        self.weights = dict(weights or {})
        self.work_conserving = work_conserving
        self.share: DramShare | None = None  # None: every transfer at `rate` (the static share, or the first run)
        self.runs = 1
        self._walls: list[float] = []  # each core's wall in the run before the last
        self.moved: dict[tuple[int, int], Moved] = {}  # each simulated core's DRAM transfers, this run
        self._cores: dict[int, _Core] = {}  # by id(Machine)
        self.cores: list[CoreTiming] = []

    # -- work-conserving DRAM over runs --------------------------------------------------------------------
    def next_run(self) -> bool:
        """After a run: set up another, each transfer at the share the cores' transfers in this one give it
        (`tteqsat.sim.dram_share`); False when none is needed: a static share, the rates the last run had (equal
        cores end together: the first run's static share), or no core's wall moving by more than `SETTLED`."""
        if not self.work_conserving or self.runs >= MAX_RUNS:
            return False
        weights = {core: self.weights.get(core, 1.0) for core in self.moved}
        share = DramShare(self.model, weights, self.moved)
        walls = [c.wall for c in self.cores]
        if self.share is None and static_rates(share, self.rate):
            return False
        if share.same_as(self.share, SETTLED) or self.share is not None and all(
                abs(a - b) <= SETTLED * b for a, b in zip(walls, self._walls, strict=True)):
            return False
        self._walls = walls
        self.share = share
        self.moved = {}
        self.cores = []
        self.runs += 1
        return True

    # -- per core ----------------------------------------------------------------------------------------
    def core_of(self, machine: object) -> _Core:
        state = self._cores.get(id(machine))
        if state is None:
            state = self._cores[id(machine)] = _Core()
        return state

    def start_core(self, machine: object, halves: int) -> None:
        """A new core on ``machine``: every clock at 0, CBs empty, DST halves free, semaphores unwritten."""
        self.core_of(machine).reset(halves)

    def finish_core(self, machine: object, core: tuple[int, int]) -> None:
        state = self.core_of(machine)
        ordered = [state.clocks[name] for name in state.order]
        self.cores.append(CoreTiming(core, [ThreadTiming(c.name, c.t, c.busy, dict(c.stalls)) for c in ordered],
                                     state.dram_bytes))
        self.moved[core] = state.moved

    def report(self) -> TimingReport:
        return TimingReport(self.arch.name, list(self.cores), self.rate, self.sharing_cores,
                            "work-conserving" if self.work_conserving else "static", self.runs)

    def noc_latency(self, a: tuple[int, int], b: tuple[int, int]) -> float:
        """A NoC write's latency from core ``a`` to core ``b`` (`TensixCostModel.noc_latency`)."""
        return self.model.noc_latency(abs(a[0] - b[0]) + abs(a[1] - b[1]))

    # -- compile time --------------------------------------------------------------------------------------
    def wrap(self, instr: Instr, ctx: Ctx) -> Instr:
        """``instr`` with its op's timing run before it (the op's compiled semantics unchanged), or ``instr``
        itself when the op takes no time and synchronises nothing."""
        op = instr.op
        name = op.name.removeprefix("ttkernel.")
        if ctx.thread.kind == "compute":
            try:
                action = self._compute_action(name, instr, ctx)
            except KeyError as e:
                raise located(op.line, op.name, f"timing: {e.args[0]}") from None
        else:
            action = self._noc_action(name, ctx)
        if action is None:
            return instr
        assert instr.expr is None, "ops with an expr take no time"
        slots = [ctx.slots[v] for v in op.operands]
        values = _getter(slots)
        run = instr.run

        def timed(env: Env) -> object:
            action(values(env))
            return run(env)

        many = instr.try_many
        timed_many = None
        if many is not None and all(s in instr.uses for s in slots):
            pick = _getter([instr.uses.index(s) for s in slots])

            def timed_many(rows: list[tuple]) -> bool:
                if not many(rows):
                    return False
                for row in rows:
                    action(pick(row))
                return True

        return Instr(op, timed, instr.kind, instr.ready, instr.why, instr.body, instr.iv, None, instr.uses,
                     timed_many)

    def _noc_action(self, name: str, ctx: Ctx) -> Callable[[tuple], None] | None:
        state = ctx.thread
        core = self.core_of(ctx.machine)
        if id(state) not in core.labels:
            core.labels[id(state)] = thread_label(state.name, "noc", set(core.labels.values()))
        label = core.labels[id(state)]
        clock = core.clock(label)
        if name in ("cb_wait_front", "cb_pop_front", "cb_reserve_back", "cb_push_back"):
            return self._cb_action(name, clock, core)
        if name in SEMAPHORE_OPS:
            return self._semaphore_action(name, clock, ctx)
        if name in ("noc_async_read_tile", "noc_async_write_tile"):
            direction = "read" if name == "noc_async_read_tile" else "write"
            default = state.noc

            def transfer(v: tuple) -> None:
                core.dram_bytes += v[1].page_size
                share = self.share
                size = v[1].page_size
                if share is None:
                    rate = self.rate
                    length = size / rate

                    def serve(port: Port) -> float:
                        return port.serve(clock.t, length)
                else:
                    rate = share.rate_at(clock.t)[0]
                    length = size / rate

                    def serve(port: Port) -> float:
                        return port.serve_bytes(clock.t, size, share.rate_at)
                noc = v[3] if len(v) > 3 else default
                if rate >= self.link_bound:  # bound by a link, not the chip: a port per NoC
                    served = serve(core.ports.setdefault(noc, Port()))
                elif direction == "write":  # its own queue, and its bytes taken from the shared read port
                    served = serve(core.ports.setdefault(WRITE_QUEUE, Port()))
                    serve(core.ports.setdefault(0, Port()))
                else:
                    served = serve(core.ports.setdefault(0, Port()))
                core.moved.append((served, size))
                key = (label, direction, noc)
                done = served + self.latency
                before = core.pending.get(key)
                if before is None or done > before[0]:
                    core.pending[key] = (done, served - clock.t - length)

            return transfer
        if name == "noc_async_write_multicast":
            machine = ctx.machine
            default = state.noc

            def multicast(v: tuple) -> None:
                size, x0, y0, x1, y1 = v[1], v[3], v[4], v[5], v[6]
                noc = v[8] if len(v) > 8 else default
                link = core.links.setdefault(noc, Port())
                served = link.serve(clock.t, size / self.link_rate)
                far = max((self.noc_latency(machine.core, (x, y)) for x in range(x0, x1 + 1)
                           for y in range(y0, y1 + 1)), default=0.0)
                core.landed = max(core.landed, served + far)
                done = core.landed + far  # the receivers' acknowledgements come back
                key = (label, "multicast", noc)
                before = core.pending.get(key)
                if before is None or done > before[0]:
                    core.pending[key] = (done, served - clock.t - size / self.link_rate)

            return multicast
        if name in ("noc_async_read_barrier", "noc_async_write_barrier"):
            direction = "read" if name == "noc_async_read_barrier" else "write"
            default = state.noc
            reason = f"dram {direction} (latency and transfer)"
            queue = "dram bandwidth (port busy with other transfers)"

            def barrier(v: tuple) -> None:
                noc = v[0] if v else default
                core.wait_ready(core.pending.pop((label, direction, noc), None), clock, reason, queue)
                if direction == "write":
                    core.wait_ready(core.pending.pop((label, "multicast", noc), None), clock,
                                    "noc multicast (transfer, latency and acknowledgements)",
                                    "noc link (busy with other multicasts)")

            return barrier
        return None

    def _semaphore_action(self, name: str, clock: Clock, ctx: Ctx) -> Callable[[tuple], None]:
        """Semaphore writes record (value, when reached) on the core that holds the word; a wait looks it up."""
        machine = ctx.machine

        def history(m: Machine, index: int) -> list[tuple[int, float]]:
            return self.core_of(m).sems.setdefault(index, [])

        if name == "noc_semaphore_set":
            def set_local(v: tuple) -> None:
                index = sem_index(machine, v[0])
                history(machine, index).append((v[1], clock.t))
            return set_local
        if name == "noc_semaphore_inc":
            def increment(v: tuple) -> None:
                target = v[0]
                peer = machine.peers.get((target.x, target.y)) if isinstance(target, NocAddr) else None
                if peer is None:
                    return  # the op itself reports it
                index = sem_index(peer, target.addr)
                h = history(peer, index)
                arrives = clock.t + self.noc_latency(machine.core, peer.core)
                h.append(((peer.semaphores[index] + v[1]) & 0xFFFFFFFF, max(arrives, h[-1][1] if h else 0.0)))
            return increment
        if name == "noc_semaphore_set_multicast":
            core = self.core_of(machine)

            def set_multicast(v: tuple) -> None:
                m = v[1]
                if not isinstance(m, McastAddr):
                    return  # the op itself reports it
                value = machine.semaphores[sem_index(machine, v[0])]
                for y in range(m.y0, m.y1 + 1):
                    for x in range(m.x0, m.x1 + 1):
                        peer = machine.peers.get((x, y))
                        if peer is None or peer is machine:
                            continue
                        arrives = max(clock.t + self.noc_latency(machine.core, peer.core), core.landed)
                        history(peer, sem_index(peer, m.addr)).append((value, arrives))
            return set_multicast

        def wait(v: tuple) -> None:  # experimental.semaphore_wait: the functional run passed it, so it holds now
            index = sem_index(machine, v[0])
            clock.wait(reached(history(machine, index), v[1], clock.t), f"semaphore {index}")
        return wait

    def _cb_action(self, name: str, clock: Clock, core: _Core) -> Callable[[tuple], None]:
        """CB synchronisation on ``clock``'s thread of ``core``; values are (cb, pages)."""
        label = clock.name
        if name == "cb_wait_front":
            def wait_front(v: tuple) -> None:
                cb, n = v
                h = core.cb(cb.cb_id)
                clock.wait(h.push[cb.read_ptr + n - 1], f"waiting on cb {cb.cb_id} ({h.pusher})")
            return wait_front
        if name == "cb_reserve_back":
            def reserve_back(v: tuple) -> None:
                cb, n = v
                page = cb.write_ptr + n - 1 - cb.capacity
                if page >= 0:
                    h = core.cb(cb.cb_id)
                    clock.wait(h.pop[page], f"waiting for space in cb {cb.cb_id} ({h.popper})")
            return reserve_back
        if name == "cb_push_back":
            def push_back(v: tuple) -> None:
                cb, n = v
                h = core.cb(cb.cb_id)
                h.pusher = label
                h.push.extend([clock.t] * n)
            return push_back

        def pop_front(v: tuple) -> None:
            cb, n = v
            h = core.cb(cb.cb_id)
            h.popper = label
            h.pop.extend([clock.t] * n)
        return pop_front

    def _compute_action(self, name: str, instr: Instr, ctx: Ctx) -> Callable[[tuple], None] | None:
        core = self.core_of(ctx.machine)
        unpack, math, pack = (core.clock(n) for n in COMPUTE_THREADS)
        costs = self.costs
        init, sync = costs.init, costs.sync
        if name in ("cb_wait_front", "cb_pop_front"):
            return self._cb_action(name, unpack, core)
        if name in ("cb_reserve_back", "cb_push_back"):
            return self._cb_action(name, pack, core)
        if name == "tile_regs_acquire":
            def acquire(v: tuple) -> None:
                math.wait(core.dst_free.popleft(), "dst acquire (waiting on pack to release a half)")
            return acquire
        if name == "tile_regs_commit":
            def commit(v: tuple) -> None:
                math.work(sync)
                core.dst_committed.append(math.t)
            return commit
        if name == "tile_regs_wait":
            def wait(v: tuple) -> None:
                pack.wait(core.dst_committed.popleft(), "dst wait (waiting on math to commit)")
            return wait
        if name == "tile_regs_release":
            def release(v: tuple) -> None:
                pack.work(sync)
                core.dst_free.append(pack.t)
            return release
        if name == "pack_tile":
            l1_acc = costs.pack_l1_acc
            plain = costs.pack
            machine = ctx.machine

            def pack_tile(v: tuple) -> None:
                pack.work(l1_acc if machine.pack_l1_acc else plain)
            return pack_tile
        if name in HW_STARTUP:
            def startup(v: tuple) -> None:
                unpack.work(init)
                math.work(init)
                pack.work(init)
            return startup
        if name in FPU_INITS:
            def fpu_init(v: tuple) -> None:
                unpack.work(init)
                math.work(init)
            return fpu_init
        if name.endswith("_init"):
            return lambda v: math.work(init)
        pricer = costs.pricer(instr.op)
        if pricer is None:
            return None
        banks = core.banks

        def tile_math(v: tuple) -> None:
            w: Work = pricer(v)
            if not w.unpack:
                math.work(w.math)
                return
            g = w.grains
            du, dm = w.unpack / g, w.math / g
            for _ in range(g):
                if len(banks) == 2:
                    unpack.wait(banks[0], "source registers full (waiting on math)")
                unpack.work(du)
                math.wait(unpack.t, "waiting on unpack")
                math.work(dm)
                banks.append(math.t)

        return tile_math


def _getter(slots: list[int]) -> Callable[[list], tuple]:
    """A function of a list that returns the tuple of its items at ``slots``."""
    if not slots:
        return lambda env: ()
    if len(slots) == 1:
        s = slots[0]
        return lambda env: (env[s],)
    return operator.itemgetter(*slots)
