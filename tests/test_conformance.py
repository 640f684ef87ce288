# ruff: noqa: E501  (MLIR op lines are long by nature)
"""Every emitted module against tt-mlir main (19c86fca45ae): the TTKernel signature table of
`tteqsat.lowering.ttkernel_signatures` for every op, and the arg-spec rules of `tteqsat.lowering.conformance`.
The checks are shown to fail on what the project used to emit and on single broken properties."""

from __future__ import annotations

from pathlib import Path

import mlir_samples as ms
import pytest

from tteqsat.lowering.conformance import EMITTED_OPS, check_module, signature_table
from tteqsat.lowering.ttkernel_signatures import SIGNATURES, TTMLIR_COMMIT
from tteqsat.mlir_text.argspec import ArgEntry, ArgSpec, parse_arg_spec
from tteqsat.mlir_text.parser import parse_module

SAMPLES = ms.SAMPLES


def test_every_emitted_module_conforms(emitted_modules: dict[str, str], distinct_modules: dict[str, str]) -> None:
    """Every example kernel, wormhole_b0 and blackhole, bf16 and fp32, every form that applies (a module that
    differs from another only in its tteqsat.arch attribute is checked once)."""
    assert TTMLIR_COMMIT.startswith("19c86fca45ae")
    assert len(emitted_modules) >= 40
    assert {key.split("/")[1] for key in distinct_modules} == {"wormhole_b0", "blackhole"}
    assert {key.rsplit("/", 1)[1] for key in distinct_modules} == {"baseline", "fused", "streaming"}
    problems = {key: p for key, text in distinct_modules.items() if (p := check_module(text))}
    assert problems == {}


def test_every_op_kind_emitted_is_in_the_documented_table(distinct_modules: dict[str, str]) -> None:
    names = {op.name for text in distinct_modules.values() for f in parse_module(text).funcs()
             for op in _walk(f.regions[0].ops) if op.name.startswith("ttkernel.")}
    assert names <= set(EMITTED_OPS) <= set(SIGNATURES)
    for needed in ("ttkernel.TensorAccessorArgs", "ttkernel.TensorAccessor", "ttkernel.noc_async_read_tile",
                   "ttkernel.get_common_arg_val", "ttkernel.matmul_block", "ttkernel.copy_dest_values"):
        assert needed in names


def test_docs_give_the_signature_of_every_emitted_op() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "mlir-subset.md").read_text()
    marker = "tests/test_conformance.py keeps it equal -->\n"
    block = doc.split(marker, 1)[1].split("<!-- end of generated table -->", 1)[0]
    assert block == signature_table()
    assert TTMLIR_COMMIT[:12] in block and all(f"| `{name}` |" in block for name in EMITTED_OPS)


def _walk(ops):
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_hand_written_samples_conform(key: str) -> None:
    assert check_module(SAMPLES[key]()) == []


OLD_READER_LINES = """\
    %true = "arith.constant"() <{value = true}> : () -> i1
    %df = "ttkernel.get_dataformat"(%cb0) : ($cb) -> !ttkernel.DataFormat
    %g = "ttkernel.get_interleaved_addr_gen_fast"(%true, %a, %ts, %df) : (i1, i32, i32, !ttkernel.DataFormat) -> !ttkernel.interleaved_addr_gen_fast
    "ttkernel.noc_async_read_tile"(%c0_i32, %g, %ts) : (i32, !ttkernel.interleaved_addr_gen_fast, i32) -> ()
    "ttkernel.noc_async_read_barrier"() : () -> ()
""".replace("$cb", ms.cb_type(2))


