"""Bad input: each error is a KernelError naming the problem, the op, and the user's source line."""

from __future__ import annotations

import inspect

import pytest

import tteqsat as tq


def here(offset: int = 0) -> str:
    """`file:line` of the caller plus `offset`, as errors should report it."""
    frame = inspect.stack()[1]
    return f"{frame.filename}:{frame.lineno + offset}"


def test_shape_mismatch_names_op_and_line() -> None:
    a = tq.tensor("a", (64, 64))
    b = tq.tensor("b", (64, 128))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        a + b
    assert "shape mismatch" in str(e.value) and "'add'" in str(e.value) and where in str(e.value)


def test_matmul_shape_mismatch() -> None:
    a = tq.tensor("a", (64, 64))
    with pytest.raises(tq.KernelError, match=r"shape mismatch: \(64, 64\) @ \(32, 64\).*'matmul'"):
        a @ tq.tensor("b", (32, 64))


def test_untiled_shape() -> None:
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.tensor("x", (30, 64))
    assert "not tile-aligned" in str(e.value) and where in str(e.value)


def test_unknown_dtype() -> None:
    with pytest.raises(tq.KernelError, match=r"unknown dtype 'fp8'.*'tensor'"):
        tq.tensor("x", (32, 32), "fp8")


def test_unknown_arch() -> None:
    k = tq.kernel("k", tq.exp(tq.tensor("x", (32, 32))))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.optimize(k, "grayskull")
    assert "unknown arch 'grayskull'" in str(e.value) and "wormhole_b0" in str(e.value) and where in str(e.value)


def test_unsupported_axis() -> None:
    x = tq.tensor("x", (64, 64))
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        x.max(axis=2)
    assert "unsupported axis 2" in str(e.value) and "'max'" in str(e.value) and where in str(e.value)
    with pytest.raises(tq.KernelError, match="unsupported axis 3 .*'softmax'"):
        tq.softmax(x, axis=3)


def test_kernel_with_no_output() -> None:
    with pytest.raises(tq.KernelError) as e:
        where = here(1)
        tq.kernel("empty", {})
    assert "has no output" in str(e.value) and where in str(e.value)


def test_output_that_is_an_input() -> None:
    with pytest.raises(tq.KernelError, match="output 'out' is an input"):
        tq.kernel("k", tq.tensor("x", (32, 32)))


def test_mixed_dtypes() -> None:
    with pytest.raises(tq.KernelError, match=r"dtype mismatch \['bf16', 'fp32'\].*'mul'"):
        tq.tensor("a", (32, 32)) * tq.tensor("b", (32, 32), "fp32")


def test_kernel_that_fits_in_no_form_says_why_each_form_fails() -> None:
    q = tq.tensor("q", (32, 64))
    k = tq.tensor("k", (32768, 64))  # 2048 tiles = 4 MiB in bf16, L1 is 1.4 MiB
    kernel = tq.kernel("too_big", tq.exp(q @ k.T))  # the 32x32768 output is 2 MiB: nothing streams it away
    with pytest.raises(tq.KernelError) as e:
        tq.optimize(kernel)
    lines = str(e.value).splitlines()
    assert lines[0] == "kernel 'too_big' fits in no form on wormhole_b0 (1,395,424 bytes of L1 free for CBs):"
    baseline, fused, streaming, advice = lines[1:]
    assert baseline.startswith("  baseline (every op its own section): needs 10,493,952 bytes of L1")
    assert "test_errors.py" in baseline  # the line that declared the largest buffer's value
    # each optimized form's own reason, not only the baseline's
    assert fused.startswith("  fused (no loop): every form needs a 32768x64 value (4,194,304 bytes) whole")
    assert streaming.startswith("  streaming (a loop over chunks): every form needs a 32768x64 value")
    assert advice.startswith("to fit: give each kernel call less data") and "--set l1.bytes" in advice


