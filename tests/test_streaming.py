"""Flash attention derived by rewriting: online softmax over KV chunks, chosen by cost or by capacity.

Every streamed kernel here is optimized, lowered to a looped TTKernel module, parsed by xdsl, run on the
Tensix model and compared with numpy.
"""

from __future__ import annotations

import pytest
from conftest import optimized_example, parse_with_xdsl

import tteqsat as tq
from tteqsat.frontend.reference import random_inputs


def attention(sq: int, sk: int, d: int = 64, dtype: str = "bf16", bias: bool = False) -> tq.Kernel:
    q = tq.tensor("q", (sq, d), dtype)
    k = tq.tensor("k", (sk, d), dtype)
    v = tq.tensor("v", (sk, d), dtype)
    s = q @ k.T * 0.125
    if bias:
        s = s + tq.tensor("bias", (sq, sk), dtype)
    return tq.kernel("attention", tq.softmax(s, axis=-1) @ v)


def check(result: tq.Result, kernel: tq.Kernel, scale: float = 1.0) -> float:
    """Verifies in hardware precision (documented tolerance); returns the exact-precision relative error."""
    parse_with_xdsl(result.to_mlir())
    inputs = random_inputs(kernel, seed=3, scale=scale)
    result.verify(inputs=inputs)
    return result.verify(inputs=inputs, precision="exact").max_rel_err


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_streaming_attention_512(dtype: str) -> None:
    kernel = attention(64, 512, dtype=dtype)
    result = tq.optimize(kernel, form="streaming")
    loop = result.schedule.loop
    assert loop is not None and loop.trips >= 2
    assert {s.name for s in loop.streams} == {"k", "v"}
    assert any(sec.in_loop for sec in result.schedule.sections)
    err = check(result, kernel)
    assert err < (1e-5 if dtype == "fp32" else 3e-2)
    assert "scf.for" in result.to_mlir()


def test_streaming_attention_2048() -> None:
    kernel = attention(64, 2048, dtype="bf16")
    result = tq.optimize(kernel, form="streaming")
    assert result.schedule.loop is not None and result.schedule.loop.trips >= 2
    assert check(result, kernel) < 3e-2


def test_long_keys_must_stream_within_l1_and_cb_limits() -> None:
    """32 q rows against 32768 keys: the score row alone is 2 MB in bf16, so only streaming fits."""
    kernel = attention(32, 32768)
    result = tq.optimize(kernel, split=False)  # one work item: otherwise its keys split over cores
    assert result.chosen == "streaming"
    assert not result.alternatives["fused"].feasible and not result.alternatives["baseline"].feasible
    assert result.l1_bytes <= result.arch.l1_budget
    assert len(result.schedule.cbs) <= int(result.arch.num("cb.max_cbs"))
    assert "infeasible" in result.reason
    assert check(result, kernel) < 3e-2


def test_short_keys_keep_the_two_pass_form_and_say_why() -> None:
    result = tq.optimize(attention(64, 256))
    assert result.chosen == "fused"
    assert result.alternatives["streaming"].cycles is not None
    assert result.alternatives["streaming"].cycles > result.alternatives["fused"].cycles
    assert "streaming models" in result.reason


def test_chunk_size_is_chosen_not_fixed() -> None:
    """Different key lengths stream with different chunk widths (all from the chunk_width candidates)."""
    widths = set()
    for sk in (512, 4096):
        result = tq.optimize(attention(32, sk), form="streaming")
        widths.add(result.schedule.loop.streams[0].width)
    assert len(widths) == 2


def test_no_rule_matches_attention_as_a_whole() -> None:
    from tteqsat.rules import shipped_rulesets

    for rs in shipped_rulesets():
        for rule in rs.rules:
            text = str(rule.rewrite.decl)
            assert not ("softmax" in text and "matmul" in text), rule.name


def test_logsumexp_streams_with_the_same_rules() -> None:
    x = tq.tensor("x", (64, 2048), "fp32")
    m = x.max(axis=-1)
    kernel = tq.kernel("logsumexp", m + tq.log(tq.exp(x - m).sum(axis=-1)))
    result = tq.optimize(kernel, form="streaming")
    assert result.schedule.loop is not None
    assert check(result, kernel) < 1e-5


