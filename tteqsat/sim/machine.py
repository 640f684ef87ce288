"""The simulated Tensix core as the threads see it, and per-thread state.

`Machine` bundles what reader, compute and writer share (DRAM, the CBs in L1, the DST
register file and the compute engine's init state); `ThreadState` is what belongs to one
thread: its kind, the arguments the host gave its kernel, and its NoC transfers still
awaiting a barrier.

A module is compiled once and its threads run on every core of the program in turn: between cores the same
objects are reset (`Machine.reset`, `ThreadState.start`), so compiled ops may keep references to them but must
read per-core values (a runtime argument) when they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.dram import Dram, L1Map
from tteqsat.sim.dst import DstRegisters
from tteqsat.sim.inits import InitTracker
from tteqsat.sim.numerics import Numerics

if TYPE_CHECKING:  # the timing layer wraps compiled ops; the machine only carries it
    from tteqsat.sim.timing import Timing


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
    timing: Timing | None = None  # per-thread clocks (sim/timing.py) when the run is timed; None costs nothing
    core: tuple[int, int] = (0, 0)  # where the core sits on the grid
    semaphores: list[int] = field(default_factory=list)  # the host program's semaphores: L1 words of this core
    peers: dict[tuple[int, int], Machine] = field(default_factory=dict)  # its sharing group by core, itself too

    def reset(self) -> None:
        """The core-local state as a new core starts: CBs, DST, inits and packer settings (DRAM is shared)."""
        for cb in self.cbs.values():
            cb.reset()
        self.dst.reset()
        self.inits.reset()
        self.pack_l1_acc = False
        self.pack_mask = None


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

    def start(self, runtime_args: tuple[int, ...]) -> None:
        """Begin on a core: its runtime args, no transfers outstanding."""
        self.runtime_args = runtime_args
        self.pending_reads.clear()
        self.pending_writes.clear()
