"""Honest lower bounds for attention, softmax(q k^T s) v with Sq = Sk = S keys, head dim d, bf16.

Per core, one q block of `rows` rows (what one work item costs on one core), each term a floor no schedule
of any form can beat on the calibrated model:
  math    the matmul tile MACs (2 rows/32 x S/32 x d/32) at the matmul cost per tile MAC, plus one exp per
          score tile unless exp may be issued from the pack thread (settings.exp_on_pack_thread)
  unpack  one SrcA tile per tile MAC at the unpacker's peak rate (llk_unpack_AB_matmul)
  pack    the score tiles P and the output once (and the exps, when they run on the pack thread)
  dram    q, k, v and the output at this core's share of the chip's sustained DRAM rate with every core
          of the grid streaming its own (the chip model's rate for bf16 pages)
On the chip (B x H heads over the grid): the launch plus the larger of the compute floor spread evenly over
every core (the slowest core does at least its share) and the DRAM floor: q, k, v and the output read or
written once (K and V shared by every q block of a head) at the sustained rate.
"""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost import TensixCostModel
from tteqsat.cost.chip import GridShape


def tile_macs(rows: int, keys: int, d: int) -> int:
    return 2 * (rows // 32) * (keys // 32) * (d // 32)


def core_bound(rows: int, keys: int, d: int, arch: Arch, model: TensixCostModel) -> dict[str, float]:
    """Per-core floors of one `rows`-row q block against `keys` keys; `bound` is their maximum, `compute`
    the maximum without DRAM."""
    macs = tile_macs(rows, keys, d)
    score_tiles = (rows // 32) * (keys // 32)
    exp = model.sfpu_cycles("exp")
    on_pack = arch.exp_on_pack_thread
    peak = max(arch.num("unpack.peak_bytes_per_cycle"), arch.num("unpack.bytes_per_cycle"))
    tile = arch.tile_bytes("bf16")
    grid = GridShape.of(arch)
    moved = (2 * rows * d + 2 * keys * d) // 1024 * tile
    out = {"math": macs * arch.num(f"matmul.{arch.math_fidelity}") + (0 if on_pack else score_tiles * exp),
           "unpack": macs * tile / peak,
           "pack": (score_tiles + (rows // 32) * (d // 32)) * model.pack + (score_tiles * exp if on_pack else 0),
           "dram": moved / (grid.dram_rate(tile) / grid.cores)}
    out["compute"] = max(out["math"], out["unpack"], out["pack"])
    out["bound"] = max(out["compute"], out["dram"])
    return out


def chip_bound(batch: int, heads: int, s: int, d: int, arch: Arch, model: TensixCostModel) -> dict[str, float]:
    """The whole attention's floors on the chip: `compute` (every core equally busy at the per-core
    compute floor), `dram` (each tensor moved once) and `bound` = launch + their maximum."""
    grid = GridShape.of(arch)
    per_block = core_bound(32, s, d, arch, model)["compute"]  # the compute floor is linear in the q rows
    compute = batch * heads * (s // 32) * per_block / grid.cores
    tile = arch.tile_bytes("bf16")
    dram = batch * heads * 4 * s * d // 1024 * tile / grid.dram_rate(tile)
    return {"compute": compute, "dram": dram, "launch": grid.launch_cycles,
            "bound": grid.launch_cycles + max(compute, dram)}
