"""``reduce_tile`` as the Tensix computes it: per 16x16 face, into the DST rows the LLK uses.

Sources: tt-llk (tt_llk_wormhole_b0) llk_math_reduce.h and llk_unpack_AB_reduce.h; tt-isa-documentation
GAPOOL.md, GMPOOL.md, ZEROACC.md; tt-llk issue #122. What a kernel sees:

* the scaler that applies to face k is row 0 of face k of the scaler tile; sum multiplies by it, max only
  by its power-of-two part (a zero scaler drops the element);
* REDUCE_ROW combines with row 0 of faces 0 and 2 of the slot (the running value is kept in row form, so
  the next call can accumulate onto it) and leaves the result in column 0 (tile rows 0-31) and, transposed,
  in rows 0 and 16 (columns 0-15); the rest of faces 0 and 2 is scratch; faces 1 and 3 are untouched;
* REDUCE_COL combines with tile row 0 and leaves its result there; rows 1-3 are scratch;
* REDUCE_SCALAR (the scaler applied twice) leaves its result at (0, 0); rows 1-4 are scratch;
* a slot not written since the acquire reads as 0 for a sum and as -inf for a max.

Scratch is modeled as a fixed tile of finite nonsense (`GARBAGE`): a kernel that reads anything but the
result positions gets wrong numbers, as it would on the chip.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tteqsat.sim.numerics import Numerics, flush_denormals, trunc_bf16, trunc_tf32

Tile = np.ndarray
_F32 = np.float32

_max_reduce = np.maximum.reduce

GARBAGE = np.round(np.random.default_rng(0x5EED).uniform(-4.0, 4.0, (32, 32)), 2).astype(_F32)
"""What the reduce leaves in the DST positions it uses as scratch (stale SrcB rows on the chip)."""


def _faces(t: Tile) -> np.ndarray:
    """[half, row, face column, col]: face 2h+f is t[16h:16h+16, 16f:16f+16]."""
    return t.reshape(2, 16, 2, 16)


def _scalers(scaler: Tile) -> np.ndarray:
    """[half, face column, i]: row 0 of each face of the scaler tile."""
    return _faces(scaler)[:, 0, :, :]


_WEIGHTS: dict[tuple[tuple[int, ...], bytes], tuple[np.ndarray, np.ndarray]] = {}


def _max_weight(s: np.ndarray) -> np.ndarray:
    """GMPOOL scales by 2^exponent(s) only; a zero scaler removes the element (-inf)."""
    return _max_weights(s)[0]


def _max_weights(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_max_weight` of scaler values ``s`` and where it is positive, computed once per distinct scaler (a kernel
    reuses one scaler tile for every reduce)."""
    key = (s.shape, s.tobytes())
    found = _WEIGHTS.get(key)
    if found is None:
        mag = np.abs(s)
        w = np.where(mag > 0, np.exp2(np.floor(np.log2(np.where(mag > 0, mag, 1.0)))), 0.0).astype(_F32)
        found = (w, w > 0)
        for a in found:
            a.flags.writeable = False
        if len(_WEIGHTS) >= 64:
            _WEIGHTS.clear()
        _WEIGHTS[key] = found
    return found


def _weighted_max(values: np.ndarray, w: np.ndarray, positive: np.ndarray | None = None) -> np.ndarray:
    return np.where(w > 0 if positive is None else positive, values * w, _F32(-np.inf))


def reduce_tile(acc: Tile, fresh: bool, tile: Tile, scaler: Tile, kind: str, dim: str, num: Numerics) -> Tile:
    """The DST slot after one ``reduce_tile`` of ``tile`` into it (``acc`` its contents, ``fresh`` if it
    was not written since the acquire)."""
    if dim == "reduce_dim_row":
        return _reduce_row(acc, fresh, tile, scaler, kind, num)
    if dim == "reduce_dim_col":
        return _reduce_col(acc, fresh, tile, scaler, kind, num)
    return _reduce_scalar(acc, fresh, tile, scaler, kind, num)


def _start(acc_rows: np.ndarray, fresh: bool, kind: str) -> np.ndarray:
    if fresh:
        return np.full(acc_rows.shape, -np.inf if kind == "reduce_max" else 0.0, dtype=_F32)
    return np.array(acc_rows, dtype=_F32)


def _pool_sum(acc: np.ndarray, faces: list[np.ndarray], weights: list[np.ndarray], num: Numerics) -> np.ndarray:
    """GAPOOL of each face into ``acc``: acc[j] += sum_i s[i] face[i][j] (faces given as [..., i, j])."""
    if not num.hardware:
        return acc + sum(np.einsum("...i,...ij->...j", w, f) for f, w in zip(faces, weights, strict=True))
    for f, w in zip(faces, weights, strict=True):
        acc = num.multiply_phases(num.src(f), num.src(w), lambda a, s: np.einsum("...i,...ij->...j", s, a), acc)
    return acc


# REDUCE_ROW's scratch: rows 1-15 of faces 0 and 2 but column 0
_ROW_SCRATCH = np.zeros((32, 32), dtype=bool)
_ROW_SCRATCH[1:16, 1:16] = _ROW_SCRATCH[17:32, 1:16] = True


