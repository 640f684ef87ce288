"""32x32 tiles: layout conversion between element arrays and tile lists, and bf16 rounding.

DRAM tensors are stored as tiles in row-major tile order (docs/mlir-subset.md). Vectors need
no special case: an (R, 1) column vector zero-pads to R/32 tiles whose column 0 holds the
data, and a (1, C) row vector to C/32 tiles whose row 0 does.
"""

from __future__ import annotations

import numpy as np

TILE = 32
TILE_BYTES = {"bf16": 2048, "f32": 4096}
"""Bytes per 32x32 tile for each supported element type (the CB page size)."""


def round_bf16(values: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 precision (round-to-nearest-even on the float32 bits).

    Returns a new float32 array whose low 16 mantissa bits are zero. NaNs stay NaN (adding the
    rounding bias to a NaN's bits could otherwise carry into the sign bit).
    """
    a = np.asarray(values, dtype=np.float32)
    bits = a.view(np.uint32)
    rounded = (bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    out = rounded.view(np.float32)
    nan = np.isnan(a)
    if nan.any():
        out = np.where(nan, np.float32(np.nan), out)
    return out


def round_to(values: np.ndarray, dtype: str) -> np.ndarray:
    """Return a fresh float32 copy of ``values`` rounded to ``dtype`` ('bf16' or 'f32')."""
    if dtype == "bf16":
        return round_bf16(values)
    return np.array(values, dtype=np.float32, copy=True)


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
