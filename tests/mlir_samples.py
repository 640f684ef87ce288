# ruff: noqa: E501  (MLIR op lines are long by nature)
"""Hand-written TTKernel MLIR modules shared by the simulator, dataflow and C++ tests.

Compute bodies are written out op by op; ``$name`` placeholders (string.Template) stand for
CB types so the text stays readable. Reader/writer functions come either hand-written (the
ADD module) or from `tteqsat.lowering.dataflow`. `xdsl_check` parses a module with xdsl to
prove it is valid generic MLIR.
"""

from __future__ import annotations

import textwrap
from string import Template

from tteqsat.lowering.dataflow import TensorBinding, emit_reader, emit_writer


def cb_type(capacity: int, dtype: str = "bf16") -> str:
    return f"!ttkernel.cb<{capacity}, !ttcore.tile<32x32, {dtype}>>"


def module(kernel: str, tensors: list[str], funcs: list[str]) -> str:
    specs = ", ".join(f'"{t}"' for t in tensors)
    head = (
        f'module attributes {{tteqsat.kernel = "{kernel}", tteqsat.arch = "wormhole_b0", '
        f"tteqsat.tensors = [{specs}]}} {{"
    )
    return "\n".join([head, *funcs, "}", ""])


_PRELUDE = """\
%c0 = "arith.constant"() <{value = 0 : index}> : () -> index
%c1 = "arith.constant"() <{value = 1 : index}> : () -> index
%c2 = "arith.constant"() <{value = 2 : index}> : () -> index
%c4 = "arith.constant"() <{value = 4 : index}> : () -> index
%c8 = "arith.constant"() <{value = 8 : index}> : () -> index
%c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
%c2_i32 = "arith.constant"() <{value = 2 : i32}> : () -> i32
%c4_i32 = "arith.constant"() <{value = 4 : i32}> : () -> i32
"""


def compute(kernel: str, cbs: dict[int, str], body: str, fp32: bool = False) -> str:
    """A compute func.func: standard constants, ``%cbN`` handles, then ``body``.

    In ``body``, ``$cbN`` expands to CB N's type.
    """
    decls = "".join(
        f'%cb{i} = "ttkernel.get_compile_time_arg_val"() <{{arg_index = {i} : i32}}> : () -> {t}\n'
        for i, t in sorted(cbs.items())
    )
    text = Template(_PRELUDE + decls + textwrap.dedent(body)).substitute(
        {f"cb{i}": t for i, t in cbs.items()}
    )
    text += '"func.return"() : () -> ()\n'
    inner = textwrap.indent(text, "    ")
    flag = "true" if fp32 else "false"
    return (
        f'  "func.func"() <{{function_type = () -> (), sym_name = "{kernel}_compute"}}> ({{\n'
        f"{inner}"
        f"  }}) {{ttkernel.thread = #ttkernel.thread<compute>, tteqsat.fp32_dest_acc_en = {flag}}} : () -> ()"
    )


def noc(kernel: str, reads: list[TensorBinding], writes: list[TensorBinding]) -> list[str]:
    return ["\n".join(emit_reader(kernel, reads)), "\n".join(emit_writer(kernel, writes))]


def binding(name: str, arg: int, cb: int, capacity: int, n_tiles: int, dtype: str = "bf16") -> TensorBinding:
    return TensorBinding(name, arg, cb, cb_type(capacity, dtype), n_tiles, dtype)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} occurs {len(hits)} times"
    return hits[nth - 1]


def xdsl_check(text: str) -> None:
    """Parse (and verify) ``text`` with xdsl; raises if it is not valid MLIR."""
    from xdsl.context import Context
    from xdsl.dialects import get_all_dialects
    from xdsl.parser import Parser

    ctx = Context(allow_unregistered=True)
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    Parser(ctx, text).parse_module().verify()


