"""Tensix simulator for the TTKernel MLIR subset of docs/mlir-subset.md.

Public API: `simulate(mlir_text, inputs) -> SimResult` and `SimulationError`. The parser
(`tteqsat.sim.parser.parse_module`) is public too, for tools such as the C++ translator.
"""

from tteqsat.sim.errors import SimulationError
from tteqsat.sim.interpreter import SimResult, simulate

__all__ = ["SimResult", "SimulationError", "simulate"]
