# ruff: noqa: E501  (MLIR op lines are long by nature)
"""TTKernel MLIR -> tt-metal C++: every op form, compiled against stubs with tt-metal's real signatures.

Three kinds of check: (1) per op form, the exact C++ line(s) (operands, template arguments, exp scale);
(2) `cpp_check` maps every C++ statement of a file back to the MLIR op it came from and checks its callee,
template arguments and arguments against its own table of what current tt-metal expects, for the samples
and every optimized example kernel; (3) every emitted file compiles with ``g++ -std=c++17 -fsyntax-only
-Werror -Wall`` against ``tests/cpp_stubs`` (declarations with tt-metal's signatures: removed functions are
undeclared, deprecated ones carry ``[[deprecated]]``). Deliberately broken translators show that (2) and (3)
can fail.
"""

from __future__ import annotations

from pathlib import Path

import cpp_check
import mlir_samples as ms
import pytest

from tteqsat.lowering import cpp as cpp_module
from tteqsat.lowering.cpp import CppTranslationError, translate_to_cpp

STUBS, needs_gxx, compile_cpp = cpp_check.STUBS, cpp_check.needs_gxx, cpp_check.compile_cpp

SAMPLES = ms.SAMPLES


def assert_compiles(tmp_path: Path, sources: dict[str, str]) -> None:
    result = compile_cpp(tmp_path, sources)
    assert result.returncode == 0, result.stderr[:4000]


def compute_src(text: str) -> str:
    [src] = [v for k, v in translate_to_cpp(text).items() if k.endswith("_compute")]
    return src


# -- (1) one op form at a time -------------------------------------------------------------------------

FORM_PRELUDE = """\
%c3 = "arith.constant"() <{value = 3 : index}> : () -> index
%c0_i32 = "arith.constant"() <{value = 0 : i32}> : () -> i32
%c8_i32 = "arith.constant"() <{value = 8 : i32}> : () -> i32
%f = "arith.constant"() <{value = 1.5 : f32}> : () -> f32
%p = "arith.constant"() <{value = 1069547520 : i32}> : () -> i32
"""
RED = "<{reduce_dim = #ttkernel.reduce_dim<reduce_dim_row>, reduce_type = #ttkernel.reduce_type<reduce_max>}>"
RED_COL = "<{reduce_dim = #ttkernel.reduce_dim<reduce_dim_col>, reduce_type = #ttkernel.reduce_type<reduce_sum>}>"
REUSE = "<{eltwise_binary_type = #ttkernel.eltwise_binary_type<sub>, reuse_type = #ttkernel.reuse_type<dest_to_srcb>}>"
STARTUP_REVERSE = "compute_kernel_hw_startup<SrcOrder::Reverse>(cb_0, cb_1, cb_16);"
S = "1043662067 : i32"  # fp32 bits of 1/sqrt(32) = 0x3e3504f3

