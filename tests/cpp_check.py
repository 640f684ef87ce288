"""Maps every statement of a translated C++ kernel back to the MLIR op it came from, and checks its content.

Independent of `tteqsat.lowering.cpp`: this module states, op by op, what current tt-metal C++ a TTKernel op
must become (callee, template arguments, call arguments in order), with C++ default arguments expanded
before comparing, and walks the MLIR ops and the C++ statements in lockstep. Every C++ statement must come
from one op, every op that prints must print what the table says, and every SSA value must be the C++
variable its defining statement declared. `check(mlir_text, cpp)` returns the problems ([] when the C++ is
right).

Index arithmetic: `index` values are `size_t`; the signed ops must compare and divide them as `ptrdiff_t`
(a plain `size_t` `<` or `/` is wrong once a value is negative), floor and ceil division must call the file's
helper (C++ `/` truncates; what the helper computes is checked by running it, tests/test_cpp_masks.py), and an
`scf.for` whose bounds are not both non-negative constants must compare signed, as scf.for does.
"""

from __future__ import annotations

import math
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tteqsat.mlir_text.argspec import parse_arg_spec
from tteqsat.mlir_text.ir import DenseArrayAttr, EnumAttr, FloatAttr, IntAttr, Op, OpaqueAttr, func_body, func_name
from tteqsat.mlir_text.parser import parse_module

STUBS = Path(__file__).resolve().parent / "cpp_stubs"
"""Declarations with tt-metal's signatures (tests/cpp_stubs/README.md says where each comes from)."""
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")


def compile_cpp(tmp_path: Path, sources: dict[str, str]) -> subprocess.CompletedProcess:
    """``g++ -std=c++17 -fsyntax-only -Werror -Wall`` of each source (written to `tmp_path`) against the stubs."""
    paths = []
    for name, src in sorted(sources.items()):
        path = tmp_path / f"{name}.cpp"
        path.write_text(src)
        paths.append(str(path))
    return subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Werror", "-Wall", "-I", str(STUBS), *paths],
                          capture_output=True, text=True, check=False)


TYPES = {"index": "size_t", "i1": "bool", "i8": "int8_t", "i32": "int32_t", "i64": "int64_t", "f32": "float",
         "!ttkernel.noc_addr": "uint64_t", "!ttkernel.local_semaphore": "uint32_t",
         "!ttkernel.l1_addr_ptr": "tt_l1_ptr uint32_t*"}
ARITH = {"arith.addi": "+", "arith.subi": "-", "arith.muli": "*", "arith.divsi": "/", "arith.remsi": "%",
         "arith.divui": "/", "arith.remui": "%"}
SIGNED = "ptrdiff_t"  # the signed type of size_t's width
MIN_MAX = {"arith.maxsi": ">", "arith.minsi": "<", "arith.maxui": ">", "arith.minui": "<"}
ROUNDING = {"arith.floordivsi": "tteqsat_floordivsi", "arith.ceildivsi": "tteqsat_ceildivsi"}
POOL = {"reduce_sum": "PoolType::SUM", "reduce_max": "PoolType::MAX", "reduce_avg": "PoolType::AVG"}
DIM = {"reduce_dim_row": "ReduceDim::REDUCE_ROW", "reduce_dim_col": "ReduceDim::REDUCE_COL",
       "reduce_dim_scalar": "ReduceDim::REDUCE_SCALAR"}
BCAST = {"col": "BroadcastType::COL", "row": "BroadcastType::ROW", "scalar": "BroadcastType::SCALAR",
         "none": "BroadcastType::NONE"}
ELTWISE = {"add": "EltwiseBinaryType::ELWADD", "sub": "EltwiseBinaryType::ELWSUB", "mul": "EltwiseBinaryType::ELWMUL"}
REUSE = {"dest_to_srca": "EltwiseBinaryReuseDestType::DEST_TO_SRCA",
         "dest_to_srcb": "EltwiseBinaryReuseDestType::DEST_TO_SRCB"}
FORMAT = {"bf16": "DataFormat::Float16_b", "f32": "DataFormat::Float32"}
CLAMP = {"none": "InputClamping::None", "clamp_to_negative": "InputClamping::ClampToNegative"}
ONE = 0x3F800000

