"""Reader/writer emitter tests: pinned op forms, layout, validity, and data moved end to end."""

from __future__ import annotations

import re

import mlir_samples as ms
import numpy as np
import pytest

from tteqsat.lowering.dataflow import TensorBinding, arg_spec, emit_reader, emit_writer
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.tiles import round_bf16

CB2 = ms.cb_type(2)
ACC = "!ttkernel.TensorAccessor"
ARGS = "!ttkernel.TensorAccessorArgs"



def copy_module(tensors: list[tuple[str, tuple[int, int], str]]) -> str:
    """Inputs i and outputs n+i, each input copied tile by tile through cb0 -> DST(fp32) -> cb16."""
    ins = [ms.Tensor(name, "in", shape, 0, 2, dtype) for name, shape, dtype in tensors]
    outs = [ms.Tensor(f"{name}_out", "out", shape, 16, 2, dtype) for name, shape, dtype in tensors]
    total = sum(t.n_tiles for t in ins)
    return ms.kernel("cp", [*ins, *outs], ms.tile_loop(total), fp32=True)


def test_reader_pins_the_op_forms_of_ttmlir_main_and_layout() -> None:
    """Six tiles through a 2-page CB: three blocks of two, each reserved at once, read into consecutive pages
    (write pointer + i * tile size), one barrier, one push."""
    lines = emit_reader("k", [TensorBinding("a", 3, 5, CB2, 6, "bf16")])
    assert lines[0] == '  "func.func"() <{function_type = () -> (), sym_name = "k_reader"}> ({'
    assert lines[-1] == (
        "  }) {ttkernel.arg_spec = #ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 3>] "
        "ct_args = [<arg_type = cb_port, operand_index = 5>, <arg_type = tensor_accessor_args, operand_index = 3>]>, "
        "ttkernel.thread = #ttkernel.thread<noc>} : () -> ()"
    )
    assert lines[-2] == '    "func.return"() : () -> ()'
    body = "\n".join(lines)
    expected = [
        '    %noc = "arith.constant"() <{value = 0 : i8}> : () -> i8',
        '    %cta = "arith.constant"() <{value = 1 : i32}> : () -> i32',  # after the one CB port
        '    %crta = "arith.constant"() <{value = 0 : i32}> : () -> i32',
        f'    %cb5 = "ttkernel.get_compile_time_arg_val"() <{{arg_index = 0 : i32}}> : () -> {CB2}',
        f'    %ts5 = "ttkernel.get_tile_size"(%cb5) : ({CB2}) -> i32',
        f'    %args0 = "ttkernel.TensorAccessorArgs"(%cta, %crta) <{{operandSegmentSizes = array<i32: 1, 1, 0>}}> : '
        f"(i32, i32) -> {ARGS}",
        '    %rt0 = "arith.constant"() <{value = 0 : index}> : () -> index',
        '    %addr0 = "ttkernel.get_common_arg_val"(%rt0) : (index) -> i32',
        f'    %page0 = "ttkernel.get_tile_size"(%cb5) : ({CB2}) -> i32',
        f'    %acc0 = "ttkernel.TensorAccessor"(%args0, %addr0, %page0) : ({ARGS}, i32, i32) -> {ACC}',
        '    %blk0 = "arith.constant"() <{value = 2 : index}> : () -> index',
        '    %blk0_i32 = "arith.constant"() <{value = 2 : i32}> : () -> i32',
        '    %nblk0 = "arith.constant"() <{value = 3 : index}> : () -> index',
        '    "scf.for"(%c0, %nblk0, %c1) ({',
        "    ^bb0(%bk0: index):",
        '      %first0 = "arith.muli"(%bk0, %blk0) : (index, index) -> index',
        f'      "ttkernel.cb_reserve_back"(%cb5, %blk0_i32) : ({CB2}, i32) -> ()',
        f'      %l1_0 = "ttkernel.get_write_ptr"(%cb5) : ({CB2}) -> i32',
        '      "scf.for"(%c0, %blk0, %c1) ({',
        "      ^bb0(%i0: index):",
        '        %pos0 = "arith.addi"(%first0, %i0) : (index, index) -> index',
        '        %id0 = "arith.index_cast"(%pos0) : (index) -> i32',
        '        %page_i0 = "arith.index_cast"(%i0) : (index) -> i32',
        '        %l1off0 = "arith.muli"(%page_i0, %ts5) : (i32, i32) -> i32',
        '        %dst0 = "arith.addi"(%l1_0, %l1off0) : (i32, i32) -> i32',
        f'        "ttkernel.noc_async_read_tile"(%id0, %acc0, %dst0, %noc) : (i32, {ACC}, i32, i8) -> ()',
        '        "scf.yield"() : () -> ()',
        "      }) : (index, index, index) -> ()",
        '      "ttkernel.noc_async_read_barrier"(%noc) : (i8) -> ()',
        f'      "ttkernel.cb_push_back"(%cb5, %blk0_i32) : ({CB2}, i32) -> ()',
        '      "scf.yield"() : () -> ()',
        "    }) : (index, index, index) -> ()",
    ]
    for line in expected:
        assert line in lines, line
    order = [lines.index(line) for line in expected]
    assert order == sorted(order)
    # Loops, not unrolled: one read and one barrier per tensor however many tiles it has.
    assert body.count("noc_async_read_tile") == 1
    assert body.count("noc_async_read_barrier") == 1


