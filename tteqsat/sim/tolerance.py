"""How close a simulated output must be to the reference, and the comparison itself.

An output's error is measured against its own scale: ``max |sim - ref| / max |ref|`` (the absolute error
when the reference is all zero), so a long softmax row whose values are all tiny is held to the same
relative standard as a matmul. An output whose norm is under half the reference's fails as trivially small
even when a generous tolerance would let its error pass.

The tolerances are set from measured errors (benchmarks/precision.py; docs/mlir-subset.md, "Verification
tolerances", lists the measurements): the largest relative error over the example kernels, the streaming
attention and logsumexp kernels, seeds and normal and uniform inputs, with a margin of 1.4-2x. ``hardware``
entries depend on the math fidelity (the fidelity phases decide how many mantissa bits of each multiplicand
survive); ``exact`` ones do not. Wider inputs (``dist="wide"``) make attention outputs less accurate than
these tolerances allow, on the hardware too: pass a tolerance for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

TOLERANCES: dict[str, dict[str, dict[str, float]]] = {
    # measured worst: fp32 5.2e-7, bf16 2.2e-2 (any fidelity: exact math ignores it)
    "exact": {
        "fp32": {"lofi": 1e-5, "hifi2": 1e-5, "hifi3": 1e-5, "hifi4": 1e-5},
        "bf16": {"lofi": 4e-2, "hifi2": 4e-2, "hifi3": 4e-2, "hifi4": 4e-2},
    },
    # measured worst: fp32 0.131, 0.093, 0.041, 0.041; bf16 0.117, 0.068, 0.073, 0.073
    "hardware": {
        "fp32": {"lofi": 0.2, "hifi2": 0.15, "hifi3": 0.06, "hifi4": 0.06},
        "bf16": {"lofi": 0.2, "hifi2": 0.1, "hifi3": 0.1, "hifi4": 0.1},
    },
}
"""Largest allowed relative error per precision mode, kernel dtype and math fidelity."""

MIN_NORM_RATIO = 0.5
"""An output whose 2-norm is below this fraction of the reference's is trivially small."""


def tolerance_for(precision: str, dtype: str, fidelity: str) -> float:
    try:
        return TOLERANCES[precision][dtype][fidelity]
    except KeyError:
        raise ValueError(f"no documented tolerance for precision {precision!r}, dtype {dtype!r}, "
                         f"fidelity {fidelity!r}") from None


@dataclass(frozen=True)
class OutputError:
    """How one simulated output compares with its reference."""

    name: str
    max_abs: float     # max |sim - ref|
    scale: float       # max |ref|
    relative: float    # max_abs / scale (max_abs when the reference is zero)
    norm_ratio: float  # ||sim|| / ||ref|| (1 when both are zero)
    nan_mismatch: int = 0  # elements NaN in one of sim and ref but not the other

    def problem(self, tolerance: float) -> str | None:
        """Why this output fails verification, or None."""
        if self.nan_mismatch:
            return (f"output '{self.name}' differs from the reference: NaN at {self.nan_mismatch} elements where "
                    f"the other is not")
        if not self.relative <= tolerance:  # also catches NaN
            return (f"output '{self.name}' differs from the reference by {self.max_abs:.4g} "
                    f"({self.relative:.4g} of its largest value {self.scale:.4g}; tolerance {tolerance:g})")
        if self.norm_ratio < MIN_NORM_RATIO:
            return (f"output '{self.name}' is trivially small: its norm is {self.norm_ratio:.3g} of the "
                    f"reference's")
        return None


def difference(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| elementwise, 0 where both are the same infinity or both NaN (numpy's answer for a softmax
    row with no live key is NaN, and a kernel that computes NaN there agrees), NaN where only one is NaN."""
    got64, want64 = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        same = (got64 == want64) | (np.isnan(got64) & np.isnan(want64))
        return np.where(same, 0.0, np.abs(got64 - want64))


def compare(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> list[OutputError]:
    """Per-output errors of ``got`` against ``want`` (same names and shapes), in ``want``'s order. The scale
    and norms are over the reference's finite elements; its NaN and infinite ones must be matched exactly."""
    errors = []
    for name, ref in want.items():
        ref64 = np.asarray(ref, dtype=np.float64)
        sim64 = np.asarray(got[name], dtype=np.float64)
        diff = difference(sim64, ref64)
        mismatched = int(np.count_nonzero(np.isnan(diff)))
        max_abs = float(np.max(diff)) if diff.size else 0.0
        finite = np.isfinite(ref64)
        scale = float(np.max(np.abs(ref64[finite]))) if finite.any() else 0.0
        relative = max_abs / scale if scale > 0 else max_abs
        ref_norm, sim_norm = float(np.linalg.norm(ref64[finite])), float(np.linalg.norm(sim64[finite]))
        ratio = sim_norm / ref_norm if ref_norm > 0 else (1.0 if sim_norm == 0 else float("inf"))
        errors.append(OutputError(name, max_abs, scale, relative, ratio, mismatched))
    return errors
