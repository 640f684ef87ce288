# ruff: noqa: E501  (inline MLIR op lines are long by nature)
"""Simulator tests: numerics against numpy, every protocol error with its op and line."""

from __future__ import annotations

import time

import mlir_samples as ms
import numpy as np
import pytest

from tteqsat.mlir_text.parser import parse_module
from tteqsat.sim import SimulationError, simulate
from tteqsat.sim.tiles import round_bf16, tilize, untilize

RNG = np.random.default_rng(1234)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def r(x: np.ndarray) -> np.ndarray:
    return round_bf16(np.asarray(x, dtype=np.float32))


def run(text: str, inputs: dict[str, np.ndarray] | None = None):
    ms.xdsl_check(text)
    return simulate(text, inputs or {})


def expect_error(
    text: str,
    line: int,
    op: str,
    message: str,
    valid_mlir: bool = True,
    inputs: dict[str, np.ndarray] | None = None,
) -> str:
    if valid_mlir:
        ms.xdsl_check(text)
    else:
        with pytest.raises(Exception):  # noqa: B017 - any xdsl diagnostic
            ms.xdsl_check(text)
    with pytest.raises(SimulationError) as info:
        simulate(text, inputs or {})
    text_msg = str(info.value)
    assert text_msg.startswith(f"line {line}: {op}: "), text_msg
    assert message in text_msg, text_msg
    return text_msg


def mutate(body: str, old: str, new: str | None) -> str:
    assert body.count(old) == 1, f"{old!r} occurs {body.count(old)} times"
    if new is None:
        lines = body.splitlines(keepends=True)
        [hit] = [i for i, line in enumerate(lines) if old in line]
        del lines[hit]
        return "".join(lines)
    return body.replace(old, new)


# -- tiles and rounding ------------------------------------------------------------------------


def test_round_bf16_ties_to_even_and_specials() -> None:
    one_ulp = 2.0**-7  # bf16 spacing at 1.0
    values = np.array(
        [
            1 + one_ulp / 2,
            1 + 1.5 * one_ulp,
            -(1 + one_ulp / 2),
            1 + one_ulp / 2 + 2**-20,
            3.4028235e38,
            np.inf,
        ],
        dtype=np.float32,
    )
    out = round_bf16(values)
    np.testing.assert_array_equal(out, [1.0, 1 + 2 * one_ulp, -1.0, 1 + one_ulp, np.inf, np.inf])
    assert np.isnan(round_bf16(np.array([np.nan], dtype=np.float32)))[0]
    assert (out.view(np.uint32) & 0xFFFF == 0).all()


def test_tilize_roundtrip_and_vector_padding() -> None:
    a = rand(50, 70)
    tiles = tilize(a)
    assert len(tiles) == 2 * 3
    np.testing.assert_array_equal(untilize(tiles, (50, 70)), a)
    np.testing.assert_array_equal(tiles[1][:18, :], a[:18, 32:64])
    assert not tiles[5][18:, :].any() and not tiles[5][:, 6:].any()
    col = rand(64, 1)
    col_tiles = tilize(col)
    assert len(col_tiles) == 2
    np.testing.assert_array_equal(col_tiles[1][:, 0], col[32:, 0])
    assert not col_tiles[1][:, 1:].any()
    row = rand(1, 64)
    row_tiles = tilize(row)
    np.testing.assert_array_equal(row_tiles[1][0], row[0, 32:])
    assert not row_tiles[1][1:].any()


# -- numerics of whole kernels ---------------------------------------------------------------


def test_add_tiles_through_cbs() -> None:
    a, b = rand(64, 32), rand(64, 32)
    res = run(ms.ADD, {"a": a, "b": b})
    np.testing.assert_array_equal(res.outputs["c"], r(r(a) + r(b)))
    assert res.stats["ops.ttkernel.add_tiles"] == 2
    assert res.stats["ops.ttkernel.noc_async_read_tile"] == 4
    assert res.stats["cb.16.max_occupancy"] <= res.stats["cb.16.capacity"] == 2
    assert res.stats["ops.total"] == sum(
        v for k, v in res.stats.items() if k.startswith("ops.ttkernel.")
    ) + sum(v for k, v in res.stats.items() if k.startswith(("ops.arith.", "ops.scf.", "ops.func.")))


