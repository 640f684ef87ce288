"""Tensix simulator for the TTKernel MLIR subset of docs/mlir-subset.md.

Public API: `simulate(mlir_text, inputs, host=None, precision="exact") -> SimResult` and `SimulationError`.
``host`` is the module's host program (`tteqsat.lowering.host`), which gives every kernel argument, the CBs and
the cores; without one it is read off the module. `precision="hardware"` runs the Tensix's arithmetic
(`tteqsat.sim.numerics`); `tteqsat.sim.tolerance` holds the comparison against a reference and the measured
tolerances. The parser (`tteqsat.mlir_text.parser.parse_module`) is shared with the C++ translator.
"""

from tteqsat.sim.errors import SimulationError
from tteqsat.sim.interpreter import SimResult, simulate

__all__ = ["SimResult", "SimulationError", "simulate"]