# ------------------------------------------------------------------------------------------
# ADD: c = a + b on the FPU, every thread hand-written.
_B2 = cb_type(2)
ADD = Template(
    """\
module attributes {tteqsat.kernel = "add", tteqsat.tensors = ["a:in:64x32:bf16", "b:in:64x32:bf16", "c:out:64x32:bf16"]} {
  "func.func"() <{function_type = () -> (), sym_name = "add_reader"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
    %c0_i32 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %true = "arith.constant"() <{value = true}> : () -> i1
    %cb0 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> $cb
    %cb1 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 1 : i32}> : () -> $cb
    %a = "ttkernel.get_arg_val"(%c0_i32) : (i32) -> i32
    %b = "ttkernel.get_arg_val"(%c1_i32) : (i32) -> i32
    %ts = "ttkernel.get_tile_size"(%cb0) : ($cb) -> i32
    %df = "ttkernel.get_dataformat"(%cb0) : ($cb) -> !ttkernel.DataFormat
    %ga = "ttkernel.get_interleaved_addr_gen_fast"(%true, %a, %ts, %df) : (i1, i32, i32, !ttkernel.DataFormat) -> !ttkernel.interleaved_addr_gen_fast
    %gb = "ttkernel.get_interleaved_addr_gen_fast"(%true, %b, %ts, %df) : (i1, i32, i32, !ttkernel.DataFormat) -> !ttkernel.interleaved_addr_gen_fast
    "scf.for"(%c0, %c2, %c1) ({
    ^bb0(%t: index):
      %ti = "arith.index_cast"(%t) : (index) -> i32
      "ttkernel.cb_reserve_back"(%cb0, %c1_i32) : ($cb, i32) -> ()
      %w0 = "ttkernel.get_write_ptr"(%cb0) : ($cb) -> i32
      "ttkernel.noc_async_read_tile"(%ti, %ga, %w0) : (i32, !ttkernel.interleaved_addr_gen_fast, i32) -> ()
      "ttkernel.cb_reserve_back"(%cb1, %c1_i32) : ($cb, i32) -> ()
      %w1 = "ttkernel.get_write_ptr"(%cb1) : ($cb) -> i32
      "ttkernel.noc_async_read_tile"(%ti, %gb, %w1) : (i32, !ttkernel.interleaved_addr_gen_fast, i32) -> ()
      "ttkernel.noc_async_read_barrier"() : () -> ()
      "ttkernel.cb_push_back"(%cb0, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.cb_push_back"(%cb1, %c1_i32) : ($cb, i32) -> ()
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.thread = #ttkernel.thread<noc>} : () -> ()
  "func.func"() <{function_type = () -> (), sym_name = "add_compute"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %cb0 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> $cb
    %cb1 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 1 : i32}> : () -> $cb
    %cb16 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 16 : i32}> : () -> $cb
    "ttkernel.binary_op_init_common"(%cb0, %cb1, %cb16) : ($cb, $cb, $cb) -> ()
    "ttkernel.add_tiles_init"(%cb0, %cb1) : ($cb, $cb) -> ()
    "scf.for"(%c0, %c2, %c1) ({
    ^bb0(%t: index):
      "ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.tile_regs_acquire"() : () -> ()
      "ttkernel.add_tiles"(%cb0, %cb1, %c0, %c0, %c0) : ($cb, $cb, index, index, index) -> ()
      "ttkernel.tile_regs_commit"() : () -> ()
      "ttkernel.tile_regs_wait"() : () -> ()
      "ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb, index) -> ()
      "ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.tile_regs_release"() : () -> ()
      "ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb, i32) -> ()
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.thread = #ttkernel.thread<compute>, tteqsat.fp32_dest_acc_en = false} : () -> ()
  "func.func"() <{function_type = () -> (), sym_name = "add_writer"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %c2_i32 = "arith.constant"() <{value = 2 : i32}> : () -> i32
    %true = "arith.constant"() <{value = true}> : () -> i1
    %cb16 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 16 : i32}> : () -> $cb
    %o = "ttkernel.get_arg_val"(%c2_i32) : (i32) -> i32
    %ts = "ttkernel.get_tile_size"(%cb16) : ($cb) -> i32
    %df = "ttkernel.get_dataformat"(%cb16) : ($cb) -> !ttkernel.DataFormat
    %go = "ttkernel.get_interleaved_addr_gen_fast"(%true, %o, %ts, %df) : (i1, i32, i32, !ttkernel.DataFormat) -> !ttkernel.interleaved_addr_gen_fast
    "scf.for"(%c0, %c2, %c1) ({
    ^bb0(%t: index):
      %ti = "arith.index_cast"(%t) : (index) -> i32
      "ttkernel.cb_wait_front"(%cb16, %c1_i32) : ($cb, i32) -> ()
      %r = "ttkernel.get_read_ptr"(%cb16) : ($cb) -> i32
      "ttkernel.noc_async_write_tile"(%ti, %go, %r) : (i32, !ttkernel.interleaved_addr_gen_fast, i32) -> ()
      "ttkernel.noc_async_write_barrier"() : () -> ()
      "ttkernel.cb_pop_front"(%cb16, %c1_i32) : ($cb, i32) -> ()
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.thread = #ttkernel.thread<noc>} : () -> ()
}
"""
).substitute(cb=_B2)


