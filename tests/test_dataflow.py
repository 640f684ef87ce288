"""Reader/writer emitter tests: pinned op forms, layout, validity, and data moved end to end."""

from __future__ import annotations

import mlir_samples as ms
import numpy as np
import pytest

from tteqsat.lowering.dataflow import TensorBinding, emit_reader, emit_writer
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.tiles import round_bf16

CB2 = ms.cb_type(2)
ADDR_GEN = "!ttkernel.interleaved_addr_gen_fast"

COPY_BODY = """\
%n = "arith.constant"() <{value = $n : index}> : () -> index
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"scf.for"(%c0, %n, %c1) ({
^bb0(%t: index):
  "ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
  "ttkernel.tile_regs_acquire"() : () -> ()
  "ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
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


def copy_module(tensors: list[tuple[str, tuple[int, int], str]]) -> str:
    """Inputs i and outputs n+i, each input copied tile by tile through cb0 -> DST(fp32) -> cb16."""
    specs, reads, writes = [], [], []
    total = 0
    for name, shape, dtype in tensors:
        n = -(-shape[0] // 32) * -(-shape[1] // 32)
        specs.append(f"{name}:in:{shape[0]}x{shape[1]}:{dtype}")
        reads.append(ms.binding(name, len(reads), 0, 2, n, dtype))
        total += n
    for name, shape, dtype in tensors:
        n = -(-shape[0] // 32) * -(-shape[1] // 32)
        specs.append(f"{name}_out:out:{shape[0]}x{shape[1]}:{dtype}")
        writes.append(ms.binding(f"{name}_out", len(reads) + len(writes), 16, 2, n, dtype))
    dtype = tensors[0][2]
    cbs = {0: ms.cb_type(2, dtype), 16: ms.cb_type(2, dtype)}
    body = COPY_BODY.replace("$n", str(total))
    reader, writer = ms.noc("cp", reads, writes)
    return ms.module("cp", specs, [reader, ms.compute("cp", cbs, body, fp32=True), writer])


def test_reader_pins_the_td_op_forms_and_layout() -> None:
    lines = emit_reader("k", [TensorBinding("a", 3, 5, CB2, 7, "bf16")])
    assert lines[0] == '  "func.func"() <{function_type = () -> (), sym_name = "k_reader"}> ({'
    assert lines[-1] == "  }) {ttkernel.thread = #ttkernel.thread<noc>} : () -> ()"
    assert lines[-2] == '    "func.return"() : () -> ()'
    body = "\n".join(lines)
    expected = [
        f'    %cb5 = "ttkernel.get_compile_time_arg_val"() <{{arg_index = 5 : i32}}> : () -> {CB2}',
        '    %n0 = "arith.constant"() <{value = 7 : index}> : () -> index',
        '    %arg0 = "arith.constant"() <{value = 3 : i32}> : () -> i32',
        '    %addr0 = "ttkernel.get_arg_val"(%arg0) : (i32) -> i32',
        f'    %page0 = "ttkernel.get_tile_size"(%cb5) : ({CB2}) -> i32',
        f'    %fmt0 = "ttkernel.get_dataformat"(%cb5) : ({CB2}) -> !ttkernel.DataFormat',
        '    %gen0 = "ttkernel.get_interleaved_addr_gen_fast"(%true, %addr0, %page0, %fmt0) : '
        f"(i1, i32, i32, !ttkernel.DataFormat) -> {ADDR_GEN}",
        '    "scf.for"(%c0, %n0, %c1) ({',
        "    ^bb0(%t0: index):",
        '      %id0 = "arith.index_cast"(%t0) : (index) -> i32',
        f'      "ttkernel.cb_reserve_back"(%cb5, %c1_i32) : ({CB2}, i32) -> ()',
        f'      %l1_0 = "ttkernel.get_write_ptr"(%cb5) : ({CB2}) -> i32',
        f'      "ttkernel.noc_async_read_tile"(%id0, %gen0, %l1_0) : (i32, {ADDR_GEN}, i32) -> ()',
        '      "ttkernel.noc_async_read_barrier"() : () -> ()',
        f'      "ttkernel.cb_push_back"(%cb5, %c1_i32) : ({CB2}, i32) -> ()',
        '      "scf.yield"() : () -> ()',
        "    }) : (index, index, index) -> ()",
    ]
    for line in expected:
        assert line in lines, line
    order = [lines.index(line) for line in expected[-9:]]
    assert order == sorted(order)
    # A loop, not unrolled: one read per tensor however many tiles it has.
    assert body.count("noc_async_read_tile") == 1


def test_writer_pins_the_td_op_forms() -> None:
    lines = emit_writer("k", [TensorBinding("o", 2, 16, ms.cb_type(4, "f32"), 3, "f32")])
    cb = ms.cb_type(4, "f32")
    assert lines[0].endswith('sym_name = "k_writer"}> ({')
    body_order = [
        f'      "ttkernel.cb_wait_front"(%cb16, %c1_i32) : ({cb}, i32) -> ()',
        f'      %l1_0 = "ttkernel.get_read_ptr"(%cb16) : ({cb}) -> i32',
        f'      "ttkernel.noc_async_write_tile"(%id0, %gen0, %l1_0) : (i32, {ADDR_GEN}, i32) -> ()',
        '      "ttkernel.noc_async_write_barrier"() : () -> ()',
        f'      "ttkernel.cb_pop_front"(%cb16, %c1_i32) : ({cb}, i32) -> ()',
    ]
    positions = [lines.index(line) for line in body_order]
    assert positions == sorted(positions) and positions[-1] - positions[0] == 4


def test_indentation_is_two_spaces_per_nesting_level() -> None:
    lines = emit_reader("k", [ms.binding("a", 0, 0, 2, 2), ms.binding("b", 1, 1, 2, 2)])
    depth = 1
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if stripped.startswith("})"):
            depth -= 1
        expected = depth - 1 if stripped.startswith("^bb0") else depth
        assert indent == 2 * expected, line
        if stripped.endswith("({"):
            depth += 1
    assert depth == 1


def test_emitted_functions_are_valid_mlir() -> None:
    reads = [ms.binding("a", 0, 0, 2, 4), ms.binding("b", 1, 1, 2, 2), ms.binding("c", 2, 0, 2, 1)]
    writes = [ms.binding("y", 3, 16, 2, 4, "bf16")]
    text = ms.module("v", [], ["\n".join(emit_reader("v", reads)), "\n".join(emit_writer("v", writes))])
    ms.xdsl_check(text)
    # A CB shared by two tensors is declared once.
    assert text.count('%cb0 = "ttkernel.get_compile_time_arg_val"') == 1


@pytest.mark.parametrize(
    ("tensors"),
    [
        [("x", (64, 96), "bf16"), ("w", (32, 32), "bf16")],
        [("x", (40, 50), "f32")],  # padded edges
        [("col", (96, 1), "bf16"), ("row", (1, 64), "bf16")],  # vectors
    ],
)
def test_reader_and_writer_move_every_tile_in_order(tensors: list[tuple[str, tuple[int, int], str]]) -> None:
    text = copy_module(tensors)
    ms.xdsl_check(text)
    rng = np.random.default_rng(7)
    inputs = {name: rng.standard_normal(shape).astype(np.float32) for name, shape, _ in tensors}
    res = simulate(text, inputs)
    for name, _, dtype in tensors:
        expected = round_bf16(inputs[name]) if dtype == "bf16" else inputs[name]
        np.testing.assert_array_equal(res.outputs[f"{name}_out"], expected)
    assert res.stats["cb.0.max_occupancy"] <= 2


def test_dtype_mismatch_between_tensor_and_cb_is_caught_by_the_simulator() -> None:
    reader, writer = ms.noc("mm", [ms.binding("x", 0, 0, 2, 1)], [ms.binding("y", 1, 16, 2, 1)])
    cbs = {0: ms.cb_type(2), 16: ms.cb_type(2)}
    text = ms.module(
        "mm",
        ["x:in:32x32:f32", "y:out:32x32:bf16"],
        [reader, ms.compute("mm", cbs, COPY_BODY.replace("$n", "1")), writer],
    )
    ms.xdsl_check(text)
    with pytest.raises(SimulationError) as info:
        simulate(text, {"x": np.zeros((32, 32), np.float32)})
    line = ms.line_of(text, '"ttkernel.noc_async_read_tile"')
    assert str(info.value).startswith(
        f"line {line}: ttkernel.noc_async_read_tile: page size 2048 does not match"
    )


@pytest.mark.parametrize(
    ("binding", "message"),
    [
        (TensorBinding("a", 0, 0, ms.cb_type(2, "f32"), 1, "bf16"), "does not match CB type"),
        (TensorBinding("a", 0, 0, "!ttkernel.cb<2, f32>", 1, "f32"), "unsupported CB type"),
        (TensorBinding("a", 0, 0, CB2, 0, "bf16"), "n_tiles must be positive"),
    ],
)
def test_invalid_bindings_are_rejected(binding: TensorBinding, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emit_reader("k", [binding])


def test_two_types_for_one_cb_are_rejected() -> None:
    with pytest.raises(ValueError, match="cb 0 is bound with two different types"):
        emit_writer("k", [ms.binding("a", 0, 0, 2, 1), ms.binding("b", 1, 0, 4, 1)])


def test_output_is_deterministic() -> None:
    bindings = [ms.binding("b", 1, 3, 2, 2), ms.binding("a", 0, 1, 2, 5)]
    assert emit_reader("k", bindings) == emit_reader("k", list(bindings))
    assert emit_writer("k", bindings) == emit_writer("k", bindings)
