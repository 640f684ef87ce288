"""DRAM tensors and the address spaces the dataflow threads compute with.

The host program (`tteqsat.lowering.host`) gives each tensor a DRAM base address, which reaches a kernel as a
runtime argument; L1 addresses returned by ``get_write_ptr``/``get_read_ptr`` encode (CB, slot). Keeping both as
plain integers lets kernels do address arithmetic with arith ops while the simulator can still map every access
back to a tensor tile or CB page and check it. A ``TensorAccessor`` value (`Accessor`) is what the kernel builds
from its accessor compile-time args, a base address and a page size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.tiles import n_tiles, round_to, tilize, untilize

DRAM_STRIDE = 1 << 24
"""Spacing of tensor base addresses; tensor i lives at (i + 1) * DRAM_STRIDE."""
L1_REGION = 1 << 22
"""Spacing of CB regions in the simulated L1; CB n starts at (n + 1) * L1_REGION."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One DRAM tensor of the host program: name, role (in/out), shape in elements, dtype."""

    name: str
    role: str
    shape: tuple[int, ...]  # batch axes, then rows and columns
    dtype: str

    @property
    def n_tiles(self) -> int:
        return n_tiles(self.shape)


class Dram:
    """Tiled storage for every kernel tensor, indexed by runtime-argument position."""

    def __init__(self, specs: list[TensorSpec], inputs: Mapping[str, np.ndarray]) -> None:
        self.specs = specs
        self.n_tiles = [spec.n_tiles for spec in specs]
        self.tiles: list[list[np.ndarray]] = []
        self.written: list[list[bool]] = []
        for spec in specs:
            if spec.role == "in":
                if spec.name not in inputs:
                    raise ValueError(f"missing input tensor {spec.name!r}")
                arr = np.asarray(inputs[spec.name])
                if arr.shape != spec.shape:
                    raise ValueError(
                        f"input tensor {spec.name!r} has shape {arr.shape}, expected {spec.shape}"
                    )
                self.tiles.append(list(round_to(np.stack(tilize(arr)), spec.dtype)))
            else:
                self.tiles.append(tilize(np.zeros(spec.shape, dtype=np.float32)))
            self.written.append([False] * spec.n_tiles)

    def base_address(self, index: int) -> int:
        """The DRAM base address of tensor ``index`` (what the host passes as its buffer address)."""
        return (index + 1) * DRAM_STRIDE

    def tensor_at(self, base: int) -> int:
        """Tensor index whose base address is ``base``."""
        index, rem = divmod(base, DRAM_STRIDE)
        if rem or not 1 <= index <= len(self.specs):
            raise ProtocolError(f"address {base:#x} is not the DRAM base of any kernel tensor")
        return index - 1

    def check_tile(self, tensor: int, tile_id: int) -> None:
        if 0 <= tile_id < self.n_tiles[tensor]:
            return
        spec = self.specs[tensor]
        if not 0 <= tile_id < spec.n_tiles:
            raise ProtocolError(
                f"tile id {tile_id} out of range for tensor {spec.name!r} ({spec.n_tiles} tiles)"
            )

    def outputs(self) -> dict[str, np.ndarray]:
        return {
            spec.name: untilize(self.tiles[i], spec.shape)
            for i, spec in enumerate(self.specs)
            if spec.role == "out"
        }


@dataclass(frozen=True, slots=True)
class AccessorArgs:
    """Value of ``ttkernel.TensorAccessorArgs``: the compile-time args it read, and where the next one starts."""

    cta_offset: int
    crta_offset: int
    config: int
    page_size: int

    @property
    def next_cta(self) -> int:
        return self.cta_offset + 2  # an interleaved tensor: [config, page size]


@dataclass(frozen=True, slots=True)
class Accessor:
    """Value of ``ttkernel.TensorAccessor``: an interleaved DRAM tensor's base address and page size."""

    base: int
    page_size: int


class L1Map:
    """Maps the integer L1 addresses handed out for CB pages back to (CB, slot)."""

    def __init__(self, cbs: Mapping[int, CircularBuffer]) -> None:
        self.cbs = cbs

    @staticmethod
    def address(cb: CircularBuffer, page_counter: int) -> int:
        return (cb.cb_id + 1) * L1_REGION + (page_counter % cb.capacity) * cb.tile_bytes

    def resolve(self, address: int) -> tuple[CircularBuffer, int]:
        """The CB and physical slot that ``address`` points at (must be page-aligned)."""
        region, offset = divmod(address, L1_REGION)
        cb = self.cbs.get(region - 1)
        if cb is None:
            raise ProtocolError(f"L1 address {address:#x} is not inside any circular buffer")
        slot, rem = divmod(offset, cb.tile_bytes)
        if rem:
            raise ProtocolError(f"L1 address {address:#x} is not a page of cb {cb.cb_id}")
        if slot >= cb.capacity:  # a CB's pages are consecutive in L1; an address past them wraps nowhere
            past = slot - cb.capacity + 1
            raise ProtocolError(f"L1 address {address:#x} lies {past} page{'s' if past > 1 else ''} past the end of "
                                f"cb {cb.cb_id} ({cb.capacity} pages): consecutive pages from a CB pointer do not "
                                "wrap around the CB's end")
        return cb, slot