def _reduce_row(acc: Tile, fresh: bool, tile: Tile, scaler: Tile, kind: str, num: Numerics) -> Tile:
    t = _faces(tile)                      # [h, r, f, c]
    s = _scalers(scaler)                  # [h, f, c]
    run = _start(acc.reshape(2, 16, 32)[:, 0, 0:16], fresh, kind)  # [h, j]: row 0 of faces 0 and 2
    if kind == "reduce_max":
        w, positive = _max_weights(s)
        vals = _weighted_max(t.swapaxes(1, 2), w[:, :, None, :], positive[:, :, None, :])  # [h, f, r, c]
        part = _max_reduce(vals, (1, 3))  # what vals.max(axis=(1, 3)) calls
        run = np.maximum(run, part)
    else:  # the unpacker transposes each face, so face columns are pooled: faces as [h, c(i), r(j)]
        run = _pool_sum(run, [np.swapaxes(t[:, :, f, :], 1, 2) for f in (0, 1)], [s[:, f, :] for f in (0, 1)],
                        num)
    return _row_result(acc, _row_through_srcb(run, num))


def _row_through_srcb(run: np.ndarray, num: Numerics) -> np.ndarray:
    if num.hardware and num.fp32_dest:  # moved through SrcB for the transpose: 19 bits (tt-llk issue #122)
        return flush_denormals(trunc_tf32(run))
    return run


def _row_result(acc: Tile, run: np.ndarray) -> Tile:
    """The slot after a REDUCE_ROW leaving ``run`` [h, j]: in row 0 and column 0 of faces 0 and 2, scratch in
    the rest of those faces, faces 1 and 3 as they were."""
    out = np.array(acc, dtype=_F32, copy=True)
    np.copyto(out, GARBAGE, where=_ROW_SCRATCH)
    faces = out.reshape(2, 16, 32)        # [h, row, col]
    faces[:, 0, 0:16] = run               # row 0 of faces 0 and 2 (for h)
    faces[:, :, 0] = run                  # column 0, rows 16h .. 16h + 15
    return out


def reduce_rows(acc: Tile, fresh: bool, tiles: np.ndarray, scaler: Tile, kind: str, dim: str, num: Numerics,
                rounding: Callable[..., Tile]) -> Tile:
    """The slot after a `reduce_tile` of each of ``tiles`` (R, 32, 32) into it in turn, each result stored with
    ``rounding`` (DST's, which leaves a value it made alone) and read back by the next, as the last leaves it.

    A row max needs only the running [h, j] values between tiles (the rest of the slot gets the same value
    each time), so the tiles' maxima come from one call and only the running max goes tile by tile."""
    if kind != "reduce_max" or dim != "reduce_dim_row":
        value = acc
        for tile in tiles:
            value = reduce_tile(acc, fresh, tile, scaler, kind, dim, num)
            acc, fresh = rounding(value), False
        return value
    t = tiles.reshape(len(tiles), 2, 16, 2, 16)  # [R, h, r, f, c]
    w, positive = _max_weights(_scalers(scaler))
    vals = _weighted_max(t.swapaxes(2, 3), w[:, :, None, :], positive[:, :, None, :])  # [R, h, f, r, c]
    parts = _max_reduce(vals, (2, 4))  # [R, h, r]
    run = _start(acc.reshape(2, 16, 32)[:, 0, 0:16], fresh, kind)
    for r, part in enumerate(parts):
        if r:
            run = rounding(run)  # as stored and read back
        run = _row_through_srcb(np.maximum(run, part), num)
    return _row_result(acc, run)


def _reduce_col(acc: Tile, fresh: bool, tile: Tile, scaler: Tile, kind: str, num: Numerics) -> Tile:
    t = _faces(tile)                      # [h, r, f, c]
    s = _scalers(scaler)                  # [h, f, r]
    run = _start(acc[0, :].reshape(2, 16), fresh, kind)  # [f, c]: tile row 0 = DST rows 0 (F0) and 16 (F1)
    if kind == "reduce_max":
        w, positive = _max_weights(s)     # [h, f, r]
        vals = _weighted_max(t, w.swapaxes(1, 2)[:, :, :, None], positive.swapaxes(1, 2)[:, :, :, None])
        run = np.maximum(run, vals.max(axis=(0, 1)))
    else:
        faces = [t[h].swapaxes(0, 1) for h in (0, 1)]  # [f, r(i), c(j)]
        run = _pool_sum(run, faces, [s[h] for h in (0, 1)], num)
    out = np.array(acc, dtype=_F32, copy=True)
    out[0, :] = run.reshape(32)
    out[1:4, :] = 0.0 if kind == "reduce_max" else GARBAGE[1:4, :]
    return out


def _reduce_scalar(acc: Tile, fresh: bool, tile: Tile, scaler: Tile, kind: str, num: Numerics) -> Tile:
    t = _faces(tile)
    s = _scalers(scaler)                  # [h, f, i]
    last = s[1, 1]                        # the final pool uses row 0 of scaler face 3
    start = _start(acc[0:1, 0], fresh, kind)
    if kind == "reduce_max":
        cols = _weighted_max(t, _max_weight(s).swapaxes(1, 2)[:, :, :, None]).max(axis=(0, 1, 2))  # [c]
        value = np.maximum(start, _weighted_max(cols, _max_weight(last)).max(keepdims=True))
    else:
        cols = np.zeros(16, dtype=_F32)
        for h in (0, 1):
            for f in (0, 1):
                cols = _pool_sum(cols, [t[h, :, f, :]], [s[h, f]], num)
        if num.hardware:  # moved through SrcB/SrcA for the final pool
            cols = trunc_tf32(cols) if num.fp32_dest else trunc_bf16(cols)
        value = _pool_sum(start, [cols[:, None]], [last], num)
    out = np.array(acc, dtype=_F32, copy=True)
    out[1:4, 0:16] = GARBAGE[1:4, 0:16]
    out[4, 0:16] = 0.0
    out[0, 0] = value[0]
    return out
