# ruff: noqa: E501  (MLIR op lines are long by nature)
"""Hand-written TTKernel MLIR modules shared by the simulator, dataflow and C++ tests, and the one builder
they all use for kernel boilerplate.

Compute bodies are written out op by op; ``$name`` placeholders (string.Template) stand for CB types so the
text stays readable. `kernel` wraps a compute body into a whole module: the tensor list, the reader and writer
(from `tteqsat.lowering.dataflow`), the compute function with its constants, CB handles and
``ttkernel.arg_spec``. The ADD module is written out in full by hand (reader and writer included), as an
independent check of the emitted dataflow form. `xdsl_check` parses a module with xdsl to prove it is valid
generic MLIR.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from string import Template

from tteqsat.lowering.dataflow import TensorBinding, emit_reader, emit_writer
from tteqsat.mlir_text.argspec import ArgEntry, ArgSpec


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

    CB N is compile-time arg k when it is the k-th CB port by ascending id (the function's arg spec says
    so). In ``body``, ``$cbN`` expands to CB N's type.
    """
    ports = sorted(cbs)
    decls = "".join(
        f'%cb{i} = "ttkernel.get_compile_time_arg_val"() <{{arg_index = {k} : i32}}> : () -> {cbs[i]}\n'
        for k, i in enumerate(ports)
    )
    text = Template(_PRELUDE + decls + textwrap.dedent(body)).substitute(
        {f"cb{i}": t for i, t in cbs.items()}
    )
    text += '"func.return"() : () -> ()\n'
    inner = textwrap.indent(text, "    ")
    flag = "true" if fp32 else "false"
    spec = ArgSpec(ct_args=tuple(ArgEntry("cb_port", i) for i in ports)).print()
    return (
        f'  "func.func"() <{{function_type = () -> (), sym_name = "{kernel}_compute"}}> ({{\n'
        f"{inner}"
        f"  }}) {{ttkernel.arg_spec = {spec}, ttkernel.thread = #ttkernel.thread<compute>, "
        f"tteqsat.fp32_dest_acc_en = {flag}}} : () -> ()"
    )


def noc(kernel: str, reads: list[TensorBinding], writes: list[TensorBinding]) -> list[str]:
    return ["\n".join(emit_reader(kernel, reads)), "\n".join(emit_writer(kernel, writes))]


def binding(name: str, arg: int, cb: int, capacity: int, n_tiles: int, dtype: str = "bf16") -> TensorBinding:
    return TensorBinding(name, arg, cb, cb_type(capacity, dtype), n_tiles, dtype)


