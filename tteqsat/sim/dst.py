"""The DST register file and its acquire/commit/wait/release protocol.

DST is double-buffered ("half-sync"): the math side fills one half between
``tile_regs_acquire`` and ``tile_regs_commit`` while the packer drains the other between
``tile_regs_wait`` and ``tile_regs_release``. The compute kernel is one program, so the model
runs both sides in program order and keeps each half's role explicit; any out-of-protocol
access raises `ProtocolError` instead of silently reading stale data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.tiles import TILE, copy_into, round_bf16

Rounding = Callable[..., np.ndarray]
"""``rounding(values, out=None)``: ``values`` rounded to a register format, written into ``out`` when given
(`tteqsat.sim.numerics`, `tteqsat.sim.tiles.round_bf16`)."""


def default_capacity(fp32: bool, full_sync: bool) -> int:
    """Tiles per acquire on Wormhole and Blackhole: 8 with a 16-bit DST, 4 with fp32, twice that in full sync."""
    return (4 if fp32 else 8) * (2 if full_sync else 1)


class DstRegisters:
    """``capacity`` tile slots per buffer (by default 8 in bf16 mode, 4 with ``fp32_dest_acc_en``; twice that,
    in one buffer instead of two, with ``dst_full_sync``). Values written are rounded by ``rounding`` (by
    default to nearest-even bf16 in 16-bit mode; callers pass the hardware's rounding per op), so a 16-bit DST
    only ever holds bf16 values.

    A rounding is elementwise, so it is applied when a slot is next read rather than when it is written: the
    slots written since are then rounded together, one call per run of neighbouring slots that share a rounding
    (``pending``). Every read (`load`, `load_block`, and the packer's after `commit`) sees rounded values.
    """

    __slots__ = (
        "fp32",
        "capacity",
        "halves",
        "slots",
        "pending",
        "clear",
        "math_half",
        "pack_half",
        "committed",
        "free",
        "max_slot",
        "rounding",
    )

    def __init__(self, fp32: bool, full_sync: bool = False, capacity: int | None = None,
                 rounding: Rounding | None = None) -> None:
        self.fp32 = fp32
        # full sync: one buffer of the whole register file instead of two halves (tt-metal dst_full_sync_en)
        self.capacity = capacity if capacity is not None else default_capacity(fp32, full_sync)
        self.rounding = rounding or (copy_into if fp32 else round_bf16)
        buffers = 1 if full_sync else 2
        self.halves = np.zeros((buffers, self.capacity, TILE, TILE), dtype=np.float32)
        self.slots = [list(half) for half in self.halves]  # a view of each slot
        self.reset()

    def reset(self) -> None:
        """Zeroed and released, as created (the next core of a program starts with it so)."""
        buffers = len(self.halves)
        self.halves.fill(0.0)
        self.pending: dict[int, Rounding] = {}  # math-half slots written but not rounded yet: their rounding
        self.clear = [[True] * self.capacity for _ in range(buffers)]
        self.math_half: int | None = None
        self.pack_half: int | None = None
        self.committed: deque[int] = deque()
        self.free: deque[int] = deque(range(buffers))
        self.max_slot = -1

    # -- protocol ------------------------------------------------------------------------
    def acquire(self) -> None:
        if self.math_half is not None:
            raise ProtocolError("tile_regs_acquire while DST is already acquired (missing tile_regs_commit)")
        if not self.free:
            raise ProtocolError("tile_regs_acquire with both DST halves in use (missing tile_regs_release)")
        half = self.free.popleft()
        self.halves[half].fill(0.0)
        self.pending = {}
        self.clear[half] = [True] * self.capacity
        self.math_half = half

    def commit(self) -> None:
        if self.math_half is None:
            raise ProtocolError("tile_regs_commit without tile_regs_acquire")
        if self.pending:
            self._round_pending()
        self.committed.append(self.math_half)
        self.math_half = None

    def wait(self) -> None:
        if self.pack_half is not None:
            raise ProtocolError(
                "tile_regs_wait while DST is already held by the packer (missing tile_regs_release)"
            )
        if not self.committed:
            raise ProtocolError("tile_regs_wait with no committed DST (missing tile_regs_commit; would hang)")
        self.pack_half = self.committed.popleft()

    def release(self) -> None:
        if self.pack_half is None:
            raise ProtocolError("tile_regs_release without tile_regs_wait")
        self.free.append(self.pack_half)
        self.pack_half = None

    def in_section(self) -> bool:
        """True between tile_regs_acquire and the matching tile_regs_release (math or packer holds DST)."""
        return self.math_half is not None or self.pack_half is not None or bool(self.committed)

    def open_sections(self) -> str | None:
        """Describe a section left open (for the end-of-thread check), or None."""
        if self.math_half is not None:
            return "DST still acquired at the end of the compute thread (missing tile_regs_commit)"
        if self.pack_half is not None:
            return "DST still held by the packer at the end of the compute thread (missing tile_regs_release)"
        if self.committed:
            return "committed DST never packed (missing tile_regs_wait/tile_regs_release)"
        return None

    # -- math side -----------------------------------------------------------------------
    def _math_slot(self, d: int) -> int:
        half = self.math_half
        if half is None:
            raise ProtocolError("math op on DST outside tile_regs_acquire..tile_regs_commit")
        if not 0 <= d < self.capacity:
            raise ProtocolError(
                f"DST slot {d} out of range: capacity is {self.capacity} tiles "
                f"({'fp32' if self.fp32 else 'bf16'} mode)"
            )
        return half

    def _round_pending(self) -> None:
        """Round the slots written since they were last read, neighbours sharing a rounding in one call."""
        if len(self.pending) == 1:
            ((d, rounding),) = self.pending.items()
            self.pending = {}
            slot = self.slots[self.math_half][d]  # type: ignore[index]
            rounding(slot, slot)
            return
        pending = sorted(self.pending.items())
        self.pending = {}
        half = self.halves[self.math_half]
        start = 0
        for k in range(1, len(pending) + 1):
            if k == len(pending) or pending[k][0] != pending[k - 1][0] + 1 or pending[k][1] is not pending[start][1]:
                block = half[pending[start][0]:pending[k - 1][0] + 1]
                pending[start][1](block, block)
                start = k

    def load(self, d: int) -> np.ndarray:
        """Read slot ``d`` of the math half (a view: do not mutate)."""
        half = self.math_half
        if half is None or not 0 <= d < self.capacity:
            half = self._math_slot(d)  # raises
        if d in self.pending:
            self._round_pending()
        return self.slots[half][d]

    def load_block(self, d: int, n: int) -> np.ndarray:
        """Slots ``d .. d+n-1`` of the math half as one (n, 32, 32) array (a view: do not mutate)."""
        self._math_slot(d + n - 1)
        half = self._math_slot(d)
        if self.pending:
            self._round_pending()
        return self.halves[half, d:d + n]

    def store_block(self, d: int, n: int, values: np.ndarray, rounding: Rounding | None = None) -> None:
        """Write slots ``d .. d+n-1`` of the math half (``values`` is (n, 32, 32)), rounded by ``rounding``
        (default: the register file's)."""
        self._math_slot(d + n - 1)
        half = self._math_slot(d)
        rounding = rounding or self.rounding
        self.halves[half, d:d + n] = values
        clear = self.clear[half]
        pending = self.pending
        for s in range(d, d + n):
            clear[s] = False
            if rounding is copy_into:
                pending.pop(s, None)
            else:
                pending[s] = rounding
        if d + n - 1 > self.max_slot:
            self.max_slot = d + n - 1

    def writable(self, d: int, n: int = 1) -> bool:
        """True when math ops may use slots ``d .. d+n-1`` (DST acquired, slots in range)."""
        return self.math_half is not None and 0 <= d and d + n <= self.capacity

    def is_clear(self, d: int) -> bool:
        """True if slot ``d`` was not written since the last acquire."""
        return self.clear[self._math_slot(d)][d]

    def store(self, d: int, value: np.ndarray | float, rounding: Rounding | None = None) -> None:
        """Write slot ``d`` of the math half (``value`` broadcast to a tile), to be rounded by ``rounding``
        (default: the register file's) before it is read."""
        half = self.math_half
        if half is None or not 0 <= d < self.capacity:
            half = self._math_slot(d)  # raises
        rounding = rounding or self.rounding
        self.slots[half][d][...] = value
        if rounding is copy_into:
            self.pending.pop(d, None)
        else:
            self.pending[d] = rounding
        self.clear[half][d] = False
        if d > self.max_slot:
            self.max_slot = d

    # -- pack side -----------------------------------------------------------------------
    def pack_load(self, d: int) -> np.ndarray:
        """Read slot ``d`` of the half held by the packer (a view: copy before keeping)."""
        half = self.pack_half
        if half is None:
            raise ProtocolError("pack_tile outside tile_regs_wait..tile_regs_release")
        if not 0 <= d < self.capacity:
            raise ProtocolError(
                f"DST slot {d} out of range: capacity is {self.capacity} tiles "
                f"({'fp32' if self.fp32 else 'bf16'} mode)"
            )
        return self.halves[half, d]
