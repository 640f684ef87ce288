"""The one exception users see for bad kernels, bad settings and infeasible schedules."""

from __future__ import annotations


class KernelError(ValueError):
    """A problem with the user's kernel or settings, naming the op and the user's source line."""

    def __init__(self, message: str, op: str | None = None, where: str | None = None) -> None:
        self.op = op
        self.where = where
        parts = [message]
        if op:
            parts.append(f"in op '{op}'")
        if where:
            parts.append(f"at {where}")
        super().__init__(" ".join(parts))