def test_sfpu_exp_chain_with_scale() -> None:
    x = rand(32, 64)
    res = run(ms.exp_chain(), {"x": x})
    y = res.outputs["y"]
    # DST rounds to bf16 after every op in bf16 mode: copy, exp(0.5 x), recip.
    stepwise = r(np.float32(1.0) / r(np.exp(np.float32(0.5) * r(x))))
    np.testing.assert_array_equal(y, stepwise)
    np.testing.assert_allclose(y, np.exp(-0.5 * x.astype(np.float64)), rtol=2e-2)
    assert res.stats["ops.ttkernel.exp_tile"] == 2
    assert res.stats["dst.max_slot"] == 0 and res.stats["dst.capacity"] == 8


def test_matmul_accumulates_over_k_with_transpose_in_fp32_dst() -> None:
    a, b = rand(64, 64), rand(32, 64)
    res = run(ms.matmul(), {"a": a, "b": b})
    expected = r(a).astype(np.float64) @ r(b).astype(np.float64).T
    assert res.outputs["c"].dtype == np.float32 and res.outputs["c"].shape == (64, 32)
    np.testing.assert_allclose(res.outputs["c"], expected, rtol=1e-5, atol=1e-4)
    assert res.stats["ops.ttkernel.matmul_tiles"] == 4
    assert res.stats["dst.capacity"] == 4


def test_reduce_max_rows_starts_from_minus_infinity() -> None:
    x = rand(32, 64) - 8.0  # all negative: a max seeded with the slot's 0 would be wrong
    res = run(ms.reduce_rows("reduce_max", 1.0), {"x": x})
    np.testing.assert_array_equal(res.outputs["m"][:, 0], r(x).max(axis=1))
    assert res.outputs["m"].shape == (32, 1)


def test_reduce_sum_rows_with_fill_tile_scaler() -> None:
    x = rand(32, 64)
    res = run(ms.reduce_rows("reduce_sum", 0.5), {"x": x})
    np.testing.assert_allclose(
        res.outputs["m"][:, 0], 0.5 * r(x).astype(np.float64).sum(axis=1), rtol=2e-2, atol=2e-2
    )
    assert res.stats["ops.ttkernel.fill_tile"] == 1 and res.stats["ops.ttkernel.reduce_tile"] == 2


def test_reduce_tile_attributes_must_match_reduce_init() -> None:
    text = ms.reduce_rows("reduce_max", 1.0, tile_kind="reduce_sum")
    expect_error(
        text,
        ms.line_of(text, '"ttkernel.reduce_tile"'),
        "ttkernel.reduce_tile",
        "missing init: needs reduce_init<reduce_sum, reduce_dim_row> since the last FPU init "
        "(last FPU init: reduce_init<reduce_max, reduce_dim_row>)",
        inputs={"x": rand(32, 64)},
    )


def test_unary_bcast_col_then_binary_dest_reuse_sub() -> None:
    x, m = rand(32, 64), rand(32, 1)
    res = run(ms.bcast_sub(), {"x": x, "m": m})
    np.testing.assert_array_equal(res.outputs["y"], r(r(x) - r(m)))


def test_scalar_ops_copy_dest_values_and_sfpu_add() -> None:
    x = rand(32, 32)
    res = run(ms.scalar_ops(), {"x": x})
    f = np.float32
    step = r(r(r(r(x) + f(1.5)) * f(0.25)) / f(2.0))
    np.testing.assert_array_equal(res.outputs["y"], r(step + step))
    np.testing.assert_allclose(res.outputs["y"], (x.astype(np.float64) + 1.5) * 0.25, rtol=2e-2, atol=1e-2)


