"""Translate a TTKernel MLIR module into tt-metal C++ kernels.

One ``void kernel_main()`` per thread function, for the tt-metal kernel API after PR #50570 (the version
``tests/cpp_stubs/README.md`` names; tt-mlir main 19c86fca45ae pins tt-metal d5f9bc4a). Each TTKernel op
becomes the call tt-mlir's ``convert-ttkernel-to-emitc`` makes of it, with these choices (docs/mlir-subset.md,
"C++"): ``mm_init`` / ``mm_block_init`` become ``compute_kernel_hw_startup<SrcOrder::Reverse>`` and
``matmul_init`` / ``matmul_block_init`` (tt-metal removed the ``mm_*init*`` functions); ``transpose_wh_*``
become ``transpose_init`` / ``transpose_tile``; an ``exp_tile`` scale is the fp32 bit pattern on
``exp_tile_init``'s template (where approximate mode reads it) and the bf16 half on ``exp_tile``'s ``uint16_t``
argument; ``copy_dest_values`` takes its ``DataFormat`` template argument; NoC tile reads and writes print the
classic ``noc_async_read_page`` / ``noc_async_write_page`` with the op's NoC (tt-mlir prints the experimental
``Noc`` object API, which is the same call underneath); likewise ``noc_async_write_multicast`` prints the
classic call with its rectangle as ``get_noc_multicast_addr(...)`` and ``experimental.semaphore_wait`` the
classic ``noc_semaphore_wait``. CB handles are ``get_compile_time_arg_val(k)``
constants named after their CB port (``cb_16``) from the function's ``ttkernel.arg_spec``; ``scf.for`` is a
``for`` loop; constants nothing reads are dropped, so every file compiles under ``-Wall -Werror``. Headers
per callee follow tt-mlir's ``TTKernelIncludesMap.h`` and tt-metal's current header layout;
``experimental.fill_arange_tile`` is tt-mlir's own LLK (``experimental::fill_arange_tile<DataFormat>``), which
tt-mlir pastes into the kernel and this translator includes from tt-mlir's include tree, after the
``float_to_bits`` helper it needs. ``index`` values are ``size_t`` (as in tt-mlir): addition, subtraction and
multiplication wrap, which is two's complement arithmetic; the signed ops (``maxsi``, ``minsi``, ``divsi``,
``remsi``, ``floordivsi``, ``ceildivsi``) and loops with a runtime bound compare and divide as ``ptrdiff_t``
(the signed type of ``size_t``'s width, so the cast round-trips on the 32-bit RISC-V cores too), and floor /
ceil division call small helpers printed into the file, because C++ ``/`` truncates. The module is read with
the shared parser (`tteqsat.mlir_text`), so anything the simulator accepts can be translated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from tteqsat.mlir_text.argspec import ArgSpec, parse_arg_spec
from tteqsat.mlir_text.ir import (
    Block,
    DenseArrayAttr,
    EnumAttr,
    FloatAttr,
    IntAttr,
    Op,
    OpaqueAttr,
    bits_to_f32,
    func_body,
    func_name,
)
from tteqsat.mlir_text.parser import parse_module

_COMPUTE = "api/compute/"
_DATAFLOW_HEADER = "api/dataflow/dataflow_api.h"
_EXP = _COMPUTE + "eltwise_unary/exp.h"
_BINOP_SCALAR = _COMPUTE + "eltwise_unary/binop_with_scalar.h"
_API = _COMPUTE + "compute_kernel_api.h"
_SFPU_BINARY = _COMPUTE + "eltwise_binary_sfpu.h"
_MATMUL = _COMPUTE + "matmul.h"
_STARTUP = _COMPUTE + "compute_kernel_hw_startup.h"
_COMP = _COMPUTE + "eltwise_unary/comp.h"
_WHERE = _COMPUTE + "eltwise_unary/where.h"
PADDING_LLKS = "ttmlir/Target/TTKernel/LLKs/experimental_padding_llks.h"
"""tt-mlir's experimental padding / arange LLKs (``experimental::fill_arange_tile``), by its path in tt-mlir's
``include/`` tree: tt-mlir's TTKernelToCpp pastes this file into the kernel; a build of the translated kernel
needs tt-mlir's ``include/`` directory on its include path."""
FLOAT_TO_BITS = ("inline uint32_t float_to_bits(const float f) { uint32_t r; __builtin_memcpy(&r, &f, sizeof(r)); "
                 "return r; }")
"""The helper tt-mlir's TTKernelToCpp defines in every compute kernel; the padding LLKs call it (by name, from a
template body, so it must be declared before they are included)."""

