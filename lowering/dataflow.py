"""Reader and writer kernels: move every tile of each DRAM tensor through its circular buffer.

The op forms are pinned in docs/mlir-subset.md ("Dataflow") and checked against tt-mlir's
``include/ttmlir/Dialect/TTKernel/IR/TTKernelOps.td``: the tensor's DRAM base is runtime
argument ``arg_index``; an ``InterleavedAddrGenFast`` built from it, the CB's tile size and
the CB's data format addresses tile ``t``; one tile moves per reserve/push (reader) or
wait/pop (writer), with the NoC barrier before the CB page is published or freed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CB_TYPE_RE = re.compile(r"^!ttkernel\.cb<\s*(\d+)\s*,\s*!ttcore\.tile<\s*32x32\s*,\s*(bf16|f32)\s*>\s*>$")
ADDR_GEN_TYPE = "!ttkernel.interleaved_addr_gen_fast"
DATA_FORMAT_TYPE = "!ttkernel.DataFormat"


@dataclass(frozen=True)
class TensorBinding:  # one DRAM tensor moved between DRAM and a CB
    """One DRAM tensor and the CB it streams through.

    ``arg_index`` is the tensor's position in ``tteqsat.tensors`` (its runtime argument);
    ``cb_type`` is the full CB type, e.g. ``!ttkernel.cb<4, !ttcore.tile<32x32, bf16>>``.
    """

    name: str
    arg_index: int
    cb_id: int
    cb_type: str
    n_tiles: int
    dtype: str  # 'bf16' | 'f32'
    column_major_rows: int = 0  # > 0: read tile columns one after another (tile rows of the tensor)


def _validate(bindings: Sequence[TensorBinding]) -> None:
    cb_types: dict[int, str] = {}
    for b in bindings:
        m = _CB_TYPE_RE.match(b.cb_type)
        if m is None:
            raise ValueError(f"{b.name}: unsupported CB type {b.cb_type!r}")
        if m.group(2) != b.dtype:
            raise ValueError(f"{b.name}: dtype {b.dtype!r} does not match CB type {b.cb_type!r}")
        if b.n_tiles < 1:
            raise ValueError(f"{b.name}: n_tiles must be positive, got {b.n_tiles}")
        if b.arg_index < 0 or b.cb_id < 0:
            raise ValueError(f"{b.name}: arg_index and cb_id must be non-negative")
        if cb_types.setdefault(b.cb_id, b.cb_type) != b.cb_type:
            raise ValueError(f"cb {b.cb_id} is bound with two different types")


class _Func:
    """Line accumulator with the module's indentation (2 spaces per level, func at level 1)."""

    def __init__(self, name: str) -> None:
        self.lines: list[str] = [f'  "func.func"() <{{function_type = () -> (), sym_name = "{name}"}}> ({{']
        self.depth = 2

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

    def finish(self) -> list[str]:
        self.op('"func.return"() : () -> ()')
        self.lines.append("  }) {ttkernel.thread = #ttkernel.thread<noc>} : () -> ()")
        return self.lines


def _prologue(f: _Func, bindings: Sequence[TensorBinding]) -> None:
    """Constants, CB handles, and one address generator per tensor (``%gen<k>``)."""
    f.const("c0", "0 : index", "index")
    f.const("c1", "1 : index", "index")
    f.const("c1_i32", "1 : i32", "i32")
    f.const("true", "true", "i1")
    for cb_id, cb_type in sorted({(b.cb_id, b.cb_type) for b in bindings}):
        f.op(
            f'%cb{cb_id} = "ttkernel.get_compile_time_arg_val"() <{{arg_index = {cb_id} : i32}}> '
            f": () -> {cb_type}"
        )
    for k, b in enumerate(bindings):
        cb, ty = f"%cb{b.cb_id}", b.cb_type
        f.const(f"n{k}", f"{b.n_tiles} : index", "index")
        f.const(f"arg{k}", f"{b.arg_index} : i32", "i32")
        f.op(f'%addr{k} = "ttkernel.get_arg_val"(%arg{k}) : (i32) -> i32')
        f.op(f'%page{k} = "ttkernel.get_tile_size"({cb}) : ({ty}) -> i32')
        f.op(f'%fmt{k} = "ttkernel.get_dataformat"({cb}) : ({ty}) -> {DATA_FORMAT_TYPE}')
        f.op(
            f'%gen{k} = "ttkernel.get_interleaved_addr_gen_fast"(%true, %addr{k}, %page{k}, %fmt{k}) '
            f": (i1, i32, i32, {DATA_FORMAT_TYPE}) -> {ADDR_GEN_TYPE}"
        )


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


def emit_reader(kernel_name: str, bindings: Sequence[TensorBinding], streams: Sequence[StreamBinding] = (),
                trips: int = 0) -> list[str]:
    """Lines of ``func.func @{kernel_name}_reader`` (thread noc).

    Reads every tile of every whole input in order (tensor by tensor, tile id 0..n-1), then, for each
    of `trips` loop trips, the trip's chunk of every streamed input; one tile per
    ``cb_reserve_back``/``cb_push_back``.
    """
    _validate([*bindings, *(st.tensor for st in streams)])
    f = _Func(f"{kernel_name}_reader")
    _prologue(f, [*bindings, *(st.tensor for st in streams)])
    for k, b in enumerate(bindings):
        f.loop(f"n{k}", f"t{k}")
        tile = f"%t{k}"
        if b.column_major_rows:  # position t holds tile (t % rows, t // rows)
            rows, cols = b.column_major_rows, b.n_tiles // b.column_major_rows
            f.const(f"cmr{k}", f"{rows} : index", "index")
            f.const(f"cmc{k}", f"{cols} : index", "index")
            f.op(f'%cr{k} = "arith.remui"(%t{k}, %cmr{k}) : (index, index) -> index')
            f.op(f'%cc{k} = "arith.divui"(%t{k}, %cmr{k}) : (index, index) -> index')
            f.op(f'%crow{k} = "arith.muli"(%cr{k}, %cmc{k}) : (index, index) -> index')
            f.op(f'%ct{k} = "arith.addi"(%crow{k}, %cc{k}) : (index, index) -> index')
            tile = f"%ct{k}"
        _read_tile(f, k, b, tile)
        f.end_loop()
    if streams:
        _emit_streams(f, streams, trips, first=len(bindings))
    return f.finish()


