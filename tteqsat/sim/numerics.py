"""The arithmetic of a simulated run: ``exact`` or ``hardware`` precision.

``exact`` computes every op in float32 and rounds what DST and bf16 CBs hold to nearest-even; it checks a
kernel's data flow with the tightest tolerance. ``hardware`` follows what the Tensix does to the bits
(sources: tt-llk, tt-isa-documentation, tt-metal headers and the issues named):

* FPU operands are 19-bit (SrcA/SrcB): fp32 values are truncated to TF32 on the way in (ISA SrcASrcB.md,
  UNPACR_Regular.md);
* multiplies (matmul, eltwise mul, reduce sum) run as fidelity phases over the high and low mantissa bits of
  each operand, each phase accumulated into DST (ISA ELWMUL.md SrcA/SrcBFidelityBits; tt-metal #12923);
* FPU results written to a 16-bit DST round TF32 then bf16, both ties away from zero (tt-metal #46101); SFPU
  stores truncate to bf16 except in the ops that round (tt-llk #494, tt-metal #11384); the packer rounds fp32
  to bf16 ties away (ISA Packers/FormatConversion.md, tt-metal #17018);
* approximate exp is the Schraudolph bit trick, accurate bf16 exp the exp_21f polynomial, gelu the 6-piece
  linear table (tt-metal ckernel_sfpu_exp.h, ckernel_sfpu_gelu.h).

Everything is vectorized numpy on 32x32 float32 tiles; functions never mutate their arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tteqsat.sim.tiles import copy_into, f32, has_nan, restore_nan, round_bf16

PRECISIONS = ("exact", "hardware")
FIDELITY_PHASES = {"lofi": (0,), "hifi2": (0, 1), "hifi3": (0, 1, 2), "hifi4": (0, 1, 2, 3)}

Tile = np.ndarray
_F32 = np.float32
_U32 = np.uint32
_FLT_MIN = _F32(2.0**-126)
_NAN = _F32(np.nan)
_FPU_BIAS = _U32(0x9000)  # fpu_bf16: TF32 then bf16, both ties away (see fpu_bf16)
_HI16 = _U32(0xFFFF0000)


def _bits(x: Tile) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype == _F32:
        return x.view(_U32)
    return np.ascontiguousarray(x, dtype=_F32).view(_U32)


_max_reduce = np.maximum.reduce
_isnan = math.isnan
_add, _and = np.add, np.bitwise_and


def _biased(x: Tile, bias: np.uint32, mask: np.uint32, out: Tile | None) -> Tile:
    """``(bits(x) + bias) & mask`` (a rounding on the float32 bits), into ``out`` when given; x's NaNs stay
    NaN (adding a rounding bias to a NaN's bits can carry into its sign or leave an infinity)."""
    a = x if type(x) is np.ndarray and x.dtype == _F32 else np.asarray(x, dtype=_F32)
    nan = np.isnan(a) if _isnan(_max_reduce(a, None)) else None  # found before ``out`` (maybe ``a``) changes
    if out is None:
        r = _add(a.view(_U32), bias)
        out = _and(r, mask, out=r).view(_F32)
    else:
        bits = out.view(_U32)
        _add(a.view(_U32), bias, out=bits)
        _and(bits, mask, out=bits)
    if nan is not None:
        np.copyto(out, _NAN, where=nan)
    return out


def _masked_into(x: Tile, mask: np.uint32, out: Tile | None) -> Tile:
    a = x if type(x) is np.ndarray and x.dtype == _F32 else np.asarray(x, dtype=_F32)
    if out is None:
        return _and(a.view(_U32), mask).view(_F32)
    _and(a.view(_U32), mask, out=out.view(_U32))
    return out


def rna_bf16(x: Tile, out: Tile | None = None) -> Tile:
    """Round to bf16, ties away from zero (the FPU's and the packer's fp32 -> bf16 rounding)."""
    return _biased(x, _U32(0x8000), _U32(0xFFFF0000), out)


def trunc_bf16(x: Tile, out: Tile | None = None) -> Tile:
    """Truncate to bf16 (what SFPSTORE does to a 16-bit DST)."""
    return _masked_into(x, _U32(0xFFFF0000), out)


def fpu_bf16(x: Tile, out: Tile | None = None) -> Tile:
    """An FPU result written to a 16-bit DST: TF32 then bf16, both ties away from zero (tt-metal #46101).
    One bias does both: the TF32 step leaves the low 13 bits that the bf16 bias (0x8000) never carries from."""
    return _biased(x, _FPU_BIAS, _HI16, out)


def rna_tf32(x: Tile, out: Tile | None = None) -> Tile:
    """Round to TF32 (10 mantissa bits), ties away from zero."""
    return _biased(x, _U32(0x1000), _U32(0xFFFFE000), out)


def trunc_tf32(x: Tile, out: Tile | None = None) -> Tile:
    """Truncate to TF32 (the unpacker's fp32 -> TF32 conversion)."""
    return _masked_into(x, _U32(0xFFFFE000), out)


def flush_denormals(x: Tile) -> Tile:
    return np.where(np.abs(x) < _FLT_MIN, _F32(0.0), x).astype(_F32, copy=False)


def _masked(x: Tile, mask: int) -> Tile:
    return (_bits(x) & _U32(mask)).view(_F32)


def split_srca(x: Tile) -> tuple[Tile, Tile]:
    """SrcA's fidelity halves: hidden bit + top 4 mantissa bits, then the next 5 (bit 13 is never used)."""
    hi = _masked(x, 0xFFF80000)
    return hi, _masked(x, 0xFFFFC000) - hi


def split_srcb(y: Tile) -> tuple[Tile, Tile]:
    """SrcB's fidelity halves: hidden bit + top 6 mantissa bits, then the next 4."""
    hi = _masked(y, 0xFFFE0000)
    return hi, _masked(y, 0xFFFFE000) - hi


def _stacked_halves(x: Tile, hi_mask: int, kept_mask: int, both: bool) -> Tile:
    """[hi, lo] (or just [hi]) of `split_srca`/`split_srcb` as one array, computed into it."""
    bits = f32(x).view(_U32)
    out = np.empty((2 if both else 1, *x.shape), dtype=_F32)
    _and(bits, _U32(hi_mask), out=out[0].view(_U32))
    if both:
        _and(bits, _U32(kept_mask), out=out[1].view(_U32))
        np.subtract(out[1], out[0], out=out[1])
    return out


def _phase_products(in0: Tile, in1: Tile, phases: tuple[int, ...]) -> list[Tile]:
    """For each fidelity phase, ``b[..., :, k] @ a[..., k, :]`` for the two 16-deep halves k of the inner
    dimension, as [..., k, :, :], with b the phase's SrcB half of ``in0`` and a its SrcA half of ``in1``: one
    batched matmul over every pair of halves the phases use, its matrices strided as each half's own matmul."""
    a_both = any(_PHASE_HALVES[p][0] for p in phases)
    b_both = any(_PHASE_HALVES[p][1] for p in phases)
    a = _stacked_halves(in1, 0xFFF80000, 0xFFFFC000, a_both)  # SrcA: [half, ..., 32, 32]
    b = _stacked_halves(in0, 0xFFFE0000, 0xFFFFE000, b_both)  # SrcB
    batch = max(a.ndim, b.ndim) - 3  # broadcast batch axes of in0 and in1, right-aligned as matmul does
    b_k = b.reshape(b.shape[0], 1, *(1,) * (batch - b.ndim + 3), *b.shape[1:-1], 2, 16).swapaxes(-2, -3)
    a_k = a.reshape(1, a.shape[0], *(1,) * (batch - a.ndim + 3), *a.shape[1:-2], 2, 16, a.shape[-1])
    products = np.matmul(b_k, a_k)  # [b half, a half, ..., k, 32, 32]
    return [products[_PHASE_HALVES[p][1], _PHASE_HALVES[p][0]] for p in phases]


def _tile_phase_steps(in0: Tile, in1: Tile, pairs: tuple[tuple[int, int], ...], a_both: bool, b_both: bool
                      ) -> list[Tile]:
    """`_phase_products` for a (32, 32) ``in0`` and a (32, 32) or (n, 32, 32) ``in1``, as the list of what each
    pass adds (phase by phase, k = 0 then 1), each a contiguous array. ``pairs`` are the phases' (SrcA half,
    SrcB half); ``a_both``/``b_both`` say whether any uses a low half."""
    a = _stacked_halves(in1, 0xFFF80000, 0xFFFFC000, a_both)  # [a half, (n,) 32, 32]
    b = _stacked_halves(in0, 0xFFFE0000, 0xFFFFE000, b_both)  # [b half, 32, 32]
    if in1.ndim == 3:
        a_k = a.reshape(a.shape[0], in1.shape[0], 2, 16, 32).swapaxes(1, 2)  # [a half, k, n, 16, 32]
        b_k = b.reshape(b.shape[0], 1, 32, 2, 16).swapaxes(2, 3)[:, :, :, None]  # [b half, 1, k, 1, 32, 16]
    else:
        a_k = a.reshape(a.shape[0], 2, 16, 32)  # [a half, k, 16, 32]
        b_k = b.reshape(b.shape[0], 1, 32, 2, 16).swapaxes(2, 3)  # [b half, 1, k, 32, 16]
    products = np.matmul(b_k, a_k)  # [b half, a half, k, (n,) 32, 32]
    return [products[ib, ia, k] for ia, ib in pairs for k in (0, 1)]


def _row_phase_steps(in0s: Tile, in1s: Tile, pairs: tuple[tuple[int, int], ...], a_both: bool, b_both: bool
                     ) -> list[Tile]:
    """`_tile_phase_steps` of each row of ``in0s`` (R, 32, 32) and ``in1s`` (R, n, 32, 32), row after row, from
    one batched matmul."""
    rows, n = in1s.shape[0], in1s.shape[1]
    a = _stacked_halves(in1s, 0xFFF80000, 0xFFFFC000, a_both)  # [a half, R, n, 32, 32]
    b = _stacked_halves(in0s, 0xFFFE0000, 0xFFFFE000, b_both)  # [b half, R, 32, 32]
    a_k = a.reshape(a.shape[0], rows, n, 2, 16, 32).transpose(0, 3, 1, 2, 4, 5)  # [a half, k, R, n, 16, 32]
    b_k = b.reshape(b.shape[0], rows, 32, 2, 16).transpose(0, 3, 1, 2, 4)  # [b half, k, R, 32, 16]
    products = np.matmul(b_k[:, None, :, :, None], a_k[None])  # [b half, a half, k, R, n, 32, 32]
    return [products[ib, ia, k, r] for r in range(rows) for ia, ib in pairs for k in (0, 1)]


def _accumulate_fpu_bf16(acc: Tile, steps: list[Tile]) -> Tile:
    """``acc`` plus each of ``steps`` in turn, each sum written to a 16-bit DST (`fpu_bf16`) before the next."""
    out = acc + steps[0]
    if out.dtype != _F32:
        out = out.astype(_F32)
    bits = out.view(_U32)
    for k, step in enumerate(steps):
        if k:
            _add(out, step, out=out)
        nan = np.isnan(out) if _isnan(_max_reduce(out, None)) else None  # as fpu_bf16 (inlined: the hot loop)
        _add(bits, _FPU_BIAS, out=bits)
        _and(bits, _HI16, out=bits)
        if nan is not None:
            np.copyto(out, _NAN, where=nan)
    return out


# phase p multiplies (SrcA half, SrcB half): 0 = hi*hi, 1 = lo*hi, 2 = hi*lo, 3 = lo*lo
_PHASE_HALVES = ((0, 0), (1, 0), (0, 1), (1, 1))


# -- SFPU algorithms --------------------------------------------------------------------------------------

_EXP_BMC = _F32(32500.818359375)  # 127 * 256 - 11.18: the Schraudolph bias with its error-balancing shift


def exp_schraudolph(x: Tile, scale: float) -> Tile:
    """tt-metal's fast approximate exp (tt-llk ckernel_sfpu_exp.h, FAST_APPROX with ClampToNegative, the
    default of exp_tile<true>): exp(scale * x) as the bits of round(a x + b) shifted into the exponent and top
    8 mantissa bits, a = 256 scale / ln 2 folded at init. Relative error within about 3.1%, exp(0) = 0.9785.

    Its edges are the instruction sequence's: SFPSWAP keeps the larger of x and -88.5 / scale (compared as
    sign-magnitude integers: +NaN stays, -NaN and -inf become the threshold), SFPSTOCHRND to UINT16 takes
    |a x + b| rounded half away and saturates |v| >= 2**16 and NaN to 65535 (ISA SFPSTOCHRND_FloatInt.md), and
    SFPSHFT by 15 makes 65535 the NaN pattern 0x7fff8000: arguments above about 88.7 (and NaN) give NaN, not
    inf; those below -88 give |v| <= 185 shifted, a denormal, not 0."""
    a = f32(x)
    low = _F32(_F32(-88.5) / _F32(scale))
    y = np.maximum(a, low)  # NaN propagates; a negative NaN loses the sign-magnitude compare
    if has_nan(a):
        np.copyto(y, low, where=np.isnan(a) & np.signbit(a))
    v = _F32(256.0 / np.log(2.0) * scale) * y
    v += _EXP_BMC
    mag = np.abs(v).astype(np.float64)
    mag += 0.5  # the rounding adds one when the fraction is >= 1/2; |v| < 1/2 becomes 0 either way
    np.floor(mag, out=mag)
    np.fmin(mag, 65535.0, out=mag)  # fmin: NaN saturates too
    i = mag.astype(_U32)
    i <<= _U32(15)
    return i.view(_F32)


def exp_21f(x: Tile) -> Tile:
    """tt-metal's accurate exp for a 16-bit DST (_sfpu_exp_21f_bf16_): 2^t from the integer and fraction of
    t = x log2(e) + 127 with a quadratic on the fraction; about 1.7e-3 relative before bf16 rounding."""
    t = f32(x) * _F32(1.4426950216)
    t += _F32(127.0)
    np.clip(t, _F32(0.0), _F32(255.0), out=t)
    scaled = t.astype(np.float64)
    scaled *= 2.0**23
    np.floor(scaled, out=scaled)
    z = scaled.astype(np.uint64).astype(_U32)
    e = z >> _U32(23)
    f = (z & _U32(0x7FFFFF)).astype(_F32)
    p = f * _F32(4.791750143e-15)  # 1.0017248 + f (7.839635491e-08 + f 4.791750143e-15), term by term
    p += _F32(7.839635491e-08)
    p *= f
    p += _F32(1.0017248)
    bits = p.view(_U32)
    _and(bits, _U32(0x807FFFFF), out=bits)
    np.bitwise_or(bits, e << _U32(23), out=bits)
    np.copyto(p, _F32(0.0), where=e == 0)
    np.copyto(p, _F32(np.inf), where=e >= 255)
    return p


# gelu(x) = 0.5 x + L(|x|), L piecewise linear (tt-metal ckernel_sfpu_gelu.h, fast_and_approx = true)
_GELU_EDGES = np.array([0.5, 1.0, 1.5, 2.0, 3.0], dtype=_F32)
_GELU_SLOPE = np.array([0.19274902, 0.49389648, 0.61865234, 0.6098633, 0.54003906, 0.5], dtype=_F32)
_GELU_ICEPT = np.array([-0.00010442734, -0.16040039, -0.27954102, -0.26342773, -0.119384766, 0.0], dtype=_F32)


def gelu_table(x: Tile) -> Tile:
    """The default gelu_tile: within 0.0234 of the exact gelu, exact relu for |x| >= 3."""
    ax = np.abs(x)
    seg = np.searchsorted(_GELU_EDGES, ax, side="right")
    return (_F32(0.5) * x + _GELU_SLOPE[seg] * ax + _GELU_ICEPT[seg]).astype(_F32)


def bf16_scale(scale: float) -> float:
    """A scale passed to a 16-bit parameter: the top half of its fp32 bits (exp_tile's runtime scale)."""
    bits = np.array([scale], dtype=_F32).view(_U32) & _U32(0xFFFF0000)
    return float(bits.view(_F32)[0])


def canonical_nan(x: Tile, out: Tile | None = None) -> Tile:
    """``x`` with every NaN made 0x7FC00000: what the bf16 roundings do to a value that is bf16 already."""
    a = f32(x)
    nan = np.isnan(a) if has_nan(a) else None
    if out is None:
        return restore_nan(a, np.array(a, copy=True), nan)
    out[...] = a
    return restore_nan(a, out, nan)


_identity = copy_into


class Numerics:
    """How one run rounds and multiplies: chosen once from the precision and the compute settings."""

    __slots__ = ("hardware", "fp32_dest", "phases", "fpu_round", "sfpu_trunc", "sfpu_round", "src", "pack_bf16",
                 "fpu_stored", "pack_dst_bf16", "_pairs", "_a_both", "_b_both", "_eltwise")

    def __init__(self, precision: str, fp32_dest: bool, fidelity: str) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (expected {' or '.join(PRECISIONS)})")
        self.hardware = precision == "hardware"
        self.fp32_dest = fp32_dest
        self.phases = FIDELITY_PHASES[fidelity]
        self._pairs = tuple(_PHASE_HALVES[p] for p in self.phases)
        self._a_both = any(ia for ia, _ in self._pairs)
        self._b_both = any(ib for _, ib in self._pairs)
        self._eltwise = {"add": np.add, "sub": np.subtract, "mul": np.multiply}
        self.fpu_round: Callable[[Tile], Tile]
        self.sfpu_trunc: Callable[[Tile], Tile]
        self.sfpu_round: Callable[[Tile], Tile]
        if fp32_dest:
            self.fpu_round = self.sfpu_trunc = self.sfpu_round = _identity
        elif self.hardware:
            self.fpu_round = fpu_bf16
            self.sfpu_trunc, self.sfpu_round = trunc_bf16, round_bf16
        else:
            self.fpu_round = self.sfpu_trunc = self.sfpu_round = round_bf16
        # FPU source registers: fp32 data (only with a 32-bit DST) loses 13 mantissa bits
        self.src = (lambda x: flush_denormals(trunc_tf32(x))) if self.hardware and fp32_dest else _identity
        self.pack_bf16 = rna_bf16 if self.hardware else round_bf16
        # What storing an FPU op's result into DST does to it: hardware results come out of `matmul` and
        # `eltwise` already rounded to DST (fpu_round is idempotent), exact ones are rounded on the way in.
        self.fpu_stored = _identity if self.hardware else self.fpu_round
        # A 16-bit DST holds bf16 values, which both bf16 pack roundings leave alone but for making NaNs canonical;
        # in exact precision every value DST holds is already that (all its roundings are round_bf16, and what it
        # copies comes from bf16 CB pages or other DST slots), so packing copies.
        if fp32_dest:
            self.pack_dst_bf16 = self.pack_bf16
        else:
            self.pack_dst_bf16 = canonical_nan if self.hardware else copy_into

    # -- FPU --------------------------------------------------------------------------------------------
    def multiply_phases(self, a: Tile, b: Tile, product: Callable[[Tile, Tile], Tile], acc: Tile) -> Tile:
        """``acc`` plus ``product(a, b)`` computed as the fidelity phases (a in SrcA, b in SrcB), each phase
        accumulated into DST with DST's rounding."""
        a_halves, b_halves = split_srca(a), split_srcb(b)
        for p in self.phases:
            ia, ib = _PHASE_HALVES[p]
            acc = self.fpu_round(acc + product(a_halves[ia], b_halves[ib]))
        return acc

    def matmul(self, acc: Tile, in0: Tile, in1: Tile) -> Tile:
        """``acc + in0 @ in1``. The hardware computes Dst += SrcB @ SrcA with in0 in SrcB and in1 in SrcA,
        16 inner terms per instruction, each fidelity phase its own pass; a 16-bit DST rounds after each."""
        if not self.hardware:
            return acc + in0 @ in1
        if self.fp32_dest:  # no rounding between passes: the phases add up to products of the kept bits
            (a0, a1), (b0, b1) = split_srca(self.src(in1)), split_srcb(self.src(in0))
            if self.phases == (0,):
                return acc + b0 @ a0
            if self.phases == (0, 1):
                return acc + b0 @ (a0 + a1)
            if self.phases == (0, 1, 2):
                return acc + b0 @ (a0 + a1) + b1 @ a0
            return acc + (b0 + b1) @ (a0 + a1)
        if in0.ndim == 2 and in1.ndim in (2, 3):  # one tile times a tile or a row of tiles (matmul_block)
            steps = _tile_phase_steps(in0, in1, self._pairs, self._a_both, self._b_both)
        else:
            steps = [products[..., k, :, :] for products in _phase_products(in0, in1, self.phases) for k in (0, 1)]
        return _accumulate_fpu_bf16(acc, steps)

    def matmul_rows(self, acc: Tile, in0s: Tile, in1s: Tile) -> Tile:
        """`matmul` for each row r of ``in0s`` (r, 32, 32) and ``in1s`` (r, n, 32, 32) in turn, into ``acc``
        (n, 32, 32), the DST rounding applied between rows as storing and reloading each result would: the
        value the last row leaves (as `matmul` returns it). The products come from one batched matmul."""
        if not self.hardware:
            products = np.matmul(in0s[:, None], in1s)
            out = acc + products[0]
            for p in products[1:]:
                if self.fpu_round is not copy_into:
                    self.fpu_round(out, out)
                _add(out, p, out=out)
            return out
        if not self.fp32_dest:
            return _accumulate_fpu_bf16(acc, _row_phase_steps(in0s, in1s, self._pairs, self._a_both, self._b_both))
        out = acc
        for a, b in zip(in0s, in1s, strict=True):
            out = self.matmul(out, a, b)
        return out

    def eltwise(self, kind: str, in0: Tile, in1: Tile) -> Tile:
        """add/sub/mul_tiles: in0 in SrcA, in1 in SrcB; mul runs the fidelity phases."""
        if not self.hardware:
            return self._eltwise[kind](in0, in1)
        a, b = self.src(in0), self.src(in1)
        if kind == "mul":
            if not self.fp32_dest and a.shape == b.shape:  # every phase's product in one multiply
                a_h = _stacked_halves(a, 0xFFF80000, 0xFFFFC000, self._a_both)  # as split_srca
                b_h = _stacked_halves(b, 0xFFFE0000, 0xFFFFE000, self._b_both)  # as split_srcb
                products = np.multiply(a_h[None], b_h[:, None])  # [b half, a half, ...]
                return _accumulate_fpu_bf16(np.zeros_like(a), [products[ib, ia] for ia, ib in self._pairs])
            return self.multiply_phases(a, b, np.multiply, np.zeros_like(a))
        return self.fpu_round(a + b if kind == "add" else a - b)

    def pack(self, x: Tile, dtype: str, out: Tile | None = None) -> Tile:
        """DST -> a CB of ``dtype``: bf16 CBs round (ties away on the hardware), f32 CBs keep fp32. Written into
        ``out`` (a CB page) when given."""
        if dtype == "bf16":
            return self.pack_bf16(x, out)
        if out is None:
            return np.array(x, dtype=_F32, copy=True)
        out[...] = x
        return out

    def pack_dst(self, x: Tile, dtype: str, out: Tile) -> Tile:
        """`pack` of ``x`` read from DST (so bf16 already when DST is 16-bit) into the CB page ``out``."""
        if dtype == "bf16":
            return self.pack_dst_bf16(x, out)
        out[...] = x
        return out