# (MLIR op line(s), expected C++ statements, header the file must include)
COMPUTE_FORMS: list[tuple[str, list[str], str]] = [
    ('"ttkernel.compute_kernel_hw_startup"(%cb0, %cb16) : ($cb0, $cb16) -> ()', ["compute_kernel_hw_startup(cb_0, cb_16);"], "compute_kernel_hw_startup.h"),
    ('"ttkernel.compute_kernel_hw_startup"(%cb0, %cb1, %cb16) : ($cb0, $cb1, $cb16) -> ()', ["compute_kernel_hw_startup(cb_0, cb_1, cb_16);"], "compute_kernel_hw_startup.h"),
    ('"ttkernel.mm_init"(%cb0, %cb1, %cb16, %c1_i32) : ($cb0, $cb1, $cb16, i32) -> ()', [STARTUP_REVERSE, "matmul_init(cb_0, cb_1, c1_i32);"], "matmul.h"),
    ('"ttkernel.mm_init_short"(%cb0, %cb1, %c0_i32) : ($cb0, $cb1, i32) -> ()', ["matmul_init(cb_0, cb_1, c0_i32);"], "matmul.h"),
    ('"ttkernel.mm_block_init"(%cb0, %cb1, %cb16, %c1_i32, %c8_i32, %c1_i32, %c2_i32) : ($cb0, $cb1, $cb16, i32, i32, i32, i32) -> ()', [STARTUP_REVERSE, "matmul_block_init(cb_0, cb_1, c1_i32, c8_i32, c1_i32, c2_i32);"], "matmul.h"),
    ('"ttkernel.mm_block_init_short"(%cb0, %cb1, %c1_i32, %c8_i32, %c1_i32, %c2_i32) : ($cb0, $cb1, i32, i32, i32, i32) -> ()', ["matmul_block_init(cb_0, cb_1, c1_i32, c8_i32, c1_i32, c2_i32);"], "matmul.h"),
    ('"ttkernel.matmul_tiles"(%cb0, %cb1, %c0, %c1, %c2) : ($cb0, $cb1, index, index, index) -> ()', ["matmul_tiles(cb_0, cb_1, c0, c1, c2);"], "matmul.h"),
    ('"ttkernel.matmul_block"(%cb0, %cb1, %c0, %c1, %c2, %c1_i32, %c8_i32, %c1_i32, %c2_i32) : ($cb0, $cb1, index, index, index, i32, i32, i32, i32) -> ()', ["matmul_block(cb_0, cb_1, c0, c1, c2, c1_i32, c8_i32, c1_i32, c2_i32);"], "matmul.h"),
    ('"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()\n"ttkernel.copy_tile"(%cb0, %c1, %c2) : ($cb0, index, index) -> ()', ["copy_tile_init(cb_0);", "copy_tile(cb_0, c1, c2);"], "tile_move_copy.h"),
    *[(f'"ttkernel.{k}_tiles_init"(%cb0, %cb1) : ($cb0, $cb1) -> ()\n"ttkernel.{k}_tiles"(%cb0, %cb1, %c0, %c1, %c2) : ($cb0, $cb1, index, index, index) -> ()', [f"{k}_tiles_init(cb_0, cb_1);", f"{k}_tiles(cb_0, cb_1, c0, c1, c2);"], "eltwise_binary.h") for k in ("add", "sub", "mul")],
    (f'"ttkernel.binary_dest_reuse_tiles_init"(%cb0) {REUSE} : ($cb0) -> ()\n"ttkernel.binary_dest_reuse_tiles"(%cb0, %c1, %c2) {REUSE} : ($cb0, index, index) -> ()', ["binary_dest_reuse_tiles_init<EltwiseBinaryType::ELWSUB, EltwiseBinaryReuseDestType::DEST_TO_SRCB>(cb_0);", "binary_dest_reuse_tiles<EltwiseBinaryType::ELWSUB, EltwiseBinaryReuseDestType::DEST_TO_SRCB>(cb_0, c1, c2);"], "eltwise_binary.h"),
    *[(f'"ttkernel.unary_bcast_init"(%cb1, %cb16) <{{bcast_type = #ttkernel.bcast_type<{k}>}}> : ($cb1, $cb16) -> ()\n"ttkernel.unary_bcast"(%cb1, %c0, %c3) <{{bcast_type = #ttkernel.bcast_type<{k}>}}> : ($cb1, index, index) -> ()', [f"unary_bcast_init<BroadcastType::{k.upper()}>(cb_1, cb_16);", f"unary_bcast<BroadcastType::{k.upper()}>(cb_1, c0, c3);"], "bcast.h") for k in ("col", "row", "scalar")],
    (f'"ttkernel.reduce_init"(%cb0, %cb1, %cb16) {RED} : ($cb0, $cb1, $cb16) -> ()\n"ttkernel.reduce_tile"(%cb0, %cb1, %c2, %c0, %c3) {RED} : ($cb0, $cb1, index, index, index) -> ()\n"ttkernel.reduce_uninit"() : () -> ()', ["reduce_init<PoolType::MAX, ReduceDim::REDUCE_ROW>(cb_0, cb_1, cb_16);", "reduce_tile<PoolType::MAX, ReduceDim::REDUCE_ROW>(cb_0, cb_1, c2, c0, c3);", "reduce_uninit();"], "reduce.h"),
    (f'"ttkernel.reduce_init"(%cb0, %cb1, %cb16) {RED_COL} : ($cb0, $cb1, $cb16) -> ()', ["reduce_init<PoolType::SUM, ReduceDim::REDUCE_COL>(cb_0, cb_1, cb_16);"], "reduce.h"),
    ('"ttkernel.transpose_wh_init"(%cb0, %cb16) : ($cb0, $cb16) -> ()\n"ttkernel.transpose_wh_tile"(%cb0, %c1, %c2) : ($cb0, index, index) -> ()', ["transpose_init(cb_0);", "transpose_tile(cb_0, c1, c2);"], "transpose.h"),
    ('"ttkernel.exp_tile_init"() : () -> ()\n"ttkernel.exp_tile"(%c0) : (index) -> ()', ["exp_tile_init();", "exp_tile(c0);"], "eltwise_unary/exp.h"),
    ('"ttkernel.exp_tile_init"() <{approx = false}> : () -> ()\n"ttkernel.exp_tile"(%c0) <{approx = true}> : (index) -> ()', ["exp_tile_init<false>();", "exp_tile<true>(c0);"], "eltwise_unary/exp.h"),
    # approximate exp: tt-metal reads the scale from the init's template argument (fp32 bits) ...
    ('"ttkernel.exp_tile_init"() <{approx = true, scale = 1040187392 : i32}> : () -> ()\n"ttkernel.exp_tile"(%c3) <{approx = true, scale = 1040187392 : i32}> : (index) -> ()', ["exp_tile_init<true, 0x3e000000u>();", "exp_tile<true, true>(c3, VectorMode::RC, 0x3e00);"], "eltwise_unary/exp.h"),
    # ... exact exp from the tile call's uint16_t argument (bf16 bits, the top half of the fp32 bits).
    (f'"ttkernel.exp_tile_init"() <{{approx = false, scale = {S}}}> : () -> ()\n"ttkernel.exp_tile"(%c0) <{{approx = false, scale = {S}}}> : (index) -> ()', ["exp_tile_init<false, 0x3e3504f3u>();", "exp_tile<false, true>(c0, VectorMode::RC, 0x3e35);"], "eltwise_unary/exp.h"),
    ('"ttkernel.exp_tile_init"() <{approx = true, input_clamping = #ttkernel.input_clamping<none>}> : () -> ()\n"ttkernel.exp_tile"(%c0) <{iterations = 4 : i32}> : (index) -> ()', ["exp_tile_init<true, 0x3f800000u, InputClamping::None>();", "exp_tile<false, false, InputClamping::ClampToNegative, 4>(c0);"], "eltwise_unary/exp.h"),
    *[(f'"ttkernel.{k}_init"() : () -> ()\n"ttkernel.{k}"(%c2) : (index) -> ()', [f"{k}_init();", f"{k}(c2);"], h)
      for k, h in (("recip_tile", "eltwise_unary/recip.h"), ("sqrt_tile", "eltwise_unary/sqrt.h"), ("rsqrt_tile", "eltwise_unary/rsqrt.h"),
                   ("negative_tile", "eltwise_unary/negative.h"), ("relu_tile", "eltwise_unary/relu.h"), ("gelu_tile", "eltwise_unary/gelu.h"),
                   ("tanh_tile", "compute_kernel_api.h"), ("log_tile", "compute_kernel_api.h"), ("abs_tile", "compute_kernel_api.h"),
                   ("sigmoid_tile", "compute_kernel_api.h"), ("silu_tile", "compute_kernel_api.h"), ("square_tile", "compute_kernel_api.h"),
                   ("gez_tile", "eltwise_unary/comp.h"), ("ltz_tile", "eltwise_unary/comp.h"))],
    *[(f'"ttkernel.where_tile_init"() : () -> ()\n"ttkernel.where_tile"(%c0, %c1, %c2, %c3) <{{dtype = #ttcore.supportedDataTypes<{t}>}}> : (index, index, index, index) -> ()', ["where_tile_init();", f"where_tile<DataFormat::{f}>(c0, c1, c2, c3);"], "eltwise_unary/where.h")
      for t, f in (("bf16", "Float16_b"), ("f32", "Float32"))],
    *[(f'"ttkernel.{k}_init"() : () -> ()\n"ttkernel.{k}"(%c0, %c1, %c2) : (index, index, index) -> ()', [f"{k}_init();", f"{k}(c0, c1, c2);"], h)
      for k, h in (("add_binary_tile", "eltwise_binary_sfpu.h"), ("sub_binary_tile", "eltwise_binary_sfpu.h"), ("mul_binary_tile", "eltwise_binary_sfpu.h"),
                   ("div_binary_tile", "eltwise_binary_sfpu.h"), ("binary_max_tile", "binary_max_min.h"), ("binary_min_tile", "binary_max_min.h"))],
    *[(f'"ttkernel.binop_with_scalar_tile_init"() : () -> ()\n"ttkernel.{k}"(%c1, %p) : (index, i32) -> ()', ["uint32_t p = 0x3fc00000u;  // 1.5f", "binop_with_scalar_tile_init();", f"{k}(c1, p);"], "eltwise_unary/binop_with_scalar.h")
      for k in ("add_unary_tile", "sub_unary_tile", "mul_unary_tile", "div_unary_tile")],
    ('"ttkernel.fill_tile_init"() : () -> ()\n"ttkernel.fill_tile"(%c1, %f) : (index, f32) -> ()', ["float f = 1.5f;", "fill_tile_init();", "fill_tile(c1, f);"], "eltwise_unary/fill.h"),
    ('"ttkernel.copy_dest_values_init"() : () -> ()\n"ttkernel.copy_dest_values"(%c2, %c0) <{data_format = #ttcore.supportedDataTypes<bf16>}> : (index, index) -> ()', ["copy_dest_values_init();", "copy_dest_values<DataFormat::Float16_b>(c2, c0);"], "copy_dest_values.h"),
    ('"ttkernel.copy_dest_values"(%c2, %c0) <{data_format = #ttcore.supportedDataTypes<f32>}> : (index, index) -> ()', ["copy_dest_values<DataFormat::Float32>(c2, c0);"], "copy_dest_values.h"),
    ('"ttkernel.pack_tile"(%c1, %cb16, %c0) : (index, $cb16, index) -> ()', ["pack_tile<false>(c1, cb_16, c0);"], "pack.h"),
    ('"ttkernel.pack_tile"(%c1, %cb16, %c3) <{out_of_order = true}> : (index, $cb16, index) -> ()', ["pack_tile<true>(c1, cb_16, c3);"], "pack.h"),
    ('"ttkernel.pack_reconfig_l1_acc"(%c1_i32) : (i32) -> ()', ["pack_reconfig_l1_acc(c1_i32);"], "pack.h"),
    ('"ttkernel.tile_regs_acquire"() : () -> ()\n"ttkernel.tile_regs_commit"() : () -> ()\n"ttkernel.tile_regs_wait"() : () -> ()\n"ttkernel.tile_regs_release"() : () -> ()', ["tile_regs_acquire();", "tile_regs_commit();", "tile_regs_wait();", "tile_regs_release();"], "reg_api.h"),
    ('"ttkernel.cb_wait_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()\n"ttkernel.cb_pop_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()\n"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()\n"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()', ["cb_wait_front(cb_0, c2_i32);", "cb_pop_front(cb_0, c2_i32);", "cb_reserve_back(cb_16, c1_i32);", "cb_push_back(cb_16, c1_i32);"], "cb_api.h"),
]
FORM_CBS = {0: ms.cb_type(2), 1: ms.cb_type(2), 16: ms.cb_type(4)}