@pytest.mark.parametrize(
    ("value", "fp32", "out_dtype", "expected"),
    [
        (1 + 2**-8, False, "f32", 1.0),  # tie -> even in bf16 DST
        (1 + 3 * 2**-8, False, "f32", 1 + 2**-6),  # tie -> even rounds up
        (1 + 2**-8, True, "f32", 1 + 2**-8),  # fp32 DST and f32 CB keep it
        (1 + 2**-8, True, "bf16", 1.0),  # pack_tile rounds to the CB's dtype
    ],
)
def test_bf16_rounding_in_dst_and_pack(value: float, fp32: bool, out_dtype: str, expected: float) -> None:
    res = run(ms.fill(value, fp32=fp32, out_dtype=out_dtype))
    np.testing.assert_array_equal(res.outputs["o"], np.full((32, 32), expected, dtype=np.float32))


def test_self_kernel_baseline_runs() -> None:
    res = run(ms.self_kernel())
    assert res.outputs == {}
    assert res.stats["ops.ttkernel.exp_tile"] == 1
    assert res.stats["cb.1.max_occupancy"] == 1


# -- protocol errors -----------------------------------------------------------------------------

SELF = ms.SELF_BODY
COPY = '"ttkernel.copy_tile"(%cb0, %c0, %c0)'
PACK_CB1 = '"ttkernel.pack_tile"(%c0, %cb1, %c0)'


@pytest.mark.parametrize(
    ("old", "new", "op", "needle", "message"),
    [
        (
            "// second acquire",
            None,
            "ttkernel.copy_tile",
            COPY,
            "math op on DST outside tile_regs_acquire..tile_regs_commit",
        ),
        (
            "// second wait",
            None,
            "ttkernel.pack_tile",
            PACK_CB1,
            "pack_tile outside tile_regs_wait..tile_regs_release",
        ),
        (
            '"ttkernel.fill_tile"(%c0, %one)',
            '"ttkernel.fill_tile"(%c8, %one)',
            "ttkernel.fill_tile",
            '"ttkernel.fill_tile"',
            "DST slot 8 out of range: capacity is 8 tiles (bf16 mode)",
        ),
        (
            COPY,
            '"ttkernel.copy_tile"(%cb0, %c1, %c0)',
            "ttkernel.copy_tile",
            '"ttkernel.copy_tile"',
            "cb 0: read of tile 1 but only 1 tiles waited for",
        ),
        (
            '"ttkernel.cb_wait_front"(%cb0, %c1_i32)',
            None,
            "ttkernel.copy_tile",
            COPY,
            "cb 0: read of tile 0 but only 0 tiles waited for",
        ),
        (
            '"ttkernel.pack_tile"(%c0, %cb0, %c0)',
            '"ttkernel.pack_tile"(%c0, %cb0, %c1) <{out_of_order = true}>',
            "ttkernel.pack_tile",
            '"ttkernel.pack_tile"(%c0, %cb0',
            "cb 0: pack_tile to tile 1 beyond the 1 reserved tiles",
        ),
        (
            '"ttkernel.cb_push_back"(%cb0, %c1_i32)',
            '"ttkernel.cb_push_back"(%cb0, %c2_i32)',
            "ttkernel.cb_push_back",
            '"ttkernel.cb_push_back"(%cb0',
            "cb 0: cb_push_back of 2 pages but only 1 reserved",
        ),
        (
            '"ttkernel.cb_pop_front"(%cb0, %c1_i32)',
            '"ttkernel.cb_pop_front"(%cb0, %c2_i32)',
            "ttkernel.cb_pop_front",
            '"ttkernel.cb_pop_front"(%cb0',
            "cb 0: cb_pop_front of 2 pages but only 1 waited for",
        ),
        (
            '"ttkernel.cb_reserve_back"(%cb0, %c1_i32)',
            '"ttkernel.cb_reserve_back"(%cb0, %c4_i32)',
            "ttkernel.cb_reserve_back",
            '"ttkernel.cb_reserve_back"(%cb0',
            "cb 0: cb_reserve_back of 4 pages exceeds the capacity of 2 tiles",
        ),
        (
            '"ttkernel.cb_wait_front"(%cb0, %c1_i32)',
            '"ttkernel.cb_wait_front"(%cb0, %c4_i32)',
            "ttkernel.cb_wait_front",
            '"ttkernel.cb_wait_front"(%cb0',
            "cb 0: cb_wait_front of 4 pages exceeds the capacity of 2 tiles",
        ),
        (
            '"ttkernel.exp_tile_init"()',
            None,
            "ttkernel.exp_tile",
            '"ttkernel.exp_tile"(',
            "missing init: needs exp_tile_init since the last SFPU init (last SFPU init: fill_tile_init)",
        ),
        (
            '"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()',
            None,
            "ttkernel.copy_tile",
            COPY,
            "missing init: needs copy_tile_init since the last FPU init (last FPU init: none)",
        ),
        (
            '"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()',
            '"ttkernel.add_tiles_init"(%cb0, %cb0) : ($cb0, $cb0) -> ()',
            "ttkernel.copy_tile",
            COPY,
            "missing init: needs copy_tile_init since the last FPU init (last FPU init: add_tiles_init)",
        ),
        (
            "// second acquire",
            "// second acquire\n" + '"ttkernel.tile_regs_acquire"() : () -> ()  // third acquire',
            "ttkernel.tile_regs_acquire",
            "// third acquire",
            "tile_regs_acquire while DST is already acquired (missing tile_regs_commit)",
        ),
        (
            "// second commit",
            None,
            "ttkernel.tile_regs_wait",
            "// second wait",
            "tile_regs_wait with no committed DST (missing tile_regs_commit; would hang)",
        ),
        (
            "// second release",
            None,
            "func.return",
            '"func.return"',
            "DST still held by the packer at the end of the compute thread (missing tile_regs_release)",
        ),
        (
            '"ttkernel.cb_wait_front"(%cb1, %c1_i32)',
            '"ttkernel.cb_wait_front"(%cb1, %c2_i32)',
            "ttkernel.cb_wait_front",
            '"ttkernel.cb_wait_front"(%cb1',
            "deadlock: every thread is blocked: self_compute blocked at line {line} ttkernel.cb_wait_front "
            "(waiting for 2 tiles in cb 1 (1 published))",
        ),
        (
            '"ttkernel.exp_tile"(%c0) : (index) -> ()',
            '"ttkernel.sin_tile"(%c0) : (index) -> ()',
            "ttkernel.sin_tile",
            '"ttkernel.sin_tile"',
            "unsupported op (not in the simulator's MLIR subset)",
        ),
        (
            '"ttkernel.exp_tile"(%c0) : (index) -> ()',
            '%w = "ttkernel.get_write_ptr"(%cb0) : ($cb0) -> i32',
            "ttkernel.get_write_ptr",
            '"ttkernel.get_write_ptr"',
            "op is not supported in a compute thread",
        ),
    ],
)
def test_protocol_violation_is_an_error_at_its_line(
    old: str, new: str | None, op: str, needle: str, message: str
) -> None:
    text = ms.self_kernel(mutate(SELF, old, new))
    line = ms.line_of(text, needle)
    expect_error(text, line, op, message.format(line=line))