# ------------------------------------------------------------------------------------------
# EXP_CHAIN: y = 1 / exp(0.5 * x) on the SFPU (x: 32x64 bf16).
EXP_CHAIN_BODY = """\
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"scf.for"(%c0, %c2, %c1) ({
^bb0(%t: index):
  "ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
  "ttkernel.tile_regs_acquire"() : () -> ()
  "ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
  "ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
  "ttkernel.exp_tile_init"() : () -> ()
  "ttkernel.exp_tile"(%c0) <{scale = 1056964608 : i32}> : (index) -> ()
  "ttkernel.recip_tile_init"() : () -> ()
  "ttkernel.recip_tile"(%c0) : (index) -> ()
  "ttkernel.tile_regs_commit"() : () -> ()
  "ttkernel.tile_regs_wait"() : () -> ()
  "ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
  "ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.tile_regs_release"() : () -> ()
  "ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"""


def exp_chain() -> str:
    cbs = {0: cb_type(2), 16: cb_type(2)}
    reader, writer = noc("expc", [binding("x", 0, 0, 2, 2)], [binding("y", 1, 16, 2, 2)])
    return module(
        "expc",
        ["x:in:32x64:bf16", "y:out:32x64:bf16"],
        [reader, compute("expc", cbs, EXP_CHAIN_BODY), writer],
    )


# ------------------------------------------------------------------------------------------
# MATMUL: c (64x32, f32) = a (64x64) @ b (32x64)^T, accumulating over K in fp32 DST.
MATMUL_BODY = """\
"ttkernel.mm_init"(%cb0, %cb1, %cb16, %c1_i32) : ($cb0, $cb1, $cb16, i32) -> ()
"ttkernel.cb_wait_front"(%cb0, %c4_i32) : ($cb0, i32) -> ()
"ttkernel.cb_wait_front"(%cb1, %c2_i32) : ($cb1, i32) -> ()
"scf.for"(%c0, %c2, %c1) ({
^bb0(%i: index):
  "ttkernel.tile_regs_acquire"() : () -> ()
  "scf.for"(%c0, %c2, %c1) ({
  ^bb0(%k: index):
    %row = "arith.muli"(%i, %c2) : (index, index) -> index
    %ai = "arith.addi"(%row, %k) : (index, index) -> index
    "ttkernel.matmul_tiles"(%cb0, %cb1, %ai, %k, %c0) : ($cb0, $cb1, index, index, index) -> ()
    "scf.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "ttkernel.tile_regs_commit"() : () -> ()
  "ttkernel.tile_regs_wait"() : () -> ()
  "ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
  "ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.tile_regs_release"() : () -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"ttkernel.cb_pop_front"(%cb0, %c4_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c2_i32) : ($cb1, i32) -> ()
"""


