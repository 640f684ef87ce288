"""TTKernel MLIR -> tt-metal C++ translation tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import mlir_samples as ms
import pytest

from tteqsat.lowering.cpp import _HEADERS, CppTranslationError, translate_to_cpp

SAMPLES = {
    "add": lambda: ms.ADD,
    "exp": ms.exp_chain,
    "matmul": ms.matmul,
    "reduce": lambda: ms.reduce_rows("reduce_max", 1.0),
    "bcast_sub": ms.bcast_sub,
    "scalar": ms.scalar_ops,
    "fill": lambda: ms.fill(1.5, fp32=False),
}


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_samples_are_valid_mlir(key: str) -> None:
    ms.xdsl_check(SAMPLES[key]())


def compute_src(text: str) -> str:
    [src] = [v for k, v in translate_to_cpp(text).items() if k.endswith("_compute")]
    return src


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


def test_compute_body_of_add() -> None:
    src = translate_to_cpp(ms.ADD)["add_compute"]
    expected = [
        "  constexpr uint32_t cb_0 = get_compile_time_arg_val(0);",
        "  constexpr uint32_t cb_16 = get_compile_time_arg_val(16);",
        "  size_t c2 = 2;",
        "  int32_t c1_i32 = 1;",
        "  binary_op_init_common(cb_0, cb_1, cb_16);",
        "  add_tiles_init(cb_0, cb_1);",
        "  for (size_t t = c0; t < c2; t += c1) {",
        "    cb_wait_front(cb_0, c1_i32);",
        "    tile_regs_acquire();",
        "    add_tiles(cb_0, cb_1, c0, c0, c0);",
        "    pack_tile<false>(c0, cb_16, c0);",
        "    cb_pop_front(cb_1, c1_i32);",
        "  }",
    ]
    lines = src.splitlines()
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions)


def test_reader_uses_interleaved_addr_gen_and_noc_tile_reads() -> None:
    src = translate_to_cpp(ms.ADD)["add_reader"]
    for line in [
        "  int32_t a = get_arg_val<uint32_t>(c0_i32);",
        "  int32_t ts = get_tile_size(cb_0);",
        "  DataFormat df = get_dataformat(cb_0);",
        "  InterleavedAddrGenFast<true> ga;",
        "  ga.bank_base_address = a;",
        "  ga.page_size = ts;",
        "  ga.data_format = df;",
        "    int32_t ti = (int32_t) t;",
        "    int32_t w0 = get_write_ptr(cb_0);",
        "    noc_async_read_tile(ti, ga, w0);",
        "    noc_async_read_barrier();",
        "  bool true_ = true;",
    ]:
        assert line in src.splitlines(), line


def test_enum_attributes_become_template_arguments() -> None:
    reduce_src = compute_src(ms.reduce_rows("reduce_max", 1.0))
    assert "reduce_init<PoolType::MAX, ReduceDim::REDUCE_ROW>(cb_0, cb_2, cb_16);" in reduce_src
    assert "    reduce_tile<PoolType::MAX, ReduceDim::REDUCE_ROW>(cb_0, cb_2, t, c0, c0);" in reduce_src
    defines = reduce_src.index("#define REDUCE_OP PoolType::SUM")
    assert (
        defines
        < reduce_src.index("#define REDUCE_DIM ReduceDim::REDUCE_COL")
        < reduce_src.index('#include "api/compute/reduce.h"')
    )
    bcast_src = compute_src(ms.bcast_sub())
    assert "unary_bcast_init<BroadcastType::COL>(cb_1, cb_16);" in bcast_src
    assert "unary_bcast<BroadcastType::COL>(cb_1, c0, c0);" in bcast_src
    assert (
        "binary_dest_reuse_tiles<EltwiseBinaryType::ELWSUB, EltwiseBinaryReuseDestType::DEST_TO_SRCB>"
        "(cb_0, c0, c0);" in bcast_src
    )
    assert '#include "api/compute/bcast.h"' in bcast_src


def test_exp_scale_and_scalar_params_are_hex_bit_patterns() -> None:
    exp_src = compute_src(ms.exp_chain())
    assert "exp_tile_init<false>();" in exp_src
    assert "exp_tile<false, true>(c0, VectorMode::RC, 0x3f000000u);" in exp_src
    assert "recip_tile(c0);" in exp_src and '#include "api/compute/eltwise_unary/recip.h"' in exp_src
    plain = compute_src(ms.self_kernel())
    assert "exp_tile<false>(c0);" in plain
    scalar_src = compute_src(ms.scalar_ops())
    assert "uint32_t p1_5 = 0x3fc00000u;  // 1.5f" in scalar_src
    assert "uint32_t p0_25 = 0x3e800000u;  // 0.25f" in scalar_src
    assert "add_unary_tile(c0, p1_5);" in scalar_src
    assert "div_unary_tile(c0, p2);" in scalar_src
    assert "copy_dest_values(c0, c1);" in scalar_src
    assert '#include "api/compute/eltwise_unary/binop_with_scalar.h"' in scalar_src


def test_nested_loops_and_index_arithmetic() -> None:
    src = compute_src(ms.matmul())
    assert "  mm_init(cb_0, cb_1, cb_16, c1_i32);" in src
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
    with pytest.raises(
        CppTranslationError, match=rf"^line {line}: ttkernel.frobnicate_tile: no known tt-metal"
    ):
        translate_to_cpp(text)


_STUB = """\
#pragma once
#include <cstddef>
#include <cstdint>
enum class PoolType { SUM, AVG, MAX };
enum class ReduceDim { REDUCE_ROW, REDUCE_COL, REDUCE_SCALAR };
enum class BroadcastType { NONE, COL, ROW, SCALAR };
enum class EltwiseBinaryType { ELWADD, ELWSUB, ELWMUL };
enum class EltwiseBinaryReuseDestType { NONE, DEST_TO_SRCA, DEST_TO_SRCB };
enum class VectorMode { RC };
enum class DataFormat { Float16_b, Float32 };
template <bool DRAM> struct InterleavedAddrGenFast {
  uint32_t bank_base_address; uint32_t page_size; DataFormat data_format;
};
constexpr uint32_t get_compile_time_arg_val(int i) { return i; }
template <typename T> T get_arg_val(int) { return T(); }
inline uint32_t get_tile_size(uint32_t) { return 0; }
inline DataFormat get_dataformat(uint32_t) { return DataFormat::Float16_b; }
inline uint32_t get_write_ptr(uint32_t) { return 0; }
inline uint32_t get_read_ptr(uint32_t) { return 0; }
template <typename G> void noc_async_read_tile(uint32_t, const G&, uint32_t) {}
template <typename G> void noc_async_write_tile(uint32_t, const G&, uint32_t) {}
inline void noc_async_read_barrier() {}
inline void noc_async_write_barrier() {}
"""


def _syntax_check(tmp_path: Path, modules: dict[str, str]) -> None:
    """Compile the C++ of every module against stub headers declaring the API names the translator uses."""
    stub = _STUB + "".join(
        f"template <auto... T, typename... A> void {name}(A...) {{}}\n"
        for name in sorted(_HEADERS)
        if name != "get_arg_val"
    )
    (tmp_path / "stub.h").write_text(stub)
    sources = []
    for key, text in modules.items():
        for func, src in translate_to_cpp(text).items():
            for header in re.findall(r'#include "([^"]+)"', src):
                path = tmp_path / header
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text('#pragma once\n#include "stub.h"\n')
            path = tmp_path / f"{key}_{func}.cpp"
            path.write_text(src)
            sources.append(str(path))
    result = subprocess.run(
        ["g++", "-std=c++17", "-fsyntax-only", "-Werror=return-type", "-I", str(tmp_path), *sources],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[:4000]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_generated_cpp_is_syntactically_valid(tmp_path: Path) -> None:
    _syntax_check(tmp_path, {key: make() for key, make in SAMPLES.items()})


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_optimized_kernels_translate_to_valid_cpp(tmp_path: Path) -> None:
    """Streaming attention (loops, L1-accumulated row sums, seeded max) and fused kernels, end to end."""
    import tteqsat as tq

    q = tq.tensor("q", (32, 64))
    k = tq.tensor("k", (4096, 64))
    v = tq.tensor("v", (4096, 64))
    x = tq.tensor("x", (64, 128))
    modules = {
        "flash": tq.optimize(tq.kernel("flash", tq.softmax(q @ k.T * 0.125) @ v), form="streaming").to_mlir(),
        "fused": tq.optimize(tq.kernel("fused", tq.softmax(x) * 2.0 - tq.sqrt(tq.abs(x)))).to_mlir(),
    }
    _syntax_check(tmp_path, modules)