def form_module(ops: str) -> str:
    return ms.module("f", [], [ms.compute("f", FORM_CBS, FORM_PRELUDE + ops + "\n")])


def statements(src: str) -> list[str]:
    """The body of kernel_main without the CB handles and the plain index/i32 constants."""
    body = src.split("void kernel_main() {\n", 1)[1].rsplit("\n}", 1)[0].splitlines()
    skip = ("constexpr uint32_t cb_", "size_t c", "int32_t c")
    return [line.strip() for line in body if not line.strip().startswith(skip)]


@pytest.mark.parametrize(("ops", "expected", "header"), COMPUTE_FORMS, ids=[f[1][-1].split("(")[0] for f in COMPUTE_FORMS])
def test_compute_op_form(ops: str, expected: list[str], header: str) -> None:
    text = form_module(ops)
    ms.xdsl_check(text)
    src = compute_src(text)
    assert statements(src) == expected
    assert f'#include "api/compute/{header}"' in src
    assert cpp_check.check(text, translate_to_cpp(text)) == []


@needs_gxx
def test_every_compute_op_form_compiles(tmp_path: Path) -> None:
    assert_compiles(tmp_path, {f"form{k}": compute_src(form_module(ops)) for k, (ops, _, _) in enumerate(COMPUTE_FORMS)})


