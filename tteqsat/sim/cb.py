"""Circular buffers: the FIFO between the reader, compute and writer threads.

The model follows tt-metal's CB API: a producer reserves free pages at the write pointer,
fills them and pushes them; a consumer waits for published pages at the read pointer, reads
them and pops them. Every misuse that would corrupt data or hang on hardware raises
`ProtocolError` here; blocking is left to the interpreter (`can_reserve` / `can_wait`).

A page always holds a value of the CB's format: every write rounds to it (`write`, and the packer's
conversions into `page`) or copies a tile of that format (`store`, from a DRAM tensor of the same dtype, whose
tiles were rounded when loaded or copied from such a CB). A bf16 page is therefore bf16 with any NaN
0x7FC00000 (every bf16 rounding makes NaNs that), which lets readers copy it unchanged where rounding it to bf16
again would not change it.
"""

from __future__ import annotations

import numpy as np

from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.tiles import TILE, TILE_BYTES, round_to


class CircularBuffer:
    """A CB of ``capacity`` tiles of element type ``dtype`` ('bf16' or 'f32')."""

    __slots__ = (
        "cb_id",
        "capacity",
        "dtype",
        "tile_bytes",
        "data",
        "tiles",
        "read_ptr",
        "write_ptr",
        "published",
        "reserved",
        "waited",
        "max_occupancy",
        "pack_ptr",
        "wait_count",
        "pushed_total",
        "popped_total",
    )

    def __init__(self, cb_id: int, capacity: int, dtype: str) -> None:
        if capacity < 1:
            raise ProtocolError(f"cb {cb_id}: capacity must be at least 1 tile, got {capacity}")
        if dtype not in TILE_BYTES:
            raise ProtocolError(f"cb {cb_id}: unsupported tile element type {dtype!r}")
        self.cb_id = cb_id
        self.capacity = capacity
        self.dtype = dtype
        self.tile_bytes = TILE_BYTES[dtype]
        self.data = np.zeros((capacity, TILE, TILE), dtype=np.float32)  # the pages, one contiguous array
        self.tiles: list[np.ndarray] = list(self.data)  # a view of each page; writes go into them
        self.reset()

    def reset(self) -> None:
        """Empty, zeroed and unused, as created (the next core of a program starts with it so)."""
        self.data.fill(0.0)
        self.read_ptr = 0  # absolute page counters; slot = ptr % capacity
        self.write_ptr = 0
        self.published = 0  # pushed and not yet popped
        self.reserved = 0  # reserved by the producer, not yet pushed
        self.waited = 0  # waited for by the consumer, not yet popped
        self.max_occupancy = 0
        self.pack_ptr = 0  # the packer's running tile pointer (fifo_wr_tile_ptr): reset by cb_push_back
        self.wait_count: int | None = None  # the page count of this CB's cb_wait_front calls
        self.pushed_total = 0
        self.popped_total = 0

    # -- page-count checks ---------------------------------------------------------------
    def _check_count(self, n: int, what: str) -> None:
        if n < 1:
            raise ProtocolError(f"cb {self.cb_id}: {what} of {n} pages (must be >= 1)")
        if n > self.capacity:
            raise ProtocolError(
                f"cb {self.cb_id}: {what} of {n} pages exceeds the capacity of {self.capacity} tiles"
            )

    # -- producer side -------------------------------------------------------------------
    def can_reserve(self, n: int) -> bool:
        """True when ``n`` pages are free; raises if ``n`` could never be satisfied."""
        self._check_count(n, "cb_reserve_back")
        return self.capacity - self.published >= n

    def reserve(self, n: int) -> None:
        """Complete a ``cb_reserve_back(n)`` that `can_reserve` allowed."""
        if n > self.reserved:
            self.reserved = n
        occupancy = self.published + self.reserved
        if occupancy > self.max_occupancy:
            self.max_occupancy = occupancy

    def push(self, n: int) -> None:
        """``cb_push_back(n)``: publish ``n`` reserved pages."""
        if n < 1 or n > self.reserved:
            raise ProtocolError(
                f"cb {self.cb_id}: cb_push_back of {n} pages but only {self.reserved} reserved"
            )
        self.write_ptr += n
        self.published += n
        self.reserved -= n
        self.pushed_total += n
        self.pack_ptr = 0

    def _slot(self, index: int, what: str = "write to tile") -> int:
        if not 0 <= index < self.reserved:
            raise ProtocolError(
                f"cb {self.cb_id}: {what} {index} beyond the {self.reserved} reserved tiles"
            )
        return (self.write_ptr + index) % self.capacity

    def write(self, index: int, tile: np.ndarray) -> None:
        """Store ``tile`` (rounded to the CB's dtype) at write pointer + ``index``."""
        round_to(tile, self.dtype, self.tiles[self._slot(index)])

    def pack_position(self, index: int, out_of_order: bool) -> int:
        """The tile a ``pack_tile`` writes: ``index`` with out_of_order, else the packer's running pointer,
        which ignores the index and moves on one tile per pack until the next cb_push_back (tt-metal
        llk_pack_api.h get_output_tile_address)."""
        if out_of_order:
            return index
        position = self.pack_ptr
        self.pack_ptr += 1
        return position

    def store(self, index: int, tile: np.ndarray, what: str) -> None:
        """Store an already converted ``tile`` at write pointer + ``index`` (``what`` names the writer)."""
        self.tiles[self._slot(index, what)][...] = tile

    def page(self, index: int, what: str) -> np.ndarray:
        """The page at write pointer + ``index``, to be written in place (``what`` names the writer)."""
        return self.tiles[self._slot(index, what)]

    def accumulate(self, index: int, tile: np.ndarray, what: str, convert) -> None:
        """L1 += ``tile`` at write pointer + ``index``, converted back to the CB's format by
        ``convert(values, out)``."""
        page = self.tiles[self._slot(index, what)]
        convert(page + tile, page)

    # -- consumer side -------------------------------------------------------------------
    def can_wait(self, n: int) -> bool:
        """True when ``n`` pages are published; raises if ``n`` could never be satisfied."""
        self._check_count(n, "cb_wait_front")
        if n != self.wait_count:
            self.check_wait_count(n)
        return self.published >= n

    def check_wait_count(self, n: int) -> None:
        """tt-metal cb_api.h: every cb_wait_front on a CB in a kernel uses the same page count, and it divides
        the CB's capacity (the CB implementation relies on both)."""
        if self.wait_count is None:
            if self.capacity % n:
                raise ProtocolError(
                    f"cb {self.cb_id}: cb_wait_front of {n} pages does not divide the capacity of "
                    f"{self.capacity} tiles (tt-metal cb_api.h requires it)"
                )
            self.wait_count = n
        elif n != self.wait_count:
            raise ProtocolError(
                f"cb {self.cb_id}: cb_wait_front of {n} pages after cb_wait_front of {self.wait_count}: tt-metal "
                "cb_api.h requires one page count in all cb_wait_front calls on a CB in a kernel"
            )

    def wait(self, n: int) -> None:
        """Complete a ``cb_wait_front(n)`` that `can_wait` allowed."""
        if n > self.waited:
            self.waited = n

    def pop(self, n: int) -> None:
        """``cb_pop_front(n)``: free ``n`` pages that were waited for."""
        if n < 1 or n > self.waited:
            raise ProtocolError(
                f"cb {self.cb_id}: cb_pop_front of {n} pages but only {self.waited} waited for"
            )
        self.read_ptr += n
        self.published -= n
        self.waited -= n
        self.popped_total += n

    def undrained(self) -> str | None:
        """What is left in the CB at the end of a kernel (pages published but never popped, or reserved but
        never pushed), or None when it is empty."""
        if not self.published and not self.reserved:
            return None
        parts = []
        if self.published:
            parts.append(f"{self.published} tiles pushed but never popped ({self.pushed_total} pushed, "
                         f"{self.popped_total} popped)")
        if self.reserved:
            parts.append(f"{self.reserved} tiles reserved but never pushed")
        return f"cb {self.cb_id}: " + " and ".join(parts)

    def read(self, index: int) -> np.ndarray:
        """The tile at read pointer + ``index`` (must have been waited for): a view of the page, valid until it
        is written again. Do not mutate it."""
        if not 0 <= index < self.waited:
            raise ProtocolError(
                f"cb {self.cb_id}: read of tile {index} but only {self.waited} tiles waited for"
            )
        return self.tiles[(self.read_ptr + index) % self.capacity]

    def overwrite_front(self, tile: np.ndarray) -> None:
        """Replace the front page (waited for) in place: an LLK writing L1 at the read pointer."""
        self.read(0)[...] = tile

    def read_block(self, index: int, n: int) -> np.ndarray:
        """Tiles read pointer + ``index`` .. + ``n - 1`` as one (n, 32, 32) array (each must have been waited
        for): a view when they are contiguous in L1, else a copy. Do not mutate it."""
        if n < 1 or not (0 <= index and index + n <= self.waited):  # fails as reading them one by one would
            return np.stack([self.read(index + k) for k in range(n)])
        start = (self.read_ptr + index) % self.capacity
        if start + n <= self.capacity:
            return self.data[start:start + n]
        return np.stack([self.read(index + k) for k in range(n)])

    def readable(self, index: int, n: int) -> bool:
        """True when tiles read pointer + ``index`` .. + ``n - 1`` may be read (were waited for)."""
        return 0 <= index and index + n <= self.waited

    def gather(self, indices: list[int]) -> np.ndarray:
        """Copies of the tiles at read pointer + each of ``indices`` (checked with `readable` first), as one
        (len, 32, 32) array."""
        return self.data[[(self.read_ptr + i) % self.capacity for i in indices]]

    # -- L1 addresses (dataflow threads) -------------------------------------------------
    def slot_of_offset(self, base_ptr: int, address_slot: int) -> int:
        """Offset of physical ``address_slot`` from the page counter ``base_ptr``."""
        return (address_slot - base_ptr) % self.capacity

    def describe(self) -> str:
        return (
            f"cb {self.cb_id}: {self.published}/{self.capacity} published, "
            f"{self.reserved} reserved, {self.waited} waited"
        )