def matmul() -> str:
    cbs = {0: cb_type(4), 1: cb_type(2), 16: cb_type(2, "f32")}
    reads = [binding("a", 0, 0, 4, 4), binding("b", 1, 1, 2, 2)]
    writes = [binding("c", 2, 16, 2, 2, "f32")]
    reader, writer = noc("mm", reads, writes)
    return module(
        "mm",
        ["a:in:64x64:bf16", "b:in:32x64:bf16", "c:out:64x32:f32"],
        [reader, compute("mm", cbs, MATMUL_BODY, fp32=True), writer],
    )


# ------------------------------------------------------------------------------------------
# REDUCE: m (32x1) = reduce over the rows of x (32x64); the scaler tile is made with fill_tile.
REDUCE_BODY = """\
%scale = "arith.constant"() <{value = $scale : f32}> : () -> f32
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.fill_tile_init"() : () -> ()
"ttkernel.fill_tile"(%c0, %scale) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb2, %c0) : (index, $cb2, index) -> ()
"ttkernel.cb_push_back"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_wait_front"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"ttkernel.cb_wait_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"ttkernel.reduce_init"(%cb0, %cb2, %cb16) <{reduce_dim = #ttkernel.reduce_dim<reduce_dim_row>, reduce_type = #ttkernel.reduce_type<$kind>}> : ($cb0, $cb2, $cb16) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"scf.for"(%c0, %c2, %c1) ({
^bb0(%t: index):
  "ttkernel.reduce_tile"(%cb0, %cb2, %t, %c0, %c0) <{reduce_dim = #ttkernel.reduce_dim<reduce_dim_row>, reduce_type = #ttkernel.reduce_type<$tile_kind>}> : ($cb0, $cb2, index, index, index) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb2, %c1_i32) : ($cb2, i32) -> ()
"""


def reduce_rows(kind: str, scale: float, tile_kind: str | None = None) -> str:
    cbs = {0: cb_type(2), 2: cb_type(1), 16: cb_type(1)}
    body = Template(REDUCE_BODY).safe_substitute(kind=kind, tile_kind=tile_kind or kind, scale=f"{scale:.6e}")
    reader, writer = noc("red", [binding("x", 0, 0, 2, 2)], [binding("m", 1, 16, 1, 1)])
    return module("red", ["x:in:32x64:bf16", "m:out:32x1:bf16"], [reader, compute("red", cbs, body), writer])


# ------------------------------------------------------------------------------------------
# BCAST_SUB: y = x - m (m a 32x1 column vector broadcast over the columns of x, 32x64).
BCAST_SUB_BODY = """\
"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"scf.for"(%c0, %c2, %c1) ({
^bb0(%t: index):
  "ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
  "ttkernel.unary_bcast_init"(%cb1, %cb16) <{bcast_type = #ttkernel.bcast_type<col>}> : ($cb1, $cb16) -> ()
  "ttkernel.tile_regs_acquire"() : () -> ()
  "ttkernel.unary_bcast"(%cb1, %c0, %c0) <{bcast_type = #ttkernel.bcast_type<col>}> : ($cb1, index, index) -> ()
  "ttkernel.binary_dest_reuse_tiles_init"(%cb0) <{eltwise_binary_type = #ttkernel.eltwise_binary_type<sub>, reuse_type = #ttkernel.reuse_type<dest_to_srcb>}> : ($cb0) -> ()
  "ttkernel.binary_dest_reuse_tiles"(%cb0, %c0, %c0) <{eltwise_binary_type = #ttkernel.eltwise_binary_type<sub>, reuse_type = #ttkernel.reuse_type<dest_to_srcb>}> : ($cb0, index, index) -> ()
  "ttkernel.tile_regs_commit"() : () -> ()
  "ttkernel.tile_regs_wait"() : () -> ()
  "ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
  "ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
  "ttkernel.tile_regs_release"() : () -> ()
  "ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"""


