"""Hypothesis strategies for long-key fuzz kernels: the shapes that stream (`benchmarks/fuzz.py --keys long`).

The general generator (`tools.fuzzgen`) rarely draws a row long enough to fold over chunks, so the newest paths
(streaming folds over key chunks, online softmax, loops whose sections run a trip ahead, masked loops that skip
dead chunks and compute the diagonal's live tiles, vector biases, heads batched over the grid, grouped K/V heads
through `tq.repeat`) see few cases there. Here every kernel has rows of 256 to 2048 columns over 1 to 4 tile rows:

- attention: softmax(q @ k.T * c [+ row/column bias] [softcap] [masked]) @ v, 2-D or over batch and head axes
  with grouped K/V heads, the scale a Python float, a numpy scalar or a division, applied to the scores or to q,
  k given as (S, D) or already transposed (D, S), and an epilogue (a vector, a scalar, a function, the row max
  as a second output);
- row-wise: softmax, logsumexp, max/sum/mean, a norm, a masked sum or max over a long row, with the same
  scales, biases and masks;
- a matmul contracting over a long row (x @ w, softmax(x) @ w) with an epilogue.

Masks are tq.tri with a diagonal anywhere (a bottom-right aligned causal one, k = keys - rows, often), bands
tri(k) & ~tri(k - W), and now and then a complement; a row left with no live key is numpy's NaN, as in
`tools.fuzzgen`. Sizes stay small enough that one case optimizes and simulates in a few seconds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzcase import Case, Expr
from tteqsat.tools.fuzzgen import OUTPUT_NAMES, _Names

KEYS = (256, 512, 1024, 2048, 384, 640, 288, 800)  # powers of two first; then odd multiples of a tile
ROW_TILES = (1, 2, 4, 3)
HEAD_DIMS = (64, 32, 128)
SCALES = (0.125, 0.0884, 0.25, 1.0)               # 1/sqrt(64), 1/sqrt(128), ...
NUMPY_TYPES = ("", "float32", "float64")
EPILOGUES = ("none", "column", "row", "scalar", "unary", "max-output")
KINDS = ("attention", "rowwise", "attention", "contraction", "attention")  # attention most: it has the most paths
FORMS = ("auto", "streaming", "streaming", "streaming", "fused", "baseline")  # auto picks fused at these sizes
BATCHES = ((), (2,), (1, 2), (2, 2), (1, 4))        # batch axes (the last one heads)
WIDE_KEYS = (4096, 8192)  # `--keys wide`: rows long enough that 1024-2048-key chunks pay and overflow L1 two deep
ROW_KEYS = (16384, 32768)  # `--keys rows`: one tile row wider than L1 in fp32 (2-4 MiB), 1-2 MiB in bf16


@st.composite
def _mask(draw, rows: int, keys: int) -> fc.MaskSpec:
    """A causal-like tri (bottom-right aligned, or any diagonal), a band, or a complement of one."""
    kind = draw(st.sampled_from(("tri", "band", "tri", "not")))
    k = draw(st.sampled_from((keys - rows, 0)) | st.integers(-rows // 2, keys))
    if kind == "band":
        width = draw(st.sampled_from((128, 256, 64)) | st.integers(1, keys))
        return fc.mask_and(fc.tri((rows, keys), k), fc.mask_not(fc.tri((rows, keys), k - width)))
    tri = fc.tri((rows, keys), k)
    return fc.mask_not(tri) if kind == "not" else tri


def _scale(draw, x: Expr) -> Expr:
    """x times a scale: a Python float, a numpy scalar on either side, or divided by its reciprocal."""
    c = draw(st.sampled_from(SCALES))
    how = draw(st.sampled_from(("mul", "rmul", "div")))
    numpy = draw(st.sampled_from(NUMPY_TYPES))
    if how == "div":
        return fc.scalar("/", x, 1.0 / c, numpy=numpy)
    return fc.scalar("*", x, c, reflected=how == "rmul", numpy=numpy)


def _vector(names: _Names, inputs: list[Expr], batch: tuple[int, ...], shape: tuple[int, int]) -> Expr:
    """A fresh bias vector: 2-D, or with the batch axes (each head its own)."""
    v = fc.tensor(names.fresh(), shape if not batch or names.draw(st.booleans()) else batch + shape, False)
    inputs.append(v)
    return v


def _biased(draw, names: _Names, inputs: list[Expr], batch: tuple[int, ...], x: Expr) -> Expr:
    """x plus a (1, cols) and/or (rows, 1) bias, or as it is."""
    rows, cols = fc.matrix_of(x.shape)
    for shape in ((1, cols), (rows, 1)):
        if shape != (1, 1) and draw(st.integers(0, 2)) == 0:
            v = _vector(names, inputs, batch, shape)
            x = fc.binary("+", v, x) if draw(st.booleans()) else fc.binary("+", x, v)
    return x


def _softcap(draw, x: Expr) -> Expr:
    """tanh(x / cap) * cap: logits capped as Gemma does."""
    cap = draw(st.sampled_from((2.0, 5.0, 30.0)))
    return fc.scalar("*", fc.unary("tanh", fc.scalar("/", x, cap)), cap)


def _masked(draw, x: Expr, fill: float) -> Expr:
    rows, cols = fc.matrix_of(x.shape)
    return fc.where(draw(_mask(rows, cols)), "ts", (x,), fill)


def _epilogue(draw, names: _Names, inputs: list[Expr], batch: tuple[int, ...], x: Expr,
              extra: Expr | None) -> tuple[Expr, ...]:
    """The output after a last op, and maybe a second output (`extra`, e.g. the row max)."""
    kind = draw(st.sampled_from(EPILOGUES))
    rows, cols = fc.matrix_of(x.shape)
    if kind in ("column", "row"):
        shape = (rows, 1) if kind == "column" else (1, cols)
        if shape != (1, 1):
            v = _vector(names, inputs, batch, shape)
            x = fc.binary(draw(st.sampled_from(("*", "+", "-"))), x, v)
    elif kind == "scalar":
        x = fc.scalar(draw(st.sampled_from(("*", "+"))), x, draw(st.sampled_from((2.0, 0.5, -1.0))),
                      numpy=draw(st.sampled_from(NUMPY_TYPES)))
    elif kind == "unary":
        x = fc.unary(draw(st.sampled_from(("relu", "sigmoid", "silu", "tanh", "neg"))), x)
    elif kind == "max-output" and extra is not None:
        return x, extra
    return (x,)


def _attention(draw, names: _Names, inputs: list[Expr], batch: tuple[int, ...], rows: int,
               keys: int) -> tuple[Expr, ...] | None:
    d = draw(st.sampled_from(HEAD_DIMS))
    dv = draw(st.sampled_from((d, 32, 64)))
    group = draw(st.sampled_from([g for g in (1, 2, 4) if batch and batch[-1] % g == 0] or [1]))
    kv_batch = batch[:-1] + (batch[-1] // group,) if batch else ()
    q = fc.tensor(names.fresh(), batch + (rows, d), False)
    transposed = not batch and draw(st.integers(0, 3)) == 0  # k given as (D, S)
    k = fc.tensor(names.fresh(), kv_batch + ((d, keys) if transposed else (keys, d)), False)
    v = fc.tensor(names.fresh(), kv_batch + (keys, dv), False)
    inputs.extend((q, k, v))
    if group > 1:
        k, v = fc.repeat(k, group, len(batch) - 1), fc.repeat(v, group, len(batch) - 1)
    kt = k if transposed else fc.transpose(k)
    if draw(st.booleans()):
        s = _scale(draw, fc.matmul(q, kt))
    else:  # the scale on q first
        s = fc.matmul(_scale(draw, q), kt)
    s = _biased(draw, names, inputs, batch, s)
    if draw(st.integers(0, 3)) == 0:
        s = _softcap(draw, s)
    if s.hi > 60:
        return None
    masked = draw(st.integers(0, 2)) > 0
    if masked:
        s = _masked(draw, s, -np.inf)
        if draw(st.integers(0, 3)) == 0:  # scaled or biased after the mask: -inf stays -inf
            s = _scale(draw, s) if draw(st.booleans()) else _biased(draw, names, inputs, batch, s)
    extra = None if masked else fc.reduce("max", s, -1)
    written = draw(st.sampled_from(("softmax", "softmax", "exp-sum", "deferred")))
    if written == "softmax" or (masked and s.empty_lines(-1)):
        out = fc.matmul(fc.softmax(s), v)
    else:  # written out: exp(s - max) normalized before the matmul, or after it (flash attention's order)
        e = fc.unary("exp", fc.binary("-", s, fc.reduce("max", s, -1)))
        total = fc.reduce("sum", e, -1)
        out = (fc.matmul(fc.binary("/", e, total), v) if written == "exp-sum"
               else fc.binary("/", fc.matmul(e, v), total))
        if not masked and draw(st.booleans()):  # the log-sum-exp as a second output
            extra = fc.binary("+", fc.unary("log", total), fc.reduce("max", s, -1))
    return _epilogue(draw, names, inputs, batch, out, extra)


def _rowwise(draw, names: _Names, inputs: list[Expr], batch: tuple[int, ...], rows: int,
             keys: int) -> tuple[Expr, ...] | None:
    x = fc.tensor(names.fresh(), batch + (rows, keys), False)
    inputs.append(x)
    if draw(st.booleans()):
        x = _scale(draw, x)
    x = _biased(draw, names, inputs, batch, x)
    op = draw(st.sampled_from(("softmax", "logsumexp", "reduce", "norm", "masked-sum", "masked-max",
                               "masked-softmax")))
    if op == "softmax":
        out = fc.softmax(x, -1)
    elif op == "masked-softmax":
        out = fc.softmax(_masked(draw, x, -np.inf), -1)
    elif op == "logsumexp":
        m = fc.reduce("max", x, -1)
        out = fc.binary("+", fc.unary("log", fc.reduce("sum", fc.unary("exp", fc.binary("-", x, m)), -1)), m)
    elif op == "reduce":
        out = fc.reduce(draw(st.sampled_from(fc.REDUCE_KINDS)), x, -1)
    elif op == "norm":  # (x - mean) * rsqrt(mean((x - mean)^2) + eps)
        centred = fc.binary("-", x, fc.reduce("mean", x, -1))
        var = fc.scalar("+", fc.reduce("mean", fc.binary("*", centred, centred), -1), 1e-5)
        out = fc.binary("*", centred, fc.unary("rsqrt", var))
    elif op == "masked-sum":
        out = fc.reduce("sum", _masked(draw, x, 0.0), -1)
    else:
        masked = _masked(draw, x, -np.inf)
        if masked.empty_lines(-1):
            return None
        out = fc.reduce("max", masked, -1)
    return _epilogue(draw, names, inputs, batch, out, None)


def _contraction(draw, names: _Names, inputs: list[Expr], batch: tuple[int, ...], rows: int,
                 keys: int) -> tuple[Expr, ...] | None:
    x = fc.tensor(names.fresh(), batch + (rows, keys), False)
    w = fc.tensor(names.fresh(), (batch if draw(st.booleans()) else ()) + (keys, draw(st.sampled_from((32, 64)))),
                  False)
    inputs.extend((x, w))
    left = draw(st.sampled_from(("plain", "softmax", "unary")))
    if left == "softmax":
        x = fc.softmax(_biased(draw, names, inputs, batch, x), -1)
    elif left == "unary":
        x = fc.unary(draw(st.sampled_from(("relu", "silu", "exp"))), x)
    return _epilogue(draw, names, inputs, batch, _scale(draw, fc.matmul(x, w)), None)


@st.composite
def long_cases(draw, keys: tuple[int, ...] = KEYS, batches: tuple[tuple[int, ...], ...] = BATCHES,
               forms: tuple[str, ...] = FORMS, kinds: tuple[str, ...] = KINDS,
               row_tiles: tuple[int, ...] = ROW_TILES + (8,)) -> Case:
    """A long-key kernel (`keys`: the row lengths to draw; `batches`: the batch axes, () for 2-D; `forms`: the
    forms to request; `kinds`: of kernel; `row_tiles`: its tile rows, 8 for several row blocks to skip chunks per)."""
    dtype = draw(st.sampled_from(("fp32", "bf16")))
    arch = draw(st.sampled_from(("wormhole_b0", "blackhole")))
    form = draw(st.sampled_from(forms))
    names = _Names(draw)
    batch = draw(st.sampled_from(batches))
    kind = draw(st.sampled_from(kinds))
    rows = 32 * draw(st.sampled_from(row_tiles))
    if kind == "attention" and draw(st.integers(0, 5)) == 0:
        rows = 1  # decode: one q row (a row vector)
    n_keys = draw(st.sampled_from(keys))
    inputs: list[Expr] = []
    build = {"attention": _attention, "rowwise": _rowwise, "contraction": _contraction}[kind]
    made = build(draw, names, inputs, batch, rows, n_keys)
    if made is None or any(not (abs(e.lo) <= 1e4 and abs(e.hi) <= 1e4) for e in made if not e.nan):
        x = fc.tensor(names.fresh(), batch + (rows, n_keys), False)
        inputs = [x]
        made = (fc.softmax(x, -1),)
    out_names = draw(st.permutations(OUTPUT_NAMES))[:len(made)]
    outputs = tuple(zip(out_names, made, strict=True))
    positive = frozenset(i.fn for i in inputs if i.lo > 0)
    iterations = draw(st.sampled_from((None, None, None, None, 4, 2)))  # now and then a saturation cut short
    # now and then a chip whose DRAM these kernels saturate: there cores share K/V reads (in ranked groups when
    # a mask makes items visit different chunks), which the real chips choose only for big kernels
    overrides = (("dram.total_gb_per_s", 16.0),) if draw(st.integers(0, 3)) == 0 else ()
    cores = draw(st.sampled_from((None, None, 2, 4)))  # several items a core: CBs carry over between items
    return Case(tuple(inputs), outputs, dtype, arch, form, 0, positive, iterations=iterations, overrides=overrides,
                cores=cores)


def wide_cases() -> st.SearchStrategy[Case]:
    """Attention over 4096 or 8192 keys, one or two tile rows of q (`benchmarks/fuzz.py --keys wide`): chunks wide
    enough that their K and V fit L1 only one chunk deep, or P only over S (head dim 128 on Blackhole)."""
    return long_cases(keys=WIDE_KEYS, batches=((),), forms=("auto", "streaming"), kinds=("attention",),
                      row_tiles=(1, 2))


def rows_cases() -> st.SearchStrategy[Case]:
    """Row-wise kernels over one tile row of 16384 or 32768 columns (`benchmarks/fuzz.py --keys rows`): in fp32 the
    row does not fit L1 whole, so a softmax or a map over it streams its input pass by pass
    (`scheduling.input_streams`) after the loop's online statistics."""
    return long_cases(keys=ROW_KEYS, batches=((),), forms=("auto", "streaming"), kinds=("rowwise",), row_tiles=(1,))
