"""A cost model with one engine class made dearer, for extraction's candidate programs.

Extraction prices items with a proxy; the scheduler prices whole programs. A program that leans on an
engine (packer L1 accumulation, the SFPU) can look cheap in items and schedule dear, so extraction also
extracts under a model where each engine class costs twice as much and lets the scheduler choose among
the programs. Then a cheaper engine can only add options: the program chosen when that engine was dearer
is still among the candidates (exactly so when the engine's cost doubles).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from tteqsat.cost.engines import Engines
from tteqsat.cost.timeline import Stage

if TYPE_CHECKING:
    from tteqsat.cost.model import CostModel
    from tteqsat.extraction.program import HwOp

ENGINE_CLASSES = ("unpack", "fpu", "sfpu", "pack", "overhead")


def scale_engines(e: Engines, engine: str, factor: float) -> Engines:
    """`e` with one engine class's cycles multiplied by `factor`."""
    if engine == "unpack":
        return Engines(e.unpack * factor, e.math, e.pack, e.sfpu, e.unpack_b * factor, e.pack_sfpu)
    if engine == "fpu":
        return Engines(e.unpack, e.fpu * factor + e.sfpu, e.pack, e.sfpu, e.unpack_b, e.pack_sfpu)
    if engine == "sfpu":
        return Engines(e.unpack, e.fpu + e.sfpu * factor, e.pack - e.pack_sfpu + e.pack_sfpu * factor,
                       e.sfpu * factor, e.unpack_b, e.pack_sfpu * factor)
    if engine == "pack":
        packer = e.pack - e.pack_sfpu
        return Engines(e.unpack, e.math, packer * factor + e.pack_sfpu, e.sfpu, e.unpack_b, e.pack_sfpu)
    return e


class ScaledEngines:
    """`base` with `engine` ("unpack", "fpu", "sfpu", "pack", or "overhead": section handshakes and
    inits, for the default model) `factor` times as dear; everything else is the base model's."""

    def __init__(self, base: CostModel, engine: str, factor: float = 2.0) -> None:
        if engine not in ENGINE_CLASSES:
            raise ValueError(f"engine must be one of {ENGINE_CLASSES}")
        if engine == "overhead" and type(base).__name__ == "TensixCostModel":  # its handshakes and inits
            arch = base.arch
            base = type(base)(arch.with_overrides({"sync.init": arch.num("sync.init") * factor,
                                                   "sync.section": arch.num("sync.section") * factor}))
        self.base, self.engine, self.factor = base, engine, factor
        self.arch = base.arch

    def __getattr__(self, name: str):  # the rest of the protocol (and extras) as the base has them
        return getattr(self.base, name)

    def _s(self, e: Engines) -> Engines:
        return scale_engines(e, self.engine, self.factor)

    def op_tile(self, op: HwOp, formats: tuple[str, ...] = ()) -> Engines:
        return self._s(self.base.op_tile(op, formats))

    def matmul_pass(self, k_tiles: int, rows: int, cols: int, in0_format: str = "bf16",
                    in1_format: str = "bf16") -> Engines:
        return self._s(self.base.matmul_pass(k_tiles, rows, cols, in0_format, in1_format))

    def pack_tile(self) -> Engines:
        return self._s(self.base.pack_tile())

    def copy_dest(self) -> Engines:
        return self._s(self.base.copy_dest())

    def mask_stage(self, patterns: list[tuple[str, str]]) -> Stage:
        return self._scaled_stage(self.base.mask_stage(patterns))

    def fill_stage(self, tiles: int) -> Stage:
        return self._scaled_stage(self.base.fill_stage(tiles))

    def _scaled_stage(self, st: Stage) -> Stage:
        """A fill-like stage (SFPU on math, then a pack) with the perturbed engine scaled."""
        if self.engine == "pack":
            return replace(st, pack=st.pack * self.factor)
        if self.engine == "sfpu":
            return replace(st, math=st.math * self.factor)
        return st
