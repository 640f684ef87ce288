# ruff: noqa: E501  (MLIR op lines are long by nature)
"""Masked attention (causal and sliding window) to C++: the mask ops and the signed index arithmetic.

The kernels: softmax(where(mask, q @ k.T / 8, -inf)) @ v with a causal mask (streamed at S = 1024, fused at
S = 256) and a 256-wide sliding window (streamed at S = 512), in bf16 and fp32. Their modules conform to tt-mlir main, their C++
maps back to the MLIR (`cpp_check`) and compiles against the stubs. The index arithmetic the live loops and the
mask tiles use (signed min / max, floor / ceil division, loops from a runtime lower bound) is compiled with
g++ and run on the host against `item_index.Integers`, the Python the scheduler priced. Deliberately broken
translations show each new check failing.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import cpp_check
import mlir_samples as ms
import numpy as np
import pytest

import tteqsat as tq
from tteqsat.frontend.masks import Mask
from tteqsat.lowering import cpp as cpp_module
from tteqsat.lowering.conformance import EMITTED_OPS, check_module
from tteqsat.lowering.cpp import CppTranslationError, translate_to_cpp
from tteqsat.lowering.item_index import Integers, live_range, mask_tile
from tteqsat.mlir_text.parser import parse_module
from tteqsat.scheduling.model import MaskIndex

STUBS, needs_gxx, compile_cpp = cpp_check.STUBS, cpp_check.needs_gxx, cpp_check.compile_cpp

WINDOW = 256
SIZES = {("causal", "streaming"): 1024, ("window", "streaming"): 512, ("causal", "fused"): 256}
"""S per kernel. The window streams at 512 (8 of its 16 row blocks start their live chunks after 0, as at 1024)
to keep this file's optimizations at about 15 s."""
CASES = [(kind, form, dtype) for kind, form in SIZES for dtype in ("bf16", "fp32")]


def attention(kind: str, size: int, dtype: str) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (size, 64), dtype) for n in "qkv")
    mask = tq.tri(size, size) & ~tq.tri(size, size, k=-WINDOW) if kind == "window" else tq.tri(size, size)
    return tq.kernel(kind, tq.softmax(tq.where(mask, q @ k.T * 0.125, -np.inf)) @ v)


