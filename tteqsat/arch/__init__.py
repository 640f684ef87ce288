"""Architecture parameters, read from one TOML file per chip; users may pass their own or override values.

Every value lives in the TOML file under a dotted key (`sfpu.exp`, `settings.fp32_dest_acc`); the model and
the scheduler read nothing else. Overrides are checked: an unknown key or a value of the wrong type is a
KernelError naming the key, so a typo in `--set` never silently changes nothing.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import KernelError

ARCH_DIR = Path(__file__).parent
KNOWN = tuple(sorted(p.stem for p in ARCH_DIR.glob("*.toml")))
FIDELITIES = ("lofi", "hifi2", "hifi3", "hifi4")
TILE_FORMATS = ("bf16", "fp32", "bfp8", "bfp4", "bfp2")
# `dst_tiles=N` sets the 16-bit half-sync capacity to N and the other three modes in the hardware's ratios.
SHORTHANDS = {"dst_tiles": "dst.tiles_bf16=N, dst.tiles_fp32=N/2, dst.tiles_bf16_full_sync=2N, "
                           "dst.tiles_fp32_full_sync=N"}

# numbers the model divides by, or counts of things: a zero or a fraction is a typo, not an experiment
POSITIVE = ("chip.clock_ghz", "dram.bytes_per_cycle", "dram.total_gb_per_s", "dram.sustained_fraction",
            "noc.bytes_per_cycle", "unpack.bytes_per_cycle", "unpack.peak_bytes_per_cycle")
COUNTS = ("dst.tiles_bf16", "dst.tiles_fp32", "dst.tiles_bf16_full_sync", "dst.tiles_fp32_full_sync", "cb.max_cbs",
          "chip.grid_rows", "chip.grid_cols", "chip.tensix_enabled", "chip.tensix_on_die", "dram.controllers")
DRAM_SHARES = ("demand", "rate")  # settings.dram_share: tteqsat.cost.chip.price_cores


@dataclass(frozen=True)
class Arch:
    """A chip's parameters as nested tables; `arch["sfpu.exp"]` reads a dotted key."""

    name: str
    params: Mapping[str, object]

    def __getitem__(self, dotted: str) -> object:
        node: object = self.params
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                hint = _suggest(dotted, self.keys())
                raise KernelError(f"arch '{self.name}' has no parameter '{dotted}'{hint}")
            node = node[part]
        return node

    def num(self, dotted: str) -> float:
        value = self[dotted]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise KernelError(f"arch parameter '{dotted}' is not a number")
        return float(value)

    def flag(self, dotted: str) -> bool:
        value = self[dotted]
        if not isinstance(value, bool):
            raise KernelError(f"arch parameter '{dotted}' is not true/false")
        return value

    def keys(self) -> list[str]:
        """Every dotted key with a value (tables excluded), sorted."""
        return sorted(_flatten(self.params))

    # -- settings --------------------------------------------------------------------------------
    @property
    def math_fidelity(self) -> str:
        return str(self["settings.math_fidelity"])

    @property
    def fidelity_phases(self) -> int:
        return FIDELITIES.index(self.math_fidelity) + 1

    @property
    def fp32_dest_acc(self) -> bool:
        return self.flag("settings.fp32_dest_acc")

    @property
    def dst_full_sync(self) -> bool:
        return self.flag("settings.dst_full_sync")

    @property
    def exp_approx(self) -> bool:
        return self.flag("settings.exp_approx")

    @property
    def vector_variants(self) -> bool:
        return self.flag("settings.vector_variants")

    @property
    def exp_on_pack_thread(self) -> bool:
        return self.flag("settings.exp_on_pack_thread")

    @property
    def loop_lookahead(self) -> bool:
        return self.flag("settings.loop_lookahead")

    @property
    def row_waits(self) -> bool:
        return self.flag("settings.row_waits")

    @property
    def interleave_passes(self) -> bool:
        return self.flag("settings.interleave_passes")

    @property
    def single_buffered_streams(self) -> bool:
        return self.flag("settings.single_buffered_streams")

    @property
    def share_inputs(self) -> bool:
        return self.flag("settings.share_inputs")

    @property
    def dram_share(self) -> str:
        """How the chip model shares DRAM among cores: "demand" (work-conserving by mean demand) or "rate"."""
        return str(self["settings.dram_share"])

    @property
    def stream_depth(self) -> int:
        """Chunks a chunk stream's CB holds where L1 has room (at least 2: double buffering)."""
        return int(self.num("settings.stream_depth"))

    @property
    def input_format(self) -> str:
        """Tile format of kernel inputs in DRAM and their CBs: "kernel" (the kernel's dtype) or a format."""
        return str(self["settings.input_format"])

    @property
    def clock_ghz(self) -> float:
        return self.num("chip.clock_ghz")

    # -- derived sizes -----------------------------------------------------------------------------
    def dst_tiles(self, dtype: str) -> int:
        """DST tiles per acquire: 32-bit DST (fp32 kernels, or fp32_dest_acc) holds half; full sync twice."""
        width = "fp32" if dtype == "fp32" or self.fp32_dest_acc else "bf16"
        return int(self.num(f"dst.tiles_{width}" + ("_full_sync" if self.dst_full_sync else "")))

    def tile_bytes(self, dtype: str) -> int:
        if dtype not in TILE_FORMATS:
            raise KernelError(f"unknown tile format {dtype!r} (known: {', '.join(TILE_FORMATS)})")
        return int(self.num(f"tile.bytes_{dtype}"))

    @property
    def l1_budget(self) -> int:
        return int(self.num("l1.bytes") - self.num("l1.reserved_base"))

    def with_overrides(self, overrides: Mapping[str, object]) -> Arch:
        """A copy with dotted keys replaced; each key must exist and keep its type (ints and floats mix)."""
        params = _deep_copy(self.params)
        for dotted, value in expand_shorthands(overrides).items():
            old = self[dotted]  # raises on an unknown key
            if isinstance(old, Mapping):
                raise KernelError(f"arch parameter '{dotted}' is a table; set one of its keys, e.g. "
                                  f"'{dotted}.{next(iter(old))}'")
            _check_type(dotted, old, value)
            *path, last = dotted.split(".")
            node = params
            for part in path:
                node = node[part]
            node[last] = value
        arch = Arch(self.name, params)
        arch.validate()
        return arch

    def validate(self) -> None:
        """Raise a KernelError when a setting holds a value the model cannot read."""
        if self.math_fidelity not in FIDELITIES:
            raise KernelError(f"settings.math_fidelity must be one of {', '.join(FIDELITIES)}, "
                              f"got {self.math_fidelity!r}")
        for key in ("fp32_dest_acc", "dst_full_sync", "exp_approx", "vector_variants", "exp_on_pack_thread",
                    "share_inputs"):
            self.flag(f"settings.{key}")
        if self.input_format != "kernel" and self.input_format not in TILE_FORMATS:
            raise KernelError(f"settings.input_format must be 'kernel' or one of {', '.join(TILE_FORMATS)}, "
                              f"got {self.input_format!r}")
        if self.num("settings.stream_depth") not in (2, 3, 4):
            raise KernelError(f"settings.stream_depth must be 2, 3 or 4 (chunks a stream's CB holds), "
                              f"got {self['settings.stream_depth']!r}")
        if self.dram_share not in DRAM_SHARES:
            raise KernelError(f"settings.dram_share must be one of {', '.join(DRAM_SHARES)}, got {self.dram_share!r}")
        for key, value in _flatten(self.params).items():  # cycles, bytes and rates: none is negative
            if isinstance(value, int | float) and not isinstance(value, bool) and not (0 <= value < math.inf):
                raise KernelError(f"arch parameter '{key}' must be a finite number >= 0, got {value!r}")
        if self.l1_budget <= 0:
            raise KernelError(f"arch parameter 'l1.bytes' ({self['l1.bytes']!r}) leaves no L1 for CBs: it must be "
                              f"larger than l1.reserved_base ({self['l1.reserved_base']!r})")
        for key in POSITIVE + tuple(f"tile.bytes_{f}" for f in TILE_FORMATS):  # rates and sizes divided by
            if self.num(key) <= 0:
                raise KernelError(f"arch parameter '{key}' must be a number > 0, got {self[key]!r}")
        for key in COUNTS:
            if self.num(key) < 1 or self.num(key) != int(self.num(key)):
                raise KernelError(f"arch parameter '{key}' must be a whole number >= 1, got {self[key]!r}")


