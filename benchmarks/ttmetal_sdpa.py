"""tt-metal's SDPA compute kernels as its threads run them, phase by phase, priced by tteqsat's cost model.

benchmarks/expert_sdpa.py writes the expert schedules as tteqsat programs, so tteqsat's own scheduler lays
them out (its loop-state update included). This module instead follows tt-metal's kernels helper by helper
(shared/reference/tenstorrent.md sections 3.3 and 3.4), so published device profiles of those kernels can
be compared with the model (benchmarks/calibration.py):

  legacy     compute_common.hpp's sdpa_inner_loop, chosen when fp32_dest_acc_en is on (tt-metal #56693):
             every helper runs over the whole chunk and the next one waits for all its tiles; exp on the
             math thread (#55759: FPU and SFPU counters add up, zero overlap)
  streaming  compute_streaming.hpp (fp32_dest_acc_en off): row-group granular, so a helper waits only for
             the rows it reads; exp on the pack thread (exp_packthread_tile)

Per k step of an Sq x Sk chunk (tiles), head dim D: S = Q K^T (matmul_blocks, subblocks as the program
factory sizes them); the running max by reduce_tile seeded with the previous max; P = exp(scale (S - m))
by sub_tiles_bcast_cols + exp, P packed in place and its row sums L1-accumulated; O_cur = P V; then
alpha = exp(scale (m_prev - m_cur)) on the first column, l = alpha l_prev + l_cur (FPU mul_bcast_cols, add),
O = alpha O_prev packed with L1 accumulation onto O_cur. After the last step: the within-tile row sum
(a matmul with a column of ones), 1/l (first column), O * 1/l. `core_pipeline` puts the reader and writer
around the helpers for the chip model, laid out as tteqsat lays out a schedule's; without causality, the cores of a
head take K and V down a chain (`kv_chains`, `core_feeds`) as the factory links them. Not priced: the causal mask
on diagonal chunks, the 2026 kernel's fused corrections beyond what its description says (they are priced as
the 2025 helpers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from tteqsat.cost import Engines, Need, TensixCostModel
from tteqsat.cost.chip import CorePipeline
from tteqsat.cost.timeline import Stage
from tteqsat.scheduling.model import DstSection
from tteqsat.scheduling.timing import pipeline_rates

KERNELS = ("legacy", "streaming")
ABLATIONS = ("exp", "matmul", "rescale", "row_sums")
"""Classes of compute instructions a timing ablation removes from the kernel while keeping every CB handshake
(tt-metal #55758, 2026-09-18: "each build removes one class of compute instructions and keeps every CB
handshake"), as the helpers price them: `exp` the softmax exp of every score tile (SFPU; alpha's first-column
exp stays), `matmul` the Q K^T and P V matmul_block calls (their unpack of both operands and the math; the packs
of their DST and the inits stay: pack_tile and mm_init are separate calls), `rescale` the multiplies by alpha
(mul_bcast_cols: unpack and math; their L1-accumulating packs stay), `row_sums` the pack thread's
L1-accumulated row sums of P (the second pack of each P tile)."""
DRAM, INJECT, RELAY, RECEIVE = "dram", "inject", "relay", "receive"
FEEDS = (DRAM, INJECT, RELAY, RECEIVE)
"""How a q chunk's K and V chunks reach the core: read from DRAM (no chain, or not on the core's chain head), read
from DRAM and forwarded down the chain (the injector), received from upstream and forwarded (a middle core), or
received only (the sink, or a core whose downstream has run out of q chunks on the head)."""


@dataclass
class Phase:
    name: str
    passes: int
    engines: Engines             # per pass
    fpu_inits: int = 1           # init / reconfig sites before the first pass, on unpack and math
    sfpu_inits: int = 0          # SFPU init sites (math only)
    waits_for: tuple[tuple[str, int], ...] = ()  # (earlier phase, its passes that must be packed first)


@dataclass
class SdpaCost:
    """One q chunk on one core: per step and around the steps."""

    step: float          # steady cycles per k step
    chunk: float         # cycles of one q chunk with `steps` steps (setup and normalization included)
    fpu: float           # per step, math-thread FPU busy cycles
    sfpu: float          # per step, SFPU busy cycles (either thread)
    math: float          # per step, math-thread busy cycles
    unpack: float        # per step, unpack-thread busy cycles
    pack: float          # per step, pack-thread busy cycles
    tile_macs: int       # per step
    score_tiles: int     # per step


def _subblock(rows: int, cols: int, dst: int) -> tuple[int, int]:
    """matmul_blocks' subblock (program factory): w = min(cols, dst), h = min(rows, dst / w) if w covers the
    row, else 1."""
    w = min(cols, dst)
    while cols % w:
        w -= 1
    h = min(rows, dst // w) if w == cols else 1
    while rows % h:
        h -= 1
    return h, w


def step_phases(model: TensixCostModel, sq: int, sk: int, dh: int, kernel: str, fmt: str,
                ablate: frozenset[str] = frozenset()) -> list[Phase]:
    """The helpers of one k step (k > 0: with the online correction) in the order the threads issue them;
    without the `ablate` classes of compute instructions (`ABLATIONS`)."""
    if not ablate <= set(ABLATIONS):
        raise ValueError(f"unknown ablation {sorted(ablate - set(ABLATIONS))}: the kernel model can remove "
                         f"{', '.join(ABLATIONS)}")
    return (_streaming if kernel == "streaming" else _legacy)(_Costs(model, fmt, ablate), sq, sk, dh)


class _Costs:
    """Per-tile engine costs of the helpers, from the model."""

    def __init__(self, model: TensixCostModel, fmt: str, ablate: frozenset[str] = frozenset()) -> None:
        a = model.arch
        self.model, self.fmt, self.dst, self.ablate = model, fmt, a.dst_tiles("bf16"), ablate
        u = model.unpack_tile("bf16")  # SDPA intermediates: im_df = Float16_b
        self.u = u
        self.pack = model.pack
        self.mul = a.num("fpu.mul") * model.phases
        self.l1_acc = a.num("pack.l1_acc_cycles_per_tile")
        self.exp = model.sfpu_cycles("exp")
        self.two = Engines(unpack=u, unpack_b=u)  # a binary FPU op reading two CBs
        # reduce_block_max_row over a row of n tiles, the previous max copied in first
        self.max_row = lambda n: Engines(unpack=u * (n + 1), unpack_b=u * n,
                                         math=a.num("fpu.reduce_max") * n + a.num("fpu.copy"), pack=self.pack)
        self.sub = self.two + Engines(math=a.num("fpu.sub"))  # sub_tiles(_bcast_cols)
        # P packed in place, and (the pack thread's row sums) packed again L1-accumulated
        self.p_pack = Engines(pack=self.pack + (0.0 if "row_sums" in ablate else self.l1_acc))
        # mul_bcast_cols by alpha (O_prev, l_prev), its result packed with L1 accumulation
        self.rescale = Engines(pack=self.l1_acc) + (Engines() if "rescale" in ablate
                                                     else self.two + Engines(math=self.mul))

    def matmul(self, k: int, rows: int, cols: int, in0: str, in1: str, acc: bool = False) -> Engines:
        pack = Engines(pack=(self.l1_acc if acc else self.pack) * rows * cols)
        return pack if "matmul" in self.ablate else self.model.matmul_pass(k, rows, cols, in0, in1) + pack

    def score_exp(self, thread: str) -> Engines:
        """The softmax exp of one score tile, on `thread`."""
        return Engines() if "exp" in self.ablate else self.exp_on(thread, self.exp)

    def exp_on(self, thread: str, cycles: float) -> Engines:
        return Engines(pack=cycles, pack_sfpu=cycles) if thread == "pack" else Engines(math=cycles, sfpu=cycles)


def _legacy(c: _Costs, sq: int, sk: int, dh: int) -> list[Phase]:
    """sdpa_inner_loop: each helper over the whole chunk; exp and alpha's exp on the math thread."""
    h, w = _subblock(sq, sk, c.dst)
    qk_n = (sq // h) * (sk // w)
    qk = Phase("qk", qk_n, c.matmul(dh, h, w, c.fmt, c.fmt), 2)
    rg = max(1, min(sq, c.dst // 2))  # REDUCE_GRANULARITY
    red = Phase("max", sq // rg, c.max_row(sk).scaled(rg), 2, 0, (("qk", qk_n),))
    g = min(sk, c.dst)  # SUB_EXP_GRANULARITY
    sub = c.sub + c.p_pack + c.score_exp("math")
    sub_exp = Phase("sub_exp", sq * (sk // g), sub.scaled(g), 1, 1, (("max", sq // rg),))
    h2, w2 = _subblock(sq, dh, c.dst)
    pv_n = (sq // h2) * (dh // w2)
    pv = Phase("pv", pv_n, c.matmul(sk, h2, w2, "bf16", c.fmt), 2, 0, (("sub_exp", sq * (sk // g)),))
    sg = min(sq, c.dst)  # STATS_GRANULARITY
    exp_col = c.exp * c.model.arch.num("sfpu.column_factor")  # exp_tile_first_column
    alpha = Phase("alpha", sq // sg, (c.sub + c.exp_on("math", exp_col) + Engines(pack=c.pack)).scaled(sg), 1, 1,
                  (("max", sq // rg),))
    l_mul = Phase("l_mul", sq // sg, (Engines(pack=c.pack) + (Engines() if "rescale" in c.ablate
                                                               else c.two + Engines(math=c.mul))).scaled(sg), 1, 0,
                  (("alpha", sq // sg),))
    l_add = Phase("l_add", sq // sg, (c.sub + Engines(pack=c.pack)).scaled(sg), 1, 0, (("l_mul", sq // sg),))
    dg = min(dh, c.dst)  # DHT_GRANULARITY; O = alpha O_prev L1-accumulated onto O_cur
    o_corr = Phase("o_corr", sq * dh // dg, c.rescale.scaled(dg), 1, 0,
                   (("alpha", sq // sg),))  # its L1-accumulating packs follow P V's on the pack thread
    return [qk, red, sub_exp, pv, alpha, l_mul, l_add, o_corr]


# Measured in situ on the 2026 streaming kernel (tt-metal #55760, title): "softmax SFPU overhead 48 per step
# plus 204 per q tile" beyond 70 per score-tile exp. Per q tile the kernel's only other SFPU work is alpha's
# exp_tile_first_column on the pack thread, so each such call is priced at 204, the 48 once per step.
FIRST_COLUMN_EXP_CALL = 204.0
STEP_SFPU_OVERHEAD = 48.0


def _streaming(c: _Costs, sq: int, sk: int, dh: int) -> list[Phase]:
    """compute_streaming.hpp's sdpa_inner_loop_step: phase 1 runs, per row group of Q, each Q K^T subblock
    after the matching subblock of the previous row group's sub_exp (exp on the pack thread, P packed in
    place, row sums L1-accumulated), then the group's max; phase 2 drains the last group's sub_exp into the
    first P V rows (partials L1-accumulated), then per row group the SALAD correction of the previous one
    (alpha O_prev and alpha l_prev by mul_bcast_cols, L1-accumulated onto this step's partials) and its P V
    matmul. Every helper switch re-inits (and, with bfp8 inputs, reconfigures) the unpacker."""
    h, w = _subblock(sq, sk, c.dst)
    groups, kt_subs = sq // h, sk // w
    qk_pass = c.matmul(dh, h, w, c.fmt, c.fmt)
    sub_pass = (c.sub + c.p_pack + c.score_exp("pack")).scaled(h * w)
    phases: list[Phase] = []
    for r in range(groups):
        for kt in range(kt_subs):
            if r > 0:
                phases.append(Phase(f"sub{r - 1}.{kt}", 1, sub_pass, 1, 0, ((f"max{r - 1}", 1),)))
            phases.append(Phase(f"qk{r}.{kt}", 1, qk_pass, 2 if kt == 0 or r else 0))
        phases.append(Phase(f"max{r}", 1, c.max_row(sk).scaled(h), 1, 0, ((f"qk{r}.{kt_subs - 1}", 1),)))
    h2, w2 = _subblock(sq, dh, c.dst)
    v_subs = dh // w2
    last = groups - 1
    def p_rows(r: int, kt: int) -> tuple[tuple[str, int], ...]:
        """P V row group r reads P rows r*h2 .. (r+1)*h2 - 1, made by the sub_exp of their row group."""
        return ((f"sub{((r + 1) * h2 - 1) // h}.{kt}", 1),)

    for kt in range(kt_subs):  # the drain: the last group's sub_exp beside the first P V rows
        phases.append(Phase(f"sub{last}.{kt}", 1, sub_pass, 1, 0, ((f"max{last}", 1),)))
        pv = c.matmul(w, h2, w2, "bf16", c.fmt, acc=kt > 0)
        phases.append(Phase(f"pv0.{kt}", v_subs, pv, 2, 0, p_rows(0, kt)))
    # Per P V row group r >= 1 the kernel issues alpha of row group r - 1 (sub_exp_first_col_blocks: sub_tiles on
    # math, exp_tile_first_column and the pack on the pack thread), then P V of group r, then SALAD of group r - 1;
    # the last iteration also computes the last group's alpha before the two SALADs (compute_streaming.hpp,
    # sdpa_inner_loop_step, phase 2's q_subblock loop). Each SALAD waits only for its own group's alpha, so the
    # pack thread's first-column exps run beside the P V matmuls instead of as one block before every SALAD.
    alpha = (c.sub + c.exp_on("pack", FIRST_COLUMN_EXP_CALL) + Engines(pack=c.pack)).scaled(h2)
    col_batch = min(c.dst // h2, dh)
    salad = c.rescale.scaled(h2 * col_batch)
    salad_passes = -(-dh // col_batch)
    v_groups = sq // h2

    def alpha_phase(r: int) -> Phase:
        # exp_packthread_tile_init before the loop: one SFPU init and the per-step SFPU overhead (#55760), once
        extra = c.exp_on("pack", STEP_SFPU_OVERHEAD) if r == 0 else Engines()
        return Phase(f"alpha{r}", 1, alpha + extra, 1, 1 if r == 0 else 0, ((f"max{last}", 1),))

    def salad_phase(r: int) -> Phase:  # its L1-accumulating packs follow the P V packs on the pack thread
        return Phase(f"salad{r}", salad_passes, salad, 1, 0, ((f"alpha{r}", 1),))

    for r in range(1, v_groups):
        phases.append(alpha_phase(r - 1))
        phases.append(Phase(f"pv{r}", v_subs, c.matmul(sk, h2, w2, "bf16", c.fmt), 1, 0, p_rows(r, kt_subs - 1)))
        if r == v_groups - 1:
            phases.append(alpha_phase(r))
        phases.append(salad_phase(r - 1))
    if v_groups == 1:
        phases.append(alpha_phase(0))
    phases.append(salad_phase(v_groups - 1))
    return phases


def chunk_end_phases(model: TensixCostModel, sq: int, dh: int, last: str) -> list[Phase]:
    """After the last step: the within-tile row sum (matmul with a column of ones), 1/l, O * 1/l."""
    a = model.arch
    u = model.unpack_tile("bf16")
    recip = model.sfpu_cycles("recip") * a.num("sfpu.column_factor")
    reduce = Phase("row_sum", sq, model.matmul_pass(1, 1, 1) + model.pack_tile(), 1, 0, ((last, 1),))
    inv = Phase("recip", sq, Engines(unpack=u, math=a.num("fpu.copy") + recip, sfpu=recip, pack=model.pack), 1, 1,
                (("row_sum", sq),))
    norm = Phase("normalize", sq * dh, Engines(unpack=u, unpack_b=u, math=a.num("fpu.mul") * model.phases,
                                               pack=model.pack), 1, 0, (("recip", sq),))
    return [reduce, inv, norm]


def _stages(model: TensixCostModel, phases: list[Phase], part: str, index_of: dict[str, tuple[str, int]],
            offset: int = 0) -> list[Stage]:
    """The phases as stages at positions `offset`.. of `part`, each waiting for the phases it names."""
    out = []
    for n, ph in enumerate(phases):
        sec = DstSection(n, (ph.passes, 1), [], [], engines=ph.engines, inits_hoisted=ph.fpu_inits + ph.sfpu_inits,
                         init_sites={"fpu": (ph.fpu_inits, 0), "sfpu": (ph.sfpu_inits, 0)})
        needs = tuple(Need(*index_of[name], passes) for name, passes in ph.waits_for if name in index_of)
        out.append(model.stage(sec, needs))
        index_of[ph.name] = (part, n + offset)
    return out


def sdpa_cost(model: TensixCostModel, q_chunk: int, k_chunk: int, d: int, steps: int, kernel: str,
              fmt: str = "bfp8", ablate: frozenset[str] = frozenset()) -> SdpaCost:
    """One q chunk of `steps` k steps on one core (without the `ablate` classes of instructions)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}")
    sq, sk, dh = q_chunk // 32, k_chunk // 32, d // 32
    body = step_phases(model, sq, sk, dh, kernel, fmt, ablate)
    end = chunk_end_phases(model, sq, dh, body[-1].name)

    def run(trips: int) -> float:
        index_of: dict[str, tuple[str, int]] = {}
        body_stages = _stages(model, body, "body", index_of)
        post = _stages(model, end, "post", dict(index_of))
        return model.pipelined([], body_stages, trips, post)

    per_step = (run(8) - run(4)) / 4
    total = run(steps)
    busy = {k: sum(getattr(ph.engines, k) * ph.passes for ph in body)
            for k in ("fpu", "sfpu_unit", "math", "unpack_thread", "pack")}
    return SdpaCost(per_step, total, busy["fpu"], busy["sfpu_unit"], busy["math"], busy["unpack_thread"],
                    busy["pack"], 2 * sq * sk * dh, sq * sk)


# -- a core's pipeline: the reader and writer around the helpers, as tteqsat prices a schedule's -------------
def chunk_stages(model: TensixCostModel, q_chunk: int, k_chunk: int, d: int, kernel: str, fmt: str,
                 rate: float, ablate: frozenset[str] = frozenset(), feed: str = DRAM
                 ) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """One q chunk as the core's five threads run it, laid out as `tteqsat.scheduling.timing.kernel_stages` lays
    out a schedule's work item: the reader moving Q whole before the steps (into a CB of one chunk) and each step's
    K and V chunks (a block per barrier, into CBs of two chunks, so a step's read waits for the step before the
    last to pop its pages), the helpers Q K^T waiting for Q and the step's K and P V for its V, the end phases,
    and the writer moving the output a tile per barrier once normalized; every transfer at `rate` bytes per
    cycle (`TensixCostModel.tile_transfer`); the helpers without the `ablate` classes of instructions. `feed`: how
    the step's K and V chunks arrive (`FEEDS`; a chain's at `chain_chunk_cycles` each)."""
    sq, sk, dh = q_chunk // 32, k_chunk // 32, d // 32
    body_phases = step_phases(model, sq, sk, dh, kernel, fmt, ablate)
    end_phases = chunk_end_phases(model, sq, dh, body_phases[-1].name)
    index_of: dict[str, tuple[str, int]] = {}
    compute = _stages(model, body_phases, "body", index_of, offset=2)
    post = _stages(model, end_phases, "post", dict(index_of))
    qk = [n + 2 for n, ph in enumerate(body_phases) if ph.name.startswith("qk")]
    pv = [n + 2 for n, ph in enumerate(body_phases) if ph.name.startswith("pv")]
    for n in qk:  # Q K^T reads Q (read before the loop) and the step's K
        compute[n - 2] = replace(compute[n - 2], needs=compute[n - 2].needs + (Need("pre", 0, 1), Need("body", 0, 1)))
    for n in pv:  # P V reads the step's V
        compute[n - 2] = replace(compute[n - 2], needs=compute[n - 2].needs + (Need("body", 1, 1),))
    read_q = Stage(1, 0.0, 0.0, 0.0, needs=(Need("body", qk[-1], 0, freed=True),),
                   read=model.tile_transfer(fmt, rate, sq * dh))
    chunk = model.tile_transfer(fmt, rate, sk * dh) if feed == DRAM else chain_chunk_cycles(model, fmt, rate, sk * dh)
    read_k = Stage(1, 0.0, 0.0, 0.0, needs=(Need("body", qk[-1], 0, 1, freed=True),), read=chunk)
    read_v = Stage(1, 0.0, 0.0, 0.0, needs=(Need("body", pv[-1], 0, 1, freed=True),), read=chunk)
    writer = Stage(sq * dh, 0.0, 0.0, 0.0, needs=(Need("post", len(post) - 1, end_phases[-1].passes),),
                   write=model.tile_transfer(fmt, rate))
    return [read_q], [read_k, read_v] + compute, post + [writer]


def core_pipeline(model: TensixCostModel, run: SdpaRun, chunks: list[int], kernel: str, fmt: str = "bfp8",
                  feeds: list[str] | None = None, ablate: frozenset[str] = frozenset()) -> CorePipeline:
    """A core running q chunks of `run` with `chunks` k steps each, against the DRAM rate its reader and writer
    get (`tteqsat.cost.chip.CorePipeline`), priced as benchmarks/chip_attention.py prices the expert's cores whose
    chunks differ: the first chunk's pipeline at the rate (its fill included), then each other one's steady-state
    increment (its second run less its first). `feeds`: per q chunk, how its K and V arrive (`FEEDS`, default
    all from DRAM; `core_feeds`). `ablate`: the classes of compute instructions taken out of the helpers
    (`ABLATIONS`)."""
    top = pipeline_rates(model)[-1]
    feeds = feeds or [DRAM] * len(chunks)
    if len(feeds) != len(chunks):
        raise ValueError(f"{len(feeds)} feeds for {len(chunks)} q chunks: give one per q chunk")
    stages = functools.cache(lambda rate, feed: chunk_stages(model, run.q_chunk, run.k_chunk, run.d, kernel, fmt,
                                                             min(top, rate), ablate, feed))
    alone = functools.cache(lambda steps, items, rate, feed: model.pipelined(*stages(rate, feed)[:2], steps,
                                                                               stages(rate, feed)[2], items))

    def sample(_items: int, rate: float) -> float:
        (first, feed), *rest = zip(chunks, feeds, strict=True)
        return alone(first, 1, rate, feed) + sum(alone(n, 2, rate, f) - alone(n, 1, rate, f) for n, f in rest)

    return CorePipeline(sample, pipeline_rates(model))


# -- K/V chain forwarding (tt-metal tech_reports/FlashAttention/KV_Chain_Forwarding.md) ---------------------
CHAIN_HOPS = 1
"""NoC hops between neighbours of a chain: the factory links a head's cores in core order, which is row major,
so neighbours are adjacent (the row's last core and the next row's first are the exception, not priced)."""


def chain_chunk_cycles(model: TensixCostModel, fmt: str, rate: float, tiles: int) -> float:
    """Cycles per K (or V) chunk of `tiles` tiles of a chain, which its cores move in lockstep (KV_Chain_Forwarding.md:
    each receiver credits its upstream before each chunk, and the sender waits for that credit before it writes): the
    slowest reader of the chain paces it. The injector's reader reads the chunk from DRAM at `rate` and then writes
    it to the next core and sets its valid semaphore (unicast: an async write, then noc_semaphore_set_remote); a
    middle core's reader waits for the upstream write to land (after its credit reached upstream) and then writes
    the chunk on the same way, store-and-forward. Each write holds the sender's NoC link for the chunk's bytes
    (`noc.bytes_per_cycle`) and lands `noc_latency` later."""
    hop = model.noc_latency(CHAIN_HOPS)
    write = tiles * model.arch.tile_bytes(fmt) / model.num("noc.bytes_per_cycle") + hop
    injector = model.tile_transfer(fmt, rate, tiles) + write
    relay = hop + write + write  # credit upstream, the upstream write lands, the write downstream
    return max(injector, relay)


@dataclass(frozen=True)
class ChainLink:
    """A core's place in its head's K/V chain: `position` 0 is the injector, `members` - 1 the sink."""

    head: int
    position: int
    members: int


def kv_chains(run: SdpaRun, cores: int) -> list[ChainLink | None]:
    """Per core that gets work: its link in a K/V chain, or None. As tt-metal's factory builds them (the single-chip
    path is a port of ring_joint_sdpa_program_factory.cpp's, KV_Chain_Forwarding.md): each core's q chunks split
    into segments by head; for a head whose segments span two or more cores, the chain starts at the first core
    (not the head's last) whose work is all on that one head, and runs through the head's remaining cores. A core
    that straddles two heads is the sink of the first head's chain and reads its second head from DRAM, as do the
    cores of a head before its chain starts. No chains for causal runs (`SdpaRun.chains`)."""
    units = run.units()
    counts = ttmetal_split(len(units), cores)
    firsts = [sum(counts[:c]) for c in range(len(counts))]
    heads_of = [list(dict.fromkeys(units[u][0] for u in range(f, f + n))) for f, n in zip(firsts, counts, strict=True)]
    links: list[ChainLink | None] = [None] * len(counts)
    if not run.chains:
        return links
    segments: dict[int, list[int]] = {}  # head -> the cores with q chunks of it, in core order
    for core, heads in enumerate(heads_of):
        for h in heads:
            segments.setdefault(h, []).append(core)
    for head in sorted(segments):
        cores_of = segments[head]
        start = next((i for i, c in enumerate(cores_of[:-1]) if len(heads_of[c]) == 1), None)
        if start is None:
            continue
        members = cores_of[start:]
        for position, core in enumerate(members):
            links[core] = ChainLink(head, position, len(members))  # a later head's chain wins, as in the factory
    return links


def core_feeds(run: SdpaRun, cores: int) -> list[list[str]]:
    """Per core that gets work, per q chunk it runs (as `core_chunks`): how its K and V arrive (`FEEDS`). A sender
    forwards a q chunk's K and V only while its downstream core has q chunks of the head left (the factory's
    `next_core_q_chunks`; the kernel's should_forward)."""
    units = run.units()
    counts = ttmetal_split(len(units), cores)
    firsts = [sum(counts[:c]) for c in range(len(counts))]
    links = kv_chains(run, cores)
    on_head = [[sum(1 for u in units[f:f + n] if u[0] == h) for h in range(run.batch * run.heads)]
               for f, n in zip(firsts, counts, strict=True)]
    members: dict[int, list[int]] = {}
    for core, link in enumerate(links):
        if link is not None:
            members.setdefault(link.head, []).append(core)
    feeds = []
    for core, (first, n) in enumerate(zip(firsts, counts, strict=True)):
        link = links[core]
        nxt = members[link.head][link.position + 1] if link and link.position + 1 < link.members else None
        downstream = on_head[nxt][link.head] if nxt is not None else 0
        out, seen = [], 0
        for head, chunks in units[first:first + n]:
            for _ in chunks:
                if link is None or head != link.head:
                    out.append(DRAM)
                    continue
                forwards = seen < downstream
                out.append((INJECT if forwards else DRAM) if link.position == 0 else RELAY if forwards else RECEIVE)
                seen += 1
        feeds.append(out)
    return feeds


# -- the grid: which work items tt-metal's SDPA factory makes and which core runs them ---------------------
@dataclass(frozen=True)
class SdpaRun:
    """A whole SDPA op: B x H heads of Sq x Sk (causal: q chunk i sees k chunks 0..i), in chunks."""

    batch: int
    heads: int
    sq: int
    sk: int
    d: int
    q_chunk: int
    k_chunk: int
    causal: bool
    chains: bool = False  # K/V read once per chain of cores sharing a head and forwarded (non-causal, #55756)

    def k_steps(self, q_index: int) -> int:
        """K chunks q chunk `q_index` visits: all of them, or (causal) those up to its diagonal."""
        if not self.causal:
            return self.sk // self.k_chunk
        return -(-(q_index + 1) * self.q_chunk // self.k_chunk)

    def units(self) -> list[tuple[int, tuple[int, ...]]]:
        """The factory's work units in order, each (head, its q chunks): causal runs pair q chunk i with
        n - 1 - i so every pair visits n + 1 k chunks (tt-metal #55766, FlashAttention.md's balancing);
        non-causal runs hand out single q chunks."""
        n = self.sq // self.q_chunk
        per_head = ([(i, n - 1 - i) for i in range(n // 2)] + ([(n // 2,)] if n % 2 else [])) if self.causal \
            else [(i,) for i in range(n)]
        return [(h, chunks) for h in range(self.batch * self.heads) for chunks in per_head]


def ttmetal_split(units: int, cores: int) -> list[int]:
    """Units per core as tt-metal's 2026-07 factory deals them: floor(units / cores) each and one more on the
    first units mod cores cores, taken row major (tt-metal #55766, sdpa_program_factory.cpp:452-476)."""
    base, extra = divmod(units, cores)
    return [base + (1 if c < extra else 0) for c in range(min(cores, units))]


def core_chunks(run: SdpaRun, cores: int) -> list[list[int]]:
    """Per core that gets work: the k steps of each q chunk it runs, in order."""
    units = run.units()
    counts = ttmetal_split(len(units), cores)
    firsts = [sum(counts[:c]) for c in range(len(counts))]
    return [[run.k_steps(q) for _, chunks in units[f:f + n] for q in chunks] for f, n in zip(firsts, counts,
                                                                                                strict=True)]


def run_loads(model: TensixCostModel, run: SdpaRun, cores: int, kernel: str, fmt: str = "bfp8",
              ablate: frozenset[str] = frozenset()) -> list[tuple[int, float, float, float]]:
    """Per core that gets work: (units, compute cycles, DRAM bytes, NoC bytes). A q chunk's compute is one
    q chunk of its k steps on this kernel (setup and normalization included); its bytes are Q, the K and V
    chunks it visits and the output, in `fmt` tiles. With chains, a q chunk whose K and V a chain brings
    (`core_feeds`) reads none of them from DRAM unless the core is the chain's injector; every core still takes
    them in over its NoC link. `ablate`: as `sdpa_cost`."""
    tile = model.arch.tile_bytes(fmt)
    q_tiles = run.q_chunk // 32 * (run.d // 32)
    kv_tiles = 2 * run.k_chunk // 32 * (run.d // 32)
    cost: dict[int, float] = {}

    def chunk_cycles(steps: int) -> float:
        if steps not in cost:
            cost[steps] = sdpa_cost(model, run.q_chunk, run.k_chunk, run.d, steps, kernel, fmt, ablate).chunk
        return cost[steps]

    units = run.units()
    counts = ttmetal_split(len(units), cores)
    firsts = [sum(counts[:c]) for c in range(len(counts))]
    loads = []
    for first, n, feeds in zip(firsts, counts, core_feeds(run, cores), strict=True):
        compute = dram = noc = 0.0
        qs = [q for _, chunks in units[first:first + n] for q in chunks]
        for q, feed in zip(qs, feeds, strict=True):
            steps = run.k_steps(q)
            compute += chunk_cycles(steps)
            kv = steps * kv_tiles * tile
            own = 2 * q_tiles * tile  # Q in, the output out
            dram += own + (kv if feed in (DRAM, INJECT) else 0.0)
            noc += own + kv
        loads.append((n, compute, dram, noc))
    return loads
