"""DRAM tensors and the address spaces the dataflow threads compute with.

Runtime argument ``i`` is the DRAM base address of tensor ``i`` of ``tteqsat.tensors``; L1
addresses returned by ``get_write_ptr``/``get_read_ptr`` encode (CB, slot). Keeping both as
plain integers lets kernels do address arithmetic with arith ops while the simulator can
still map every access back to a tensor tile or CB page and check it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tteqsat.sim.cb import CircularBuffer
from tteqsat.sim.errors import ProtocolError
from tteqsat.sim.tiles import round_to, tile_grid, tilize, untilize

DRAM_STRIDE = 1 << 24
"""Spacing of tensor base addresses; tensor i lives at (i + 1) * DRAM_STRIDE."""
L1_REGION = 1 << 22
"""Spacing of CB regions in the simulated L1; CB n starts at (n + 1) * L1_REGION."""

_SPEC_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*):(in|out):(\d+)x(\d+):(bf16|f32)$")


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One entry of the module's ``tteqsat.tensors``: ``name:role:RxC:dtype``."""

    name: str
    role: str
    shape: tuple[int, int]
    dtype: str

    @property
    def n_tiles(self) -> int:
        tr, tc = tile_grid(self.shape)
        return tr * tc


def parse_tensor_spec(text: str) -> TensorSpec:
    """Parse ``"q:in:64x64:bf16"``; raises ValueError on malformed text."""
    m = _SPEC_RE.match(text)
    if m is None:
        raise ValueError(f"malformed tensor spec {text!r} (expected name:in|out:RxC:bf16|f32)")
    rows, cols = int(m.group(3)), int(m.group(4))
    if rows < 1 or cols < 1:
        raise ValueError(f"tensor spec {text!r} has an empty shape")
    return TensorSpec(m.group(1), m.group(2), (rows, cols), m.group(5))


class Dram:
    """Tiled storage for every kernel tensor, indexed by runtime-argument position."""

    def __init__(self, specs: list[TensorSpec], inputs: Mapping[str, np.ndarray]) -> None:
        self.specs = specs
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
                self.tiles.append([round_to(t, spec.dtype) for t in tilize(arr)])
            else:
                self.tiles.append(tilize(np.zeros(spec.shape, dtype=np.float32)))
            self.written.append([False] * spec.n_tiles)

    def base_address(self, index: int) -> int:
        if not 0 <= index < len(self.specs):
            raise ProtocolError(
                f"runtime argument {index} does not exist: the kernel has {len(self.specs)} tensors"
            )
        return (index + 1) * DRAM_STRIDE

    def tensor_at(self, base: int) -> int:
        """Tensor index whose base address is ``base``."""
        index, rem = divmod(base, DRAM_STRIDE)
        if rem or not 1 <= index <= len(self.specs):
            raise ProtocolError(f"address {base:#x} is not the DRAM base of any kernel tensor")
        return index - 1

    def check_tile(self, tensor: int, tile_id: int) -> None:
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
class AddrGen:
    """Value of ``get_interleaved_addr_gen_fast``: where a tensor lives and how it is paged."""

    is_dram: bool
    base: int
    page_size: int
    data_format: str


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
        if rem or slot >= cb.capacity:
            raise ProtocolError(f"L1 address {address:#x} is not a page of cb {cb.cb_id}")
        return cb, slot
