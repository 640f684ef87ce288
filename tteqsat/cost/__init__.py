"""The cost model extraction and scheduling price with (see docs/cost-models.md for plugging in another)."""

from tteqsat.cost.engines import Engines
from tteqsat.cost.model import PHASES, SFPU_KINDS, CostModel, TensixCostModel
from tteqsat.cost.timeline import Need, Stage, pipelined_cycles

__all__ = ["PHASES", "SFPU_KINDS", "CostModel", "Engines", "Need", "Stage", "TensixCostModel", "pipelined_cycles"]
