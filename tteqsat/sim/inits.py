"""Init tracking: which FPU and SFPU configuration the compute thread last programmed.

Per docs/mlir-subset.md, every FPU op needs its own init since the last FPU init of another
kind (with matching attributes where the op has them) and every SFPU op needs its ``*_init``
since the last SFPU init of another kind. The two engines are tracked independently.
"""

from __future__ import annotations

from tteqsat.sim.errors import ProtocolError

FpuKey = tuple[str, ...]
"""(init op name, attribute values...) identifying one FPU configuration."""

_FPU_LABELS = {"mm_init": "mm_init or mm_init_short"}


def fpu_label(key: FpuKey | None) -> str:
    if key is None:
        return "none"
    name = _FPU_LABELS.get(key[0], key[0])
    return f"{name}<{', '.join(key[1:])}>" if len(key) > 1 else name


class InitTracker:
    """The last FPU init (with its attributes) and the last SFPU init of the compute thread."""

    __slots__ = ("fpu", "sfpu", "matmul_transpose", "exp_approx", "exp_scale")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Nothing initialised (a new core)."""
        self.fpu: FpuKey | None = None
        self.sfpu: str | None = None
        self.matmul_transpose = 0
        self.exp_approx = False  # template arguments of the last exp_tile_init
        self.exp_scale = 1.0

    def set_fpu(self, key: FpuKey) -> None:
        self.fpu = key

    def require_fpu(self, key: FpuKey) -> None:
        if self.fpu != key:
            raise ProtocolError(
                f"missing init: needs {fpu_label(key)} since the last FPU init (last FPU init: "
                f"{fpu_label(self.fpu)})"
            )

    def set_sfpu(self, init_name: str) -> None:
        self.sfpu = init_name

    def require_sfpu(self, init_name: str) -> None:
        if self.sfpu != init_name:
            raise ProtocolError(
                f"missing init: needs {init_name} since the last SFPU init (last SFPU init: "
                f"{self.sfpu or 'none'})"
            )