def test_softmax_of_an_input_times_v_streams() -> None:
    x = tq.tensor("x", (64, 1024), "fp32")
    v = tq.tensor("v", (1024, 64), "fp32")
    kernel = tq.kernel("softmax_v", tq.softmax(x) @ v)
    result = tq.optimize(kernel, form="streaming")
    assert {s.axis for s in result.schedule.loop.streams} == {"cols", "rows"}
    assert check(result, kernel) < 1e-5


def test_biased_attention_streams() -> None:
    kernel = attention(64, 1024, dtype="fp32", bias=True)
    result = tq.optimize(kernel, form="streaming")
    assert "bias" in {s.name for s in result.schedule.loop.streams}
    assert check(result, kernel) < 1e-5


def test_streaming_rules_fire_in_a_derivation() -> None:
    result = optimized_example("long_attention")  # attention(32, 32768), as examples/kernels writes it
    fired = {name for name, r in result.saturation.rules.items() if r.matches}
    assert {"rowmax-over-chunks", "matmul-over-chunks", "online-matmul", "online-rowsum",
            "defer-row-normalization", "exp-of-scaled"} <= fired


def test_unknown_form_is_a_clear_error() -> None:
    with pytest.raises(tq.KernelError, match="form 'tiled' is not available"):
        tq.optimize(attention(32, 256), form="tiled")


def test_fold_result_that_is_the_output_itself() -> None:
    """A long row sum and a long-K matmul: the loop's state is the kernel's output, copied out after the loop."""
    x = tq.tensor("x", (64, 4096), "fp32")
    w = tq.tensor("w", (4096, 64), "fp32")
    for kernel in (tq.kernel("rowsum", tq.exp(x).sum(axis=-1)), tq.kernel("long_k", x @ w)):
        result = tq.optimize(kernel, form="streaming")
        assert result.schedule.loop is not None
        assert check(result, kernel) < 1e-5


def test_attention_and_its_logsumexp_share_one_loop() -> None:
    q = tq.tensor("q", (64, 64), "fp32")
    k = tq.tensor("k", (2048, 64), "fp32")
    v = tq.tensor("v", (2048, 64), "fp32")
    s = q @ k.T * 0.125
    m = s.max(axis=-1)
    kernel = tq.kernel("attn_lse", {"o": tq.softmax(s) @ v, "lse": m + tq.log(tq.exp(s - m).sum(axis=-1))})
    result = tq.optimize(kernel, form="streaming")
    assert result.schedule.loop is not None
    assert check(result, kernel) < 1e-5


def test_k_is_streamed_column_by_column_so_qk_uses_matmul_block() -> None:
    """K is only ever read as matmul's transposed operand, so the reader lays each chunk out tile column
    by tile column and Q @ K^T runs as matmul_block with transpose=1."""
    kernel = attention(64, 1024, dtype="fp32")
    result = tq.optimize(kernel, form="streaming")
    k_stream = next(s for s in result.schedule.loop.streams if s.name == "k")
    assert k_stream.column_major
    assert not next(s for s in result.schedule.loop.streams if s.name == "v").column_major
    qk = next(sec for sec in result.schedule.sections if sec.ops[0].kind == "matmul")
    assert qk.ops[0].attrs.get("transpose_b") and qk.ops[0].attrs.get("block")
    text = result.to_mlir()
    assert '"ttkernel.matmul_block"' in text
    assert check(result, kernel) < 1e-5


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_row_max_and_logsumexp_over_8192_keys_verify_in_hardware_precision(dtype: str) -> None:
    """The running max is a kernel output here, so it must be a true max on the hardware (a reduce into a clear
    slot, then an SFPU max with the previous one), not a reduce seeded with the previous max."""
    q = tq.tensor("q", (32, 64), dtype)
    k = tq.tensor("k", (8192, 64), dtype)
    s = q @ k.T * 0.125
    m = s.max(axis=-1)
    kernel = tq.kernel("lse", {"m": m, "lse": m + tq.log(tq.exp(s - m).sum(axis=-1))})
    result = tq.optimize(kernel, form="streaming")
    assert result.schedule.loop is not None and result.schedule.loop.trips >= 2
    text = result.to_mlir()
    assert '"ttkernel.binary_max_tile"' in text
    for seed in range(2):
        check = result.verify(seed=seed)
        assert check.precision == "hardware" and set(check.relative) == {"m", "lse"}
        assert check.relative["m"] <= check.tolerance and check.relative["lse"] <= check.tolerance
