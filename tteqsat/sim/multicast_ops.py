"""Semaphores and NoC multicast between the cores of a sharing group (reader threads).

A group of cores that share their whole inputs' reads runs together (`tteqsat.sim.interpreter`), one `Machine`
per core, each knowing the group by core coordinates (`Machine.peers`). Semaphores are L1 words of each core
(`Machine.semaphores`, created by the host program); ``get_semaphore`` gives a word's L1 address, which
``reinterpret_cast`` turns into a pointer. A NoC address (``get_noc_addr``) names a word on another core,
a multicast address (``get_noc_multicast_addr``) the same word on every core of a rectangle.

What the hardware does, not what the emitter means: a multicast write lands at the given L1 address on every
core of the rectangle but the sender (the non-loopback ops), whatever those cores are doing; a
``semaphore_wait`` blocks until the word equals the value. Two checks stand in for corruption the hardware
would not report: a multicast write must land on CB pages the receiving core has reserved (else it may
overwrite pages its compute still reads), and the rectangle must hold exactly ``num_dests`` cores of the group.
Transfers complete at once, in program order (data before the semaphore that announces it, as one NoC and
virtual channel deliver them); the sender must still barrier before it pushes the pages it multicast from.
"""

from __future__ import annotations

from dataclasses import dataclass

from tteqsat.mlir_text.ir import Op
from tteqsat.sim.dataflow_ops import _operands_with_noc
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.machine import Machine
from tteqsat.sim.program import BLOCKING, Compiler, Ctx, Env, Instr

SEM_BASE = 1 << 28
"""L1 address of semaphore 0; semaphore n sits at SEM_BASE + n * SEM_STRIDE (past every CB region)."""
SEM_STRIDE = 16  # L1 alignment


@dataclass(frozen=True, slots=True)
class NocAddr:
    """``get_noc_addr``: an L1 address on core (x, y)."""

    x: int
    y: int
    addr: int


@dataclass(frozen=True, slots=True)
class McastAddr:
    """``get_noc_multicast_addr``: an L1 address on every core of the rectangle x0..x1, y0..y1."""

    x0: int
    y0: int
    x1: int
    y1: int
    addr: int


def sem_index(machine: Machine, addr: int) -> int:
    """The semaphore at L1 address ``addr`` on ``machine``."""
    index, rem = divmod(addr - SEM_BASE, SEM_STRIDE)
    if rem or not 0 <= index < len(machine.semaphores):
        raise ProtocolError(f"L1 address {addr:#x} is not a semaphore of core {machine.core} (the host program "
                            f"creates {len(machine.semaphores)})")
    return index


def _peer(machine: Machine, x: int, y: int) -> Machine:
    peer = machine.peers.get((x, y))
    if peer is None:
        raise ProtocolError(f"core ({x}, {y}) is not a core of the sharing group of core {machine.core} "
                            f"(group: {', '.join(str(c) for c in sorted(machine.peers)) or 'none'})")
    return peer


def _destinations(machine: Machine, m: McastAddr, num_dests: int) -> list[Machine]:
    """The cores of the rectangle but the sender, which must be exactly ``num_dests`` cores of its group."""
    if m.x0 > m.x1 or m.y0 > m.y1:
        raise ProtocolError(f"multicast rectangle ({m.x0}, {m.y0})..({m.x1}, {m.y1}) is empty (start after end)")
    cores = [(x, y) for y in range(m.y0, m.y1 + 1) for x in range(m.x0, m.x1 + 1) if (x, y) != machine.core]
    if len(cores) != num_dests:
        raise ProtocolError(f"num_dests {num_dests} but the rectangle ({m.x0}, {m.y0})..({m.x1}, {m.y1}) holds "
                            f"{len(cores)} cores besides the sender {machine.core}")
    return [_peer(machine, x, y) for x, y in cores]


def _get_semaphore(op: Op, ctx: Ctx) -> Instr:
    (sem,) = ctx.operands(op, "i")
    out = ctx.define(op)
    machine = ctx.machine

    def run(env: Env) -> None:
        if not 0 <= env[sem] < len(machine.semaphores):
            raise ProtocolError(f"semaphore {env[sem]}: the host program creates {len(machine.semaphores)}")
        env[out] = SEM_BASE + env[sem] * SEM_STRIDE

    return Instr(op, run)


def _reinterpret_cast(op: Op, ctx: Ctx) -> Instr:
    (addr,) = ctx.operands(op, "a")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = env[addr]

    return Instr(op, run)


def _semaphore_set(op: Op, ctx: Ctx) -> Instr:
    ptr, val = ctx.operands(op, "ai")
    machine = ctx.machine

    def run(env: Env) -> None:
        machine.semaphores[sem_index(machine, env[ptr])] = env[val]

    return Instr(op, run)


