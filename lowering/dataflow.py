"""Reader and writer kernels: move every tile of each DRAM tensor through its circular buffer.

The op forms are those of tt-mlir main (pinned in docs/mlir-subset.md, "Dataflow"; signatures in
`tteqsat.lowering.ttkernel_signatures`). Each kernel's arguments are laid out as its ``ttkernel.arg_spec``
says: compile-time args are first the CB ports it uses (ascending CB id), then one ``tensor_accessor_args``
block per tensor (two words for an interleaved DRAM tensor, chained with ``TensorAccessorArgs(prev)``); the
common runtime args are the tensors' DRAM base addresses, in the same order. A ``TensorAccessor`` built from
the accessor args, the base address and the CB's tile size addresses tile ``t``. The reader moves a block of
tiles per reserve/push, as tt-metal's own readers do: it reserves the block's pages, issues one read per tile
into consecutive L1 pages (``get_write_ptr`` + i * ``get_tile_size``), waits on one NoC barrier and pushes the
block, so the block's reads overlap and pay one DRAM latency (`tteqsat.scheduling.model.read_block` sizes it:
a whole input or a loop trip's chunk with the scheduler's CB plans). The writer moves one tile per wait/pop,
with the NoC barrier before the page is freed.
The reader issues its NoC ops on NoC 0 and the writer on NoC 1 (tt-mlir's convention), as an ``i8`` operand.

A program over the core grid (`WorkItems`) runs the whole sequence once per work item: every kernel reads
its first item and item count as per-core runtime args (``get_arg_val`` 0 and 1), and each tensor's tile ids
are offset by where the item's slice starts (`ItemTiles`): its batch element's matrix, and its block of rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tteqsat.lowering.item_index import block_of, item_number, live_range, ranked_widest
from tteqsat.mlir_text.argspec import ArgEntry, ArgSpec
from tteqsat.scheduling.model import read_block, stream_block

_CB_TYPE_RE = re.compile(r"^!ttkernel\.cb<\s*(\d+)\s*,\s*!ttcore\.tile<\s*32x32\s*,\s*(bf16|f32)\s*>\s*>$")
ARGS_TYPE = "!ttkernel.TensorAccessorArgs"
ACCESSOR_TYPE = "!ttkernel.TensorAccessor"
READER_NOC, WRITER_NOC = 0, 1


@dataclass(frozen=True)
class WorkItems:
    """How a work item number decodes: item = element * blocks + block, the element row-major over `batch`."""

    batch: tuple[int, ...]
    blocks: int
    paired: bool = False  # row blocks in the order 0, N-1, 1, N-2, ... (GridPlan.block_of)
    run: int = 0          # > 0: a core's items come in runs of `run`, `stride` items apart (GridPlan.run)
    share: bool = False   # the reader shares whole inputs with its group's cores (GridPlan.share)
    stride: int = 0       # items from one run's start to the next (GridPlan.run_stride; 0: `blocks`)
    ranked: int = 0       # > 0: runs of this many blocks, largest first (GridPlan.ranked): the group's items
                          # differ, and the sender multicasts every chunk of the run's widest item to all
    alternate: bool = False  # every second ranked run smallest first (GridPlan.alternate)


@dataclass(frozen=True)
class LiveChunks:
    """A streaming loop that visits only the chunks a mask leaves live for the item's row block
    (`LoopInfo.live`, `LoopInfo.rows`)."""

    live: tuple[str, int, int]
    rows: int


@dataclass(frozen=True)
class ItemTiles:
    """Where a work item's tiles start in one DRAM tensor: sum over the tensor's batch axes of
    (b[axis] // divisor) * stride, b the item's batch index (a broadcast axis adds nothing), plus the item's
    block of rows when the tensor is read or written by row blocks."""

    terms: tuple[tuple[int, int, int], ...]  # (kernel batch axis, divisor, stride in tiles)
    block_tiles: int = 0  # tiles of one row block; 0: the item moves the whole matrix
    offset: int = 0       # tiles before the slices the item reads (a fixed index on some batch axis)


@dataclass(frozen=True)
class TensorBinding:  # one DRAM tensor moved between DRAM and a CB
    """One DRAM tensor and the CB it streams through.

    ``tensor_index`` is the tensor's position in the host program's tensor list (``tteqsat.tensors``), the
    ``operand_index`` of its ``buffer_address`` and ``tensor_accessor_args`` arg-spec entries;
    ``cb_type`` is the full CB type, e.g. ``!ttkernel.cb<4, !ttcore.tile<32x32, bf16>>``.
    """

    name: str
    tensor_index: int
    cb_id: int
    cb_type: str
    n_tiles: int
    dtype: str  # 'bf16' | 'f32'
    column_major_rows: int = 0  # > 0: read tile columns one after another (tile rows of the tensor)
    item: ItemTiles | None = None  # over the grid: where each work item's tiles start
    streamed: str = ""  # read pass by pass by a section (`scheduling.input_streams`) "before" or "after" the
                        # loop's chunks (a kernel without a loop: "before"); "": read whole


def _validate(bindings: Sequence[TensorBinding]) -> None:
    cb_types: dict[int, str] = {}
    dtypes: dict[int, str] = {}
    for b in bindings:
        if dtypes.setdefault(b.tensor_index, b.dtype) != b.dtype:
            raise ValueError(f"{b.name}: tensor {b.tensor_index} is bound with two different dtypes")
        m = _CB_TYPE_RE.match(b.cb_type)
        if m is None:
            raise ValueError(f"{b.name}: unsupported CB type {b.cb_type!r}")
        if m.group(2) != b.dtype:
            raise ValueError(f"{b.name}: dtype {b.dtype!r} does not match CB type {b.cb_type!r}")
        if b.n_tiles < 1:
            raise ValueError(f"{b.name}: n_tiles must be positive, got {b.n_tiles}")
        if b.tensor_index < 0 or b.cb_id < 0:
            raise ValueError(f"{b.name}: tensor_index and cb_id must be non-negative")
        if cb_types.setdefault(b.cb_id, b.cb_type) != b.cb_type:
            raise ValueError(f"cb {b.cb_id} is bound with two different types")


class _Func:
    """Line accumulator with the module's indentation (2 spaces per level, func at level 1)."""

    def __init__(self, name: str) -> None:
        self.lines: list[str] = [f'  "func.func"() <{{function_type = () -> (), sym_name = "{name}"}}> ({{']
        self.depth = 2
        self.acc: list[str] = []  # the TensorAccessor of each binding (one per distinct tensor)
        self.base: list[str] = []  # over the grid: each binding's first tile of the current work item
        self.items_open = False
        self.block = "%c0"  # the work item's row block
        self.widest_block: str | None = None  # a ranked group: the row block of its run's widest item
        self.ix = _FuncIndex(self)

    def op(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def const(self, name: str, value: str, ty: str) -> None:
        self.op(f'%{name} = "arith.constant"() <{{value = {value}}}> : () -> {ty}')

    def loop(self, ub: str, iv: str) -> None:
        self.op('"scf.for"(%c0, %' + ub + ", %c1) ({")
        self.op(f"^bb0(%{iv}: index):")
        self.depth += 1

    def end_loop(self) -> None:
        self.op('"scf.yield"() : () -> ()')
        self.depth -= 1
        self.op("}) : (index, index, index) -> ()")

    def finish(self, spec: ArgSpec) -> list[str]:
        if self.items_open:
            self.end_loop()
        self.op('"func.return"() : () -> ()')
        attr = f"ttkernel.arg_spec = {spec.print()}, " if spec.rt_args or spec.ct_args else ""
        self.lines.append(f"  }}) {{{attr}ttkernel.thread = #ttkernel.thread<noc>}} : () -> ()")
        return self.lines


class _FuncIndex:
    """`item_index.IndexOps` emitting into a `_Func` with fresh names %ixN."""

    def __init__(self, f: _Func) -> None:
        self.f = f
        self.n = 0

    def const(self, value: int) -> str:
        self.n += 1
        self.f.const(f"ix{self.n}", f"{value} : index", "index")
        return f"%ix{self.n}"

    def arith(self, name: str, a: str | int, b: str | int) -> str:
        self.n += 1
        self.f.op(f'%ix{self.n} = "arith.{name}"({a}, {b}) : (index, index) -> index')
        return f"%ix{self.n}"


def _tensors(bindings: Sequence[TensorBinding]) -> list[TensorBinding]:
    """The first binding of each distinct tensor, in binding order: one accessor each."""
    seen: dict[int, TensorBinding] = {}
    for b in bindings:
        seen.setdefault(b.tensor_index, b)
    return list(seen.values())


ITEM_ARGS = (ArgEntry("named_argument", 0, False, "first_item"), ArgEntry("named_argument", 1, False, "item_count"))
"""The per-core runtime args of a program over the grid, in ``get_arg_val`` order (every kernel has them)."""
SHARE_ARGS = tuple(ArgEntry("named_argument", 2 + k, False, name) for k, name in enumerate(
    ("is_sender", "sender_x", "sender_y", "mcast_x_start", "mcast_y_start", "mcast_x_end", "mcast_y_end",
     "receivers")))
"""The reader's further per-core runtime args when its group of cores shares whole inputs: 1 on the group's
sender (0 on a receiver), the sender's core, the group's rectangle (NoC coordinates) and its receiver count."""
SEM_READY, SEM_VALID = 0, 1
"""The host program's semaphores (`tteqsat.lowering.host.SHARE_SEMAPHORES`): on a sender, how many receivers
are ready for the next block; on a receiver, 1 once the sender's block has landed in its CB."""


def arg_spec(bindings: Sequence[TensorBinding], items: WorkItems | None = None) -> ArgSpec:
    """The reader's or writer's arguments: CB ports (ascending id), then one accessor block per tensor; the
    tensors' base addresses as common runtime args, in binding order; over the grid, the first work item and
    the item count as per-core runtime args."""
    cbs = sorted({b.cb_id for b in bindings})
    tensors = _tensors(bindings)
    return ArgSpec(
        rt_args=(*(ArgEntry("buffer_address", b.tensor_index) for b in tensors), *(ITEM_ARGS if items else ()),
                 *(SHARE_ARGS if items and items.share else ())),
        ct_args=(*(ArgEntry("cb_port", cb) for cb in cbs),
                 *(ArgEntry("tensor_accessor_args", b.tensor_index) for b in tensors)),
    )


def _item_loop(f: _Func, items: WorkItems, bindings: Sequence[TensorBinding]) -> None:
    """Open the loop over this core's work items and compute each binding's first tile for the item."""
    f.const("arg0", "0 : index", "index")
    f.const("arg1", "1 : index", "index")
    f.op('%first = "ttkernel.get_arg_val"(%arg0) : (index) -> index')
    f.op('%count = "ttkernel.get_arg_val"(%arg1) : (index) -> index')
    if items.share:
        _share_setup(f)
    f.loop("count", "it")
    f.items_open = True
    if items.run:
        offset = item_number(f.ix, "%c0", "%it", items.run, items.stride or items.blocks)
        f.op(f'%item = "arith.addi"(%first, {offset}) : (index, index) -> index')
    else:
        f.op('%item = "arith.addi"(%first, %it) : (index, index) -> index')
    f.const("blocks", f"{items.blocks} : index", "index")
    f.op('%elem = "arith.divui"(%item, %blocks) : (index, index) -> index')
    f.block = block_of(f.ix, "%item", items.blocks, items.paired, items.ranked, items.alternate)
    if items.share and items.ranked:  # a group: every core's reader follows its run's widest item
        widest = ranked_widest(f.ix, "%item", items.blocks, items.ranked, items.alternate)
        f.widest_block = block_of(f.ix, widest, items.blocks, items.paired, items.ranked, items.alternate)
    for axis, size in enumerate(items.batch):  # the element's index on each kernel batch axis
        inner = 1
        for s in items.batch[axis + 1:]:
            inner *= s
        f.const(f"inner{axis}", f"{inner} : index", "index")
        f.const(f"size{axis}", f"{size} : index", "index")
        f.op(f'%q{axis} = "arith.divui"(%elem, %inner{axis}) : (index, index) -> index')
        f.op(f'%b{axis} = "arith.remui"(%q{axis}, %size{axis}) : (index, index) -> index')
    for k, b in enumerate(bindings):
        tiles = b.item or ItemTiles(())
        acc = "%c0"
        if tiles.offset:
            f.const(f"off{k}", f"{tiles.offset} : index", "index")
            acc = f"%off{k}"
        for n, (axis, divisor, stride) in enumerate(tiles.terms):
            f.const(f"div{k}_{n}", f"{divisor} : index", "index")
            f.const(f"str{k}_{n}", f"{stride} : index", "index")
            f.op(f'%ix{k}_{n} = "arith.divui"(%b{axis}, %div{k}_{n}) : (index, index) -> index')
            f.op(f'%tx{k}_{n} = "arith.muli"(%ix{k}_{n}, %str{k}_{n}) : (index, index) -> index')
            f.op(f'%sx{k}_{n} = "arith.addi"({acc}, %tx{k}_{n}) : (index, index) -> index')
            acc = f"%sx{k}_{n}"
        if tiles.block_tiles:
            f.const(f"bt{k}", f"{tiles.block_tiles} : index", "index")
            f.op(f'%bo{k} = "arith.muli"({f.block}, %bt{k}) : (index, index) -> index')
            f.op(f'%ibase{k} = "arith.addi"({acc}, %bo{k}) : (index, index) -> index')
            acc = f"%ibase{k}"
        f.base.append(acc)


_SEM = "!ttkernel.local_semaphore"
_PTR = "!ttkernel.l1_addr_ptr"
_NOC_ADDR = "!ttkernel.noc_addr"


def _share_setup(f: _Func) -> None:
    """The share args, the two semaphores (their L1 addresses and pointers), the sender's ready semaphore as a
    NoC address and the group's valid semaphores as a multicast address; this core's valid semaphore starts
    at 1 (a sender multicasts its value to the receivers)."""
    for entry in SHARE_ARGS:
        f.const(f"arg{entry.operand_index}", f"{entry.operand_index} : index", "index")
        f.op(f'%{entry.argument_name} = "ttkernel.get_arg_val"(%arg{entry.operand_index}) : (index) -> index')
    f.op('%is_receiver = "arith.subi"(%c1, %is_sender) : (index, index) -> index')
    f.op('%receivers_i32 = "arith.index_cast"(%receivers) : (index) -> i32')
    for name, sem in (("ready", SEM_READY), ("valid", SEM_VALID)):
        f.const(f"sem_{name}_id", f"{sem} : index", "index")
        f.op(f'%sem_{name} = "ttkernel.get_semaphore"(%sem_{name}_id) : (index) -> {_SEM}')
        f.op(f'%sem_{name}_ptr = "ttkernel.reinterpret_cast"(%sem_{name}) : ({_SEM}) -> {_PTR}')
    f.op(f'"ttkernel.noc_semaphore_set"(%sem_valid_ptr, %c1) : ({_PTR}, index) -> ()')
    f.op(f'%sender_ready = "ttkernel.get_noc_addr"(%sender_x, %sender_y, %sem_ready, %noc) '
         f": (index, index, {_SEM}, i8) -> {_NOC_ADDR}")
    f.op(f'%group_valid = "ttkernel.get_noc_multicast_addr"(%mcast_x_start, %mcast_y_start, %mcast_x_end, '
         f"%mcast_y_end, %sem_valid, %noc) : (index, index, index, index, {_SEM}, i8) -> {_NOC_ADDR}")


def _offset(f: _Func, k: int, tile: str) -> str:
    """`tile` (an index within the work item's slice) as a tile id of the whole DRAM tensor."""
    if not f.base or f.base[k] == "%c0":
        return tile
    f.op(f'%g{k} = "arith.addi"({f.base[k]}, {tile}) : (index, index) -> index')
    return f"%g{k}"


def _prologue(f: _Func, bindings: Sequence[TensorBinding], noc: int, items: WorkItems | None = None,
              reader: bool = False) -> ArgSpec:
    """Constants, CB handles, one ``TensorAccessor`` per tensor (``%acc<j>``, recorded per binding in
    ``f.acc``), and for the writer each binding's tile count (``%n<k>``), for the reader each CB's page size
    (``%ts<cb>``); over the grid, the loop over this core's work items is opened; returns the arg spec."""
    spec = arg_spec(bindings, items)
    cbs = sorted({(b.cb_id, b.cb_type) for b in bindings})
    f.const("c0", "0 : index", "index")
    f.const("c1", "1 : index", "index")
    f.const("c1_i32", "1 : i32", "i32")
    if bindings:
        f.const("noc", f"{noc} : i8", "i8")
        f.const("cta", f"{len(cbs)} : i32", "i32")
        f.const("crta", "0 : i32", "i32")
    for position, (cb_id, cb_type) in enumerate(cbs):
        f.op(
            f'%cb{cb_id} = "ttkernel.get_compile_time_arg_val"() <{{arg_index = {position} : i32}}> '
            f": () -> {cb_type}"
        )
        if reader:
            f.op(f'%ts{cb_id} = "ttkernel.get_tile_size"(%cb{cb_id}) : ({cb_type}) -> i32')
    tensors = _tensors(bindings)
    for j, b in enumerate(tensors):
        cb, ty = f"%cb{b.cb_id}", b.cb_type
        if j == 0:
            f.op(f'%args0 = "ttkernel.TensorAccessorArgs"(%cta, %crta) <{{operandSegmentSizes = array<i32: 1, 1, 0>}}>'
                 f" : (i32, i32) -> {ARGS_TYPE}")
        else:
            f.op(f'%args{j} = "ttkernel.TensorAccessorArgs"(%args{j - 1}) '
                 f"<{{operandSegmentSizes = array<i32: 0, 0, 1>}}> : ({ARGS_TYPE}) -> {ARGS_TYPE}")
        f.const(f"rt{j}", f"{j} : index", "index")
        f.op(f'%addr{j} = "ttkernel.get_common_arg_val"(%rt{j}) : (index) -> i32')
        f.op(f'%page{j} = "ttkernel.get_tile_size"({cb}) : ({ty}) -> i32')
        f.op(f'%acc{j} = "ttkernel.TensorAccessor"(%args{j}, %addr{j}, %page{j}) : ({ARGS_TYPE}, i32, i32) '
             f"-> {ACCESSOR_TYPE}")
    index = {b.tensor_index: j for j, b in enumerate(tensors)}
    f.acc = [f"%acc{index[b.tensor_index]}" for b in bindings]
    if not reader:
        for k, b in enumerate(bindings):
            f.const(f"n{k}", f"{b.n_tiles} : index", "index")
    if items is not None:
        _item_loop(f, items, bindings)
    return spec


@dataclass(frozen=True)
class StreamBinding:
    """A DRAM tensor read one chunk per loop trip into `tensor.cb_id`: `axis` "rows" takes
    `width_tiles` tile rows per trip (contiguous tile ids), "cols" takes `width_tiles` tile columns."""

    tensor: TensorBinding
    axis: str
    tile_rows: int
    tile_cols: int
    width_tiles: int
    column_major: bool = False  # each chunk's tiles column by column (a transposed matmul operand's order)
    ahead: bool = False  # read one trip ahead: the compute loop's sections reading it run a trip ahead


def _chunk_tiles(st: StreamBinding) -> int:
    """Tiles of one loop trip's chunk of a streamed input."""
    return st.width_tiles * (st.tile_cols if st.axis == "rows" else st.tile_rows)


def _read_blocks(bindings: Sequence[TensorBinding], streams: Sequence[StreamBinding]) -> list[int]:
    """Tiles per reserve/push of each binding (whole inputs, then streams): `read_block` of its CB's capacity and
    every run read into that CB (a whole input's tiles, a chunk), so bindings sharing a CB keep its write pointer
    on block boundaries."""
    runs: dict[int, list[int]] = {}
    capacity: dict[int, int] = {}
    moved = [(b, b.n_tiles) for b in bindings] + [(st.tensor, _chunk_tiles(st)) for st in streams]
    for b, n in moved:
        runs.setdefault(b.cb_id, []).append(n)
        m = _CB_TYPE_RE.match(b.cb_type)
        assert m is not None  # _validate checked it
        capacity[b.cb_id] = int(m.group(1))
    return [stream_block(capacity[b.cb_id], b.n_tiles) if b.streamed else read_block(capacity[b.cb_id], *runs[b.cb_id])
            for b, _ in moved]


def emit_reader(kernel_name: str, bindings: Sequence[TensorBinding], streams: Sequence[StreamBinding] = (),
                trips: int = 0, items: WorkItems | None = None, live: LiveChunks | None = None) -> list[str]:
    """Lines of ``func.func @{kernel_name}_reader`` (thread noc).

    Per work item, reads every tile of every whole input in order (tensor by tensor, tile id 0..n-1), then
    the inputs a section before the loop streams pass by pass (`_read_round_robin`), then, for each of `trips`
    loop trips (or the `live` ones of the item's row block), the trip's chunk of every streamed input, then the
    inputs a section after the loop streams. Tiles move in blocks (`_read_block`): one ``cb_reserve_back``, a
    read per tile into the block's consecutive pages, one ``noc_async_read_barrier``, one ``cb_push_back``. A
    block is the whole input or chunk when the CB's capacity allows (the scheduler's plans do, but for streamed
    inputs); otherwise the largest divisor of the run that divides the capacity (`read_block`), down to one tile
    per block.
    """
    _validate([*bindings, *(st.tensor for st in streams)])
    f = _Func(f"{kernel_name}_reader")
    spec = _prologue(f, [*bindings, *(st.tensor for st in streams)], READER_NOC, items, reader=True)
    blocks = _read_blocks(bindings, streams)
    before = [k for k, b in enumerate(bindings) if b.streamed == "before"]
    after = [k for k, b in enumerate(bindings) if b.streamed == "after"]
    for k, b in enumerate(bindings):
        if b.streamed:
            continue
        tile_of = None
        if b.column_major_rows:  # position t holds tile (t % rows, t // rows)
            rows, cols = b.column_major_rows, b.n_tiles // b.column_major_rows
            f.const(f"cmr{k}", f"{rows} : index", "index")
            f.const(f"cmc{k}", f"{cols} : index", "index")

            def tile_of(pos: str, k: int = k) -> str:
                f.op(f'%cr{k} = "arith.remui"({pos}, %cmr{k}) : (index, index) -> index')
                f.op(f'%cc{k} = "arith.divui"({pos}, %cmr{k}) : (index, index) -> index')
                f.op(f'%crow{k} = "arith.muli"(%cr{k}, %cmc{k}) : (index, index) -> index')
                f.op(f'%ct{k} = "arith.addi"(%crow{k}, %cc{k}) : (index, index) -> index')
                return f"%ct{k}"

        _read_block(f, k, b, b.n_tiles, blocks[k], tile_of, _shared(b, items))
    if before:
        _read_round_robin(f, [(k, bindings[k], blocks[k]) for k in before], items)
    if streams:
        _emit_streams(f, streams, trips, len(bindings), blocks[len(bindings):], live, items)
    if after:
        _read_round_robin(f, [(k, bindings[k], blocks[k]) for k in after], items)
    return f.finish(spec)


def _shared(b: TensorBinding, items: WorkItems | None) -> bool:
    """Whether the group's cores share `b`'s reads: a whole input (the same tiles for every row block of an
    element) when the reader shares."""
    return items is not None and items.share and b.item is not None and not b.item.block_tiles


def _read_round_robin(f: _Func, parts: list[tuple[int, TensorBinding, int]], items: WorkItems | None) -> None:
    """The inputs a section streams (`scheduling.input_streams`: each CB holds two of its passes, fewer pages than
    the input), after every input read whole: block by block, one block of each in turn, as the section's passes
    read them together (input after input, the reader would wait for room in the first CB while compute waits
    for the second's first tiles). The scheduler streams inputs of one section only, over one tile grid, so every
    part has one count and one block."""
    (_, first_b, block), counts = parts[0], {(b.n_tiles, blk) for _, b, blk in parts}
    assert len(counts) == 1, "inputs streamed together share one tile count and block"
    for k, _, blk in parts:
        _block_consts(f, k, blk)
    f.const("nblk_rr", f"{first_b.n_tiles // block} : index", "index")
    f.loop("nblk_rr", "bk_rr")
    f.op(f'%first_rr = "arith.muli"(%bk_rr, %blk{parts[0][0]}) : (index, index) -> index')
    for k, b, blk in parts:
        _block_body(f, k, b, blk, "%first_rr", None, _shared(b, items))
    f.end_loop()


def _read_block(f: _Func, k: int, b: TensorBinding, count: int, block: int,
                tile_of: Callable[[str], str] | None = None, shared: bool = False) -> None:
    """Read `count` tiles of binding `k` into the back of its CB, `block` tiles per reservation: positions
    0..count-1 in order, position p being tile ``tile_of(p)`` of the work item's slice (default p itself) and
    landing on page p % block of its block, at ``get_write_ptr + (p % block) * tile size``. A `shared` block is
    read by the group's sender alone and multicast to the others (`_multicast_block`)."""
    _block_consts(f, k, block)
    first = "%c0"
    if count > block:
        f.const(f"nblk{k}", f"{count // block} : index", "index")
        f.loop(f"nblk{k}", f"bk{k}")
        f.op(f'%first{k} = "arith.muli"(%bk{k}, %blk{k}) : (index, index) -> index')
        first = f"%first{k}"
    _block_body(f, k, b, block, first, tile_of, shared)
    if first != "%c0":
        f.end_loop()


def _block_consts(f: _Func, k: int, block: int) -> None:
    f.const(f"blk{k}", f"{block} : index", "index")
    f.const(f"blk{k}_i32", f"{block} : i32", "i32")


def _block_body(f: _Func, k: int, b: TensorBinding, block: int, first: str,
                tile_of: Callable[[str], str] | None, shared: bool) -> None:
    """One block of binding `k` (its `_block_consts` emitted before): positions `first` .. `first` + block - 1
    (see `_read_block`)."""
    cb, ty = f"%cb{b.cb_id}", b.cb_type
    f.op(f'"ttkernel.cb_reserve_back"({cb}, %blk{k}_i32) : ({ty}, i32) -> ()')
    f.op(f'%l1_{k} = "ttkernel.get_write_ptr"({cb}) : ({ty}) -> i32')
    if shared:  # only the group's sender reads from DRAM (a loop of one trip there, none on a receiver)
        f.loop("is_sender", f"send{k}")
    f.loop(f"blk{k}", f"i{k}")
    pos = f"%i{k}"
    if first != "%c0":
        f.op(f'%pos{k} = "arith.addi"({first}, %i{k}) : (index, index) -> index')
        pos = f"%pos{k}"
    tile = tile_of(pos) if tile_of is not None else pos
    f.op(f'%id{k} = "arith.index_cast"({_offset(f, k, tile)}) : (index) -> i32')
    f.op(f'%page_i{k} = "arith.index_cast"(%i{k}) : (index) -> i32')
    f.op(f'%l1off{k} = "arith.muli"(%page_i{k}, %ts{b.cb_id}) : (i32, i32) -> i32')
    f.op(f'%dst{k} = "arith.addi"(%l1_{k}, %l1off{k}) : (i32, i32) -> i32')
    f.op(f'"ttkernel.noc_async_read_tile"(%id{k}, {f.acc[k]}, %dst{k}, %noc) : (i32, {ACCESSOR_TYPE}, i32, i8) -> ()')
    f.end_loop()
    f.op('"ttkernel.noc_async_read_barrier"(%noc) : (i8) -> ()')
    if shared:
        _multicast_block(f, k, b)
    f.op(f'"ttkernel.cb_push_back"({cb}, %blk{k}_i32) : ({ty}, i32) -> ()')


def _multicast_block(f: _Func, k: int, b: TensorBinding) -> None:
    """The rest of a shared block, after the sender's reads landed: the sender waits until every receiver has
    reserved the block's pages (its ready semaphore counts them), multicasts the pages to the same L1 address
    on the group's other cores, then sets their valid semaphores; a receiver clears its valid semaphore, tells
    the sender it is ready and waits for valid. Both then push the block. Every receiver takes part in every
    block its sender multicasts (in a ranked group, the chunks of the run's widest item, though its own item
    may visit fewer), so the ready count is exact: no receiver can be ready for a later block before the sender has
    sent it this one."""
    f.op(f'"ttkernel.experimental.semaphore_wait"(%sem_ready_ptr, %receivers) : ({_PTR}, index) -> ()')
    f.op(f'"ttkernel.noc_semaphore_set"(%sem_ready_ptr, %c0) : ({_PTR}, index) -> ()')
    f.op(f'%bytes{k} = "arith.muli"(%blk{k}_i32, %ts{b.cb_id}) : (i32, i32) -> i32')
    f.op(f'"ttkernel.noc_async_write_multicast"(%l1_{k}, %bytes{k}, %receivers_i32, %mcast_x_start, %mcast_y_start, '
         f"%mcast_x_end, %mcast_y_end, %l1_{k}, %noc) : (i32, i32, i32, index, index, index, index, i32, i8) -> ()")
    f.op(f'"ttkernel.noc_semaphore_set_multicast"(%sem_valid, %group_valid, %receivers_i32) '
         f": ({_SEM}, {_NOC_ADDR}, i32) -> ()")
    f.op('"ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()')
    f.end_loop()
    f.loop("is_receiver", f"recv{k}")
    f.op(f'"ttkernel.noc_semaphore_set"(%sem_valid_ptr, %c0) : ({_PTR}, index) -> ()')
    f.op(f'"ttkernel.noc_semaphore_inc"(%sender_ready, %c1, %noc) : ({_NOC_ADDR}, index, i8) -> ()')
    f.op(f'"ttkernel.experimental.semaphore_wait"(%sem_valid_ptr, %c1) : ({_PTR}, index) -> ()')
    f.end_loop()


def _emit_streams(f: _Func, streams: Sequence[StreamBinding], trips: int, first: int, blocks: Sequence[int],
                  live: LiveChunks | None = None, items: WorkItems | None = None) -> None:
    """The trip loop: chunk `j` of each streamed tensor, in the order compute consumes them, `blocks[n]` tiles
    per reservation; with `live`, only the chunks the mask leaves live for the item's row block (the same bounds
    as the compute thread's). A chunk's position p maps to its tile: "rows" chunks are contiguous tile ids;
    column-major "rows" chunks hold tile (row r, column c) at p = c * width + r; "cols" chunks hold tile row r,
    chunk column c at p = r * width + c. In a ranked group every core visits the chunks of its run's widest item
    (a prefix of which are its own): the shared streams' blocks are multicast to every receiver, and each core,
    the sender too, pops those beyond its own item unread (`lowering.mlir`'s `pop_unread`); a core reads its
    unshared streams for its own chunks only."""
    shifted = any(st.ahead for st in streams)
    own: str | None = None  # a ranked group's receiver: the end of its own chunks
    if live is None and not shifted:
        f.const("trips", f"{trips} : index", "index")
        f.loop("trips", "j")
    else:
        lo, hi = live_range(f.ix, live.live, live.rows, trips, f.block) if live is not None else \
            ("%c0", f.ix.const(trips))
        if live is not None and f.widest_block is not None:
            own = hi
            lo, hi = live_range(f.ix, live.live, live.rows, trips, f.widest_block)
        if shifted:  # iteration j reads chunk j of the streams read ahead and chunk j - 1 of the others
            f.op(f'"scf.for"({lo}, {f.ix.arith("addi", hi, "%c1")}, %c1) ({{')
        else:
            f.op(f'"scf.for"({lo}, {hi}, %c1) ({{')
        f.op("^bb0(%j: index):")
        f.depth += 1
    trip_j = "%j"
    for n, st in enumerate(streams):
        k = first + n
        shared = _shared(st.tensor, items)
        gated = own is not None and not shared  # read only for the receiver's own chunks
        if shifted or gated:  # a loop of one trip (or none) around this stream's chunk, its index in %jk
            if not shifted:  # chunk j
                count, chunk = "%c1", trip_j
            elif st.ahead:  # chunk j while j < hi
                count, chunk = f.ix.arith("minsi", f.ix.arith("subi", hi, trip_j), "%c1"), trip_j
            else:  # chunk j - 1 while j > lo
                count, chunk = f.ix.arith("minsi", f.ix.arith("subi", trip_j, lo), "%c1"), \
                    f.ix.arith("subi", trip_j, "%c1")
            if gated:  # and while it is below the receiver's own end
                count = f.ix.arith("muli", count, f.ix.arith(
                    "minsi", f.ix.arith("maxsi", f.ix.arith("subi", own, chunk), "%c0"), "%c1"))
            f.op(f'"scf.for"(%c0, {count}, %c1) ({{')
            f.op(f"^bb0(%once{k}: index):")
            f.depth += 1
            f.op(f'%jc{k} = "arith.addi"({chunk}, %once{k}) : (index, index) -> index')
        jv = f"%jc{k}" if shifted or gated else "%j"
        if st.axis == "rows" and not st.column_major:
            f.const(f"step{k}", f"{_chunk_tiles(st)} : index", "index")
            f.op(f'%base{k} = "arith.muli"({jv}, %step{k}) : (index, index) -> index')

            def tile_of(pos: str, k: int = k) -> str:
                f.op(f'%tile{k} = "arith.addi"(%base{k}, {pos}) : (index, index) -> index')
                return f"%tile{k}"
        else:
            f.const(f"w{k}", f"{st.width_tiles} : index", "index")
            f.const(f"tc{k}", f"{st.tile_cols} : index", "index")
            f.op(f'%base{k} = "arith.muli"({jv}, %w{k}) : (index, index) -> index')
            if st.axis == "rows":  # column-major: the chunk's rows are base + p % width, its column p // width

                def tile_of(pos: str, k: int = k) -> str:
                    f.op(f'%tr{k} = "arith.remui"({pos}, %w{k}) : (index, index) -> index')
                    f.op(f'%tcol{k} = "arith.divui"({pos}, %w{k}) : (index, index) -> index')
                    f.op(f'%rr{k} = "arith.addi"(%base{k}, %tr{k}) : (index, index) -> index')
                    f.op(f'%row{k} = "arith.muli"(%rr{k}, %tc{k}) : (index, index) -> index')
                    f.op(f'%tile{k} = "arith.addi"(%row{k}, %tcol{k}) : (index, index) -> index')
                    return f"%tile{k}"
            else:  # "cols": tile row p // width, the chunk's column base + p % width

                def tile_of(pos: str, k: int = k) -> str:
                    f.op(f'%tr{k} = "arith.divui"({pos}, %w{k}) : (index, index) -> index')
                    f.op(f'%tcol{k} = "arith.remui"({pos}, %w{k}) : (index, index) -> index')
                    f.op(f'%row{k} = "arith.muli"(%tr{k}, %tc{k}) : (index, index) -> index')
                    f.op(f'%rb{k} = "arith.addi"(%row{k}, %base{k}) : (index, index) -> index')
                    f.op(f'%tile{k} = "arith.addi"(%rb{k}, %tcol{k}) : (index, index) -> index')
                    return f"%tile{k}"
        _read_block(f, k, st.tensor, _chunk_tiles(st), blocks[n], tile_of, shared)
        if shifted or gated:
            f.end_loop()
    f.end_loop()


def emit_writer(kernel_name: str, bindings: Sequence[TensorBinding], items: WorkItems | None = None) -> list[str]:
    """Lines of ``func.func @{kernel_name}_writer`` (thread noc).

    Waits for, writes to DRAM and pops every output tile in order (tensor by tensor, tile id
    0..n-1), one tile per ``cb_wait_front``/``cb_pop_front``.
    """
    _validate(bindings)
    f = _Func(f"{kernel_name}_writer")
    spec = _prologue(f, bindings, WRITER_NOC, replace(items, share=False) if items is not None else None)
    for k, b in enumerate(bindings):
        cb, ty = f"%cb{b.cb_id}", b.cb_type
        f.loop(f"n{k}", f"t{k}")
        f.op(f'%id{k} = "arith.index_cast"({_offset(f, k, f"%t{k}")}) : (index) -> i32')
        f.op(f'"ttkernel.cb_wait_front"({cb}, %c1_i32) : ({ty}, i32) -> ()')
        f.op(f'%l1_{k} = "ttkernel.get_read_ptr"({cb}) : ({ty}) -> i32')
        f.op(f'"ttkernel.noc_async_write_tile"(%id{k}, {f.acc[k]}, %l1_{k}, %noc) : (i32, {ACCESSOR_TYPE}, i32, i8) '
             "-> ()")
        f.op('"ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()')
        f.op(f'"ttkernel.cb_pop_front"({cb}, %c1_i32) : ({ty}, i32) -> ()')
        f.end_loop()
    return f.finish(spec)
