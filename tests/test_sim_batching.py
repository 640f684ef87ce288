# ruff: noqa: E501  (inline MLIR op lines are long by nature)
"""The simulator's batched execution (`Instr.try_many`: a K loop of matmul_block or reduce_tile, a run of one op
over neighbouring DST slots) computes, counts and fails exactly as running the ops one by one."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import mlir_samples as ms
import numpy as np
import pytest
from conftest import load_example, optimized_example

import tteqsat.sim.threads as threads
from tteqsat.frontend.reference import random_inputs
from tteqsat.lowering.host import HostProgram, HostProgramError, host_program
from tteqsat.mlir_text.parser import parse_module
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.program import Instr


@contextmanager
def op_by_op() -> Iterator[None]:
    """Within it, every op runs on its own: no loop or run is batched."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threads, "_batched", lambda body: None)
        mp.setattr(threads, "_run_of", lambda instrs, start: ([instrs[start]], start + 1))
        yield


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """Counts the batches `try_many` took on (each entry: its rows)."""
    taken: list[int] = []
    real = Instr.__init__

    def init(self, *args, **kwargs) -> None:
        real(self, *args, **kwargs)
        if self.try_many is not None:
            inner = self.try_many

            def counted(rows, inner=inner):
                done = inner(rows)
                if done:
                    taken.append(len(rows))
                return done

            self.try_many = counted

    monkeypatch.setattr(Instr, "__init__", init)
    return taken


def inputs_for(text: str, seed: int = 0) -> dict[str, np.ndarray] | None:
    """Random inputs for the module's tensors; None when its host program cannot be read off the module (a
    grid kernel needs each core's runtime args)."""
    rng = np.random.default_rng(seed)
    try:
        host = host_program(parse_module(text))
    except HostProgramError:
        return None
    return {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in host.tensors if t.role == "in"}


def same(a, b) -> None:
    assert a.stats == b.stats
    assert a.outputs.keys() == b.outputs.keys()
    for name in a.outputs:
        assert a.outputs[name].tobytes() == b.outputs[name].tobytes(), name


@pytest.fixture(scope="module")
def example_programs() -> list[tuple[str, HostProgram, dict[str, np.ndarray]]]:
    """Emitted MLIR, host program (the first and the last core of a grid) and inputs of example kernels."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("attention", "long_attention", "row_softmax", "dst_pressure", "elementwise_chain"):
            for dtype in ("bf16", "fp32"):
                kernel = load_example(name, dtype)
                res = optimized_example(name, dtype)
                inputs, host = res.kernel_inputs(random_inputs(kernel, 0)), res.to_host()
                out.append((res.to_mlir(), replace(host, cores=(host.cores[0], host.cores[-1])), inputs))
    return out


@pytest.mark.parametrize("precision", ["exact", "hardware"])
def test_example_kernels_run_the_same_batched_and_op_by_op(example_programs, precision, batches) -> None:
    for text, host, inputs in example_programs:
        batched = simulate(text, inputs, host=host, precision=precision, all_outputs=False)
        taken = len(batches)
        with op_by_op():
            alone = simulate(text, inputs, host=host, precision=precision, all_outputs=False)
        assert len(batches) == taken  # nothing was batched op by op
        same(batched, alone)
    assert sum(batches) > 2 * len(batches) > 0  # batches of several rows were taken


# c (32x64) = a (32x64) @ b (64x64): one row of 2 output tiles, a K loop of matmul_block over $trips K tiles.
MATMUL_BLOCK_BODY = """\
%c0_i32 = "arith.constant"() <{value = 0 : i32}> : () -> i32
%trips = "arith.constant"() <{value = $trips : index}> : () -> index
"ttkernel.mm_block_init"(%cb0, %cb1, %cb16, %c0_i32, %c2_i32, %c1_i32, %c2_i32) : ($cb0, $cb1, $cb16, i32, i32, i32, i32) -> ()
"ttkernel.cb_wait_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"ttkernel.cb_wait_front"(%cb1, %c4_i32) : ($cb1, i32) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"scf.for"(%c0, %trips, %c1) ({
^bb0(%k: index):
  %bk = "arith.muli"(%k, %c2) : (index, index) -> index
  "ttkernel.matmul_block"(%cb0, %cb1, %k, %bk, %c0, %c0_i32, %c2_i32, %c1_i32, %c2_i32) : ($cb0, $cb1, index, index, index, i32, i32, i32, i32) -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.pack_tile"(%c1, %cb16, %c1) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c4_i32) : ($cb1, i32) -> ()