def bcast_sub() -> str:
    cbs = {0: cb_type(2), 1: cb_type(1), 16: cb_type(2)}
    reads = [binding("x", 0, 0, 2, 2), binding("m", 1, 1, 1, 1)]
    reader, writer = noc("bsub", reads, [binding("y", 2, 16, 2, 2)])
    return module(
        "bsub",
        ["x:in:32x64:bf16", "m:in:32x1:bf16", "y:out:32x64:bf16"],
        [reader, compute("bsub", cbs, BCAST_SUB_BODY), writer],
    )


# ------------------------------------------------------------------------------------------
# SCALAR: y = 2 * (((x + 1.5) * 0.25) / 2)  (binop_with_scalar, copy_dest_values, SFPU add).
SCALAR_BODY = """\
%p1_5 = "arith.constant"() <{value = 1069547520 : i32}> : () -> i32
%p0_25 = "arith.constant"() <{value = 1048576000 : i32}> : () -> i32
%p2 = "arith.constant"() <{value = 1073741824 : i32}> : () -> i32
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
"ttkernel.binop_with_scalar_tile_init"() : () -> ()
"ttkernel.add_unary_tile"(%c0, %p1_5) : (index, i32) -> ()
"ttkernel.mul_unary_tile"(%c0, %p0_25) : (index, i32) -> ()
"ttkernel.div_unary_tile"(%c0, %p2) : (index, i32) -> ()
"ttkernel.copy_dest_values_init"() : () -> ()
"ttkernel.copy_dest_values"(%c0, %c1) : (index, index) -> ()
"ttkernel.add_binary_tile_init"() : () -> ()
"ttkernel.add_binary_tile"(%c0, %c1, %c2) : (index, index, index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c2, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"""


def scalar_ops() -> str:
    cbs = {0: cb_type(1), 16: cb_type(1)}
    reader, writer = noc("sc", [binding("x", 0, 0, 1, 1)], [binding("y", 1, 16, 1, 1)])
    return module(
        "sc", ["x:in:32x32:bf16", "y:out:32x32:bf16"], [reader, compute("sc", cbs, SCALAR_BODY), writer]
    )


# ------------------------------------------------------------------------------------------
# FILL: o (32x32, f32) = fill_tile(value), in bf16 or fp32 DST mode (bf16 rounding check).
FILL_BODY = """\
%v = "arith.constant"() <{value = $value : f32}> : () -> f32
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.fill_tile_init"() : () -> ()
"ttkernel.fill_tile"(%c0, %v) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"""


def fill(value: float, fp32: bool, out_dtype: str = "f32") -> str:
    cbs = {16: cb_type(1, out_dtype)}
    body = Template(FILL_BODY).safe_substitute(value=f"{value:.9e}")
    reader, writer = noc("fill", [], [binding("o", 0, 16, 1, 1, out_dtype)])
    return module(
        "fill", [f"o:out:32x32:{out_dtype}"], [reader, compute("fill", cbs, body, fp32=fp32), writer]
    )


# ------------------------------------------------------------------------------------------
# SELF: a compute-only kernel (no tensors) used as the baseline for protocol-error tests. It
# makes a tile with fill_tile, packs it to cb0, then copies it through exp into cb1.
SELF_BODY = """\
%one = "arith.constant"() <{value = 1.0 : f32}> : () -> f32
"ttkernel.init_sfpu"(%cb0, %cb1) : ($cb0, $cb1) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.fill_tile_init"() : () -> ()
"ttkernel.fill_tile"(%c0, %one) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb0, %c0) : (index, $cb0, index) -> ()
"ttkernel.cb_push_back"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()  // second acquire
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
"ttkernel.exp_tile_init"() : () -> ()
"ttkernel.exp_tile"(%c0) : (index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()  // second commit
"ttkernel.tile_regs_wait"() : () -> ()  // second wait
"ttkernel.cb_reserve_back"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb1, %c0) : (index, $cb1, index) -> ()
"ttkernel.cb_push_back"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()  // second release
"ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"""


def self_kernel(body: str = SELF_BODY, fp32: bool = False) -> str:
    cbs = {0: cb_type(2), 1: cb_type(2)}
    return module("self", [], [compute("self", cbs, body, fp32=fp32)])