# tt-metal's default template / call arguments (tests/cpp_stubs), so that `pack_tile(d, cb)` equals
# `pack_tile<false>(d, cb, 0)`: callee -> (template defaults, call-argument defaults from the right).
DEFAULTS: dict[str, tuple[list[object], list[object]]] = {
    "pack_tile": ([False], [0]),
    "exp_tile_init": ([False, ONE, "InputClamping::ClampToNegative"], []),
    "exp_tile": ([False, False, "InputClamping::ClampToNegative", 8], ["VectorMode::RC", 0x3F80]),
    "noc_async_read_page": ([], [0, None]),  # offset, noc (None: the kernel's default NoC)
    "noc_async_write_page": ([], [0, 0, None]),  # size (0 = page size), offset, noc
    "noc_async_read_barrier": ([], [None]),
    "noc_async_write_barrier": ([], [None]),
    "matmul_init": ([], [0]),
}


@dataclass
class Call:
    callee: str
    template: list[object]
    args: list[object]


def _split(text: str) -> list[str]:
    """Split on top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "(<[{":
            depth += 1
        elif ch in ")>]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _value(token: str) -> object:
    """A literal as a value (ints in any spelling, bools); anything else stays text."""
    t = token.strip()
    if t in ("true", "false"):
        return t == "true"
    m = re.fullmatch(r"(?:\(uint16_t\)\s*)?(0x[0-9a-fA-F]+|-?\d+)[uU]?", t)
    if m:
        return int(m.group(1), 0)
    return t


def parse_call(text: str) -> Call | None:
    m = re.match(r"^([\w:]+)", text)
    if not m:
        return None
    name, rest = m.group(1), text[m.end():]
    template: list[object] = []
    if rest.startswith("<"):
        depth = 0
        for i, ch in enumerate(rest):
            depth += ch == "<"
            depth -= ch == ">"
            if depth == 0:
                template = [_value(t) for t in _split(rest[1:i])]
                rest = rest[i + 1:]
                break
    if not (rest.startswith("(") and rest.endswith(")")):
        return None
    return Call(name, template, [_value(a) for a in _split(rest[1:-1])])


def _expand(call: Call) -> Call:
    tmpl_defaults, arg_defaults = DEFAULTS.get(call.callee, ([], []))
    template = call.template + tmpl_defaults[len(call.template):]
    return Call(call.callee, template, call.args)


def _same_args(got: list[object], want: list[object], defaults: list[object]) -> bool:
    """Equal once the arguments ``got`` leaves out are filled with the callee's trailing defaults."""
    n = len(want)
    if len(got) > n:
        return False
    first_default = n - len(defaults)
    full = list(got)
    for i in range(len(got), n):
        if i < first_default:
            return False
        full.append(defaults[i - first_default])
    return full == want


def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