def test_dst_capacity_depends_on_fp32_mode() -> None:
    body = mutate(SELF, '"ttkernel.fill_tile"(%c0, %one)', '"ttkernel.fill_tile"(%c4, %one)')
    run(ms.self_kernel(body))  # slot 4 exists with 8 bf16 slots
    text = ms.self_kernel(body, fp32=True)
    expect_error(
        text,
        ms.line_of(text, '"ttkernel.fill_tile"'),
        "ttkernel.fill_tile",
        "DST slot 4 out of range: capacity is 4 tiles (fp32 mode)",
    )


def test_three_thread_deadlock_lists_every_blocked_op() -> None:
    body = """\
"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"""
    tensors = [ms.Tensor("a", "in", (64, 32), 0, 1), ms.Tensor("b", "in", (32, 32), 1, 1),
               ms.Tensor("y", "out", (32, 32), 16, 1)]
    text = ms.kernel("dl", tensors, body)
    ms.xdsl_check(text)
    with pytest.raises(SimulationError) as info:
        simulate(text, {"a": rand(64, 32), "b": rand(32, 32)})
    msg = str(info.value)
    reserve = ms.line_of(text, '"ttkernel.cb_reserve_back"(%cb0')
    wait_b = ms.line_of(text, '"ttkernel.cb_wait_front"(%cb1')
    wait_out = ms.line_of(text, '"ttkernel.cb_wait_front"(%cb16')
    assert msg.startswith(f"line {reserve}: ttkernel.cb_reserve_back: deadlock: every thread is blocked: "), (
        msg
    )
    assert (
        f"dl_reader blocked at line {reserve} ttkernel.cb_reserve_back "
        "(waiting for 1 free pages in cb 0 (0 free))" in msg
    )
    assert (
        f"dl_compute blocked at line {wait_b} ttkernel.cb_wait_front "
        "(waiting for 1 tiles in cb 1 (0 published))" in msg
    )
    assert (
        f"dl_writer blocked at line {wait_out} ttkernel.cb_wait_front "
        "(waiting for 1 tiles in cb 16 (0 published))" in msg
    )