def test_dataflow_op_forms() -> None:
    """The hand-written ADD module: TensorAccessorArgs (literal and chained), TensorAccessor with and without
    a page size, page reads and writes with the op's NoC, barriers on that NoC."""
    out = translate_to_cpp(ms.ADD)
    reader, writer = statements(out["add_reader"]), statements(out["add_writer"])
    for line in [
        "int8_t noc0 = 0;",
        "constexpr auto aa = TensorAccessorArgs<2, 0>();",
        "constexpr auto ba = TensorAccessorArgs<aa.next_compile_time_args_offset(), aa.next_common_runtime_args_offset()>();",
        "int32_t a = get_common_arg_val<uint32_t>(c0);",
        "int32_t ts = get_tile_size(cb_0);",
        "const auto sa = TensorAccessor(aa, a, ts);",
        "const auto sb = TensorAccessor(ba, b);",
        "int32_t w0 = get_write_ptr(cb_0);",
        "noc_async_read_page(ti, sa, w0, 0, noc0);",
        "noc_async_read_barrier(noc0);",
    ]:
        assert line in reader, line
    assert "noc_async_write_page(t, so, r, 0, 0, noc1);" in writer
    assert "noc_async_write_barrier(noc1);" in writer
    # The literal bases are folded into the template: their constants are not printed.
    assert "int32_t c2_i32 = 2;" not in reader and "c0_i32" not in "\n".join(reader)
    no_noc = ms.ADD.replace(", %noc0) : (i32, !ttkernel.TensorAccessor, i32, i8)", ") : (i32, !ttkernel.TensorAccessor, i32)")
    no_noc = no_noc.replace('"ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()', '"ttkernel.noc_async_read_barrier"() : () -> ()')
    reader = statements(translate_to_cpp(no_noc)["add_reader"])
    assert "noc_async_read_page(ti, sa, w0);" in reader and "noc_async_read_barrier();" in reader
    assert "int8_t noc0 = 0;" not in reader  # unused, dropped


