# ruff: noqa: E501  (MLIR op lines are long by nature)
"""The host program next to the kernels: its content, its JSON, and the simulator taking every kernel
argument from it (not from a convention such as "runtime arg i is tensor i")."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mlir_samples as ms
import numpy as np
import pytest
from conftest import EXAMPLES, load_example, optimized_example

import tteqsat as tq
from tteqsat.cli import main as cli_main
from tteqsat.lowering.host import (
    BufferAddress,
    ComputeConfig,
    Core,
    HostProgram,
    HostProgramError,
    host_program,
)
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.tiles import round_bf16

RNG = np.random.default_rng(5)


def test_attention_host_program_describes_the_kernels_the_module_and_cpp_have() -> None:
    result = tq.optimize(load_example("attention"), blocks=())  # one work item: one core, no per-core args
    host = result.to_host()
    cpp = result.to_cpp()
    assert [k.name for k in host.kernels] == list(cpp)
    assert [k.source for k in host.kernels] == [f"{name}.cpp" for name in cpp]
    assert [t.name for t in host.tensors] == ["q", "k", "v", "out"]
    reader, compute, writer = host.kernels
    assert (reader.processor, reader.noc, writer.processor, writer.noc) == ("riscv_1", 0, "riscv_0", 1)
    # reader: its CB ports, then [IsDram = 2, page size] per input; the inputs' base addresses at launch
    ports = [c for c, n in zip(reader.compile_time_args, reader.compile_time_arg_names, strict=True) if n.startswith("cb_port")]
    assert reader.compile_time_args[len(ports):] == (2, 2048) * 3
    assert reader.common_runtime_args == tuple(BufferAddress(n) for n in ("q", "k", "v"))
    assert writer.common_runtime_args == (BufferAddress("out"),)
    assert compute.compile_time_args == tuple(cb.id for cb in result.schedule.cbs)
    # every CB the schedule planned, with its pages and format
    assert [(c.id, c.pages, c.data_format) for c in host.cbs] == [(cb.id, cb.tiles, "Float16_b") for cb in result.schedule.cbs]
    assert host.cores == (Core(0, 0, {k.name: () for k in host.kernels}),) and host.grid == (1, 1)


@pytest.mark.parametrize(
    ("overrides", "dtype", "expected"),
    [
        ({}, "bf16", ComputeConfig("HiFi2", False, False, True)),
        ({"settings.math_fidelity": "hifi4", "settings.dst_full_sync": True, "settings.exp_approx": False}, "bf16",
         ComputeConfig("HiFi4", False, True, False)),
        ({"settings.math_fidelity": "lofi"}, "fp32", ComputeConfig("LoFi", True, False, True)),
    ],
)
def test_compute_config_carries_the_settings(overrides: dict, dtype: str, expected: ComputeConfig) -> None:
    result = tq.optimize(load_example("row_softmax", dtype), overrides=overrides)
    s = result.schedule
    config = result.to_host().kernels[1].compute_config
    assert config == expected
    assert (config.fp32_dest_acc_en, config.dst_full_sync_en, config.math_approx_mode) == (
        s.fp32_dest_acc, s.dst_full_sync, s.exp_approx)


def test_json_round_trips_and_is_byte_identical_across_runs() -> None:
    a = optimized_example("attention").to_host()  # optimized earlier in the session, against a fresh run
    b = tq.optimize(load_example("attention")).to_host()
    assert a.to_json() == b.to_json()
    assert HostProgram.from_json(a.to_json()) == a
    doc = json.loads(a.to_json())
    assert doc["format"] == "tteqsat-host-program/1"
    assert all(len(line) <= 120 for line in a.to_json().splitlines())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("cbs"), "missing or malformed field"),
        (lambda d: d["kernels"][0]["common_runtime_args"].append({"buffer_address": "nope"}), "buffer_address of unknown tensor 'nope'"),
        (lambda d: d["cores"][0].update(core=[30, 0]), "core (30, 0) is outside the 8x8 grid"),
        (lambda d: d["kernels"][1].pop("compute_config"), "a compute config belongs to exactly the compute kernel"),
        (lambda d: d.update(format="other/2"), "'format' must be"),
    ],
)
def test_a_bad_json_file_names_the_problem(edit, message: str) -> None:
    doc = json.loads(optimized_example("ten_ops").to_host().to_json())
    edit(doc)
    with pytest.raises(HostProgramError, match="host program: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        HostProgram.from_json(json.dumps(doc))


def test_cli_emits_the_host_program(tmp_path: Path, capsys) -> None:
    assert cli_main(["optimize", str(EXAMPLES / "ten_ops.py"), "--emit", "host,cpp", "--out", str(tmp_path)]) == 0
    host = HostProgram.from_json((tmp_path / "ten_ops.host.json").read_text())
    assert {k.source for k in host.kernels} <= {p.name for p in tmp_path.iterdir()}


# -- the simulator takes the arguments from the host program ---------------------------------------------

COPY_TWO = ms.tile_loop(4)  # 4 tiles: x then w


def copy_two() -> str:
    """x and w (32x64 each) copied to x_out and w_out, tile by tile."""
    tensors = [ms.Tensor("x", "in", (32, 64), 0), ms.Tensor("w", "in", (32, 64), 0),
               ms.Tensor("x_out", "out", (32, 64), 16), ms.Tensor("w_out", "out", (32, 64), 16)]
    return ms.kernel("cp", tensors, COPY_TWO)


def _with_kernel(host: HostProgram, name: str, **changes) -> HostProgram:
    kernels = tuple(dataclasses.replace(k, **changes) if k.name == name else k for k in host.kernels)
    return dataclasses.replace(host, kernels=kernels)


def test_swapped_buffer_addresses_in_the_host_program_swap_the_outputs() -> None:
    text = copy_two()
    inputs = {"x": RNG.standard_normal((32, 64)).astype(np.float32), "w": RNG.standard_normal((32, 64)).astype(np.float32)}
    host = host_program(text)
    plain = simulate(text, inputs, host=host)
    np.testing.assert_array_equal(plain.outputs["x_out"], round_bf16(inputs["x"]))
    swapped = _with_kernel(host, "cp_reader", common_runtime_args=(BufferAddress("w"), BufferAddress("x")))
    out = simulate(text, inputs, host=swapped).outputs
    np.testing.assert_array_equal(out["x_out"], round_bf16(inputs["w"]))
    np.testing.assert_array_equal(out["w_out"], round_bf16(inputs["x"]))


@pytest.mark.parametrize(
    ("kernel", "args", "op", "message"),
    [
        ("add_reader", (0, 1, 2, 2048, 2), "ttkernel.TensorAccessorArgs", "kernel add_reader has only 5 compile-time args"),
        ("add_reader", (0, 1, 0, 2048, 2, 2048), "ttkernel.TensorAccessorArgs", "config 0 is not an interleaved DRAM tensor"),
        # b's accessor takes its page size from the compile-time args (a's is given one explicitly)
        ("add_reader", (0, 1, 2, 2048, 2, 4096), "ttkernel.noc_async_read_tile", "page size 4096 does not match a bf16 tile of tensor 'b'"),
        ("add_compute", (0, 1, 7), "ttkernel.get_compile_time_arg_val", "compile-time arg 2 is 7, which is not a CB of the program"),
    ],
)
def test_compile_time_args_come_from_the_host_program(kernel: str, args: tuple, op: str, message: str) -> None:
    host = _with_kernel(host_program(ms.ADD), kernel, compile_time_args=args, compile_time_arg_names=("?",) * len(args))
    inputs = {"a": np.zeros((64, 32), np.float32), "b": np.zeros((64, 32), np.float32)}
    simulate(ms.ADD, inputs, host=host_program(ms.ADD))
    with pytest.raises(SimulationError, match=rf"^line \d+: {op}: .*{message}"):
        simulate(ms.ADD, inputs, host=host)


def test_cb_ports_come_from_the_host_program() -> None:
    """Swapping the reader's two CB ports binds its CB handles to CBs of another size: an error at the
    declaration, not a silent read into the wrong CB."""
    text = ms.bcast_sub()
    host = host_program(text)
    reader = host.kernels[0]
    assert reader.compile_time_args[:2] == (0, 1)
    swapped = _with_kernel(host, reader.name, compile_time_args=(1, 0, *reader.compile_time_args[2:]))
    with pytest.raises(SimulationError, match=r"ttkernel.get_compile_time_arg_val: cb 1 is !ttkernel.cb<2, "
                       r"!ttcore.tile<32x32, bf16>> here but 1 x bf16 in the host program"):
        simulate(text, {"x": np.zeros((32, 64), np.float32), "m": np.zeros((32, 1), np.float32)}, host=swapped)


PER_CORE_WRITER = """\
  "func.func"() <{function_type = () -> (), sym_name = "pc_writer"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1_i32 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %noc = "arith.constant"() <{value = 1 : i8}> : () -> i8
    %cta = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %crta = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %cb16 = "ttkernel.get_compile_time_arg_val"() <{arg_index = 0 : i32}> : () -> !ttkernel.cb<1, !ttcore.tile<32x32, f32>>
    %args = "ttkernel.TensorAccessorArgs"(%cta, %crta) <{operandSegmentSizes = array<i32: 1, 1, 0>}> : (i32, i32) -> !ttkernel.TensorAccessorArgs
    %addr = "ttkernel.get_common_arg_val"(%c0) : (index) -> i32
    %acc = "ttkernel.TensorAccessor"(%args, %addr) : (!ttkernel.TensorAccessorArgs, i32) -> !ttkernel.TensorAccessor
    %tile = "ttkernel.get_arg_val"(%c0) : (index) -> i32
    "ttkernel.cb_wait_front"(%cb16, %c1_i32) : (!ttkernel.cb<1, !ttcore.tile<32x32, f32>>, i32) -> ()
    %l1 = "ttkernel.get_read_ptr"(%cb16) : (!ttkernel.cb<1, !ttcore.tile<32x32, f32>>) -> i32
    "ttkernel.noc_async_write_tile"(%tile, %acc, %l1, %noc) : (i32, !ttkernel.TensorAccessor, i32, i8) -> ()
    "ttkernel.noc_async_write_barrier"(%noc) : (i8) -> ()
    "ttkernel.cb_pop_front"(%cb16, %c1_i32) : (!ttkernel.cb<1, !ttcore.tile<32x32, f32>>, i32) -> ()
    "func.return"() : () -> ()
  }) {ttkernel.arg_spec = #ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 0>, <arg_type = scalar, operand_index = 0, is_uniform = false>] ct_args = [<arg_type = cb_port, operand_index = 16>, <arg_type = tensor_accessor_args, operand_index = 0>]>, ttkernel.thread = #ttkernel.thread<noc>} : () -> ()"""


def per_core_module() -> str:
    """Each core fills one tile with 2.0 and writes it at the tile id its writer's per-core arg 0 says."""
    body = ms.FILL_BODY.replace("$value", "2.0")
    compute = ms.compute("pc", {16: ms.cb_type(1, "f32")}, body, fp32=True)
    return ms.module("pc", ["o:out:32x64:f32"], [compute, PER_CORE_WRITER])


def test_each_core_runs_with_its_own_runtime_args() -> None:
    text = per_core_module()
    ms.xdsl_check(text)
    with pytest.raises(HostProgramError, match=r"pc_writer \(1\) read per-core runtime args"):
        host_program(text)
    cores = (Core(0, 0, {"pc_writer": (1,)}), Core(1, 0, {"pc_writer": (0,)}))
    res = simulate(text, {}, host=host_program(text, grid=(2, 1), cores=cores))
    np.testing.assert_array_equal(res.outputs["o"], np.full((32, 64), 2.0, np.float32))
    assert res.stats["cores"] == 2 and res.stats["dram.tiles_unwritten"] == 0
    assert res.stats["ops.ttkernel.fill_tile"] == 2  # one per core
    one = simulate(text, {}, host=host_program(text, grid=(2, 1), cores=cores[:1]), all_outputs=False)
    assert one.stats["dram.tiles_unwritten"] == 1
    np.testing.assert_array_equal(one.outputs["o"][:, 32:], 2.0)
    with pytest.raises(HostProgramError, match=r"core \(1, 0\): kernel pc_writer reads 1 per-core runtime args, 0 given"):
        host_program(text, grid=(2, 1), cores=(cores[0], Core(1, 0, {})))


def test_a_program_over_the_grid_lists_each_core_with_its_items() -> None:
    result = optimized_example("attention")  # 64 q rows: two row blocks of 32 on two cores
    host = result.to_host()
    plan = result.schedule.grid
    assert plan is not None and host.grid == plan.grid == (8, 8)
    assert [(c.x, c.y) for c in host.cores] == [(n % 8, n // 8) for n in range(len(plan.cores))]
    for core, (first, count) in zip(host.cores, plan.cores, strict=True):
        assert set(core.runtime_args) == {k.name for k in host.kernels}
        assert all(args == (first, count) for args in core.runtime_args.values())
    assert HostProgram.from_json(host.to_json()) == host