def test_push_before_read_barrier_is_an_error() -> None:
    text = mutate(ms.ADD, '"ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()', None)
    ms.xdsl_check(text)
    with pytest.raises(SimulationError) as info:
        simulate(text, {"a": rand(64, 32), "b": rand(64, 32)})
    line = ms.line_of(text, '"ttkernel.cb_push_back"(%cb0')
    assert str(info.value) == (
        f"line {line}: ttkernel.cb_push_back: cb 0: cb_push_back before noc_async_read_barrier "
        "completed the reads into it"
    )


def test_compute_op_in_noc_thread_is_rejected() -> None:
    text = mutate(
        ms.ADD,
        '"ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()',
        '"ttkernel.noc_async_read_barrier"(%noc0) : (i8) -> ()\n      "ttkernel.tile_regs_acquire"() : () -> ()',
    )
    ms.xdsl_check(text)
    with pytest.raises(
        SimulationError, match=r"^line (\d+): ttkernel.tile_regs_acquire: op is not supported in a noc thread"
    ):
        simulate(text, {"a": rand(64, 32), "b": rand(64, 32)})
    assert ms.line_of(text, "tile_regs_acquire") == ms.line_of(text, "noc_async_read_barrier") + 1


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"a": np.zeros((64, 32))}, "line 1: module: missing input tensor 'b'"),
        (
            {"a": np.zeros((64, 32)), "b": np.zeros((32, 32))},
            "line 1: module: input tensor 'b' has shape (32, 32), expected (64, 32)",
        ),
    ],
)
def test_missing_or_misshaped_input_names_the_tensor(inputs: dict[str, np.ndarray], message: str) -> None:
    ms.xdsl_check(ms.ADD)
    with pytest.raises(SimulationError) as info:
        simulate(ms.ADD, inputs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '"ttkernel.tile_regs_acquire"() : () -> ()',
            "ttkernel.tile_regs_acquire",
            "parser: expected a generic op name",
        ),
        (
            '"ttkernel.add_tiles"(%cb0, %cb1, %c0, %c0, %c0) : ($cb, $cb, index, index, index) -> ()',
            '"ttkernel.add_tiles"(%cb0, %cb1, %c0, %c0, %c0) : (tensor<4xf32>) -> ()',
            "parser: expected a type",
        ),
        (
            '"ttkernel.tile_regs_commit"() : () -> ()',
            '"ttkernel.tile_regs_commit"() : () -> () ?',
            "parser: unexpected character '?'",
        ),
    ],
)
def test_unknown_syntax_is_an_error_naming_the_line(old: str, new: str, message: str) -> None:
    template = ms.ADD.replace(ms.cb_type(2), "$cb")
    text = mutate(template, old, new).replace("$cb", ms.cb_type(2))
    line = ms.line_of(text, new.split("(")[0] if "?" not in new else "?")
    with pytest.raises(Exception):  # noqa: B017 - xdsl rejects it too
        ms.xdsl_check(text)
    with pytest.raises(SimulationError) as info:
        simulate(text, {"a": rand(64, 32), "b": rand(64, 32)})
    assert str(info.value).startswith(f"line {line}: {message}"), str(info.value)


