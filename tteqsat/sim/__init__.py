"""Tensix simulator for the TTKernel MLIR subset of docs/mlir-subset.md.

Public API: `simulate(mlir_text, inputs, precision="exact") -> SimResult` and `SimulationError`;
`precision="hardware"` runs the Tensix's arithmetic (`tteqsat.sim.numerics`). `tteqsat.sim.tolerance` holds
the comparison against a reference and the measured tolerances. The parser
(`tteqsat.mlir_text.parser.parse_module`) is shared with tools such as the C++ translator.
"""

from tteqsat.sim.errors import SimulationError
from tteqsat.sim.interpreter import SimResult, simulate

__all__ = ["SimResult", "SimulationError", "simulate"]