def _read_tile(f: _Func, k: int, b: TensorBinding, tile: str) -> None:
    """One DRAM tile (id `tile`, an index) of tensor `k` into the back of its CB."""
    cb, ty = f"%cb{b.cb_id}", b.cb_type
    f.op(f'%id{k} = "arith.index_cast"({tile}) : (index) -> i32')
    f.op(f'"ttkernel.cb_reserve_back"({cb}, %c1_i32) : ({ty}, i32) -> ()')
    f.op(f'%l1_{k} = "ttkernel.get_write_ptr"({cb}) : ({ty}) -> i32')
    f.op(f'"ttkernel.noc_async_read_tile"(%id{k}, %gen{k}, %l1_{k}) : (i32, {ADDR_GEN_TYPE}, i32) -> ()')
    f.op('"ttkernel.noc_async_read_barrier"() : () -> ()')
    f.op(f'"ttkernel.cb_push_back"({cb}, %c1_i32) : ({ty}, i32) -> ()')


def _emit_streams(f: _Func, streams: Sequence[StreamBinding], trips: int, first: int) -> None:
    """The trip loop: chunk `j` of each streamed tensor, in the order compute consumes them."""
    f.const("trips", f"{trips} : index", "index")
    f.loop("trips", "j")
    for n, st in enumerate(streams):
        k = first + n
        b = st.tensor
        if st.axis == "rows" and st.column_major:  # chunk tile (c, kk) at position kk * width + c
            f.const(f"w{k}", f"{st.width_tiles} : index", "index")
            f.const(f"tc{k}", f"{st.tile_cols} : index", "index")
            f.op(f'%base{k} = "arith.muli"(%j, %w{k}) : (index, index) -> index')
            f.loop(f"tc{k}", f"tcol{k}")
            f.loop(f"w{k}", f"tr{k}")
            f.op(f'%rr{k} = "arith.addi"(%base{k}, %tr{k}) : (index, index) -> index')
            f.op(f'%row{k} = "arith.muli"(%rr{k}, %tc{k}) : (index, index) -> index')
            f.op(f'%tile{k} = "arith.addi"(%row{k}, %tcol{k}) : (index, index) -> index')
        elif st.axis == "rows":
            f.const(f"step{k}", f"{st.width_tiles * st.tile_cols} : index", "index")
            f.op(f'%base{k} = "arith.muli"(%j, %step{k}) : (index, index) -> index')
            f.loop(f"step{k}", f"t{k}")
            f.op(f'%tile{k} = "arith.addi"(%base{k}, %t{k}) : (index, index) -> index')
        else:
            f.const(f"rows{k}", f"{st.tile_rows} : index", "index")
            f.const(f"tc{k}", f"{st.tile_cols} : index", "index")
            f.const(f"w{k}", f"{st.width_tiles} : index", "index")
            f.op(f'%base{k} = "arith.muli"(%j, %w{k}) : (index, index) -> index')
            f.loop(f"rows{k}", f"tr{k}")
            f.op(f'%row{k} = "arith.muli"(%tr{k}, %tc{k}) : (index, index) -> index')
            f.op(f'%rb{k} = "arith.addi"(%row{k}, %base{k}) : (index, index) -> index')
            f.loop(f"w{k}", f"tcol{k}")
            f.op(f'%tile{k} = "arith.addi"(%rb{k}, %tcol{k}) : (index, index) -> index')
        _read_tile(f, k, b, f"%tile{k}")
        f.end_loop()
        if st.axis == "cols" or st.column_major:
            f.end_loop()
    f.end_loop()


def emit_writer(kernel_name: str, bindings: Sequence[TensorBinding]) -> list[str]:
    """Lines of ``func.func @{kernel_name}_writer`` (thread noc).

    Waits for, writes to DRAM and pops every output tile in order (tensor by tensor, tile id
    0..n-1), one tile per ``cb_wait_front``/``cb_pop_front``.
    """
    _validate(bindings)
    f = _Func(f"{kernel_name}_writer")
    _prologue(f, bindings)
    for k, b in enumerate(bindings):
        cb, ty = f"%cb{b.cb_id}", b.cb_type
        f.loop(f"n{k}", f"t{k}")
        f.op(f'%id{k} = "arith.index_cast"(%t{k}) : (index) -> i32')
        f.op(f'"ttkernel.cb_wait_front"({cb}, %c1_i32) : ({ty}, i32) -> ()')
        f.op(f'%l1_{k} = "ttkernel.get_read_ptr"({cb}) : ({ty}) -> i32')
        f.op(f'"ttkernel.noc_async_write_tile"(%id{k}, %gen{k}, %l1_{k}) : (i32, {ADDR_GEN_TYPE}, i32) -> ()')
        f.op('"ttkernel.noc_async_write_barrier"() : () -> ()')
        f.op(f'"ttkernel.cb_pop_front"({cb}, %c1_i32) : ({ty}, i32) -> ()')
        f.end_loop()
    return f.finish()
