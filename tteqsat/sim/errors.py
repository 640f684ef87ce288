"""Errors raised by the simulator.

`SimulationError` is the only exception callers see; its message always starts with
``line N: OP:`` so a failing kernel points straight at the offending op in the MLIR text.
`ProtocolError` is raised by the machine model, which does not know source lines; the
interpreter converts it into a `SimulationError` naming the op that was executing.
"""

from __future__ import annotations


class SimulationError(Exception):
    """A kernel that cannot be parsed, compiled or executed as the hardware would."""


class ProtocolError(Exception):
    """A hardware protocol violation detected by the machine model (no source location yet)."""


def located(line: int, op_name: str, message: str) -> SimulationError:
    """Build a `SimulationError` with the standard ``line N: op: message`` prefix."""
    return SimulationError(f"line {line}: {op_name}: {message}")
