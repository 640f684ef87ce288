"""Accumulation chains into one DST slot, and when a bf16 kernel needs 32-bit DST for them.

A `reduce_tile` loop over a row's W tiles, or a matmul's K tiles within one acquire, adds every tile into the
same DST slot. A 16-bit DST rounds each of those adds to bf16 (the simulator models it: `tteqsat.sim.dst`), so
the error of the sum grows with the chain's length; 32-bit DST (tt-metal's `fp32_dest_acc_en`) keeps the partial
sums in fp32 and rounds once, at the pack. It costs half the DST tiles per acquire (`Arch.dst_tiles`), which the
scheduler prices as it does for fp32 kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tteqsat.extraction.program import Program

BF16_EXACT_TOLERANCE = 0.04
"""`tteqsat.sim.tolerance.TOLERANCES["exact"]["bf16"]` (not imported: the simulator imports the scheduler's model;
tests/test_long_accumulation.py holds them equal)."""

BF16_UNIT_ROUNDOFF = 2.0 ** -8
"""Half an ulp of bf16 relative to the value (8 significand bits): the largest relative error of one rounding."""


def chain_bound(tolerance: float = BF16_EXACT_TOLERANCE,
                unit_roundoff: float = BF16_UNIT_ROUNDOFF) -> int:
    """The longest chain a 16-bit DST may accumulate: the largest power of two n with u * sqrt(n) <= tolerance.

    Each add of a chain of n tiles rounds its partial sum by at most u of it, so at most u of the final sum (the
    sums that matter are of positive terms: softmax's exp row sums); with rounding errors of either sign they add
    up like a random walk, to about u * sqrt(n) of the sum. That estimate ignores that early partial sums are
    smaller than the final one (it overstates the typical error by up to sqrt(3)), which is the margin left for
    the largest error over a tile's rows and the other roundings (the exp, the reciprocal, the pack). With bf16's
    exact tolerance 0.04, n <= (0.04 / 2^-8)^2 = 105, so 64 tiles (2048 columns). Measured on a fused bf16 softmax
    over 32 x 32n columns with a 16-bit DST, exact precision (hardware precision, tolerance 0.1): 32 tiles 0.008
    (0.034), 64 tiles 0.010 (0.046), 128 tiles 0.018 (0.078), 256 tiles 0.048, out of tolerance (0.061)."""
    return 2 ** int(math.floor(math.log2((tolerance / unit_roundoff) ** 2)))


MAX_BF16_DST_CHAIN = chain_bound()
"""Chains longer than this (in tiles) make a bf16 kernel schedule with 32-bit DST (64)."""


@dataclass(frozen=True)
class Chain:
    """The longest accumulation into one DST slot: `tiles` adds by op `label`, at the user's source line `loc`."""

    tiles: int
    label: str
    loc: str = ""


def longest_dst_chain(programs: list[Program]) -> Chain | None:
    """The longest chain of adds into one DST slot of the `programs` (a kernel's parts): a sum reduce over its
    operand's tiles along the reduced axis, a matmul over its K tiles (both within one acquire, as the scheduler
    places them: `sections.py`'s `inner`). None when no op accumulates."""
    best: Chain | None = None
    for program in programs:
        for op in program.ops():
            if op.kind == "matmul":
                tiles = op.operands[0].grid[1]
            elif op.kind == "reduce" and op.op.endswith("sum"):  # a max rounds nothing: its result is one of its inputs
                src = op.operands[-1].grid
                tiles = src[1] if op.op.startswith("row") else src[0]
            else:
                continue
            if best is None or tiles > best.tiles:
                best = Chain(tiles, f"{op.kind} {op.op}" if op.kind != "matmul" else "matmul", op.loc)
    return best


def needs_wide_dst(dtype: str, chain: Chain | None) -> bool:
    """Whether a kernel of `dtype` must accumulate in 32-bit DST for its longest chain (fp32 kernels always do)."""
    return dtype != "fp32" and chain is not None and chain.tiles > MAX_BF16_DST_CHAIN


def wide_dst_chain(programs: list[Program], dtype: str, dst32: bool) -> Chain | None:
    """The chain for which a kernel of `programs` (its parts) must run with 32-bit DST, or None: none is too long for
    16-bit DST, or it has 32-bit DST anyway (`dst32`: the arch setting)."""
    if dst32:
        return None
    chain = longest_dst_chain(programs)
    return chain if needs_wide_dst(dtype, chain) else None


def l1_sum_inexact(dtype: str, operand_shape: tuple[int, int]) -> bool:
    """Whether an L1-accumulated row sum (`tilesum`: every tile of an operand's row packed onto one CB tile) is too
    long a chain for a bf16 kernel: the packer rounds each add to the CB's format, bf16, as a 16-bit DST would,
    and 32-bit DST does not help (the partial sum lives in L1). Extraction then picks another form (a reduce,
    with 32-bit DST where it is as long). An fp32 CB for the sum alone would need the packer reconfigured between
    the pass's bf16 and fp32 packs, tile by tile, which neither the emitter nor the simulator models."""
    return dtype != "fp32" and -(-operand_shape[1] // 32) > MAX_BF16_DST_CHAIN


def l1_acc_conflicts(dtype: str, dst32: bool) -> bool:
    """Whether packer L1 accumulation into the kernel's CBs is unusable: with 32-bit DST (fp32_dest_acc_en) the
    packer converts the DST value to the CB's format at a stage the accumulation does not expect, and bf16 sums
    come out wrong (tt-metal docs/L1_ACCUMULATION_FP32_ANALYSIS.md; tt-metal's SDPA turns L1 accumulation off
    under fp32_dest_acc_en, TODO #28800, and its matmul accumulates in Float32 CBs then). An fp32 kernel's CBs are
    Float32, which is the combination tt-metal uses; the simulator refuses the other (`sim.compute_ops`)."""
    return dst32 and dtype != "fp32"


def l1_sum_unusable(dtype: str, operand_shape: tuple[int, int], dst32: bool) -> bool:
    """Whether extraction may not sum an operand's rows by packer L1 accumulation (`tilesum`): too long a bf16 chain
    (`l1_sum_inexact`), or any bf16 one under 32-bit DST (`l1_acc_conflicts`)."""
    return l1_sum_inexact(dtype, operand_shape) or l1_acc_conflicts(dtype, dst32)


L1_ACC_CONFLICT = ("a bf16 L1-accumulated sum (tilesum) under 32-bit DST: the packer's L1 accumulation into a bf16 CB "
                   "is wrong with fp32_dest_acc_en (tt-metal docs/L1_ACCUMULATION_FP32_ANALYSIS.md)")
"""Why a bf16 program holding a tilesum is not scheduled with 32-bit DST."""
