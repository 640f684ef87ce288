"""The cost model: engine cycles of each op form and of each DST section, from the arch file.

A section pass (one acquire..release) runs unpack, math and pack as overlapping threads, so it costs the
slowest of the three plus a sync overhead; FPU and SFPU work add up on the math thread. With
`settings.dst_full_sync` DST is not double-buffered, so math waits for pack: a pass costs
max(unpack, math + pack). Inits cost `sync.init` each: one per engine before the loop, and one inside
each pass whenever the op kind changes. Sections and loop trips add up. Data movement (DRAM <-> L1 over
the NoC) runs beside compute and bounds it below. `docs/cost-models.md` describes how to plug in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tteqsat.arch import FIDELITIES, Arch

if TYPE_CHECKING:  # types only: the cost model sits below the program and schedule it prices
    from tteqsat.extraction.program import HwOp
    from tteqsat.scheduling.model import Schedule

PHASES = {f: n + 1 for n, f in enumerate(FIDELITIES)}
SFPU_KINDS = ("sfpu", "sfpu2", "scalar", "exp_scaled")


@dataclass(frozen=True)
class Engines:
    """Cycles on the three compute threads; `sfpu` is the part of `math` spent on the SFPU."""

    unpack: float = 0.0
    math: float = 0.0
    pack: float = 0.0
    sfpu: float = 0.0

    def __add__(self, o: Engines) -> Engines:
        return Engines(self.unpack + o.unpack, self.math + o.math, self.pack + o.pack, self.sfpu + o.sfpu)

    def scaled(self, k: float) -> Engines:
        return Engines(self.unpack * k, self.math * k, self.pack * k, self.sfpu * k)

    @property
    def fpu(self) -> float:
        return self.math - self.sfpu

    @property
    def total(self) -> float:
        return self.unpack + self.math + self.pack

    @property
    def overlapped(self) -> float:
        return max(self.unpack, self.math, self.pack)


class CostModel(Protocol):
    """What extraction and scheduling need from a cost model (see docs/cost-models.md)."""

    arch: Arch

    def op_tile(self, op: HwOp) -> Engines: ...          # one output tile of `op`
    def pack_tile(self) -> Engines: ...                  # packing one tile to a CB
    def copy_dest(self) -> Engines: ...                  # copy_dest_values before an in-place op
    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float: ...  # one DST section's cycles
    def data_movement(self, dram_bytes: int) -> float: ...  # DRAM <-> L1 cycles, a lower bound on the kernel


class TensixCostModel:
    """The default model; every number comes from the arch file, every switch from its [settings]."""

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        self.phases = arch.fidelity_phases
        self.unpack = arch.num("unpack.cycles_per_tile")
        self.pack = arch.num("pack.cycles_per_tile")

    # -- per tile ------------------------------------------------------------------------------------
    def sfpu_cycles(self, name: str, shape: tuple[int, int] | None = None) -> float:
        """SFPU cycles per tile: the accurate exp unless `exp_approx`, vector variants when enabled."""
        if name == "exp" and not self.arch.exp_approx:
            name = "exp_accurate"
        cycles = self.arch.num(f"sfpu.{name}")
        if shape is not None and self.arch.vector_variants:
            if shape[1] == 1:
                cycles *= self.arch.num("sfpu.column_factor")
            elif shape[0] == 1:
                cycles *= self.arch.num("sfpu.row_factor")
        return cycles

    def _sfpu(self, cycles: float) -> Engines:
        return Engines(math=cycles, sfpu=cycles)

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
            return self._sfpu(self.sfpu_cycles("div" if op.op == "div" else "binary", op.shape))
        if k == "sfpu":
            return self._sfpu(self.sfpu_cycles(op.op, op.shape))
        if k == "exp_scaled":
            accurate = op.attrs.get("accurate") and self.arch.exp_approx
            return self._sfpu(self.sfpu_cycles("exp_accurate" if accurate else "exp", op.shape))
        if k == "scalar":
            extra = {"rsub_s": "neg", "rdiv_s": "recip"}.get(op.op)
            cycles = self.sfpu_cycles("scalar", op.shape)
            return self._sfpu(cycles + (self.sfpu_cycles(extra, op.shape) if extra else 0.0))
        if k == "matmul":
            kt = op.operands[0].grid[1]
            return Engines(2 * kt * self.unpack, kt * a.num(f"matmul.{a.math_fidelity}"))
        if k == "reduce":
            src = op.operands[0].grid
            length = src[1] if op.op.startswith("row") else src[0]
            per = a.num("fpu.reduce_max") if op.op.endswith("max") else a.num("fpu.reduce_sum") * self.phases
            return Engines(length * self.unpack, length * per)
        if k == "bcast":
            return Engines(self.unpack, a.num("fpu.bcast"))
        if k == "transpose":
            return Engines(self.unpack, a.num("fpu.transpose"))
        if k == "tilesum":  # the operand's row of tiles packed into one tile with L1 accumulation
            return Engines(pack=op.operands[0].grid[1] * a.num("pack.l1_acc_cycles_per_tile"))
        raise ValueError(f"no cost for op form {k}")

    def pack_tile(self) -> Engines:
        return Engines(pack=self.pack)

    def copy_dest(self) -> Engines:
        return self._sfpu(self.sfpu_cycles("copy_dest"))

    # -- per section -----------------------------------------------------------------------------------
    def pass_cycles(self, e: Engines) -> float:
        """One pass's critical path: threads overlap; without double buffering math waits for pack."""
        if self.arch.dst_full_sync:
            return max(e.unpack, e.math + e.pack)
        return e.overlapped

    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float:
        parts = self.section_parts(per_iteration, iterations, inits_hoisted, inits_per_iteration)
        return parts["overlapped"] + parts["sync"] + parts["init"]

    def section_parts(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                      inits_per_iteration: int) -> dict[str, float]:
        """The three summands of a section's cycles: overlapped engine work, sync handshakes, inits."""
        init = self.arch.num("sync.init")
        return {"overlapped": iterations * self.pass_cycles(per_iteration),
                "sync": iterations * self.arch.num("sync.section"),
                "init": (inits_hoisted + iterations * inits_per_iteration) * init}

    def data_movement(self, dram_bytes: int) -> float:
        """Cycles to move `dram_bytes` between DRAM and this core's L1: the slower of one NoC link and one
        DRAM controller, plus one read latency."""
        if dram_bytes <= 0:
            return 0.0
        rate = min(self.arch.num("noc.bytes_per_cycle"), self.arch.num("dram.bytes_per_cycle"))
        return dram_bytes / rate + self.arch.num("dram.read_latency")

    # -- explanation -----------------------------------------------------------------------------------
    def breakdown(self, schedule: Schedule) -> list[dict[str, object]]:
        """Where a schedule's cycles go: one row per section, one for the fills (scaler CBs and loop state,
        if any), and the data-movement lower bound. Every row has the same keys, so reports can tabulate
        them directly.

        Engine columns are busy cycles summed over the section's passes and loop trips (they overlap);
        `overlapped`, `sync` and `init` add up to `cycles`. Section and fill rows add up to compute_cycles.
        """
        rows: list[dict[str, object]] = []
        loop = getattr(schedule, "loop", None)
        for sec in schedule.sections:
            trips = loop.trips if loop is not None and getattr(sec, "in_loop", False) else 1
            e, n = sec.engines, sec.iterations
            parts = {k: v * trips for k, v in
                     self.section_parts(e, n, sec.inits_hoisted, sec.inits_per_iteration).items()}
            grid = f"{sec.grid[0]}x{sec.grid[1]}"
            rows.append(_row("section", sec.index, grid, n, trips, len(sec.ops), e.scaled(n * trips), parts,
                             self._bound(e), sec.cycles * trips, 0))
        fills = sum(1 for cb in schedule.cbs if cb.role == "scaler")
        fills += sum(f.tiles for f in loop.fills) if loop is not None else 0
        if fills:
            one = self._sfpu(self.arch.num("sfpu.fill")) + self.pack_tile()  # as build_schedule prices it
            parts = {k: v * fills for k, v in self.section_parts(one, 1, 1, 0).items()}
            rest = schedule.compute_cycles - sum(float(r["cycles"]) for r in rows)  # type: ignore[arg-type]
            rows.append(_row("fill", None, "1x1", fills, 1, fills, one.scaled(fills), parts, self._bound(one),
                             rest, 0))
        dm_bytes = sum(a.n_tiles for a in schedule.args) * self.arch.tile_bytes(schedule.dtype)
        binds = schedule.data_movement_cycles > schedule.compute_cycles
        none = {"overlapped": 0.0, "sync": 0.0, "init": 0.0}
        rows.append(_row("data_movement", None, "", 0, 0, 0, Engines(), none, "noc/dram" if binds else "",
                         schedule.data_movement_cycles, dm_bytes))
        return rows

    def _bound(self, e: Engines) -> str:
        if self.arch.dst_full_sync and e.math + e.pack >= e.unpack:
            return "math+pack"
        return max((("unpack", e.unpack), ("math", e.math), ("pack", e.pack)), key=lambda t: t[1])[0]


def _row(kind: str, index: int | None, grid: str, iterations: int, trips: int, ops: int, e: Engines,
         parts: dict[str, float], bound: str, cycles: float, dram_bytes: int) -> dict[str, object]:
    return {"kind": kind, "section": index, "grid": grid, "iterations": iterations, "trips": trips, "ops": ops,
            "unpack": e.unpack, "math_fpu": e.fpu, "math_sfpu": e.sfpu, "pack": e.pack,
            "overlapped": parts["overlapped"], "sync": parts["sync"], "init": parts["init"], "bound": bound,
            "cycles": cycles, "dram_bytes": dram_bytes}