def test_cb_handles_are_named_after_their_port_from_the_arg_spec() -> None:
    src = translate_to_cpp(ms.ADD)
    assert "  constexpr uint32_t cb_16 = get_compile_time_arg_val(2);" in src["add_compute"]
    assert "  constexpr uint32_t cb_16 = get_compile_time_arg_val(0);" in src["add_writer"]
    assert "  constexpr uint32_t cb_1 = get_compile_time_arg_val(1);" in src["add_reader"]


def test_one_kernel_main_per_thread_function() -> None:
    out = translate_to_cpp(ms.ADD)
    assert list(out) == ["add_reader", "add_compute", "add_writer"]
    for name, src in out.items():
        assert src.startswith(f"// {name}\n#include <cstdint>\n")
        assert src.count("void kernel_main() {") == 1
        assert src.count("{") == src.count("}")
    assert '#include "api/dataflow/dataflow_api.h"' in out["add_reader"]
    assert "api/compute/" not in out["add_reader"]
    compute = out["add_compute"]
    for header in ("common.h", "eltwise_binary.h", "reg_api.h", "pack.h", "cb_api.h"):
        assert f'#include "api/compute/{header}"' in compute
    assert "dataflow_api.h" not in compute


def test_reduce_defines_come_before_the_header() -> None:
    src = compute_src(ms.reduce_rows("reduce_max", 1.0))
    defines = src.index("#define REDUCE_OP PoolType::SUM")
    assert defines < src.index("#define REDUCE_DIM ReduceDim::REDUCE_COL") < src.index('#include "api/compute/reduce.h"')


def test_nested_loops_and_index_arithmetic() -> None:
    src = compute_src(ms.matmul())
    assert "  for (size_t i = c0; i < c2; i += c1) {" in src
    assert "    for (size_t k = c0; k < c2; k += c1) {" in src
    assert "      size_t row = i * c2;" in src
    assert "      size_t ai = row + k;" in src
    assert "      matmul_tiles(cb_0, cb_1, ai, k, c0);" in src