_HEADERS: dict[str, str] = {
    "compute_kernel_hw_startup": _STARTUP,
    "init_sfpu": _COMPUTE + "eltwise_unary/eltwise_unary.h",
    "unary_op_init_common": _COMPUTE + "eltwise_unary/eltwise_unary.h",
    "binary_op_init_common": _COMPUTE + "eltwise_binary.h",
    "get_arg_val": _COMPUTE + "common.h",
    "get_common_arg_val": _COMPUTE + "common.h",
    "cb_pop_front": _COMPUTE + "cb_api.h",
    "cb_push_back": _COMPUTE + "cb_api.h",
    "cb_reserve_back": _COMPUTE + "cb_api.h",
    "cb_wait_front": _COMPUTE + "cb_api.h",
    "tile_regs_acquire": _COMPUTE + "reg_api.h",
    "tile_regs_commit": _COMPUTE + "reg_api.h",
    "tile_regs_wait": _COMPUTE + "reg_api.h",
    "tile_regs_release": _COMPUTE + "reg_api.h",
    "copy_tile": _COMPUTE + "tile_move_copy.h",
    "copy_tile_init": _COMPUTE + "tile_move_copy.h",
    "pack_tile": _COMPUTE + "pack.h",
    "pack_reconfig_l1_acc": _COMPUTE + "pack.h",
    "add_tiles": _COMPUTE + "eltwise_binary.h",
    "add_tiles_init": _COMPUTE + "eltwise_binary.h",
    "sub_tiles": _COMPUTE + "eltwise_binary.h",
    "sub_tiles_init": _COMPUTE + "eltwise_binary.h",
    "mul_tiles": _COMPUTE + "eltwise_binary.h",
    "mul_tiles_init": _COMPUTE + "eltwise_binary.h",
    "binary_dest_reuse_tiles": _COMPUTE + "eltwise_binary.h",
    "binary_dest_reuse_tiles_init": _COMPUTE + "eltwise_binary.h",
    "mm_init": _MATMUL,
    "mm_init_short": _MATMUL,
    "mm_block_init": _MATMUL,
    "mm_block_init_short": _MATMUL,
    "matmul_tiles": _MATMUL,
    "matmul_block": _MATMUL,
    "reduce_init": _COMPUTE + "reduce.h",
    "reduce_tile": _COMPUTE + "reduce.h",
    "reduce_uninit": _COMPUTE + "reduce.h",
    "unary_bcast": _COMPUTE + "bcast.h",
    "unary_bcast_init": _COMPUTE + "bcast.h",
    "transpose_wh_init": _COMPUTE + "transpose.h",
    "transpose_wh_tile": _COMPUTE + "transpose.h",
    "exp_tile": _EXP,
    "exp_tile_init": _EXP,
    "recip_tile": _COMPUTE + "eltwise_unary/recip.h",
    "recip_tile_init": _COMPUTE + "eltwise_unary/recip.h",
    "sqrt_tile": _COMPUTE + "eltwise_unary/sqrt.h",
    "sqrt_tile_init": _COMPUTE + "eltwise_unary/sqrt.h",
    "rsqrt_tile": _COMPUTE + "eltwise_unary/rsqrt.h",
    "rsqrt_tile_init": _COMPUTE + "eltwise_unary/rsqrt.h",
    "negative_tile": _COMPUTE + "eltwise_unary/negative.h",
    "negative_tile_init": _COMPUTE + "eltwise_unary/negative.h",
    "relu_tile": _COMPUTE + "eltwise_unary/relu.h",
    "relu_tile_init": _COMPUTE + "eltwise_unary/relu.h",
    "gelu_tile": _COMPUTE + "eltwise_unary/gelu.h",
    "gelu_tile_init": _COMPUTE + "eltwise_unary/gelu.h",
    "fill_tile": _COMPUTE + "eltwise_unary/fill.h",
    "fill_tile_init": _COMPUTE + "eltwise_unary/fill.h",
    "copy_dest_values": _COMPUTE + "copy_dest_values.h",
    "copy_dest_values_init": _COMPUTE + "copy_dest_values.h",
    "binop_with_scalar_tile_init": _BINOP_SCALAR,
    "add_unary_tile": _BINOP_SCALAR,
    "sub_unary_tile": _BINOP_SCALAR,
    "mul_unary_tile": _BINOP_SCALAR,
    "div_unary_tile": _BINOP_SCALAR,
    "binary_max_tile": _COMPUTE + "binary_max_min.h",
    "binary_max_tile_init": _COMPUTE + "binary_max_min.h",
    "binary_min_tile": _COMPUTE + "binary_max_min.h",
    "binary_min_tile_init": _COMPUTE + "binary_max_min.h",
    **{f"{k}_tile{s}": _COMP for k in ("gez", "gtz", "ltz", "lez", "eqz", "nez") for s in ("", "_init")},
    "where_tile": _WHERE,
    "where_tile_init": _WHERE,
    "experimental.fill_arange_tile": PADDING_LLKS,
    **{f"{k}_binary_tile{s}": _SFPU_BINARY for k in ("add", "sub", "mul", "div") for s in ("", "_init")},
    **{
        f"{k}{s}": _API
        for k in ("log_tile", "abs_tile", "sigmoid_tile", "silu_tile", "square_tile", "tanh_tile")
        for s in ("", "_init")
    },
}
"""Compute API header of each TTKernel op (the header of the function it becomes in current tt-metal)."""

