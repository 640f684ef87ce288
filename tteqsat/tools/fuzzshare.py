"""Hypothesis strategy for fuzz kernels that make cores share their K/V reads (`benchmarks/fuzz.py --keys share`).

Cores share the reads every row block of a batch element makes alike (K and V of a head) when the chip's DRAM is
the bottleneck and several row blocks of an element run at once: in lockstep groups with multicast when every
block visits the same chunks, in ranked groups when a mask makes blocks visit different chunks (the sender runs
the block that visits the most and multicasts every chunk of it to all its receivers; a receiver pops the chunks
it skipped after each item, so that with several items a core its CBs catch up with the sender's).
The other generators draw these rarely; here every kernel is attention-like and drawn where sharing pays:

- masked attention softmax(where(M, q @ k.T * c [+ key bias], -inf)) @ v: causal (bottom-right aligned, or its
  diagonal moved right by up to 8 tiles, or left and by parts of a tile: then a group's blocks end in different
  chunks), sliding windows tri(k) & ~tri(k - W), the upper complement now and then, or no mask (lockstep groups);
- GQA (q heads a multiple of K/V heads, `tq.repeat`), batch > 1, 2-D now and then; a key padding bias (1, keys)
  per batch element or shared; sizes of odd tile counts (96 or 160 q rows, 288 or 800 keys, which no chunk
  divides);
- several q blocks a head (`Case.blocks` names the height, 2 cases in 3), few cores (`Case.cores`: several items
  a core, an uneven tail when the items do not divide) and a slow DRAM (`Case.overrides`), mostly in the
  streaming form (a loop over chunks: the only one whose blocks skip chunks).

Sizes stay small enough that one case optimizes and simulates in a few seconds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzcase import Case, Expr
from tteqsat.tools.fuzzgen import OUTPUT_NAMES, _Names
from tteqsat.tools.fuzzlong import _epilogue, _scale, _softcap

Q_TILES = (16, 8, 12, 4, 6, 16, 3, 5)        # q rows in tiles: 128..512, and odd counts (96, 160: no pairs)
KEYS = (512, 256, 1024, 384, 288, 800, 640)  # powers of two first; then ones no standard chunk divides
EXTRA_KEYS = (0, 0, 128, 256, 96)            # keys as q rows and this many more (masked blocks differ in chunks)
HEAD_DIMS = (64, 32)
MASKS = ("causal",) * 6 + ("shifted", "window", "none", "upper")  # causal most: its blocks pair up
FORMS = ("streaming",) * 5 + ("auto", "fused")  # auto mostly picks fused at these sizes
CAUSAL_OFFSETS = (0, 32, 64, 128, 96)  # of the diagonal from bottom-right alignment (and 1 or 3 blocks)
DRAM = (16.0, 16.0, 8.0, 32.0, 16.0, None)  # GB/s; None: the arch's own (sharing rarely pays there)
CORES = (2, 4, 8, 3, 6, None)               # 3 and 6: an uneven tail of items
# batch axes: (batch, heads) or heads alone or 2-D; grouped K/V where the heads allow
BATCHES = ((1, 2), (2, 2), (1, 4), (2,), (2, 4), (3, 2), (), (4,), (2, 1))


def _heights(rows: int) -> list[int]:
    """Row-block heights that give a q head two blocks or more."""
    return [h for h in (128, 256, 64, 32) if rows % h == 0 and rows // h >= 2]  # taller first: skips more


@st.composite
def share_cases(draw, q_tiles: tuple[int, ...] = Q_TILES, keys: tuple[int, ...] | None = None,
                batches: tuple[tuple[int, ...], ...] = BATCHES, masks: tuple[str, ...] = MASKS,
                forms: tuple[str, ...] = FORMS, cores: tuple[int | None, ...] = CORES,
                drams: tuple[float | None, ...] = DRAM) -> Case:
    """An attention-like kernel on a chip where cores share K/V reads (`q_tiles`: q rows in tiles to draw;
    `keys`: key counts, None: as many as q rows or a few tiles more half the time, else from KEYS; `batches`: batch
    axes, heads last; `masks`: kinds from MASKS; `forms`; `cores`: caps; `drams`: the chip's DRAM rates, GB/s, None
    for the arch's own)."""
    dtype = draw(st.sampled_from(("bf16", "fp32")))
    arch = draw(st.sampled_from(("wormhole_b0", "blackhole")))
    form = draw(st.sampled_from(forms))
    names = _Names(draw)
    batch = draw(st.sampled_from(batches))
    rows = 32 * draw(st.sampled_from(q_tiles))
    if keys is None:  # long keys under a causal mask leave every block nearly all chunks: keys near the rows too
        n_keys = rows + draw(st.sampled_from(EXTRA_KEYS)) if draw(st.booleans()) else draw(st.sampled_from(KEYS))
    else:
        n_keys = draw(st.sampled_from(keys))
    d = draw(st.sampled_from(HEAD_DIMS))
    dv = draw(st.sampled_from((d, 32)))
    heads = batch[-1] if batch else 1
    group = draw(st.sampled_from([g for g in (2, 1, 4) if heads % g == 0]))
    kv_batch = batch[:-1] + (heads // group,) if batch else ()
    q = fc.tensor(names.fresh(), batch + (rows, d), False)
    k = fc.tensor(names.fresh(), kv_batch + (n_keys, d), False)
    v = fc.tensor(names.fresh(), kv_batch + (n_keys, dv), False)
    inputs: list[Expr] = [q, k, v]
    if group > 1:
        k, v = fc.repeat(k, group, len(batch) - 1), fc.repeat(v, group, len(batch) - 1)
    s = _scale(draw, fc.matmul(q, fc.transpose(k))) if draw(st.booleans()) else fc.matmul(_scale(draw, q),
                                                                                           fc.transpose(k))
    if draw(st.integers(0, 2)) == 0:  # a key padding bias: per batch element (its heads share it) or for all
        per = batch[:-1] + (1,) if len(batch) > 1 and draw(st.booleans()) else batch if draw(st.booleans()) else ()
        bias = fc.tensor(names.fresh(), per + (1, n_keys), False)
        inputs.append(bias)
        s = fc.binary("+", s, bias) if draw(st.booleans()) else fc.binary("+", bias, s)
    if draw(st.integers(0, 5)) == 0:
        s = _softcap(draw, s)
    kind = draw(st.sampled_from(masks))
    heights = _heights(rows)
    blocks = (draw(st.sampled_from(heights)),) if heights and draw(st.integers(0, 2)) > 0 else None
    mask = None if kind == "none" else _KINDS[kind](draw, rows, n_keys, blocks[0] if blocks else 128)
    if mask is not None:
        s = fc.where(mask, "ts", (s,), -np.inf)
    written = draw(st.sampled_from(("softmax", "softmax", "exp-sum", "deferred")))
    extra = None
    if written == "softmax" or s.empty_lines(-1):
        out = fc.matmul(fc.softmax(s), v)
    else:  # exp(s - max) normalized before the matmul, or after it (flash attention's order)
        e = fc.unary("exp", fc.binary("-", s, fc.reduce("max", s, -1)))
        total = fc.reduce("sum", e, -1)
        out = (fc.matmul(fc.binary("/", e, total), v) if written == "exp-sum"
               else fc.binary("/", fc.matmul(e, v), total))
        if draw(st.integers(0, 2)) == 0:  # the log-sum-exp as a second output
            extra = fc.binary("+", fc.unary("log", total), fc.reduce("max", s, -1))
    made = _epilogue(draw, names, inputs, batch, out, extra)
    out_names = draw(st.permutations(OUTPUT_NAMES))[:len(made)]
    outputs = tuple(zip(out_names, made, strict=True))
    dram = draw(st.sampled_from(drams))
    overrides = (("dram.total_gb_per_s", dram),) if dram is not None else ()
    return Case(tuple(inputs), outputs, dtype, arch, form, 0, frozenset(), overrides=overrides,
                cores=draw(st.sampled_from(cores)), blocks=blocks)


def _causal(draw, rows: int, keys: int, height: int) -> fc.MaskSpec:
    """Causal, aligned bottom-right or with the diagonal further right: by an odd number of row blocks
    (`height`), a pair's two blocks end in different chunks (its receiver skips chunks its sender reads)."""
    return fc.tri((rows, keys), keys - rows + draw(st.sampled_from(CAUSAL_OFFSETS[:1] + (height,) + CAUSAL_OFFSETS[1:]
                                                                   + (3 * height,))))


def _shifted(draw, rows: int, keys: int, height: int) -> fc.MaskSpec:
    """The causal diagonal moved left or by a part of a tile: a few top rows may keep no key (numpy's NaN)."""
    return fc.tri((rows, keys), keys - rows + draw(st.sampled_from((-32, -17, 5, -64))))


def _window(draw, rows: int, keys: int, height: int) -> fc.MaskSpec:
    width = draw(st.sampled_from((128, 256, 96, 200)))
    return fc.mask_and(fc.tri((rows, keys), keys - rows), fc.mask_not(fc.tri((rows, keys), keys - rows - width)))


def _upper(draw, rows: int, keys: int, height: int) -> fc.MaskSpec:
    """Keys at or after the row's diagonal: later blocks visit fewer chunks (not nested: no pairs)."""
    return fc.mask_not(fc.tri((rows, keys), keys - rows - 1))


_KINDS = {"causal": _causal, "shifted": _shifted, "window": _window, "upper": _upper}