def test_float_constants() -> None:
    assert "float v = 1.5f;" in compute_src(ms.fill(1.5, fp32=False))
    text = ms.fill(float("-inf"), fp32=False).replace("-inf", "0xFF800000")
    ms.xdsl_check(text)
    src = compute_src(text)
    assert "float v = -INFINITY;" in src and "#define INFINITY" in src
    assert cpp_check.check(text, translate_to_cpp(text)) == []  # the checker reads -INFINITY back as -inf


def test_output_is_deterministic_and_skips_non_kernel_functions() -> None:
    text = ms.exp_chain()
    assert translate_to_cpp(text) == translate_to_cpp(text)
    helper = (
        '  "func.func"() <{function_type = () -> (), sym_name = "helper"}> ({\n'
        '    "func.return"() : () -> ()\n'
        "  }) : () -> ()"
    )
    ms.xdsl_check(ms.module("h", [], [helper]))
    assert list(translate_to_cpp(ms.module("h", [], [helper]))) == []


def test_unsupported_op_is_reported_with_its_line() -> None:
    body = ms.SELF_BODY.replace('"ttkernel.exp_tile"(%c0)', '"ttkernel.frobnicate_tile"(%c0)')
    text = ms.self_kernel(body)
    ms.xdsl_check(text)
    line = ms.line_of(text, "frobnicate")
    with pytest.raises(CppTranslationError, match=rf"^line {line}: ttkernel.frobnicate_tile: no known tt-metal"):
        translate_to_cpp(text)


def test_copy_dest_values_without_data_format_is_an_error() -> None:
    text = ms.scalar_ops().replace(" <{data_format = #ttcore.supportedDataTypes<bf16>}>", "")
    line = ms.line_of(text, '"ttkernel.copy_dest_values"(')
    with pytest.raises(CppTranslationError, match=rf"^line {line}: ttkernel.copy_dest_values: needs data_format"):
        translate_to_cpp(text)


# -- (2) and (3) on whole kernels ---------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_sample_cpp_maps_back_to_its_mlir(key: str) -> None:
    text = SAMPLES[key]()
    ms.xdsl_check(text)
    assert cpp_check.check(text, translate_to_cpp(text)) == []


@needs_gxx
def test_sample_cpp_compiles_against_the_stubs(tmp_path: Path) -> None:
    assert_compiles(tmp_path, {f"{key}_{func}": src for key, make in SAMPLES.items()
                               for func, src in translate_to_cpp(make()).items()})


def test_optimized_kernels_map_back_to_their_mlir(distinct_modules: dict[str, str], emitted_cpp: dict) -> None:
    """Every example kernel, both archs, both dtypes, every form that applies (modules that differ only in
    their arch attribute once)."""
    problems = {key: p for key, text in distinct_modules.items() if (p := cpp_check.check(text, emitted_cpp[key]))}
    assert problems == {}


@needs_gxx
def test_optimized_kernels_compile_against_the_stubs(tmp_path: Path, emitted_cpp: dict) -> None:
    distinct = {src for cpp in emitted_cpp.values() for src in cpp.values()}
    assert len(distinct) > 20
    assert_compiles(tmp_path, {f"k{n}": src for n, src in enumerate(sorted(distinct))})


# -- the checks fail on broken translators and on the old emission ---------------------------------------

FLASH_KEY = "long_attention/wormhole_b0/bf16/streaming"


def _broken(monkeypatch, method: str, wrap) -> None:
    original = getattr(cpp_module._FuncTranslator, method)
    monkeypatch.setattr(cpp_module._FuncTranslator, method, lambda self, *a, **kw: wrap(original, self, *a, **kw))


def test_content_check_catches_minui_printed_as_max(monkeypatch, emitted_modules: dict[str, str]) -> None:
    text = emitted_modules[FLASH_KEY]
    assert '"arith.minui"' in text  # the L1-accumulate flag of the row sums

    def declare(original, self, op, call, pad, out, ty=None):
        return original(self, op, call.replace(" < ", " > "), pad, out, ty)

    _broken(monkeypatch, "declare", declare)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert any("arith.minui: computes" in p for p in problems), problems[:3]