_RENAMED: dict[str, str] = {
    "mm_init_short": "matmul_init",
    "mm_block_init_short": "matmul_block_init",
    "transpose_wh_tile": "transpose_tile",
    "noc_async_read_tile": "noc_async_read_page",
    "noc_async_write_tile": "noc_async_write_page",
    "experimental.semaphore_wait": "noc_semaphore_wait",
}
"""TTKernel op -> tt-metal function, where tt-metal renamed or replaced the function the op is named after."""
_DROPPED_OPERANDS: dict[str, int] = {"transpose_wh_init": 1}
"""TTKernel op -> operand position its C++ does not pass (``transpose_init`` takes no output CB)."""

_SCALAR_TYPES = {
    "index": "size_t",
    "i1": "bool",
    "i8": "int8_t",
    "i32": "int32_t",
    "i64": "int64_t",
    "f32": "float",
    "!ttkernel.DataFormat": "DataFormat",
    "!ttkernel.noc_addr": "uint64_t",
    "!ttkernel.local_semaphore": "uint32_t",
    "!ttkernel.l1_addr_ptr": "tt_l1_ptr uint32_t*",
}
_BINARY_OPERATORS = {
    "arith.addi": "+",
    "arith.subi": "-",
    "arith.muli": "*",
    "arith.divsi": "/",
    "arith.remsi": "%",
    "arith.divui": "/",
    "arith.remui": "%",
}
_SIGNED_INDEX = "ptrdiff_t"
"""The signed integer type of ``size_t``'s width: an ``index`` value held in a ``size_t`` is cast to it for the
signed ops (as MLIR's ArithToEmitC adapts a ``size_t`` operand of a signed op to ``ptrdiff_t``)."""
_SIGNED_OPS = frozenset({"arith.divsi", "arith.remsi", "arith.maxsi", "arith.minsi", "arith.floordivsi",
                         "arith.ceildivsi"})
ROUNDING_DIVISIONS: dict[str, tuple[str, str]] = {
    "arith.floordivsi": (
        "tteqsat_floordivsi",
        "// arith.floordivsi: signed division rounding toward negative infinity (C++ '/' truncates toward zero).\n"
        "inline ptrdiff_t tteqsat_floordivsi(ptrdiff_t a, ptrdiff_t b) {\n"
        "  const ptrdiff_t q = a / b;\n"
        "  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;\n"
        "}",
    ),
    "arith.ceildivsi": (
        "tteqsat_ceildivsi",
        "// arith.ceildivsi: signed division rounding toward positive infinity (C++ '/' truncates toward zero).\n"
        "inline ptrdiff_t tteqsat_ceildivsi(ptrdiff_t a, ptrdiff_t b) {\n"
        "  const ptrdiff_t q = a / b;\n"
        "  return (a % b != 0 && (a < 0) == (b < 0)) ? q + 1 : q;\n"
        "}",
    ),
}
"""arith op -> (C++ helper, its definition): printed once into each file that uses the op."""
_POOL = {"reduce_sum": "PoolType::SUM", "reduce_max": "PoolType::MAX", "reduce_avg": "PoolType::AVG"}
_REDUCE_DIM = {
    "reduce_dim_row": "ReduceDim::REDUCE_ROW",
    "reduce_dim_col": "ReduceDim::REDUCE_COL",
    "reduce_dim_scalar": "ReduceDim::REDUCE_SCALAR",
}
_BCAST = {
    "none": "BroadcastType::NONE",
    "col": "BroadcastType::COL",
    "row": "BroadcastType::ROW",
    "scalar": "BroadcastType::SCALAR",
}
_ELTWISE = {
    "add": "EltwiseBinaryType::ELWADD",
    "sub": "EltwiseBinaryType::ELWSUB",
    "mul": "EltwiseBinaryType::ELWMUL",
}
_REUSE = {
    "dest_to_srca": "EltwiseBinaryReuseDestType::DEST_TO_SRCA",
    "dest_to_srcb": "EltwiseBinaryReuseDestType::DEST_TO_SRCB",
}
_DATA_FORMAT = {
    "f32": "DataFormat::Float32",
    "f16": "DataFormat::Float16",
    "bf16": "DataFormat::Float16_b",
    "bfp_f8": "DataFormat::Bfp8",
    "bfp_bf8": "DataFormat::Bfp8_b",
    "bfp_f4": "DataFormat::Bfp4",
    "bfp_bf4": "DataFormat::Bfp4_b",
    "bfp_f2": "DataFormat::Bfp2",
    "bfp_bf2": "DataFormat::Bfp2_b",
    "u32": "DataFormat::UInt32",
    "u16": "DataFormat::UInt16",
    "u8": "DataFormat::UInt8",
    "si32": "DataFormat::Int32",
}
"""``#ttcore.supportedDataTypes<...>`` -> tt-metal ``DataFormat`` (TTKernelToEmitC's mapping)."""
_TILE_DTYPE = re.compile(r"!ttcore\.tile<\s*32x32\s*,\s*(\w+)\s*>")
_CLAMPING = {"none": "InputClamping::None", "clamp_to_negative": "InputClamping::ClampToNegative"}
_BIT_PATTERN_PARAMS = {"add_unary_tile": 1, "sub_unary_tile": 1, "mul_unary_tile": 1, "div_unary_tile": 1}
"""Callee -> operand position that is an fp32 bit pattern (printed as a hex literal)."""
ONE_BITS = 0x3F800000
"""fp32 bits of 1.0: the ``scale`` of an unscaled ``exp_tile``."""