def test_forced_form_that_does_not_fit_says_why_and_what_to_change() -> None:
    q = tq.tensor("q", (32, 64))
    k = tq.tensor("k", (32768, 64))
    v = tq.tensor("v", (32768, 64))
    kernel = tq.kernel("long", tq.softmax(q @ k.T * 0.125) @ v)  # only the streaming form fits
    with pytest.raises(tq.KernelError) as e:
        tq.optimize(kernel, form="fused")
    first, advice = str(e.value).splitlines()
    assert first.startswith("form 'fused' does not fit for kernel 'long': every form needs a 32768x64 value")
    assert advice.startswith("to fit: ")


def test_scalar_maximum_is_rejected() -> None:
    with pytest.raises(tq.KernelError, match="takes two tensors.*'maximum'"):
        tq.maximum(tq.tensor("x", (32, 32)), 0.0)  # type: ignore[arg-type]


def test_streaming_asked_of_a_kernel_with_nothing_to_stream_says_why() -> None:
    """No chunk width divides the keys (96, shorter than the narrowest default): the streaming form cannot
    apply, and the error says so (fuzz cases with 96 keys reported only "extraction chose no loop over chunks")."""
    q, k, v = (tq.tensor(n, (2, 96, 32)) for n in "qkv")
    kernel = tq.kernel("short", tq.softmax(q @ k.mT) @ v)
    with pytest.raises(tq.KernelError, match=r"no chunk width offered \(128, 256, 512, 1024, 2048\) divides an axis "
                                             r"of this kernel longer than it \(its axes: 32, 96\).*"
                                             r"chunks=\(32, \.\.\.\)"):
        tq.optimize(kernel, form="streaming")
    with pytest.raises(tq.KernelError, match=r"no chunk width offered \(64\) divides an axis .*\(its axes: 32, 96\)"
                                             r".*ask for widths that divide one"):
        tq.optimize(kernel, form="streaming", chunks=(64,))
    assert tq.optimize(kernel, form="streaming", chunks=(32,)).schedule.loop.streams[0].width == 32


def test_streaming_cut_short_by_the_saturation_limit_names_the_limit() -> None:
    """A streaming form the rules would derive with more iterations: the error names the limit to raise (fuzz
    cases at Limits(iterations=2) reported only "extraction chose no loop over chunks")."""
    x, e = tq.tensor("x", (256, 288), dtype="fp32"), tq.tensor("e", (1, 288), dtype="fp32")
    s = e + x / 4.0
    m = s.max(axis=-1)
    kernel = tq.kernel("lse", tq.tanh(tq.log(tq.exp(s - m).sum(axis=-1)) + m))
    with pytest.raises(tq.KernelError, match=r"saturation stopped at its iterations limit before the rules derived "
                                             r"a loop over chunks: raise Limits\(iterations=\.\.\.\)"):
        tq.optimize(kernel, "blackhole", form="streaming", limits=tq.Limits(iterations=2))
    assert tq.optimize(kernel, "blackhole", form="streaming").schedule.loop is not None


def test_a_form_that_does_not_fit_after_saturation_was_cut_short_says_so() -> None:
    """Forms that do not fit L1 name the saturation limit that cut the search short, and the option to raise it
    (a time limit hit on a loaded machine had turned a streaming form that fits into "does not fit", with nothing
    saying why); a search that saturated says nothing of limits."""
    q, k, v = (tq.tensor(n, (2048, 128)) for n in "qkv")
    kernel = tq.kernel("big", tq.softmax(q @ k.T * 0.08) @ v)
    hint = r"saturation stopped at its iterations limit, so forms the rules derive later were not weighed: raise " \
           r"Limits\(iterations=\.\.\.\) \(--max-iterations on the command line\)"
    with pytest.raises(tq.KernelError, match=hint):
        tq.optimize(kernel, "wormhole_b0", form="streaming", limits=tq.Limits(iterations=1), cores=1, blocks=())
    with pytest.raises(tq.KernelError) as saturated:
        tq.optimize(kernel, "wormhole_b0", form="streaming", cores=1, blocks=())
    assert "fits in no form" in str(saturated.value) and "saturation stopped" not in str(saturated.value)