def test_content_check_catches_matmul_block_transpose_forced_to_zero(monkeypatch, emitted_modules: dict[str, str]) -> None:
    text = emitted_modules[FLASH_KEY]

    def calls(original, self, op, callee, args):
        if callee == "matmul_block":
            args = [*args[:5], "0", *args[6:]]
        return original(self, op, callee, args)

    _broken(monkeypatch, "_calls", calls)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert problems and "matmul_block: arguments" in problems[0], problems[:1]


@needs_gxx
def test_exp_scale_as_fp32_bits_in_the_uint16_argument_fails_both_checks(monkeypatch, tmp_path: Path, emitted_modules: dict[str, str]) -> None:
    """The old bug: exp_tile<.., true>(d, RC, 0x3e000000u) truncates the scale to 0 (exp(0*x))."""
    text = emitted_modules[FLASH_KEY]

    def exp_tile(original, self, op):
        template, extra = original(self, op)
        return template, [*extra[:1], f"0x{cpp_module.exp_scale_bits(op):08x}u"] if extra else extra

    _broken(monkeypatch, "_exp_tile", exp_tile)
    cpp = translate_to_cpp(text)
    problems = cpp_check.check(text, cpp)
    assert problems and "exp_tile: arguments" in problems[0], problems[:1]
    result = compile_cpp(tmp_path, {"flash_compute": cpp["long_attention_compute"]})
    assert result.returncode != 0 and "overflow" in result.stderr


def test_content_check_catches_a_dropped_out_of_order_flag(monkeypatch) -> None:
    text = form_module('"ttkernel.pack_tile"(%c1, %cb16, %c3) <{out_of_order = true}> : (index, $cb16, index) -> ()')

    def template(original, self, op, callee):
        return ("<false>", []) if callee == "pack_tile" else original(self, op, callee)

    _broken(monkeypatch, "_template", template)
    problems = cpp_check.check(text, translate_to_cpp(text))
    assert problems and "pack_tile: template arguments [False]" in problems[0], problems[:1]


OLD_EMISSION = {
    "mm_init": "compute_kernel_hw_startup(cb_0, cb_16);\n  mm_init(cb_0, cb_1, cb_16, 1);",
    "mm_block_init_short": "mm_block_init_short(cb_0, cb_1, 1, 8, 1, 2);",
    "exp_scale_fp32_bits": "exp_tile_init<true>();\n  exp_tile<true, true>(0, VectorMode::RC, 0x3e000000u);",
    "copy_dest_values_untyped": "copy_dest_values(0, 1);",
    "transpose_wh": "transpose_wh_init(cb_0, cb_16);",
}
OLD_HEADERS = ('#include "api/compute/common.h"\n#include "api/compute/matmul.h"\n#include "api/compute/eltwise_unary/exp.h"\n'
               '#include "api/compute/copy_dest_values.h"\n#include "api/compute/transpose_wh.h"\n')


@needs_gxx
@pytest.mark.parametrize("what", sorted(OLD_EMISSION))
def test_stubs_reject_what_the_translator_used_to_print(tmp_path: Path, what: str) -> None:
    src = (OLD_HEADERS + "void kernel_main() {\n  constexpr uint32_t cb_0 = get_compile_time_arg_val(0);\n"
           "  constexpr uint32_t cb_1 = get_compile_time_arg_val(1);\n  constexpr uint32_t cb_16 = get_compile_time_arg_val(2);\n"
           f"  (void)cb_0; (void)cb_1; (void)cb_16;\n  {OLD_EMISSION[what]}\n}}\n")
    assert compile_cpp(tmp_path, {what: src}).returncode != 0


@needs_gxx
def test_stubs_reject_the_old_interleaved_addr_gen_reader(tmp_path: Path) -> None:
    src = """#include "api/dataflow/dataflow_api.h"
void kernel_main() {
  InterleavedAddrGenFast<true> g;
  g.bank_base_address = get_arg_val<uint32_t>(0);
  g.page_size = 2048;
  g.data_format = DataFormat::Float16_b;
  noc_async_read_tile(0, g, get_write_ptr(0));
}
"""
    result = compile_cpp(tmp_path, {"old_reader": src})
    assert result.returncode != 0 and "deprecated" in result.stderr
