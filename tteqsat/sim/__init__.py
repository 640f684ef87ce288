"""Tensix simulator for the TTKernel MLIR subset of docs/mlir-subset.md.

Public API: `simulate(mlir_text, inputs, host=None) -> SimResult` and `SimulationError`. ``host`` is the
module's host program (`tteqsat.lowering.host`), which gives every kernel argument, the CBs and the cores;
without one it is read off the module. The parser is `tteqsat.mlir_text.parser.parse_module`.
"""

from tteqsat.sim.errors import SimulationError
from tteqsat.sim.interpreter import SimResult, simulate

__all__ = ["SimResult", "SimulationError", "simulate"]