_CPP_KEYWORDS = frozenset(
    "alignas alignof and asm auto bool break case catch char class const constexpr continue default "
    "delete do double else enum explicit export extern false float for friend goto if inline int long "
    "mutable namespace new noexcept not nullptr operator or private protected public register return "
    "short signed sizeof static struct switch template this throw true try typedef typename union "
    "unsigned using virtual void volatile while xor".split()
)


class CppTranslationError(ValueError):
    """The module uses something the C++ translator does not know how to print."""


def _err(op: Op, message: str) -> CppTranslationError:
    return CppTranslationError(f"line {op.line}: {op.name}: {message}")


def _enum(op: Op, key: str, table: dict[str, str]) -> str:
    attr = op.attr(key)
    if not isinstance(attr, EnumAttr) or attr.value not in table:
        raise _err(op, f"missing or unsupported attribute {key}")
    return table[attr.value]


def _format_template(op: Op, attr: str, what: str) -> str:
    """``<DataFormat::X>`` from the op's ``#ttcore.supportedDataTypes`` property `attr` (tt-metal's `what`)."""
    fmt = op.attr(attr)
    if not isinstance(fmt, EnumAttr) or fmt.value not in _DATA_FORMAT:
        raise _err(op, f"needs {attr} = #ttcore.supportedDataTypes<bf16|f32|...> (tt-metal's {what})")
    return f"<{_DATA_FORMAT[fmt.value]}>"


def _walk(block: Block) -> Iterator[Op]:
    for op in block.ops:
        yield op
        for region in op.regions:
            yield from _walk(region)


def _float_literal(value: float) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    text = f"{value:.9g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def exp_scale_bits(op: Op) -> int:
    """The fp32 bits of an ``exp_tile(_init)`` scale property (1.0 when absent)."""
    scale = op.attr("scale")
    return scale.value & 0xFFFFFFFF if isinstance(scale, IntAttr) else ONE_BITS


def bf16_bits(fp32_bits: int) -> int:
    """The top half of an fp32 bit pattern: the bf16 value ``exp_tile``'s ``uint16_t scale`` takes."""
    return (fp32_bits >> 16) & 0xFFFF