@pytest.fixture(scope="module")
def masked() -> dict[str, str]:
    """``"kind/form/dtype"`` -> emitted MLIR (wormhole_b0)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, form, dtype in CASES:
            kernel = attention(kind, SIZES[kind, form], dtype)
            out[f"{kind}/{form}/{dtype}"] = tq.optimize(kernel, "wormhole_b0", form=form).to_mlir()
    return out


@pytest.fixture(scope="module")
def masked_cpp(masked: dict[str, str]) -> dict[str, dict[str, str]]:
    return {key: translate_to_cpp(text) for key, text in masked.items()}


def _ops(text: str) -> list:
    out = []

    def walk(ops: list) -> None:
        for op in ops:
            out.append(op)
            for block in op.regions:
                walk(block.ops)

    for func in parse_module(text).funcs():
        walk(func.regions[0].ops)
    return out


# -- the kernels ----------------------------------------------------------------------------------------------


def test_masked_modules_conform_and_use_the_mask_ops(masked: dict[str, str]) -> None:
    for key, text in masked.items():
        assert check_module(text) == [], key
        ops = _ops(text)
        names = {op.name for op in ops}
        assert {n for n in names if n.startswith("ttkernel.")} <= set(EMITTED_OPS), key
        assert {"ttkernel.experimental.fill_arange_tile", "ttkernel.gez_tile", "ttkernel.where_tile",
                "arith.maxsi", "arith.minsi", "arith.subi"} <= names, key
        if key.startswith("window/"):  # the window's live chunks start after 0: floor division of the first column
            assert "arith.floordivsi" in names
        if "/streaming/" in key:  # a live loop from a computed lower bound
            assert "arith.ceildivsi" in names
            assert any(op.name == "scf.for" and not op.operands[0].startswith("%c") for op in ops), key


def test_masked_cpp_maps_back_to_its_mlir(masked: dict[str, str], masked_cpp: dict) -> None:
    problems = {key: p for key, text in masked.items() if (p := cpp_check.check(text, masked_cpp[key]))}
    assert problems == {}


@needs_gxx
def test_masked_cpp_compiles_against_the_stubs(tmp_path: Path, masked_cpp: dict) -> None:
    sources = {f"{key.replace('/', '_')}_{func}": src for key, cpp in masked_cpp.items() for func, src in cpp.items()}
    assert len(sources) == 3 * len(CASES)
    result = compile_cpp(tmp_path, sources)
    assert result.returncode == 0, result.stderr[:4000]


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_mask_calls_take_the_data_format_of_their_tiles(masked_cpp: dict, dtype: str) -> None:
    fmt = {"bf16": "DataFormat::Float16_b", "fp32": "DataFormat::Float32"}[dtype]
    src = masked_cpp[f"window/streaming/{dtype}"]["window_compute"]
    arange = [line.strip() for line in src.splitlines() if "fill_arange_tile" in line]
    assert len(arange) == 1 and arange[0].startswith(f"experimental::fill_arange_tile<{fmt}>(cb_")
    assert all(f"where_tile<{fmt}>(" in line for line in src.splitlines() if "where_tile(" in line or "where_tile<" in line)
    assert "gez_tile_init();" in src and '#include "api/compute/eltwise_unary/comp.h"' in src
    # tt-mlir's float_to_bits helper comes before the LLK header that calls it
    helper = src.index("inline uint32_t float_to_bits(const float f)")
    assert helper < src.index(f'#include "{cpp_module.PADDING_LLKS}"') < src.index("void kernel_main()")
    for func in ("window_reader", "window_compute"):  # both threads compute the live chunks
        text = masked_cpp[f"window/streaming/{dtype}"][func]
        assert "inline ptrdiff_t tteqsat_floordivsi(ptrdiff_t a, ptrdiff_t b) {" in text
        assert "inline ptrdiff_t tteqsat_ceildivsi(ptrdiff_t a, ptrdiff_t b) {" in text
        assert "#include <cstddef>" in text


# -- op forms --------------------------------------------------------------------------------------------------

ARITH_FORMS = """\
%a = "arith.constant"() <{value = -7 : index}> : () -> index
%b = "arith.constant"() <{value = 2 : index}> : () -> index
%x = "arith.constant"() <{value = -7 : i32}> : () -> i32
%y = "arith.constant"() <{value = 2 : i32}> : () -> i32
%f = "arith.floordivsi"(%a, %b) : (index, index) -> index
%g = "arith.ceildivsi"(%a, %b) : (index, index) -> index
%mx = "arith.maxsi"(%a, %b) : (index, index) -> index
%mn = "arith.minsi"(%a, %b) : (index, index) -> index
%q = "arith.divsi"(%a, %b) : (index, index) -> index
%r = "arith.remsi"(%a, %b) : (index, index) -> index
%s = "arith.subi"(%a, %b) : (index, index) -> index
%qi = "arith.divsi"(%x, %y) : (i32, i32) -> i32
%mi = "arith.maxsi"(%x, %y) : (i32, i32) -> i32
%fi = "arith.floordivsi"(%x, %y) : (i32, i32) -> i32
"scf.for"(%mn, %mx, %c1) ({
^bb0(%j: index):
  %ji = "arith.index_cast"(%j) : (index) -> i32
  "ttkernel.cb_push_back"(%cb0, %ji) : ($cb0, i32) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"scf.for"(%c0, %c2, %c1) ({
^bb0(%k: index):
  %sum = "arith.addi"(%f, %g) : (index, index) -> index
  %t = "arith.addi"(%sum, %q) : (index, index) -> index
  %u = "arith.addi"(%t, %r) : (index, index) -> index
  %w = "arith.addi"(%u, %s) : (index, index) -> index
  %wi = "arith.index_cast"(%w) : (index) -> i32
  %v = "arith.addi"(%qi, %mi) : (i32, i32) -> i32
  %vv = "arith.addi"(%v, %fi) : (i32, i32) -> i32
  "ttkernel.cb_push_back"(%cb0, %wi) : ($cb0, i32) -> ()
  "ttkernel.cb_push_back"(%cb0, %vv) : ($cb0, i32) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"""


def test_signed_index_ops_compare_and_divide_as_ptrdiff_t() -> None:
    text = ms.module("f", [], [ms.compute("f", {0: ms.cb_type(2)}, ARITH_FORMS)])
    ms.xdsl_check(text)
    src = translate_to_cpp(text)["f_compute"]
    for line in [
        "size_t a = -7;",
        "size_t f = (size_t) tteqsat_floordivsi((ptrdiff_t) a, (ptrdiff_t) b);",
        "size_t g = (size_t) tteqsat_ceildivsi((ptrdiff_t) a, (ptrdiff_t) b);",
        "size_t mx = ((ptrdiff_t) a > (ptrdiff_t) b) ? a : b;",
        "size_t mn = ((ptrdiff_t) a < (ptrdiff_t) b) ? a : b;",
        "size_t q = (size_t) ((ptrdiff_t) a / (ptrdiff_t) b);",
        "size_t r = (size_t) ((ptrdiff_t) a % (ptrdiff_t) b);",
        "size_t s = a - b;",  # two's complement: size_t wraps the same way
        "int32_t qi = x / y;",  # i32 is signed already
        "int32_t mi = (x > y) ? x : y;",
        "int32_t fi = (int32_t) tteqsat_floordivsi(x, y);",
        "for (size_t j = mn; (ptrdiff_t) j < (ptrdiff_t) mx; j += c1) {",  # scf.for compares signed
        "for (size_t k = c0; k < c2; k += c1) {",  # constant non-negative bounds: unsigned is the same
    ]:
        assert f"  {line}" in src, line
    assert src.index("#include <cstddef>") < src.index("inline ptrdiff_t tteqsat_ceildivsi")
    assert src.index("inline ptrdiff_t tteqsat_ceildivsi") < src.index("inline ptrdiff_t tteqsat_floordivsi")
    assert cpp_check.check(text, translate_to_cpp(text)) == []


@pytest.mark.parametrize("dtype", ["bf16", "f32"])
def test_fill_arange_tile_form(dtype: str) -> None:
    body = '"ttkernel.experimental.fill_arange_tile"(%cb2) : ($cb2) -> ()\n'
    text = ms.module("f", [], [ms.compute("f", {2: ms.cb_type(1, dtype)}, body)])
    ms.xdsl_check(text)
    src = translate_to_cpp(text)["f_compute"]
    fmt = {"bf16": "Float16_b", "f32": "Float32"}[dtype]
    assert f"  experimental::fill_arange_tile<DataFormat::{fmt}>(cb_2);" in src
    assert cpp_check.check(text, translate_to_cpp(text)) == []


def test_where_tile_without_dtype_and_fill_arange_on_a_row_major_cb_are_errors() -> None:
    body = ('"ttkernel.where_tile_init"() : () -> ()\n'
            '"ttkernel.where_tile"(%c0, %c1, %c2, %c0) : (index, index, index, index) -> ()\n')
    text = ms.module("f", [], [ms.compute("f", {0: ms.cb_type(2)}, body)])
    line = ms.line_of(text, '"ttkernel.where_tile"(')
    with pytest.raises(CppTranslationError, match=rf"^line {line}: ttkernel.where_tile: needs dtype"):
        translate_to_cpp(text)
    body = '"ttkernel.experimental.fill_arange_tile"(%cb0) : ($cb0) -> ()\n'
    text = ms.module("f", [], [ms.compute("f", {0: "!ttkernel.cb<1024, f32>"}, body)])
    with pytest.raises(CppTranslationError, match="its CB must hold tiles"):
        translate_to_cpp(text)


# -- the index arithmetic, run -----------------------------------------------------------------------------------


class _Python(Integers):
    """What the emitted index arithmetic computes, on Python ints (truncating divsi / remsi added)."""

    OPS = {**Integers.OPS,
           "divsi": lambda a, b: abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1),
           "remsi": lambda a, b: a - b * (abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1))}

    def __init__(self) -> None:
        self.pushed: list[int] = []

    def push(self, value: int) -> None:
        self.pushed.append(value)

    def loop(self, lo: int, hi: int, body: Callable[[int], None]) -> None:
        for j in range(lo, hi):
            body(j)


class _Mlir:
    """The same calls as MLIR ops of a compute body; `push` hands a value to ``cb_push_back`` (which the run
    harness records)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0
        self.depth = 0

    def _fresh(self) -> str:
        self.n += 1
        return f"%v{self.n}"

    def _op(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def const(self, value: int) -> str:
        name = self._fresh()
        self._op(f'{name} = "arith.constant"() <{{value = {value} : index}}> : () -> index')
        return name

    def arith(self, op: str, a: str, b: str) -> str:
        name = self._fresh()
        self._op(f'{name} = "arith.{op}"({a}, {b}) : (index, index) -> index')
        return name

    def push(self, value: str) -> None:
        name = self._fresh()
        self._op(f'{name} = "arith.index_cast"({value}) : (index) -> i32')
        self._op(f'"ttkernel.cb_push_back"(%cb0, {name}) : ($cb0, i32) -> ()')

    def loop(self, lo: str, hi: str, body: Callable[[str], None]) -> None:
        iv = self._fresh()
        self._op(f'"scf.for"({lo}, {hi}, %c1) ({{')
        self._op(f"^bb0({iv}: index):")
        self.depth += 1
        body(iv)
        self._op('"scf.yield"() : () -> ()')
        self.depth -= 1
        self._op("}) : (index, index, index) -> ()")


MASKS = ("1024x1024:tri(0)", "1024x1024:and(tri(0),not(tri(-256)))", "1024x1024:not(tri(100))")


def drive(ops) -> None:
    """Signed ops on negative operands, a loop from a negative lower bound, then the live chunks and mask tiles
    of three masks for every row block (32 rows per block, chunks of 256 columns, 8 tiles per chunk)."""
    for a, b in ((-7, 2), (7, -2), (-8, 2), (7, 2), (-1, 256), (0, 256), (255, 256), (-255, 256), (-256, 256)):
        x, y = ops.const(a), ops.const(b)
        for name in ("floordivsi", "ceildivsi", "divsi", "remsi", "maxsi", "minsi", "subi"):
            ops.push(ops.arith(name, x, y))
    ops.loop(ops.const(-2), ops.const(1), ops.push)
    for text in MASKS:
        diag = MaskIndex(1, 8, Mask.parse(text).tile_runs())

        def per_block(block, text=text, diag=diag):
            lo, hi = live_range(ops, (text, 32, 256), 32, 4, block)
            ops.push(lo)
            ops.push(hi)
            ops.loop(lo, hi, lambda chunk: ops.loop(
                ops.const(0), ops.const(8), lambda j: ops.push(mask_tile(ops, diag, block, chunk, ops.const(0), j))))

        ops.loop(ops.const(0), ops.const(32), per_block)


HARNESS_CB_API = """\
// Run harness: the compute CB calls, with cb_push_back recording its count (the value under test).
#pragma once
#include <vector>
#include "api/compute/common_globals.h"
namespace ckernel {
inline std::vector<int32_t> pushed;
ALWI void cb_wait_front(uint32_t, uint32_t) {}
ALWI void cb_pop_front(uint32_t, uint32_t) {}
ALWI void cb_reserve_back(uint32_t, uint32_t) {}
ALWI void cb_push_back(uint32_t, uint32_t n) { pushed.push_back(static_cast<int32_t>(n)); }
}  // namespace ckernel
"""
HARNESS_MAIN = """\
#include <cstdio>
#include "kernel.cpp"
int main() {
  kernel_main();
  for (int32_t v : ckernel::pushed) std::printf("%d\\n", v);
}
"""


def index_module() -> str:
    emit = _Mlir()
    drive(emit)
    return ms.module("ix", [], [ms.compute("ix", {0: ms.cb_type(2)}, "\n".join(emit.lines) + "\n")])


def run_index_arithmetic(tmp_path: Path, text: str) -> list[int]:
    """Translate `text`, compile its compute kernel for the host with the recording harness, run it."""
    (tmp_path / "harness" / "api" / "compute").mkdir(parents=True)
    (tmp_path / "harness" / "api" / "compute" / "cb_api.h").write_text(HARNESS_CB_API)
    (tmp_path / "kernel.cpp").write_text(translate_to_cpp(text)["ix_compute"])
    (tmp_path / "main.cpp").write_text(HARNESS_MAIN)
    exe = tmp_path / "run"
    build = subprocess.run(["g++", "-std=c++17", "-O1", "-Wall", "-Werror", "-I", str(tmp_path / "harness"),
                            "-I", str(STUBS), str(tmp_path / "main.cpp"), "-o", str(exe)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[:4000]
    ran = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return [int(v) for v in ran.stdout.split()]


@needs_gxx
def test_index_arithmetic_runs_as_the_python_the_scheduler_priced(tmp_path: Path) -> None:
    text = index_module()
    assert cpp_check.check(text, translate_to_cpp(text)) == []
    python = _Python()
    drive(python)
    assert python.pushed[:7] == [-4, -3, -3, -1, 2, -7, -9]  # (-7, 2): floor, ceil, trunc, rem, max, min, sub
    assert python.pushed[63:66] == [-2, -1, 0]  # the loop from -2
    assert run_index_arithmetic(tmp_path, text) == python.pushed


# -- broken translations fail the checks ------------------------------------------------------------------------


def _broken(monkeypatch, method: str, wrap) -> None:
    original = getattr(cpp_module._FuncTranslator, method)
    monkeypatch.setattr(cpp_module._FuncTranslator, method, lambda self, *a, **kw: wrap(original, self, *a, **kw))


def _truncating_floordiv(original, self, op):
    if op.name == "arith.floordivsi":
        a, b = (self.ref(op, v) for v in op.operands)
        return f"{a} / {b}"
    return original(self, op)


def test_floordivsi_as_plain_division_fails_the_content_check(monkeypatch, masked: dict[str, str]) -> None:
    text = masked["window/streaming/bf16"]
    _broken(monkeypatch, "_signed", _truncating_floordiv)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert any("arith.floordivsi: computes" in p for p in problems), problems[:2]
    assert "the file does not define tteqsat_floordivsi" in problems[0]


@needs_gxx
def test_floordivsi_as_plain_division_computes_other_numbers(monkeypatch, tmp_path: Path) -> None:
    text = index_module()
    _broken(monkeypatch, "_signed", _truncating_floordiv)
    python = _Python()
    drive(python)
    got = run_index_arithmetic(tmp_path, text)
    assert got != python.pushed
    # floor(7 / -2) = -4; 7 / size_t(-2) = 0. (-7 / 2 happens to agree in its low 32 bits: (2^64 - 7) / 2.)
    assert (python.pushed[7], got[7]) == (-4, 0)


def test_signed_comparisons_printed_unsigned_fail_the_content_check(monkeypatch, masked: dict[str, str]) -> None:
    text = masked["causal/streaming/bf16"]

    def unsigned_max(original, self, op):
        return original(self, op).replace("(ptrdiff_t) ", "")

    _broken(monkeypatch, "_signed", unsigned_max)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert problems and ("arith.maxsi: computes" in problems[0] or "arith.minsi: computes" in problems[0]), problems[:1]


def test_live_loop_compared_unsigned_fails_the_content_check(monkeypatch, masked: dict[str, str]) -> None:
    text = masked["causal/streaming/bf16"]
    monkeypatch.setattr(cpp_module._FuncTranslator, "_non_negative_constant", lambda self, ssa: True)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert problems and "scf.for: expected" in problems[0] and "compared signed" in problems[0], problems[:1]


def _where_without_format(original, self, op, callee):
    return ("", []) if callee == "where_tile" else original(self, op, callee)


@needs_gxx
def test_where_tile_without_its_data_format_fails_both_checks(monkeypatch, tmp_path: Path,
                                                              masked: dict[str, str]) -> None:
    text = masked["causal/fused/fp32"]
    _broken(monkeypatch, "_template", _where_without_format)
    cpp = translate_to_cpp(text)
    problems = cpp_check.check(text, cpp)
    assert problems and "where_tile: template arguments []" in problems[0], problems[:1]
    result = compile_cpp(tmp_path, {"where": cpp["causal_compute"]})
    assert result.returncode != 0 and "where_tile" in result.stderr and "deduce" in result.stderr


def test_fill_arange_tile_with_another_format_fails_the_content_check(monkeypatch, masked: dict[str, str]) -> None:
    text = masked["causal/fused/bf16"]

    def always_f32(original, self, op, callee):
        return ("<DataFormat::Float32>", []) if callee == "experimental.fill_arange_tile" else original(self, op, callee)

    _broken(monkeypatch, "_template", always_f32)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert problems and "experimental::fill_arange_tile: template arguments" in problems[0], problems[:1]


@needs_gxx
def test_gez_tile_without_its_header_does_not_compile(monkeypatch, tmp_path: Path, masked: dict[str, str]) -> None:
    text = masked["causal/fused/bf16"]
    for name in ("gez_tile", "gez_tile_init"):
        monkeypatch.setitem(cpp_module._HEADERS, name, cpp_module._HEADERS["negative_tile"])
    cpp = translate_to_cpp(text)
    assert "comp.h" not in cpp["causal_compute"]
    assert cpp_check.check(text, cpp) == []  # the statements are right; the compile catches the header
    result = compile_cpp(tmp_path, {"gez": cpp["causal_compute"]})
    assert result.returncode != 0 and "gez_tile" in result.stderr and "was not declared" in result.stderr


@needs_gxx
def test_fill_arange_tile_without_float_to_bits_does_not_compile(monkeypatch, tmp_path: Path,
                                                                 masked: dict[str, str]) -> None:
    text = masked["causal/fused/bf16"]
    monkeypatch.setattr(cpp_module, "FLOAT_TO_BITS", "// (no float_to_bits)")
    result = compile_cpp(tmp_path, {"arange": translate_to_cpp(text)["causal_compute"]})
    assert result.returncode != 0 and "float_to_bits" in result.stderr