def expand_shorthands(overrides: Mapping[str, object]) -> dict[str, object]:
    """Replace `dst_tiles=N` by the four DST capacities it stands for (see SHORTHANDS)."""
    out: dict[str, object] = {}
    for key, value in overrides.items():
        if key == "dst_tiles":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise KernelError(f"dst_tiles must be a whole number >= 1, got {value!r}")
            out.update({"dst.tiles_bf16": value, "dst.tiles_fp32": max(1, value // 2),
                        "dst.tiles_bf16_full_sync": 2 * value, "dst.tiles_fp32_full_sync": value})
        else:
            out[key] = value
    return out


def _check_type(dotted: str, old: object, new: object) -> None:
    number = (int, float)
    same = (isinstance(old, bool) and isinstance(new, bool)) or (
        not isinstance(old, bool) and isinstance(old, number) and not isinstance(new, bool)
        and isinstance(new, number)) or (isinstance(old, str) and isinstance(new, str))
    if not same:
        want = "true/false" if isinstance(old, bool) else "a number" if isinstance(old, number) else "text"
        raise KernelError(f"arch parameter '{dotted}' takes {want}, got {new!r}")


# keys of older arch files, and where they live now
RENAMED = {"matmul.fidelity": "settings.math_fidelity", "clock_ghz": "chip.clock_ghz",
           "noc.dram_bytes_per_cycle": "dram.bytes_per_cycle",
           "unpack.cycles_per_tile": "unpack.bytes_per_cycle"}


def _suggest(key: str, keys: list[str]) -> str:
    if key in RENAMED:
        return f" (it is now '{RENAMED[key]}')"
    close = difflib.get_close_matches(key, keys + list(SHORTHANDS), n=2, cutoff=0.6)
    if not close and "." in key:
        last = key.rsplit(".", 1)[1]
        close = [k for k in keys if k.rsplit(".", 1)[-1] == last][:2]  # top-level keys ("name") have no dot
    if close:
        return f" (did you mean {' or '.join(repr(c) for c in close)}?)"
    table = key.rsplit(".", 1)[0] if "." in key else ""
    inside = [k.split(".", 1)[1] for k in keys if k.startswith(table + ".")] if table else []
    if inside:
        return f" ('{table}' has {', '.join(inside)})"
    tables = sorted({k.split(".", 1)[0] for k in keys if "." in k})
    return f" (its tables: {', '.join(tables)}; keys are table.name, e.g. 'sfpu.exp')"


def _flatten(m: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in m.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _deep_copy(m: Mapping[str, object]) -> dict:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in m.items()}


def _merge(base: Mapping[str, object], top: Mapping[str, object]) -> dict:
    out = _deep_copy(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def _read(path: Path, seen: tuple[str, ...] = ()) -> dict:
    try:
        params = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise KernelError(f"arch file {path}: {e}") from None
    base = params.pop("base", None)
    if base is None:
        return params
    if not isinstance(base, str) or base in seen:
        raise KernelError(f"arch file {path}: base must name another arch without cycles, got {base!r}")
    base_path = ARCH_DIR / f"{base}.toml" if base in KNOWN else (path.parent / base)
    if not base_path.is_file():
        raise KernelError(f"arch file {path}: base {base!r} is not a known arch or a file")
    return _merge(_read(base_path, seen + (base,)), params)


def load_arch(name_or_path: str | Path | Arch, overrides: Mapping[str, object] | None = None) -> Arch:
    """An arch by name (`wormhole_b0`, `blackhole`) or from a TOML file path, with overrides applied.

    A user file must define every key the shipped files do, or inherit them with `base = "wormhole_b0"`.
    """
    if isinstance(name_or_path, Arch):
        arch = name_or_path
    else:
        path = Path(name_or_path)
        if str(name_or_path) in KNOWN:
            path = ARCH_DIR / f"{name_or_path}.toml"
        elif not (path.suffix == ".toml" and path.is_file()):
            raise KernelError(f"unknown arch {str(name_or_path)!r} "
                              f"(known: {', '.join(KNOWN)}, or a .toml file)")
        params = _read(path)
        arch = Arch(str(params.get("name", path.stem)), params)
        known = set(_flatten(_read(ARCH_DIR / "wormhole_b0.toml")))
        missing = sorted(known - set(arch.keys()) - {"name"})
        if missing:
            shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
            raise KernelError(f"arch file {path} lacks {shown}; add them or start the file with "
                              f"base = \"wormhole_b0\"")
        unknown = sorted(set(arch.keys()) - known)  # a typo in a file must not silently change nothing
        if unknown:
            raise KernelError(f"arch file {path} sets '{unknown[0]}', which no arch has"
                              f"{_suggest(unknown[0], sorted(known - {'name'}))}"
                              + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""))
        try:
            reference = _flatten(_read(ARCH_DIR / "wormhole_b0.toml"))
            for key, value in _flatten(arch.params).items():
                _check_type(key, reference[key], value)
            arch.validate()
        except KernelError as e:
            raise KernelError(f"arch file {path}: {e}") from None
    return arch.with_overrides(overrides) if overrides else arch
