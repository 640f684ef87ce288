"""Architecture parameters, read from one TOML file per chip; users may pass their own or override values."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import KernelError

ARCH_DIR = Path(__file__).parent
KNOWN = tuple(sorted(p.stem for p in ARCH_DIR.glob("*.toml")))


@dataclass(frozen=True)
class Arch:
    """A chip's parameters as nested tables; `arch["sfpu.exp"]` reads a dotted key."""

    name: str
    params: Mapping[str, object]

    def __getitem__(self, dotted: str) -> object:
        node: object = self.params
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KernelError(f"arch '{self.name}' has no parameter '{dotted}'")
            node = node[part]
        return node

    def num(self, dotted: str) -> float:
        value = self[dotted]
        if not isinstance(value, int | float):
            raise KernelError(f"arch parameter '{dotted}' is not a number")
        return float(value)

    def dst_tiles(self, dtype: str) -> int:
        return int(self.num("dst.tiles_fp32" if dtype == "fp32" else "dst.tiles_bf16"))

    def tile_bytes(self, dtype: str) -> int:
        return int(self.num("tile.bytes_fp32" if dtype == "fp32" else "tile.bytes_bf16"))

    @property
    def l1_budget(self) -> int:
        return int(self.num("l1.bytes") - self.num("l1.reserved_base"))

    def with_overrides(self, overrides: Mapping[str, object]) -> Arch:
        params = _deep_copy(self.params)
        for dotted, value in overrides.items():
            self[dotted]  # raises on an unknown key
            *path, last = dotted.split(".")
            node = params
            for part in path:
                node = node[part]
            node[last] = value
        return Arch(self.name, params)


def _deep_copy(m: Mapping[str, object]) -> dict:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in m.items()}


def load_arch(name_or_path: str | Arch, overrides: Mapping[str, object] | None = None) -> Arch:
    """An arch by name (`wormhole_b0`, `blackhole`) or from a TOML file path."""
    if isinstance(name_or_path, Arch):
        arch = name_or_path
    else:
        path = Path(name_or_path)
        if name_or_path in KNOWN:
            path = ARCH_DIR / f"{name_or_path}.toml"
        elif not (path.suffix == ".toml" and path.is_file()):
            raise KernelError(f"unknown arch {name_or_path!r} (known: {', '.join(KNOWN)}, or a .toml file)")
        try:
            params = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise KernelError(f"arch file {path}: {e}") from None
        arch = Arch(str(params.get("name", path.stem)), params)
    return arch.with_overrides(overrides) if overrides else arch