def _semaphore_wait(op: Op, ctx: Ctx) -> Instr:
    ptr, val = ctx.operands(op, "ai")
    machine = ctx.machine

    def ready(env: Env) -> bool:
        return machine.semaphores[sem_index(machine, env[ptr])] == env[val]

    def why(env: Env) -> str:
        index = sem_index(machine, env[ptr])
        return (f"waiting on core {machine.core} for semaphore {index} to equal {env[val]} "
                f"(it is {machine.semaphores[index]})")

    return Instr(op, lambda env: None, kind=BLOCKING, ready=ready, why=why)


def _get_noc_addr(op: Op, ctx: Ctx) -> Instr:
    (x, y, addr), _ = _operands_with_noc(op, ctx, "iia")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = NocAddr(env[x], env[y], env[addr])

    return Instr(op, run)


def _get_noc_multicast_addr(op: Op, ctx: Ctx) -> Instr:
    (x0, y0, x1, y1, addr), _ = _operands_with_noc(op, ctx, "iiiia")
    out = ctx.define(op)

    def run(env: Env) -> None:
        env[out] = McastAddr(env[x0], env[y0], env[x1], env[y1], env[addr])

    return Instr(op, run)


def _semaphore_inc(op: Op, ctx: Ctx) -> Instr:
    (addr, incr), _ = _operands_with_noc(op, ctx, "ai")
    machine = ctx.machine

    def run(env: Env) -> None:
        target: NocAddr = env[addr]
        if not isinstance(target, NocAddr):
            raise ProtocolError("noc_semaphore_inc needs a NoC address from get_noc_addr")
        peer = _peer(machine, target.x, target.y)
        index = sem_index(peer, target.addr)
        peer.semaphores[index] = (peer.semaphores[index] + env[incr]) & 0xFFFFFFFF

    return Instr(op, run)


def _semaphore_set_multicast(op: Op, ctx: Ctx) -> Instr:
    src, dst, num = ctx.operands(op, "aan")
    machine = ctx.machine

    def run(env: Env) -> None:
        m: McastAddr = env[dst]
        if not isinstance(m, McastAddr):
            raise ProtocolError("noc_semaphore_set_multicast needs a multicast address from get_noc_multicast_addr")
        value = machine.semaphores[sem_index(machine, env[src])]
        for peer in _destinations(machine, m, env[num]):
            peer.semaphores[sem_index(peer, m.addr)] = value

    return Instr(op, run)


def _write_multicast(op: Op, ctx: Ctx) -> Instr:
    (src, size, num, x0, y0, x1, y1, dst), noc = _operands_with_noc(op, ctx, "nnniiiin")
    machine = ctx.machine
    pending = ctx.thread.pending_writes
    default = ctx.thread.noc

    def run(env: Env) -> None:
        cb, slot = machine.l1.resolve(env[src])
        pages, rem = divmod(env[size], cb.tile_bytes)
        if rem or pages < 1:
            raise ProtocolError(f"noc_async_write_multicast of {env[size]} bytes from cb {cb.cb_id}: not a whole "
                                f"number of its {cb.tile_bytes}-byte pages")
        machine.l1.resolve(env[src] + (pages - 1) * cb.tile_bytes)  # the source pages lie inside the CB
        rect = McastAddr(env[x0], env[y0], env[x1], env[y1], env[dst])
        for peer in _destinations(machine, rect, env[num]):
            for p in range(pages):
                dcb, dslot = peer.l1.resolve(env[dst] + p * cb.tile_bytes)
                if dcb.dtype != cb.dtype:
                    raise ProtocolError(f"noc_async_write_multicast from cb {cb.cb_id} ({cb.dtype}) into cb "
                                        f"{dcb.cb_id} ({dcb.dtype}) on core {peer.core}")
                if dcb.slot_of_offset(dcb.write_ptr, dslot) >= dcb.reserved:
                    raise ProtocolError(f"noc_async_write_multicast lands on page {dslot} of cb {dcb.cb_id} on core "
                                        f"{peer.core}, which that core has not reserved (cb_reserve_back): it could "
                                        "overwrite a page its compute still reads")
                dcb.tiles[dslot][...] = cb.tiles[slot + p]
        pending.add((cb.cb_id, default if noc is None else env[noc]))

    return Instr(op, run)


MULTICAST_OPS: dict[str, Compiler] = {
    "ttkernel.get_semaphore": _get_semaphore,
    "ttkernel.reinterpret_cast": _reinterpret_cast,
    "ttkernel.noc_semaphore_set": _semaphore_set,
    "ttkernel.experimental.semaphore_wait": _semaphore_wait,
    "ttkernel.get_noc_addr": _get_noc_addr,
    "ttkernel.get_noc_multicast_addr": _get_noc_multicast_addr,
    "ttkernel.noc_semaphore_inc": _semaphore_inc,
    "ttkernel.noc_semaphore_set_multicast": _semaphore_set_multicast,
    "ttkernel.noc_async_write_multicast": _write_multicast,
}
"""Semaphore and multicast ops, legal only in noc threads."""
