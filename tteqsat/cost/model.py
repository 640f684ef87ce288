"""The cost model: engine cycles of each op form, of each DST pass, and of a schedule, from the arch file.

Per op tile (`op_tile`): unpack cycles are the operand tile's bytes at the unpacker's measured rate
(`unpack.bytes_per_cycle`; a bfp8 tile is 1088 bytes, a bf16 one 2048), on unpacker A or B as the LLK
routes the operand (docs/cost-models.md cites tt-llk for each form); math cycles per op form; pack cycles per
packed tile. A matmul over a block of output tiles (`matmul_pass`) unpacks its reused operand once per K step,
as llk_unpack_AB_matmul does.

Per pass: a call's operands unpack side by side on the two unpackers, the pass's calls one after another against
the two source banks (`pass_calls`, `_source_bound`), math adds FPU and SFPU work issued from the math thread, pack
adds the packer and SFPU work issued from the pack thread (`settings.exp_on_pack_thread`). With
`settings.dst_full_sync` math waits for pack. Each init or data-format reconfiguration site costs
`sync.init` on the threads it touches, each pass a `sync.section` handshake on math and pack.

Per schedule (`pipelined`): sections pipeline through the three threads via their CBs (cost.timeline), so
a kernel costs less than the sum of its sections when they load different threads. Data movement runs
beside compute and bounds it below: the kernel's DRAM bytes over one NoC link and one DRAM controller (the
core alone); `dram_share()` is the core's share of the chip's bandwidth when the whole grid streams, for
bounds and a chip model. `docs/cost-models.md` describes how to plug in another model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tteqsat.arch import FIDELITIES, Arch
from tteqsat.cost.engines import Engines
from tteqsat.cost.timeline import Need, Stage, pipelined_cycles
from tteqsat.frontend.masks import Mask

if TYPE_CHECKING:  # types only: the cost model sits below the program and schedule it prices
    from collections.abc import Sequence

    from tteqsat.extraction.program import HwOp
    from tteqsat.scheduling.model import DstSection, Schedule

PHASES = {f: n + 1 for n, f in enumerate(FIDELITIES)}
SFPU_KINDS = ("sfpu", "sfpu2", "scalar", "exp_scaled")
PACK_THREAD_SFPU = ("exp",)  # SFPU ops tt-metal can issue from the pack thread (exp_packthread_tile)
STAGES_KEPT = 100_000  # `stage` answers a model keeps before it starts over (a model reused across many kernels)


class CostModel(Protocol):
    """What extraction and scheduling need from a cost model (see docs/cost-models.md)."""

    arch: Arch

    def op_tile(self, op: HwOp, formats: tuple[str, ...] = ()) -> Engines: ...  # one output tile of `op`
    def matmul_pass(self, k_tiles: int, rows: int, cols: int, in0_format: str = "bf16",
                    in1_format: str = "bf16") -> Engines: ...  # one matmul_block pass, rows x cols outputs
    def pack_tile(self) -> Engines: ...                  # packing one tile to a CB
    def copy_dest(self) -> Engines: ...                  # copy_dest_values before an in-place op
    def pass_cycles(self, e: Engines) -> float: ...      # one pass of engine work `e`: its critical path
    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float: ...  # one DST section's cycles, alone
    def stage(self, section: DstSection, needs: tuple[Need, ...] = ()) -> Stage: ...  # a section, per thread
    def joined_stage(self, first: DstSection, second: DstSection,
                     needs: tuple[Need, ...] = ()) -> Stage: ...  # two sections' passes alternating, per thread
    def fill_stage(self, tiles: int) -> Stage: ...       # constant fills (scalers, loop state), per thread
    def mask_stage(self, patterns: list[tuple[str, str]]) -> Stage: ...  # building mask pattern tiles
    def pipelined(self, pre: list[Stage], body: list[Stage], trips: int | Sequence[int],
                  post: list[Stage], items: int = 1) -> float: ...  # stages pipelined (trips per item, or each's)
    def tile_transfer(self, fmt: str, rate: float | None = None,
                      tiles: int = 1) -> float: ...  # a block of tiles DRAM <-> L1, one wait for all of them
    def data_movement(self, dram_bytes: int) -> float: ...  # DRAM <-> L1 cycles, a lower bound on the kernel
    def multicast_handshake(self, fmt: str, tiles: int, hops: int,
                            rate: float | None = None) -> float: ...  # a shared block's multicast after its read


class TensixCostModel:
    """The default model; every number comes from the arch file, every switch from its [settings]."""

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        self._nums: dict[str, float] = {}
        # `stage`'s answers by what it reads of a section (`_stage_key`); not kept for a subclass that prices a
        # section its own way (it may read more of the section than the key holds)
        own = all(getattr(type(self), name) is getattr(TensixCostModel, name)
                  for name in ("_stage", "pass_calls", "_source_bound"))
        self._stages: dict[tuple, Stage] | None = {} if own else None
        self.full_sync = arch.dst_full_sync
        self.phases = arch.fidelity_phases
        self.unpack_rate = arch.num("unpack.bytes_per_cycle")
        self.unpack = self.unpack_tile("bf16")
        self.pack = arch.num("pack.cycles_per_tile")
        self.init = arch.num("sync.init")
        self.sync = arch.num("sync.section")

    def num(self, key: str) -> float:
        """An arch number, read once (the arch is immutable; pricing reads the same keys over and over)."""
        if key not in self._nums:
            self._nums[key] = self.arch.num(key)
        return self._nums[key]

    # -- formats -------------------------------------------------------------------------------------
    def unpack_tile(self, fmt: str) -> float:
        """Cycles for one unpacker to move one tile of `fmt` from L1 into its source register."""
        key = f"tile.bytes_{fmt}"
        if key not in self._nums:
            self.arch.tile_bytes(fmt)  # a clear error for an unknown format
        return self.num(key) / self.unpack_rate

    def input_format(self, dtype: str) -> str:
        """The tile format of kernel inputs (in DRAM and their CBs); intermediates use the kernel's dtype."""
        fmt = self.arch.input_format
        return dtype if fmt == "kernel" else fmt

    # -- per tile ------------------------------------------------------------------------------------
    def sfpu_cycles(self, name: str, shape: tuple[int, int] | None = None) -> float:
        """SFPU cycles per tile: the accurate exp unless `exp_approx`, vector variants when enabled."""
        if name == "exp" and not self.arch.exp_approx:
            name = "exp_accurate"
        cycles = self.num(f"sfpu.{name}")
        if shape is not None and self.arch.vector_variants:
            if shape[1] == 1:
                cycles *= self.num("sfpu.column_factor")
            elif shape[0] == 1:
                cycles *= self.num("sfpu.row_factor")
        return cycles

    def _sfpu(self, cycles: float) -> Engines:
        return Engines(math=cycles, sfpu=cycles)

    def op_tile(self, op: HwOp, formats: tuple[str, ...] = ()) -> Engines:
        """One output tile of `op`; `formats` are the tile formats of its operands (bf16 where not given)."""
        a = self
        k = op.kind

        def u(pos: int) -> float:
            return self.unpack_tile(formats[pos] if pos < len(formats) else "bf16")

        if k == "input":
            return Engines()
        if k == "copy":  # copy_tile: unpack A
            return Engines(unpack=u(0), math=a.num("fpu.copy"))
        if k == "fpu":  # add/sub/mul_tiles: in0 on unpacker A, in1 on unpacker B
            math = a.num(f"fpu.{op.op}") * (self.phases if op.op == "mul" else 1)
            return Engines(unpack=u(0), unpack_b=u(1), math=math)
        if k == "reuse":  # binary_dest_reuse: DST moves into the reused source, the CB operand fills the other
            math = a.num(f"fpu.{op.op}") * (self.phases if op.op == "mul" else 1)
            if op.attrs.get("reuse") == "srca":
                return Engines(unpack_b=u(1), math=math)
            return Engines(unpack=u(1), math=math)
        if k == "mask":  # binary_dest_reuse (dest_to_srca, lowering.mlir) of the DST value with a mask tile: on B
            math = a.num("fpu.add") if op.op == "bias" else a.num("fpu.mul") * self.phases
            return Engines(unpack_b=self.unpack_tile("bf16"), math=math)
        if k == "sfpu2":
            return self._sfpu(self.sfpu_cycles("div" if op.op == "div" else "binary", op.shape))
        if k == "sfpu":  # an exp marked accurate: its argument is unbounded (extraction.exp_range)
            accurate = op.op == "exp" and op.attrs.get("accurate")
            return self._sfpu(self.sfpu_cycles("exp_accurate" if accurate else op.op, op.shape))
        if k == "exp_scaled":
            accurate = op.attrs.get("accurate") and self.arch.exp_approx
            return self._sfpu(self.sfpu_cycles("exp_accurate" if accurate else "exp", op.shape))
        if k == "scalar":
            extra = {"rsub_s": "neg", "rdiv_s": "recip"}.get(op.op)
            cycles = self.sfpu_cycles("scalar", op.shape)
            return self._sfpu(cycles + (self.sfpu_cycles(extra, op.shape) if extra else 0.0))
        if k == "matmul":
            fmt = tuple(formats[p] if p < len(formats) else "bf16" for p in (0, 1))
            return self.matmul_pass(op.operands[0].grid[1], 1, 1, *fmt)
        if k == "reduce":  # reduce_tile: operand on A, the scaler tile on B, per call
            src_pos = len(op.operands) - 1
            src = op.operands[src_pos].grid
            length = src[1] if op.op.startswith("row") else src[0]
            per = a.num("fpu.reduce_max") if op.op.endswith("max") else a.num("fpu.reduce_sum") * self.phases
            return Engines(unpack=length * u(src_pos), unpack_b=length * self.unpack_tile("bf16"),
                           math=length * per)
        if k == "bcast":  # unary_bcast: llk_unpack_A with a broadcast unpacks to SrcB (UNP_B, THCON_SEC1)
            return Engines(unpack_b=u(0), math=a.num("fpu.bcast"))
        if k == "transpose":
            return Engines(unpack=u(0), math=a.num("fpu.transpose"))
        if k == "tilesum":  # the operand's row of tiles packed into one tile with L1 accumulation
            return Engines(pack=op.operands[0].grid[1] * a.num("pack.l1_acc_cycles_per_tile"))
        raise ValueError(f"no cost for op form {k}")

    def matmul_pass(self, k_tiles: int, rows: int, cols: int, in0_format: str = "bf16",
                    in1_format: str = "bf16") -> Engines:
        """One acquire of a rows x cols block of output tiles, K tiles deep. As llk_unpack_AB_matmul does:
        in0 goes to SrcB, in1 to SrcA, and the operand along the block's longer side is unpacked once per
        K step and reused (`reuse_a = ct_dim >= rt_dim`); the other is unpacked for every output tile."""
        per_k = rows * cols
        in0 = rows if cols >= rows else per_k
        in1 = per_k if cols >= rows else cols
        return Engines(unpack=k_tiles * in1 * self.unpack_tile(in1_format),
                       unpack_b=k_tiles * in0 * self.unpack_tile(in0_format),
                       math=k_tiles * per_k * self.num(f"matmul.{self.arch.math_fidelity}"))

    def pack_tile(self) -> Engines:
        return Engines(pack=self.pack)

    def copy_dest(self) -> Engines:
        return self._sfpu(self.sfpu_cycles("copy_dest"))

    def on_pack_thread(self, e: Engines) -> Engines:
        """`e`'s SFPU work issued from the pack thread instead (exp_packthread_tile)."""
        return Engines(e.unpack, e.math - e.sfpu, e.pack + e.sfpu, 0.0, e.unpack_b, e.pack_sfpu + e.sfpu)

    # -- per pass and section ----------------------------------------------------------------------------
    def pass_cycles(self, e: Engines) -> float:
        """One pass's critical path: threads overlap; without double buffering math waits for pack."""
        if self.full_sync:
            return max(e.unpack_thread, e.math + e.pack, e.sfpu_unit)
        return e.overlapped

    def section(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                inits_per_iteration: int) -> float:
        parts = self.section_parts(per_iteration, iterations, inits_hoisted, inits_per_iteration)
        return parts["overlapped"] + parts["sync"] + parts["init"]

    def section_parts(self, per_iteration: Engines, iterations: int, inits_hoisted: int,
                      inits_per_iteration: int) -> dict[str, float]:
        """The three summands of a section run alone: overlapped engine work, sync handshakes, inits."""
        return {"overlapped": iterations * self.pass_cycles(per_iteration),
                "sync": iterations * self.sync,
                "init": (inits_hoisted + iterations * inits_per_iteration) * self.init}

    def stage(self, section: DstSection, needs: tuple[Need, ...] = ()) -> Stage:
        """The section as the three threads run it. Init sites of FPU ops reconfigure the unpacker and the
        math thread, SFPU ones the math thread; each pass hands DST from math to pack once. The unpack and
        math threads' time per pass is its calls run against the two source banks (`_source_bound`).

        Kept by what it reads of the section (`_stage_key`), as `num` keeps arch numbers: scheduling prices the
        same passes again and again (every move of a frame's local search reprices the frame), and sections are
        mutable, so the key is their content, never their identity."""
        stages = self._stages
        if stages is None:
            return self._stage(section, needs)
        key = (_stage_key(section), needs)
        known = stages.get(key)
        if known is None:
            if len(stages) >= STAGES_KEPT:
                stages.clear()
            known = stages[key] = self._stage(section, needs)
        return known

    def _stage(self, section: DstSection, needs: tuple[Need, ...]) -> Stage:
        e = section.engines
        fpu_hoisted, fpu_switches = section.init_sites.get("fpu", (0, 0))
        hoisted, switches = section.inits_hoisted, section.inits_per_iteration
        calls = self.pass_calls(section)
        unpack, math = self._source_bound(calls, _unpack_floor(section, calls), fpu_switches * self.init,
                                          e.math + self.sync + switches * self.init)
        pack = e.pack + self.sync
        if self.arch.dst_full_sync:  # math cannot start the next pass until pack has drained DST
            math, pack = math + e.pack, 0.0
        grain = max(1, _tiles_read(section) or round(e.unpack_thread / self.unpack))  # tiles unpacked per pass
        tail = getattr(section, "math_tail", 0.0) + self.sync  # SFPU work on the last tiles, then the commit
        return Stage(section.iterations, unpack, math, pack, fpu_hoisted * self.init, hoisted * self.init, 0.0,
                     needs, grain, tail if e.unpack_thread else 0.0)

    def pass_calls(self, section: DstSection) -> list[tuple[float, float, float]]:
        """A pass's calls in the order it issues them, each (unpack, FPU math, then math-thread SFPU math): op by
        op over the pass's tiles, or with `DstSection.order` "tile" the ops before `tile_from` op by op and every
        later op on tile 0, then tile 1, ... A call that reads a CB (a K step of a matmul or reduce) unpacks its
        operands side by side on the two unpackers (`op_tile`: the busier one's cycles); calls follow one another
        on the unpack thread, as the LLK issues them (one unpack config context each, tt-llk `_llk_unpack_A_`,
        `_llk_unpack_AB_`). A matmul_block's K step is `block` such calls, its in0 tile shared by the row."""
        tiles = section.tiles
        first = section.tile_from if getattr(section, "order", "op") == "tile" else len(section.ops)
        copy_dest = self.copy_dest().math
        on_pack = set(section.pack_thread_ops)

        def op_calls(p: int) -> list[tuple[float, float, float]]:
            op = section.ops[p]
            w = op.work
            before = copy_dest if op.copy_from is not None else 0.0
            after = 0.0 if p in on_pack else w.sfpu - before
            if not op.reads:
                return [(0.0, 0.0, w.fpu + before + after)]
            k = max(1, op.inner)
            block = int(op.attrs.get("block", 0) or 0) if op.kind == "matmul" else 0  # type: ignore[call-overload]
            unpack = max(block * w.unpack, w.unpack_b) / block if block else w.unpack_thread
            steps = [(unpack / k, w.fpu / k, 0.0) for _ in range(k)]
            steps[0] = (steps[0][0], steps[0][1] + before, 0.0)
            steps[-1] = (steps[-1][0], steps[-1][1], after)
            return steps

        per_op = [op_calls(p) for p in range(len(section.ops))]
        calls: list[tuple[float, float, float]] = []
        for p in range(first):
            calls += per_op[p] * tiles
        for _ in range(tiles):
            for p in range(first, len(section.ops)):
                calls += per_op[p]
        return calls

    def joined_stage(self, first: DstSection, second: DstSection, needs: tuple[Need, ...] = ()) -> Stage:
        """Two sections of one loop nest run pass by pass alternately (`scheduling.interleave`) as one stage: a
        pass is the first's calls then the second's against the two source banks (`_source_bound`; the unpacker
        gets no further ahead across the two than within one), each with its own handshake. An engine both use
        is configured in every pass, once for each: its hoisted init sites move into the pass."""
        shared = first.init_engines & second.init_engines
        hoisted = {"fpu": 0, "sfpu": 0}
        per_pass = {"fpu": 0, "sfpu": 0}
        own_math = []  # each section's math a pass, its moved inits included
        for sec in (first, second):
            inits = 0
            for engine, (h, each) in sec.init_sites.items():
                moved = h if engine in shared else 0
                hoisted[engine] += h - moved
                per_pass[engine] += each + moved
                inits += each + moved
            own_math.append(sec.engines.math + self.sync + inits * self.init)
        e1, e2 = first.engines, second.engines
        each_calls = [self.pass_calls(sec) for sec in (first, second)]
        floor = sum(_unpack_floor(sec, calls) for sec, calls in zip((first, second), each_calls, strict=True))
        unpack, math = self._source_bound(each_calls[0] + each_calls[1], floor, per_pass["fpu"] * self.init,
                                          sum(own_math))
        pack = e1.pack + e2.pack + 2 * self.sync
        if self.arch.dst_full_sync:
            math, pack = math + e1.pack + e2.pack, 0.0
        else:  # half-sync DST: a section's next pass takes the DST half its last one used once pack drained it,
            # so each section's math and pack follow one another once a pair of passes (math waits the rest)
            math = max(math, own_math[0] + e1.pack + self.sync, own_math[1] + e2.pack + self.sync)
        grain = max(1, _tiles_read(first) + _tiles_read(second)
                    or round((e1.unpack_thread + e2.unpack_thread) / self.unpack))
        tail = second.math_tail + self.sync if e2.unpack_thread else 0.0
        return Stage(first.iterations, unpack, math, pack, hoisted["fpu"] * self.init,
                     sum(hoisted.values()) * self.init, 0.0, needs, grain, tail)

    def _source_bound(self, calls: list[tuple[float, float, float]], floor: float, own_unpack: float, math: float
                      ) -> tuple[float, float]:
        """A pass's unpack and math threads, per pass in the steady state, with math's waits for the unpacker: SrcA
        and SrcB have two banks, so the unpacker gets at most two calls ahead of math (the timing simulator's
        rule, `sim.timing`). Each call that reads a CB takes a bank: the unpacker fills it once math has freed the
        bank's oldest call and math starts the call once it is filled; SFPU work only advances math, so while math
        does it the unpacker fills both banks for the next calls and stops. The pass's handshake and inits
        (`math` beyond its calls, `own_unpack`) open each pass. Three passes back to back; the last one's time is
        the steady state. The unpack thread is busy for its inits and `floor` (its calls, or more where the
        section's engines say so: sections built from engines alone, as calibration's GEMM passes, have no
        calls); math for `math` or, when it waits for the unpacker, longer."""
        unpack = own_unpack + floor
        if not any(u for u, _, _ in calls):
            return unpack, math
        own_math = max(0.0, math - sum(f + s for _, f, s in calls))
        u_t = m_t = 0.0
        banks = [0.0, 0.0]  # when math freed each bank, oldest first
        ends = []
        for _ in range(3):
            m_t += own_math
            u_t += own_unpack
            for u, f, after in calls:
                if u:
                    u_t = max(u_t, banks.pop(0)) + u
                    m_t = max(m_t, u_t) + f
                    banks.append(m_t)
                    m_t += after
                else:
                    m_t += f + after
            ends.append(m_t)
        return unpack, max(math, ends[-1] - ends[-2])

    def fill_stage(self, tiles: int) -> Stage:
        """Tiles filled with a constant by the SFPU and packed (scaler CBs, loop state before the loop)."""
        return Stage(tiles, 0.0, self.arch.num("sfpu.fill") + self.sync, self.pack + self.sync, 0.0, self.init)

    def mask_stage(self, patterns: list[tuple[str, str]]) -> Stage:
        """Building the kernel's mask tiles once, as lowering.mlir's `build_masks` emits it: an arange tile and
        its transpose, then per pattern tile (mask text, "bias" or "zero") an acquire whose ops each have an
        init site: per tri a sub_tiles of the two aranges, an add_unary and a gez; per ~ a negative and an
        add_unary; per & or | a binary mul or max; a bias adds two fills and a where. A pass per tile (the
        arange transpose first), each packed once; its math is the mean over the tiles."""
        a = self.arch

        def build(m: Mask) -> tuple[float, int, int]:  # SFPU/FPU cycles, init sites, tiles unpacked
            if m.op == "tri":
                return a.num("fpu.sub") + 2 * a.num("sfpu.scalar"), 3, 1
            if m.op == "not":
                c, i, u = build(m.args[0])
                return c + a.num("sfpu.neg") + a.num("sfpu.scalar"), i + 2, u
            (c1, i1, u1), (c2, i2, u2) = build(m.args[0]), build(m.args[1])
            return c1 + c2 + a.num("sfpu.binary"), i1 + i2 + 1, u1 + u2

        math = a.num("fpu.transpose") + a.num("sfpu.fill") + self.init  # the aranges
        unpack = self.unpack
        for text, fill in patterns:
            cycles, inits, tiles = build(Mask.parse(text))
            if fill == "bias":
                cycles, inits = cycles + 2 * a.num("sfpu.fill") + a.num("sfpu.binary"), inits + 2
            math += cycles + inits * self.init
            unpack += tiles * self.unpack
        passes = len(patterns) + 1
        return Stage(passes, unpack / passes, math / passes + self.sync, self.pack + self.sync)

    def pipelined(self, pre: list[Stage], body: list[Stage], trips: int | Sequence[int], post: list[Stage],
                  items: int = 1) -> float:
        return pipelined_cycles(pre, body, trips, post, items)

    # -- data movement -------------------------------------------------------------------------------
    def dram_share(self) -> float:
        """Bytes per cycle of DRAM bandwidth one core gets when every core of the compute grid streams."""
        a = self.arch
        cores = a.num("chip.grid_rows") * a.num("chip.grid_cols")
        return a.num("dram.total_gb_per_s") / a.clock_ghz / cores

    def dram_rate(self, cores: int = 1) -> float:
        """Bytes per cycle between DRAM and one core while `cores` cores stream at once: the slowest of one NoC
        link, one DRAM controller and its share of what the chip's DRAM sustains for many readers of tile pages
        (`dram.sustained_fraction` of the peak, as the chip model's aggregate: `tteqsat.cost.chip.GridShape`)."""
        chip = self.dram_share() * self.arch.num("chip.grid_rows") * self.arch.num("chip.grid_cols")
        return min(self.arch.num("noc.bytes_per_cycle"), self.num("dram.bytes_per_cycle"),
                   chip * self.num("dram.sustained_fraction") / cores)

    def noc_latency(self, hops: int) -> float:
        """Cycles for a NoC write (a semaphore increment or set, a multicast's data) to land `hops` router hops
        away: `noc.write_latency` plus `noc.hop_latency` per hop."""
        return self.num("noc.write_latency") + hops * self.num("noc.hop_latency")

    def multicast_handshake(self, fmt: str, tiles: int, hops: int, rate: float | None = None) -> float:
        """What a block of `tiles` tiles of `fmt` shared over NoC multicast adds to the sender's DRAM read of it
        (`tile_transfer`): the receivers' ready increments land `hops` away (hidden behind the read unless it is
        shorter), then the multicast holds the sender's link for its bytes at `noc.bytes_per_cycle`, lands on the
        farthest receiver and its acknowledgements come back before the write barrier lets the sender push (the
        valid semaphore set travels behind the data). The receivers push when it lands, in lockstep."""
        latency = self.noc_latency(hops)
        read = self.tile_transfer(fmt, rate, tiles)
        waits_for_ready = max(0.0, latency - read)
        return waits_for_ready + tiles * self.arch.tile_bytes(fmt) / self.num("noc.bytes_per_cycle") + 2 * latency

    def tile_transfer(self, fmt: str, rate: float | None = None, tiles: int = 1) -> float:
        """Cycles to move a block of `tiles` tiles of `fmt` between DRAM and L1 and wait for them, as the emitted
        reader (a block per NoC barrier) and writer (a tile per barrier) do: the block's transfers issued back to
        back, its bytes at `rate` (default: the core streaming alone), and one `dram.read_latency` for the
        last of them."""
        return tiles * self.arch.tile_bytes(fmt) / (rate or self.dram_rate()) + self.num("dram.read_latency")

    def data_movement(self, dram_bytes: int, share: bool = False) -> float:
        """Cycles to move `dram_bytes` between DRAM and this core's L1 with the core streaming alone: the
        slower of one NoC link and one DRAM controller, plus one read latency. `share`: with every core of
        the grid streaming, at this core's share of the chip's DRAM bandwidth instead (what a bound on a
        whole-grid kernel uses; a chip model applies it at chip level, so schedules keep the first)."""
        if dram_bytes <= 0:
            return 0.0
        dram = self.dram_share() if share else self.arch.num("dram.bytes_per_cycle")
        rate = min(self.arch.num("noc.bytes_per_cycle"), dram)
        return dram_bytes / rate + self.arch.num("dram.read_latency")

    # -- explanation -----------------------------------------------------------------------------------
    def breakdown(self, schedule: Schedule) -> list[dict[str, object]]:
        """Where a schedule's cycles go: one row per section (as if it ran alone), one for the fills (scaler
        CBs and loop state, if any), one for what pipelining sections through the threads saves, and the
        data-movement lower bound. Every row has the same keys, so reports can tabulate them directly.

        Engine columns are busy cycles summed over the section's passes and loop trips (they overlap);
        `overlapped`, `sync` and `init` add up to `cycles`. Section, fill and pipelining rows add up to
        compute_cycles.
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
            one = self._sfpu(self.arch.num("sfpu.fill")) + self.pack_tile()
            parts = {k: v * fills for k, v in self.section_parts(one, 1, 1, 0).items()}
            rows.append(_row("fill", None, "1x1", fills, 1, fills, one.scaled(fills), parts, self._bound(one),
                             parts["overlapped"] + parts["sync"] + parts["init"], 0))
        saved = schedule.compute_cycles - sum(float(r["cycles"]) for r in rows)  # type: ignore[arg-type]
        none = {"overlapped": 0.0, "sync": 0.0, "init": 0.0}
        rows.append(_row("pipelining", None, "", 0, 0, 0, Engines(), {**none, "overlapped": saved}, "", saved, 0))
        dm_bytes = schedule.dram_bytes(self.arch)
        binds = schedule.data_movement_cycles > schedule.compute_cycles
        rows.append(_row("data_movement", None, "", 0, 0, 0, Engines(), none, "noc/dram" if binds else "",
                         schedule.data_movement_cycles, dm_bytes))
        return rows

    def _bound(self, e: Engines) -> str:
        if self.arch.dst_full_sync and e.math + e.pack >= e.unpack_thread:
            return "math+pack"
        return max((("unpack", e.unpack_thread), ("math", e.math), ("pack", e.pack), ("sfpu", e.sfpu_unit)),
                   key=lambda t: t[1])[0]


def _unpack_floor(section: DstSection, calls: list[tuple[float, float, float]]) -> float:
    """A pass's unpack thread for its `calls`, or more where the section's engines say so (sections built from
    engines alone, as calibration's GEMM passes, have no calls)."""
    return max(section.engines.unpack_thread, sum(u for u, _, _ in calls))


def _tiles_read(section: DstSection) -> int:
    """Tiles a pass of the section unpacks from CBs (its ops' reads, each K step of a matmul or reduce)."""
    return sum(len(op.reads) * max(1, op.inner) for op in section.ops) * section.tiles


def _stage_key(section: DstSection) -> tuple:
    """Everything `TensixCostModel.stage` reads of a section (through `pass_calls` and `_source_bound` too), by
    value: two sections with equal keys have equal stages."""
    ops = tuple((op.kind == "matmul" and op.attrs.get("block"), w.unpack, w.math, w.pack, w.sfpu, w.unpack_b,
                 w.pack_sfpu, op.copy_from is not None, len(op.reads), op.inner)
                for op in section.ops for w in (op.work,))  # engines' fields: a tuple hashes faster than a dataclass
    e = section.engines
    return (ops, e.unpack, e.math, e.pack, e.sfpu, e.unpack_b, e.pack_sfpu, section.init_sites.get("fpu"),
            section.inits_hoisted, section.inits_per_iteration, section.grid, section.width, section.rows,
            getattr(section, "order", "op"), section.tile_from, tuple(section.pack_thread_ops),
            getattr(section, "math_tail", 0.0))


def _row(kind: str, index: int | None, grid: str, iterations: int, trips: int, ops: int, e: Engines,
         parts: dict[str, float], bound: str, cycles: float, dram_bytes: int) -> dict[str, object]:
    return {"kind": kind, "section": index, "grid": grid, "iterations": iterations, "trips": trips, "ops": ops,
            "unpack": e.unpack_thread, "math_fpu": e.fpu, "math_sfpu": e.sfpu, "pack": e.pack,
            "overlapped": parts["overlapped"], "sync": parts["sync"], "init": parts["init"], "bound": bound,
            "cycles": cycles, "dram_bytes": dram_bytes}
