"""The simulator compiles a module once and runs it on every core of the program, resetting the core's state in
between: nothing one core leaves behind (inits, DST, CBs) reaches the next, and each core reads its own runtime
args."""

from __future__ import annotations

import mlir_samples as ms
import numpy as np
import pytest
from test_host import PER_CORE_WRITER

from tteqsat.lowering.host import Core, host_program
from tteqsat.mlir_text.argspec import ArgEntry, ArgSpec
from tteqsat.sim import SimulationError, simulate

# Fills DST slot 0 with 2.0 and packs it; fill_tile_init runs (per-core arg 0) times first.
INITS_BY_CORE_BODY = """\
%two = "arith.constant"() <{value = 2.0 : f32}> : () -> f32
%n = "ttkernel.get_arg_val"(%c0) : (index) -> i32
%inits = "arith.index_cast"(%n) : (i32) -> index
"ttkernel.tile_regs_acquire"() : () -> ()
"scf.for"(%c0, %inits, %c1) ({
^bb0(%i: index):
  "ttkernel.fill_tile_init"() : () -> ()
  "scf.yield"() : () -> ()
}) : (index, index, index) -> ()
"ttkernel.fill_tile"(%c0, %two) : (index, f32) -> ()
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c0, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"""


def inits_by_core_module() -> str:
    compute = ms.compute("pc", {16: ms.cb_type(1, "f32")}, INITS_BY_CORE_BODY, fp32=True)
    plain = ArgSpec(ct_args=(ArgEntry("cb_port", 16),)).print()
    per_core = ArgSpec(rt_args=(ArgEntry("scalar", 0, is_uniform=False),), ct_args=(ArgEntry("cb_port", 16),))
    compute = compute.replace(plain, per_core.print())
    return ms.module("pc", ["o:out:32x64:f32"], [compute, PER_CORE_WRITER])


def cores(*inits: int) -> tuple[Core, ...]:
    """Core n writes tile n and runs fill_tile_init inits[n] times."""
    return tuple(Core(n, 0, {"pc_compute": (k,), "pc_writer": (n,)}) for n, k in enumerate(inits))


def test_every_core_runs_with_its_own_args() -> None:
    text = inits_by_core_module()
    ms.xdsl_check(text)
    res = simulate(text, {}, host=host_program(text, grid=(2, 1), cores=cores(1, 2)))
    np.testing.assert_array_equal(res.outputs["o"], 2.0)
    assert res.stats["ops.ttkernel.fill_tile_init"] == 3 and res.stats["ops.ttkernel.fill_tile"] == 2


def test_a_core_does_not_inherit_the_inits_of_the_one_before() -> None:
    text = inits_by_core_module()
    with pytest.raises(SimulationError, match=r"ttkernel.fill_tile: missing init: needs fill_tile_init"):
        simulate(text, {}, host=host_program(text, grid=(2, 1), cores=cores(1, 0)))