@dataclass(frozen=True)
class Tensor:
    """A kernel tensor for `kernel`: read into (role "in") or written from (role "out") CB ``cb`` of
    ``pages`` tiles; ``tile_dtype`` is the CB's element type when it differs from the tensor's."""

    name: str
    role: str
    shape: tuple[int, int]
    cb: int
    pages: int = 2
    dtype: str = "bf16"
    tile_dtype: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.role}:{self.shape[0]}x{self.shape[1]}:{self.dtype}"

    @property
    def n_tiles(self) -> int:
        return -(-self.shape[0] // 32) * -(-self.shape[1] // 32)

    @property
    def cb_type(self) -> str:
        return cb_type(self.pages, self.tile_dtype or self.dtype)


def kernel(name: str, tensors: list[Tensor], body: str, cbs: dict[int, str] | None = None,
           fp32: bool = False) -> str:
    """A whole module: ``tensors`` in order (their position is their tensor index), a reader of every input
    and a writer of every output (tile by tile, tensor by tensor), and a compute function running ``body``
    over every CB the tensors use plus ``cbs``."""
    all_cbs = dict(cbs or {})
    for t in tensors:
        if all_cbs.setdefault(t.cb, t.cb_type) != t.cb_type:
            raise ValueError(f"cb {t.cb} is given two types")
    bindings = [TensorBinding(t.name, i, t.cb, t.cb_type, t.n_tiles, t.tile_dtype or t.dtype)
                for i, t in enumerate(tensors)]
    reads = [b for b, t in zip(bindings, tensors, strict=True) if t.role == "in"]
    writes = [b for b, t in zip(bindings, tensors, strict=True) if t.role == "out"]
    reader, writer = noc(name, reads, writes)
    return module(name, [t.spec for t in tensors], [reader, compute(name, all_cbs, body, fp32=fp32), writer])


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
    %c2_i32 = "arith.constant"() <{value = 2 : i32}> : () -> i32
    %noc0 = "arith.constant"() <{value = 0 : i8}> : () -> i8
    %cb0 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> $cb
    %cb1 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 1 : i32}> : () -> $cb
    %aa = "ttkernel.TensorAccessorArgs"(%c2_i32, %c0_i32) <{operandSegmentSizes = array<i32: 1, 1, 0>}> : (i32, i32) -> !ttkernel.TensorAccessorArgs
    %ba = "ttkernel.TensorAccessorArgs"(%aa) <{operandSegmentSizes = array<i32: 0, 0, 1>}> : (!ttkernel.TensorAccessorArgs) -> !ttkernel.TensorAccessorArgs
    %a = "ttkernel.get_common_arg_val"(%c0) : (index) -> i32
    %b = "ttkernel.get_common_arg_val"(%c1) : (index) -> i32
    %ts = "ttkernel.get_tile_size"(%cb0) : ($cb) -> i32
    %sa = "ttkernel.TensorAccessor"(%aa, %a, %ts) : (!ttkernel.TensorAccessorArgs, i32, i32) -> !ttkernel.TensorAccessor
    %sb = "ttkernel.TensorAccessor"(%ba, %b) : (!ttkernel.TensorAccessorArgs, i32) -> !ttkernel.TensorAccessor
    "scf.for"(%c0, %c2, %c1) ({
    ^bb0(%t: index):
      %ti = "arith.index_cast"(%t) : (index) -> i32
      "ttkernel.cb_reserve_back"(%cb0, %c1_i32) : ($cb, i32) -> ()
      %w0 = "ttkernel.get_write_ptr"(%cb0) : ($cb) -> i32
      "ttkernel.noc_async_read_tile"(%ti, %sa, %w0, %noc0) : (i32, !ttkernel.TensorAccessor, i32, i8) -> ()
      "ttkernel.cb_reserve_back"(%cb1, %c1_i32) : ($cb, i32) -> ()
      %w1 = "ttkernel.get_write_ptr"(%cb1) : ($cb) -> i32
      "ttkernel.noc_async_read_tile"(%ti, %sb, %w1, %noc0) : (i32, !ttkernel.TensorAccessor, i32, i8) -> ()
      "ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()
      "ttkernel.cb_push_back"(%cb0, %c1_i32) : ($cb, i32) -> ()
      "ttkernel.cb_push_back"(%cb1, %c1_i32) : ($cb, i32) -> ()
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.arg_spec = #ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 0>, <arg_type = buffer_address, operand_index = 1>] ct_args = [<arg_type = cb_port, operand_index = 0>, <arg_type = cb_port, operand_index = 1>, <arg_type = tensor_accessor_args, operand_index = 0>, <arg_type = tensor_accessor_args, operand_index = 1>]>, ttkernel.thread = #ttkernel.thread<noc>} : () -> ()
  "func.func"() <{function_type = () -> (), sym_name = "add_compute"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %cb0 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> $cb
    %cb1 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 1 : i32}> : () -> $cb
    %cb16 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 2 : i32}> : () -> $cb
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
  }) {ttkernel.arg_spec = #ttkernel.arg_spec< ct_args = [<arg_type = cb_port, operand_index = 0>, <arg_type = cb_port, operand_index = 1>, <arg_type = cb_port, operand_index = 16>]>, ttkernel.thread = #ttkernel.thread<compute>, tteqsat.fp32_dest_acc_en = false} : () -> ()
  "func.func"() <{function_type = () -> (), sym_name = "add_writer"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
    %c0_i32 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %noc1 = "arith.constant"() <{value = 1 : i8}> : () -> i8
    %cb16 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> $cb
    %oa = "ttkernel.TensorAccessorArgs"(%c1_i32, %c0_i32) <{operandSegmentSizes = array<i32: 1, 1, 0>}> : (i32, i32) -> !ttkernel.TensorAccessorArgs
    %o = "ttkernel.get_common_arg_val"(%c0) : (index) -> i32
    %ts = "ttkernel.get_tile_size"(%cb16) : ($cb) -> i32
    %so = "ttkernel.TensorAccessor"(%oa, %o, %ts) : (!ttkernel.TensorAccessorArgs, i32, i32) -> !ttkernel.TensorAccessor
    "scf.for"(%c0, %c2, %c1) ({
    ^bb0(%t: index):
      "ttkernel.cb_wait_front"(%cb16, %c1_i32) : ($cb, i32) -> ()
      %r = "ttkernel.get_read_ptr"(%cb16) : ($cb) -> i32
      "ttkernel.noc_async_write_tile"(%t, %so, %r, %noc1) : (index, !ttkernel.TensorAccessor, i32, i8) -> ()
      "ttkernel.noc_async_write_barrier"(%noc1) : (i8) -> ()
      "ttkernel.cb_pop_front"(%cb16, %c1_i32) : ($cb, i32) -> ()
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.arg_spec = #ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 2>] ct_args = [<arg_type = cb_port, operand_index = 16>, <arg_type = tensor_accessor_args, operand_index = 2>]>, ttkernel.thread = #ttkernel.thread<noc>} : () -> ()
}
"""
).substitute(cb=_B2)


# ------------------------------------------------------------------------------------------
# EXP_CHAIN: y = 1 / exp(0.5 * x) on the SFPU (x: 32x64 bf16).
def tile_loop(trips: int, inits: str = "", ops: str = "") -> str:
    """A compute body that moves `trips` tiles cb0 -> DST slot 0 -> cb16 one at a time: init_sfpu and
    copy_tile_init, then `inits` (op lines), a loop waiting for a tile, copying it into DST, running `ops` on
    slot 0, packing it and popping it. The shared skeleton of the copy, exp and timing fixtures."""
    indent = "".join(f"  {line}\n" for line in ops.splitlines())
    return (f'%n = "arith.constant"() <{{value = {trips} : index}}> : () -> index\n'
            '"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()\n'
            '"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()\n'
            + "".join(f"{line}\n" for line in inits.splitlines())
            + '"scf.for"(%c0, %n, %c1) ({\n'
            "^bb0(%t: index):\n"
            '  "ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()\n'
            '  "ttkernel.tile_regs_acquire"() : () -> ()\n'
            '  "ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()\n'
            + indent
            + '  "ttkernel.tile_regs_commit"() : () -> ()\n'
            '  "ttkernel.tile_regs_wait"() : () -> ()\n'
            '  "ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()\n'
            '  "ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()\n'
            '  "ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()\n'
            '  "ttkernel.tile_regs_release"() : () -> ()\n'
            '  "ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()\n'
            '  "scf.yield"() : () -> ()\n'
            "}) : (index, index, index) -> ()\n")


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
    return kernel("expc", [Tensor("x", "in", (32, 64), 0), Tensor("y", "out", (32, 64), 16)], EXP_CHAIN_BODY)


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
    tensors = [Tensor("a", "in", (64, 64), 0, 4), Tensor("b", "in", (32, 64), 1, 2),
               Tensor("c", "out", (64, 32), 16, 2, "f32")]
    return kernel("mm", tensors, MATMUL_BODY, fp32=True)


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
    body = Template(REDUCE_BODY).safe_substitute(kind=kind, tile_kind=tile_kind or kind, scale=f"{scale:.6e}")
    tensors = [Tensor("x", "in", (32, 64), 0, 2), Tensor("m", "out", (32, 1), 16, 1)]
    return kernel("red", tensors, body, cbs={2: cb_type(1)})


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
    tensors = [Tensor("x", "in", (32, 64), 0, 2), Tensor("m", "in", (32, 1), 1, 1), Tensor("y", "out", (32, 64), 16)]
    return kernel("bsub", tensors, BCAST_SUB_BODY)


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
"ttkernel.copy_dest_values"(%c0, %c1) <{data_format = #ttcore.supportedDataTypes<bf16>}> : (index, index) -> ()
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
    return kernel("sc", [Tensor("x", "in", (32, 32), 0, 1), Tensor("y", "out", (32, 32), 16, 1)], SCALAR_BODY)


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
    body = Template(FILL_BODY).safe_substitute(value=f"{value:.9e}")
    return kernel("fill", [Tensor("o", "out", (32, 32), 16, 1, out_dtype)], body, fp32=fp32)


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


SAMPLES = {
    "add": lambda: ADD,
    "exp": exp_chain,
    "matmul": matmul,
    "reduce": lambda: reduce_rows("reduce_max", 1.0),
    "bcast_sub": bcast_sub,
    "scalar": scalar_ops,
    "fill": lambda: fill(1.5, fp32=False),
    "self": self_kernel,
}
"""Every hand-written sample module by name (a function building its text): what the C++ and conformance
tests run over."""
