"""Element-wise and tile-shaped math on 32x32 float32 arrays (what each op computes).

Kept separate from the protocol checks so the numerics can be read and tested on their own.
All functions return new arrays and never mutate their inputs; the caller rounds the result
when storing it into DST.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tteqsat.sim.numerics import gelu_table

Tile = np.ndarray
_F32 = np.float32
_SQRT_HALF = _F32(np.sqrt(0.5))


def _erf(x: Tile) -> Tile:
    # Lazy import: scipy is a project dependency, but only GELU needs it.
    from scipy.special import erf

    return np.asarray(erf(x), dtype=_F32)


def _sigmoid(x: Tile) -> Tile:
    return (_F32(1.0) / (_F32(1.0) + np.exp(-x))).astype(_F32)


SFPU_UNARY: dict[str, Callable[[Tile], Tile]] = {
    "recip_tile": lambda x: _F32(1.0) / x,
    "sqrt_tile": np.sqrt,
    "rsqrt_tile": lambda x: _F32(1.0) / np.sqrt(x),
    "log_tile": np.log,
    "abs_tile": np.abs,
    "negative_tile": np.negative,
    "relu_tile": lambda x: np.maximum(x, _F32(0.0)),
    "sigmoid_tile": _sigmoid,
    "tanh_tile": np.tanh,
    "gelu_tile": lambda x: _F32(0.5) * x * (_F32(1.0) + _erf(x * _SQRT_HALF)),  # exact (erf) GELU
    "silu_tile": lambda x: x * _sigmoid(x),
    "square_tile": lambda x: x * x,
    "gez_tile": lambda x: (x >= _F32(0.0)).astype(_F32),  # 1.0 where x >= 0 (NaN: 0.0)
}
"""In-place SFPU unary ops (besides exp_tile, which takes a scale) by op name."""

SFPU_BINARY: dict[str, Callable[[Tile, Tile], Tile]] = {
    "add_binary_tile": np.add,
    "sub_binary_tile": np.subtract,
    "mul_binary_tile": np.multiply,
    "div_binary_tile": np.divide,
    "binary_max_tile": np.maximum,
    "binary_min_tile": np.minimum,
}
"""DST x DST -> DST SFPU ops by op name."""

SFPU_HARDWARE: dict[str, Callable[[Tile], Tile]] = {"gelu_tile": gelu_table}
"""SFPU ops whose hardware algorithm differs from the exact function by more than rounding (hardware
precision only): gelu_tile is tt-metal's fast approximation (fast_and_approx defaults to true)."""


def broadcast_source(tile: Tile, kind: str) -> Tile | np.float32:
    """``unary_bcast``: col copies column 0 across, row copies row 0 down, scalar copies [0, 0]. Returns what is
    copied, shaped to broadcast to the tile (the store into DST does the copying)."""
    if kind == "col":
        return tile[:, :1]
    if kind == "row":
        return tile[:1, :]
    return tile[0, 0]


def broadcast_sources(tiles: Tile, kind: str) -> Tile:
    """`broadcast_source` of each of ``tiles`` (n, 32, 32), shaped to broadcast to them."""
    if kind == "col":
        return tiles[:, :, :1]
    if kind == "row":
        return tiles[:, :1, :]
    return tiles[:, :1, :1]
