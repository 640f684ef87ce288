"""32x32 tiles: layout conversion between element arrays and tile lists, and bf16 rounding.

DRAM tensors are stored as tiles in row-major tile order (docs/mlir-subset.md). Vectors need
no special case: an (R, 1) column vector zero-pads to R/32 tiles whose column 0 holds the
data, and a (1, C) row vector to C/32 tiles whose row 0 does.
"""

from __future__ import annotations

import math

import numpy as np

TILE = 32
TILE_BYTES = {"bf16": 2048, "f32": 4096}
"""Bytes per 32x32 tile for each supported element type (the CB page size)."""

_F32 = np.float32
_U32 = np.uint32
_U16 = _U32(16)
_ONE = _U32(1)
_HALF_MINUS_ONE = _U32(0x7FFF)
_HI16 = _U32(0xFFFF0000)
_NAN = _F32(np.nan)


def f32(values: np.ndarray | float) -> np.ndarray:
    """``values`` as a float32 array, without a copy when it already is one."""
    if type(values) is np.ndarray and values.dtype == _F32:
        return values
    return np.asarray(values, dtype=_F32)


_max_reduce = np.maximum.reduce
_isnan = math.isnan
_add, _and, _shift = np.add, np.bitwise_and, np.right_shift


def has_nan(a: np.ndarray) -> bool:
    """True when ``a`` holds a NaN: one reduction (a maximum propagates NaN) instead of an isnan pass."""
    return _isnan(_max_reduce(a, None))


def restore_nan(a: np.ndarray, out: np.ndarray, where: np.ndarray | None) -> np.ndarray:
    """``out`` with the positions ``where`` (a's NaNs, found before ``out`` was written) set to NaN (0x7FC00000);
    the bit-level roundings would otherwise turn a NaN into an infinity or carry into its sign."""
    if where is not None:
        np.copyto(out, _NAN, where=where)
    return out


def copy_into(values: np.ndarray | float, out: np.ndarray | None = None) -> np.ndarray:
    """The rounding of a value already in the target format: none (``values`` written into ``out``)."""
    if out is None:
        return values  # type: ignore[return-value]
    out[...] = values
    return out


def round_bf16(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Round float32 values to bfloat16 precision (round-to-nearest-even on the float32 bits).

    Returns a float32 array whose low 16 mantissa bits are zero: a new one, or ``out`` (which may be
    ``values`` itself) filled with it. NaNs stay NaN (adding the rounding bias to a NaN's bits could
    otherwise carry into the sign bit).
    """
    a = values if type(values) is np.ndarray and values.dtype == _F32 else np.asarray(values, dtype=_F32)
    nan = np.isnan(a) if _isnan(_max_reduce(a, None)) else None  # found before ``out`` (maybe ``a``) changes
    bits = a.view(_U32)
    t = _shift(bits, _U16)
    _and(t, _ONE, out=t)
    _add(t, bits, out=t)
    _add(t, _HALF_MINUS_ONE, out=t)
    if out is None:
        out = _and(t, _HI16, out=t).view(_F32)
    else:
        _and(t, _HI16, out=out.view(_U32))
    if nan is not None:
        np.copyto(out, _NAN, where=nan)
    return out


def round_to(values: np.ndarray, dtype: str, out: np.ndarray | None = None) -> np.ndarray:
    """Return a fresh float32 copy of ``values`` rounded to ``dtype`` ('bf16' or 'f32'), or write it into
    ``out``."""
    if dtype == "bf16":
        return round_bf16(values, out)
    if out is None:
        return np.array(values, dtype=np.float32, copy=True)
    out[...] = values
    return out


def tile_grid(shape: tuple[int, ...]) -> tuple[int, int]:
    """Number of tile rows and tile columns covering the (R, C) matrix of a tensor (its last two axes)."""
    rows, cols = shape[-2:]
    return -(-rows // TILE), -(-cols // TILE)


def n_tiles(shape: tuple[int, ...]) -> int:
    """Tiles of a tensor: its matrices (batch axes, row-major) one after another, each in row-major tile order."""
    tr, tc = tile_grid(shape)
    return int(np.prod(shape[:-2], dtype=np.int64)) * tr * tc


def tilize(array: np.ndarray) -> list[np.ndarray]:
    """Split an array of at least 2 axes into zero-padded 32x32 float32 tiles: matrix by matrix over the
    batch axes, each in row-major tile order."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim < 2:
        raise ValueError(f"tilize expects at least 2 axes, got shape {a.shape}")
    tr, tc = tile_grid(a.shape)
    mats = a.reshape(-1, *a.shape[-2:])
    padded = np.zeros((mats.shape[0], tr * TILE, tc * TILE), dtype=np.float32)
    padded[:, : a.shape[-2], : a.shape[-1]] = mats
    blocks = padded.reshape(-1, tr, TILE, tc, TILE).swapaxes(2, 3).reshape(-1, TILE, TILE)
    return list(blocks.copy())


def untilize(tiles: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `tilize`: reassemble tiles and crop the padding away."""
    tr, tc = tile_grid(shape)
    if len(tiles) != n_tiles(shape):
        raise ValueError(f"{len(tiles)} tiles cannot form a {'x'.join(map(str, shape))} tensor")
    grid = np.stack(tiles).reshape(-1, tr, tc, TILE, TILE).swapaxes(2, 3).reshape(-1, tr * TILE, tc * TILE)
    out = grid[:, : shape[-2], : shape[-1]].reshape(shape)
    return np.array(out, dtype=np.float32)