"""


def matmul_block(trips: int) -> str:
    tensors = [ms.Tensor("a", "in", (32, 64), 0, 2), ms.Tensor("b", "in", (64, 64), 1, 4),
               ms.Tensor("c", "out", (32, 64), 16, 2)]
    return ms.kernel("mmb", tensors, MATMUL_BLOCK_BODY.replace("$trips", str(trips)))


@pytest.mark.parametrize("precision", ["exact", "hardware"])
def test_a_k_loop_of_matmul_block_is_one_batch_with_the_same_result(precision, batches) -> None:
    text = matmul_block(2)
    ms.xdsl_check(text)
    inputs = inputs_for(text, 1)
    batched = simulate(text, inputs, precision=precision)
    assert batches == [2]
    want = inputs["a"].astype(np.float64) @ inputs["b"]
    assert np.abs(batched.outputs["c"] - want).max() < 0.05 * np.abs(want).max()
    # the K loop's index muli ran per trip (2), beside the reader's one per tile read (its L1 page offset)
    reader_muli = batched.stats["ops.ttkernel.noc_async_read_tile"]
    assert batched.stats["ops.ttkernel.matmul_block"] == 2 and batched.stats["ops.arith.muli"] == 2 + reader_muli
    with op_by_op():
        same(batched, simulate(text, inputs, precision=precision))
    assert batches == [2]


def test_a_k_loop_that_reads_past_its_tiles_fails_at_the_same_op_as_op_by_op(batches) -> None:
    text = matmul_block(3)  # the third K step reads tiles 4 and 5 of cb 1, which holds 4
    line = ms.line_of(text, '"ttkernel.matmul_block"')
    with pytest.raises(SimulationError) as batched:
        simulate(text, inputs_for(text))
    assert str(batched.value).startswith(f"line {line}: ttkernel.matmul_block: cb 1: read of tile 4")
    assert batches == []  # declined: the rows ran one by one
    with op_by_op(), pytest.raises(SimulationError) as alone:
        simulate(text, inputs_for(text))
    assert str(alone.value) == str(batched.value)


# y = exp(x) tile by tile, on DST slots $first, $first + 1 (a run of two exp_tile ops on neighbouring slots).
EXP_RUN_BODY = """\
%d0 = "arith.constant"() <{value = $first : index}> : () -> index
%d1 = "arith.addi"(%d0, %c1) : (index, index) -> index
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"ttkernel.cb_wait_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"ttkernel.tile_regs_acquire"() : () -> ()
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
"ttkernel.copy_tile"(%cb0, %c1, %c1) : ($cb0, index, index) -> ()
"ttkernel.exp_tile_init"() : () -> ()
"ttkernel.exp_tile"(%d0) : (index) -> ()
"ttkernel.exp_tile"(%d1) : (index) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.pack_tile"(%c1, %cb16, %c1) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c2_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c2_i32) : ($cb0, i32) -> ()
"""


def exp_run(first: int) -> str:
    tensors = [ms.Tensor("x", "in", (32, 64), 0, 2), ms.Tensor("y", "out", (32, 64), 16, 2)]
    return ms.kernel("expr", tensors, EXP_RUN_BODY.replace("$first", str(first)))


@pytest.mark.parametrize("precision", ["exact", "hardware"])
def test_a_run_of_one_op_on_neighbouring_slots_is_one_batch(precision, batches) -> None:
    text = exp_run(0)
    ms.xdsl_check(text)
    inputs = inputs_for(text, 2)
    batched = simulate(text, inputs, precision=precision)
    assert sorted(batches) == [2, 2]  # the copy_tile pair and the exp_tile pair
    np.testing.assert_allclose(batched.outputs["y"], np.exp(inputs["x"]), rtol=0.05)
    assert batched.stats["ops.ttkernel.exp_tile"] == 2 and batched.stats["ops.ttkernel.copy_tile"] == 2
    with op_by_op():
        same(batched, simulate(text, inputs, precision=precision))


def test_a_run_that_leaves_dst_fails_at_the_op_that_does(batches) -> None:
    text = exp_run(7)  # slots 7 and 8 of 8: the second exp_tile is out of range
    line = ms.line_of(text, '"ttkernel.exp_tile"', nth=2)
    with pytest.raises(SimulationError) as batched:
        simulate(text, inputs_for(text))
    assert str(batched.value).startswith(f"line {line}: ttkernel.exp_tile: DST slot 8 out of range")
    assert batches == [2]  # only the copy_tile pair
    with op_by_op(), pytest.raises(SimulationError) as alone:
        simulate(text, inputs_for(text))
    assert str(alone.value) == str(batched.value)