def test_use_of_undefined_value() -> None:
    text = ms.self_kernel(mutate(SELF, COPY, '"ttkernel.copy_tile"(%cb0, %nope, %c0)'))
    expect_error(
        text,
        ms.line_of(text, "%nope"),
        "ttkernel.copy_tile",
        "use of undefined value %nope",
        valid_mlir=False,
    )


def test_parser_records_lines_and_typed_attributes() -> None:
    mod = parse_module(ms.exp_chain())
    assert mod.attributes["tteqsat.tensors"] == ["x:in:32x64:bf16", "y:out:32x64:bf16"]
    compute = next(f for f in mod.funcs() if f.attr("sym_name") == "expc_compute")
    loop = next(op for op in compute.regions[0].ops if op.name == "scf.for")
    exp = next(op for op in loop.regions[0].ops if op.name == "ttkernel.exp_tile")
    assert exp.attr("scale").value == 0x3F000000 and exp.attr("scale").type == "i32"
    assert exp.line == ms.line_of(ms.exp_chain(), '"ttkernel.exp_tile"(')
    assert loop.regions[0].args == [("%t", "index")]


def test_thousands_of_tile_ops_run_fast() -> None:
    n = 256
    body = ms.tile_loop(n, inits='"ttkernel.exp_tile_init"() : () -> ()', ops='"ttkernel.exp_tile"(%c0) : (index) -> ()')
    text = ms.kernel("big", [ms.Tensor("x", "in", (512, 512), 0), ms.Tensor("y", "out", (512, 512), 16)], body)
    x = rand(512, 512)
    start = time.perf_counter()
    res = simulate(text, {"x": x})
    elapsed = time.perf_counter() - start
    assert res.stats["ops.total"] > 5000
    np.testing.assert_array_equal(res.outputs["y"], r(np.exp(r(x))))
    assert elapsed < 5.0, f"{res.stats['ops.total']} ops took {elapsed:.2f}s"


# -- per-op semantics in fp32 DST ------------------------------------------------------------------

TWO_INPUT_BODY = """\
"ttkernel.init_sfpu"(%cb0, %cb16) : ($cb0, $cb16) -> ()
"ttkernel.cb_wait_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_wait_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
@SETUP@
"ttkernel.tile_regs_acquire"() : () -> ()
@OPS@
"ttkernel.tile_regs_commit"() : () -> ()
"ttkernel.tile_regs_wait"() : () -> ()
"ttkernel.cb_reserve_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.pack_tile"(%c2, %cb16, %c0) : (index, $cb16, index) -> ()
"ttkernel.cb_push_back"(%cb16, %c1_i32) : ($cb16, i32) -> ()
"ttkernel.tile_regs_release"() : () -> ()
"ttkernel.cb_pop_front"(%cb0, %c1_i32) : ($cb0, i32) -> ()
"ttkernel.cb_pop_front"(%cb1, %c1_i32) : ($cb1, i32) -> ()
"""
COPY_X_Y = """\
"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()
"ttkernel.copy_tile"(%cb0, %c0, %c0) : ($cb0, index, index) -> ()
"ttkernel.copy_tile"(%cb1, %c0, %c1) : ($cb1, index, index) -> ()
"""


def two_input_kernel(ops: str, setup: str = "") -> str:
    """x (cb0) and y (cb1), one f32 tile each; ``ops`` must leave the result in DST slot 2; ``setup`` runs
    before the acquire (full inits may not run inside a DST section)."""
    tensors = [ms.Tensor(n, role, (32, 32), cb, 1, "f32") for n, role, cb in (("x", "in", 0), ("y", "in", 1),
                                                                               ("z", "out", 16))]
    body = TWO_INPUT_BODY.replace("@OPS@", ops.rstrip("\n")).replace("@SETUP@", setup.rstrip("\n"))
    return ms.kernel("two", tensors, body, fp32=True)


def _erf(v: np.ndarray) -> np.ndarray:
    import math

    return np.vectorize(math.erf)(v)


