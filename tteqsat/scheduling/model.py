"""The schedule's data model: DST sections with slot assignments, the circular-buffer plan, the loop.

Every backend reads only a `Schedule`; `tteqsat.scheduling.build` makes one from an extracted program.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace

from tteqsat.arch import Arch
from tteqsat.cost.model import Engines
from tteqsat.extraction.accumulation import Chain
from tteqsat.extraction.program import Program, live_trips
from tteqsat.frontend.ir import TILE
from tteqsat.frontend.masks import Mask

FPU_KINDS = ("copy", "fpu", "reuse", "matmul", "reduce", "bcast", "transpose", "mask")
FULL_INIT_KINDS = ("bcast", "transpose")  # their inits reconfigure the packer and DST sync: never inside a pass
REDUCE_UNINIT = ("reduce_uninit",)  # the FPU step after a reduce: clears reduce_init's packer edge masks
REDUCES = ("reduce",)
INPUT_ROLES = ("input", "stream")  # CBs holding kernel inputs (whole, or a chunk per loop trip)


def read_ahead(sections: list[DstSection]) -> set[int]:
    """CBs that sections one trip ahead read: their chunk streams are read a chunk ahead too (the reader,
    `scheduling.timing.kernel_stages`, `lowering.dataflow`)."""
    return {cb for sec in sections if sec.ahead for cb in sec.read_cbs}


def read_block(capacity: int, *runs: int) -> int:
    """Tiles the reader moves per ``cb_reserve_back``/``cb_push_back`` of a CB of `capacity` pages that `runs`
    (a whole input, a loop trip's chunk) fill one after another: the largest block that divides the capacity and
    every run. The write pointer then stays a multiple of the block, so a block's pages are consecutive in L1
    (it never wraps around the CB's end) and a run ends on a block boundary. The scheduler's plans give a whole
    input a CB of its size and a chunk stream two chunks, so a block is the whole input or the whole chunk."""
    return math.gcd(capacity, *runs)


STREAM_PASSES = 2  # passes of tiles a streamed input's CB holds: the one compute reads and the one the reader fills


def stream_block(capacity: int, tiles: int) -> int:
    """Tiles per reserve/push of an input of `tiles` tiles streamed pass by pass through a CB of `capacity` pages
    (`scheduling.input_streams`): one pass, so the reader fills one while compute reads the other. A block of the
    whole CB would wait for both passes to be popped, and compute then waits for the next block's read: reads and
    compute in turn, not overlapped."""
    return read_block(capacity // STREAM_PASSES, tiles)


@dataclass(frozen=True)
class MaskIndex:
    """Which mask tile output tile (i, j) of a masked value reads: its distance from the diagonal in tiles,
    D = (block * block_tiles + i) - (chunk * chunk_tiles + j) for the work item's row block and the loop's
    chunk, picks pattern `sum(D >= r for r in runs[1:])` (`Mask.tile_runs`)."""

    block_tiles: int
    chunk_tiles: int
    runs: tuple[int, ...]


@dataclass(frozen=True)
class TileRead:
    """Tile index `ci*i + cj*j + ck*k` of a CB, for output tile (i, j) and inner index k; a mask CB is indexed
    by `diag` instead."""

    cb: int
    ci: int
    cj: int
    ck: int = 0
    diag: MaskIndex | None = None


@dataclass
class SectionOp:
    """One op of a section pass: reads (CB tiles and DST slots), writes DST slot `out`."""

    kind: str
    op: str
    attrs: dict[str, object]
    out: int
    dst_in: list[int]
    reads: list[TileRead]
    inner: int = 0              # trip count of the k loop (matmul K tiles, reduce length)
    value: int = -1             # index of the program value it computes (-1 for copies)
    copy_from: int | None = None  # copy_dest_values source slot, for in-place ops on a value still live
    work: Engines = field(default_factory=Engines)  # engine cycles per output tile (its copy_dest included): what
                                                    # the cost model needs to price a tile-major pass tile by tile

    def fpu_key(self) -> tuple:
        """The FPU configuration this op needs: ops with equal keys share one init. A full init configures
        the broadcast or transpose kind (CBs of a kernel share one format)."""
        if self.kind in FULL_INIT_KINDS:
            return (self.kind, self.op)
        return (self.kind, self.op, tuple(r.cb for r in self.reads), tuple(sorted(self.attrs.items())))

    def steps(self) -> list[tuple[str, tuple]]:
        """(engine, init key) of each hardware call this op makes, in order; equal keys share an init."""
        steps: list[tuple[str, tuple]] = []
        if self.copy_from is not None:
            steps.append(("sfpu", ("copy_dest",)))
        if self.kind in FPU_KINDS:
            steps.append(("fpu", self.fpu_key()))
            if self.kind == "reduce":
                steps.append(("fpu", REDUCE_UNINIT))
        elif self.kind == "scalar" and self.op in ("rsub_s", "rdiv_s"):
            steps.append(("sfpu", ("sfpu", "neg" if self.op == "rsub_s" else "recip")))
            steps.append(("sfpu", ("scalar",)))
        elif self.kind == "scalar":
            steps.append(("sfpu", ("scalar",)))
        elif self.kind == "exp_scaled":
            steps.append(("sfpu", ("exp_scaled", self.attrs["s"], bool(self.attrs.get("accurate")))))
        elif self.kind == "sfpu" and self.op == "exp" and self.attrs.get("accurate"):
            steps.append(("sfpu", (self.kind, self.op, True)))  # exp_tile_init<false>: not the approximate one's
        else:
            steps.append(("sfpu", (self.kind, self.op)))
        return steps


@dataclass
class Pack:
    slot: int
    cb: int
    accumulate: bool = False  # L1 accumulation: the tiles of a row block add into one CB tile


@dataclass
class DstSection:
    """One acquire..release pass, repeated over the output tile grid."""

    index: int
    grid: tuple[int, int]
    ops: list[SectionOp]
    packs: list[Pack]
    waits: list[tuple[int, int]] = field(default_factory=list)  # (cb, tiles) before the loop
    pops: list[tuple[int, int]] = field(default_factory=list)   # (cb, tiles) after the loop
    row_waits: list[tuple[int, int]] = field(default_factory=list)  # (cb, tiles): waited for before each row block
    # and popped after it, the block's tiles at the CB's front (`row_waits.wait_by_rows`), instead of all at once
    pass_pops: list[tuple[int, int]] = field(default_factory=list)  # (cb, tiles): popped after each pass's
    # unpacks, the next pass's tiles then at the CB's front; it packs its value over them (`in_place.pack_over`)
    pass_waits: list[tuple[int, int]] = field(default_factory=list)  # (cb, tiles): a kernel input streamed through
    # a small CB, waited for before each pass (and in `pass_pops`: popped after its unpacks; `input_streams`)
    slots: int = 0
    engines: Engines = field(default_factory=Engines)  # per pass
    in_loop: bool = False
    ahead: bool = False  # in the loop, one trip ahead: trip t computes trip t+1's value (trip 0's before the
                         # loop, nothing in the last trip), so its work fills the waits of the trip's later sections
    interleaved: bool = False  # in the loop, its passes run between those of the section before it (one loop
                               # nest, that section's pass then this one's: `scheduling.interleave`)
    width: int = 1  # adjacent tiles of a row per pass
    rows: int = 1   # tile rows per pass (only when a pass takes whole rows: width == grid[1]); value slot s
                    # holds the pass's `tiles` tiles, row by row, in DST s*tiles .. s*tiles+tiles-1
    inits_hoisted: int = 0
    inits_per_iteration: int = 0
    init_sites: dict[str, tuple[int, int]] = field(default_factory=dict)  # engine -> (hoisted, per pass)
    pack_thread_ops: list[int] = field(default_factory=list)  # ops whose SFPU work the pack thread issues
    math_tail: float = 0.0  # math cycles of a pass after its last tile is unpacked (SFPU work on what it read)
    order: str = "op"  # "op": each op on every tile of the pass, then the next op; "tile": from op `tile_from` on,
                       # every op on tile 0, then every op on tile 1, ... (as tt-metal's SDPA runs
                       # sub_tiles_bcast_cols and exp_tile tile by tile): the unpacker fills the source registers
                       # for tile t+1 while math runs tile t's SFPU work (`sections.tile_major_from` says when)
    tile_from: int = 0  # with order "tile": the ops before it run op by op first (a broadcast, whose init is a
                        # full one set up before the acquire and differs from the later FPU op's)
    cycles: float = 0.0  # the section alone (the schedule pipelines sections through the threads)

    @property
    def tiles(self) -> int:
        """Output tiles per pass (per acquire)."""
        return self.width * self.rows

    @property
    def iterations(self) -> int:
        return self.grid[0] * self.grid[1] // self.tiles

    @property
    def read_cbs(self) -> set[int]:
        """The CBs its ops read."""
        return {r.cb for op in self.ops for r in op.reads}

    @property
    def packed_cbs(self) -> set[int]:
        """The CBs it packs into."""
        return {p.cb for p in self.packs}

    @property
    def packed_over(self) -> list[int]:
        """The CBs it packs its value into over what it read of them, popped pass by pass (`in_place`); a streamed
        input's pass pops are not that."""
        streamed = {cb for cb, _ in self.pass_waits}
        return [cb for cb, _ in self.pass_pops if cb not in streamed]

    @property
    def init_engines(self) -> set[str]:
        """The engines its ops configure ("fpu", "sfpu": an init site each)."""
        return {engine for engine, sites in self.init_sites.items() if any(sites)}


@dataclass
class CircularBuffer:
    id: int
    role: str          # input | output | intermediate | scaler | mask | arange | stream | state | export
    tiles: int         # capacity
    dtype: str
    holds: list[str]   # what lives in it, over time
    scale: float | None = None
    loc: str = ""      # source line of the first value it holds
    tile_order: str = "rows"  # "cols": tile (r, c) of an R-row tensor at position c*R + r (for matmul's b.T)
    mask: tuple[str, str] | None = None  # a mask CB: (mask text, "bias" for 0 / -inf tiles or "zero" for 1 / 0)


@dataclass
class TensorArg:
    """A DRAM tensor bound to a kernel argument."""

    name: str
    role: str
    shape: tuple[int, int]
    cb: int
    n_tiles: int
    blocked: bool = False  # an input read by the work item's block of rows (`shape` is the block)


@dataclass(frozen=True)
class TensorLayout:
    """Which tiles of its DRAM tensor a kernel argument moves for one work item: the slice its batch index
    selects (per tensor batch axis, the kernel batch axis it follows, or -1 for a broadcast axis read at 0,
    and the divisor of a repeat), and its block of rows when the argument is row-blocked."""

    tensor: str                          # the DRAM tensor: the user's input or output
    shape: tuple[int, ...]               # its full shape: batch axes, then rows and columns
    axes: tuple[tuple[int, int], ...]    # per tensor batch axis: (kernel batch axis, divisor) or (-1, the index
                                         # it always reads: 0 for a broadcast, the slice `take` picks)
    blocked: bool                        # the item moves its block of rows, not the whole matrix


@dataclass(frozen=True)
class SharePlan:
    """Cores that run their items in lockstep and share the whole inputs' reads: in each group (a rectangle of
    the grid, as NoC multicast needs) the first core reads every shared block from DRAM and multicasts it into
    the same CB pages of the others (`tteqsat.lowering.dataflow`)."""

    groups: tuple[tuple[int, ...], ...]      # core numbers of each group; the first is its sender
    coords: tuple[tuple[int, int], ...]      # grid position (x, y) of each core
    rects: tuple[tuple[int, int, int, int], ...]  # each group's rectangle: x_start, y_start, x_end, y_end

    def group_of(self, core: int) -> int:
        return next(g for g, members in enumerate(self.groups) if core in members)


@dataclass
class GridPlan:
    """The work split over the core grid: items are (batch element, row block) pairs in row-major order;
    each core runs the one program over its items, `first` to `first + count - 1`."""

    batch: tuple[int, ...]               # the kernel's batch axes
    blocks: int                          # row blocks per batch element
    block_rows: int                      # rows of one block, in elements
    cores: list[tuple[int, int]]         # (first item, item count) per core that gets work
    grid: tuple[int, int]                # the arch's compute grid (x, y); core n sits at (n % x, n // x)
    layouts: dict[str, TensorLayout]     # by kernel argument (TensorArg) name
    paired: bool = False                 # row blocks in the order 0, N-1, 1, N-2, ... (balances a causal mask)
    run: int = 0                         # > 0: a core's items come in runs of `run` consecutive items, each run
                                         # `stride` items after the last; 0: all consecutive
    share: SharePlan | None = None       # cores that share their whole inputs' reads (NoC multicast)
    stride: int = 0                      # items from one run's start to the next's (0: `blocks`, one run per element)
    ranked: int = 0                      # > 0: row blocks in runs of this many, largest first (`block_order`): a
                                         # sharing group's items differ; its sender reads the run's widest's chunks
    alternate: bool = False              # ranked runs: every second run smallest first, so a group's cores
                                         # take the dearer blocks in turn (the readers follow each run's widest)

    @property
    def items(self) -> int:
        return sum(count for _, count in self.cores)

    def core_items(self, n: int) -> list[int]:
        """The work items core `n` runs, in order."""
        first, count = self.cores[n]
        if not self.run:
            return list(range(first, first + count))
        return [first + (k // self.run) * self.run_stride + k % self.run for k in range(count)]

    @property
    def run_stride(self) -> int:
        """Items from the start of one of a core's runs to the next (its group's run of an element's blocks)."""
        return self.stride or self.blocks

    def core_xy(self, n: int) -> tuple[int, int]:
        """Where core `n` sits on the grid: row-major, or where its sharing group's rectangle put it."""
        if self.share is not None:
            return self.share.coords[n]
        return n % self.grid[0], n // self.grid[0]

    def block_of(self, item: int) -> int:
        """The row block work item `item` computes (`paired`: a core's consecutive items pair a short block
        with a long one, as tt-metal's causal SDPA balances its q chunks)."""
        return block_order(item, self.blocks, self.paired, self.ranked, self.alternate)


def block_order(item: int, blocks: int, paired: bool, ranked: int = 0, alternate: bool = False) -> int:
    """The row block of work item `item`, at position p = item % blocks of its batch element's items: p itself,
    or 0, N-1, 1, N-2, ... when paired. With `ranked` (a sharing group's size when its items differ), positions
    come in runs of that many blocks, each run's largest first (the run's sender needs every chunk the others
    do), and `paired` orders the runs.
    With `alternate`, every second run (odd runs counted over all items, `item // ranked`, so across batch
    elements too) comes smallest first, so each core of a sharing group takes the run's dearer and cheaper
    blocks in turn (a causal block ending on a chunk's diagonal skips fewer dead tiles than the one before it;
    a later one may visit more chunks) and their sums come out alike."""
    position = item % blocks
    if ranked:
        run, i = divmod(position, ranked)
        first = block_order(run, blocks // ranked, paired) * ranked
        return first + (i if alternate and item // ranked % 2 else ranked - 1 - i)
    if not paired:
        return position
    half, odd = divmod(position, 2)
    return half + odd * (blocks - 1 - 2 * half)


@dataclass
class Schedule:
    kernel: str
    arch: str
    dtype: str
    sections: list[DstSection]
    cbs: list[CircularBuffer]
    args: list[TensorArg]
    compute_cycles: float
    data_movement_cycles: float
    dst_capacity: int
    loop: LoopInfo | None = None
    fp32_dest_acc: bool = False   # 32-bit DST (fp32 kernels, the arch setting, or `wide_dst_chain`)
    dst_full_sync: bool = False   # DST not double-buffered: twice the tiles per acquire
    exp_approx: bool = True
    math_fidelity: str = "hifi2"
    input_format: str = ""        # tile format of kernel inputs in DRAM and their CBs ("" = dtype)
    grid: GridPlan | None = None  # the split over cores, when the kernel has more than one work item
    full_compute_cycles: float = 0.0  # an item whose loop runs every chunk (compute_cycles without skipping)
    kernel_cycles: float = 0.0    # one work item on one core alone: reader, compute and writer pipelined
    setup_cycles: float = 0.0     # once per kernel on each core, before its first item: building mask tiles
    wide_dst_chain: Chain | None = None  # a bf16 kernel's accumulation too long for 16-bit DST, for which it runs
                                         # with 32-bit DST (`extraction.accumulation`)

    @property
    def cost_cycles(self) -> float:
        """One work item on one core, the kernel's setup included: compute or data movement, the slower."""
        return max(self.compute_cycles + self.setup_cycles, self.data_movement_cycles)

    @property
    def blocks(self) -> int:
        """Row blocks whose items cost differently: those of a loop's mask, else 1."""
        live = self.loop.live if self.loop is not None else None
        return max(Mask.parse(live[0]).shape[0] // live[1], 1) if live and live[1] else 1

    def item_cycles(self, block: int) -> float:
        """Compute of the work item of row block `block`: its loop runs only its live chunks.
        (`compute_cycles` is the mean over the blocks.)"""
        loop = self.loop
        if loop is None or loop.live is None:
            return self.compute_cycles
        return loop.item_cycles(block)

    def item_dram_bytes(self, arch: Arch, block: int) -> float:
        """DRAM bytes of the item of row block `block`: streamed inputs only for its live chunks."""
        loop = self.loop
        if loop is None or loop.live is None:
            return self.dram_bytes(arch)
        lo, hi = loop.range(block)
        streamed = sum(self.args[st.arg].n_tiles * arch.tile_bytes(self.input_format or self.dtype)
                       for st in loop.streams)
        return self.dram_bytes(arch) - streamed * (1 - max(hi - lo, 0) / loop.trips)

    def chunks_held(self, stream: ChunkStream) -> int:
        """Chunks a stream's CB holds: two (double buffering) or `settings.stream_depth` where L1 had room
        (`build._deepen_streams`); the reader runs that many trips ahead of compute, less one."""
        return self.cbs[stream.cb].tiles // stream.tiles

    def cb_format(self, cb: CircularBuffer) -> str:
        """The tile format a CB holds: kernel inputs (whole or streamed) in the input format."""
        return (self.input_format or cb.dtype) if cb.role in INPUT_ROLES else cb.dtype

    def l1_bytes(self, arch: Arch) -> int:
        return sum(cb.tiles * arch.tile_bytes(self.cb_format(cb)) for cb in self.cbs)

    def streamed_inputs(self) -> dict[int, str]:
        """CB -> "before" or "after" of each input a section streams pass by pass (`input_streams`): where the
        reader moves it, against the loop's chunks (a kernel without a loop: "before")."""
        return {cb: "after" if any(s.in_loop for s in self.sections[:n]) else "before"
                for n, sec in enumerate(self.sections) for cb, _ in sec.pass_waits}

    def dram_bytes(self, arch: Arch) -> int:
        """Bytes read from and written to DRAM: every argument once, inputs in the input format."""
        return sum(a.n_tiles * arch.tile_bytes((self.input_format or self.dtype) if a.role == "in" else self.dtype)
                   for a in self.args)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------------
class CbPlan:
    """Every CB of the kernel, allocated as frames are scheduled."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype
        self.cbs: list[CircularBuffer] = []
        self._scaler: dict[float, int] = {}
        self._mask: dict[tuple[str, str], int] = {}

    def new(self, role: str, tiles: int, holds: str, loc: str = "", scale: float | None = None) -> int:
        self.cbs.append(CircularBuffer(len(self.cbs), role, tiles, self.dtype, [holds], scale, loc))
        return self.cbs[-1].id

    def scaler(self, s: float) -> int:
        if s not in self._scaler:
            self._scaler[s] = self.new("scaler", 1, f"scaler {s:g}", scale=s)
        return self._scaler[s]

    def mask(self, text: str, fill: str) -> int:
        """The CB of a mask's pattern tiles, built once per kernel from an arange tile (two CBs of their own)."""
        key = (text, fill)
        if key not in self._mask:
            if not any(cb.role == "arange" for cb in self.cbs):
                self.new("arange", 1, "arange tile 32*row + col")
                self.new("arange", 1, "its transpose")
            runs = Mask.parse(text).tile_runs()
            self._mask[key] = self.new("mask", len(runs), f"mask {text} ({fill})")
            self.cbs[-1].mask = key
        return self._mask[key]

    def copy(self) -> CbPlan:
        """A plan to try a move on, sharing nothing it may change (what `copy.deepcopy` gives, at a fraction of its
        cost: a frame's local search copies the plan for every move)."""
        other = CbPlan(self.dtype)
        other.cbs = [replace(cb, holds=list(cb.holds)) for cb in self.cbs]
        other._scaler, other._mask = dict(self._scaler), dict(self._mask)
        return other

    def truncate(self, mark: int) -> None:
        del self.cbs[mark:]
        self._scaler = {s: cb for s, cb in self._scaler.items() if cb < mark}
        self._mask = {k: cb for k, cb in self._mask.items() if cb < mark}


@dataclass
class StateFill:
    cb: int
    tiles: int
    value: float
    name: str


@dataclass
class ChunkStream:
    """One kernel input streamed a chunk per trip: `axis` rows (contiguous tiles) or cols."""

    name: str
    arg: int
    cb: int
    shape: tuple[int, int]
    axis: str
    width: int
    column_major: bool = False  # tiles of each chunk column by column (see CircularBuffer.tile_order)

    @property
    def tiles(self) -> int:
        """Tiles of one trip's chunk: `width` elements along `axis`, whole tiles across the other."""
        return self.width // TILE * -(-self.shape[1 if self.axis == "rows" else 0] // TILE)


@dataclass(frozen=True)
class RaggedPlan:
    """Which body values skip dead tiles in masked trips: `grid_values` are computed in passes over a row of
    chunk columns (passes with no live tile are skipped), `inner_values` reduce over the chunk's keys in their
    K loop (bounded to the tile row's live tiles). `width` is the tile count of one pass over chunk columns."""

    grid_values: frozenset[int]
    inner_values: frozenset[int]
    width: int
    chunk_tiles: int


@dataclass
class LoopInfo:
    trips: int
    fills: list[StateFill]
    streams: list[ChunkStream]
    waits: list[tuple[int, int]] = field(default_factory=list)  # before the loop
    pops: list[tuple[int, int]] = field(default_factory=list)   # after the loop
    drains: list[tuple[int, int]] = field(default_factory=list)  # final states nobody reads: wait, pop
    body_cycles: float = 0.0
    fill_cycles: float = 0.0
    live: tuple[str, int, int] | None = None  # the loop runs only the chunks this (mask, block rows, chunk
    rows: int = 0                              # width) leaves live for its work item's `rows` rows
    mask_cycles: float = 0.0  # what the body's mask ops add to a trip (skipped where the mask is all true)
    first_trip_cycles: float = 0.0  # an item whose loop runs one trip, unmasked (pipelined with pre and post)
    trip_cycles: float = 0.0  # each further unmasked trip, pipelined with the ones before it

    ragged: RaggedPlan | None = None  # masked trips skip dead tiles (scheduling.ragged)
    ragged_saving: list[float] = field(default_factory=list)  # per row block: what that saves its item

    def item_cycles(self, block: int) -> float:
        """Compute of the item of row block `block`: its live trips, the masked ones with their mask ops and
        without their dead tiles."""
        lo, hi = self.range(block)
        trips = max(hi - lo, 0)
        base = self.first_trip_cycles + (trips - 1) * self.trip_cycles
        saving = self.ragged_saving[block] if self.ragged is not None else 0.0
        return max(base, 0.0) + (trips - self.unmasked(block)) * self.mask_cycles - saving

    def range(self, block: int) -> tuple[int, int]:
        """Chunks [lo, hi) the loop runs for row block `block`."""
        if self.live is None:
            return 0, self.trips
        text, height, width = self.live
        return live_trips((Mask.parse(text), height, width), block, self.rows, self.trips)

    def masked_trips(self, block: int) -> list[int]:
        """Chunks of block `block`'s range that apply the mask (live, but not held everywhere)."""
        if self.live is None:
            return []
        text, height, width = self.live
        lo, hi = self.range(block)
        flo, fhi = Mask.parse(text).full_chunks(block * height, self.rows, width)
        return [c for c in range(lo, hi) if not flo <= c < fhi]

    def unmasked(self, block: int) -> int:
        """Chunks of block `block`'s range where the mask holds everywhere: they skip the mask op."""
        if self.live is None:
            return 0
        lo, hi = self.range(block)
        return max(hi - lo, 0) - len(self.masked_trips(block))


@dataclass
class Frame:
    name: str                  # pre | loop | post | main
    program: Program
    bound: dict[str, int]      # leaf name -> CB holding it
    targets: dict[str, int]    # output name -> CB to pack it into


def switches(keys: list[tuple]) -> int:
    """Inits inside each pass when it cycles through `keys` (the first op re-inits after the last)."""
    return sum(1 for p, k in enumerate(keys) if k != keys[p - 1]) if len(set(keys)) > 1 else 0