@pytest.mark.parametrize(("capacity", "n_tiles", "block"), [(2, 7, 1), (4, 6, 2), (8, 8, 8), (16, 8, 8)])
def test_reader_blocks_are_the_largest_that_fit_the_cb_and_divide_the_tiles(capacity: int, n_tiles: int,
                                                                             block: int) -> None:
    """A block divides the CB's capacity (so it never wraps around the CB's end) and the tiles read."""
    lines = emit_reader("k", [TensorBinding("a", 0, 0, ms.cb_type(capacity), n_tiles, "bf16")])
    assert f'    %blk0 = "arith.constant"() <{{value = {block} : index}}> : () -> index' in lines
    blocks = [line for line in lines if "%nblk0 = " in line]
    assert blocks == ([f'    %nblk0 = "arith.constant"() <{{value = {n_tiles // block} : index}}> : () -> index']
                      if block < n_tiles else [])


def test_writer_pins_the_op_forms_and_uses_noc1() -> None:
    lines = emit_writer("k", [TensorBinding("o", 2, 16, ms.cb_type(4, "f32"), 3, "f32")])
    cb = ms.cb_type(4, "f32")
    assert lines[0].endswith('sym_name = "k_writer"}> ({')
    assert '    %noc = "arith.constant"() <{value = 1 : i8}> : () -> i8' in lines
    body_order = [
        f'      "ttkernel.cb_wait_front"(%cb16, %c1_i32) : ({cb}, i32) -> ()',
        f'      %l1_0 = "ttkernel.get_read_ptr"(%cb16) : ({cb}) -> i32',
        f'      "ttkernel.noc_async_write_tile"(%id0, %acc0, %l1_0, %noc) : (i32, {ACC}, i32, i8) -> ()',
        '      "ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()',
        f'      "ttkernel.cb_pop_front"(%cb16, %c1_i32) : ({cb}, i32) -> ()',
    ]
    positions = [lines.index(line) for line in body_order]
    assert positions == sorted(positions) and positions[-1] - positions[0] == 4


def test_accessor_args_chain_after_the_cb_ports_and_a_shared_tensor_gets_one_accessor() -> None:
    """Two CB ports, three bindings of two tensors: ct_args = [cb 1, cb 4, accessor t0, accessor t7], the first
    accessor at compile-time arg 2, the second chained from it; both bindings of tensor 7 read through %acc1."""
    bindings = [ms.binding("a", 0, 4, 2, 1), ms.binding("b", 7, 1, 2, 2), ms.binding("b_again", 7, 4, 2, 2)]
    lines = emit_reader("k", bindings)
    spec = arg_spec(bindings)
    assert [(e.arg_type, e.operand_index) for e in spec.ct_args] == [
        ("cb_port", 1), ("cb_port", 4), ("tensor_accessor_args", 0), ("tensor_accessor_args", 7)]
    assert [(e.arg_type, e.operand_index) for e in spec.rt_args] == [("buffer_address", 0), ("buffer_address", 7)]
    assert '    %cta = "arith.constant"() <{value = 2 : i32}> : () -> i32' in lines
    assert (f'    %args1 = "ttkernel.TensorAccessorArgs"(%args0) <{{operandSegmentSizes = array<i32: 0, 0, 1>}}> : '
            f"({ARGS}) -> {ARGS}") in lines
    text = "\n".join(lines)
    assert text.count('"ttkernel.TensorAccessor"(') == 2
    reads = [line.split("(")[1].split(",")[1].strip() for line in lines if "noc_async_read_tile" in line]
    assert reads == ["%acc0", "%acc1", "%acc1"]


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