class _Checker:
    def __init__(self, func: Op, cpp: str) -> None:
        self.func = func
        self.where = func_name(func)
        self.problems: list[str] = []
        self.preamble = cpp[:cpp.index("void kernel_main() {")]
        start = cpp.index("void kernel_main() {") + len("void kernel_main() {")
        body = cpp[start:cpp.rindex("}")]
        lines = (re.sub(r"\s*//.*$", "", line).strip() for line in body.splitlines())
        self.lines = [line for line in lines if line]
        self.pos = 0
        self.names: dict[str, str] = {}
        self.consts: dict[str, Op] = {}
        attr = func.attributes.get("ttkernel.arg_spec")
        self.spec = parse_arg_spec(attr.text) if isinstance(attr, OpaqueAttr) else None
        self.uses: dict[str, int] = {}
        self._scan(func_body(func).ops)
        self.cbs: dict[int, str] = {}
        while self.pos < len(self.lines):
            m = re.fullmatch(r"constexpr uint32_t (\w+) = get_compile_time_arg_val\((\d+)\);", self.lines[self.pos])
            if not m:
                break
            self.cbs[int(m.group(2))] = m.group(1)
            self.pos += 1

    def _scan(self, ops: list[Op]) -> None:
        for op in ops:
            if op.name == "arith.constant":
                self.consts[op.results[0]] = op
            # Values a C++ statement names: TensorAccessorArgs' literal bases are template arguments, and
            # transpose_init takes no output CB.
            if not (op.name == "ttkernel.TensorAccessorArgs" and len(op.operands) == 2):
                named = op.operands[:1] if op.name == "ttkernel.transpose_wh_init" else op.operands
                for v in named:
                    self.uses[v] = self.uses.get(v, 0) + 1
            for block in op.regions:
                self._scan(block.ops)

    def problem(self, op: Op, message: str) -> None:
        self.problems.append(f"{self.where}: line {op.line}: {op.name}: {message}")

    def next_line(self, op: Op) -> str | None:
        if self.pos >= len(self.lines):
            self.problem(op, "no C++ statement left for this op")
            return None
        line = self.lines[self.pos]
        self.pos += 1
        return line

    def name(self, op: Op, ssa: str) -> str:
        return self.names.get(ssa, f"<undefined {ssa}>")

    def run(self) -> list[str]:
        self.block(func_body(self.func).ops)
        for line in self.lines[self.pos:]:
            self.problems.append(f"{self.where}: C++ statement {line!r} comes from no MLIR op")
        return self.problems

    def block(self, ops: list[Op]) -> None:
        for op in ops:
            if self.problems:
                return  # after the first mismatch the lockstep is lost
            self.op(op)

    # -- one op ------------------------------------------------------------------------------------
    def declared(self, op: Op, ty: str | None, rhs_check) -> None:
        """The op's statement ``[[maybe_unused]] <ty> <name> = <rhs>;`` (or ``<rhs>;`` with no result)."""
        line = self.next_line(op)
        if line is None:
            return
        if not line.endswith(";"):
            self.problem(op, f"expected a statement, got {line!r}")
            return
        line = line[:-1].removeprefix("[[maybe_unused]] ")
        if op.results:
            m = re.fullmatch(r"(.+?) (\w+) = (.+)", line)
            if m is None:
                self.problem(op, f"expected a declaration of {op.results[0]}, got {line!r}")
                return
            if ty is not None and m.group(1) != ty:
                self.problem(op, f"declares {m.group(2)} as {m.group(1)}, expected {ty}")
            self.names[op.results[0]] = m.group(2)
            rhs = m.group(3)
        else:
            rhs = line
        why = rhs_check(rhs)
        if why:
            self.problem(op, why)

    def op(self, op: Op) -> None:
        name = op.name
        if name in ("scf.yield", "func.return"):
            return
        if name == "scf.for":
            line = self.next_line(op)
            lb, ub, step = (self.name(op, v) for v in op.operands)
            iv = op.regions[0].args[0][0]
            signed = not all(self.non_negative_constant(v) for v in op.operands[:2])
            test = rf"\({SIGNED}\) \1 < \({SIGNED}\) (\w+)" if signed else r"\1 < (\w+)"
            m = re.fullmatch(rf"for \(size_t (\w+) = (\w+); {test}; \1 \+= (\w+)\) \{{", line or "")
            if m is None or (m.group(2), m.group(3), m.group(4)) != (lb, ub, step):
                how = "signed" if signed else "unsigned"
                self.problem(op, f"expected for ({lb} .. {ub} step {step}) compared {how}, got {line!r}")
                return
            self.names[iv] = m.group(1)
            self.block(op.regions[0].ops)
            end = self.next_line(op)
            if end != "}":
                self.problem(op, f"loop body does not close where the region ends ({end!r})")
            return
        if name == "arith.constant":
            if self.uses.get(op.results[0]):
                self.constant(op)
            return
        if name in ARITH or name in MIN_MAX or name in ROUNDING or name == "arith.index_cast":
            want = self.arith(op)
            ty = TYPES.get(op.result_types[0])
            self.declared(op, ty, lambda rhs: "" if rhs == want else f"computes {rhs!r}, expected {want!r}")
            return
        if name == "ttkernel.get_compile_time_arg_val" and op.result_types[0].startswith("!ttkernel.cb<"):
            index = op.attr("arg_index").value  # type: ignore[union-attr]
            if self.uses.get(op.results[0]):
                if index not in self.cbs:
                    self.problem(op, f"no C++ constant for compile-time arg {index}")
                    return
                entry = self.spec.ct_args[index] if self.spec and index < len(self.spec.ct_args) else None
                if entry is not None and self.cbs[index] != f"cb_{entry.operand_index}":
                    self.problem(op, f"compile-time arg {index} is CB port {entry.operand_index} but is named "
                                 f"{self.cbs[index]}")
                self.names[op.results[0]] = self.cbs[index]
            return
        if name.startswith("ttkernel."):
            self.ttkernel(op)
            return
        self.problem(op, "op the checker does not know")

    def arith(self, op: Op) -> str:
        """The C++ expression an arith op must be (operands by their C++ names)."""
        name = op.name
        a = [self.name(op, v) for v in op.operands]
        ty = TYPES.get(op.result_types[0], "?")
        if name == "arith.index_cast":
            return f"({ty}) {a[0]}"
        signed = name.endswith("si") and op.result_types[0] == "index"
        s = [f"({SIGNED}) {x}" for x in a] if signed else a
        if name in MIN_MAX:
            return f"({s[0]} {MIN_MAX[name]} {s[1]}) ? {a[0]} : {a[1]}"
        if name in ROUNDING:
            helper = ROUNDING[name]
            if not re.search(rf"\binline {SIGNED} {helper}\({SIGNED} a, {SIGNED} b\) \{{", self.preamble):
                self.problem(op, f"the file does not define {helper}")
            return f"({ty}) {helper}({s[0]}, {s[1]})"
        if signed:
            return f"({ty}) ({s[0]} {ARITH[name]} {s[1]})"
        return f"{a[0]} {ARITH[name]} {a[1]}"

    def non_negative_constant(self, ssa: str) -> bool:
        const = self.consts.get(ssa)
        value = const.attr("value") if const is not None else None
        return isinstance(value, IntAttr) and value.value >= 0

    def constant(self, op: Op) -> None:
        attr = op.attr("value")
        ty = op.result_types[0]

        def check(rhs: str) -> str:
            got = _value(rhs)
            if isinstance(attr, IntAttr):
                want = attr.value & 0xFFFFFFFF if isinstance(got, int) and rhs.startswith("0x") else attr.value
                return "" if got == want else f"constant {rhs!r}, expected {attr.value}"
            if isinstance(attr, bool):
                return "" if got is attr else f"constant {rhs!r}, expected {attr}"
            if isinstance(attr, FloatAttr):
                special = {"INFINITY": math.inf, "-INFINITY": -math.inf, "NAN": math.nan}
                try:
                    value = special[rhs] if rhs in special else float(rhs.removesuffix("f"))
                except ValueError:
                    return f"constant {rhs!r} is not a float literal"
                same = _f32(value) == _f32(attr.value) or (math.isnan(value) and math.isnan(attr.value))
                return "" if same else f"constant {rhs!r}, expected {attr.value!r}"
            return f"unexpected constant {attr!r}"

        line = self.lines[self.pos] if self.pos < len(self.lines) else ""
        bit_pattern = line.startswith("uint32_t ") and ty == "i32"  # an fp32 parameter printed in hex
        self.declared(op, "uint32_t" if bit_pattern else TYPES.get(ty), check)

    def ttkernel(self, op: Op) -> None:
        want = self.expected(op)
        if want is None:
            return
        for k, call in enumerate(want):
            ty = None
            if op.results and k == len(want) - 1:
                ty = {"TensorAccessorArgs": "constexpr auto", "TensorAccessor": "const auto"}.get(
                    call.callee, TYPES.get(op.result_types[0]))
                if call.callee == "get_compile_time_arg_val":
                    ty = "constexpr " + (ty or "")
            self.declared(op, ty, lambda rhs, call=call: self.compare(rhs, call))

    def compare(self, rhs: str, want: Call) -> str:
        got = parse_call(rhs)
        if got is None:
            return f"expected a call of {want.callee}, got {rhs!r}"
        if got.callee != want.callee:
            return f"calls {got.callee}, expected {want.callee}"
        got = _expand(got)
        expected = _expand(want)
        if got.template != expected.template:
            return f"{want.callee}: template arguments {got.template}, expected {expected.template}"
        defaults = DEFAULTS.get(want.callee, ([], []))[1]
        if not _same_args(got.args, want.args, defaults):
            return f"{want.callee}: arguments {got.args}, expected {want.args}"
        return ""

    def expected(self, op: Op) -> list[Call] | None:
        """What the op must become in current tt-metal C++ (independent of the translator)."""
        name = op.name.removeprefix("ttkernel.")
        a: list[object] = [self.name(op, v) for v in op.operands]
        if name in ("mm_init", "mm_block_init"):
            init = "matmul_init" if name == "mm_init" else "matmul_block_init"
            return [Call("compute_kernel_hw_startup", ["SrcOrder::Reverse"], a[:3]), Call(init, [], a[:2] + a[3:])]
        if name == "mm_init_short":
            return [Call("matmul_init", [], a)]
        if name == "mm_block_init_short":
            return [Call("matmul_block_init", [], a)]
        if name == "transpose_wh_init":
            return [Call("transpose_init", [], a[:1])]
        if name == "transpose_wh_tile":
            return [Call("transpose_tile", [], a)]
        if name in ("noc_async_read_tile", "noc_async_write_tile"):
            callee = name.replace("_tile", "_page")
            pad = [0] if name == "noc_async_read_tile" else [0, 0]
            return [Call(callee, [], a[:3] + pad + (a[3:] or [None]))]
        if name == "reinterpret_cast":  # tt-mlir's TTKernelToEmitC: a 32-bit L1 pointer
            return [Call(name, ["tt_l1_ptr uint32_t*"], a)]
        if name == "experimental.semaphore_wait":  # the classic tt-metal call
            return [Call("noc_semaphore_wait", [], a)]
        if name == "noc_async_write_multicast":  # classic: (src, multicast NoC address, size, num_dests, linked, noc)
            mcast = f"get_noc_multicast_addr({', '.join(map(str, a[3:8] + a[8:]))})"
            return [Call(name, [], [a[0], mcast, a[1], a[2], op.attr("linked") is True, *a[8:]])]
        if name in ("noc_async_read_barrier", "noc_async_write_barrier"):
            return [Call(name, [], a or [None])]
        if name in ("reduce_init", "reduce_tile"):
            return [Call(name, [POOL[self.enum(op, "reduce_type")], DIM[self.enum(op, "reduce_dim")]], a)]
        if name in ("unary_bcast_init", "unary_bcast"):
            return [Call(name, [BCAST[self.enum(op, "bcast_type")]], a)]
        if name in ("binary_dest_reuse_tiles_init", "binary_dest_reuse_tiles"):
            return [Call(name, [ELTWISE[self.enum(op, "eltwise_binary_type")], REUSE[self.enum(op, "reuse_type")]],
                         a)]
        if name in ("get_arg_val", "get_common_arg_val"):
            return [Call(name, ["uint32_t"], a)]
        if name == "pack_tile":
            return [Call(name, [op.attr("out_of_order") is True], a)]
        if name == "copy_dest_values":
            return [Call(name, [FORMAT[self.enum(op, "data_format")]], a)]
        if name == "where_tile":  # where_tile<DataFormat>: the op's dtype
            return [Call(name, [FORMAT.get(self.enum(op, "dtype"), "<dtype>")], a)]
        if name == "experimental.fill_arange_tile":  # tt-mlir's LLK, templated on the CB's tile format
            m = re.search(r"!ttcore\.tile<32x32, (\w+)>", op.operand_types[0])
            return [Call("experimental::fill_arange_tile", [FORMAT.get(m.group(1) if m else "", "<tile dtype>")], a)]
        if name == "exp_tile_init":
            clamp = CLAMP[self.enum(op, "input_clamping")] if op.attr("input_clamping") else \
                "InputClamping::ClampToNegative"
            return [Call(name, [op.attr("approx") is True, self.scale(op), clamp], [])]
        if name == "exp_tile":
            bits = self.scale(op)
            clamp = CLAMP[self.enum(op, "input_clamping")] if op.attr("input_clamping") else \
                "InputClamping::ClampToNegative"
            iterations = op.attr("iterations")
            its = iterations.value if isinstance(iterations, IntAttr) else 8
            args = a + ["VectorMode::RC", bits >> 16 if bits != ONE else 0x3F80]
            return [Call(name, [op.attr("approx") is True, bits != ONE, clamp, its], args)]
        if name == "get_compile_time_arg_val":
            return [Call(name, [], [op.attr("arg_index").value])]  # type: ignore[union-attr]
        if name == "TensorAccessorArgs":
            counts = op.attr("operandSegmentSizes")
            if isinstance(counts, DenseArrayAttr) and counts.values == (1, 1, 0):
                values = [self.consts[v].attr("value").value for v in op.operands]  # type: ignore[union-attr]
                return [Call(name, values, [])]
            prev = a[0]
            return [Call(name, [f"{prev}.next_compile_time_args_offset()",
                                f"{prev}.next_common_runtime_args_offset()"], [])]
        return [Call(name, [], a)]

    def enum(self, op: Op, key: str) -> str:
        attr = op.attr(key)
        return attr.value if isinstance(attr, EnumAttr) else f"<missing {key}>"

    def scale(self, op: Op) -> int:
        attr = op.attr("scale")
        return attr.value & 0xFFFFFFFF if isinstance(attr, IntAttr) else ONE


def check(mlir_text: str, cpp: dict[str, str]) -> list[str]:
    """Problems with the C++ of every kernel function of ``mlir_text`` ([] when each maps back exactly)."""
    problems: list[str] = []
    for func in parse_module(mlir_text).funcs():
        if "ttkernel.thread" not in func.attributes:
            continue
        name = func_name(func)
        if name not in cpp:
            problems.append(f"{name}: no C++ file")
            continue
        problems += _Checker(func, cpp[name]).run()
    return problems