class _FuncTranslator:
    def __init__(self, func: Op, thread: str) -> None:
        self.func = func
        self.thread = thread
        self.names: dict[str, str] = {}
        self.used: set[str] = set()
        self.cbs: dict[int, str] = {}
        self.headers: set[str] = set()
        self.needs_infinity = False
        self.needs_ptrdiff = False
        self.helpers: set[str] = set()
        self.spec = self._arg_spec()
        self.constants: dict[str, Op] = {}
        self.uses = self._uses()
        self.bit_pattern_values = self._bit_pattern_values()

    # -- analysis --------------------------------------------------------------------------
    def _arg_spec(self) -> ArgSpec | None:
        attr = self.func.attributes.get("ttkernel.arg_spec")
        if attr is None:
            return None
        if not isinstance(attr, OpaqueAttr):
            raise _err(self.func, "ttkernel.arg_spec must be a #ttkernel.arg_spec<...> attribute")
        try:
            return parse_arg_spec(attr.text)
        except ValueError as e:
            raise _err(self.func, str(e)) from None

    def _uses(self) -> dict[str, int]:
        """How often each SSA value is printed by name (TensorAccessorArgs bases are folded into templates)."""
        uses: dict[str, int] = {}
        for op in _walk(func_body(self.func)):
            if op.name == "arith.constant" and op.results:
                self.constants[op.results[0]] = op
            if op.name == "ttkernel.TensorAccessorArgs" and len(op.operands) == 2:
                continue
            dropped = _DROPPED_OPERANDS.get(op.name.removeprefix("ttkernel."), -1)
            for k, operand in enumerate(op.operands):
                if k != dropped:
                    uses[operand] = uses.get(operand, 0) + 1
        return uses

    def _bit_pattern_values(self) -> set[str]:
        """SSA values used only as fp32 bit-pattern operands (printed as hex)."""
        uses: dict[str, list[bool]] = {}
        for op in _walk(func_body(self.func)):
            callee = op.name.removeprefix("ttkernel.")
            position = _BIT_PATTERN_PARAMS.get(callee) if op.name.startswith("ttkernel.") else None
            for k, operand in enumerate(op.operands):
                uses.setdefault(operand, []).append(k == position)
        return {v for v, flags in uses.items() if flags and all(flags)}

    def constant_value(self, op: Op, ssa: str) -> int:
        """The integer an ``arith.constant`` operand holds (for template arguments)."""
        const = self.constants.get(ssa)
        value = const.attr("value") if const is not None else None
        if not isinstance(value, IntAttr):
            raise _err(op, f"operand {ssa} must be an integer arith.constant (it becomes a template argument)")
        return value.value

    # -- naming ----------------------------------------------------------------------------
    def _fresh(self, base: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]", "_", base) or "v"
        if name[0].isdigit():
            name = "v" + name
        if name in _CPP_KEYWORDS or name.startswith("__"):
            name += "_"
        candidate, k = name, 1
        while candidate in self.used:
            candidate = f"{name}_{k}"
            k += 1
        self.used.add(candidate)
        return candidate

    def define(self, ssa: str) -> str:
        name = self._fresh(ssa.lstrip("%"))
        self.names[ssa] = name
        return name

    def ref(self, op: Op, ssa: str) -> str:
        try:
            return self.names[ssa]
        except KeyError:
            raise _err(op, f"use of undefined value {ssa}") from None

    def declare(self, op: Op, call: str, pad: str, out: list[str], ty: str | None = None) -> None:
        """``call`` as a statement, or as the initializer of the op's one result."""
        if not op.results:
            out.append(f"{pad}{call};")
            return
        if len(op.results) != 1:
            raise _err(op, "ops with several results are not supported")
        unused = "[[maybe_unused]] " if not self.uses.get(op.results[0]) else ""
        out.append(f"{pad}{unused}{ty or self._type(op, op.result_types[0])} {self.define(op.results[0])} = {call};")

    # -- translation -----------------------------------------------------------------------
    def translate(self) -> str:
        body: list[str] = []
        self._block(func_body(self.func), body, 1)
        lines = [f"// {func_name(self.func)}", "#include <cstdint>"]
        if self.needs_ptrdiff:
            lines.append("#include <cstddef>")
        lines.append('#include "tools/profiler/kernel_profiler.hpp"')
        headers = set(self.headers) - {PADDING_LLKS}
        if self.thread == "compute":
            headers.add(_COMPUTE + "common.h")
        else:
            headers = {_DATAFLOW_HEADER}
        for header in sorted(headers):
            if header.endswith("/reduce.h"):
                # reduce.h uses these as default template arguments (tt-mlir emits the same defines).
                lines += ["#define REDUCE_OP PoolType::SUM", "#define REDUCE_DIM ReduceDim::REDUCE_COL"]
            lines.append(f'#include "{header}"')
        if self.needs_infinity:
            lines += [
                "#ifndef INFINITY",
                "#define INFINITY __builtin_inff()",
                "#endif",
                "#ifndef NAN",
                '#define NAN __builtin_nanf("")',
                "#endif",
            ]
        if PADDING_LLKS in self.headers:
            lines += [FLOAT_TO_BITS, f'#include "{PADDING_LLKS}"']
        for name in sorted(self.helpers):
            lines += ["", ROUNDING_DIVISIONS[name][1]]
        lines += ["", "void kernel_main() {"]
        lines += [
            f"  constexpr uint32_t {name} = get_compile_time_arg_val({index});"
            for index, name in sorted(self.cbs.items())
        ]
        lines += body
        lines += ["}", ""]
        return "\n".join(lines)

    def _block(self, block: Block, out: list[str], depth: int) -> None:
        for op in block.ops:
            self._op(op, out, depth)

    def _op(self, op: Op, out: list[str], depth: int) -> None:
        pad = "  " * depth
        name = op.name
        if name in ("scf.yield", "func.return"):
            if op.operands:
                raise _err(op, "returning or yielding values is not supported")
            return
        if name == "scf.for":
            self._for(op, out, depth)
            return
        if name == "arith.constant":
            if self.uses.get(op.results[0]):
                out.append(pad + self._constant(op))
            return
        if name in _SIGNED_OPS and (op.result_types[0] == "index" or name not in _BINARY_OPERATORS):
            self.declare(op, self._signed(op), pad, out)
            return
        if name in _BINARY_OPERATORS:
            a, b = (self.ref(op, v) for v in op.operands)
            self.declare(op, f"{a} {_BINARY_OPERATORS[name]} {b}", pad, out)
            return
        if name in ("arith.minui", "arith.maxui"):
            a, b = (self.ref(op, v) for v in op.operands)
            cmp = "<" if name == "arith.minui" else ">"
            self.declare(op, f"({a} {cmp} {b}) ? {a} : {b}", pad, out)
            return
        if name == "arith.index_cast":
            ty = self._type(op, op.result_types[0])
            self.declare(op, f"({ty}) {self.ref(op, op.operands[0])}", pad, out)
            return
        if not name.startswith("ttkernel."):
            raise _err(op, "unsupported op for C++ translation")
        callee = name.removeprefix("ttkernel.")
        if callee == "get_compile_time_arg_val":
            self._compile_time_arg(op, out, pad)
            return
        if callee == "TensorAccessorArgs":
            self._accessor_args(op, out, pad)
            return
        if callee == "TensorAccessor":
            args = ", ".join(self.ref(op, v) for v in op.operands)
            self.declare(op, f"TensorAccessor({args})", pad, out, ty="const auto")
            return
        if self.thread == "compute":
            header = _HEADERS.get(callee)
            if header is None:
                raise _err(op, "no known tt-metal compute API header for this op")
            self.headers.add(header)
        dropped = _DROPPED_OPERANDS.get(callee, -1)
        args = [self.ref(op, v) if k != dropped else "" for k, v in enumerate(op.operands)]
        for call in self._calls(op, callee, args):
            if call is not None:
                self.declare(op, call, pad, out)

    def _signed(self, op: Op) -> str:
        """A signed arith op: on ``index`` (held in ``size_t``) the operands compare and divide as ``ptrdiff_t``;
        floor and ceil division call their helper."""
        a, b = (self.ref(op, v) for v in op.operands)
        ty = op.result_types[0]
        if ty == "index":
            self.needs_ptrdiff = True
            sa, sb = f"({_SIGNED_INDEX}) {a}", f"({_SIGNED_INDEX}) {b}"
        else:
            sa, sb = a, b
        name = op.name
        if name in ("arith.maxsi", "arith.minsi"):
            return f"({sa} {'>' if name == 'arith.maxsi' else '<'} {sb}) ? {a} : {b}"
        if name in _BINARY_OPERATORS:  # divsi / remsi on index: C++ truncation is arith's rounding
            return f"({self._type(op, ty)}) ({sa} {_BINARY_OPERATORS[name]} {sb})"
        helper = ROUNDING_DIVISIONS[name][0]
        self.helpers.add(name)
        self.needs_ptrdiff = True
        return f"({self._type(op, ty)}) {helper}({sa}, {sb})"

    def _calls(self, op: Op, callee: str, args: list[str]) -> list[str]:
        """The C++ call(s) of one TTKernel op (all but the last are statements)."""
        if callee in ("mm_init", "mm_block_init"):
            a, b, o, *rest = args
            self.headers.add(_STARTUP)
            init = "matmul_init" if callee == "mm_init" else "matmul_block_init"
            return [f"compute_kernel_hw_startup<SrcOrder::Reverse>({a}, {b}, {o})",
                    f"{init}({', '.join([a, b, *rest])})"]
        if callee == "transpose_wh_init":  # the hardware setup is compute_kernel_hw_startup's job
            return [f"transpose_init({args[0]})"]
        if callee in ("noc_async_read_tile", "noc_async_write_tile") and len(args) == 4:
            page_id, accessor, l1, noc = args
            defaults = "0" if callee == "noc_async_read_tile" else "0, 0"  # offset (and write size = page size)
            return [f"{_RENAMED[callee]}({page_id}, {accessor}, {l1}, {defaults}, {noc})"]
        if callee == "reinterpret_cast":  # tt-mlir: the L1 pointer type of the result (32-bit words)
            return [f"reinterpret_cast<{_SCALAR_TYPES['!ttkernel.l1_addr_ptr']}>({args[0]})"]
        if callee == "noc_async_write_multicast":  # the classic call takes the rectangle as a multicast address
            src, size, num, x0, y0, x1, y1, dst, *noc = args
            linked = "true" if op.attr("linked") is True else "false"
            mcast = f"get_noc_multicast_addr({', '.join([x0, y0, x1, y1, dst, *noc])})"
            return [f"noc_async_write_multicast({', '.join([src, mcast, size, num, linked, *noc])})"]
        template, extra = self._template(op, callee)
        function = _RENAMED.get(callee, callee)
        if function.startswith("experimental."):  # tt-mlir's getTTKernelCalleeName
            function = "experimental::" + function.removeprefix("experimental.")
        return [f"{function}{template}({', '.join(args + extra)})"]

    def _template(self, op: Op, callee: str) -> tuple[str, list[str]]:
        """Template argument list and extra trailing call arguments for ``callee``."""
        if callee in ("reduce_init", "reduce_tile"):
            return f"<{_enum(op, 'reduce_type', _POOL)}, {_enum(op, 'reduce_dim', _REDUCE_DIM)}>", []
        if callee in ("unary_bcast_init", "unary_bcast"):
            return f"<{_enum(op, 'bcast_type', _BCAST)}>", []
        if callee in ("binary_dest_reuse_tiles_init", "binary_dest_reuse_tiles"):
            return f"<{_enum(op, 'eltwise_binary_type', _ELTWISE)}, {_enum(op, 'reuse_type', _REUSE)}>", []
        if callee in ("get_arg_val", "get_common_arg_val"):
            return "<uint32_t>", []
        if callee == "pack_tile":
            return f"<{'true' if op.attr('out_of_order') is True else 'false'}>", []
        if callee == "copy_dest_values":
            return _format_template(op, "data_format", "copy_dest_values<DataFormat>; the untyped overload is "
                                    "deprecated"), []
        if callee == "where_tile":
            return _format_template(op, "dtype", "where_tile<DataFormat>"), []
        if callee == "experimental.fill_arange_tile":  # TTKernelToEmitC: the format of the CB's tile type
            m = _TILE_DTYPE.search(op.operand_types[0] if op.operand_types else "")
            if m is None or m.group(1) not in _DATA_FORMAT:
                raise _err(op, "its CB must hold tiles (!ttkernel.cb<N, !ttcore.tile<32x32, bf16|f32>>): the "
                           "tile's data type is the DataFormat template argument")
            return f"<{_DATA_FORMAT[m.group(1)]}>", []
        if callee == "exp_tile_init":
            return self._exp_init_template(op), []
        if callee == "exp_tile":
            return self._exp_tile(op)
        return "", []

    def _exp_init_template(self, op: Op) -> str:
        """``exp_tile_init<approx, scale_fp32_bits, clamping>``, up to the last argument that is set."""
        approx = "true" if op.attr("approx") is True else "false"
        bits = exp_scale_bits(op)
        clamping = op.attr("input_clamping")
        params = [approx, f"0x{bits:08x}u"]
        if clamping is not None:
            params.append(_enum(op, "input_clamping", _CLAMPING))
        elif bits == ONE_BITS:
            params.pop()
        if op.attr("approx") is None and len(params) == 1:
            return ""
        return f"<{', '.join(params)}>"

    def _exp_tile(self, op: Op) -> tuple[str, list[str]]:
        """``exp_tile<approx, scale_en, clamping, iterations>(idst, VectorMode::RC, scale_bf16)``."""
        approx = "true" if op.attr("approx") is True else "false"
        bits = exp_scale_bits(op)
        scaled = bits != ONE_BITS
        params = [approx, "true" if scaled else "false"]
        clamping, iterations = op.attr("input_clamping"), op.attr("iterations")
        if clamping is not None or iterations is not None:
            params.append(_enum(op, "input_clamping", _CLAMPING) if clamping is not None
                          else "InputClamping::ClampToNegative")
        if iterations is not None:
            if not isinstance(iterations, IntAttr):
                raise _err(op, "iterations must be an integer")
            params.append(str(iterations.value))
        if not scaled and len(params) == 2:
            params.pop()
            if op.attr("approx") is None:
                return "", []
        extra = ["VectorMode::RC", f"0x{bf16_bits(bits):04x}"] if scaled else []
        return f"<{', '.join(params)}>", extra

    def _type(self, op: Op, ty: str) -> str:
        cpp = _SCALAR_TYPES.get(ty)
        if cpp is None:
            raise _err(op, f"no C++ type for {ty}")
        return cpp

    def _constant(self, op: Op) -> str:
        attr = op.attr("value")
        ty = op.result_types[0]
        ssa = op.results[0]
        if ssa in self.bit_pattern_values and isinstance(attr, IntAttr):
            bits = attr.value & 0xFFFFFFFF
            name = self.define(ssa)
            return f"uint32_t {name} = 0x{bits:08x}u;  // {_float_literal(bits_to_f32(bits))}"
        if isinstance(attr, bool):
            value = "true" if attr else "false"
        elif isinstance(attr, IntAttr):
            value = ("true" if attr.value else "false") if ty == "i1" else str(attr.value)
        elif isinstance(attr, FloatAttr):
            value = _float_literal(attr.value)
            self.needs_infinity |= value.endswith(("INFINITY", "NAN"))
        else:
            raise _err(op, f"unsupported constant {attr!r}")
        return f"{self._type(op, ty)} {self.define(ssa)} = {value};"

    def _for(self, op: Op, out: list[str], depth: int) -> None:
        if op.results or len(op.regions) != 1 or len(op.regions[0].args) != 1:
            raise _err(op, "only scf.for without loop-carried values is supported")
        lb, ub, step = (self.ref(op, v) for v in op.operands)
        iv = self.define(op.regions[0].args[0][0])
        pad = "  " * depth
        test = f"{iv} < {ub}"
        if not all(self._non_negative_constant(v) for v in op.operands[:2]):
            # scf.for compares signed; size_t bounds compare unsigned, which differs once a bound is negative.
            self.needs_ptrdiff = True
            test = f"({_SIGNED_INDEX}) {iv} < ({_SIGNED_INDEX}) {ub}"
        out.append(f"{pad}for (size_t {iv} = {lb}; {test}; {iv} += {step}) {{")
        self._block(op.regions[0], out, depth + 1)
        out.append(pad + "}")

    def _non_negative_constant(self, ssa: str) -> bool:
        const = self.constants.get(ssa)
        value = const.attr("value") if const is not None else None
        return isinstance(value, IntAttr) and value.value >= 0

    def _cb_name(self, index: int) -> str:
        """A CB handle is named after its CB port (``cb_16``) when the arg spec says which port it is."""
        if self.spec is not None and index < len(self.spec.ct_args):
            entry = self.spec.ct_args[index]
            if entry.arg_type == "cb_port":
                return f"cb_{entry.operand_index}"
        return f"cb_arg{index}" if self.spec is not None else f"cb_{index}"

    def _compile_time_arg(self, op: Op, out: list[str], pad: str) -> None:
        index = op.attr("arg_index")
        if not isinstance(index, IntAttr):
            raise _err(op, "arg_index must be an integer")
        if op.result_types[0].startswith("!ttkernel.cb<"):
            # CB ids are compile-time constants: declare each used one once at the top of kernel_main.
            if not self.uses.get(op.results[0]):
                return
            name = self.cbs.get(index.value)
            if name is None:
                name = self._fresh(self._cb_name(index.value))
                self.cbs[index.value] = name
            self.names[op.results[0]] = name
            return
        ty = self._type(op, op.result_types[0])
        out.append(f"{pad}constexpr {ty} {self.define(op.results[0])} = get_compile_time_arg_val({index.value});")

    def _accessor_args(self, op: Op, out: list[str], pad: str) -> None:
        """``constexpr auto a = TensorAccessorArgs<cta, crta>();`` or chained from the previous args."""
        segments = op.attr("operandSegmentSizes")
        counts = segments.values if isinstance(segments, DenseArrayAttr) else None
        if counts == (1, 1, 0):
            cta, crta = (self.constant_value(op, v) for v in op.operands)
            template = f"{cta}, {crta}"
        elif counts == (0, 0, 1):
            prev = self.ref(op, op.operands[0])
            template = f"{prev}.next_compile_time_args_offset(), {prev}.next_common_runtime_args_offset()"
        else:
            raise _err(op, "operandSegmentSizes must be array<i32: 1, 1, 0> or array<i32: 0, 0, 1>")
        self.declare(op, f"TensorAccessorArgs<{template}>()", pad, out, ty="constexpr auto")


def translate_to_cpp(mlir_text: str) -> dict[str, str]:
    """Map each ``func.func`` with a ``ttkernel.thread`` attribute to its C++ kernel source."""
    module = parse_module(mlir_text)
    out: dict[str, str] = {}
    for func in module.funcs():
        thread = func.attributes.get("ttkernel.thread")
        if not isinstance(thread, EnumAttr) or thread.kind != "ttkernel.thread":
            continue
        out[func_name(func)] = _FuncTranslator(func, thread.value).translate()
    return out
