"""The simulated Tensix core as the threads see it, and per-thread state.

`Machine` bundles what reader, compute and writer share (DRAM, the CBs in L1, the DST
register file and the compute engine's init state); `ThreadState` is what belongs to one
thread: its kind, the arguments the host gave its kernel, and its NoC transfers still
awaiting a barrier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.dram import Dram, L1Map
from tteqsat.sim.dst import DstRegisters
from tteqsat.sim.inits import InitTracker
from tteqsat.sim.numerics import Numerics


@dataclass
class Machine:
    """Everything the threads of one kernel share: DRAM, L1 CBs, DST, init and packer state, arithmetic."""

    dram: Dram
    cbs: dict[int, CircularBuffer]
    l1: L1Map
    dst: DstRegisters
    numerics: Numerics
    arch: str = "wormhole_b0"
    inits: InitTracker = field(default_factory=InitTracker)
    pack_l1_acc: bool = False  # pack_reconfig_l1_acc: pack_tile adds into the CB tile instead of writing
    pack_mask: str | None = None  # reduce dim whose packer edge masks reduce_init left on (until reduce_uninit)


@dataclass
class ThreadState:
    """Per-thread state that ops consult: its kind, its kernel arguments, its outstanding NoC transfers.

    ``pending_reads`` / ``pending_writes`` hold ``(cb id, noc)`` of async transfers not yet completed by a
    barrier on that NoC; ``noc`` is the kernel's default NoC (for NoC ops without a ``noc`` operand).
    """

    name: str
    kind: str  # 'compute' | 'noc'
    compile_time_args: tuple[int, ...] = ()
    common_args: tuple[int, ...] = ()
    runtime_args: tuple[int, ...] = ()
    noc: int = 0
    pending_reads: set[tuple[int, int]] = field(default_factory=set)
    pending_writes: set[tuple[int, int]] = field(default_factory=set)
