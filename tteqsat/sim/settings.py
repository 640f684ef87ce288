"""The compute kernel's settings as the module records them, read in one place.

Today they are discardable attributes of the compute ``func.func`` (docs/mlir-subset.md): the host turns
them into tt-metal's ComputeConfig. ``tteqsat.dst_tiles`` overrides the DST capacity for arch files that
describe a different register file; without it the capacity follows the mode (8/4 tiles, twice that in
full sync). A missing fidelity means tt-metal's default, HiFi4.
"""

from __future__ import annotations

from dataclasses import dataclass

from tteqsat.lowering.host import MATH_FIDELITY, ComputeConfig
from tteqsat.mlir_text.ir import IntAttr, Op
from tteqsat.sim.dst import default_capacity
from tteqsat.sim.errors import located
from tteqsat.sim.numerics import FIDELITY_PHASES


@dataclass(frozen=True)
class ComputeSettings:
    fp32_dest_acc: bool = False
    dst_full_sync: bool = False
    dst_tiles: int = 8
    math_fidelity: str = "hifi4"


def compute_settings(func: Op | None, config: ComputeConfig | None = None) -> ComputeSettings:
    """The settings of the compute function ``func`` (defaults when there is none); the host program's
    compute config, when given, is what the host configures, so its modes and fidelity win."""
    if func is None:
        return ComputeSettings()
    attrs = func.attributes
    fp32 = attrs.get("tteqsat.fp32_dest_acc_en", False) is True
    full_sync = attrs.get("tteqsat.dst_full_sync", False) is True
    fidelity = attrs.get("tteqsat.math_fidelity", "hifi4")
    if config is not None:
        fp32, full_sync = config.fp32_dest_acc_en, config.dst_full_sync_en
        fidelity = next((k for k, v in MATH_FIDELITY.items() if v == config.math_fidelity), fidelity)
    if fidelity not in FIDELITY_PHASES:
        raise located(func.line, "func.func", f"tteqsat.math_fidelity must be one of "
                      f"{', '.join(FIDELITY_PHASES)}, got {fidelity!r}")
    tiles = attrs.get("tteqsat.dst_tiles")
    if tiles is None:
        capacity = default_capacity(fp32, full_sync)
    elif isinstance(tiles, IntAttr) and tiles.value >= 1:
        capacity = tiles.value
    else:
        raise located(func.line, "func.func", f"tteqsat.dst_tiles must be a positive integer, got {tiles!r}")
    return ComputeSettings(fp32, full_sync, capacity, str(fidelity))