def _sig(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


UNARY_REFS = {
    "recip_tile": lambda v: 1 / v,
    "sqrt_tile": np.sqrt,
    "rsqrt_tile": lambda v: 1 / np.sqrt(v),
    "log_tile": np.log,
    "abs_tile": np.abs,
    "negative_tile": np.negative,
    "relu_tile": lambda v: np.maximum(v, 0),
    "sigmoid_tile": _sig,
    "tanh_tile": np.tanh,
    "gelu_tile": lambda v: 0.5 * v * (1 + _erf(v / np.sqrt(2))),
    "silu_tile": lambda v: v * _sig(v),
    "square_tile": lambda v: v * v,
}


@pytest.mark.parametrize("op", sorted(UNARY_REFS))
def test_sfpu_unary_ops(op: str) -> None:
    ops = COPY_X_Y + (
        f'"ttkernel.{op}_init"() : () -> ()\n'
        f'"ttkernel.{op}"(%c1) : (index) -> ()\n'
        '"ttkernel.copy_dest_values_init"() : () -> ()\n'
        '"ttkernel.copy_dest_values"(%c1, %c2) <{data_format = #ttcore.supportedDataTypes<f32>}> : (index, index) -> ()\n'
    )
    text = two_input_kernel(ops)
    x, y = rand(32, 32), np.abs(rand(32, 32)) + 0.5
    res = run(text, {"x": x, "y": y})
    np.testing.assert_allclose(res.outputs["z"], UNARY_REFS[op](y.astype(np.float64)), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("op", "ref"),
    [
        ("add_binary_tile", np.add),
        ("sub_binary_tile", np.subtract),
        ("mul_binary_tile", np.multiply),
        ("div_binary_tile", np.divide),
        ("binary_max_tile", np.maximum),
        ("binary_min_tile", np.minimum),
    ],
)
def test_sfpu_binary_ops(op: str, ref) -> None:
    ops = (
        COPY_X_Y
        + f'"ttkernel.{op}_init"() : () -> ()\n"ttkernel.{op}"(%c0, %c1, %c2) : (index, index, index) -> ()\n'
    )
    x, y = rand(32, 32), rand(32, 32)
    res = run(two_input_kernel(ops), {"x": x, "y": y})
    np.testing.assert_allclose(res.outputs["z"], ref(x.astype(np.float64), y), rtol=1e-6, atol=1e-6)


REUSE = (
    '"ttkernel.binary_dest_reuse_tiles_init"(%cb1) <{eltwise_binary_type = #ttkernel.eltwise_binary_type<@K@>, '
    "reuse_type = #ttkernel.reuse_type<@R@>}> : ($cb1) -> ()\n"
    '"ttkernel.binary_dest_reuse_tiles"(%cb1, %c0, %c2) <{eltwise_binary_type = #ttkernel.eltwise_binary_type<@K@>, '
    "reuse_type = #ttkernel.reuse_type<@R@>}> : ($cb1, index, index) -> ()\n"
)
LOAD_X_SLOT2 = '"ttkernel.copy_tile_init"(%cb0) : ($cb0) -> ()\n"ttkernel.copy_tile"(%cb0, %c0, %c2) : ($cb0, index, index) -> ()\n'


@pytest.mark.parametrize(
    ("setup", "ops", "ref"),
    [
        ("", LOAD_X_SLOT2 + REUSE.replace("@K@", "sub").replace("@R@", "dest_to_srca"), lambda x, y: x - y),
        ("", LOAD_X_SLOT2 + REUSE.replace("@K@", "sub").replace("@R@", "dest_to_srcb"), lambda x, y: y - x),
        ("", LOAD_X_SLOT2 + REUSE.replace("@K@", "mul").replace("@R@", "dest_to_srca"), lambda x, y: x * y),
        (
            "",
            '"ttkernel.sub_tiles_init"(%cb0, %cb1) : ($cb0, $cb1) -> ()\n'
            '"ttkernel.sub_tiles"(%cb0, %cb1, %c0, %c0, %c2) : ($cb0, $cb1, index, index, index) -> ()\n',
            lambda x, y: x - y,
        ),
        (
            "",
            '"ttkernel.mul_tiles_init"(%cb0, %cb1) : ($cb0, $cb1) -> ()\n'
            '"ttkernel.mul_tiles"(%cb0, %cb1, %c0, %c0, %c2) : ($cb0, $cb1, index, index, index) -> ()\n',
            lambda x, y: x * y,
        ),
        (
            '"ttkernel.transpose_wh_init"(%cb0, %cb16) : ($cb0, $cb16) -> ()\n',
            '"ttkernel.transpose_wh_tile"(%cb0, %c0, %c2) : ($cb0, index, index) -> ()\n',
            lambda x, y: x.T,
        ),
        (
            '"ttkernel.mm_init"(%cb0, %cb1, %cb16, %c1_i32) : ($cb0, $cb1, $cb16, i32) -> ()\n',
            '"ttkernel.mm_init_short"(%cb0, %cb1, %c0_i32) : ($cb0, $cb1, i32) -> ()\n'
            '"ttkernel.matmul_tiles"(%cb0, %cb1, %c0, %c0, %c2) : ($cb0, $cb1, index, index, index) -> ()\n',
            lambda x, y: x @ y,
        ),
        (
            '"ttkernel.unary_bcast_init"(%cb0, %cb16) <{bcast_type = #ttkernel.bcast_type<row>}> : ($cb0, $cb16) -> ()\n',
            '"ttkernel.unary_bcast"(%cb0, %c0, %c2) <{bcast_type = #ttkernel.bcast_type<row>}> : ($cb0, index, index) -> ()\n',
            lambda x, y: np.repeat(x[:1], 32, axis=0),
        ),
        (
            '"ttkernel.unary_bcast_init"(%cb0, %cb16) <{bcast_type = #ttkernel.bcast_type<scalar>}> : ($cb0, $cb16) -> ()\n',
            '"ttkernel.unary_bcast"(%cb0, %c0, %c2) <{bcast_type = #ttkernel.bcast_type<scalar>}> : ($cb0, index, index) -> ()\n',
            lambda x, y: np.full((32, 32), x[0, 0]),
        ),
    ],
)
def test_fpu_ops(setup: str, ops: str, ref) -> None:
    text = two_input_kernel(ops, '%c0_i32 = "arith.constant"() <{value = 0 : i32}> : () -> i32\n' + setup)
    x, y = rand(32, 32), rand(32, 32)
    res = run(text, {"x": x, "y": y})
    np.testing.assert_allclose(
        res.outputs["z"], ref(x.astype(np.float64), y.astype(np.float64)), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    ("dim", "kind", "ref"),
    [
        ("reduce_dim_col", "reduce_sum", lambda t: np.pad(t.sum(axis=0, keepdims=True), ((0, 31), (0, 0)))),
        ("reduce_dim_col", "reduce_max", lambda t: np.pad(t.max(axis=0, keepdims=True), ((0, 31), (0, 0)))),
        # the scalar reduce applies the scaler twice (tt-metal reduce.h: AVG over N uses 1/sqrt(N))
        ("reduce_dim_scalar", "reduce_sum", lambda t: np.pad([[0.5 * t.sum()]], ((0, 31), (0, 31)))),
    ],
)
def test_reduce_col_and_scalar(dim: str, kind: str, ref) -> None:
    attrs = f"<{{reduce_dim = #ttkernel.reduce_dim<{dim}>, reduce_type = #ttkernel.reduce_type<{kind}>}}>"
    ops = (
        f'"ttkernel.reduce_init"(%cb0, %cb1, %cb16) {attrs} : ($cb0, $cb1, $cb16) -> ()\n'
        f'"ttkernel.reduce_tile"(%cb0, %cb1, %c0, %c0, %c2) {attrs} : ($cb0, $cb1, index, index, index) -> ()\n'
    )
    x = rand(32, 32)
    y = np.full((32, 32), 0.5, dtype=np.float32)
    res = run(two_input_kernel(ops), {"x": x, "y": y})
    np.testing.assert_allclose(res.outputs["z"], ref(0.5 * x.astype(np.float64)), rtol=1e-5, atol=1e-5)
