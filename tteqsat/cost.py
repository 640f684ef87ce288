"""The cost model: engine cycles of each op form and of each DST section, from the arch file.

A section pass (one acquire..release) runs unpack, math and pack as overlapping threads, so it costs the
slowest of the three plus a sync overhead; FPU and SFPU work add up on the math thread. Sections and
loop trips add up. Data movement (DRAM <-> L1 over the NoC) runs beside compute and bounds it below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .arch import Arch
from .program import HwOp

PHASES = {"lofi": 1, "hifi2": 2, "hifi3": 3, "hifi4": 4}


@dataclass(frozen=True)
class Engines:
    """Cycles on the three compute threads."""

    unpack: float = 0.0
    math: float = 0.0
    pack: float = 0.0

    def __add__(self, o: Engines) -> Engines:
        return Engines(self.unpack + o.unpack, self.math + o.math, self.pack + o.pack)

    def scaled(self, k: float) -> Engines:
        return Engines(self.unpack * k, self.math * k, self.pack * k)

    @property
    def total(self) -> float:
        return self.unpack + self.math + self.pack

    @property
    def overlapped(self) -> float:
        return max(self.unpack, self.math, self.pack)


class CostModel(Protocol):
    """What extraction and scheduling need from a cost model."""

    arch: Arch

    def op_tile(self, op: HwOp) -> Engines: ...          # one output tile of `op`
    def pack_tile(self) -> Engines: ...                  # packing one tile to a CB
    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float: ...  # one DST section's cycles


class TensixCostModel:
    """The default model; every number comes from the arch file."""

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        self.phases = PHASES[str(arch["matmul.fidelity"])]
        self.unpack = arch.num("unpack.cycles_per_tile")
        self.pack = arch.num("pack.cycles_per_tile")

    def _sfpu(self, name: str) -> float:
        return self.arch.num(f"sfpu.{name}")

    def op_tile(self, op: HwOp) -> Engines:
        a = self.arch
        k = op.kind
        if k == "input":
            return Engines()
        if k == "copy":
            return Engines(self.unpack, a.num("fpu.copy"))
        if k in ("fpu", "reuse"):
            math = a.num(f"fpu.{op.op}") * (self.phases if op.op == "mul" else 1)
            return Engines(self.unpack * (2 if k == "fpu" else 1), math)
        if k == "sfpu2":
            return Engines(0, self._sfpu("div" if op.op == "div" else "binary"))
        if k == "sfpu":
            return Engines(0, self._sfpu(op.op))
        if k == "exp_scaled":
            return Engines(0, self._sfpu("exp"))
        if k == "scalar":
            extra = {"rsub_s": self._sfpu("neg"), "rdiv_s": self._sfpu("recip")}.get(op.op, 0.0)
            return Engines(0, self._sfpu("scalar") + extra)
        if k == "matmul":
            kt = op.operands[0].grid[1]
            return Engines(2 * kt * self.unpack, kt * a.num(f"matmul.{a['matmul.fidelity']}"))
        if k == "reduce":
            src = op.operands[0].grid
            length = src[1] if op.op.startswith("row") else src[0]
            per = a.num("fpu.reduce_max") if op.op.endswith("max") else a.num("fpu.reduce_sum") * self.phases
            return Engines(length * self.unpack, length * per)
        if k == "bcast":
            return Engines(self.unpack, a.num("fpu.bcast"))
        if k == "transpose":
            return Engines(self.unpack, a.num("fpu.transpose"))
        raise ValueError(f"no cost for op form {k}")

    def pack_tile(self) -> Engines:
        return Engines(pack=self.pack)

    def copy_dest(self) -> Engines:
        return Engines(math=self._sfpu("copy_dest"))

    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float:
        sync = self.arch.num("sync.section")
        init = self.arch.num("sync.init")
        per = per_iteration.overlapped + sync + inits_per_iteration * init
        return iterations * per + inits_hoisted * init

    def data_movement(self, dram_bytes: int) -> float:
        """Cycles to move `dram_bytes` between DRAM and this core's L1 over one NoC link."""
        return dram_bytes / self.arch.num("noc.bytes_per_cycle")
