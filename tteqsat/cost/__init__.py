"""The cost model extraction and scheduling price with (see docs/cost-models.md for plugging in another)."""

from tteqsat.cost.model import PHASES, SFPU_KINDS, CostModel, Engines, TensixCostModel

__all__ = ["PHASES", "SFPU_KINDS", "CostModel", "Engines", "TensixCostModel"]