def test_the_old_interleaved_addr_gen_reader_fails() -> None:
    text = ms.ADD.replace('    "scf.for"(%c0, %c2, %c1) ({\n    ^bb0(%t: index):\n      %ti', OLD_READER_LINES + '    "scf.for"(%c0, %c2, %c1) ({\n    ^bb0(%t: index):\n      %ti', 1)
    problems = check_module(text)
    assert any("get_interleaved_addr_gen_fast: unknown op on tt-mlir main (removed in 3d7f644dd5" in p for p in problems)
    assert any("interleaved_addr_gen_fast no longer exists on tt-mlir main" in p for p in problems)
    assert any("noc_async_read_barrier: no noc operand" in p for p in problems)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (" <{data_format = #ttcore.supportedDataTypes<bf16>}>", "", "copy_dest_values: missing required property data_format"),
        ("#ttcore.supportedDataTypes<bf16>", "#ttcore.supportedDataTypes<bfloat16>", "'bfloat16' is not one of"),
        ("add_unary_tile", "add_unary_tile_fast", "unknown op on tt-mlir main"),
    ],
)
def test_a_broken_compute_op_is_reported(old: str, new: str, message: str) -> None:
    text = ms.scalar_ops().replace(old, new, 1)
    problems = check_module(text)
    assert len(problems) == 1 and message in problems[0], problems


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # the first accessor block is compile-time arg 2 (after two CB ports), not 1
        ('"ttkernel.TensorAccessorArgs"(%c2_i32, %c0_i32)', '"ttkernel.TensorAccessorArgs"(%c1_i32, %c0_i32)', "cta_base 1 is not the first tensor_accessor_args position 2"),
        (" <{operandSegmentSizes = array<i32: 0, 0, 1>}>", "", "TensorAccessorArgs: missing required property operandSegmentSizes"),
        ("array<i32: 0, 0, 1>", "array<i32: 1, 0, 0>", "operand groups (1, 0, 0) not accepted by the verifier"),
        ('"ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()', '"ttkernel.noc_async_read_barrier"() : () -> ()', "no noc operand"),
        ('%noc0 = "arith.constant"() <{value = 0 : i8}>', '%noc0 = "arith.constant"() <{value = 2 : i8}>', "noc operand must be an i8 arith.constant 0 or 1"),
        ('"ttkernel.get_common_arg_val"(%c1) : (index) -> i32', '"ttkernel.get_common_arg_val"(%c2) : (index) -> i32', "runtime arg 2 is not among the 2 uniform rt_args"),
        ("<{arg_index = 1 : i32}> : () -> !ttkernel.cb", "<{arg_index = 2 : i32}> : () -> !ttkernel.cb", "arg_index 2 names no ct_args entry before the accessor blocks"),
        ("<arg_type = tensor_accessor_args, operand_index = 0>, <arg_type = tensor_accessor_args, operand_index = 1>]", "<arg_type = tensor_accessor_args, operand_index = 0>, <arg_type = cb_port, operand_index = 5>]", "tensor_accessor_args entries must be the last ct_args"),
    ],
)
def test_a_broken_dataflow_op_is_reported(old: str, new: str, message: str) -> None:
    assert ms.ADD.count(old) >= 1
    text = ms.ADD.replace(old, new, 1)
    problems = check_module(text)
    assert any(message in p for p in problems), problems


def test_unknown_function_attributes_are_reported_and_project_ones_are_not() -> None:
    text = ms.ADD.replace("ttkernel.thread = #ttkernel.thread<compute>, tteqsat.fp32_dest_acc_en = false",
                          "ttkernel.thread = #ttkernel.thread<compute>, tteqsat.fp32_dest_acc_en = false, foo.bar = 1")
    assert check_module(text) == ["add_compute: unknown function attribute foo.bar"]


def test_arg_spec_prints_as_tt_mlir_does_and_parses_back() -> None:
    spec = ArgSpec((ArgEntry("buffer_address", 3), ArgEntry("scalar", 0, is_uniform=False)),
                   (ArgEntry("cb_port", 16), ArgEntry("tensor_accessor_args", 3)))
    text = spec.print()
    assert text == ("#ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 3>, <arg_type = scalar, "
                    "operand_index = 0, is_uniform = false>] ct_args = [<arg_type = cb_port, operand_index = 16>, "
                    "<arg_type = tensor_accessor_args, operand_index = 3>]>")
    assert parse_arg_spec(text) == spec
    ct_only = ArgSpec(ct_args=(ArgEntry("cb_port", 0),))
    assert ct_only.print() == "#ttkernel.arg_spec< ct_args = [<arg_type = cb_port, operand_index = 0>]>"
    assert parse_arg_spec(ct_only.print()) == ct_only
    assert spec.common_args == (ArgEntry("buffer_address", 3),) and len(spec.per_core_args) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#ttkernel.arg_spec<ct_args = [<arg_type = cb_port>]>", "needs arg_type and operand_index"),
        ("#ttkernel.arg_spec<ct_args = [<arg_type = cb_port, operand_index = x>]>", "operand_index 'x' is not an integer"),
        ("#ttkernel.arg_spec<ct_args = [<arg_type = cb_port, operand_index = 0>] junk>", "unexpected text 'junk'"),
        ("#ttkernel.thread<noc>", "not a #ttkernel.arg_spec attribute"),
    ],
)
def test_malformed_arg_spec_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_arg_spec(text)