@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # one page reserved, two read: the second lands on a page the reader does not own
        ('"ttkernel.cb_reserve_back"(%cb0, %blk0_i32)', '"ttkernel.cb_reserve_back"(%cb0, %c1_i32)',
         "cb 0: noc_async_read_tile into page 1 beyond the 1 reserved tiles"),
        # addresses counted from the first tile instead of the block: the second block's reads run off the CB
        ('%page_i0 = "arith.index_cast"(%i0)', '%page_i0 = "arith.index_cast"(%pos0)',
         "lies 1 page past the end of cb 0 (2 pages)"),
    ],
)
def test_a_reader_that_reads_past_its_reservation_fails(old: str, new: str, message: str) -> None:
    """Four tiles through a 2-page CB: blocks of two at write pointer + i * tile size. A reader that reserves
    fewer pages than it reads, or addresses pages beyond its block, is a ProtocolError at the read."""
    text = copy_module([("x", (64, 64), "bf16")])
    inputs = {"x": np.arange(64 * 64, dtype=np.float32).reshape(64, 64)}
    np.testing.assert_array_equal(simulate(text, inputs).outputs["x_out"], round_bf16(inputs["x"]))
    broken = text.replace(old, new, 1)
    assert broken != text
    with pytest.raises(SimulationError) as info:
        simulate(broken, inputs)
    first = ms.line_of(broken, '"ttkernel.noc_async_read_tile"')
    assert str(info.value).startswith(f"line {first}: ttkernel.noc_async_read_tile: "), str(info.value)
    assert message in str(info.value), str(info.value)

def test_dtype_mismatch_between_tensor_and_cb_is_caught_by_the_simulator() -> None:
    tensors = [ms.Tensor("x", "in", (32, 32), 0, 2, "f32", tile_dtype="bf16"), ms.Tensor("y", "out", (32, 32), 16)]
    text = ms.kernel("mm", tensors, ms.tile_loop(1))
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


ADD_INPUTS = {"a": np.ones((64, 32), np.float32), "b": np.ones((64, 32), np.float32)}


@pytest.mark.parametrize(
    ("old", "new", "op", "message"),
    [
        # a barrier completes the transfers of its own NoC only
        ('"ttkernel.noc_async_read_barrier"(%noc0)', '"ttkernel.noc_async_read_barrier"(%noc1)',
         "ttkernel.cb_push_back", "cb 0: cb_push_back before noc_async_read_barrier completed the reads into it"),
        ('%noc0 = "arith.constant"() <{value = 0 : i8}>', '%noc0 = "arith.constant"() <{value = 2 : i8}>',
         "ttkernel.noc_async_read_tile", "noc must be 0 or 1, got 2"),
        ("array<i32: 0, 0, 1>", "array<i32: 0, 1, 0>", "ttkernel.TensorAccessorArgs",
         "operandSegmentSizes must be array<i32: 1, 1, 0>"),
        ('"ttkernel.get_common_arg_val"(%c1)', '"ttkernel.get_common_arg_val"(%c2)', "ttkernel.get_common_arg_val",
         "common runtime arg 2 does not exist: kernel add_reader has 2"),
    ],
)
def test_dataflow_protocol_errors_name_the_op(old: str, new: str, op: str, message: str) -> None:
    text = ms.ADD.replace(old, new, 1)
    if "%noc1)" in new:
        noc1 = '    %noc1 = "arith.constant"() <{value = 1 : i8}> : () -> i8\n'
        text = text.replace('    %noc0 = "arith.constant"', noc1 + '    %noc0 = "arith.constant"', 1)
    assert text != ms.ADD
    with pytest.raises(SimulationError) as info:
        simulate(text, ADD_INPUTS)
    first = ms.line_of(text, f'"{op}"(')
    assert re.match(rf"line (\d+): {op}: ", str(info.value)), str(info.value)
    assert int(str(info.value).split(":")[0].split()[1]) >= first
    assert message in str(info.value), str(info.value)
