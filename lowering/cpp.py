"""Translate a TTKernel MLIR module into tt-metal C++ kernels.

Mirrors what tt-mlir's ``--convert-ttkernel-to-emitc`` + ``--ttkernel-to-cpp`` produce for
the subset in docs/mlir-subset.md: one ``void kernel_main()`` per thread function, each
TTKernel op a call of the same name (enum attributes become template arguments), CBs as
``get_compile_time_arg_val(N)`` constants, ``scf.for`` as a ``for`` loop, and per-callee
include headers (the callee -> header facts come from tt-mlir's
``include/ttmlir/Target/TTKernel/TTKernelIncludesMap.h``). The module is read with the
simulator's parser, so anything the simulator accepts can be translated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from tteqsat.mlir_text.ir import Block, EnumAttr, FloatAttr, IntAttr, Op, bits_to_f32, func_body, func_name
from tteqsat.mlir_text.parser import parse_module

_COMPUTE = "api/compute/"
_DATAFLOW_HEADER = "api/dataflow/dataflow_api.h"
_EXP = _COMPUTE + "eltwise_unary/exp.h"
_BINOP_SCALAR = _COMPUTE + "eltwise_unary/binop_with_scalar.h"
_API = _COMPUTE + "compute_kernel_api.h"
_SFPU_BINARY = _COMPUTE + "eltwise_binary_sfpu.h"

_HEADERS: dict[str, str] = {
    "compute_kernel_hw_startup": _COMPUTE + "compute_kernel_hw_startup.h",
    "init_sfpu": _COMPUTE + "eltwise_unary/eltwise_unary.h",
    "unary_op_init_common": _COMPUTE + "eltwise_unary/eltwise_unary.h",
    "binary_op_init_common": _COMPUTE + "eltwise_binary.h",
    "get_arg_val": _COMPUTE + "common.h",
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
    "add_tiles": _COMPUTE + "eltwise_binary.h",
    "add_tiles_init": _COMPUTE + "eltwise_binary.h",
    "sub_tiles": _COMPUTE + "eltwise_binary.h",
    "sub_tiles_init": _COMPUTE + "eltwise_binary.h",
    "mul_tiles": _COMPUTE + "eltwise_binary.h",
    "mul_tiles_init": _COMPUTE + "eltwise_binary.h",
    "binary_dest_reuse_tiles": _COMPUTE + "eltwise_binary.h",
    "binary_dest_reuse_tiles_init": _COMPUTE + "eltwise_binary.h",
    "mm_init": _COMPUTE + "matmul.h",
    "mm_init_short": _COMPUTE + "matmul.h",
    "matmul_tiles": _COMPUTE + "matmul.h",
    "reduce_init": _COMPUTE + "reduce.h",
    "reduce_tile": _COMPUTE + "reduce.h",
    "reduce_uninit": _COMPUTE + "reduce.h",
    "unary_bcast": _COMPUTE + "bcast.h",
    "unary_bcast_init": _COMPUTE + "bcast.h",
    "transpose_wh_init": _COMPUTE + "transpose_wh.h",
    "transpose_wh_tile": _COMPUTE + "transpose_wh.h",
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
    "tanh_tile": _COMPUTE + "eltwise_unary/trigonometry.h",
    "tanh_tile_init": _COMPUTE + "eltwise_unary/trigonometry.h",
    "fill_tile": _COMPUTE + "eltwise_unary/fill.h",
    "fill_tile_init": _COMPUTE + "eltwise_unary/fill.h",
    "pack_reconfig_l1_acc": _COMPUTE + "pack.h",
    "matmul_block": _COMPUTE + "matmul.h",
    "mm_block_init_short": _COMPUTE + "matmul.h",
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
    **{f"{k}_binary_tile{s}": _SFPU_BINARY for k in ("add", "sub", "mul", "div") for s in ("", "_init")},
    **{
        f"{k}{s}": _API
        for k in ("log_tile", "abs_tile", "sigmoid_tile", "silu_tile", "square_tile")
        for s in ("", "_init")
    },
}
"""Compute API header of each callee (facts from tt-mlir's TTKernelIncludesMap.h)."""

_SCALAR_TYPES = {
    "index": "size_t",
    "i1": "bool",
    "i32": "int32_t",
    "i64": "int64_t",
    "f32": "float",
    "!ttkernel.DataFormat": "DataFormat",
    "!ttkernel.interleaved_addr_gen_fast": "InterleavedAddrGenFast<true>",
    "!ttkernel.noc_addr": "uint64_t",
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
_BIT_PATTERN_PARAMS = {"add_unary_tile": 1, "sub_unary_tile": 1, "mul_unary_tile": 1, "div_unary_tile": 1}
"""Callee -> operand position that is an fp32 bit pattern (printed as a hex literal)."""
_ONE_BITS = 0x3F800000

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


class _FuncTranslator:
    def __init__(self, func: Op, thread: str) -> None:
        self.func = func
        self.thread = thread
        self.names: dict[str, str] = {}
        self.used: set[str] = set()
        self.cbs: dict[int, str] = {}
        self.headers: set[str] = set()
        self.needs_infinity = False
        self.bit_pattern_values = self._bit_pattern_values()

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

    def _bit_pattern_values(self) -> set[str]:
        """SSA values used only as fp32 bit-pattern operands (printed as hex)."""
        uses: dict[str, list[bool]] = {}
        for op in _walk(func_body(self.func)):
            callee = op.name.removeprefix("ttkernel.")
            position = _BIT_PATTERN_PARAMS.get(callee) if op.name.startswith("ttkernel.") else None
            for k, operand in enumerate(op.operands):
                uses.setdefault(operand, []).append(k == position)
        return {v for v, flags in uses.items() if flags and all(flags)}

    # -- translation -----------------------------------------------------------------------
    def translate(self) -> str:
        body: list[str] = []
        self._block(func_body(self.func), body, 1)
        lines = [
            f"// {func_name(self.func)}",
            "#include <cstdint>",
            '#include "tools/profiler/kernel_profiler.hpp"',
        ]
        headers = set(self.headers)
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
            out.append(pad + self._constant(op))
            return
        if name in _BINARY_OPERATORS:
            a, b = (self.ref(op, v) for v in op.operands)
            ty = self._type(op, op.result_types[0])
            out.append(f"{pad}{ty} {self.define(op.results[0])} = {a} {_BINARY_OPERATORS[name]} {b};")
            return
        if name in ("arith.minui", "arith.maxui"):
            a, b = (self.ref(op, v) for v in op.operands)
            ty = self._type(op, op.result_types[0])
            cmp = "<" if name == "arith.minui" else ">"
            out.append(f"{pad}{ty} {self.define(op.results[0])} = ({a} {cmp} {b}) ? {a} : {b};")
            return
        if name == "arith.index_cast":
            ty = self._type(op, op.result_types[0])
            out.append(f"{pad}{ty} {self.define(op.results[0])} = ({ty}) {self.ref(op, op.operands[0])};")
            return
        if not name.startswith("ttkernel."):
            raise _err(op, "unsupported op for C++ translation")
        callee = name.removeprefix("ttkernel.")
        if callee == "get_compile_time_arg_val":
            self._compile_time_arg(op, out, pad)
            return
        if callee == "get_interleaved_addr_gen_fast":
            self._addr_gen(op, out, pad)
            return
        if self.thread == "compute":
            header = _HEADERS.get(callee)
            if header is None:
                raise _err(op, "no known tt-metal compute API header for this op")
            self.headers.add(header)
        template, extra = self._template(op, callee)
        args = [self.ref(op, v) for v in op.operands] + extra
        call = f"{callee}{template}({', '.join(args)})"
        if not op.results:
            out.append(f"{pad}{call};")
        elif len(op.results) == 1:
            out.append(f"{pad}{self._type(op, op.result_types[0])} {self.define(op.results[0])} = {call};")
        else:
            raise _err(op, "ops with several results are not supported")

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
        if callee in ("exp_tile_init", "exp_tile"):
            approx = "true" if op.attr("approx") is True else "false"
            scale = op.attr("scale")
            if callee == "exp_tile" and isinstance(scale, IntAttr) and scale.value & 0xFFFFFFFF != _ONE_BITS:
                bits = scale.value & 0xFFFFFFFF
                return f"<{approx}, true>", ["VectorMode::RC", f"0x{bits:08x}u"]
            return f"<{approx}>", []
        return "", []

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
        out.append(f"{pad}for (size_t {iv} = {lb}; {iv} < {ub}; {iv} += {step}) {{")
        self._block(op.regions[0], out, depth + 1)
        out.append(pad + "}")

    def _compile_time_arg(self, op: Op, out: list[str], pad: str) -> None:
        index = op.attr("arg_index")
        if not isinstance(index, IntAttr):
            raise _err(op, "arg_index must be an integer")
        if op.result_types[0].startswith("!ttkernel.cb<"):
            # CB ids are compile-time constants: declare each once at the top of kernel_main.
            name = self.cbs.get(index.value)
            if name is None:
                name = self._fresh(f"cb_{index.value}")
                self.cbs[index.value] = name
            self.names[op.results[0]] = name
            return
        ty = self._type(op, op.result_types[0])
        out.append(
            f"{pad}constexpr {ty} {self.define(op.results[0])} = get_compile_time_arg_val({index.value});"
        )

    def _addr_gen(self, op: Op, out: list[str], pad: str) -> None:
        _, base, page, fmt = (self.ref(op, v) for v in op.operands)
        name = self.define(op.results[0])
        out.append(f"{pad}InterleavedAddrGenFast<true> {name};")
        out.append(f"{pad}{name}.bank_base_address = {base};")
        out.append(f"{pad}{name}.page_size = {page};")
        out.append(f"{pad}{name}.data_format = {fmt};")


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
